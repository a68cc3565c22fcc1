"""Trajectory sampling vs uniform expected updates on random tasks (Sutton & Barto §8.6,
Figure 8.8).

A task: ``n_states`` states, 2 actions, each (s, a) leading to one of b distinct states,
all equally likely, with probability 0.1 of ending the episode instead; each of the b
transitions has an expected reward drawn from N(0, 1), the ending one 0; undiscounted.
A 0.1 chance of ending on every step with reward 0 is the same as discounting by 0.9 with
rewards scaled by 0.9, so a task is held as a :class:`~dynaq.mdp.TabularMDP`'s arrays with
γ = :data:`CONTINUE` and its greedy policy evaluated exactly by
:func:`dynaq.kernels.values.evaluate_on_policy`.

Planning does one-step expected updates, either uniformly (all (s, a) in turn) or on-policy
(along simulated ε-greedy episodes from the start state, updating each (s, a) met).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from dynaq.kernels.tabular import egreedy_action, max_q
from dynaq.kernels.values import evaluate_on_policy, greedy_weights
from dynaq.rng import normal, randint, uniform

CONTINUE = 0.9
"""Probability that a transition does not end the episode."""
EPSILON = 0.1
"""ε of the on-policy distribution."""
EVAL_TOL = 1e-6
"""Policy evaluation stops when no value moves more than this in a sweep."""


@njit(cache=True)
def random_task(n_states, b, state):
    """One task's ``(offsets, next_state, prob, reward)``: 2 actions, b distinct successors
    per pair, rewards ``0.9 · N(0, 1)`` (see the module docstring)."""
    n = n_states * 2 * b
    next_state = np.empty(n, np.int64)
    reward = np.empty(n)
    for sa in range(n_states * 2):
        for j in range(b):
            while True:  # b ≤ 10 of ≥ 1000 states: a repeat is rare, redraw it
                s2 = randint(state, n_states)
                if s2 not in next_state[sa * b:sa * b + j]:
                    break
            next_state[sa * b + j] = s2
            reward[sa * b + j] = CONTINUE * normal(state)
    return np.arange(0, n + 1, b), next_state, np.full(n, 1.0 / b), reward


@njit(cache=True, inline="always")
def expected_update(Q, task, s, a):
    """Q(s, a) ← Σ_s′ p(s′) [r + γ max_a′ Q(s′, a′)] (γ = 0.9: the ending chance)."""
    offsets, next_state, prob, reward = task
    total = 0.0
    for i in range(offsets[s * 2 + a], offsets[s * 2 + a + 1]):
        total += prob[i] * (reward[i] + CONTINUE * max_q(Q, next_state[i]))
    Q[s, a] = total


@njit(cache=True)
def plan_run(task, n_states, b, on_policy, n_updates, checkpoint, state):
    """One planning run from Q = 0; the greedy policy's start value after every
    ``checkpoint`` expected updates (and before any), computed exactly."""
    offsets, next_state, prob, reward = task
    Q = np.zeros((n_states, 2))
    terminated = np.zeros(next_state.shape[0], np.bool_)
    initial = np.zeros(n_states)
    initial[0] = 1.0
    weights = np.full((n_states, 2), -1.0)
    v_pi = np.zeros(n_states)
    order = np.empty(n_states, np.int64)
    all_states = np.arange(n_states)
    out = np.empty(n_updates // checkpoint + 1)
    value, n_on, s = 0.0, 0, 0
    for u in range(n_updates + 1):
        if u % checkpoint == 0:
            # a policy's value depends only on its choices where it can go: unchanged
            # choices there, unchanged value
            if n_on == 0 or greedy_weights(Q, weights, order[:n_on]):
                greedy_weights(Q, weights, all_states)
                value, n_on = evaluate_on_policy(offsets, next_state, prob, reward, terminated,
                                                 weights, initial, CONTINUE, v_pi, order,
                                                 EVAL_TOL, 100_000)
            out[u // checkpoint] = value
        if u == n_updates:
            break
        if on_policy:
            a = egreedy_action(Q, s, EPSILON, state)
            expected_update(Q, task, s, a)
            s = 0 if uniform(state) >= CONTINUE else next_state[offsets[s * 2 + a]
                                                                + randint(state, b)]
        else:
            expected_update(Q, task, (u // 2) % n_states, u % 2)
    return out


@njit(cache=True, parallel=True)
def start_values(n_states, b, n_updates, checkpoint, states):
    """``[task, method, checkpoint]`` start values for the uniform (method 0) and on-policy
    (method 1) distributions, one task per row of ``states``, tasks in parallel."""
    n_tasks = states.shape[0]
    out = np.empty((n_tasks, 2, n_updates // checkpoint + 1))
    for i in prange(n_tasks):
        task = random_task(n_states, b, states[i])
        for method in range(2):
            out[i, method] = plan_run(task, n_states, b, method == 1, n_updates, checkpoint,
                                      states[i])
    return out
