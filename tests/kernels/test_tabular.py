"""Hand-worked backups (rlax style) and action selection of dynaq.kernels.tabular."""

import numpy as np
import pytest

from dynaq import rng
from dynaq.kernels.tabular import egreedy_action, greedy_action, q_backup


def test_q_backup_by_hand():
    Q = np.zeros((3, 2))
    Q[1] = [0.5, 2.0]
    Q[0, 1] = 1.0
    # target = r + γ max_a Q[1, a] = 1 + 0.9 * 2 = 2.8; td = 2.8 - 1 = 1.8; Q += 0.5 * 1.8
    td = q_backup(Q, 0, 1, 1.0, 1, False, 0.5, 0.9)
    assert td == pytest.approx(1.8)
    assert Q[0, 1] == pytest.approx(1.9)
    assert Q[0, 0] == 0.0 and list(Q[1]) == [0.5, 2.0]


def test_terminal_transition_bootstraps_zero():
    Q = np.zeros((2, 2))
    Q[1] = [5.0, 7.0]  # must be ignored: the episode ends on this transition
    td = q_backup(Q, 0, 0, 1.0, 1, True, 0.1, 0.95)
    # target = r = 1; Q[0, 0] = 0 + 0.1 * (1 - 0) = 0.1
    assert td == pytest.approx(1.0)
    assert Q[0, 0] == pytest.approx(0.1)


def test_repeated_backups_converge_to_fixed_point():
    Q = np.zeros((2, 1))
    for _ in range(500):
        q_backup(Q, 0, 0, 1.0, 0, False, 0.1, 0.5)  # self loop: Q = 1 + 0.5 Q -> 2
    assert Q[0, 0] == pytest.approx(2.0)


def test_greedy_action_breaks_ties_uniformly():
    Q = np.array([[1.0, 3.0, 3.0, 0.0, 3.0]])
    state = rng.make_state(0)
    counts = np.bincount([greedy_action(Q, 0, state) for _ in range(30_000)], minlength=5)
    assert counts[0] == 0 and counts[3] == 0
    assert np.allclose(counts[[1, 2, 4]] / 30_000, 1 / 3, atol=0.015)


def test_greedy_action_unique_max_draws_no_random_number():
    Q = np.array([[0.0, 1.0, 0.5]])
    state = rng.make_state(3)
    before = state.copy()
    assert greedy_action(Q, 0, state) == 1
    assert np.array_equal(state, before)


def test_egreedy_explores_at_rate_epsilon():
    Q = np.array([[0.0, 1.0, 0.0, 0.0]])
    state = rng.make_state(1)
    actions = np.array([egreedy_action(Q, 0, 0.2, state) for _ in range(40_000)])
    # greedy with prob 1 - ε + ε/4 = 0.85, each other action ε/4 = 0.05
    freq = np.bincount(actions, minlength=4) / actions.size
    assert freq == pytest.approx([0.05, 0.85, 0.05, 0.05], abs=0.01)


def test_epsilon_zero_is_greedy():
    Q = np.array([[0.0, 0.0, 2.0]])
    state = rng.make_state(2)
    assert all(egreedy_action(Q, 0, 0.0, state) == 2 for _ in range(100))
