"""The compiled replay buffer: a ring of real transitions replayed by Dyna-Q's own loop."""

import numpy as np
import pytest

from dynaq import rng
from dynaq.kernels import dyna_q as dq
from dynaq.kernels import replay as R


def test_ring_buffer_overwrites_the_oldest():
    buffer = R.new_buffer(4, 2, 3)
    for t in range(5):  # (t % 4, 1) → (t + 1) % 4 with reward t
        R.store(buffer, 2, t % 4, 1, float(t), (t + 1) % 4, False)
    b_int, b_reward, count, held = buffer
    assert count[R.STORED] == 3 and count[R.POSITION] == 2
    assert sorted(b_reward) == [2.0, 3.0, 4.0]  # the transitions of t = 0, 1 left first
    # held: t = 2 (pair 2·2+1 = 5), t = 3 (7), t = 4 (1)
    assert held.tolist() == [0, 1, 0, 0, 0, 1, 0, 1]
    assert b_int[dq.PAIR, 0] == 7 and b_int[dq.NEXT_ROW, 0] == 0  # t = 3 went to slot 0


def test_replay_draws_transitions_uniformly_with_randint():
    """A pair tried three times is replayed three times as often as a pair tried once."""
    state = R.init(3, 1, R.ReplayParams(0.0, 0.0, 0.0, 0, 10))
    for s in (0, 0, 0, 1):
        R.store(state, 1, s, 0, 1.0, 2, True)
    Q = np.zeros((3, 1))
    planned, reference = rng.make_state(4), rng.make_state(4)
    R.plan(Q, state, 20_000, 0, R.ReplayParams(1e-3, 0.9, 0.0, 0, 10), planned)
    picks = np.array([rng.randint(reference, 4) for _ in range(20_000)])
    assert np.array_equal(planned, reference)
    counts = np.log1p(-Q[:2, 0]) / np.log1p(-1e-3)  # backups of a terminal reward-1 step
    assert counts == pytest.approx([np.sum(picks < 3), np.sum(picks == 3)])


def test_an_empty_buffer_replays_nothing():
    state = R.init(2, 2, R.ReplayParams(0.1, 0.9, 0.1, 5, 4))
    Q = np.zeros((2, 2))
    assert R.plan(Q, state, 5, 0, R.ReplayParams(0.1, 0.9, 0.1, 5, 4), rng.make_state(0)) == 0
    assert not Q.any()


def test_coverage_counts_the_pairs_still_held():
    state = R.init(3, 2, R.ReplayParams(0.1, 0.9, 0.1, 0, 2))
    world = None  # diagnose reads only what it holds; no model to compare
    reachable = np.array([True, True, False])
    R.store(state, 2, 0, 0, 0.0, 1, False)
    R.store(state, 2, 1, 1, 0.0, 2, False)
    assert R.diagnose(state, world, 0, reachable, 2)[2] == pytest.approx(2 / 4)
    R.store(state, 2, 1, 1, 0.0, 2, False)  # (0, 0) leaves the buffer
    err, rew, cov = R.diagnose(state, world, 0, reachable, 2)
    assert np.isnan(err) and np.isnan(rew) and cov == pytest.approx(1 / 4)
