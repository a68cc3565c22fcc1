"""Sample updates with sample averages (§8.5) on the kernel's random tasks."""

import numpy as np

from dynaq.kernels.sample_vs_expected import sample_update_errors
from dynaq.rng import make_states


def test_the_error_starts_at_one_and_one_successor_is_learned_in_one_update():
    counts = np.array([0, 1, 5])
    errors = sample_update_errors(1, counts, make_states(range(4)))
    assert errors.shape == (4, 3)
    assert np.allclose(errors[:, 0], 1.0) and np.allclose(errors[:, 1:], 0.0)


def test_tasks_are_their_streams_whatever_else_runs():
    counts = np.array([0, 3, 10])
    both = sample_update_errors(10, counts, make_states([0, 1]))
    assert np.array_equal(both[1:], sample_update_errors(10, counts, make_states([1])))
