"""Tests for dynaq.metrics: ground truth from the exact MDP and the 'stayed optimal' rules."""

from __future__ import annotations

import numpy as np
import pytest

from dynaq.envs import GridWorld
from dynaq.envs.maps import DYNA_MAZE, SINGLE_PATH_9X9
from dynaq.mdp import TabularMDP
from dynaq.metrics import (
    GroundTruth,
    egreedy_episode_length,
    policy_is_optimal,
    q_is_near_optimal,
)

GAMMA = 0.95


@pytest.fixture(scope="module")
def maze() -> TabularMDP:
    return GridWorld(DYNA_MAZE).to_mdp()


@pytest.fixture(scope="module")
def single_path() -> TabularMDP:
    return GridWorld(SINGLE_PATH_9X9).to_mdp()


def test_ground_truth_on_dyna_maze(maze):
    truth = GroundTruth.of(maze, GAMMA)
    # Shortest path is 14 moves and only the last one pays 1, discounted 13 times.
    assert abs(truth.v_star_start - GAMMA**13) < 1e-12
    assert truth.q_star.shape == (47, 4) and truth.v_star.shape == (47,)
    np.testing.assert_array_equal(truth.q_star.max(axis=1), truth.v_star)
    # Every cell but the goal is reachable; the goal is entered only by terminating moves.
    goal = GridWorld(DYNA_MAZE).state(0, 8)
    assert truth.reachable.sum() == 46 and not truth.reachable[goal]


def test_ground_truth_on_single_path(single_path):
    truth = GroundTruth.of(single_path, GAMMA)
    assert abs(truth.v_star_start - GAMMA**47) < 1e-12


def test_value_error_of_q_star_is_zero(maze):
    truth = GroundTruth.of(maze, GAMMA)
    assert truth.value_error(np.array(truth.q_star)) == 0.0


def test_value_error_is_max_abs_error_over_reachable_states(maze):
    truth = GroundTruth.of(maze, GAMMA)
    world = GridWorld(DYNA_MAZE)
    Q = np.array(truth.q_star)
    s1, s2 = world.start, world.state(5, 0)
    Q[s1] -= 0.1  # every action lower: max_a Q drops by 0.1
    Q[s2, 0] = truth.v_star[s2] + 0.25  # one action too high: max_a Q rises by 0.25
    assert truth.value_error(Q) == pytest.approx(0.25, abs=1e-12)
    # Lowering a non-greedy action changes nothing.
    Q = np.array(truth.q_star)
    Q[s1, int(np.argmin(Q[s1]))] -= 5.0
    assert truth.value_error(Q) == 0.0
    # The goal is not reachable as a state to act in, so its row is ignored.
    Q = np.array(truth.q_star)
    Q[world.state(0, 8)] = 100.0
    assert truth.value_error(Q) == 0.0
    # All zeros: error is max V* over reachable states, the cell next to the goal, V* = 1.
    assert truth.value_error(np.zeros_like(Q)) == pytest.approx(1.0)


def test_policy_is_optimal_semantics():
    v = 0.5
    assert policy_is_optimal(v, v)
    assert policy_is_optimal(v - 0.9e-6, v)  # |v| < 1: absolute tolerance 1e-6
    assert not policy_is_optimal(v - 1.1e-6, v)
    big = 1000.0
    assert policy_is_optimal(big * (1 - 0.9e-6), big)  # |v| > 1: relative 1e-6
    assert not policy_is_optimal(big * (1 - 1.1e-6), big)
    assert not policy_is_optimal(-big, -big * (1 + 2e-6))
    got = policy_is_optimal(np.array([0.5, 0.4, 0.5 + 5e-7]), 0.5)
    np.testing.assert_array_equal(got, [True, False, True])
    # Per-row reference values broadcast elementwise.
    np.testing.assert_array_equal(policy_is_optimal(np.array([1.0, 2.0]),
                                                    np.array([1.0, 3.0])), [True, False])


def test_q_is_near_optimal_semantics():
    v = 0.95**13
    assert q_is_near_optimal(0.0, v)
    assert q_is_near_optimal(0.05 * v, v)  # inclusive bound
    assert not q_is_near_optimal(0.05 * v * (1 + 1e-9), v)
    assert q_is_near_optimal(4.0, -100.0)  # uses |V*(start)|
    assert not q_is_near_optimal(6.0, -100.0)
    np.testing.assert_array_equal(q_is_near_optimal(np.array([0.01, 0.1, 0.04]), 1.0),
                                  [True, False, True])


def test_egreedy_episode_length_greedy(maze, single_path):
    q_maze = GroundTruth.of(maze, GAMMA).q_star
    assert egreedy_episode_length(maze, q_maze, 0.0) == pytest.approx(14.0, abs=1e-6)
    q_path = GroundTruth.of(single_path, GAMMA).q_star
    assert egreedy_episode_length(single_path, q_path, 0.0) == pytest.approx(48.0, abs=1e-6)


def test_egreedy_episode_length_grows_with_epsilon(maze):
    q_star = GroundTruth.of(maze, GAMMA).q_star
    lengths = [egreedy_episode_length(maze, q_star, eps) for eps in (0.0, 0.1, 0.3)]
    assert lengths[0] < lengths[1] < lengths[2]


def test_egreedy_episode_length_on_two_cell_corridor():
    # "S G": only RIGHT from S reaches G; UP, DOWN, LEFT stay put. With epsilon-greedy the
    # chance to move right per step is p = (1 - eps) + eps/4, so the expected number of
    # steps is geometric: 1 / p.
    mdp = GridWorld(("SG",)).to_mdp()
    q_star = GroundTruth.of(mdp, GAMMA).q_star
    for eps in (0.0, 0.2, 0.5):
        p = (1 - eps) + eps / 4
        assert egreedy_episode_length(mdp, q_star, eps) == pytest.approx(1 / p, rel=1e-7)


def test_egreedy_episode_length_leaves_mdp_untouched(maze):
    q_star = GroundTruth.of(maze, GAMMA).q_star
    before = maze.reward.copy()
    egreedy_episode_length(maze, q_star, 0.1)
    np.testing.assert_array_equal(maze.reward, before)
    assert GroundTruth.of(maze, GAMMA).v_star_start == pytest.approx(GAMMA**13, abs=1e-12)
