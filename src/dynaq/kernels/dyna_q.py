"""Dyna-Q (Sutton & Barto §8.2, the course's loop) compiled: the deterministic model update,
k planning backups, and the agent functions that :mod:`dynaq.kernels.run` runs.

The deterministic model is two arrays. The i-th distinct (s, a) seen owns slot i:
``m_int[SLOT, s*A + a]`` is that slot (-1 while unseen); ``m_int[PAIR, i] = s*A + a``,
``m_int[NEXT_ROW, i] = s'*A`` (where the next state's row starts in the flattened Q),
``m_int[TERM, i]`` and ``m_reward[i]`` hold its last outcome. Drawing a slot uniformly is
O(1) sampling of a seen pair, ``m_int[SLOT] >= 0`` the O(1) membership test (the course
sketch scans a Python list: O(n) per real step), and a planning backup reads its whole
transition with one index. Few arrays, because every array passed to a compiled call costs
a reference-count round trip: with five model arrays a real step took three times longer.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dynaq.kernels.run import point_error
from dynaq.kernels.tabular import egreedy_action, q_backup
from dynaq.rng import _UNIT, step_words

SLOT, PAIR, NEXT_ROW, TERM = range(4)
"""Rows of the deterministic model's integer table ``m_int``."""


@njit(cache=True)
def new_model(n_states, n_actions):
    """An empty deterministic model: ``(m_int, m_reward)``."""
    return np.full((4, n_states * n_actions), -1, np.int64), np.zeros(n_states * n_actions)


@njit(cache=True)
def model_update(m_int, m_reward, n_seen, n_actions, s, a, r, s2, terminated):
    """Record that (s, a) led to (s2, r, terminated) (§8.2, step (e)); returns ``n_seen``.

    The model keeps its own arrays, never Q's (the common-mistakes table, last row).
    """
    sa = s * n_actions + a
    i = m_int[SLOT, sa]
    if i < 0:
        i = n_seen
        m_int[SLOT, sa] = i
        m_int[PAIR, i] = sa
        n_seen += 1
    m_int[NEXT_ROW, i] = s2 * n_actions
    m_int[TERM, i] = terminated
    m_reward[i] = r
    return n_seen


@njit(cache=True, inline="always")
def _row_max(Qf, row, A):
    """``max(Qf[row : row + A])`` compared in index order, as :func:`max_q`; A = 4 unrolled."""
    best = Qf[row]
    if A == 4:
        q = Qf[row + np.uint64(1)]
        if q > best:
            best = q
        q = Qf[row + np.uint64(2)]
        if q > best:
            best = q
        q = Qf[row + np.uint64(3)]
        if q > best:
            best = q
        return best
    for b in range(1, A):
        q = Qf[row + np.uint64(b)]
        if q > best:
            best = q
    return best


@njit(cache=True)
def plan(Q, m_int, m_reward, n_seen, k, alpha, gamma, rng):
    """k planning backups (§8.2, step (f)) on pairs drawn uniformly from those seen.

    Returns the number of backups done: 0 while the model is empty, because planning before
    the model has an entry would back up made-up transitions (common-mistakes table, row 1).

    The hot loop of every run, written for speed with exactly the numbers of ``randint`` and
    ``q_backup``: the random state stays in registers, ``2**-53 * n_seen`` is one exact
    multiply, the 53 random bits convert to float as a signed integer, indices are unsigned
    (numba emits no negative-index wraparound for them) and a 4-action row max is unrolled.
    """
    if n_seen == 0:
        return 0
    A = Q.shape[1]
    Qf = Q.reshape(-1)
    scale = _UNIT * n_seen
    w0, w1, w2, w3 = rng[0], rng[1], rng[2], rng[3]
    for _ in range(k):
        bits, w0, w1, w2, w3 = step_words(w0, w1, w2, w3)
        i = np.uint64(float(np.int64(bits >> np.uint64(11))) * scale)
        sa = np.uint64(m_int[PAIR, i])
        target = m_reward[i]
        if not m_int[TERM, i]:
            target += gamma * _row_max(Qf, np.uint64(m_int[NEXT_ROW, i]), A)
        Qf[sa] += alpha * (target - Qf[sa])
    rng[0], rng[1], rng[2], rng[3] = w0, w1, w2, w3
    return k


@njit(cache=True)
def init(n_states, n_actions, hp):
    """Agent state for :mod:`dynaq.kernels.run`: the model, ``count = [pairs seen, changes
    to known pairs' outcomes, and at the last diagnosis: that count, the phase, pairs
    seen]`` and that diagnosis's sums."""
    m_int, m_reward = new_model(n_states, n_actions)
    return m_int, m_reward, np.array([0, 0, 0, -1, 0]), np.zeros(3)


@njit(cache=True)
def act(Q, state, s, t, hp, rng):
    """ε-greedy on Q; ``hp = (alpha, gamma, epsilon, k)``."""
    return egreedy_action(Q, s, hp[2], rng)


@njit(cache=True)
def learn(Q, state, s, a, r, s2, terminated, t, hp, rng):
    """One real step of Dyna-Q (§8.2): direct RL (d), model learning (e), planning (f)."""
    alpha, gamma, _, k = hp
    m_int, m_reward, count, _ = state
    A = Q.shape[1]
    q_backup(Q, s, a, r, s2, terminated, alpha, gamma)
    i = m_int[SLOT, s * A + a]
    if i >= 0 and (m_int[NEXT_ROW, i] != s2 * A or m_reward[i] != r):
        count[1] += 1
    count[0] = n_seen = model_update(m_int, m_reward, count[0], A, s, a, r, s2, terminated)
    if k:
        return 1 + plan(Q, m_int, m_reward, n_seen, k, alpha, gamma, rng)
    return 1


@njit(cache=True)
def diagnose(state, world, base, reachable, n_actions):
    """The deterministic model against the truth (see :mod:`dynaq.kernels.run`).

    Only pairs seen since the last diagnosis are compared, unless a known pair's outcome
    or the dynamics changed: in a deterministic world a real step costs no more for it.
    """
    m_int, m_reward, count, sums = state
    n = count[0]
    if n == 0:
        return np.nan, np.nan, 0.0
    first = count[4]
    if count[2] != count[1] or count[3] != base:
        first = 0
        sums[:] = 0.0
    for i in range(first, n):
        e_p, e_r = point_error(world, base, m_int[PAIR, i], m_int[NEXT_ROW, i] // n_actions,
                               m_reward[i])
        sums[0] += e_p
        sums[1] += e_r
        sums[2] += reachable[m_int[PAIR, i] // n_actions]
    count[2], count[3], count[4] = count[1], base, n
    return sums[0] / n, sums[1] / n, sums[2] / max(reachable.sum() * n_actions, 1)
