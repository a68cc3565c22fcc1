"""Bootstrap CIs and the "became and stayed" summaries against hand-computed values."""

import numpy as np
import pandas as pd
import pytest

from dynaq.analysis.stats import bootstrap_ci, curve, per_seed, summarize


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


def frame(flags_per_seed, errors_per_seed, k=5):
    rows = []
    for seed, (flags, errors) in enumerate(zip(flags_per_seed, errors_per_seed, strict=True)):
        for i, (flag, err) in enumerate(zip(flags, errors, strict=True)):
            rows.append({"env": "e", "agent": "dyna-q", "model": "deterministic",
                         "planning_steps": k, "seed": seed, "v_star_start": 1.0,
                         "episode": i + 1, "steps": 10, "return": 1.0,
                         "env_steps": 10 * (i + 1), "backups": 60 * (i + 1),
                         "value_error": err, "policy_value": 1.0 if flag else 0.5,
                         "policy_optimal": flag, "truncated": False, "wall_s": 0.1 * (i + 1)})
    return pd.DataFrame(rows)


def test_per_seed_first_episode_that_stays():
    df = frame([[False, True, False, True, True], [True, True, True, True, False]],
               [[0.5, 0.2, 0.04, 0.06, 0.01], [0.01, 0.01, 0.01, 0.01, 0.01]])
    seeds = per_seed(df).set_index("seed")
    assert seeds.loc[0, "episodes_to_optimal_policy"] == 4
    assert seeds.loc[0, "env_steps_to_optimal_policy"] == 40
    assert np.isnan(seeds.loc[1, "episodes_to_optimal_policy"])  # lost it at the end
    assert seeds.loc[0, "episodes_to_near_optimal_q"] == 5  # 0.06 > 0.05 at episode 4
    assert seeds.loc[1, "episodes_to_near_optimal_q"] == 1
    assert seeds.loc[0, "backups"] == 300 and seeds.loc[0, "wall_s"] == pytest.approx(0.5)


def test_summarize_counts_seeds_that_reached():
    df = frame([[False, True], [True, True], [False, False]], [[1, 1], [1, 1], [1, 1]])
    row = summarize(df).iloc[0]
    assert row["seeds"] == 3
    assert row["episodes_to_optimal_policy_reached"] == 2
    assert row["episodes_to_optimal_policy"] == pytest.approx(1.5)
    assert row["episodes_to_near_optimal_q_reached"] == 0
    assert np.isnan(row["episodes_to_near_optimal_q"])


def test_curve_means_over_seeds_per_episode():
    df = frame([[True] * 3, [True] * 3], [[0.0] * 3, [0.0] * 3])
    df.loc[df["seed"] == 1, "steps"] = 20
    c = curve(df)
    assert list(c["episode"]) == [1, 2, 3] and np.allclose(c["mean"], 15.0)
