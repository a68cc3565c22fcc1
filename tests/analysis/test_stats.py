"""Bootstrap CIs and the "became and stayed" summaries against hand-computed values."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynaq import ConfigError
from dynaq.analysis.stats import (
    CONFIDENCE,
    N_RESAMPLES,
    aggregate_ci,
    bootstrap_ci,
    curve,
    iqm,
    per_seed,
    performance_profile,
    probability_of_improvement,
    step_curve,
    summarize,
)


def test_bootstrap_ci_of_constant_data_is_the_constant():
    mean, lo, hi = bootstrap_ci(np.full(10, 3.0))
    assert (mean, lo, hi) == (3.0, 3.0, 3.0)


def test_bootstrap_ci_single_sample_has_no_interval():
    mean, lo, hi = bootstrap_ci(np.array([2.0]))
    assert mean == 2.0 and np.isnan(lo) and np.isnan(hi)


def test_bootstrap_ci_covers_the_true_mean_at_about_95_percent():
    gen = np.random.default_rng(0)
    covered = 0
    for _ in range(200):
        x = gen.normal(1.0, 2.0, size=40)
        _, lo, hi = bootstrap_ci(x)
        covered += lo <= 1.0 <= hi
    assert 0.89 <= covered / 200 <= 0.99


def test_bootstrap_ci_is_vectorised_and_deterministic():
    x = np.arange(60, dtype=float).reshape(20, 3)
    a = bootstrap_ci(x, axis=0)
    b = bootstrap_ci(x, axis=0)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert np.allclose(a[0], x.mean(axis=0)) and np.all(a[1] < a[0]) and np.all(a[0] < a[2])


@pytest.fixture
def frame(episodes):
    def make(flags_per_seed, errors_per_seed):
        return pd.DataFrame([row for seed, (flags, errors) in enumerate(
            zip(flags_per_seed, errors_per_seed, strict=True))
            for row in episodes(flags, errors, seed=seed)])
    return make


def test_per_seed_first_episode_that_stays(frame):
    df = frame([[False, True, False, True, True], [True, True, True, True, False]],
               [[0.5, 0.2, 0.04, 0.06, 0.01], [0.01, 0.01, 0.01, 0.01, 0.01]])
    seeds = per_seed(df).set_index("seed")
    assert seeds.loc[0, "episodes_to_optimal_policy"] == 4
    assert seeds.loc[0, "env_steps_to_optimal_policy"] == 40
    assert np.isnan(seeds.loc[1, "episodes_to_optimal_policy"])  # lost it at the end
    assert seeds.loc[0, "episodes_to_near_optimal_q"] == 5  # 0.06 > 0.05 at episode 4
    assert seeds.loc[1, "episodes_to_near_optimal_q"] == 1
    assert seeds.loc[0, "backups"] == 300 and seeds.loc[0, "wall_s"] == pytest.approx(0.5)


def test_summarize_counts_seeds_that_reached(frame):
    df = frame([[False, True], [True, True], [False, False]], [[1, 1], [1, 1], [1, 1]])
    row = summarize(df).iloc[0]
    assert row["seeds"] == 3
    assert row["episodes_to_optimal_policy_reached"] == 2
    assert row["episodes_to_optimal_policy"] == pytest.approx(1.5)
    assert row["episodes_to_near_optimal_q_reached"] == 0
    assert np.isnan(row["episodes_to_near_optimal_q"])


def test_curve_means_over_seeds_per_episode(frame):
    df = frame([[True] * 3, [True] * 3], [[0.0] * 3, [0.0] * 3])
    df.loc[df["seed"] == 1, "steps"] = 20
    c = curve(df)
    assert list(c["episode"]) == [1, 2, 3] and np.allclose(c["mean"], 15.0)


def test_per_seed_reports_the_last_value_error(frame):
    df = frame([[True] * 3], [[0.5, 0.2, 0.1]])
    assert per_seed(df).loc[0, "final_value_error"] == pytest.approx(0.1)


@pytest.mark.parametrize("n", [1, 2, 5, 8, 31])
def test_iqm_equals_scipy_trim_mean(n):
    from scipy import stats

    x = np.random.default_rng(n).normal(size=(3, n))
    np.testing.assert_allclose(iqm(x, axis=1), stats.trim_mean(x, 0.25, axis=1))
    np.testing.assert_allclose(iqm(x.T, axis=0), stats.trim_mean(x, 0.25, axis=1))


def test_iqm_by_hand():
    # sorted: 1 2 | 3 4 5 6 | 10 100 -> mean of the middle half
    assert iqm(np.array([10.0, 1, 2, 3, 4, 5, 6, 100])) == pytest.approx(4.5)
    assert iqm(np.array([0.0, 1, 2, 100])) == pytest.approx(1.5)


@pytest.mark.parametrize("stat, func", [("mean", np.mean), ("median", np.median)])
def test_aggregate_ci_estimate_and_interval(stat, func):
    x = np.random.default_rng(1).exponential(size=31)
    est, lo, hi = aggregate_ci(x, stat)
    assert est == pytest.approx(func(x)) and lo < est < hi
    assert aggregate_ci(x, stat) == (est, lo, hi)  # seeded: the same twice
    assert aggregate_ci(x, stat, seed=1) != (est, lo, hi)
    if stat == "median":  # a bootstrap median of an odd sample is one of its values
        assert lo in x and hi in x


def test_aggregate_ci_pools_tasks_and_refuses_unknown_stat():
    est, _, _ = aggregate_ci([np.array([0.0, 1.0]), np.array([10.0, 11.0, 12.0, 13.0])], "mean")
    assert est == pytest.approx(47 / 6)
    with pytest.raises(ConfigError, match="stat must be one of mean, median, iqm"):
        aggregate_ci(np.ones(3), "mode")


def test_stratified_bootstrap_needs_two_runs_per_task():
    est, lo, hi = aggregate_ci([np.array([1.0, 2.0]), np.array([3.0])], "mean")
    assert est == pytest.approx(2.0) and np.isnan(lo) and np.isnan(hi)


@pytest.mark.parametrize("stat", ["mean", "iqm"])
def test_stratified_ci_covers_the_truth_at_about_95_percent(stat):
    # Two tasks of 20 runs each; normal scores, so the pooled mean and IQM are both 2.5.
    gen = np.random.default_rng(2)
    covered = 0
    for _ in range(200):
        tasks = [gen.normal(0.0, 1.0, 20), gen.normal(5.0, 1.0, 20)]
        _, lo, hi = aggregate_ci(tasks, stat)
        covered += lo <= 2.5 <= hi
    assert 0.88 <= covered / 200 <= 0.99


def test_probability_of_improvement_by_hand():
    # 1 beats 0; 2 ties 2, 2 and beats 0; 3 beats all: (1 + 2 + 3) / 9
    p, lo, hi = probability_of_improvement(np.array([1.0, 2, 3]), np.array([2.0, 2, 0]))
    assert p == pytest.approx(6 / 9) and lo <= p <= hi
    q, _, _ = probability_of_improvement(np.array([2.0, 2, 0]), np.array([1.0, 2, 3]))
    assert p + q == pytest.approx(1.0)
    assert probability_of_improvement(np.ones(4), np.ones(5)) == (0.5, 0.5, 0.5)
    # inf (never reached) ties inf and beats everything else: (0 + 0 + ½ + 1) / 4
    p, _, _ = probability_of_improvement(np.array([1.0, np.inf]), np.array([np.inf, 2.0]))
    assert p == pytest.approx(0.375)


def test_probability_of_improvement_averages_over_tasks():
    x = [np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    y = [np.array([0.0, 0.0]), np.array([5.0, 5.0])]
    assert probability_of_improvement(x, y)[0] == pytest.approx(0.5)  # (1 + 0) / 2
    with pytest.raises(ConfigError, match="same tasks"):
        probability_of_improvement(x, y[:1])


def test_performance_profile_by_hand():
    frac, lo, hi = performance_profile(np.array([1.0, 2, 3, 4]), [0, 1, 2.5, 4])
    assert np.allclose(frac, [1, 0.75, 0.5, 0])
    assert np.all(lo <= frac) and np.all(frac <= hi) and lo[-1] == hi[-1] == 0
    # per task, then averaged: task 1 has none above 2.5, task 2 all
    frac, _, _ = performance_profile([np.array([1.0, 2]), np.array([3.0, 4, 5, 6])], [2.5])
    assert np.allclose(frac, [0.5])


def test_summarize_adds_median_and_iqm_columns(frame):
    df = frame([[True] * 2] * 5, [[0.0] * 2] * 5)
    df.loc[df["seed"] == 4, "backups"] *= 10
    row = summarize(df, stats=("mean", "median", "iqm")).iloc[0]
    per = per_seed(df)["backups"]
    assert row["backups"] == pytest.approx(per.mean())
    assert row["backups_median"] == pytest.approx(per.median())
    assert row["backups_iqm"] == pytest.approx(120.0)  # 5 seeds: the middle 3 are all 120
    assert row["backups_iqm_lo"] <= row["backups_iqm"] <= row["backups_iqm_hi"]


def test_step_curve_puts_seeds_on_a_common_grid(episodes):
    df = pd.DataFrame(episodes([True, True], [0.0, 0.0], seed=0, steps=10)
                      + episodes([True, True, True], [0.0] * 3, seed=1, steps=15))
    # seed 0 ends episodes at 10, 20; seed 1 at 15, 30, 45; the grid stops at 20
    c = step_curve(df, "return", points=5, cumulative=True)
    assert np.allclose(c["env_steps"], [0, 5, 10, 15, 20])
    assert np.allclose(c["mean"], [0, 0, 0.5, 1, 1.5])
    df.loc[df["seed"] == 1, "steps"] = 20
    c = step_curve(df, "steps", points=5)
    assert np.allclose(c["mean"], [15, 15, 15, 15, 15])


@pytest.mark.parametrize("df, message", [
    (pd.DataFrame(), "results lack the column"),
    (pd.DataFrame({"steps": [1]}), "results lack the column.* seed"),
    ("results.sqlite", "results must be a DataFrame"),
])
def test_summarize_refuses_what_is_not_a_results_frame_in_one_line(df, message):
    with pytest.raises(ConfigError, match=message):
        summarize(df)


def test_success_rate_and_cumulative_reward_by_hand(frame):
    df = frame([[True] * 4, [True] * 4], [[0.0] * 4, [0.0] * 4])
    df["return"] = [1.0, 0.0, 1.0, 1.0, -1.0, 0.0, 0.0, 2.0]  # seed 0: 3 of 4 positive
    seeds = per_seed(df).set_index("seed")
    assert seeds.loc[0, "success_rate"] == 0.75 and seeds.loc[1, "success_rate"] == 0.25
    assert seeds.loc[0, "total_return"] == 3.0 and seeds.loc[1, "total_return"] == 1.0
    row = summarize(df).iloc[0]
    assert row["success_rate"] == 0.5 and row["total_return"] == 2.0
    assert row["mean_return"] == pytest.approx(0.5)


@pytest.mark.parametrize("n", [2, 5, 300])
def test_shared_resamples_give_the_numbers_drawn_afresh(n):
    """The resamples are drawn once per (size, seed) and shared: every call gives what
    drawing them afresh, as int64, gives, bit for bit, and no caller can change them."""
    data = np.random.default_rng(n).normal(size=(n, 4))
    counts = np.random.default_rng(0).multinomial(n, np.full(n, 1.0 / n), N_RESAMPLES)
    means = counts @ data / n
    quantiles = [50 * (1 - CONFIDENCE), 50 * (1 + CONFIDENCE)]  # as the module computes them
    expected = np.percentile(means, quantiles, axis=0)
    for _ in range(2):
        _, low, high = bootstrap_ci(data)
        assert low.tobytes() == expected[0].tobytes() and high.tobytes() == expected[1].tobytes()
    index = np.random.default_rng(0).integers(0, n, (N_RESAMPLES, n))
    replicas = data[:, 0][index].mean(axis=-1)
    expected = np.percentile(replicas, quantiles)
    for _ in range(2):
        assert aggregate_ci(data[:, 0], "mean")[1:] == tuple(expected)
    from dynaq.analysis import stats

    with pytest.raises(ValueError, match="read-only"):
        stats._resample_counts(n, 0)[0, 0] = 1
    with pytest.raises(ValueError, match="read-only"):
        stats._resample_indices((n,), 0)[0][0, 0] = 1


@pytest.mark.parametrize(("env", "shown"), [
    ("FrozenLake-v1", ("mean_return", "success_rate")),  # stochastic, rewards ≥ 0
    ("dynaq/SlipperyCliff-v0", ("mean_return",)),  # a goal reached can score below 0
    ("dynaq/DynaMaze-v0", ()),  # deterministic, with an exact model: value error says it
])
def test_the_success_rate_is_shown_only_where_a_positive_return_means_a_goal(env, shown,
                                                                           tmp_path):
    from dynaq import Experiment, RunConfig, execute, load_results
    from dynaq.analysis.report import outcome_metrics

    run = RunConfig(env=env, planning_steps=5, model="counts", episodes=30)
    execute(Experiment("t", (run,), 2), tmp_path, quiet=True)
    assert outcome_metrics(summarize(load_results(tmp_path))) == shown


# The fast paths against the pandas formulas they replaced, bit for bit, on frames with
# what makes grouping tricky: NaN and None keys, constant and varying config columns, an
# object column pandas reads a key of otherwise (5 as 5.0 beside a NaN), missing episodes,
# missing values and repeated (seed, episode) rows.

CONFIG_VALUES = {"env": ["a", "b"], "agent": ["dyna-q", "q-learning"],
                 "planning_steps": [0, 5, 50], "kappa": [0.5, np.nan],
                 "buffer_size": [None, 10, np.nan]}
DTYPES = {"env": "str", "agent": "str", "buffer_size": object}


@st.composite
def config_frames(draw, most=40):
    """1 to ``most`` rows of config columns (see :data:`CONFIG_VALUES`), each constant or
    varying."""
    n = draw(st.integers(1, most))
    columns = {}
    for name, values in CONFIG_VALUES.items():
        if draw(st.booleans()):
            column = [draw(st.sampled_from(values))] * n
        else:
            column = draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))
        columns[name] = pd.Series(column, dtype=DTYPES.get(name))
    return pd.DataFrame(columns)


def same_key(a, b):
    return type(a) is type(b) and (a == b or (pd.isna(a) and pd.isna(b)))


@settings(max_examples=150, deadline=None)
@given(config_frames(), st.booleans())
def test_config_groups_are_the_groupby_groups(df, sort):
    from dynaq.analysis.stats import _group_numbers, config_columns, config_groups

    cfg = config_columns(df)
    grouped = df.groupby(cfg, dropna=False, sort=sort)
    np.testing.assert_array_equal(
        _group_numbers(df, cfg)[0], df.groupby(cfg, dropna=False, sort=False).ngroup())
    groups = config_groups(df, sort=sort)
    assert len(groups) == grouped.ngroups
    for (config, rows), (key, group) in zip(groups, grouped, strict=True):
        assert list(config) == cfg
        assert all(same_key(config[c], k) for c, k in zip(cfg, key, strict=True))
        np.testing.assert_array_equal(rows, group.index.to_numpy())


@settings(max_examples=150, deadline=None)
@given(config_frames())
def test_varying_columns_are_those_of_more_than_one_value(df):
    from dynaq.analysis.stats import config_columns, varying_columns

    assert varying_columns(df) == [c for c in config_columns(df)
                                   if df[c].nunique(dropna=False) > 1]


@st.composite
def result_frames(draw):
    """Episodes of 1 to 12 seeds of the configs of :func:`config_frames`, some episodes
    missing or repeated, with random values (some missing) in ``value_error``."""
    configs = draw(config_frames(most=4))
    seeds, episodes = draw(st.integers(1, 12)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    grid = pd.MultiIndex.from_product([range(len(configs)), range(seeds),
                                       range(1, episodes + 1)],
                                      names=["config", "seed", "episode"]).to_frame(index=False)
    df = configs.iloc[grid["config"]].reset_index(drop=True).join(grid.drop(columns="config"))
    df["value_error"] = rng.exponential(size=len(df))
    df["steps"] = rng.integers(1, 100, len(df))
    df.loc[rng.random(len(df)) < draw(st.sampled_from([0, 0.2])), "value_error"] = np.nan
    kept = rng.random(len(df)) >= draw(st.sampled_from([0, 0.1]))
    df = df[kept | (np.arange(len(df)) == 0)]
    repeated = df[rng.random(len(df)) < draw(st.sampled_from([0, 0.1]))]
    return pd.concat([df, repeated.assign(value_error=repeated["value_error"] / 3)],
                     ignore_index=True).sample(frac=1, random_state=1, ignore_index=True)


def pivot_curve(df, y):
    """The curve as it was computed: a pivot table per config."""
    from dynaq.analysis.stats import config_columns

    cfg = config_columns(df)
    parts = []
    for values, group in df.groupby(cfg, dropna=False, sort=False):
        table = group.pivot_table(index="seed", columns="episode", values=y).dropna(axis=1)
        mean, lo, hi = bootstrap_ci(table.to_numpy(), axis=0)
        config = dict(zip(cfg, values, strict=True))
        parts.append(pd.DataFrame({"episode": table.columns.to_numpy(), "mean": mean,
                                   "lo": lo, "hi": hi}).assign(**config))
    return pd.concat(parts, ignore_index=True)


@pytest.mark.filterwarnings("ignore:Mean of empty slice")
@settings(max_examples=80, deadline=None)
@given(result_frames(), st.sampled_from(["value_error", "steps"]))
def test_curve_is_the_pivot_table_curve_bit_for_bit(df, y):
    # the seeds' table in the pivot table's (row-major) order: a mean down a column-major
    # table sums in another order, which changes the last bits of float values
    pd.testing.assert_frame_equal(curve(df, y=y), pivot_curve(df, y), check_exact=True)


@pytest.mark.filterwarnings("ignore:Mean of empty slice")
def test_curves_of_configs_apart_concatenate_to_the_curve_of_all(sweep, episodes):
    from dynaq.analysis.stats import config_columns

    df = pd.concat([sweep, pd.DataFrame(episodes([True] * 12, [0.0] * 12, k=7, steps=3))],
                   ignore_index=True).sample(frac=1, random_state=0)
    parts = [part for _, part in df.groupby(config_columns(df), dropna=False, sort=False)]
    for compute in (curve, lambda d: step_curve(d, "return", cumulative=True)):
        pd.testing.assert_frame_equal(pd.concat([compute(p) for p in parts], ignore_index=True),
                                      compute(df), check_exact=True)


def test_bootstrap_interval_of_constant_samples_skips_the_resamples(monkeypatch):
    from dynaq.analysis import stats

    monkeypatch.setattr(stats, "_resample_indices", None)  # called, it would raise
    value, low, high = stats.bootstrap_interval([np.full(5, 2.0), np.full(3, np.inf)],
                                                lambda x, y, axis: x.mean(axis) + y.mean(axis))
    assert value == low == high == np.inf
    for bounds in performance_profile(np.ones(4), [0.5, 2.0]):
        np.testing.assert_array_equal(bounds, [1, 0])


@pytest.mark.parametrize("gathered", [1, 777, 1 << 17])  # 1 resample, odd blocks, default
def test_bootstrap_intervals_do_not_depend_on_how_many_resamples_are_gathered_at_once(
        monkeypatch, gathered):
    from dynaq.analysis import stats

    rng = np.random.default_rng(3)
    tasks = [rng.normal(size=n) for n in (2, 9, 130)]
    taus = np.linspace(-1.5, 1.5, 5)

    def intervals():
        return [*(aggregate_ci(tasks, stat) for stat in ("mean", "median", "iqm")),
                performance_profile(tasks, taus),
                probability_of_improvement(tasks[:2], [t + 0.3 for t in tasks[:2]]),
                stats.bootstrap_interval([tasks[2], tasks[1]],
                                         lambda x, y, axis: x.mean(axis) / y.std(axis))]

    monkeypatch.setattr(stats, "_GATHERED", 10**9)
    expected = intervals()  # every resample gathered at once
    monkeypatch.setattr(stats, "_GATHERED", gathered)
    for got, want in zip(intervals(), expected, strict=True):
        np.testing.assert_array_equal(np.asarray(got, dtype=float),
                                      np.asarray(want, dtype=float))
