"""Sweep files: the cross product, and one clear line for every kind of bad file."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynaq import ConfigError
from dynaq.experiments.sweep import keys, load_sweep


def write(tmp_path, text, name="sweep.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_cross_product_over_fixed_settings(tmp_path):
    exp = load_sweep(write(tmp_path, 'name = "s"\nseeds = 4\n[fixed]\nepisodes = 7\n'
                                     '[sweep]\nplanning_steps = [0, 5]\nalpha = [0.1, 0.5]\n'))
    assert exp.name == "s" and exp.seeds == 4
    assert [(r.planning_steps, r.alpha) for r in exp.runs] == [(0, 0.1), (0, 0.5), (5, 0.1),
                                                              (5, 0.5)]
    assert all(r.episodes == 7 and r.env == "dynaq/DynaMaze-v0" for r in exp.runs)


def test_fields_an_agent_does_not_use_stay_default_and_run_once(tmp_path):
    exp = load_sweep(write(tmp_path, '[sweep]\nagent = ["dyna-q", "dyna-q+"]\n'
                                     'kappa = [0.001, 0.01]\nplanning_steps = [5]\n'))
    labels = sorted((r.agent, r.kappa) for r in exp.runs)
    assert labels == [("dyna-q", 0.001), ("dyna-q+", 0.001), ("dyna-q+", 0.01)]


def test_keys_are_every_known_setting(tmp_path):
    exp = load_sweep(write(tmp_path, '[fixed]\nagent = "dyna-dqn"\nepisodes = 3\n'
                                     '[sweep]\nimagined_ratio = [0.25, 0.75]\n'))
    assert [r.config.imagined_ratio for r in exp.runs] == [0.25, 0.75]
    assert keys()[:2] == ("env", "agent") and "theta" in keys() and "config" not in keys()


def test_a_user_agent_by_import_path(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "data" / "user_agents"))
    exp = load_sweep(write(tmp_path, '[fixed]\nagent = "user_agents:DynaQExtra"\n'
                                     '[sweep]\nkappa = [0.1, 0.2]\ntheta = [1e-4, 0.1]\n'))
    assert sorted(r.kappa for r in exp.runs) == [0.1, 0.2]  # theta: not its own, left out
    assert {r.agent for r in exp.runs} == {"user_agents:DynaQExtra"}


def test_steps_runs(tmp_path):
    (run,) = load_sweep(write(tmp_path, "[fixed]\ntotal_steps = 300\n")).runs
    assert run.total_steps == 300 and run.episodes is None


@pytest.mark.parametrize("text, message", [
    ("seeds = 3\nbogus = 1\n", "sweep.toml:2: unknown key 'bogus'"),
    ("[fixed]\nenvv = 'x'\n", "sweep.toml:2: unknown key fixed.envv; allowed: env, "),
    ("[sweep]\nalpha = []\n", "sweep.toml:2: sweep.alpha must be a non-empty list"),
    ("[sweep]\nalpha = 0.5\n", "sweep.toml:2: sweep.alpha must be a non-empty list"),
    ("[fixed]\nepisodes = '5'\n", "sweep.toml:2: episodes must be an integer >= 1, got '5'"),
    ("[sweep]\nplanning_steps = [0, -5]\n",
     "sweep.toml:2: planning_steps must be an integer >= 0, got -5"),
    ("[sweep]\nalpha = [0.1, 2.0]\n", "sweep.toml:2: alpha must be in (0, 1], got 2.0"),
    ("seeds = 0\n", "sweep.toml:1: seeds must be an integer >= 1, got 0"),
    ("[fixed]\nalpha = 0.1\n[sweep]\nalpha = [0.2]\n", "alpha is both fixed and swept"),
    ("[fixed\n", "Expected ']'"),
    ("fixed = 3\n", "sweep.toml:1: fixed must be a table"),
    ("[fixed]\nagent = 'dyna-q'\nkappa = 0.5\n", "kappa does not apply to agent dyna-q"),
    ("[fixed]\nagent = 'nosuch_mod:A'\n",
     "sweep.toml:2: agent nosuch_mod:A: cannot import module nosuch_mod"),
    ("[fixed]\nbatch_size = 32\n", "sweep.toml:2: unknown key fixed.batch_size"),
])
def test_bad_files_get_one_line(tmp_path, text, message):
    with pytest.raises(ConfigError) as err:
        load_sweep(write(tmp_path, text))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_sweep(tmp_path / "nope.toml")


@settings(max_examples=40, deadline=None)
@given(ks=st.lists(st.integers(0, 300), min_size=1, max_size=4, unique=True),
       alphas=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=3, unique=True),
       seeds=st.integers(1, 500))
def test_every_combination_runs_once(tmp_path_factory, ks, alphas, seeds):
    path = tmp_path_factory.mktemp("s") / "s.toml"
    path.write_text(f"seeds = {seeds}\n[sweep]\nplanning_steps = {ks}\nalpha = {alphas}\n")
    exp = load_sweep(path)
    assert exp.seeds == seeds
    assert {(r.planning_steps, r.alpha) for r in exp.runs} == {(k, a) for k in ks
                                                               for a in alphas}
    assert len(exp.runs) == len(ks) * len(alphas)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=80))
def test_arbitrary_text_is_a_config_error_or_a_valid_sweep(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("s") / "s.toml"
    path.write_text(text)
    try:
        exp = load_sweep(path)
    except ConfigError as err:
        assert "\n" not in str(err)
    else:
        assert exp.runs
