"""The step-by-step Dyna-Q agent: same episodes as the compiled runner, k = 0 ≡ Q-learning,
and the learning curve of Sutton & Barto Figure 8.2."""

import gymnasium as gym
import numpy as np
import pytest

import dynaq
from dynaq import ConfigError, DynaQ, DynaQConfig, QLearning, RunConfig, run_cells
from dynaq.agents import run_episodes
from dynaq.kernels import run as K
from dynaq.metrics import GroundTruth, egreedy_episode_length


def step_api_episodes(agent_name, k, seed, episodes, env_id="dynaq/DynaMaze-v0"):
    env = gym.make(env_id)
    agent = dynaq.AGENTS[agent_name].for_env(env, DynaQConfig(planning_steps=k), seed=seed)
    return [e.steps for e in run_episodes(agent, env, episodes=episodes, seed=seed)], agent


@pytest.mark.parametrize("k", [0, 5, 50])
def test_step_api_equals_compiled_runner(k):
    cells = run_cells(RunConfig(env="dynaq/DynaMaze-v0", planning_steps=k, episodes=8), [0, 1])
    for seed, cell in zip([0, 1], cells, strict=True):
        lengths, agent = step_api_episodes("dyna-q", k, seed, 8)
        assert lengths == list(cell.records[:, K.STEPS].astype(int))
        assert np.array_equal(agent.Q, cell.Q)
        assert agent.backups == cell.records[-1, K.BACKUPS]


def test_k0_is_q_learning_bitwise():
    q = run_cells(RunConfig(agent="q-learning", episodes=15), [0, 1, 2])
    d = run_cells(RunConfig(agent="dyna-q", planning_steps=0, episodes=15), [0, 1, 2])
    for a, b in zip(q, d, strict=True):
        assert np.array_equal(a.Q, b.Q)
        assert np.array_equal(np.delete(a.records, K.WALL_S, axis=1),
                              np.delete(b.records, K.WALL_S, axis=1), equal_nan=True)
    lengths_q, agent_q = step_api_episodes("q-learning", 0, 4, 5)
    lengths_d, agent_d = step_api_episodes("dyna-q", 0, 4, 5)
    assert lengths_q == lengths_d and np.array_equal(agent_q.Q, agent_d.Q)


def test_q_learning_refuses_planning_steps():
    with pytest.raises(ConfigError, match="planning_steps must be 0 for q-learning"):
        QLearning(4, 2, DynaQConfig(planning_steps=3))


def test_for_env_needs_discrete_spaces():
    with pytest.raises(ConfigError, match="agent dyna-q needs Discrete observation and action"):
        DynaQ.for_env(gym.make("CartPole-v1"))


@pytest.mark.parametrize("field, value", [("alpha", 0.0), ("alpha", 1.5), ("gamma", -0.1),
                                          ("gamma", 1.01), ("epsilon", 2.0),
                                          ("planning_steps", -1), ("planning_steps", 1.5)])
def test_config_rejects_out_of_range(field, value):
    with pytest.raises(ConfigError, match=field):
        DynaQConfig(**{field: value})


def test_observe_then_plan_counts_and_uses_the_model():
    agent = DynaQ(3, 2, DynaQConfig(alpha=0.5, gamma=0.9, planning_steps=10), seed=0)
    assert agent.plan() == 0  # nothing seen yet: no made-up backups
    agent.observe(0, 1, 1.0, 1, True)
    assert agent.Q[0, 1] == pytest.approx(0.5)
    assert agent.model.predict(0, 1) == (1, 1.0, True)
    assert agent.plan() == 10
    # ten more backups of the same terminal transition: Q = 1 - 0.5 ** 11
    assert agent.Q[0, 1] == pytest.approx(1 - 0.5 ** 11)
    assert agent.backups == 11
    with pytest.raises(KeyError):
        agent.model.predict(2, 0)


def test_same_seed_same_agent_different_seed_differs():
    a = step_api_episodes("dyna-q", 5, 0, 4)[0]
    b = step_api_episodes("dyna-q", 5, 0, 4)[0]
    c = step_api_episodes("dyna-q", 5, 1, 4)[0]
    assert a == b and a != c


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learns_cliffwalking_exactly_through_gymnasium(seed):
    """Identity-style check: 150 episodes of Dyna-Q (k = 20) on Gymnasium's CliffWalking-v1
    give the optimal greedy policy and Q within 1e-3 of Q* on every reachable state."""
    _, agent = step_api_episodes("dyna-q", 20, seed, 150, env_id="CliffWalking-v1")
    mdp = dynaq.TabularMDP.from_gymnasium(gym.make("CliffWalking-v1"))
    truth = GroundTruth.of(mdp, 0.95)
    value = mdp.start_value(mdp.evaluate_policy(dynaq.greedy_policy(agent.Q), 0.95))
    assert value == pytest.approx(truth.v_star_start, abs=1e-9)
    assert truth.value_error(agent.Q) < 1e-3


def test_figure_8_2_curve_shape_over_30_seeds():
    """k = 50 is near the ε-greedy floor by episode 3; k = 0 is far from it at episode 10."""
    mdp, _ = dynaq.experiments.runner.env_model("dynaq/DynaMaze-v0")
    floor = egreedy_episode_length(mdp, GroundTruth.of(mdp, 0.95).q_star, 0.1)
    mean = {}
    for k in (0, 5, 50):
        cells = run_cells(RunConfig(planning_steps=k, episodes=20), range(30))
        mean[k] = np.mean([c.records[:, K.STEPS] for c in cells], axis=0)
    assert floor == pytest.approx(15.9, abs=0.1)
    assert mean[50][2] < 1.35 * floor  # episode 3
    assert mean[0][9] > 3 * floor  # episode 10
    assert mean[5][9] < 1.35 * floor
    assert mean[0][1] > mean[5][1] > mean[50][1]  # episode 2: more planning, faster
