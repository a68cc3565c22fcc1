"""The deep reproductions: their experiments match compute as they say, and their reporters
score seeds (AUC, censored steps to solve, paired differences) as documented, on synthetic
results whose answers are known (no torch: the reporters read results only)."""

import numpy as np
import pandas as pd
import pytest

from dynaq.experiments.presets import deep_eval as ev
from dynaq.experiments.presets import deep_replay_vs_dyna as rvd
from dynaq.experiments.presets import deep_small_buffer as dsb
from dynaq.experiments.presets import deep_vs_tabular as dvt


def test_replay_vs_dyna_matches_gradient_steps_per_real_step():
    exp = rvd._experiment(10)
    assert exp.seeds == 10 and len(exp.runs) == len(rvd.ENVS) * len(rvd.UPDATES) * 5
    cells = {}
    for run in exp.runs:
        row = run.row()
        u = rvd.total_updates(row)
        assert u in rvd.UPDATES and run.total_steps == rvd.STEPS
        if run.agent == "dyna-dqn":
            assert run.config.updates_per_step == rvd.REAL_U
            assert run.config.imagined_ratio == 1.0 and run.config.eval_period
        cells.setdefault((run.env, u), set()).add(rvd.variant(row))
    # every (env, U) has DQN and the four Dyna-DQN variants, each once
    assert all(v == {"DQN (replay)", *rvd.VARIANTS} for v in cells.values())


def test_deep_vs_tabular_gives_every_agent_the_same_backups():
    for run in dvt._experiment(10).runs:
        per_step = {"q-learning": 1, "dyna-q": 1 + run.planning_steps,
                    "replay": 1 + run.planning_steps}.get(run.agent)
        if per_step is None:  # deep: U on real data, k after each
            per_step = run.config.updates_per_step * (1 + run.config.planning_steps)
        assert per_step == (1 if run.agent == "q-learning" else dvt.BACKUPS)
        assert run.gamma == dvt.GAMMA


def test_small_buffer_compares_two_sizes_at_one_compute():
    runs = dsb._experiment(10).runs
    assert {r.config.buffer_capacity for r in runs} == {dsb.SMALL, dsb.LARGE}
    assert {rvd.total_updates(r.row()) for r in runs} == {dsb.U}


def synthetic(runs, seeds=3, evals=(100.0, 300.0, 480.0, 490.0), seed=0):
    """Results of ``runs``: per (config, seed) one episode per evaluation, 1000 real steps
    apart, each config's evaluation returns ``evals`` shifted by a per-config offset plus
    noise, every record column filled."""
    g = np.random.default_rng(seed)
    rows = []
    for i, run in enumerate(runs):
        offset = 20.0 * (i % 3)
        for s in range(seeds):
            for e, ret in enumerate(evals, start=1):
                rows.append({**run.row(), "seed": s, "episode": e, "steps": 1000,
                             "return": ret, "env_steps": 1000 * e, "backups": 2000 * e,
                             "wall_s": 1.5 * e, "eval_return": ret + offset + g.normal(0, 1),
                             "term_recall": 0.8, "term_precision": 0.5,
                             "model_error": 0.1, "value_error": 0.5, "policy_value": 0.1,
                             "policy_optimal": False, "v_star_start": 0.2, "truncated": False})
    return pd.DataFrame(rows)


def test_per_seed_scores_auc_final_and_censored_steps_to_solve():
    runs = rvd._experiment(2).runs[:2]
    df = synthetic(runs, evals=(100.0, 300.0, 480.0, 490.0))
    df.loc[df["seed"] == 2, "eval_return"] = 10.0  # never solves
    seeds = ev.per_seed(df, rvd.BY)
    first = seeds[seeds["agent"] == "dqn"].set_index("seed")
    assert first.loc[0, "auc"] == pytest.approx(df[(df["agent"] == "dqn") & (df["seed"] == 0)]
                                                ["eval_return"].mean())
    assert first.loc[0, "solved"] and first.loc[0, "steps_to_solve"] == 3000
    # the seed that never solved counts its budget, and stays in every mean
    assert not first.loc[2, "solved"] and first.loc[2, "steps_to_solve"] == 4000
    assert first.loc[0, "updates"] == 2.0 and first.loc[0, "budget"] == 4000


def test_paired_differences_and_their_verdicts():
    seeds = pd.DataFrame({"seed": [0, 1, 2, 3] * 2, "variant": ["a"] * 4 + ["b"] * 4,
                          "auc": [5.0, 6.0, 7.0, 8.0, 1.0, 2.0, 3.0, 4.0]})
    mean, lo, hi, n = ev.paired(seeds, [], "auc", {"variant": "a"}, {"variant": "b"})
    assert (mean, lo, hi, n) == (4.0, 4.0, 4.0, 4)  # a constant difference: its own CI
    assert ev.verdict(lo, hi) == "better" and ev.verdict(lo, hi, better="lower") == "worse"
    assert ev.verdict(-1.0, 2.0) == "no clear difference"
    assert ev.verdict(np.nan, np.nan) == "too few seeds to tell"


def test_replay_vs_dyna_report_on_synthetic_results(tmp_path):
    df = synthetic(rvd._experiment(3).runs)
    md = rvd.report(df, pd.DataFrame(), tmp_path)
    for env in rvd.ENVS:
        assert f"### {env}" in md and (tmp_path / f"curves_{rvd._slug(env)}.png").exists()
    assert (tmp_path / "auc.png").exists() and "Beside the literature" in md
    assert "van Hasselt" in md and "Holland" in md
    assert md.count("(better)") + md.count("(worse)") + md.count("(no clear difference)") \
        == len(rvd.ENVS) * len(rvd.UPDATES) * len(rvd.VARIANTS)


def test_deep_vs_tabular_report_on_synthetic_results(tmp_path):
    df = synthetic(dvt._experiment(3).runs)
    md = dvt.report(df, pd.DataFrame(), tmp_path)
    assert all(f"### {env}" in md for env in dvt.WORLDS)
    assert all(name in md for name in dvt.LABELS.values())
    assert (tmp_path / "value_error.png").exists()
    seeds = dvt.per_seed(df)
    assert (seeds["policy_share"] == 0.5).all() and (seeds["final_value_error"] == 0.5).all()


def test_small_buffer_report_on_synthetic_results(tmp_path):
    df = synthetic(dsb._experiment(3).runs)
    md = dsb.report(df, pd.DataFrame(), tmp_path)
    assert "| 1,000 | DQN (replay) |" in md and (tmp_path / "evaluation_curves.png").exists()
    assert md.count("With the small buffer") == len(dsb.VARIANTS)
