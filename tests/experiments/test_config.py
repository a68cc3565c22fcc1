"""Frozen, validated configs, their settings by name, agents by import path, TOML."""

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynaq import (
    ConfigError,
    DynaQConfig,
    DynaQPlusConfig,
    Experiment,
    PrioritizedSweepingConfig,
    RunConfig,
    run_cells,
)
from dynaq.agents.registry import resolve_agent
from dynaq.experiments.config import cell_key, field_docs, known_settings
from dynaq.records import WALL_S


@pytest.mark.parametrize("kwargs, field", [
    ({"agent": "sarsa"}, "agent must be one of q-learning, dyna-q"),
    ({"model": "neural-ish"}, "model must be one of deterministic"),
    ({"alpha": 0}, "alpha must be in \\(0, 1\\]"),
    ({"gamma": 2}, "gamma must be in \\[0, 1\\]"),
    ({"epsilon": -0.5}, "epsilon must be in \\[0, 1\\]"),
    ({"planning_steps": -1}, "planning_steps must be an integer in \\[0, "),
    ({"episodes": 0}, "episodes must be an integer in \\[1, "),
    ({"episodes": None, "total_steps": 0}, "total_steps must be an integer in \\[1, "),
    ({"episodes": None}, "give exactly one of episodes or total_steps"),
    ({"total_steps": 10}, "give exactly one of episodes or total_steps"),
    ({"agent": "q-learning", "planning_steps": 5}, "planning_steps must be 0"),
    ({"max_episode_steps": 0}, "max_episode_steps must be an integer in \\[1, "),
])
def test_bad_values_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        RunConfig(**kwargs)


def test_configs_are_frozen_and_derived_by_replace():
    run = RunConfig(planning_steps=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.planning_steps = 6  # type: ignore[misc]
    other = dataclasses.replace(run, planning_steps=50)
    assert other.key() != run.key() and run.planning_steps == 5


def test_experiment_validation():
    with pytest.raises(ConfigError, match=r"seeds must be an integer in \[1, "):
        Experiment("x", (RunConfig(),), seeds=0)
    with pytest.raises(ConfigError, match="at least one run"):
        Experiment("x", (), seeds=3)
    with pytest.raises(ConfigError, match=r"runs\[1\] repeats runs\[0\]"):
        Experiment("x", (RunConfig(), RunConfig()), seeds=3)


def test_cell_keys_are_stable_and_distinct():
    run = RunConfig(planning_steps=5)
    assert cell_key(run, 3) == cell_key(RunConfig(planning_steps=5), 3)
    assert cell_key(run, 3) != cell_key(run, 4)
    assert cell_key(run, 3) != cell_key(RunConfig(planning_steps=6), 3)


@given(k=st.lists(st.integers(0, 500), min_size=1, max_size=4, unique=True),
       alpha=st.floats(0.01, 1.0), epsilon=st.floats(0.0, 1.0), seeds=st.integers(1, 1000),
       episodes=st.one_of(st.none(), st.integers(1, 10_000)))
def test_toml_round_trip(tmp_path_factory, k, alpha, epsilon, seeds, episodes):
    runs = tuple(RunConfig(planning_steps=n, alpha=alpha, epsilon=epsilon, episodes=episodes,
                           total_steps=None if episodes else 777) for n in k)
    exp = Experiment("round-trip", runs, seeds)
    path = tmp_path_factory.mktemp("toml") / "config.toml"
    path.write_text(exp.to_toml())
    assert Experiment.from_toml(path) == exp
    assert "[versions]" in exp.to_toml() and "numba" in exp.to_toml()


def test_toml_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[runs]]\nplanning_stepz = 3\n")
    with pytest.raises(ConfigError, match="unknown key 'planning_stepz'"):
        Experiment.from_toml(bad)
    bad.write_text("[[runs]\n")
    with pytest.raises(ConfigError, match="bad.toml"):
        Experiment.from_toml(bad)


USER_AGENTS = Path(__file__).parents[1] / "data" / "user_agents"
USER = "user_agents:DynaQExtra"


@pytest.fixture
def user_agents(monkeypatch):
    """``user_agents`` importable, as a user's own module would be."""
    monkeypatch.syspath_prepend(str(USER_AGENTS))


def test_flat_settings_and_the_agents_config_are_one_run():
    flat = RunConfig(agent="dyna-q+", planning_steps=5, kappa=0.01)
    nested = RunConfig(agent="dyna-q+", config=DynaQPlusConfig(kappa=0.01), planning_steps=5)
    assert flat == nested and flat.key() == nested.key()
    assert flat.config == DynaQPlusConfig(planning_steps=5, kappa=0.01) and flat.kappa == 0.01
    assert (RunConfig().kappa, RunConfig().buffer_size) == (1e-3, None)  # what tables show
    with pytest.raises(ConfigError, match="agent dyna-q\\+ needs a DynaQPlusConfig"):
        RunConfig(agent="dyna-q+", config=DynaQConfig())
    with pytest.raises(ConfigError, match="theta does not apply to agent dyna-q; it is used by: "
                                          "prioritized-sweeping"):
        RunConfig(theta=0.5)
    with pytest.raises(ConfigError, match="model does not apply to agent dqn; it is used by: "
                                          "q-learning, dyna-q, prioritized-sweeping"):
        RunConfig(agent="dqn", model="counts")
    assert RunConfig(agent="dqn", model="neural").row()["model"] == "neural"


def test_settings_come_from_the_config_dataclasses():
    settings = known_settings()
    assert list(settings)[:4] == ["alpha", "gamma", "epsilon", "planning_steps"]
    assert settings["theta"].users == ("prioritized-sweeping",)
    assert settings["buffer_size"].neutral is None and settings["kappa"].neutral == 1e-3
    assert field_docs(PrioritizedSweepingConfig)["theta"].startswith("Queue threshold θ")
    assert field_docs(PrioritizedSweepingConfig)["alpha"] == "Step size α, in (0, 1]."
    assert "Queue threshold θ >= 0" in settings["theta"].help()
    assert RunConfig.columns()[:2] == ["env", "agent"] and "config" not in RunConfig.columns()


def test_runs_the_tables_cannot_tell_apart_are_refused():
    one = RunConfig(agent="dqn", episodes=None, total_steps=100)
    other = RunConfig(agent="dqn", episodes=None, total_steps=100, batch_size=32)
    assert one.key() != other.key() and one.row() == other.row()
    with pytest.raises(ConfigError, match=r"runs\[1\] and runs\[0\] differ only in batch_size"):
        Experiment("x", (one, other), 2)


def test_toml_round_trip_of_every_setting(tmp_path):
    runs = (RunConfig(agent="dyna-dqn", planning_steps=2, hidden=(64, 64), episodes=None,
                      total_steps=100),
            RunConfig(agent="prioritized-sweeping", model="counts", planning_steps=3))
    path = tmp_path / "config.toml"
    path.write_text(Experiment("every", runs, 2).to_toml())
    assert "batch_size = 64" in path.read_text()
    assert Experiment.from_toml(path) == Experiment("every", runs, 2)


def test_a_user_agent_by_import_path(user_agents):
    run = RunConfig(agent=USER, planning_steps=5, episodes=4, extra=7, kappa=0.2)
    assert type(run.config).__name__ == "ExtraConfig" and (run.extra, run.kappa) == (7, 0.2)
    assert run.to_dict()["agent"] == USER and run.row()["kappa"] == 0.2
    assert run.key() != RunConfig(planning_steps=5, episodes=4).key()
    with pytest.raises(ConfigError, match=f"theta does not apply to agent {USER}; it is used "
                                          "by: prioritized-sweeping"):
        RunConfig(agent=USER, theta=0.5)
    # the same kernels as dyna-q: the same episodes
    mine = run_cells(run, [0, 1])
    dyna = run_cells(RunConfig(planning_steps=5, episodes=4), [0, 1])
    for a, b in zip(mine, dyna, strict=True):
        assert np.array_equal(a.Q, b.Q)
        assert np.array_equal(np.delete(a.records, WALL_S, 1), np.delete(b.records, WALL_S, 1),
                              equal_nan=True)


@pytest.mark.parametrize("agent, message", [
    ("nosuch_module_xyz:Agent", "agent nosuch_module_xyz:Agent: cannot import module "
                                "nosuch_module_xyz"),
    ("user_agents:Nope", "agent user_agents:Nope: user_agents has no attribute 'Nope'"),
    ("user_agents:NOT_AN_AGENT", "NOT_AN_AGENT is not a subclass of "
                                 "dynaq.agents.base.TabularAgent"),
    ("user_agents:ExtraConfig", "ExtraConfig is not a subclass"),
    (":DynaQ", "agent must be one of q-learning, dyna-q, dyna-q+, prioritized-sweeping, "
               "replay, dqn, dyna-dqn, or an import path package.module:Class"),
])
def test_bad_import_paths_name_what_is_wrong(user_agents, agent, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        RunConfig(agent=agent)
    with pytest.raises(ConfigError, match=re.escape(message)):
        resolve_agent(agent)


def test_env_kwargs_keep_the_keys_of_runs_without_them():
    plain = RunConfig(planning_steps=5)
    assert RunConfig(planning_steps=5, env_kwargs={}).key() == plain.key()
    assert RunConfig(planning_steps=5, env_kwargs=None).to_dict() == plain.to_dict()
    assert plain.row()["env_kwargs"] == ""
    given = RunConfig(env="FrozenLake-v1", env_kwargs={"is_slippery": False})
    assert given.key() != RunConfig(env="FrozenLake-v1").key()
    assert given.to_dict()["env_kwargs"] == {"is_slippery": False}
    assert given.row()["env_kwargs"] == '{"is_slippery": false}'
    # one run, in whatever form its kwargs come: tuples and lists, any key order
    a = RunConfig(env="dynaq/GridWorld-v0", env_kwargs={"desc": ("S.G",), "slip": 0.1})
    b = RunConfig(env="dynaq/GridWorld-v0", env_kwargs={"slip": 0.1, "desc": ["S.G"]})
    assert a == b and hash(a) == hash(b) and a.key() == b.key()


def test_env_kwargs_round_trip_through_toml(tmp_path):
    desc = ["#####", "#S.G#", "#.C.#", "#####"]
    exp = Experiment("mine", (
        RunConfig(env="dynaq/GridWorld-v0", env_kwargs={"desc": desc, "slip": 0.25,
                                                         "goal_reward": 2.0}),
        RunConfig(env="FrozenLake-v1", env_kwargs={"is_slippery": False, "map_name": "8x8"}),
        RunConfig()), 3)
    path = tmp_path / "config.toml"
    path.write_text(exp.to_toml())
    back = Experiment.from_toml(path)
    assert back == exp and back.fingerprint() == exp.fingerprint()


@pytest.mark.parametrize("bad", [["is_slippery", False], {1: 2}, {"f": object()},
                                 {"x": float("nan")}])
def test_bad_env_kwargs_are_one_line_errors(bad):
    with pytest.raises(ConfigError, match="env_kwargs must"):
        RunConfig(env="FrozenLake-v1", env_kwargs=bad)


def test_config_toml_records_the_commit_and_the_deep_and_ray_versions():
    import subprocess
    from importlib import metadata

    from dynaq.experiments.config import source_commit

    source_commit.cache_clear()  # a commit made since this process first asked
    text = Experiment("v", (RunConfig(),), 1).to_toml()
    head = subprocess.run(["git", "-C", str(Path(__file__).parent), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert re.search(rf'^dynaq_git = "{head}(-dirty)?"$', text, re.MULTILINE)
    assert f'torch = "{metadata.version("torch")}"' in text
    assert f'ray = "{metadata.version("ray")}"' in text
