"""The replay buffer: packing, the ring, sampling from explicit generators, one ring per seed."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dynaq.deep.buffer import Batch, ReplayBuffer  # noqa: E402


def filled(capacity, n, obs_dim=3):
    buf = ReplayBuffer(capacity, obs_dim)
    for i in range(n):
        buf.add(np.full(obs_dim, i), i % 2, float(i), np.full(obs_dim, i + 0.5), i % 3 == 0)
    return buf


def gens(*seeds):
    return [torch.Generator().manual_seed(s) for s in seeds]


def test_fields_round_trip_with_shapes_and_dtypes():
    batch = filled(10, 4).all()
    assert batch.obs.shape == (1, 4, 3) and batch.next_obs.shape == (1, 4, 3)
    assert batch.action.dtype == torch.int64 and batch.reward.dtype == torch.float32
    assert batch.action[0].tolist() == [0, 1, 0, 1]
    assert batch.reward[0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert batch.terminated[0].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert batch.next_obs[0, :, 0].tolist() == [0.5, 1.5, 2.5, 3.5]


def test_ring_overwrites_the_oldest_and_recent_is_in_order():
    buf = filled(4, 6)
    assert len(buf) == 4
    assert sorted(buf.all().reward[0].tolist()) == [2.0, 3.0, 4.0, 5.0]
    assert buf.recent(3).reward[0].tolist() == [3.0, 4.0, 5.0]
    assert buf.recent(10).reward[0].tolist() == [2.0, 3.0, 4.0, 5.0]


def rows(n, start=0.0):
    return Batch(torch.arange(start, start + n * 2.0).reshape(1, n, 2),
                 torch.zeros(1, n, dtype=torch.long), torch.arange(start, start + n)[None],
                 torch.zeros(1, n, 2), torch.zeros(1, n))


def test_add_batch_wraps_and_keeps_the_newest():
    buf = ReplayBuffer(5, 2)
    batch = rows(7)
    buf.add_batch(batch)
    buf.add_batch(Batch(*(x[:, :3] for x in batch)))
    assert len(buf) == 5
    assert buf.recent(5).reward[0].tolist() == [5.0, 6.0, 0.0, 1.0, 2.0]


def test_add_batch_keeps_only_the_rows_asked_for_each_seed_its_own():
    buf = ReplayBuffer(10, 2, seeds=2)
    both = Batch(*(torch.cat([x, x]) for x in rows(4)))
    buf.add_batch(both, keep=torch.tensor([[True, False, True, False], [False] * 4]))
    assert buf.sizes == [2, 0] and len(buf) == 0
    assert buf.rows[0, :2, 3].tolist() == [0.0, 2.0]  # the rewards kept: [s | a | r | ...]
    with pytest.raises(ValueError, match="different numbers"):
        buf.all()


def test_sampling_depends_only_on_the_generator():
    buf = filled(100, 50)
    a = buf.sample(16, gens(3))
    b = buf.sample(16, gens(3))
    c = buf.sample(16, gens(4))
    assert torch.equal(a.obs, b.obs) and not torch.equal(a.obs, c.obs)
    assert a.obs.shape == (1, 16, 3)
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(3, 1).sample(1, gens(0))


def test_seeds_side_by_side_each_sample_as_alone():
    """Two seeds' rings in one buffer: each seed's rows and draws are those of a buffer of its
    own (lockstep seeds, :mod:`dynaq.deep.run`)."""
    pair, alone = ReplayBuffer(8, 3, seeds=2), [ReplayBuffer(8, 3) for _ in range(2)]
    for i in range(11):
        obs = np.stack([np.full(3, i), np.full(3, -i)])
        pair.add(obs, [i % 2, 1], [float(i), -1.0], obs + 0.5, [False, i == 4])
        for s in range(2):
            alone[s].add(obs[s], [i % 2, 1][s], [float(i), -1.0][s], obs[s] + 0.5,
                         [False, i == 4][s])
    together = pair.sample(5, gens(7, 8))
    for s, seed in enumerate((7, 8)):
        own = alone[s].sample(5, gens(seed))
        assert all(torch.equal(x[s], y[0]) for x, y in zip(together, own, strict=True))
    with pytest.raises(ValueError, match="obs must have 3 numbers"):
        pair.add(np.zeros((2, 2)), [0, 0], [0.0, 0.0], np.zeros((2, 2)), [False, False])
