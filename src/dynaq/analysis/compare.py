"""Compare groups of runs (e.g. by planning steps k): mean and IQM with 95% stratified
bootstrap CIs per group, and whether each group differs significantly from a baseline.

Grouping: the groups are the values of ``by`` together with every other config column
that varies, except the env, so configurations are never merged silently (a sweep over
k and the model gives one group per (k, model)). When several envs are present (and
``by`` is not ``env``) they are the tasks of Agarwal et al. (2021): each aggregate pools
the runs of all envs (raw, not normalised: compare ``by="env"`` when their scales
differ), and every bootstrap resamples seeds within each env (stratified).

The test: the probability of improvement P(a run of the group beats a run of the
baseline), the Mann-Whitney U statistic over n·m averaged over envs; a difference is
significant when its 95% stratified bootstrap CI excludes ½.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dynaq.analysis.report import fmt_ci, markdown_rows, metric_label
from dynaq.analysis.stats import (
    aggregate_ci,
    config_columns,
    is_to_metric,
    per_seed,
    probability_of_improvement,
    varying_columns,
)
from dynaq.errors import ConfigError
from dynaq.records import DIAGNOSTICS

COMPARE_METRICS = ("episodes_to_optimal_policy", "env_steps_to_optimal_policy",
                   "episodes_to_near_optimal_q", "env_steps_to_near_optimal_q",
                   "final_value_error", "mean_return", "backups", "wall_s")
"""Compared by default, with the model diagnostics (``final_model_error``, …) where the
results have them."""
HIGHER_IS_BETTER = frozenset({"mean_return", "final_model_coverage"})
"""Metrics where a larger value is better; for every other one smaller is better."""
TASK = "env"
"""The column whose values are the tasks (strata) of the stratified bootstrap."""
TEST = ("significant: the 95% stratified bootstrap CI of P(better than the baseline) "
        "excludes 0.5 (P = Mann-Whitney U / (n·m), ties ½, averaged over envs; a seed that "
        "never reached a 'to' metric counts as worse than any that did). Mean and IQM "
        "(interquartile mean) are over the seeds that reached the metric.")


def group_columns(df: pd.DataFrame, by: str) -> list[str]:
    """``by`` and the other config columns that vary in ``df``, but the task column.

    Raises:
        ConfigError: If ``by`` is not a config column of ``df``.
    """
    cfg = config_columns(df)
    if by not in cfg:
        raise ConfigError(f"by must be a config column of the results ({', '.join(cfg)}); "
                          f"got {by!r}")
    return [by, *(c for c in varying_columns(df) if c not in (by, TASK))]


def task_scores(group: pd.DataFrame, metric: str, ranked: bool = False,
                task: str | None = TASK) -> list[np.ndarray]:
    """A group's values of a per-seed metric, one array per task, missing ones dropped.

    Args:
        group: Per-seed rows.
        metric: The column.
        ranked: Count a "to" metric never reached as its worst possible value instead of
            dropping it, so that rank statistics (P(improvement), profiles) count every seed.
        task: The column whose values are the tasks; None: all rows are one task.
    """
    worst = -np.inf if metric in HIGHER_IS_BETTER else np.inf
    fill = ranked and is_to_metric(metric)
    parts = []
    for _, rows in group.groupby(task, sort=True) if task else [(None, group)]:
        x = rows[metric].to_numpy(float)
        parts.append(np.where(np.isnan(x), worst, x) if fill else x[~np.isnan(x)])
    return parts


def _better(x: list[np.ndarray], y: list[np.ndarray], metric: str,
            seed: int) -> tuple[float, float, float]:
    """P(x better than y) with its CI."""
    if metric not in HIGHER_IS_BETTER:
        x, y = [-a for a in x], [-b for b in y]
    return probability_of_improvement(x, y, seed=seed)


def _row(group: pd.DataFrame, base: pd.DataFrame | None, metric: str, task: str | None,
         seed: int) -> dict:
    """Aggregates of one group and metric, and the test against the baseline (if any)."""
    kept = task_scores(group, metric, task=task)
    row: dict = {"metric": metric, "seeds": len(group), "reached": sum(map(len, kept))}
    for stat in ("mean", "iqm"):
        est = aggregate_ci(kept, stat, seed) if all(map(len, kept)) else (np.nan,) * 3
        row.update(zip((stat, f"{stat}_lo", f"{stat}_hi"), est, strict=True))
    row.update(baseline=base is None, p_better=np.nan, p_lo=np.nan, p_hi=np.nan,
               significant=False)
    if base is not None:
        if task:  # only the tasks both ran
            both = set(group[task]) & set(base[task])
            group, base = group[group[task].isin(both)], base[base[task].isin(both)]
        x = task_scores(group, metric, ranked=True, task=task)
        y = task_scores(base, metric, ranked=True, task=task)
        if x and y and all(map(len, x + y)):
            p = _better(x, y, metric, seed)
            row.update(p_better=p[0], p_lo=p[1], p_hi=p[2], significant=p[1] > 0.5 or p[2] < 0.5)
    return row


def _default_metrics(seeds: pd.DataFrame) -> list[str]:
    """:data:`COMPARE_METRICS` and every other ``final_*`` diagnostic that has values."""
    finals = [f"final_{c}" for c in DIAGNOSTICS]
    return [*COMPARE_METRICS, *(m for m in finals if m not in COMPARE_METRICS
                                and m in seeds and seeds[m].notna().any())]


def compare(df: pd.DataFrame, by: str, metrics: Sequence[str] | None = None,
            baseline: object = None, seed: int = 0) -> pd.DataFrame:
    """Per metric and group: mean and IQM with 95% CIs, and the test against the baseline.

    Args:
        df: Results as from :func:`dynaq.load_results`.
        by: A config column, e.g. ``planning_steps``; groups also split on the other config
            columns that vary (see the module docstring).
        metrics: Columns of :func:`~dynaq.analysis.stats.per_seed` (default
            :data:`COMPARE_METRICS`).
        baseline: The value of ``by`` to test against (default: the smallest); the first
            group with it is the baseline.
        seed: Seeds every bootstrap.

    Returns:
        One row per (metric, group), metric by metric: the group columns, ``metric``,
        ``seeds``, ``reached`` (seeds with a value), ``mean``, ``mean_lo``, ``mean_hi``,
        ``iqm``, ``iqm_lo``, ``iqm_hi``, ``baseline`` (whether this is the baseline),
        ``p_better``, ``p_lo``, ``p_hi`` (P(better than the baseline), NaN for the baseline
        itself) and ``significant``.

    Raises:
        ConfigError: On an unknown column, metric or baseline value.
    """
    keys = group_columns(df, by)
    seeds = per_seed(df)
    if metrics is None:
        metrics = _default_metrics(seeds)
    for metric in metrics:
        if metric not in seeds.columns:
            raise ConfigError(f"metric must be one of {', '.join(seeds.columns)}; "
                              f"got {metric!r}")
    groups = list(seeds.groupby(keys, dropna=False, sort=True))
    base = groups[_baseline_index([key[0] for key, _ in groups], baseline, by)][1]
    task = None if by == TASK else TASK
    return pd.DataFrame([{**dict(zip(keys, key, strict=True)),
                          **_row(group, None if group is base else base, metric, task, seed)}
                         for metric in metrics for key, group in groups])


def _baseline_index(values: list, baseline: object, by: str) -> int:
    """The first group whose ``by`` value is ``baseline`` (or reads as it, as typed on a
    command line); the first group when ``baseline`` is None."""
    if baseline is None:
        return 0
    for i, value in enumerate(values):
        if value == baseline or str(value) == str(baseline):
            return i
    raise ConfigError(f"baseline must be a value of {by} ({', '.join(map(str, values))}); "
                      f"got {baseline!r}")


def compare_cells(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison as display strings: one row per (metric, group), the metric named
    once per block, CIs in brackets, and ``significant`` as baseline, no, "yes, better" or
    "yes, worse"."""
    keys = list(table.columns[:table.columns.get_loc("metric")])
    metric = table["metric"].map(metric_label)
    triples = {name: table[[name, f"{name}_lo", f"{name}_hi"]].to_numpy(float)
               for name in ("mean", "iqm")}
    return pd.DataFrame({
        "metric": metric.where(metric.ne(metric.shift()), ""),
        **{k: table[k].astype(str) for k in keys},
        "seeds reached": [f"{r}/{s}" for r, s in zip(table["reached"], table["seeds"],
                                                      strict=True)],
        "mean [95% CI]": [fmt_ci(*r) for r in triples["mean"]],
        "IQM [95% CI]": [fmt_ci(*r) for r in triples["iqm"]],
        "P(better than baseline) [95% CI]": [
            "–" if np.isnan(p) else f"{p:.2f} [{lo:.2f}, {hi:.2f}]"
            for p, lo, hi in table[["p_better", "p_lo", "p_hi"]].to_numpy(float)],
        "significant": [_verdict(*r) for r in table[["baseline", "significant", "p_better"]]
                        .itertuples(index=False)],
    })


def _verdict(baseline: bool, significant: bool, p_better: float) -> str:
    if baseline:
        return "baseline"
    if np.isnan(p_better):
        return "–"
    if not significant:
        return "no"
    return "yes, better" if p_better > 0.5 else "yes, worse"


def compare_markdown(table: pd.DataFrame) -> str:
    """The comparison as a Markdown table (readable as plain text), with the test named."""
    return markdown_rows(compare_cells(table)) + "\n" + TEST + "\n"
