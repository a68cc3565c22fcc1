"""Tabular experience replay compiled (the course's "Relation to experience replay"; Lin,
1992): Q-learning plus k backups per real step on transitions drawn uniformly from a ring
buffer of the last real ones, and the agent functions for :mod:`dynaq.kernels.run`.

The buffer has the deterministic model's layout (:mod:`dynaq.kernels.dyna_q`), one column
per stored *transition* instead of per seen pair: ``b_int[PAIR, i] = s*A + a``,
``b_int[NEXT_ROW, i] = s′*A``, ``b_int[TERM, i]`` (row ``SLOT`` is unused) and
``b_reward[i]``. So Dyna-Q's own planning loop replays it: replay is Dyna-Q whose "model"
keeps every transition, which samples each outcome of a pair by its observed frequency
(as the counts model with sample backups does) and each pair by how often it was tried
(where Dyna-Q draws each seen pair equally often). The buffer is a :class:`ReplayBuffer`,
the hyperparameters a :class:`ReplayParams`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from dynaq.kernels.dyna_q import NEXT_ROW, PAIR, TERM, plan_uniform
from dynaq.kernels.tabular import egreedy_action, q_backup

POSITION, STORED = range(2)
"""Entries of :attr:`ReplayBuffer.count`: where the next transition goes, how many are
held."""


class ReplayParams(NamedTuple):
    """Replay's hyperparameters ``hp``."""

    alpha: float
    """Step size α."""
    gamma: float
    """Discount γ."""
    epsilon: float
    """ε of the ε-greedy behaviour."""
    k: int
    """Replayed backups per real step."""
    capacity: int
    """Transitions the buffer holds."""


class ReplayBuffer(NamedTuple):
    """The agent state: the transitions (``b_int``, ``b_reward``), the counters and
    ``held[s*A + a]``, the number of transitions of (s, a) in the buffer."""

    b_int: np.ndarray
    b_reward: np.ndarray
    count: np.ndarray
    held: np.ndarray


@njit(cache=True)
def new_buffer(n_states, n_actions, capacity):
    """An empty :class:`ReplayBuffer` of ``capacity`` transitions."""
    return ReplayBuffer(np.zeros((4, capacity), np.int64), np.zeros(capacity),
                        np.zeros(2, np.int64), np.zeros(n_states * n_actions, np.int64))


@njit(cache=True)
def store(buffer, n_actions, s, a, r, s2, terminated):
    """Append a real transition, overwriting the oldest when the buffer is full."""
    b_int, b_reward, count, held = buffer.b_int, buffer.b_reward, buffer.count, buffer.held
    i = count[POSITION]
    if count[STORED] == b_reward.shape[0]:
        held[b_int[PAIR, i]] -= 1
    else:
        count[STORED] += 1
    b_int[PAIR, i] = s * n_actions + a
    b_int[NEXT_ROW, i] = s2 * n_actions
    b_int[TERM, i] = terminated
    b_reward[i] = r
    held[s * n_actions + a] += 1
    count[POSITION] = (i + 1) % b_reward.shape[0]


@njit(cache=True)
def init(n_states, n_actions, hp):
    """Agent state for :mod:`dynaq.kernels.run`: an empty buffer."""
    return new_buffer(n_states, n_actions, hp.capacity)


@njit(cache=True)
def act(Q, state, s, t, hp, rng):
    """ε-greedy on Q."""
    return egreedy_action(Q, s, hp.epsilon, rng)


@njit(cache=True)
def observe(Q, state, s, a, r, s2, terminated, t, hp):
    """A Q-learning backup on the real transition (§6.5), which then joins the buffer.
    Returns the TD error."""
    td = q_backup(Q, s, a, r, s2, terminated, hp.alpha, hp.gamma)
    store(state, Q.shape[1], s, a, r, s2, terminated)
    return td


@njit(cache=True)
def plan(Q, state, k, t, hp, rng):
    """k Q-learning backups on stored transitions drawn uniformly; returns k (0 while the
    buffer is empty)."""
    return plan_uniform(Q, state.b_int, state.b_reward, state.count[STORED], k, hp.alpha,
                        hp.gamma, rng)


@njit(cache=True)
def learn(Q, state, s, a, r, s2, terminated, t, hp, rng):
    """One real step: direct RL, store, replay k."""
    observe(Q, state, s, a, r, s2, terminated, t, hp)
    if hp.k:
        return 1 + plan(Q, state, hp.k, t, hp, rng)
    return 1


@njit(cache=True)
def diagnose(state, world, base, reachable, n_actions):
    """``(nan, nan, coverage)``: a buffer is not a model of each pair to compare with the
    truth; coverage is the fraction of the reachable pairs it holds a transition of
    (pairs leave it when their last transition is overwritten). One pass over S·A."""
    held = state.held
    seen = 0
    for sa in range(held.shape[0]):
        if held[sa] > 0 and reachable[sa // n_actions]:
            seen += 1
    return np.nan, np.nan, seen / max(reachable.sum() * n_actions, 1)
