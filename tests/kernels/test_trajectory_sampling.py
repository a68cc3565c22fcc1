"""Trajectory sampling vs uniform expected updates (§8.6) on the kernels' random tasks."""

import numpy as np

from dynaq.kernels.trajectory_sampling import random_task, start_values
from dynaq.rng import make_state, make_states


def test_a_random_task_has_b_distinct_equally_likely_successors_per_pair():
    offsets, next_state, prob, reward = random_task(50, 3, make_state(0))
    assert np.array_equal(offsets, np.arange(0, 50 * 2 * 3 + 1, 3))
    pairs = next_state.reshape(-1, 3)
    assert all(len(set(row)) == 3 for row in pairs) and pairs.max() < 50
    assert np.allclose(prob, 1 / 3) and abs(reward.std() - 0.9) < 0.1  # 0.9 · N(0, 1)


def test_on_policy_is_faster_early_and_uniform_better_late():
    """8 random tasks per panel: trajectory sampling ahead after a quarter of a sweep;
    uniform ahead after ten sweeps at b = 3 and 10; the early lead of 10000 states with
    b = 1 large."""
    def values(n_states, b, n_updates, checkpoint):
        out = start_values(n_states, b, n_updates, checkpoint, make_states(range(8)))
        return out.mean(axis=0)  # [method, checkpoint]; method 0 uniform, 1 on-policy
    for b in (1, 3):
        uniform, on_policy = values(1000, b, 500, 500)[:, 1]  # a quarter of a sweep
        assert on_policy > uniform
    for b in (3, 10):
        uniform, on_policy = values(1000, b, 20_000, 20_000)[:, 1]  # ten sweeps
        assert uniform > on_policy
    uniform, on_policy = values(10_000, 1, 5000, 5000)[:, 1]
    assert on_policy > 2 * uniform
