"""Greedy episodes of saved agents: tabular and deep, step limits, one ConfigError line."""

import gymnasium as gym
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


ROOM = ["#######", "#S..#G#", "#.#...#", "#...C.#", "#######"]


def _saved(tmp_path, env="dynaq/GridWorld-v0", env_kwargs=None, name="a"):
    run = RunConfig(env=env, env_kwargs=env_kwargs or {"desc": ROOM}, planning_steps=20,
                    episodes=30)
    return save_agent(train_agent(run), tmp_path / name, env=run.env, env_kwargs=run.env_kwargs)


def test_the_saved_env_and_its_kwargs_are_evaluated_on_by_default(tmp_path):
    path = _saved(tmp_path)
    own = evaluate_agent(path, episodes=2, seed=3)
    given = evaluate_agent(path, "dynaq/GridWorld-v0", episodes=2, seed=3,
                           env_kwargs={"desc": ROOM})
    assert own.equals(given) and (own["return"] == 1.0).all()
    env = gym.make("dynaq/GridWorld-v0", desc=ROOM)
    assert evaluate_agent(path, env, episodes=2, seed=3).equals(own)  # an env object
    env.step(0)  # it is the caller's, and left open
    with pytest.raises(ConfigError, match="records no env"):
        evaluate_agent(save_agent(DynaQ(47, 4), tmp_path / "old"))


def test_render_draws_the_greedy_episode_step_by_step(tmp_path):
    from dynaq.experiments.evaluate import render_greedy_episode

    path = _saved(tmp_path)
    frames = render_greedy_episode(path, seed=3)
    steps = evaluate_agent(path, episodes=1, seed=3)["steps"].iloc[0]
    assert len(frames) == steps + 1  # the start, then one frame a step
    assert all(len(f.strip().splitlines()) == len(ROOM) for f in frames)
    assert frames[0] != frames[1]
    with pytest.raises(ConfigError, match="cannot render as text; its render modes: rgb_array"):
        render_greedy_episode(save_agent(DynaQ(16, 4), tmp_path / "t"), "dynaq_tests/NoText-v0")


class _NoText(gym.Env):
    """A Discrete env that renders only images."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, render_mode=None):
        self.observation_space = gym.spaces.Discrete(16)
        self.action_space = gym.spaces.Discrete(4)
        self.render_mode = render_mode

    def reset(self, *, seed=None, options=None):
        return 0, {}

    def step(self, action):
        return 0, 0.0, True, False, {}


gym.register("dynaq_tests/NoText-v0", entry_point=_NoText)


def test_cli_evaluate_knows_its_env_and_renders(tmp_path, capsys):
    from dynaq.cli import main

    out = tmp_path / "o"
    assert main(["run", "--env", "dynaq/DynaMaze-v0", "--episodes", "20", "--seeds", "1",
                 "--quiet", "--out", str(out), "--save-agent"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out / "agents" / "dyna-q-k=50"), "--render", "--episodes",
                 "1"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("start\n") and "step 1\n" in printed and "G" in printed
    assert "mean return 1 over 1 greedy episodes" in printed
    assert main(["evaluate", str(out / "agents" / "dyna-q-k=50"), "--env-kwargs", "x=1"]) == 2
    assert "give --env with them" in capsys.readouterr().err
