"""Dyna-Q+ (Sutton & Barto §8.3) compiled, and its Exercise 8.4 variant, with the agent
functions that :mod:`dynaq.kernels.run` runs.

τ(s, a) is the number of real steps since (s, a) was last tried: ``last[s*A + a]`` holds
the real step ``t`` (counted from 1 across episodes, as the runner passes it) at which it
was, 0 if never, so τ = t − last, counted from the start for a pair never tried. It is an
int64 difference and the bonus κ√τ a float, so nothing overflows for any run length.

- ``bonus = planning`` (the book's Dyna-Q+): planning backs up r + κ√τ. As in the book's
  footnote, when a state is first acted in, every action of it enters the model, the
  untried ones as leading back to the same state with reward 0, so planning may try them.
- ``bonus = action`` (Exercise 8.4): planning is Dyna-Q's, on the pairs tried; the greedy
  part of ε-greedy maximises Q(s, a) + κ√τ(s, a) instead.

The model is Dyna-Q's deterministic table (:mod:`dynaq.kernels.dyna_q`); the
hyperparameters are a :class:`DynaQPlusParams`, the state a :class:`DynaQPlusState`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from dynaq.kernels import dyna_q as dq
from dynaq.kernels.diagnostics import point_error
from dynaq.kernels.dyna_q import NEXT_ROW, PAIR, SLOT, TERM, model_update, new_model
from dynaq.kernels.tabular import egreedy_action, max_q, q_backup
from dynaq.rng import randint

N_SEEN = 0
"""The entry of :attr:`DynaQPlusState.count`: slots used."""


class DynaQPlusParams(NamedTuple):
    """Dyna-Q+'s hyperparameters ``hp``."""

    alpha: float
    """Step size α."""
    gamma: float
    """Discount γ."""
    epsilon: float
    """ε of the ε-greedy behaviour."""
    k: int
    """Planning backups per real step."""
    kappa: float
    """Bonus weight κ."""
    in_planning: bool
    """The bonus in planning backups (the book's Dyna-Q+), else in action choice (Ex. 8.4)."""


class DynaQPlusState(NamedTuple):
    """Dyna-Q+'s agent state: the model, ``count``, ``last`` (the real step each pair was
    last tried) and a scratch row for the bonus scores."""

    m_int: np.ndarray
    m_reward: np.ndarray
    count: np.ndarray
    last: np.ndarray
    scores: np.ndarray


@njit(cache=True)
def init(n_states, n_actions, hp):
    """An empty :class:`DynaQPlusState`."""
    m_int, m_reward = new_model(n_states, n_actions)
    return DynaQPlusState(m_int, m_reward, np.zeros(1, np.int64),
                          np.zeros(n_states * n_actions, np.int64), np.zeros((1, n_actions)))


@njit(cache=True)
def act(Q, state, s, t, hp, rng):
    """ε-greedy on Q, or with ``bonus = action`` on Q(s, ·) + κ√τ(s, ·) at real step ``t``."""
    if hp.in_planning:
        return egreedy_action(Q, s, hp.epsilon, rng)
    last, scores = state.last, state.scores
    A = Q.shape[1]
    for b in range(A):
        scores[0, b] = Q[s, b] + hp.kappa * np.sqrt(float(t - last[s * A + b]))
    return egreedy_action(scores, 0, hp.epsilon, rng)


@njit(cache=True)
def observe(Q, state, s, a, r, s2, terminated, t, hp):
    """Direct RL and model learning for real step ``t`` (§8.2, steps (d), (e)), with the
    footnote's model of untried actions; returns the TD error of the direct backup."""
    m_int, m_reward, count, last = state.m_int, state.m_reward, state.count, state.last
    A = Q.shape[1]
    td = q_backup(Q, s, a, r, s2, terminated, hp.alpha, hp.gamma)
    n = count[N_SEEN]
    if hp.in_planning and m_int[SLOT, s * A] < 0:  # s is acted in for the first time
        for b in range(A):
            n = model_update(m_int, m_reward, n, A, s, b, 0.0, s, False)
    count[N_SEEN] = model_update(m_int, m_reward, n, A, s, a, r, s2, terminated)
    last[s * A + a] = t
    return td


@njit(cache=True)
def plan(Q, state, k, t, hp, rng):
    """k planning backups after real step ``t`` on pairs drawn uniformly from the model,
    with reward r + κ√τ when the bonus is in planning; returns how many (0 while the
    model is empty)."""
    alpha, gamma, kappa = hp.alpha, hp.gamma, hp.kappa
    m_int, m_reward, last = state.m_int, state.m_reward, state.last
    n = state.count[N_SEEN]
    if not hp.in_planning:
        return dq.plan_uniform(Q, m_int, m_reward, n, k, alpha, gamma, rng)
    if n == 0:
        return 0
    A = Q.shape[1]
    for _ in range(k):
        i = randint(rng, n)
        s, a = divmod(m_int[PAIR, i], A)
        target = m_reward[i] + kappa * np.sqrt(float(t - last[s * A + a]))
        if not m_int[TERM, i]:
            target += gamma * max_q(Q, m_int[NEXT_ROW, i] // A)
        Q[s, a] += alpha * (target - Q[s, a])
    return k


@njit(cache=True)
def learn(Q, state, s, a, r, s2, terminated, t, hp, rng):
    """One real step of Dyna-Q+: :func:`observe`, then :func:`plan` with k = ``hp.k``."""
    observe(Q, state, s, a, r, s2, terminated, t, hp)
    if hp.k:
        return 1 + plan(Q, state, hp.k, t, hp, rng)
    return 1


@njit(cache=True)
def diagnose(state, world, base, reachable, n_actions):
    """The model of the pairs tried against the truth (see :mod:`dynaq.kernels.run`); the
    footnote's made-up outcomes of untried actions are not counted. Recomputed at each
    call, O(pairs in the model): the same order as the episode's value-error sweep."""
    m_int, m_reward, last = state.m_int, state.m_reward, state.last
    e_p = e_r = 0.0
    tried = covered = 0
    for i in range(state.count[N_SEEN]):
        sa = m_int[PAIR, i]
        if last[sa] > 0:
            p, r = point_error(world, base, sa, m_int[NEXT_ROW, i] // n_actions, m_reward[i])
            e_p += p
            e_r += r
            tried += 1
            covered += reachable[sa // n_actions]
    if tried == 0:
        return np.nan, np.nan, 0.0
    return e_p / tried, e_r / tried, covered / max(reachable.sum() * n_actions, 1)
