"""Sweep files: the cross product (bad files: tests/reliability/test_sweep_files.py)."""

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dynaq.experiments.sweep import keys, load_sweep


def write(tmp_path, text, name="sweep.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_cross_product_over_fixed_settings(tmp_path):
    exp = load_sweep(write(tmp_path, 'name = "s"\nseeds = 4\n[fixed]\nepisodes = 7\n'
                                     'env = "dynaq/DynaMaze-v0"\n'
                                     '[sweep]\nplanning_steps = [0, 5]\nalpha = [0.1, 0.5]\n'))
    assert exp.name == "s" and exp.seeds == 4
    assert [(r.planning_steps, r.alpha) for r in exp.runs] == [(0, 0.1), (0, 0.5), (5, 0.1),
                                                              (5, 0.5)]
    assert all(r.episodes == 7 and r.env == "dynaq/DynaMaze-v0" for r in exp.runs)


def test_fields_an_agent_does_not_use_stay_default_and_run_once(tmp_path):
    exp = load_sweep(write(tmp_path, '[fixed]\nenv = "dynaq/DynaMaze-v0"\n'
                                     '[sweep]\nagent = ["dyna-q", "dyna-q+"]\n'
                                     'kappa = [0.001, 0.01]\nplanning_steps = [5]\n'))
    labels = sorted((r.agent, r.kappa) for r in exp.runs)
    assert labels == [("dyna-q", 0.001), ("dyna-q+", 0.001), ("dyna-q+", 0.01)]


def test_keys_are_every_known_setting(tmp_path):
    exp = load_sweep(write(tmp_path, '[fixed]\nagent = "dyna-dqn"\nepisodes = 3\n'
                                     'env = "CartPole-v1"\n'
                                     '[sweep]\nimagined_ratio = [0.25, 0.75]\n'))
    assert [r.config.imagined_ratio for r in exp.runs] == [0.25, 0.75]
    assert keys()[:2] == ("env", "agent") and "theta" in keys() and "config" not in keys()


def test_a_user_agent_by_import_path(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "data" / "user_agents"))
    exp = load_sweep(write(tmp_path, '[fixed]\nagent = "user_agents:DynaQExtra"\n'
                                     'env = "dynaq/DynaMaze-v0"\n'
                                     '[sweep]\nkappa = [0.1, 0.2]\ntheta = [1e-4, 0.1]\n'))
    assert sorted(r.kappa for r in exp.runs) == [0.1, 0.2]  # theta: not its own, left out
    assert {r.agent for r in exp.runs} == {"user_agents:DynaQExtra"}


def test_steps_runs(tmp_path):
    (run,) = load_sweep(write(tmp_path, "[fixed]\ntotal_steps = 300\nenv = 'x'\n")).runs
    assert run.total_steps == 300 and run.episodes is None


@settings(max_examples=40, deadline=None)
@given(ks=st.lists(st.integers(0, 300), min_size=1, max_size=4, unique=True),
       alphas=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=3, unique=True),
       seeds=st.integers(1, 500))
def test_every_combination_runs_once(tmp_path_factory, ks, alphas, seeds):
    path = tmp_path_factory.mktemp("s") / "s.toml"
    path.write_text(f"seeds = {seeds}\n[fixed]\nenv = 'dynaq/DynaMaze-v0'\n[sweep]\n"
                    f"planning_steps = {ks}\nalpha = {alphas}\n")
    exp = load_sweep(path)
    assert exp.seeds == seeds
    assert {(r.planning_steps, r.alpha) for r in exp.runs} == {(k, a) for k in ks
                                                               for a in alphas}
    assert len(exp.runs) == len(ks) * len(alphas)


def test_planning_agents_given_no_k_plan_as_on_the_command_line(tmp_path):
    exp = load_sweep(write(tmp_path, '[fixed]\nenv = "dynaq/DynaMaze-v0"\n[sweep]\nagent = '
                                     '["q-learning", "dyna-q", "dyna-q+", '
                                     '"prioritized-sweeping", "replay"]\n'))
    ks = {r.agent: r.planning_steps for r in exp.runs}
    assert ks == {"q-learning": 0, "dyna-q": 50, "dyna-q+": 50, "prioritized-sweeping": 50,
                  "replay": 50}
    given = load_sweep(write(tmp_path, '[fixed]\nenv = "dynaq/DynaMaze-v0"\nagent = "dyna-q"\n'
                                       'planning_steps = 0\n'))
    assert given.runs[0].planning_steps == 0  # a k given is kept, 0 included
