"""Exact policy evaluation on the on-policy states (Sutton & Barto §4.1), component by
component, against a dense linear solve of the whole MDP."""

import numpy as np
import pytest

from dynaq.kernels.values import evaluate_on_policy, on_policy_states


def random_mdp(rng, S, A, branching, p_end):
    """Sparse arrays of a random MDP: ``branching`` outcomes per (s, a), each ending the
    episode with probability ``p_end``; state 0 is the start."""
    counts = rng.integers(1, branching + 1, S * A)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n = int(offsets[-1])
    prob = np.concatenate([rng.dirichlet(np.ones(c)) for c in counts])
    next_state = rng.integers(0, S, n).astype(np.int64)
    reward = rng.normal(size=n)
    terminated = rng.random(n) < p_end
    initial = np.zeros(S)
    initial[0] = 1.0
    return offsets, next_state, prob, reward, terminated, initial


def random_policy(rng, S, A, ties):
    """A greedy-looking policy: one action per state, or an even split over ``ties``."""
    policy = np.zeros((S, A))
    for s in range(S):
        chosen = rng.choice(A, size=rng.integers(1, ties + 1), replace=False)
        policy[s, chosen] = 1.0 / len(chosen)
    return policy


def dense_values(offsets, next_state, prob, reward, terminated, policy, gamma):
    """v = (I − γ P_π)⁻¹ r_π over every state."""
    S, A = policy.shape
    P, r = np.zeros((S, S)), np.zeros(S)
    for s in range(S):
        for a in range(A):
            for i in range(offsets[s * A + a], offsets[s * A + a + 1]):
                p = policy[s, a] * prob[i]
                r[s] += p * reward[i]
                if not terminated[i]:
                    P[s, next_state[i]] += p
    return np.linalg.solve(np.eye(S) - gamma * P, r)


@pytest.mark.parametrize(("S", "A", "branching", "ties", "p_end", "gamma"), [
    (12, 4, 1, 1, 0.05, 0.95),  # deterministic: mostly single-state components
    (12, 4, 1, 4, 0.05, 0.95),  # ties everywhere: one big loop
    (40, 3, 3, 2, 0.1, 0.9),  # stochastic, small loops: solved exactly
    (400, 2, 2, 1, 0.02, 0.95),  # a loop of more than 128 states: iterated
    (30, 3, 2, 2, 0.2, 1.0),  # undiscounted, every state can end
])
def test_on_policy_values_equal_a_dense_solve(S, A, branching, ties, p_end, gamma):
    for seed in range(5):
        rng = np.random.default_rng(seed)
        offsets, next_state, prob, reward, terminated, initial = random_mdp(
            rng, S, A, branching, p_end)
        policy = random_policy(rng, S, A, ties)
        if gamma == 1.0:  # every state ends with some probability, so the solve exists
            terminated[rng.random(terminated.shape[0]) < 0.3] = True
            for s in range(S):
                terminated[offsets[s * A]] = True
                prob_s = prob[offsets[s * A]:offsets[s * A + 1]]
                prob_s[0] = max(prob_s[0], 0.2)
                prob_s /= prob_s.sum()
        truth = dense_values(offsets, next_state, prob, reward, terminated, policy, gamma)
        V, order = rng.normal(size=S), np.empty(S, np.int64)  # any warm start
        value, n = evaluate_on_policy(offsets, next_state, prob, reward, terminated, policy,
                                      initial, gamma, V, order, 1e-12, 100_000)
        assert value == pytest.approx(truth[0], abs=1e-8)
        np.testing.assert_allclose(V[order[:n]], truth[order[:n]], atol=1e-8)


def test_components_come_successors_first():
    rng = np.random.default_rng(3)
    S, A = 60, 3
    offsets, next_state, prob, _, terminated, initial = random_mdp(rng, S, A, 2, 0.05)
    policy = random_policy(rng, S, A, 1)
    order, bounds = np.empty(S, np.int64), np.empty(S + 1, np.int64)
    n, m = on_policy_states(offsets, next_state, prob, terminated, policy, initial, order,
                            bounds)
    component = np.full(S, -1)
    for c in range(m):
        component[order[bounds[c]:bounds[c + 1]]] = c
    assert bounds[m] == n and len(set(order[:n])) == n and component[0] >= 0
    for s in order[:n]:
        for a in np.flatnonzero(policy[s]):
            for i in range(offsets[s * A + a], offsets[s * A + a + 1]):
                if prob[i] > 0 and not terminated[i]:
                    # every successor is on-policy and in this component or an earlier one
                    assert 0 <= component[next_state[i]] <= component[s]


def test_a_loop_that_never_ends_is_settled_undiscounted():
    """γ = 1: a state that loops forever on reward 0 is worth 0; one that loops on reward
    −1 is worth −inf; the start, which can end, is iterated over the rest."""
    # 0 -> {1: 0.5, end: 0.5}, reward 1; 1 -> 1 (loop), reward 0
    offsets = np.array([0, 2, 3], np.int64)
    next_state = np.array([1, 0, 1], np.int64)
    prob = np.array([0.5, 0.5, 1.0])
    reward = np.array([1.0, 1.0, 0.0])
    terminated = np.array([False, True, False])
    policy, initial = np.ones((2, 1)), np.array([1.0, 0.0])
    V, order = np.array([np.inf, 5.0]), np.empty(2, np.int64)
    value, n = evaluate_on_policy(offsets, next_state, prob, reward, terminated, policy,
                                  initial, 1.0, V, order, 1e-12, 1000)
    assert n == 2 and value == 1.0 and V[1] == 0.0
    reward[2] = -1.0
    value, _ = evaluate_on_policy(offsets, next_state, prob, reward, terminated, policy,
                                  initial, 1.0, V, order, 1e-12, 1000)
    assert V[1] == -np.inf and value == -np.inf


def test_a_loop_that_can_end_but_feeds_an_endless_one_is_minus_inf_not_nan():
    """γ = 1, rewards −1: 0 → {1, end}, 1 → 2, 2 → {0, 3}, 3 → 3 forever. State 3 is worth
    −inf and so is every state that can reach it; the solve must not turn 0·inf into NaN."""
    offsets = np.array([0, 2, 3, 5, 6], np.int64)
    next_state = np.array([1, 0, 2, 0, 3, 3], np.int64)
    prob = np.array([0.5, 0.5, 1.0, 0.5, 0.5, 1.0])
    reward = -np.ones(6)
    terminated = np.array([False, True, False, False, False, False])
    policy, initial = np.ones((4, 1)), np.array([1.0, 0, 0, 0])
    V, order = np.zeros(4), np.empty(4, np.int64)
    value, n = evaluate_on_policy(offsets, next_state, prob, reward, terminated, policy,
                                  initial, 1.0, V, order, 1e-12, 1000)
    assert n == 4 and value == -np.inf and np.all(V == -np.inf)
