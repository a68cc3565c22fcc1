"""Prioritized sweeping (Sutton & Barto §8.4) compiled, with the agent functions
:mod:`dynaq.kernels.run` runs: the book's box "Prioritized sweeping for a deterministic
environment" on Dyna-Q's deterministic table, and its stochastic extension on the
transition-count model with expected updates.

Two things are added to the model:

- a predecessor index: for each state s′, a linked list of entries, each naming a model
  slot whose pair is predicted to lead to s′ (``pred_head[s′]`` the first entry,
  ``pred_next[j]`` the one after entry ``j``, -1 ends a list; ``pred_slot[j]`` its slot).
  With the deterministic model entry ``j`` is slot ``j``, kept in the list of its current
  successor only (a world that changes moves it). With the counts model an entry is an
  outcome record (s, a) → s′, added when that outcome is first seen and never removed, so
  the index grows with the transitions seen and sits, like the records, in a small mutable
  structure (:class:`PredecessorIndex`) whose arrays are replaced when the pool grows;
- the priority queue of :mod:`dynaq.kernels.heap`, whose items are model slots: each pair
  at most once, with the highest priority pending for it.

One real step (:func:`learn`): the direct Q-learning backup of Dyna-Q (§8.2, step (d)),
model learning (step (d) of the box), then, when k > 0, the real pair is queued by its
remaining error |R + γ max_a Q(S′, a) − Q(S, A)| if that exceeds θ (steps (e), (f)), and
the predecessors of S too, since the direct backup changed Q(S, ·); then up to k pairs
are popped and backed up, each queueing its own predecessors (step (g)). With the counts
model the error and the backup are expected ones, Σ_s′ P̂(s′|S, A)[r̄ + γ max_a Q(s′, a)],
as the book extends the box to stochastic worlds. The box has no direct backup (the real
pair reaches Q through the queue); keeping Dyna-Q's makes k = 0 exactly Q-learning, and
treating it as one more backup whose predecessors are queued sweeps its change backwards
like any other.

The sweep and the queue operations are inlined (with the arrays passed to a call costing a
reference-count round trip each, that halves the time of a backup); the two error
functions stay calls, because numba's inliner mishandles their loops. Each model's error
is registered for its planning view's type (:func:`register_error`), as its backup is for
Dyna-Q's planning.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit, types
from numba.experimental import structref
from numba.extending import overload

from dynaq.kernels import counts as kc
from dynaq.kernels import dyna_q as dq
from dynaq.kernels.dyna_q import _implementation
from dynaq.kernels.heap import new_queue, pop, push, queue_size
from dynaq.kernels.structs import new_struct
from dynaq.kernels.tabular import max_q, q_backup

act = dq.act
"""ε-greedy on Q, as Dyna-Q."""


class SweepingParams(NamedTuple):
    """Prioritized sweeping's hyperparameters ``hp``."""

    alpha: float
    """Step size α."""
    gamma: float
    """Discount γ."""
    epsilon: float
    """ε of the ε-greedy behaviour."""
    k: int
    """Most backups per real step."""
    theta: float
    """Queue threshold θ on |priority|."""


class SweepingState(NamedTuple):
    """The agent state with the deterministic model: Dyna-Q's
    (:class:`dynaq.kernels.dyna_q.DynaQState`), the predecessor index and the queue."""

    m_int: np.ndarray
    m_reward: np.ndarray
    count: np.ndarray
    sums: np.ndarray
    pred_slot: np.ndarray
    pred_next: np.ndarray
    pred_head: np.ndarray
    heap: np.ndarray
    prio: np.ndarray
    pos: np.ndarray


@njit(cache=True)
def td_error(Q, m_int, m_reward, i, gamma):
    """R + γ max_a Q(S′, a) − Q(S, A) for the pair of deterministic-model slot ``i``."""
    A = Q.shape[1]
    s, a = divmod(m_int[dq.PAIR, i], A)
    target = m_reward[i]
    if not m_int[dq.TERM, i]:
        target += gamma * max_q(Q, m_int[dq.NEXT_ROW, i] // A)
    return target - Q[s, a]


@njit(cache=True)
def expected_error(Q, m_int, p_int, p_reward, i, gamma):
    """Σ_s′ P̂(s′|S, A) [r̄(S, A, s′) + γ max_a Q(s′, a)] − Q(S, A) for counts-model slot
    ``i`` (§8.5's expected update; one outcome gives :func:`td_error` exactly)."""
    A = Q.shape[1]
    s, a = divmod(m_int[kc.PAIR, i], A)
    total = m_int[kc.TOTAL, i]
    target = 0.0
    j = i  # slot i's first outcome record; the rest are linked from it
    while j >= 0:
        value = p_reward[j]
        if not p_int[j, kc.TERM]:
            value += gamma * max_q(Q, p_int[j, kc.NEXT_ROW] // A)
        target += (p_int[j, kc.COUNT] / total) * value
        j = p_int[j, kc.LINK]
    return target - Q[s, a]


_ERRORS: dict[type, Any] = {}


def error(Q, model, i, gamma):
    """The error a backup of slot ``i`` of ``model`` removes, by the model's type
    (:func:`register_error`): :func:`td_error` for a deterministic
    :class:`~dynaq.kernels.dyna_q.TableModel`, :func:`expected_error` for a
    :class:`~dynaq.kernels.counts.CountsArrays`. Run as plain Python
    (``NUMBA_DISABLE_JIT=1``), the same registry picks the function."""
    return _ERRORS[type(model)](Q, model, i, gamma)


def register_error(model_type: type, fn: Any) -> None:
    """Make ``fn(Q, model, i, gamma)`` the error of models of ``model_type`` (a named tuple
    class whose first field is the model's integer table, with the row ``PAIR``)."""
    if model_type in _ERRORS:
        raise ValueError(f"{model_type.__name__} already has an error")
    _ERRORS[model_type] = fn

    @overload(error, inline="always")
    def _by_type(Q, model, i, gamma):
        if getattr(model, "instance_class", None) is model_type:
            return _implementation(fn)
        return None


@njit(cache=True)
def _table_error(Q, model, i, gamma):
    return td_error(Q, model.m_int, model.m_reward, i, gamma)


@njit(cache=True)
def _counts_error(Q, model, i, gamma):
    return expected_error(Q, model.m_int, model.p_int, model.p_reward, i, gamma)


register_error(dq.TableModel, _table_error)
register_error(kc.CountsArrays, _counts_error)


@njit(cache=True, inline="always")
def queue_pair(Q, model, queue, i, gamma, theta):
    """Queue slot ``i`` with priority |error| if that exceeds θ (the box's (f));
    ``queue = (heap, prio, pos)``, the arrays of :mod:`dynaq.kernels.heap`, read by position
    (see :func:`queue_predecessors`)."""
    p = abs(error(Q, model, i, gamma))
    if p > theta:
        push(queue[0], queue[1], queue[2], i, p)


@njit(cache=True, inline="always")
def queue_predecessors(Q, model, index, queue, s, gamma, theta):
    """Queue each pair predicted to lead to ``s`` whose priority exceeds θ (the inner loop
    of the box's (g)); ``index = (pred_slot, pred_next, pred_head)``: ``pred_slot[j]`` the
    model slot of entry ``j``, ``pred_next[j]`` the next entry leading to the same state,
    ``pred_head[s]`` the first entry leading to ``s``.

    The index and the queue stay plain tuples, read by position here and in
    :func:`queue_pair`: as named tuples read by field, or with the queue unpacked into
    locals named like :func:`sweep`'s own, these inlined copies made numba 0.68 compile the
    sweep to read out of bounds (a segfault on the Dyna maze, seed 1).
    """
    pred_slot, pred_next, pred_head = index
    j = pred_head[s]
    while j >= 0:
        queue_pair(Q, model, queue, pred_slot[j], gamma, theta)
        j = pred_next[j]


@njit(cache=True, inline="always")
def sweep(Q, model, index, queue, k, alpha, gamma, theta):
    """Up to ``k`` backups of the pairs of highest priority, each queueing its
    predecessors (the box's (g)); returns how many were done (fewer when the queue
    empties)."""
    heap, prio, pos = queue
    done = 0
    while done < k and queue_size(heap) > 0:
        i, _ = pop(heap, prio, pos)
        s, a = divmod(model[0][dq.PAIR, i], Q.shape[1])  # both models' tables share PAIR
        Q[s, a] += alpha * error(Q, model, i, gamma)
        done += 1
        queue_predecessors(Q, model, index, queue, s, gamma, theta)
    return done


@njit(cache=True, inline="always")
def after_real_step(Q, model, index, queue, i, s, hp):
    """What a real step adds when planning (k > 0): queue its pair (slot ``i``) and the
    predecessors of its state ``s``, whose values the direct backup changed."""
    gamma, theta = hp.gamma, hp.theta
    if hp.k > 0:
        queue_pair(Q, model, queue, i, gamma, theta)
        queue_predecessors(Q, model, index, queue, s, gamma, theta)


# -- with the deterministic model: the book's box ----------------------------------------

@njit(cache=True)
def init(n_states, n_actions, hp):
    """An empty :class:`SweepingState`."""
    m_int, m_reward, count, sums = dq.init(n_states, n_actions, hp)
    heap, prio, pos = new_queue(n_states * n_actions)
    return SweepingState(m_int, m_reward, count, sums, np.arange(n_states * n_actions),
                         np.full(n_states * n_actions, -1, np.int64),
                         np.full(n_states, -1, np.int64), heap, prio, pos)


@njit(cache=True)
def remember(state, s, a, r, s2, terminated, n_actions):
    """Model learning (the box's step (d)) and the predecessor index; returns the slot of
    (s, a). Counts changes to known pairs' outcomes as Dyna-Q does, for its diagnosis."""
    m_int, m_reward, count = state.m_int, state.m_reward, state.count
    pred_next, pred_head = state.pred_next, state.pred_head
    i = m_int[dq.SLOT, s * n_actions + a]
    old = -1
    if i >= 0:
        old = m_int[dq.NEXT_ROW, i] // n_actions
        if old != s2 or m_reward[i] != r:
            count[dq.N_CHANGES] += 1
        if old != s2:  # the world changed: the pair now precedes s2, no longer old
            j = pred_head[old]
            if j == i:
                pred_head[old] = pred_next[i]
            else:
                while pred_next[j] != i:
                    j = pred_next[j]
                pred_next[j] = pred_next[i]
    count[dq.N_SEEN] = dq.model_update(m_int, m_reward, count[dq.N_SEEN], n_actions, s, a, r,
                                       s2, terminated)
    if old != s2:
        i = m_int[dq.SLOT, s * n_actions + a]
        pred_next[i] = pred_head[s2]
        pred_head[s2] = i
    return i


@njit(cache=True)
def observe(Q, state, s, a, r, s2, terminated, t, hp):
    """Direct RL, model learning and, when k > 0, queueing (s, a) and the predecessors of
    s; ``hp`` a :class:`SweepingParams`. Returns the direct backup's TD error."""
    td = q_backup(Q, s, a, r, s2, terminated, hp.alpha, hp.gamma)
    i = remember(state, s, a, r, s2, terminated, Q.shape[1])
    after_real_step(Q, dq.TableModel(state.m_int, state.m_reward),
                    (state.pred_slot, state.pred_next, state.pred_head),
                    (state.heap, state.prio, state.pos), i, s, hp)
    return td


@njit(cache=True)
def plan(Q, state, k, t, hp, rng):
    """:func:`sweep` with up to ``k`` backups; returns how many were done (the sweep draws
    no random number)."""
    return sweep(Q, dq.TableModel(state.m_int, state.m_reward),
                 (state.pred_slot, state.pred_next, state.pred_head),
                 (state.heap, state.prio, state.pos), k, hp.alpha, hp.gamma, hp.theta)


@njit(cache=True)
def learn(Q, state, s, a, r, s2, terminated, t, hp, rng):
    """One real step of prioritized sweeping: :func:`observe`, then :func:`plan` with
    k = ``hp.k``."""
    observe(Q, state, s, a, r, s2, terminated, t, hp)
    if hp.k > 0:
        return 1 + plan(Q, state, hp.k, t, hp, rng)
    return 1


@njit(cache=True)
def diagnose(state, world, base, reachable, n_actions):
    """The deterministic model against the truth, as Dyna-Q's."""
    return dq.diagnose(dq.DynaQState(state.m_int, state.m_reward, state.count, state.sums),
                       world, base, reachable, n_actions)


# -- with the counts model: expected updates (§8.4, stochastic worlds) -------------------

@structref.register
class _IndexType(types.StructRef):
    def preprocess_fields(self, fields: tuple) -> tuple:
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class PredecessorIndex(structref.StructRefProxy):
    """The counts model's predecessor entries, one per outcome record: ``slot[j]`` the slot
    whose outcome record ``j`` is, ``next[j]`` the next entry leading to the same state (-1
    ends a list). Replaced by bigger arrays as the model's record pool grows, like the
    pool itself (:class:`dynaq.kernels.counts.Pool`)."""

    @property
    def slot(self) -> np.ndarray:
        return _index_slot(self)

    @property
    def next(self) -> np.ndarray:
        return _index_next(self)


@njit(cache=True)
def _index_slot(index):
    return index.slot


@njit(cache=True)
def _index_next(index):
    return index.next


structref.define_proxy(PredecessorIndex, _IndexType, ["slot", "next"])
_INDEX = _IndexType([("slot", types.int64[::1]), ("next", types.int64[::1])])


class SweepingCountsState(NamedTuple):
    """The agent state with the counts model: the counts model's
    (:class:`dynaq.kernels.counts.CountsState`), the :class:`PredecessorIndex`, the head of
    each state's list and the queue."""

    m_int: np.ndarray
    pool: kc.Pool
    count: np.ndarray
    errors: np.ndarray
    sums: np.ndarray
    index: PredecessorIndex
    pred_head: np.ndarray
    heap: np.ndarray
    prio: np.ndarray
    pos: np.ndarray


@njit(cache=True)
def init_counts(n_states, n_actions, hp):
    """An empty :class:`SweepingCountsState`, its :class:`PredecessorIndex` as big as the
    record pool."""
    m_int, pool, count, errors, sums = kc.init(n_states, n_actions, hp)
    capacity = pool.p_int.shape[0]
    index = new_struct(_INDEX)
    index.slot = np.empty(capacity, np.int64)
    index.next = np.empty(capacity, np.int64)
    heap, prio, pos = new_queue(n_states * n_actions)
    return SweepingCountsState(m_int, pool, count, errors, sums, index,
                               np.full(n_states, -1, np.int64), heap, prio, pos)


@njit(cache=True)
def remember_counts(state, s, a, r, s2, terminated, n_actions):
    """Count the outcome (:func:`dynaq.kernels.counts.model_update`) and, when it is a new
    one, enter its record in the predecessor index; returns the slot of (s, a)."""
    m_int, pool, count, index, pred_head = state.m_int, state.pool, state.count, state.index, \
        state.pred_head
    j = kc.model_update(m_int, pool, count, n_actions, s, a, r, s2, terminated)
    i = m_int[kc.SLOT, s * n_actions + a]
    if j >= 0:  # record j is new: (s, a) now precedes s2
        if j >= index.slot.shape[0]:  # the pool grew past the index
            n = index.slot.shape[0]
            bigger_slot = np.empty(pool.p_int.shape[0], np.int64)
            bigger_next = np.empty(pool.p_int.shape[0], np.int64)
            bigger_slot[:n], bigger_next[:n] = index.slot, index.next
            index.slot, index.next = bigger_slot, bigger_next
        index.slot[j] = i
        index.next[j] = pred_head[s2]
        pred_head[s2] = j
    return i


@njit(cache=True)
def observe_counts(Q, state, s, a, r, s2, terminated, t, hp):
    """:func:`observe` with the counts model."""
    td = q_backup(Q, s, a, r, s2, terminated, hp.alpha, hp.gamma)
    i = remember_counts(state, s, a, r, s2, terminated, Q.shape[1])
    pool, index = state.pool, state.index
    after_real_step(Q, kc.CountsArrays(state.m_int, pool.p_int, pool.p_reward, True),
                    (index.slot, index.next, state.pred_head),
                    (state.heap, state.prio, state.pos), i, s, hp)
    return td


@njit(cache=True)
def plan_counts(Q, state, k, t, hp, rng):
    """:func:`sweep` with expected backups on the counts model; returns how many."""
    pool, index = state.pool, state.index
    return sweep(Q, kc.CountsArrays(state.m_int, pool.p_int, pool.p_reward, True),
                 (index.slot, index.next, state.pred_head),
                 (state.heap, state.prio, state.pos), k, hp.alpha, hp.gamma, hp.theta)


@njit(cache=True)
def learn_counts(Q, state, s, a, r, s2, terminated, t, hp, rng):
    """:func:`learn` with the counts model."""
    observe_counts(Q, state, s, a, r, s2, terminated, t, hp)
    if hp.k > 0:
        return 1 + plan_counts(Q, state, hp.k, t, hp, rng)
    return 1


@njit(cache=True)
def diagnose_counts(state, world, base, reachable, n_actions):
    """The counts model against the truth, as Dyna-Q's with that model."""
    return kc.diagnose(kc.CountsState(state.m_int, state.pool, state.count, state.errors,
                                      state.sums), world, base, reachable, n_actions)
