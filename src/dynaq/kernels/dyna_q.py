"""Dyna-Q (Sutton & Barto §8.2, the course's loop) compiled: the deterministic model update,
k planning backups, and whole runs over a TabularMDP for many seeds at once.

The deterministic model is three ``(S, A)`` arrays, ``m_next`` (-1 while (s, a) is unseen),
``m_reward`` and ``m_term``, plus the list of seen pairs ``seen_s``, ``seen_a`` of length
``n_seen``. The list gives O(1) uniform sampling of a seen pair and ``m_next >= 0`` is the
O(1) membership test (the course sketch scans a Python list: O(n) per real step).
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit, objmode, prange

from dynaq.kernels.tabular import egreedy_action, max_q, q_backup
from dynaq.kernels.values import greedy_weights, policy_evaluation
from dynaq.rng import randint, uniform

EVAL_TOL = 1e-10
"""Policy evaluation stops when no state value moves more than this in a sweep."""
OPTIMAL_RTOL = 1e-6
"""A greedy policy is optimal when its value is within this (relative) of V*(start)."""
_EVAL_MAX_SWEEPS = 100_000


@njit(cache=True)
def model_update(m_next, m_reward, m_term, seen_s, seen_a, n_seen, s, a, r, s2, terminated):
    """Record that (s, a) led to (s2, r, terminated) (§8.2, step (e)); returns ``n_seen``.

    The model keeps its own arrays, never Q's (the common-mistakes table, last row).
    """
    if m_next[s, a] < 0:
        seen_s[n_seen] = s
        seen_a[n_seen] = a
        n_seen += 1
    m_next[s, a] = s2
    m_reward[s, a] = r
    m_term[s, a] = terminated
    return n_seen


@njit(cache=True)
def plan(Q, m_next, m_reward, m_term, seen_s, seen_a, n_seen, k, alpha, gamma, rng):
    """k planning backups (§8.2, step (f)) on pairs drawn uniformly from those seen.

    Returns the number of backups done: 0 while the model is empty, because planning before
    the model has an entry would back up made-up transitions (common-mistakes table, row 1).
    """
    if n_seen == 0:
        return 0
    for _ in range(k):
        i = randint(rng, n_seen)
        s = seen_s[i]
        a = seen_a[i]
        q_backup(Q, s, a, m_reward[s, a], m_next[s, a], m_term[s, a], alpha, gamma)
    return k


@njit(cache=True)
def sample_outcome(offsets, prob, sa, rng):
    """Index of an outcome of (s, a) = ``sa`` drawn by its probability."""
    lo = offsets[sa]
    hi = offsets[sa + 1]
    if hi - lo == 1:
        return lo
    u = uniform(rng)
    for i in range(lo, hi - 1):
        u -= prob[i]
        if u < 0.0:
            return i
    return hi - 1


@njit(cache=True)
def sample_start(initial_cdf, rng):
    """A start state drawn from the start distribution (given as its running sum)."""
    return min(np.searchsorted(initial_cdf, uniform(rng), side="right"),
               initial_cdf.shape[0] - 1)


@njit(cache=True)
def _now():
    with objmode(t="float64"):
        t = time.perf_counter()
    return t


@njit(cache=True)
def episode_metrics(mdp, Q, v_star, reachable, gamma, weights, prev_weights, v_pi, value):
    """Ground truth at the end of an episode: ``(value_error, policy_value)``.

    ``value_error`` is the largest |max_a Q(s, a) − V*(s)| over reachable states;
    ``policy_value`` the exact value from the start of the greedy policy (ties split
    evenly). Policy evaluation is warm-started from the last policy's values and skipped
    when the greedy policy has not changed; ``value`` is that last result.
    """
    offsets, next_state, prob, reward, terminated, initial = mdp
    err = 0.0
    for s in range(Q.shape[0]):
        if reachable[s]:
            err = max(err, abs(max_q(Q, s) - v_star[s]))
    greedy_weights(Q, weights)
    if np.array_equal(weights, prev_weights):
        return err, value
    prev_weights[:] = weights
    policy_evaluation(offsets, next_state, prob, reward, terminated, weights, gamma, v_pi,
                      EVAL_TOL, _EVAL_MAX_SWEEPS)
    return err, float(np.dot(initial, v_pi))


# Columns of the per-episode record array written by the runners.
STEPS, RETURN, ENV_STEPS, BACKUPS, VALUE_ERROR, POLICY_VALUE, WALL_S, TRUNCATED = range(8)
N_FIELDS = 8


@njit(cache=True)
def run_one(mdp, initial_cdf, v_star, reachable, alpha, gamma, epsilon, k, max_episodes,
            max_total_steps, max_episode_steps, agent_rng, env_rng, Q, records):
    """One seed of Dyna-Q (k = 0: Q-learning) from an empty model, in place on ``Q``.

    Runs ``max_episodes`` episodes, or, when ``max_total_steps > 0``, episodes until that
    many real steps (the last one cut short). ``max_episode_steps > 0`` truncates long
    episodes (a truncated step still bootstraps). Writes one row of ``records`` per
    episode and returns how many were written.
    """
    offsets, next_state, prob, reward, terminated, initial = mdp
    S, A = Q.shape
    m_next = np.full((S, A), -1, np.int64)
    m_reward = np.zeros((S, A))
    m_term = np.zeros((S, A), np.bool_)
    seen_s = np.empty(S * A, np.int64)
    seen_a = np.empty(S * A, np.int64)
    n_seen = 0
    weights = np.zeros((S, A))
    prev_weights = np.full((S, A), -1.0)
    v_pi = np.zeros(S)
    policy_value = 0.0
    total_steps = 0
    backups = 0
    t0 = _now()
    episode = 0
    while episode < max_episodes and (max_total_steps <= 0 or total_steps < max_total_steps):
        s = sample_start(initial_cdf, env_rng)
        steps = 0
        ret = 0.0
        truncated = False
        while True:
            a = egreedy_action(Q, s, epsilon, agent_rng)
            i = sample_outcome(offsets, prob, s * A + a, env_rng)
            s2, r, term = next_state[i], reward[i], terminated[i]
            q_backup(Q, s, a, r, s2, term, alpha, gamma)
            n_seen = model_update(m_next, m_reward, m_term, seen_s, seen_a, n_seen, s, a, r,
                                  s2, term)
            backups += 1 + plan(Q, m_next, m_reward, m_term, seen_s, seen_a, n_seen, k, alpha,
                                gamma, agent_rng)
            steps += 1
            total_steps += 1
            ret += r
            s = s2
            if term:
                break
            if (max_episode_steps > 0 and steps >= max_episode_steps) or (
                    max_total_steps > 0 and total_steps >= max_total_steps):
                truncated = True
                break
        value_error, policy_value = episode_metrics(mdp, Q, v_star, reachable, gamma, weights,
                                                    prev_weights, v_pi, policy_value)
        row = records[episode]
        row[STEPS] = steps
        row[RETURN] = ret
        row[ENV_STEPS] = total_steps
        row[BACKUPS] = backups
        row[VALUE_ERROR] = value_error
        row[POLICY_VALUE] = policy_value
        row[WALL_S] = _now() - t0
        row[TRUNCATED] = truncated
        episode += 1
    return episode


@njit(cache=True, parallel=True)
def run_batch(mdp, initial_cdf, v_star, reachable, alpha, gamma, epsilon, k, max_episodes,
              max_total_steps, max_episode_steps, agent_rngs, env_rngs, Q_out, records):
    """:func:`run_one` for each seed (row of the RNG arrays), seeds spread over threads.

    Each seed owns its random states and output rows, so the result does not depend on how
    many threads ran it. Returns the number of episodes written per seed.
    """
    n = agent_rngs.shape[0]
    done = np.zeros(n, np.int64)
    for i in prange(n):
        done[i] = run_one(mdp, initial_cdf, v_star, reachable, alpha, gamma, epsilon, k,
                          max_episodes, max_total_steps, max_episode_steps, agent_rngs[i],
                          env_rngs[i], Q_out[i], records[i])
    return done
