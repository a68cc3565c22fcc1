"""The compare table: groups, aggregates, and the significance test against a baseline."""

import warnings

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


def test_compare_pools_envs_and_splits_on_other_varying_columns(sweep):
    other = sweep.assign(env="f", steps=sweep["steps"] * 2)
    both = pd.concat([sweep, other], ignore_index=True)
    t = compare(both, "planning_steps", metrics=(METRIC,))
    assert list(t["seeds"]) == [16, 16, 16]  # 8 seeds in each of two envs
    split = pd.concat([sweep, sweep.assign(alpha=0.5)], ignore_index=True)
    t = compare(split, "planning_steps", metrics=(METRIC,))
    assert list(zip(t["planning_steps"], t["alpha"], strict=True)) == [
        (0, 0.1), (0, 0.5), (1, 0.1), (1, 0.5), (2, 0.1), (2, 0.5)]


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
