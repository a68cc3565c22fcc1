"""The compare table: groups, aggregates, and the significance test against a baseline."""

import warnings

import numpy as np
import pandas as pd
import pytest

from dynaq import ConfigError
from dynaq.analysis.compare import COMPARE_METRICS, compare, compare_markdown

METRIC = "episodes_to_optimal_policy"


def test_compare_marks_a_clear_difference_and_not_an_identical_pair(sweep):
    t = compare(sweep, "planning_steps", metrics=(METRIC, "backups")).set_index(
        ["metric", "planning_steps"])
    base, same, fast = (t.loc[(METRIC, k)] for k in (0, 1, 2))
    assert base["baseline"] and not base["significant"] and pd.isna(base["p_better"])
    assert same["p_better"] == 0.5 and not same["significant"]
    assert fast["p_better"] == 1.0 and fast["significant"]  # fewer episodes is better
    assert base["mean"] == pytest.approx(9.5) and base["iqm"] == pytest.approx(9.5)
    assert base["mean_lo"] <= 9.5 <= base["mean_hi"]
    # more backups per step is worse: k = 2 against k = 0
    assert t.loc[("backups", 2), "p_better"] == 0.0 and t.loc[("backups", 2), "significant"]


def test_compare_other_baseline_and_a_seed_that_never_got_there(sweep):
    sweep.loc[(sweep["planning_steps"] == 1) & (sweep["seed"] == 0), "policy_optimal"] = False
    t = compare(sweep, "planning_steps", metrics=(METRIC,), baseline="2")  # as typed
    assert list(t["baseline"]) == [False, False, True]
    never = t[t["planning_steps"] == 1].iloc[0]
    assert never["reached"] == 7 and never["seeds"] == 8 and never["p_better"] == 0.0


def test_compare_never_pools_envs(sweep):
    other = sweep.assign(env="f", steps=sweep["steps"] * 2)
    t = compare(pd.concat([sweep, other], ignore_index=True), "planning_steps",
                metrics=(METRIC,))
    assert list(zip(t["env"], t["planning_steps"], t["seeds"], strict=True)) == [
        ("e", 0, 8), ("e", 1, 8), ("e", 2, 8), ("f", 0, 8), ("f", 1, 8), ("f", 2, 8)]
    assert list(t["baseline"]) == [True, False, False, True, False, False]  # one per env


def test_compare_tests_by_within_each_block_of_the_other_varying_columns(sweep):
    # α = 0.5 learns as fast at k = 0 as k = 2 does: one baseline for both α would call
    # (k = 2, α = 0.5) no better than its baseline
    fast = sweep[sweep["planning_steps"] == 2]
    split = pd.concat([sweep, fast.assign(alpha=0.5), fast.assign(alpha=0.5, planning_steps=0)],
                      ignore_index=True)
    t = compare(split, "planning_steps", metrics=(METRIC,), baseline=0)
    assert list(zip(t["alpha"], t["planning_steps"], t["baseline"], strict=True)) == [
        (0.1, 0, True), (0.1, 1, False), (0.1, 2, False), (0.5, 0, True), (0.5, 2, False)]
    alone = compare(split[split["alpha"] == 0.5], "planning_steps", metrics=(METRIC,))
    pd.testing.assert_frame_equal(t.iloc[3:].drop(columns="alpha").reset_index(drop=True),
                                  alone)
    assert t["p_better"].iloc[4] == 0.5 and t["p_better"].iloc[2] == 1.0


@pytest.mark.parametrize("kwargs, match", [
    ({"by": "colour"}, "by must be a config column"),
    ({"by": "planning_steps", "metrics": ("speed",)}, "metric must be one of"),
    ({"by": "planning_steps", "baseline": 7},
     r"baseline must be a value of planning_steps \(0, 1, 2\)"),
])
def test_compare_refuses_bad_input(sweep, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        compare(sweep, **kwargs)


def test_compare_markdown_names_the_test(sweep):
    text = compare_markdown(compare(sweep, "planning_steps", metrics=(METRIC,)))
    assert "| episodes to optimal policy | 0 | 8/8 |" in text
    assert "baseline" in text and "yes, better" in text and "| no |" in text
    assert "P(better than the baseline) excludes 0.5" in text


def test_compare_adds_the_model_diagnostics_that_have_values(sweep):
    t = compare(sweep.assign(model_error=0.5, model_coverage=float("nan")), "planning_steps")
    metrics = list(dict.fromkeys(t["metric"]))
    assert metrics[:8] == list(COMPARE_METRICS) and metrics[8:] == ["final_model_error"]


def test_compare_by_env_tests_envs_against_each_other(sweep):
    slow = sweep[sweep["planning_steps"] == 0]
    fast = sweep[sweep["planning_steps"] == 2].assign(env="f", planning_steps=0)
    t = compare(pd.concat([slow, fast]), "env", metrics=(METRIC,), baseline="e")
    assert list(t["env"]) == ["e", "f"] and t["significant"].iloc[1]
    assert t["p_better"].iloc[1] == 1.0


def test_compare_of_a_group_that_never_got_there_warns_of_nothing(sweep):
    # every seed of k = 0 never optimal: its ranked scores are all +inf (a constant sample)
    sweep.loc[sweep["planning_steps"] == 0, "policy_optimal"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = compare(sweep, "planning_steps", metrics=(METRIC,))
    assert list(t["reached"]) == [0, 8, 8] and list(t["p_better"][1:]) == [1.0, 1.0]
    assert (t["p_lo"][1:] == 1.0).all()  # a constant resample, not a NaN bound


def test_compare_reads_by_as_the_tables_name_it(sweep):
    t = compare(sweep, "planning_steps", metrics=(METRIC,))
    for name in ("k", "planning-steps", "planning steps"):
        pd.testing.assert_frame_equal(compare(sweep, name, metrics=(METRIC,)), t)


def test_a_bad_baseline_lists_each_value_once(sweep):
    split = pd.concat([sweep, sweep.assign(alpha=0.5)], ignore_index=True)
    with pytest.raises(ConfigError, match=r"value of planning_steps \(0, 1, 2\); got 7$"):
        compare(split, "planning_steps", baseline=7)


def test_wall_time_gets_means_and_a_ratio_but_no_test(sweep):
    sweep.loc[sweep["planning_steps"] == 2, "wall_s"] *= 3
    t = compare(sweep, "planning_steps", metrics=("wall_s",))
    assert not t["tested"].any() and not t["significant"].any()
    assert t["p_better"].isna().all() and t["mean_lo"].isna().all()
    assert pd.isna(t["ratio"].iloc[0]) and list(t["ratio"].iloc[1:]) == pytest.approx([1, 3])
    text = compare_markdown(t)
    assert "| mean ×3 the baseline's | not tested |" in text and "yes" not in text


def test_runs_of_different_lengths_are_compared_over_their_common_horizon(sweep):
    # k = 2 ran 6 episodes, k = 0 and 1 twelve (a grown directory): the "to" metrics, totals
    # and final values of all three are measured over the first 6 episodes
    short = sweep[(sweep["planning_steps"] < 2) | (sweep["episode"] <= 6)]
    short = short.assign(episodes=np.where(short["planning_steps"] == 2, 6, 12))
    t = compare(short, "planning_steps", metrics=(METRIC, "backups"))
    assert set(t["horizon"]) == {"first 6 episodes"}
    cut = compare(short[short["episode"] <= 6].drop(columns="episodes"), "planning_steps",
                  metrics=(METRIC, "backups"))
    cols = cut.columns.drop("horizon")
    pd.testing.assert_frame_equal(t[cols], cut[cols].assign(episodes=t["episodes"])[cols])
    assert t["reached"].iloc[0] == 0  # k = 0 is optimal from episode 8 on: not by 6
    assert "| first 6 episodes |" in compare_markdown(t)
    assert "Runs of different lengths" in compare_markdown(t)
    whole = compare(sweep, "planning_steps", metrics=(METRIC,))
    assert set(whole["horizon"]) == {""} and "measured over" not in compare_markdown(whole)


def test_runs_of_different_step_budgets_are_cut_at_the_fewest_steps(sweep):
    steps = sweep.assign(episodes=None, total_steps=np.where(sweep["planning_steps"] == 2,
                                                             60, 120))
    steps = steps[steps["env_steps"] <= steps["total_steps"]]
    t = compare(steps, "planning_steps", metrics=("backups",))
    assert set(t["horizon"]) == {"first 60 env steps"}
    assert list(t["mean"]) == [60.0, 120.0, 180.0]  # 6 episodes of 10 steps × (k + 1)


def test_a_group_alone_in_its_block_is_no_baseline(sweep):
    # k confounded with the agent (Q-learning is k = 0): each group is alone in its block
    sweep["agent"] = sweep["planning_steps"].map({0: "q-learning", 1: "dyna-q", 2: "dyna-q"})
    t = compare(sweep, "planning_steps", metrics=(METRIC,))
    assert list(zip(t["agent"], t["planning_steps"], t["baseline"], strict=True)) == [
        ("dyna-q", 1, True), ("dyna-q", 2, False), ("q-learning", 0, False)]
    assert t["p_better"].iloc[1] == 1.0 and pd.isna(t["p_better"].iloc[2])
    assert compare_markdown(t).splitlines()[4].endswith("| – | – |")


@pytest.mark.parametrize("by", ["planning_steps", "agent", "model", "episodes", "alpha"])
def test_a_stored_comparison_is_made_config_by_config(mixed_results, forbid_whole_frame, by):
    """compare_stored is compare of load_results' frame to the bit, common horizons
    (episodes and real steps) included, without making that frame."""
    from dynaq import load_results
    from dynaq.analysis.compare import compare_stored

    whole = compare(load_results(mixed_results), by)
    if by == "planning_steps":  # a block cut in episodes, one in real steps
        assert {"first 4 episodes", "first 300 env steps"} < set(whole["horizon"])
    forbid_whole_frame()
    pd.testing.assert_frame_equal(compare_stored(mixed_results, by), whole, check_exact=True)


def test_a_stored_comparison_refuses_as_compare_does(mixed_results, tmp_path):
    from dynaq import Experiment, RunConfig, load_results
    from dynaq.analysis.compare import compare_stored
    from dynaq.experiments.store import Store

    with pytest.raises(ConfigError, match="by must be a config column"):
        compare_stored(mixed_results, "nope")
    Store(tmp_path, Experiment("t", (RunConfig(episodes=2),), 1)).close()  # no cell
    with pytest.raises(ConfigError) as whole:
        compare(load_results(tmp_path), "k")
    with pytest.raises(ConfigError, match=whole.value.args[0].replace("(", r"\(")[:30]):
        compare_stored(tmp_path, "k")
