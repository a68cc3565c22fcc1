"""Tests for dynaq.mdp: validation, construction from Gymnasium, exact solutions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from dynaq import ConfigError
from dynaq.mdp import TabularMDP, greedy_policy

GAMMA = 0.9


# -- small hand-built MDPs --------------------------------------------------------------------
def chain_mdp() -> TabularMDP:
    """Four states in a line 0-1-2-3; action 0 = left, 1 = right.

    Entering state 3 gives reward 1 and ends the episode; every other move gives 0. Moving
    left from 0 stays in 0. State 3 is absorbing (terminated self-loop, reward 0).
    """
    left, right = 0, 1
    P = {s: {} for s in range(4)}
    for s in range(3):
        P[s][left] = [(1.0, max(s - 1, 0), 0.0, False)]
        P[s][right] = [(1.0, s + 1, 1.0 if s + 1 == 3 else 0.0, s + 1 == 3)]
    P[3] = {left: [(1.0, 3, 0.0, True)], right: [(1.0, 3, 0.0, True)]}
    return TabularMDP.from_transitions(P, [1.0, 0.0, 0.0, 0.0], name="chain")


def two_state_mdp() -> TabularMDP:
    """A stochastic two-state MDP.

    State 0: a0 ends the episode with reward 1; a1 goes to state 1 or stays in 0 (p = 0.5
    each, reward 0). State 1: a0 ends with reward 10 (p = 0.5) or returns to 0 (p = 0.5,
    reward 0); a1 ends with reward 2.
    """
    P = {
        0: {0: [(1.0, 0, 1.0, True)], 1: [(0.5, 1, 0.0, False), (0.5, 0, 0.0, False)]},
        1: {0: [(0.5, 1, 10.0, True), (0.5, 0, 0.0, False)], 1: [(1.0, 1, 2.0, True)]},
    }
    return TabularMDP.from_transitions(P, [1.0, 0.0], name="two")


def dense(mdp: TabularMDP) -> tuple[np.ndarray, np.ndarray]:
    """Dense T[s, a, s'] over non-terminated outcomes and expected reward R[s, a].

    Built from the toy-text table, independently of the kernels.
    """
    S, A = mdp.n_states, mdp.n_actions
    T = np.zeros((S, A, S))
    R = np.zeros((S, A))
    for s, row in mdp.to_transitions().items():
        for a, outs in row.items():
            for p, s2, r, term in outs:
                R[s, a] += p * r
                if not term:
                    T[s, a, s2] += p
    return T, R


# -- validation ------------------------------------------------------------------------------
def test_probabilities_not_summing_to_one_names_state_action():
    P = {0: {0: [(1.0, 0, 0.0, True)], 1: [(1.0, 0, 0.0, True)]},
         1: {0: [(1.0, 0, 0.0, True)], 1: [(0.5, 0, 0.0, False), (0.4, 1, 0.0, False)]}}
    with pytest.raises(ConfigError, match=r"\(s=1, a=1\).*sum to 0\.9.*must sum to 1"):
        TabularMDP.from_transitions(P, [1.0, 0.0])


def test_probability_sum_within_tolerance_is_accepted():
    third = 1.0 / 3.0
    P = {0: {0: [(third, 0, 0.0, False), (third, 0, 0.0, False), (third, 0, 1.0, True)]}}
    mdp = TabularMDP.from_transitions(P, [1.0])
    assert mdp.outcomes(0, 0) == [(third, 0, 0.0, False), (third, 0, 0.0, False),
                                  (third, 0, 1.0, True)]


def test_next_state_out_of_range_names_state_action():
    P = {0: {0: [(1.0, 1, 0.0, False)], 1: [(1.0, 0, 0.0, False)]},
         1: {0: [(1.0, 0, 0.0, False)], 1: [(0.5, 0, 0.0, False), (0.5, 2, 0.0, False)]}}
    with pytest.raises(ConfigError, match=r"next state 2 of \(s=1, a=1\) is out of range"):
        TabularMDP.from_transitions(P, [1.0, 0.0])


def test_negative_next_state_is_out_of_range():
    P = {0: {0: [(1.0, -1, 0.0, False)]}}
    with pytest.raises(ConfigError, match=r"next state -1 of \(s=0, a=0\)"):
        TabularMDP.from_transitions(P, [1.0])


def test_negative_probability_is_rejected_even_if_the_sum_is_one():
    P = {0: {0: [(1.5, 0, 0.0, False), (-0.5, 0, 1.0, True)]}}
    with pytest.raises(ConfigError, match=r"probability -0.5 of \(s=0, a=0\) must be finite"):
        TabularMDP.from_transitions(P, [1.0])


def test_nan_probability_and_reward_are_rejected():
    with pytest.raises(ConfigError, match=r"probability nan of \(s=\d+, a=\d+\) must be finite"):
        TabularMDP.from_transitions({0: {0: [(float("nan"), 0, 0.0, True)]}}, [1.0])
    with pytest.raises(ConfigError, match="rewards must be finite"):
        TabularMDP.from_transitions({0: {0: [(1.0, 0, float("inf"), True)]}}, [1.0])


def test_ragged_action_table_names_state():
    P = {0: {0: [(1.0, 0, 0.0, True)], 1: [(1.0, 0, 0.0, True)]},
         1: {0: [(1.0, 0, 0.0, True)]}}
    with pytest.raises(ConfigError, match=r"state 1 has 1 actions, expected 2"):
        TabularMDP.from_transitions(P, [1.0, 0.0])


def test_missing_state_and_empty_outcomes_are_named():
    with pytest.raises(ConfigError, match=r"no entry for state 1"):
        TabularMDP.from_transitions({0: {0: [(1.0, 0, 0.0, True)]},
                                     2: {0: [(1.0, 0, 0.0, True)]}}, [1.0, 0.0])
    with pytest.raises(ConfigError, match=r"\(s=0, a=1\) has no outcomes"):
        TabularMDP.from_transitions({0: {0: [(1.0, 0, 0.0, True)], 1: []}}, [1.0])
    with pytest.raises(ConfigError, match="empty"):
        TabularMDP.from_transitions({}, [])


@pytest.mark.parametrize("P", [
    {1: {0: [(1.0, 0, 0.0, True)]}},  # no state 0
    {0: {0: [(1.0, 0, 0.0, True)], 2: [(1.0, 0, 0.0, True)]}},  # actions 0 and 2, no 1
    {0: {0: [(1.0, 0, 0.0)]}},  # outcome without its terminated flag
], ids=["missing-state-0", "missing-action", "short-outcome"])
def test_malformed_tables_raise_config_error(P):
    # ConfigError is the one exception type users see for bad input (dynaq.errors).
    with pytest.raises(ConfigError):
        TabularMDP.from_transitions(P, [1.0])


@pytest.mark.parametrize("initial", [[1.0], [0.5, 0.4], [1.5, -0.5], [0.0, 0.0],
                                     [0.5, 0.5, 0.0]])
def test_wrong_initial_distribution(initial):
    P = {0: {0: [(1.0, 1, 0.0, False)]}, 1: {0: [(1.0, 1, 0.0, True)]}}
    with pytest.raises(ConfigError, match=r"initial must be a distribution over 2 states"):
        TabularMDP.from_transitions(P, initial)


def test_bad_offsets_are_rejected():
    with pytest.raises(ConfigError, match="offsets"):
        TabularMDP(1, 2, np.array([0, 1, 1]), np.array([0]), np.array([1.0]),
                   np.array([0.0]), np.array([True]), np.array([1.0]))
    with pytest.raises(ConfigError, match="prob must have 2 entries"):
        TabularMDP(1, 2, np.array([0, 1, 2]), np.array([0, 0]), np.array([1.0]),
                   np.array([0.0, 0.0]), np.array([True, True]), np.array([1.0]))


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


# -- views -----------------------------------------------------------------------------------
def test_arrays_are_read_only_and_typed():
    mdp = two_state_mdp()
    offsets, nxt, prob, rew, term = mdp.arrays
    assert offsets.dtype == np.int64 and nxt.dtype == np.int64
    assert prob.dtype == np.float64 and rew.dtype == np.float64 and term.dtype == np.bool_
    np.testing.assert_array_equal(offsets, [0, 1, 3, 5, 6])
    for arr in (offsets, nxt, prob, rew, term, mdp.initial):
        assert not arr.flags.writeable
    assert not mdp.is_deterministic
    assert chain_mdp().is_deterministic


def test_outcomes_and_to_transitions_round_trip():
    mdp = two_state_mdp()
    assert mdp.outcomes(1, 0) == [(0.5, 1, 10.0, True), (0.5, 0, 0.0, False)]
    again = TabularMDP.from_transitions(mdp.to_transitions(), mdp.initial)
    assert again.to_transitions() == mdp.to_transitions()


def test_from_transitions_accepts_list_tables():
    P = [[[(1.0, 1, 0.0, False)]], [[(1.0, 1, 0.0, True)]]]
    mdp = TabularMDP.from_transitions(P, [1.0, 0.0])
    assert (mdp.n_states, mdp.n_actions) == (2, 1)
    assert mdp.outcomes(0, 0) == [(1.0, 1, 0.0, False)]


# -- value iteration -------------------------------------------------------------------------
def test_value_iteration_on_chain_matches_hand_computation():
    Q, V = chain_mdp().value_iteration(GAMMA)
    # V*(3) = 0 (absorbing).  V*(2) = 1 (step right, reward 1, episode ends).
    # V*(1) = 0 + 0.9 * V*(2) = 0.9.  V*(0) = 0.9 * V*(1) = 0.81.
    v = [0.81, 0.9, 1.0, 0.0]
    # Q*(s, left) = 0.9 * V*(max(s - 1, 0)): 0.9*0.81, 0.9*0.81, 0.9*0.9; Q*(s, right) = V*(s).
    q = [[0.729, 0.81], [0.729, 0.9], [0.81, 1.0], [0.0, 0.0]]
    np.testing.assert_allclose(V, v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(Q, q, rtol=0, atol=1e-12)


def test_value_iteration_on_stochastic_two_state_mdp():
    Q, V = two_state_mdp().value_iteration(GAMMA)
    # Optimal policy: a1 in state 0, a0 in state 1.
    #   V1 = 0.5*10 + 0.5*0.9*V0 = 5 + 0.45 V0
    #   V0 = 0.5*0.9*V1 + 0.5*0.9*V0  =>  0.55 V0 = 0.45 V1  =>  V0 = (9/11) V1
    #   V1 = 5 + 0.45 * (9/11) V1  =>  V1 (1 - 4.05/11) = 5  =>  V1 = 55/6.95 = 1100/139
    #   V0 = (9/11) * 1100/139 = 900/139
    # The alternatives are worse: Q(0, a0) = 1 < 900/139 ≈ 6.47, Q(1, a1) = 2 < 7.91.
    v0, v1 = 900 / 139, 1100 / 139
    np.testing.assert_allclose(V, [v0, v1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(Q, [[1.0, v0], [v1, 2.0]], rtol=0, atol=1e-10)


def test_value_iteration_results_are_cached_and_read_only():
    mdp = two_state_mdp()
    Q1, V1 = mdp.value_iteration(GAMMA)
    Q2, V2 = mdp.value_iteration(GAMMA)
    assert Q1 is Q2 and V1 is V2
    assert not Q1.flags.writeable and not V1.flags.writeable
    _, V_other = mdp.value_iteration(0.5)
    assert not np.allclose(V_other, V1)


def test_first_phase_of_a_changing_world_is_built_once_and_keeps_its_solutions():
    chain, two = chain_mdp(), two_state_mdp()
    changing = TabularMDP(*(getattr(chain, f) for f in (
        "n_states", "n_actions", "offsets", "next_state", "prob", "reward", "terminated",
        "initial")), name="changing", changes=((5, chain),))
    (t0, first), (t1, after) = changing.phases()
    assert (t0, t1) == (0, 5) and after is chain and first is not changing
    assert not first.changes and np.array_equal(first.reward, chain.reward)
    assert changing.phases()[0][1] is first and changing.at(4) is first
    assert first.value_iteration(GAMMA) is changing.phases()[0][1].value_iteration(GAMMA)
    assert two.phases() == [(0, two)]


def test_value_iteration_without_convergence_raises():
    # A self-loop paying 1 forever has no finite value with gamma = 1.
    mdp = TabularMDP.from_transitions({0: {0: [(1.0, 0, 1.0, False)]}}, [1.0], name="loop")
    with pytest.raises(ConfigError, match=r"loop: value iteration did not converge"):
        mdp.value_iteration(1.0, max_iter=500)


def test_start_value_is_expectation_under_initial():
    P = {0: {0: [(1.0, 0, 1.0, True)]}, 1: {0: [(1.0, 1, 3.0, True)]}}
    mdp = TabularMDP.from_transitions(P, [0.25, 0.75])
    _, V = mdp.value_iteration(GAMMA)
    np.testing.assert_allclose(V, [1.0, 3.0])
    assert mdp.start_value(V) == pytest.approx(0.25 * 1.0 + 0.75 * 3.0)


# -- policy evaluation -----------------------------------------------------------------------
def test_evaluate_policy_matches_hand_computation():
    mdp = two_state_mdp()
    # The optimal deterministic policy: its value is V* (see the value iteration test).
    V = mdp.evaluate_policy(np.array([[0.0, 1.0], [1.0, 0.0]]), GAMMA)
    np.testing.assert_allclose(V, [900 / 139, 1100 / 139], atol=1e-10)
    # a0 everywhere: V0 = 1; V1 = 5 + 0.45 V0 = 5.45.
    V = mdp.evaluate_policy(np.array([[1.0, 0.0], [1.0, 0.0]]), GAMMA)
    np.testing.assert_allclose(V, [1.0, 5.45], atol=1e-10)


@pytest.mark.parametrize("make", [two_state_mdp, chain_mdp])
def test_evaluate_policy_matches_linear_solve(make):
    mdp = make()
    rng = np.random.default_rng(0)
    policy = rng.random((mdp.n_states, mdp.n_actions))
    policy /= policy.sum(axis=1, keepdims=True)
    T, R = dense(mdp)
    # V = r_pi + gamma P_pi V  =>  (I - gamma P_pi) V = r_pi
    P_pi = np.einsum("sa,sat->st", policy, T)
    r_pi = (policy * R).sum(axis=1)
    expected = np.linalg.solve(np.eye(mdp.n_states) - GAMMA * P_pi, r_pi)
    np.testing.assert_allclose(mdp.evaluate_policy(policy, GAMMA), expected, atol=1e-9)


def test_evaluate_policy_rejects_wrong_shape():
    with pytest.raises(ConfigError, match=r"policy must have shape \(2, 2\)"):
        two_state_mdp().evaluate_policy(np.ones((2, 3)) / 3, GAMMA)


# -- greedy policy ---------------------------------------------------------------------------
def test_greedy_policy_splits_ties_evenly():
    Q = np.array([[1.0, 1.0, 0.0],
                  [0.0, 0.0, 0.0],
                  [-3.0, -1.0, -2.0],
                  [2.0, 5.0, 5.0]])
    expected = np.array([[0.5, 0.5, 0.0],
                         [1 / 3, 1 / 3, 1 / 3],
                         [0.0, 1.0, 0.0],
                         [0.0, 0.5, 0.5]])
    pi = greedy_policy(Q)
    np.testing.assert_allclose(pi, expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(pi.sum(axis=1), 1.0)


def test_greedy_policy_of_q_star_has_value_v_star():
    mdp = two_state_mdp()
    Q, V = mdp.value_iteration(GAMMA)
    np.testing.assert_allclose(mdp.evaluate_policy(greedy_policy(Q), GAMMA), V, atol=1e-9)


# -- reachability ----------------------------------------------------------------------------
def test_reachable_excludes_states_behind_terminated_outcomes():
    # 0 -> 1 (continues); 0 -> 2 only by a terminated outcome; 3 only from 2;
    # 4 only by a zero-probability outcome; 5 is the start state of nothing.
    P = {
        0: {0: [(1.0, 1, 0.0, False)], 1: [(1.0, 2, 1.0, True)]},
        1: {0: [(1.0, 0, 0.0, False), (0.0, 4, 0.0, False)], 1: [(1.0, 1, 0.0, False)]},
        2: {0: [(1.0, 3, 0.0, False)], 1: [(1.0, 3, 0.0, False)]},
        3: {0: [(1.0, 3, 0.0, False)], 1: [(1.0, 3, 0.0, False)]},
        4: {0: [(1.0, 4, 0.0, False)], 1: [(1.0, 4, 0.0, False)]},
        5: {0: [(1.0, 0, 0.0, False)], 1: [(1.0, 0, 0.0, False)]},
    }
    mdp = TabularMDP.from_transitions(P, [1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(mdp.reachable(), [True, True, False, False, False, False])
    # Every state in the start support counts, even one only reachable at the start.
    mdp = TabularMDP.from_transitions(P, [0.5, 0, 0, 0, 0, 0.5])
    np.testing.assert_array_equal(mdp.reachable(), [True, True, False, False, False, True])


# -- Gymnasium toy-text envs -----------------------------------------------------------------
TOY_TEXT = ["FrozenLake-v1", "CliffWalking-v1", "Taxi-v4"]


@pytest.mark.parametrize("env_id", TOY_TEXT)
def test_from_gymnasium_reproduces_toy_text_model_exactly(env_id):
    env = gym.make(env_id)
    base = env.unwrapped
    mdp = TabularMDP.from_gymnasium(env)
    assert mdp.n_states == base.observation_space.n
    assert mdp.n_actions == base.action_space.n
    assert mdp.name == env_id
    assert mdp.to_transitions() == base.P
    np.testing.assert_array_equal(mdp.initial, base.initial_state_distrib)
    for s in (0, mdp.n_states // 2, mdp.n_states - 1):
        for a in range(mdp.n_actions):
            assert mdp.outcomes(s, a) == [tuple(o) for o in base.P[s][a]]
    env.close()


def test_from_gymnasium_frozen_lake_is_slippery_by_default():
    mdp = TabularMDP.from_gymnasium(gym.make("FrozenLake-v1"))
    assert (mdp.n_states, mdp.n_actions) == (16, 4)
    assert not mdp.is_deterministic
    # FrozenLake lists three outcomes of 1/3 for every move from a frozen cell.
    assert [o[0] for o in mdp.outcomes(0, 0)] == pytest.approx([1 / 3] * 3)
    # is_slippery=False gives a deterministic lake.
    assert TabularMDP.from_gymnasium(gym.make("FrozenLake-v1", is_slippery=False)) \
        .is_deterministic


@pytest.mark.parametrize("gamma", [0.9, 0.99])
def test_value_iteration_on_frozen_lake_matches_dense_reference(gamma):
    mdp = TabularMDP.from_gymnasium(gym.make("FrozenLake-v1"))
    T, R = dense(mdp)
    # Reference: synchronous (Jacobi) value iteration on dense arrays.
    V = np.zeros(mdp.n_states)
    for _ in range(100_000):
        Q_ref = R + gamma * T @ V
        V_new = Q_ref.max(axis=1)
        if np.max(np.abs(V_new - V)) < 1e-14:
            break
        V = V_new
    Q, V_star = mdp.value_iteration(gamma)
    np.testing.assert_allclose(V_star, V_new, rtol=0, atol=1e-9)
    np.testing.assert_allclose(Q, Q_ref, rtol=0, atol=1e-9)
    # Sanity on the answer itself: the goal is reachable, so the start has positive value,
    # holes and the goal are absorbing with value 0.
    assert 0 < mdp.start_value(V_star) < 1
    for terminal in (5, 7, 11, 12, 15):
        assert V_star[terminal] == 0.0


def test_from_gymnasium_rejects_non_discrete_env():
    with pytest.raises(ConfigError, match=r"'CartPole-v1': a TabularMDP needs Discrete"):
        TabularMDP.from_gymnasium(gym.make("CartPole-v1"))


def test_from_gymnasium_rejects_env_without_p():
    class NoModel(gym.Env):
        observation_space = gym.spaces.Discrete(2)
        action_space = gym.spaces.Discrete(2)

    with pytest.raises(ConfigError, match="exposes no transition table P"):
        TabularMDP.from_gymnasium(NoModel())


@pytest.mark.parametrize("env_id, steps", [("dynaq/DynaMaze-v0", 14),
                                           ("dynaq/SinglePath9x9-v0", 48),
                                           ("FrozenLake-v1", 2), ("CliffWalking-v1", 13)])
def test_shortest_episode(env_id, steps):
    assert TabularMDP.from_gymnasium(gym.make(env_id)).shortest_episode() == steps


def test_shortest_episode_when_no_episode_can_end():
    loop = TabularMDP.from_transitions({0: {0: [(1.0, 0, 0.0, False)]}}, [1.0])
    assert loop.shortest_episode() == 0
