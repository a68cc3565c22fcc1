"""The transition-count model (Sutton & Barto §8.1 and §8.5; the course's second model row)
compiled: P̂(s′|s, a) from counts, the mean reward of each (s, a, s′), sample and expected
planning backups, and Dyna-Q's agent functions over it for :mod:`dynaq.kernels.run`.

Storage grows with the transitions seen, never with S²·A. Like the deterministic model
(:mod:`dynaq.kernels.dyna_q`), the i-th distinct (s, a) seen owns slot i of an integer
table ``m_int`` of S·A columns: ``m_int[SLOT, s*A + a]`` is that slot (-1 while unseen),
``m_int[PAIR, i] = s*A + a`` and ``m_int[TOTAL, i]`` how often (s, a) was tried. Each
distinct (s, a, s′, terminated) seen is an *outcome record* in a pool: ``p_int[j] = (s′*A,
terminated, count, next record of the same pair or -1)`` and ``p_reward[j]`` the mean
reward of that outcome. Slot i's first outcome is record i, so in a deterministic world a
planning backup reads one record at its slot, as the deterministic model reads its table;
further outcomes are chained after S·A in the order first seen. That part of the pool
doubles when full (memory the operating system commits only as it is written); a compiled
``learn`` cannot hand new arrays back, so the pool's two arrays sit in a :class:`Pool`, a
small mutable structure that ``learn`` points at the bigger ones. (A one-item typed List
did the same at the cost of a dozen backups per real step.)

In a deterministic world every pair has one record and planning draws exactly the random
numbers of the deterministic model (a single outcome draws none), so both models give the
same Q for the same seed. The model's planning view is a :class:`CountsArrays`, which
registers its backups with :func:`dynaq.kernels.dyna_q.register_backup`; Dyna-Q's agent
state with it is a :class:`CountsState`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, types
from numba.experimental import structref

from dynaq.kernels.diagnostics import pair_error
from dynaq.kernels.dyna_q import UNIFORM, _row_max, plan_with, register_backup
from dynaq.kernels.structs import new_struct
from dynaq.kernels.tabular import q_backup
from dynaq.rng import _UNIT, randint, step_words

SLOT, PAIR, TOTAL, CHANGED, CHANGED_LIST = range(5)
"""Rows of ``m_int``: the deterministic model's ``SLOT`` and ``PAIR``, then per slot its
visit count, whether its learned outcomes changed since the last diagnosis, and (as a
list) the slots that did."""
NEXT_ROW, TERM, COUNT, LINK = range(4)
"""Columns of the record pool ``p_int``."""
N_SEEN, N_EXTRA, N_CHANGED, DIAG_BASE, DIAG_SEEN, LATEST_PAIR, LATEST_STATE = range(7)
"""Entries of the counters ``count``: pairs seen, records beyond each pair's first, slots
in the changed list; at the last diagnosis: the phase's outcome offset and the pairs
seen; the last real pair (``s*A + a``, -1 before any) and the state a planning trajectory
starts from."""
_FIRST_EXTRA = 1024
"""Initial room for records beyond each pair's first (at most S·A); it doubles when full."""


@structref.register
class _PoolType(types.StructRef):
    def preprocess_fields(self, fields: tuple) -> tuple:
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class Pool(structref.StructRefProxy):
    """The outcome records of a counts model: ``p_int`` and ``p_reward`` (see the module
    docstring), replaced by bigger arrays as the model grows."""

    @property
    def p_int(self) -> np.ndarray:
        return _p_int(self)

    @property
    def p_reward(self) -> np.ndarray:
        return _p_reward(self)


@njit(cache=True)
def _p_int(pool):
    return pool.p_int


@njit(cache=True)
def _p_reward(pool):
    return pool.p_reward


structref.define_proxy(Pool, _PoolType, ["p_int", "p_reward"])
_POOL = _PoolType([("p_int", types.int64[:, ::1]), ("p_reward", types.float64[::1])])


class CountsArrays(NamedTuple):
    """The counts model as planning reads it: its table, its pool's arrays and whether
    backups are expected (§8.5) or sample ones."""

    m_int: np.ndarray
    p_int: np.ndarray
    p_reward: np.ndarray
    expected: bool


class CountsState(NamedTuple):
    """Dyna-Q's agent state with the counts model: the model (``m_int``, ``pool``,
    ``count``), each slot's last diagnosed ``(total variation, reward error)`` and their
    sums with the coverage count."""

    m_int: np.ndarray
    pool: Pool
    count: np.ndarray
    errors: np.ndarray
    sums: np.ndarray


@njit(cache=True)
def new_model(n_states, n_actions):
    """An empty counts model: ``(m_int, pool, count)``, ``pool`` a :class:`Pool`."""
    pairs = n_states * n_actions
    m_int = np.full((5, pairs), -1, np.int64)
    m_int[TOTAL] = 0
    m_int[CHANGED] = 0
    capacity = pairs + min(_FIRST_EXTRA, pairs)
    pool = new_struct(_POOL)
    pool.p_int = np.empty((capacity, 4), np.int64)
    pool.p_reward = np.empty(capacity)
    count = np.zeros(7, np.int64)
    count[DIAG_BASE] = count[LATEST_PAIR] = -1
    return m_int, pool, count


@njit(cache=True)
def model_update(m_int, pool, count, n_actions, s, a, r, s2, terminated):
    """Count that (s, a) led to (s2, terminated) and fold ``r`` into that outcome's mean
    reward (§8.1: a distribution model estimated from experience).

    The mean is kept incrementally, ``r̄ += (r − r̄)/n``: a reward that never varies stays
    exactly itself, as the deterministic model's does. The model keeps its own arrays,
    never Q's (the common-mistakes table, last row). Returns the index of the outcome's
    record when it is new (a predecessor index keys on it), else -1.
    """
    sa = s * n_actions + a
    row = s2 * n_actions
    p_int, p_reward = pool.p_int, pool.p_reward
    i = m_int[SLOT, sa]
    if i < 0:
        i = count[N_SEEN]
        count[N_SEEN] += 1
        m_int[SLOT, sa] = i
        m_int[PAIR, i] = sa
        m_int[TOTAL, i] = 1
        _write_record(p_int, p_reward, i, row, terminated, r)
        _mark_changed(m_int, count, i)
        return i
    m_int[TOTAL, i] += 1
    j, last = i, -1
    while j >= 0 and not (p_int[j, NEXT_ROW] == row and p_int[j, TERM] == terminated):
        last, j = j, p_int[j, LINK]
    if j < 0:  # an outcome of (s, a) not seen before
        j = _new_record(pool, count, m_int.shape[1])
        _write_record(pool.p_int, pool.p_reward, j, row, terminated, r)
        pool.p_int[last, LINK] = j
        _mark_changed(m_int, count, i)
        return j
    if p_int[i, LINK] >= 0 or r != p_reward[j]:  # else its one outcome again, as learned
        _mark_changed(m_int, count, i)
    p_int[j, COUNT] += 1
    p_reward[j] += (r - p_reward[j]) / p_int[j, COUNT]
    return -1


@njit(cache=True, inline="always")
def _write_record(p_int, p_reward, j, row, terminated, r):
    p_int[j, NEXT_ROW] = row
    p_int[j, TERM] = terminated
    p_int[j, COUNT] = 1
    p_int[j, LINK] = -1
    p_reward[j] = r


@njit(cache=True, inline="always")
def _mark_changed(m_int, count, i):
    """Put slot ``i`` on the list :func:`diagnose` compares again."""
    if not m_int[CHANGED, i]:
        m_int[CHANGED, i] = 1
        m_int[CHANGED_LIST, count[N_CHANGED]] = i
        count[N_CHANGED] += 1


@njit(cache=True)
def _new_record(pool, count, pairs):
    """The index of a new record beyond its pair's first; the room for them doubles when
    full."""
    j = pairs + count[N_EXTRA]
    if j == pool.p_int.shape[0]:
        bigger_int = np.empty((pairs + 2 * count[N_EXTRA], 4), np.int64)
        bigger_reward = np.empty(bigger_int.shape[0])
        bigger_int[:j] = pool.p_int
        bigger_reward[:j] = pool.p_reward
        pool.p_int, pool.p_reward = bigger_int, bigger_reward
    count[N_EXTRA] += 1
    return j


@njit(cache=True, inline="always")
def draw(p_int, i, total, rng):
    """A record of slot ``i`` (tried ``total`` times) drawn with probability count/total.
    A pair with one outcome draws no random number."""
    j = i
    if p_int[j, LINK] >= 0:
        u = randint(rng, total) - p_int[j, COUNT]
        while u >= 0 and p_int[j, LINK] >= 0:
            j = p_int[j, LINK]
            u -= p_int[j, COUNT]
    return j


@njit(cache=True, inline="always")
def backup_sample(Qf, A, model, i, alpha, gamma, rng):
    """A sample backup of slot ``i`` (§8.5): s′ drawn from the learned P̂(·|s, a), then
    Q(s, a) += α (r̄(s, a, s′) + γ max_a′ Q(s′, a′) − Q(s, a)).

    ``model`` a :class:`CountsArrays`, ``Qf`` the flattened Q. Returns the drawn outcome's
    ``(next_row, terminated)``, where a simulated trajectory goes next.
    """
    j = draw(model.p_int, i, model.m_int[TOTAL, i], rng)
    return _backup_record(Qf, A, model.m_int, model.p_int, model.p_reward, i, j, alpha, gamma)


@njit(cache=True, inline="always")
def _backup_record(Qf, A, m_int, p_int, p_reward, i, j, alpha, gamma):
    """The Q-learning backup of slot ``i`` on its outcome record ``j``; returns the record's
    ``(next_row, terminated)``. Everything is read before Q is written: reading the model
    after the write made numba keep reference counting in the planning loops (ten times
    slower), here and in :func:`dynaq.kernels.dyna_q.backup_last`."""
    row = p_int[j, NEXT_ROW]
    term = p_int[j, TERM]
    target = p_reward[j]
    if not term:
        target += gamma * _row_max(Qf, np.uint64(row), A)
    sa = np.uint64(m_int[PAIR, i])
    Qf[sa] += alpha * (target - Qf[sa])
    return row, term


@njit(cache=True)
def plan_uniform(Q, m_int, p_int, p_reward, n_seen, expected, k, alpha, gamma, rng):
    """k sample or ``expected`` backups on pairs drawn uniformly from those seen: the
    counts model's :func:`dynaq.kernels.dyna_q.plan`, the hot loop of its runs, with the
    numbers of ``plan_with``. Pairs with one outcome are backed up in
    :func:`_one_outcome_backups`; a pair with several is backed up here."""
    if n_seen == 0:
        return 0
    A = Q.shape[1]
    Qf = Q.reshape(-1)
    model = CountsArrays(m_int, p_int, p_reward, expected)
    done = 0
    while True:
        n, i = _one_outcome_backups(Qf, A, m_int, p_int, p_reward, n_seen, k - done, alpha,
                                    gamma, rng)
        done += n
        if done == k:
            return k
        if expected:
            backup_expected(Qf, A, model, i, alpha, gamma, rng)
        else:
            backup_sample(Qf, A, model, i, alpha, gamma, rng)
        done += 1
        if done == k:
            return k


@njit(cache=True)
def _one_outcome_backups(Qf, A, m_int, p_int, p_reward, n_seen, k, alpha, gamma, rng):
    """Backups on pairs drawn uniformly until k are done (``(k, -1)``) or a drawn pair has
    several outcomes (``(backups done, its slot)``); a pair with one outcome has the same
    sample and expected backup.

    Written for speed as :func:`dynaq.kernels.dyna_q.plan` is (the random state in
    registers, unsigned indices), and with no call in it: with the draw among several
    outcomes inside the loop, a call it never made still made every backup three times
    slower.
    """
    scale = _UNIT * n_seen
    w0, w1, w2, w3 = rng[0], rng[1], rng[2], rng[3]
    for done in range(k):
        bits, w0, w1, w2, w3 = step_words(w0, w1, w2, w3)
        i = np.uint64(float(np.int64(bits >> np.uint64(11))) * scale)
        if p_int[i, LINK] >= 0:
            rng[0], rng[1], rng[2], rng[3] = w0, w1, w2, w3
            return done, np.int64(i)
        _backup_record(Qf, A, m_int, p_int, p_reward, i, i, alpha, gamma)
    rng[0], rng[1], rng[2], rng[3] = w0, w1, w2, w3
    return k, -1


@njit(cache=True, inline="always")
def backup_expected(Qf, A, model, i, alpha, gamma, rng):
    """An expected backup of slot ``i`` (§8.5, equation 8.1 with the learned model):
    Q(s, a) += α (Σ_s′ P̂(s′|s, a) [r̄(s, a, s′) + γ max_a′ Q(s′, a′)] − Q(s, a)).

    With α = 1 this is the book's expected update; α < 1 keeps Dyna-Q's step size, and a
    single outcome (probability exactly 1) gives exactly the sample backup. Returns a
    successor drawn from P̂ for a simulated trajectory (a pair with one outcome draws no
    random number).
    """
    m_int, p_int, p_reward = model.m_int, model.p_int, model.p_reward
    total = m_int[TOTAL, i]
    drawn = draw(p_int, i, total, rng)
    row, term = p_int[drawn, NEXT_ROW], p_int[drawn, TERM]
    target = 0.0
    j = i
    while j >= 0:
        value = p_reward[j]
        if not p_int[j, TERM]:
            value += gamma * _row_max(Qf, np.uint64(p_int[j, NEXT_ROW]), A)
        target += (p_int[j, COUNT] / total) * value
        j = p_int[j, LINK]
    sa = np.uint64(m_int[PAIR, i])
    Qf[sa] += alpha * (target - Qf[sa])
    return row, term


@njit(cache=True, inline="always")
def backup(Qf, A, model, i, alpha, gamma, rng):
    """The counts model's planning backup (:func:`dynaq.kernels.dyna_q.backup`): expected or
    sample, as ``model.expected`` says."""
    if model.expected:
        return backup_expected(Qf, A, model, i, alpha, gamma, rng)
    return backup_sample(Qf, A, model, i, alpha, gamma, rng)


register_backup(CountsArrays, backup)


@njit(cache=True, inline="always")
def plan_sampled(Q, m_int, p_int, p_reward, n_seen, expected, sampling, pair, s, k, alpha,
                 gamma, epsilon, rng):
    """k planning backups on the counts model (the pool's arrays ``p_int, p_reward``),
    sample or ``expected`` (§8.5), on the pairs ``sampling`` picks (see
    :func:`dynaq.kernels.dyna_q.plan_with`). Returns how many."""
    if sampling == UNIFORM:
        return plan_uniform(Q, m_int, p_int, p_reward, n_seen, expected, k, alpha, gamma, rng)
    return plan_with(Q, CountsArrays(m_int, p_int, p_reward, expected), sampling, n_seen,
                     pair, s, k, alpha, gamma, epsilon, rng)


@njit(cache=True)
def init(n_states, n_actions, hp):
    """An empty :class:`CountsState` for :mod:`dynaq.kernels.run`."""
    m_int, pool, count = new_model(n_states, n_actions)
    return CountsState(m_int, pool, count, np.zeros((2, n_states * n_actions)), np.zeros(3))


@njit(cache=True)
def observe(Q, state, s, a, r, s2, terminated, t, hp):
    """Direct RL (§8.2, step (d)) and model learning (e) with the counts model; returns the
    direct backup's TD error. Keeps the pair and the state that focused planning starts
    from."""
    count = state.count
    A = Q.shape[1]
    td = q_backup(Q, s, a, r, s2, terminated, hp.alpha, hp.gamma)
    model_update(state.m_int, state.pool, count, A, s, a, r, s2, terminated)
    count[LATEST_PAIR] = s * A + a
    # after an episode's last step, trajectories start from the state it was taken in
    count[LATEST_STATE] = s if terminated else s2
    return td


@njit(cache=True)
def plan(Q, state, k, t, hp, rng):
    """Planning (§8.2, step (f)): up to k sample or expected backups on the pairs
    ``hp.sampling`` picks; returns how many (0 before any real step)."""
    count, pool = state.count, state.pool
    if count[LATEST_PAIR] < 0:
        return 0
    return plan_sampled(Q, state.m_int, pool.p_int, pool.p_reward, count[N_SEEN], hp.expected,
                        hp.sampling, count[LATEST_PAIR], count[LATEST_STATE], k, hp.alpha,
                        hp.gamma, hp.epsilon, rng)


@njit(cache=True)
def learn(Q, state, s, a, r, s2, terminated, t, hp, rng):
    """One real step of Dyna-Q with the counts model (§8.2 with §8.5's backups): direct RL,
    model learning, planning; ``hp`` a :class:`dynaq.kernels.dyna_q.DynaQParams`. (The
    planning arrays are passed as they are, not through :func:`plan` and the latest pair,
    as Dyna-Q's own :func:`~dynaq.kernels.dyna_q.learn` does for speed.)"""
    m_int, pool, count = state.m_int, state.pool, state.count
    A = Q.shape[1]
    q_backup(Q, s, a, r, s2, terminated, hp.alpha, hp.gamma)
    model_update(m_int, pool, count, A, s, a, r, s2, terminated)
    if hp.k:
        return 1 + plan_sampled(Q, m_int, pool.p_int, pool.p_reward, count[N_SEEN],
                                hp.expected, hp.sampling, s * A + a, s if terminated else s2,
                                hp.k, hp.alpha, hp.gamma, hp.epsilon, rng)
    return 1


@njit(cache=True)
def distribution(m_int, p_int, p_reward, i):
    """The learned outcomes of slot ``i``: ``(next_row, terminated, probability, reward)``
    arrays, in the order first seen."""
    n = 0
    j = i
    while j >= 0:
        n += 1
        j = p_int[j, LINK]
    rows, terms = np.empty(n, np.int64), np.empty(n, np.bool_)
    probs, rewards = np.empty(n), np.empty(n)
    j = i
    for o in range(n):
        rows[o], terms[o] = p_int[j, NEXT_ROW], p_int[j, TERM]
        probs[o], rewards[o] = p_int[j, COUNT] / m_int[TOTAL, i], p_reward[j]
        j = p_int[j, LINK]
    return rows, terms, probs, rewards


@njit(cache=True)
def diagnose(state, world, base, reachable, n_actions):
    """The counts model against the truth (see :mod:`dynaq.kernels.run`): mean over seen
    pairs of the total variation between P̂(·|s, a) and P(·|s, a), of |r̂(s, a) − r(s, a)|,
    and the coverage of the reachable pairs.

    Only the pairs whose learned distribution or mean reward changed since the last
    diagnosis are compared again (each slot's errors are kept), unless the dynamics
    changed: in a deterministic world only the pairs tried for the first time.
    """
    m_int, pool, count, errors, sums = state.m_int, state.pool, state.count, state.errors, \
        state.sums
    n = count[N_SEEN]
    if n == 0:
        return np.nan, np.nan, 0.0
    p_int, p_reward = pool.p_int, pool.p_reward
    fresh = count[DIAG_BASE] != base
    if fresh:
        sums[:] = 0.0
        errors[:, :n] = 0.0
    for i in range(0 if fresh else count[DIAG_SEEN], n):
        sums[2] += reachable[m_int[PAIR, i] // n_actions]
    for c in range(count[N_CHANGED]):
        m_int[CHANGED, m_int[CHANGED_LIST, c]] = 0
    for c in range(n if fresh else count[N_CHANGED]):
        i = c if fresh else m_int[CHANGED_LIST, c]
        rows, _, probs, rewards = distribution(m_int, p_int, p_reward, i)
        e_p, e_r = pair_error(world, base, m_int[PAIR, i], rows // n_actions, probs,
                              (probs * rewards).sum())
        sums[0] += e_p - errors[0, i]
        sums[1] += e_r - errors[1, i]
        errors[0, i], errors[1, i] = e_p, e_r
    count[N_CHANGED], count[DIAG_BASE], count[DIAG_SEEN] = 0, base, n
    return sums[0] / n, sums[1] / n, sums[2] / max(reachable.sum() * n_actions, 1)
