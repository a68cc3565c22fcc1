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

Which pairs planning backs up is the course's checkpoint question: uniformly over those seen
(:func:`plan`, §8.2), only the latest real one, or along simulated on-policy trajectories
(§8.6). :func:`plan_with` draws pairs by any of the three and backs each up with its
model's :func:`backup`, chosen by the model's type (:func:`register_backup`:
:class:`TableModel` here, the counts model in :mod:`dynaq.kernels.counts`), so every model
plans with every distribution through one loop.

The agent's hyperparameters are a :class:`DynaQParams` and its state a :class:`DynaQState`
(numba compiles a named tuple's fields to the same code as a plain tuple's items).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numba.extending import overload

from dynaq.kernels.diagnostics import point_error
from dynaq.kernels.tabular import egreedy_action, q_backup
from dynaq.rng import _UNIT, randint, step_words

SLOT, PAIR, NEXT_ROW, TERM = range(4)
"""Rows of the deterministic model's integer table ``m_int``."""

UNIFORM, LATEST, TRAJECTORY = range(3)
"""Indices of :data:`dynaq.kernels.SAMPLINGS`, which :attr:`DynaQParams.sampling` holds."""

N_SEEN, N_CHANGES, DIAG_CHANGES, DIAG_BASE, DIAG_SEEN, LATEST_PAIR, LATEST_STATE = range(7)
"""Entries of :attr:`DynaQState.count`: pairs seen, changes to known pairs' outcomes; at
the last diagnosis: that count, the phase's outcome offset and the pairs seen; the last
real pair (``s*A + a``, -1 before any) and the state a planning trajectory starts from."""


class DynaQParams(NamedTuple):
    """Dyna-Q's hyperparameters ``hp`` (also those of its counts-model kernels)."""

    alpha: float
    """Step size α."""
    gamma: float
    """Discount γ."""
    epsilon: float
    """ε of the ε-greedy behaviour (and of simulated trajectories)."""
    k: int
    """Planning backups per real step."""
    sampling: int = UNIFORM
    """Which pairs planning backs up: an index into :data:`SAMPLINGS`."""
    expected: bool = False
    """Counts model: expected instead of sample backups (§8.5)."""


class TableModel(NamedTuple):
    """The deterministic model as planning reads it (see the module docstring)."""

    m_int: np.ndarray
    m_reward: np.ndarray


class DynaQState(NamedTuple):
    """Dyna-Q's agent state: its model, its counters (``N_SEEN`` …) and the sums of its
    last diagnosis."""

    m_int: np.ndarray
    m_reward: np.ndarray
    count: np.ndarray
    sums: np.ndarray


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
def plan_uniform(Q, m_int, m_reward, n_seen, k, alpha, gamma, rng):
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


@njit(cache=True, inline="always")
def backup_last(Qf, A, model, i, alpha, gamma, rng):
    """A Q-learning backup of seen pair ``i`` of a :class:`TableModel` on its remembered
    outcome (``Qf`` the flattened Q); returns that outcome's ``(next_row, terminated)``.

    Everything is read before Q is written: reading the model after the write made numba
    keep reference counting in the planning loops (ten times slower)."""
    row = model.m_int[NEXT_ROW, i]
    term = model.m_int[TERM, i]
    target = model.m_reward[i]
    if not term:
        target += gamma * _row_max(Qf, np.uint64(row), A)
    sa = np.uint64(model.m_int[PAIR, i])
    Qf[sa] += alpha * (target - Qf[sa])
    return row, term


_BACKUPS: dict[type, Any] = {}


def backup(Qf, A, model, i, alpha, gamma, rng):
    """One planning backup of slot ``i`` of ``model`` in the flattened Q ``Qf``; returns the
    outcome used, ``(next_row, terminated)``: where a simulated trajectory goes next.

    Each model is a named tuple of its own class and registers its backup for that class
    (:func:`register_backup`), so :func:`plan_with` is written once and compiles a loop per
    model with its backup inlined. Run as plain Python (``NUMBA_DISABLE_JIT=1``), the same
    registry picks the function.
    """
    return _BACKUPS[type(model)](Qf, A, model, i, alpha, gamma, rng)


def register_backup(model_type: type, fn: Any) -> None:
    """Make ``fn(Qf, A, model, i, alpha, gamma, rng) -> (next_row, terminated)`` the planning
    backup of models of ``model_type`` (a named tuple class whose first field is the model's
    integer table, with the rows ``SLOT`` and ``PAIR``): one line per model."""
    if model_type in _BACKUPS:
        raise ValueError(f"{model_type.__name__} already has a backup")
    _BACKUPS[model_type] = fn

    @overload(backup, inline="always")
    def _by_type(Qf, A, model, i, alpha, gamma, rng):
        if getattr(model, "instance_class", None) is model_type:
            return _implementation(fn)
        return None


def _implementation(fn: Any) -> Any:
    """``fn``'s Python function, for numba to compile in place of an overloaded stub.
    (A closure calling ``fn`` instead was inlined wrongly: prioritized sweeping then read
    out of bounds.)"""
    return getattr(fn, "py_func", fn)


register_backup(TableModel, backup_last)


@njit(cache=True)
def plan_with(Q, model, sampling, n_seen, pair, s, k, alpha, gamma, epsilon, rng):
    """k planning backups (§8.2, step (f)) of ``model`` (see :func:`backup`) on the seen
    pairs that ``sampling`` picks:

    - ``UNIFORM``: drawn uniformly from the ``n_seen`` seen (the numbers of
      :func:`plan_uniform`);
    - ``LATEST``: all k on ``pair`` (``s*A + a``), the last real one;
    - ``TRAJECTORY``: trajectory sampling (§8.6), see :func:`_plan_trajectory`.

    ``model[0]`` is the model's integer table, whose row ``SLOT`` maps a pair to its slot.
    Returns the number of backups done: 0 while the model is empty, because planning
    before the model has an entry would back up made-up transitions (common-mistakes
    table, row 1). Each distribution's loop is a function of its own: numba prunes the
    reference counting of the model's arrays out of a small loop, not out of one function
    holding all three (which made a backup ten times slower).
    """
    if n_seen == 0:
        return 0
    if sampling == TRAJECTORY:
        return _plan_trajectory(Q, model, s, k, alpha, gamma, epsilon, rng)
    if sampling == LATEST:
        return _plan_latest(Q, model, model[0][SLOT, pair], k, alpha, gamma, rng)
    return _plan_uniform(Q, model, n_seen, k, alpha, gamma, rng)


@njit(cache=True)
def _plan_uniform(Q, model, n_seen, k, alpha, gamma, rng):
    A = Q.shape[1]
    Qf = Q.reshape(-1)
    for _ in range(k):
        backup(Qf, A, model, randint(rng, n_seen), alpha, gamma, rng)
    return k


@njit(cache=True)
def _plan_latest(Q, model, i, k, alpha, gamma, rng):
    A = Q.shape[1]
    Qf = Q.reshape(-1)
    for _ in range(k):
        backup(Qf, A, model, i, alpha, gamma, rng)
    return k


@njit(cache=True)
def _plan_trajectory(Q, model, s, k, alpha, gamma, epsilon, rng):
    """k simulated steps following ε-greedy on Q in the model from the real state ``s``,
    backing up each pair met (§8.6). A simulated episode starts again from ``s`` when it
    ends or when the policy picks a pair never tried: the model cannot say where that
    leads, so that step backs up nothing. Returns the number of backups done."""
    A = Q.shape[1]
    Qf = Q.reshape(-1)
    slots = model[0][SLOT]
    here = s
    done = 0
    for _ in range(k):
        i = slots[here * A + egreedy_action(Q, here, epsilon, rng)]
        if i < 0:
            here = s
            continue
        row, term = backup(Qf, A, model, i, alpha, gamma, rng)
        done += 1
        here = s if term else row // A
    return done


@njit(cache=True)
def init(n_states, n_actions, hp):
    """An empty :class:`DynaQState` for :mod:`dynaq.kernels.run`."""
    m_int, m_reward = new_model(n_states, n_actions)
    count = np.zeros(7, np.int64)
    count[DIAG_BASE] = count[LATEST_PAIR] = -1
    return DynaQState(m_int, m_reward, count, np.zeros(3))


@njit(cache=True)
def act(Q, state, s, t, hp, rng):
    """ε-greedy on Q."""
    return egreedy_action(Q, s, hp.epsilon, rng)


@njit(cache=True, inline="always")
def _direct_rl_and_model(Q, m_int, m_reward, count, s, a, r, s2, terminated, alpha, gamma):
    """Direct RL (§8.2, step (d)) and model learning (e), counting the changes to known
    pairs' outcomes (for :func:`diagnose`); returns ``(td, pairs seen)``."""
    A = Q.shape[1]
    td = q_backup(Q, s, a, r, s2, terminated, alpha, gamma)
    i = m_int[SLOT, s * A + a]
    if i >= 0 and (m_int[NEXT_ROW, i] != s2 * A or m_reward[i] != r):
        count[N_CHANGES] += 1
    count[N_SEEN] = n_seen = model_update(m_int, m_reward, count[N_SEEN], A, s, a, r, s2,
                                          terminated)
    return td, n_seen


@njit(cache=True)
def observe(Q, state, s, a, r, s2, terminated, t, hp):
    """Direct RL (§8.2, step (d)) and model learning (e); returns the direct backup's TD
    error. Keeps the pair and the state that focused planning starts from."""
    count = state.count
    td, _ = _direct_rl_and_model(Q, state.m_int, state.m_reward, count, s, a, r, s2,
                                 terminated, hp.alpha, hp.gamma)
    count[LATEST_PAIR] = s * Q.shape[1] + a
    # after an episode's last step, trajectories start from the state it was taken in
    count[LATEST_STATE] = s if terminated else s2
    return td


@njit(cache=True)
def plan(Q, state, k, t, hp, rng):
    """Planning (§8.2, step (f)): up to k backups on the pairs ``hp.sampling`` picks (see
    :func:`plan_with`); returns how many."""
    count = state.count
    if hp.sampling == UNIFORM:
        return plan_uniform(Q, state.m_int, state.m_reward, count[N_SEEN], k, hp.alpha,
                            hp.gamma, rng)
    if count[LATEST_PAIR] < 0:
        return 0
    return plan_with(Q, TableModel(state.m_int, state.m_reward), hp.sampling, count[N_SEEN],
                     count[LATEST_PAIR], count[LATEST_STATE], k, hp.alpha, hp.gamma,
                     hp.epsilon, rng)


@njit(cache=True)
def learn(Q, state, s, a, r, s2, terminated, t, hp, rng):
    """One real step of Dyna-Q (§8.2): direct RL (d), model learning (e), planning (f)
    uniformly over the seen pairs. (Without :func:`observe`'s note of the latest pair,
    which uniform planning does not read and which cost a whole run 5%.)"""
    m_int, m_reward = state.m_int, state.m_reward
    _, n_seen = _direct_rl_and_model(Q, m_int, m_reward, state.count, s, a, r, s2,
                                     terminated, hp.alpha, hp.gamma)
    if hp.k:
        return 1 + plan_uniform(Q, m_int, m_reward, n_seen, hp.k, hp.alpha, hp.gamma, rng)
    return 1


@njit(cache=True)
def learn_sampled(Q, state, s, a, r, s2, terminated, t, hp, rng):
    """:func:`learn` planning from the pairs that ``hp.sampling`` picks (see
    :func:`plan_with`)."""
    observe(Q, state, s, a, r, s2, terminated, t, hp)
    if hp.k:
        return 1 + plan(Q, state, hp.k, t, hp, rng)
    return 1


@njit(cache=True)
def diagnose(state, world, base, reachable, n_actions):
    """The deterministic model against the truth (see :mod:`dynaq.kernels.run`).

    Only pairs seen since the last diagnosis are compared, unless a known pair's outcome
    or the dynamics changed: in a deterministic world a real step costs no more for it.
    """
    m_int, m_reward, count, sums = state.m_int, state.m_reward, state.count, state.sums
    n = count[N_SEEN]
    if n == 0:
        return np.nan, np.nan, 0.0
    first = count[DIAG_SEEN]
    if count[DIAG_CHANGES] != count[N_CHANGES] or count[DIAG_BASE] != base:
        first = 0
        sums[:] = 0.0
    for i in range(first, n):
        e_p, e_r = point_error(world, base, m_int[PAIR, i], m_int[NEXT_ROW, i] // n_actions,
                               m_reward[i])
        sums[0] += e_p
        sums[1] += e_r
        sums[2] += reachable[m_int[PAIR, i] // n_actions]
    count[DIAG_CHANGES], count[DIAG_BASE], count[DIAG_SEEN] = count[N_CHANGES], base, n
    return sums[0] / n, sums[1] / n, sums[2] / max(reachable.sum() * n_actions, 1)
