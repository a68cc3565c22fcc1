"""DQN: the update rule against targets worked out by hand on a 2-state toy."""

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dynaq.deep.buffer import Batch  # noqa: E402
from dynaq.deep.config import DeepConfig  # noqa: E402
from dynaq.deep.dqn import DQN, q_learning_target, td_loss  # noqa: E402
from dynaq.errors import ConfigError  # noqa: E402

Q_TABLE = np.array([[1.0, 3.0], [2.0, 5.0]])
"""Q(s, a) of the toy: two states (one-hot), two actions."""


def toy_agent(**overrides):
    """A DQN whose network computes exactly Q_TABLE on one-hot states: a 2-unit ReLU layer
    that copies the input, then a linear layer holding the table."""
    cfg = DeepConfig(hidden=(2,), gamma=0.9, learning_starts=0, batch_size=2, **overrides)
    agent = DQN(2, 2, cfg, seed=0)
    with torch.no_grad():
        for net in (agent.q, agent.target):
            for p in (*net.weights, *net.biases):
                p.zero_()  # the padding too (see BatchedMLP)
            net.weights[0][0, :2, :2].copy_(torch.eye(2))
            net.weights[1][0, :2, :2].copy_(torch.tensor(Q_TABLE, dtype=torch.float32))
    return agent


EYE = torch.eye(2)[None]
"""The two one-hot states, as a batch of one seed."""


def toy_batch(terminated):
    """(s0, a1, r = 1, s1), and (s1, a0, r = 0, s0), of one seed."""
    eye = torch.eye(2)
    return Batch(eye[[0, 1]][None], torch.tensor([[1, 0]]), torch.tensor([[1.0, 0.0]]),
                 eye[[1, 0]][None], torch.tensor([[float(terminated), 0.0]]))


def test_target_and_huber_loss_by_hand():
    agent = toy_agent()
    assert np.allclose(agent.q_values(np.eye(2)), Q_TABLE)
    for terminated, first_target in ((False, 1 + 0.9 * 5.0), (True, 1.0)):
        batch = toy_batch(terminated)
        target = q_learning_target(batch.reward, batch.terminated, agent.target(batch.next_obs),
                                   0.9)
        # second transition: 0 + 0.9 * max(1, 3) = 2.7
        assert torch.allclose(target, torch.tensor([[first_target, 2.7]]))
        # Q(s0, a1) = 3, Q(s1, a0) = 2; Huber(δ) = δ²/2 if |δ| <= 1 else |δ| - 1/2
        errors = [3.0 - first_target, 2.0 - 2.7]
        huber = np.mean([e * e / 2 if abs(e) <= 1 else abs(e) - 0.5 for e in errors])
        loss = td_loss(agent.q(batch.obs), batch.action, target)
        assert float(loss.detach()) == pytest.approx(huber, rel=1e-6)
        assert float(toy_agent().update(batch)) == pytest.approx(huber, rel=1e-6)


def test_update_moves_q_towards_the_target_and_syncs_the_target_net():
    agent = toy_agent(target_period=2, lr=0.01)
    batch = toy_batch(False)
    agent.update(batch)
    q = agent.q_values(np.eye(2))
    assert q[0, 1] > 3.0 and q[1, 0] > 2.0  # both targets (5.5, 2.7) lie above
    assert np.allclose(agent.target(EYE).numpy(), Q_TABLE)  # not synced yet
    agent.update(batch)
    assert np.array_equal(agent.target(EYE).detach().numpy(), agent.q(EYE).detach().numpy())
    assert agent.grad_steps == agent.backups == 2  # a backup of a neural Q: a gradient step


def test_soft_target_update_is_a_polyak_average():
    agent = toy_agent(tau=0.25)
    before = [p.clone() for p in agent.target.parameters()]
    with torch.no_grad():
        for p in agent.q.parameters():
            p.add_(1.0)
    agent.sync_target()
    for old, new, online in zip(before, agent.target.parameters(), agent.q.parameters(),
                                strict=True):
        assert torch.allclose(new, 0.75 * old + 0.25 * online)


def test_act_explores_then_exploits_and_plan_waits_for_learning_starts():
    cfg = DeepConfig(hidden=(8,), epsilon_start=1.0, epsilon_end=0.0, epsilon_decay_steps=1,
                     learning_starts=3, batch_size=2, updates_per_step=1)
    agent = DQN(2, 2, cfg, seed=1)
    assert agent.epsilon == 1.0
    obs = np.array([1.0, 0.0], np.float32)
    for step in range(3):
        agent.observe(obs, 0, 1.0, obs, False)
        assert agent.plan() == (1 if step == 2 else 0)
    assert agent.epsilon == 0.0 and agent.act(obs) == agent.greedy(obs)


def test_for_env_needs_a_vector_observation_and_discrete_actions():
    assert DQN.for_env(gym.make("CartPole-v1"), DeepConfig(hidden=(4,))).obs_dim == 4
    with pytest.raises(ConfigError, match="needs a 1-D Box observation"):
        DQN.for_env(gym.make("FrozenLake-v1"))
    with pytest.raises(ConfigError, match="planning_steps must be 0 for dqn"):
        DQN(2, 2, DeepConfig(planning_steps=1))
