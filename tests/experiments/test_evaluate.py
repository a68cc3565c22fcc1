"""Greedy episodes of saved agents: tabular and deep, step limits, one ConfigError line."""

import pytest

from dynaq import ConfigError, DynaQ, RunConfig
from dynaq.experiments.evaluate import evaluate_agent
from dynaq.experiments.runner import train_agent
from dynaq.saving import save_agent


def test_evaluate_agent_runs_greedy_episodes(tmp_path):
    agent = train_agent(RunConfig(env="dynaq/DynaMaze-v0", planning_steps=50, episodes=30))
    save_agent(agent, tmp_path / "a")
    result = evaluate_agent(tmp_path / "a", "dynaq/DynaMaze-v0", episodes=3, seed=1)
    assert list(result.columns) == ["episode", "return", "steps", "truncated"]
    assert list(result["episode"]) == [1, 2, 3]
    # greedy in a deterministic maze: the same path every time, to the goal, ≥ 14 steps
    assert list(result["return"]) == [1.0] * 3 and not result["truncated"].any()
    assert result["steps"].nunique() == 1 and result["steps"].iloc[0] >= 14
    with pytest.raises(ConfigError, match="sizes .* the saved agent needs"):
        evaluate_agent(tmp_path / "a", "FrozenLake-v1", episodes=1)
    with pytest.raises(ConfigError, match="^episodes must be an integer >= 1"):
        evaluate_agent(tmp_path / "a", "dynaq/DynaMaze-v0", episodes=0)


def test_max_episode_steps_cuts_episodes(tmp_path):
    save_agent(DynaQ(47, 4), tmp_path / "a")  # all-zero Q: random ties, far from the goal
    result = evaluate_agent(tmp_path / "a", "dynaq/DynaMaze-v0", episodes=2,
                            max_episode_steps=5)
    assert list(result["steps"]) == [5, 5] and result["truncated"].all()


def test_deep_agents_are_evaluated(tmp_path):
    pytest.importorskip("torch")
    from dynaq.deep import DQN, DeepConfig

    save_agent(DQN(4, 2, DeepConfig(hidden=(16,))), tmp_path / "deep")
    result = evaluate_agent(tmp_path / "deep", "CartPole-v1", episodes=2, seed=0)
    assert len(result) == 2 and (result["steps"] >= 1).all()
    with pytest.raises(ConfigError, match="sizes"):
        evaluate_agent(tmp_path / "deep", "FrozenLake-v1", episodes=1)
