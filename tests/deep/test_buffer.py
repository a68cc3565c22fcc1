"""The replay buffer: packing, the ring, sampling from an explicit generator."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dynaq.deep.buffer import Batch, ReplayBuffer  # noqa: E402


def filled(capacity, n, obs_dim=3):
    buf = ReplayBuffer(capacity, obs_dim)
    for i in range(n):
        buf.add(np.full(obs_dim, i), i % 2, float(i), np.full(obs_dim, i + 0.5), i % 3 == 0)
    return buf


def test_fields_round_trip_with_shapes_and_dtypes():
    batch = filled(10, 4).all()
    assert batch.obs.shape == (4, 3) and batch.next_obs.shape == (4, 3)
    assert batch.action.dtype == torch.int64 and batch.reward.dtype == torch.float32
    assert batch.action.tolist() == [0, 1, 0, 1]
    assert batch.reward.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert batch.terminated.tolist() == [1.0, 0.0, 0.0, 1.0]
    assert batch.next_obs[:, 0].tolist() == [0.5, 1.5, 2.5, 3.5]


def test_ring_overwrites_the_oldest_and_recent_is_in_order():
    buf = filled(4, 6)
    assert len(buf) == 4
    assert sorted(buf.all().reward.tolist()) == [2.0, 3.0, 4.0, 5.0]
    assert buf.recent(3).reward.tolist() == [3.0, 4.0, 5.0]
    assert buf.recent(10).reward.tolist() == [2.0, 3.0, 4.0, 5.0]


def test_add_batch_wraps_and_keeps_the_newest():
    buf = ReplayBuffer(5, 2)
    rows = 7
    batch = Batch(torch.arange(rows * 2.0).reshape(rows, 2), torch.zeros(rows, dtype=torch.long),
                  torch.arange(float(rows)), torch.zeros(rows, 2), torch.zeros(rows))
    buf.add_batch(batch)
    buf.add_batch(Batch(*(x[:3] for x in batch)))
    assert len(buf) == 5
    assert buf.recent(5).reward.tolist() == [5.0, 6.0, 0.0, 1.0, 2.0]


def test_sampling_depends_only_on_the_generator():
    buf = filled(100, 50)
    a = buf.sample(16, torch.Generator().manual_seed(3))
    b = buf.sample(16, torch.Generator().manual_seed(3))
    c = buf.sample(16, torch.Generator().manual_seed(4))
    assert torch.equal(a.obs, b.obs) and not torch.equal(a.obs, c.obs)
    assert a.obs.shape == (16, 3)
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(3, 1).sample(1, torch.Generator())
