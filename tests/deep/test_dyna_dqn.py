"""Dyna-DQN: k = 0 is DQN exactly; runs are reproducible per seed and differ across seeds."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dynaq.deep.config import DeepConfig  # noqa: E402
from dynaq.deep.dyna_dqn import DynaDQN  # noqa: E402
from dynaq.deep.run import run_deep  # noqa: E402
from dynaq.records import MODEL_ERROR, WALL_S  # noqa: E402

SMALL = DeepConfig(hidden=(16, 16), learning_starts=64, batch_size=16, target_period=20,
                   epsilon_decay_steps=200, buffer_capacity=1000, model_hidden=(16,),
                   model_train_period=50, model_gradient_steps=3, model_batch_size=32,
                   imagined_capacity=200)


def run(agent, k, seed, steps=400):
    out = run_deep("CartPole-v1", DeepConfig(**{**SMALL.__dict__, "planning_steps": k}), agent,
                   seed, total_steps=steps)
    return np.delete(out.records, WALL_S, axis=1), out.agent.state_tensors()


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_k0_is_dqn_exactly():
    dqn_records, dqn_weights = run("dqn", 0, seed=3)
    dyna_records, dyna_weights = run("dyna-dqn", 0, seed=3)
    assert np.array_equal(dqn_records, dyna_records, equal_nan=True)
    assert same_weights(dqn_weights, dyna_weights)


def test_same_seed_same_run_and_other_seeds_differ():
    first, weights = run("dyna-dqn", 3, seed=5)
    again, weights_again = run("dyna-dqn", 3, seed=5)
    other, _ = run("dyna-dqn", 3, seed=6)
    assert np.array_equal(first, again, equal_nan=True) and same_weights(weights, weights_again)
    assert not np.array_equal(first[:, 1], other[:, 1])  # returns
    assert not np.array_equal(first, run("dyna-dqn", 0, seed=5)[0], equal_nan=True)
    assert np.isfinite(first[-1, MODEL_ERROR])  # measured from the second model fit on


def test_imagination_fills_its_buffer_k_per_step_and_mixes_batches():
    cfg = DeepConfig(**{**SMALL.__dict__, "planning_steps": 4, "imagined_ratio": 0.25,
                        "train_period": 1})
    agent = DynaDQN(4, 2, cfg, seed=0)
    obs = np.zeros(4, np.float32)
    for step in range(1, 71):
        agent.observe(obs + step, step % 2, 1.0, obs + step + 1, False)
        agent.plan()
    assert agent.model_fits == 1  # the first fit comes at learning_starts = 64
    assert len(agent.imagined) == 4 * (70 - 64 + 1)
    batch = agent.sample_batch()
    assert batch.obs.shape == (16, 4) and agent.grad_steps == 7
    # 12 real rows then 4 imagined ones, whose start states are real observations
    assert torch.all(batch.obs[12:] >= 1) and torch.all(batch.obs[12:] <= 70)
