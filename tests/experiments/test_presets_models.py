"""The model reproductions (slippery, sampling, replay-vs-dyna, common-mistakes) run end
to end at a few seeds, and their orderings hold."""

import numpy as np
import pandas as pd
import pytest

from dynaq import RunConfig, execute, load_results, run_cells
from dynaq.envs import env_model
from dynaq.experiments.presets import common_mistakes as cm
from dynaq.experiments.presets import get_preset
from dynaq.experiments.presets.common import tail_stats


def test_slippery_deterministic_model_is_worse_and_more_planning_hurts(tmp_path):
    preset = get_preset("slippery")
    execute(preset.experiment(5), tmp_path, reporter=preset.reporter)
    stats = tail_stats(load_results(tmp_path), ["env", "model", "backup", "planning_steps"],
                       ["value_error", "policy_value"]).set_index(
        ["env", "model", "backup", "planning_steps"])
    for env in ("dynaq/SlipperyCliff-v0", "FrozenLake-v1"):
        det = stats.loc[(env, "deterministic", "sample")]
        for backup in ("sample", "expected"):
            counts = stats.loc[(env, "counts", backup)]
            for k in (5, 50):
                assert det.loc[k, "value_error"] > counts.loc[k, "value_error"]
                assert det.loc[k, "policy_value"] < counts.loc[k, "policy_value"]
        assert det.loc[50, "value_error"] > det.loc[5, "value_error"]
        assert stats.loc[(env, "counts", "expected", 0), "value_error"] == det.loc[0, "value_error"]
    md = (tmp_path / "summary.md").read_text()
    assert "invents false certainty" in md and (tmp_path / "slippery.png").exists()


def test_sampling_uniform_beats_latest_and_latest_is_q_learning(tmp_path):
    preset = get_preset("sampling")
    execute(preset.experiment(4), tmp_path, reporter=preset.reporter)
    df = load_results(tmp_path)
    maze = df[df["env"] == "dynaq/SinglePath9x9-v0"]
    steps = maze.pivot_table(index=["seed", "episode"], columns=["agent", "sampling"],
                             values="steps")
    assert (steps[("dyna-q", "latest")] == steps[("q-learning", "uniform")]).mean() > 0.9
    total = steps.groupby(level="seed").sum().mean()
    assert total[("dyna-q", "uniform")] < total[("dyna-q", "trajectory")] < total[
        ("dyna-q", "latest")]
    assert total[("prioritized-sweeping", "uniform")] < total[("dyna-q", "latest")]
    md = (tmp_path / "summary.md").read_text()
    assert "Why sample (ŝ, â) uniformly" in md and "uniform needed fewer episodes" in md


def test_replay_tracks_counts_in_stochastic_worlds(tmp_path):
    preset = get_preset("replay-vs-dyna")
    execute(preset.experiment(5), tmp_path, reporter=preset.reporter)
    df = load_results(tmp_path)
    stats = tail_stats(df[df["env"] != "dynaq/DynaMaze-v0"],
                       ["env", "agent", "model", "planning_steps"], ["value_error"])
    at = stats.set_index(["env", "agent", "model", "planning_steps"])["value_error"]
    for env in ("dynaq/SlipperyCliff-v0", "FrozenLake-v1"):
        det, counts = at[(env, "dyna-q", "deterministic", 50)], at[(env, "dyna-q", "counts", 50)]
        rep = at[(env, "replay", "deterministic", 50)]
        assert rep < det and abs(rep - counts) < abs(rep - det)
    maze = df[(df["env"] == "dynaq/DynaMaze-v0") & (df["episode"] >= 2)]
    mean = maze.groupby(["agent", "planning_steps"])["steps"].mean()
    for k in (5, 50):  # the same order of speed as Dyna-Q, far from Q-learning's
        assert mean[("replay", k)] < 1.5 * mean[("dyna-q", k)]
    assert (tmp_path / "maze.png").exists() and (tmp_path / "stochastic.png").exists()


def test_course_loop_done_right_is_dynaq_bitwise():
    mdp, _ = env_model("dynaq/DynaMaze-v0")
    for seed in (0, 7):
        lengths, Q, wrong = cm.course_loop(mdp, 5, seed, 8)
        (cell,) = run_cells(RunConfig(planning_steps=5, episodes=8), [seed])
        assert lengths == list(cell.records[:, 0].astype(int))
        assert np.array_equal(Q, cell.Q) and wrong == 0.0


def _table(rows):
    return pd.DataFrame(rows).set_index(["variant", "metric"])["mean"]


def test_common_mistakes_show_their_symptoms(tmp_path):
    rows = {1: cm._loop_rows(1, "plan-before-entries", 3), 2: cm._k0_rows(3),
            3: cm._cliff_rows(3), 4: cm._frontier_rows(3), 5: cm._loop_rows(5, "one-table", 3)}
    made_up, k0, cliff, frontier, one_table = (_table(rows[r]) for r in range(1, 6))
    share = "share of planning backups on a transition that is not the real one"
    steps = "steps per episode, episodes 2–30"
    assert made_up[("MISTAKE: plan-before-entries", share)] > 0.1
    assert made_up[("done right", share)] == 0.0
    assert one_table[("MISTAKE: one-table", share)] > 0.9
    assert one_table[("MISTAKE: one-table", steps)] > 2 * one_table[("done right", steps)]
    assert one_table[("done right", steps)] == one_table[("dynaq dyna-q", steps)]
    assert one_table[("dynaq dyna-q", "final model error")] == 0.0
    assert k0[("MISTAKE: dyna-q, k = 0", "records bitwise equal to q-learning's")] == 1.0
    assert k0[("MISTAKE: dyna-q, k = 0", steps)] > 2 * k0[("fix: dyna-q, k = 5", steps)]
    near = "mean bias of max_a Q − V* beside the cliff"
    assert cliff[("MISTAKE: deterministic model", near)] > cliff[("fix: counts, expected", near)]
    assert cliff[("MISTAKE: deterministic model", "final model error")] > cliff[
        ("fix: counts, sample", "final model error")]
    shortcut = "greedy policy takes the shortcut at the end"
    stale = "stale model entries at the end"
    bonus, greedy = "fix: dyna-q+ (ε = 0.1, κ = 0.001)", "MISTAKE: greedy dyna-q (ε = 0)"
    assert frontier[(bonus, shortcut)] == 1.0 and frontier[(greedy, shortcut)] == 0.0
    assert frontier[(greedy, stale)] > frontier[(bonus, stale)] == 0.0
    table = pd.DataFrame([r for part in rows.values() for r in part])
    md = cm.PRESET.reporter(table, table, tmp_path)
    assert all(mistake in md for mistake, _, _ in cm.COURSE.values())
    assert md.count("How dynaq avoids it") == 5 and (tmp_path / "mistakes.png").exists()


@pytest.mark.parametrize("name", ["slippery", "sampling", "replay-vs-dyna", "common-mistakes"])
def test_registered_with_a_description(name):
    preset = get_preset(name)
    assert preset.description and preset.default_seeds >= 30
