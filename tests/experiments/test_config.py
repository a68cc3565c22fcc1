"""Frozen, validated configs and their TOML form."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynaq import ConfigError, Experiment, RunConfig
from dynaq.experiments.config import cell_key


@pytest.mark.parametrize("kwargs, field", [
    ({"agent": "sarsa"}, "agent must be one of q-learning, dyna-q"),
    ({"model": "neural-ish"}, "model must be one of deterministic"),
    ({"alpha": 0}, "alpha must be in \\(0, 1\\]"),
    ({"gamma": 2}, "gamma must be in \\[0, 1\\]"),
    ({"epsilon": -0.5}, "epsilon must be in \\[0, 1\\]"),
    ({"planning_steps": -1}, "planning_steps must be an integer >= 0"),
    ({"episodes": 0}, "episodes must be an integer >= 1"),
    ({"episodes": None, "total_steps": 0}, "total_steps must be an integer >= 1"),
    ({"episodes": None}, "give exactly one of episodes or total_steps"),
    ({"total_steps": 10}, "give exactly one of episodes or total_steps"),
    ({"agent": "q-learning", "planning_steps": 5}, "planning_steps must be 0"),
    ({"max_episode_steps": 0}, "max_episode_steps must be an integer >= 1"),
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
    with pytest.raises(ConfigError, match="seeds must be an integer >= 1"):
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
