"""Cells → records: compiled runs on envs with P, the agent API on envs without."""

import gymnasium as gym
import numpy as np
import pytest

from dynaq import ConfigError, RunConfig, run_cells
from dynaq.envs.maps import SINGLE_PATH_9X9
from dynaq.experiments.runner import RunnerEnv, train_agent, validate
from dynaq.kernels import run as K
from dynaq.metrics import q_is_near_optimal
from dynaq.records import N_FIELDS, WALL_S


class ChainNoModel(gym.Env):
    """A 5-state chain with Discrete spaces and no P: only the step API can run it."""

    observation_space = gym.spaces.Discrete(5)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = 0
        return self.s, {}

    def step(self, action):
        self.s = min(self.s + 1, 4) if action == 1 else max(self.s - 1, 0)
        done = self.s == 4
        return self.s, float(done), done, False, {}


gym.register("dynaq_tests/ChainNoModel-v0", entry_point=ChainNoModel, max_episode_steps=100)


def test_unknown_env_gives_gymnasiums_hint_then_the_dynaq_ids():
    with pytest.raises(ConfigError, match="got 'NoSuchEnv-v9': Environment `NoSuchEnv` "
                                          "doesn't exist.*dynaq ids: dynaq/DynaMaze-v0"):
        validate(RunConfig(env="NoSuchEnv-v9"))


def test_tabular_agent_on_continuous_env_is_refused():
    with pytest.raises(ConfigError, match="Discrete observation and action spaces"):
        validate(RunConfig(env="CartPole-v1"))


def test_env_without_model_runs_stepwise_without_ground_truth():
    cells = run_cells(RunConfig(env="dynaq_tests/ChainNoModel-v0", planning_steps=5,
                                episodes=10), [0, 1])
    rec = cells[0].records
    assert rec.shape == (10, N_FIELDS)
    assert np.isnan(rec[:, K.VALUE_ERROR]).all() and np.isnan(cells[0].v_star_start).all()
    assert np.array_equal(np.cumsum(rec[:, K.STEPS]), rec[:, K.ENV_STEPS])
    again = run_cells(RunConfig(env="dynaq_tests/ChainNoModel-v0", planning_steps=5,
                                episodes=10), [0])
    assert np.array_equal(again[0].records[:, K.STEPS], rec[:, K.STEPS])
    assert not np.array_equal(cells[1].records[:, K.STEPS], rec[:, K.STEPS])


def test_gymnasium_time_limit_truncates_compiled_runs():
    cells = run_cells(RunConfig(env="FrozenLake-v1", planning_steps=5, episodes=200), [0])
    rec = cells[0].records
    assert rec[:, K.STEPS].max() <= 100  # FrozenLake-v1 is registered with 100 steps
    assert np.all(rec[rec[:, K.TRUNCATED] == 1, K.STEPS] == 100)


def test_until_near_optimal_extends_each_seed_until_it_is():
    run = RunConfig(env="dynaq/SinglePath9x9-v0", planning_steps=50, episodes=4,
                    until_near_optimal=True)
    cells = run_cells(run, [0, 1, 2])
    for cell in cells:
        assert len(cell.records) >= 4 and len(cell.records) % 4 == 0
        assert q_is_near_optimal(cell.records[-1, K.VALUE_ERROR], cell.v_star_start[-1])
    # a seed's result does not depend on the seeds run beside it
    alone = run_cells(run, [1])[0]
    assert np.array_equal(alone.records[:, K.STEPS], cells[1].records[:, K.STEPS])


def test_total_steps_runs():
    cells = run_cells(RunConfig(episodes=None, total_steps=500, planning_steps=5), [0])
    rec = cells[0].records
    assert rec[-1, K.ENV_STEPS] == 500 and rec[:, K.STEPS].sum() == 500


def test_total_steps_on_a_world_with_short_episodes_in_small_calls(monkeypatch):
    import dynaq.experiments.runner as runner

    run = RunConfig(env="FrozenLake-v1", episodes=None, total_steps=3000, planning_steps=5)
    whole = run_cells(run, [0, 1, 2])
    monkeypatch.setattr(runner, "RECORDS_BYTES", 1)  # forces one seed per compiled call
    split = run_cells(run, [0, 1, 2])
    for a, b in zip(whole, split, strict=True):
        assert a.records[-1, K.ENV_STEPS] == 3000
        assert np.array_equal(a.records[:, K.STEPS], b.records[:, K.STEPS])


@pytest.mark.parametrize(("given", "registered"), [
    (("FrozenLake-v1", {"is_slippery": False}), "dynaq/FrozenLakeNotSlippery-v0"),
    (("dynaq/GridWorld-v0", {"desc": list(SINGLE_PATH_9X9)}), "dynaq/SinglePath9x9-v0"),
])
def test_env_kwargs_make_the_env_they_describe(given, registered):
    env, kwargs = given
    run = RunConfig(env=env, env_kwargs=kwargs, planning_steps=5, episodes=8)
    mine = run_cells(run, [0, 1])
    theirs = run_cells(RunConfig(env=registered, planning_steps=5, episodes=8), [0, 1])
    for a, b in zip(mine, theirs, strict=True):
        keep = [i for i in range(a.records.shape[1]) if i != WALL_S]
        np.testing.assert_array_equal(a.records[:, keep], b.records[:, keep])
        np.testing.assert_array_equal(a.Q, b.Q)
    default = run_cells(RunConfig(env=env, planning_steps=5, episodes=8), [0])[0]
    assert not np.array_equal(default.records[:, 0], mine[0].records[:, 0])  # the steps


def test_env_kwargs_an_env_does_not_take_are_refused_by_validate():
    with pytest.raises(ConfigError, match="env_kwargs: FrozenLake-v1 takes no keyword 'slip'"):
        validate(RunConfig(env="FrozenLake-v1", env_kwargs={"slip": 0.1}))


@pytest.mark.parametrize("env", ["dynaq/SlipperyCliff-v0", "FrozenLake-v1",
                                 "dynaq/ShortcutMaze-v0"])
@pytest.mark.parametrize("settings", [{"agent": "dyna-q"}, {"agent": "dyna-q", "model": "counts"},
                                      {"agent": "dyna-q+"}, {"agent": "prioritized-sweeping"},
                                      {"agent": "replay"}])
def test_the_saved_agent_is_the_stored_run_in_stochastic_and_changing_worlds(env, settings):
    """--save-agent trains through the step API on the runner's own world (RunnerEnv): the
    agent it saves has the stored cell's very Q, where the env's own draws would differ."""
    budget = {"total_steps": 1500, "episodes": None} if "Shortcut" in env else {"episodes": 25}
    run = RunConfig(env=env, planning_steps=5, **settings, **budget)
    for seed in (0, 3):
        cell = run_cells(run, [seed])[0]
        np.testing.assert_array_equal(train_agent(run, seed).Q, cell.Q)


def test_runner_env_draws_the_stored_episodes_where_the_gymnasium_env_does_not():
    from dynaq.agents import DynaQ, DynaQConfig
    from dynaq.agents.loop import run_episodes
    from dynaq.envs.make import env_model, make_env
    from dynaq.rng import gym_seed

    run = RunConfig(env="dynaq/SlipperyCliff-v0", planning_steps=5, episodes=12)
    stored = run_cells(run, [0])[0].records[:, 0]
    mdp, _ = env_model(run.env)
    lengths = {}
    for name, env in (("runner", RunnerEnv(mdp, 0)), ("gymnasium", make_env(run.env))):
        agent = DynaQ.for_env(env, DynaQConfig(planning_steps=5), seed=0)
        lengths[name] = [e.steps for e in run_episodes(agent, env, episodes=12,
                                                       seed=gym_seed(0))]
    np.testing.assert_array_equal(lengths["runner"], stored)
    assert lengths["gymnasium"] != lengths["runner"]  # its own np_random: other outcomes


@pytest.mark.parametrize("run", [
    # a tenth of a second or more of compiled work in one cell
    RunConfig(env="dynaq/DynaMaze-x4-v0", planning_steps=5000, episodes=200),
    RunConfig(env="dynaq/DynaMaze-x4-v0", planning_steps=5000, total_steps=20_000,
              episodes=None),
    RunConfig(env="dynaq_tests/ChainNoModel-v0", planning_steps=5, episodes=3000),
    RunConfig(env="CartPole-v1", agent="dqn", hidden=(16,), episodes=40),
])
def test_progress_is_told_from_within_long_cells(run, monkeypatch):
    from dynaq.experiments import runner

    monkeypatch.setattr(runner, "PROGRESS_PERIOD_S", 0.005)
    told = []
    cells = run_cells(run, [0], progress=told.append)
    assert told, "no progress was told during a long cell"
    assert all(0 <= a <= b <= 1 for a, b in zip(told, told[1:], strict=False))
    assert any(0 < x < 1 for x in told)  # within the cell, not only at its end
    again = run_cells(run, [0])  # watching changes nothing
    keep = [i for i in range(N_FIELDS) if i != WALL_S]
    np.testing.assert_array_equal(cells[0].records[:, keep], again[0].records[:, keep])
