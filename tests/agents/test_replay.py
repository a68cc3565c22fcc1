"""Tabular replay: k = 0 is Q-learning, the step API equals the compiled runner, and the
buffer's capacity is honoured."""

import gymnasium as gym
import numpy as np
import pytest

import dynaq
from dynaq import ConfigError, RunConfig, run_cells
from dynaq.agents import AGENTS, Replay, ReplayConfig, run_episodes
from dynaq.kernels import run as K


def step_api(config, seed, episodes, env_id="dynaq/DynaMaze-v0"):
    env = gym.make(env_id)
    agent = Replay.for_env(env, config, seed=seed)
    return [e.steps for e in run_episodes(agent, env, episodes=episodes, seed=seed)], agent


LEARNING = [K.STEPS, K.RETURN, K.ENV_STEPS, K.BACKUPS, K.VALUE_ERROR, K.POLICY_VALUE,
            K.TRUNCATED, K.MODEL_COVERAGE]
"""Record columns besides the wall time and the model errors (replay keeps no model)."""


def test_registered():
    assert AGENTS["replay"] is Replay


def test_k0_is_q_learning_bitwise():
    q = run_cells(RunConfig(agent="q-learning", episodes=12), [0, 1])
    r = run_cells(RunConfig(agent="replay", planning_steps=0, episodes=12), [0, 1])
    for a, b in zip(q, r, strict=True):
        assert np.array_equal(a.Q, b.Q)
        assert np.array_equal(a.records[:, LEARNING], b.records[:, LEARNING])
        assert np.isnan(b.records[:, K.MODEL_ERROR]).all()


@pytest.mark.parametrize("buffer_size", [50, 100_000])
def test_step_api_equals_compiled_runner(buffer_size):
    run = RunConfig(agent="replay", planning_steps=5, buffer_size=buffer_size, episodes=6)
    for cell in run_cells(run, [0, 3]):
        lengths, agent = step_api(run.agent_config(), cell.seed, 6)
        assert lengths == list(cell.records[:, K.STEPS].astype(int))
        assert np.array_equal(agent.Q, cell.Q)
        assert agent.backups == cell.records[-1, K.BACKUPS]
        assert len(agent) == min(buffer_size, cell.records[-1, K.ENV_STEPS])


def test_same_seed_same_run_different_seed_differs():
    run = RunConfig(agent="replay", planning_steps=5, episodes=5)
    a, b = run_cells(run, [0, 1]), run_cells(run, [0, 1])
    assert np.array_equal(a[0].Q, b[0].Q) and not np.array_equal(a[0].Q, a[1].Q)


def test_the_docstring_example():
    agent = Replay(3, 2, ReplayConfig(alpha=0.5, planning_steps=4, buffer_size=2))
    assert agent.observe(0, 1, 1.0, 1, True) == 1.0
    assert agent.plan() == 4 and agent.Q[0, 1] == pytest.approx(1 - 0.5 ** 5)


@pytest.mark.parametrize("value", [0, -3, 2.5, True])
def test_buffer_size_must_be_a_positive_integer(value):
    with pytest.raises(ConfigError, match=r"buffer_size must be an integer in \[1, "):
        ReplayConfig(buffer_size=value)


def test_buffer_size_belongs_to_replay():
    assert RunConfig(agent="replay", buffer_size=10).agent_config().buffer_size == 10
    with pytest.raises(ConfigError, match="buffer_size does not apply to agent dyna-q"):
        RunConfig(agent="dyna-q", buffer_size=10)
    with pytest.raises(ConfigError, match="model does not apply to agent replay"):
        RunConfig(agent="replay", model="counts")


def test_learns_cliffwalking_through_gymnasium():
    """Identity-style check: replay (k = 20) learns CliffWalking-v1's optimal policy."""
    _, agent = step_api(ReplayConfig(planning_steps=20), 0, 150, "CliffWalking-v1")
    mdp = dynaq.TabularMDP.from_gymnasium(gym.make("CliffWalking-v1"))
    value = mdp.start_value(mdp.evaluate_policy(dynaq.greedy_policy(agent.Q), 0.95))
    assert value == pytest.approx(dynaq.GroundTruth.of(mdp, 0.95).v_star_start, abs=1e-9)
