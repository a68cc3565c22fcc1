"""Compare groups of runs (e.g. by planning steps k): mean and IQM with 95% bootstrap CIs
per group, and whether each group differs significantly from its baseline.

Groups and blocks: the groups are the values of ``by`` together with every other config
column that varies, the env included, so configurations are never merged silently and
runs on different envs are never pooled (their scales differ). Each group is tested
against the baseline of its block: the groups that share the values of every other
varying config column. A sweep over k × α compares the values of k within each α, each α
with its own baseline k; ``by="env"`` compares envs with everything else held fixed. A
group alone in its block (``by`` confounded with another setting, as Q-learning is k = 0
beside Dyna-Q's k > 0) is compared with nothing: compare by that other setting instead.

Common horizon: a "final" value, a total or a "reached and stayed" time depends on how
long a run went on, so runs of different budgets (``episodes``, ``total_steps``: a
directory grown by a longer config, say) are compared over the horizon all the runs of
their block reached: the first E episodes, or the episodes that ended within the first T
real steps when any run counts steps. The table says so in ``horizon``. Runs of one budget
are compared whole, and so are runs until Q is near-optimal (their length is the outcome).

The test: the probability of improvement P(a run of the group beats a run of the
baseline), the Mann-Whitney U statistic over n·m (Agarwal et al. 2021); a difference is
significant when its 95% bootstrap CI excludes ½. Wall time gets no test (see
:data:`UNTESTED`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

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
from dynaq.experiments.config import uses
from dynaq.experiments.store import load_results, results_by_config
from dynaq.records import DIAGNOSTICS

COMPARE_METRICS = ("episodes_to_optimal_policy", "env_steps_to_optimal_policy",
                   "episodes_to_near_optimal_q", "env_steps_to_near_optimal_q",
                   "final_value_error", "mean_return", "backups", "wall_s")
"""Compared by default, with the model diagnostics (``final_model_error``, …) where the
results have them."""
HIGHER_IS_BETTER = frozenset({"mean_return", "total_return", "success_rate",
                              "final_model_coverage"})
"""Metrics where a larger value is better; for every other one smaller is better."""
UNTESTED = frozenset({"wall_s"})
"""Metrics reported as means and their ratio to the baseline's, with no CI and no test.

Wall time is not an outcome of (config, seed): the compiled runner times a batch of seeds
together, and the time depends on the machine, its load, the backend, the worker count,
the chunking and on whether numba had compiled yet. The spread over seeds is that noise,
not the seed-to-seed variation of the algorithm the bootstrap resamples, so a CI or a
verdict on it would claim a precision it does not have."""
HORIZON_COLUMNS = ("episodes", "total_steps", "until_near_optimal")
"""The config columns that set how long a run goes on (see the module docstring)."""
ALIASES = {"k": "planning_steps"}
"""Names the tables give config columns (the summary's ``k``), accepted for ``by``."""
TASK = "env"
"""The column whose values are the tasks (strata) of a stratified bootstrap."""
TEST = ("significant: the 95% bootstrap CI of P(better than the baseline) excludes 0.5 "
        "(P = Mann-Whitney U / (n·m), ties ½; a seed that never reached a 'to' metric counts "
        "as worse than any that did). Each group is tested against the baseline of its "
        "block, the groups with the same values of every other varying config column (env "
        "included: envs are never pooled). Mean and IQM (interquartile mean) are over the "
        "seeds that reached the metric. Wall time gets no CI and no test (it measures the "
        "machine as much as the algorithm): its means and their ratio to the baseline's.")
HORIZON_NOTE = ("Runs of different lengths: every metric of a block is measured over the "
                "horizon all its runs reached (column 'measured over').")


def column_name(df: pd.DataFrame, by: str) -> str:
    """The config column that ``by`` names: itself, a name of :data:`ALIASES`, or its
    spelling as a flag or in words (``planning-steps``, ``planning steps``).

    Raises:
        ConfigError: If ``by`` names no config column of ``df``.
    """
    cfg = config_columns(df)
    name = ALIASES.get(by, by.replace("-", "_").replace(" ", "_"))
    if name not in cfg:
        raise ConfigError(f"by must be a config column of the results ({', '.join(cfg)}; "
                          f"k for planning_steps); got {by!r}")
    return name


def group_columns(df: pd.DataFrame, by: str) -> list[str]:
    """``by`` (as :func:`column_name` reads it) and every other config column that varies in
    ``df``, the env included.

    Raises:
        ConfigError: If ``by`` names no config column of ``df``.
    """
    by = column_name(df, by)
    return [by, *(c for c in varying_columns(df) if c != by)]


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


def common_horizon(df: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The episodes of ``df`` within the horizon all its runs reached, and that horizon in
    words; ``df`` itself and ``""`` when its runs all have one budget (see the module
    docstring)."""
    cut = _horizon(df, lambda column: df.groupby([*config_columns(df), "seed"], dropna=False,
                                                 sort=False)[column].max())
    return (df, "") if cut is None else (_cut(df, *cut), _words(*cut))


_LAST = {"episode": "episodes_run", "env_steps": "env_steps"}
"""The :func:`~dynaq.analysis.stats.per_seed` column of a run's last value of an episode
column that a horizon is measured in."""


def _horizon(df: pd.DataFrame, last: Callable[[str], pd.Series]) -> tuple[str, object] | None:
    """Where :func:`common_horizon` cuts the runs of ``df`` (episodes, or per-seed rows: the
    config columns are what it reads): the episode column and its limit, None when the
    runs all have one budget. ``last(column)``: each run's last value of ``column``."""
    columns = [c for c in HORIZON_COLUMNS if c in df]
    if not columns:
        return None
    budgets = df[columns].drop_duplicates()
    if "until_near_optimal" in budgets:  # the first budget of such a run is no horizon
        until = budgets["until_near_optimal"].astype(bool)
        budgets = budgets.astype(str).where(~until, "until near-optimal")
    if len(budgets.drop_duplicates()) <= 1:
        return None
    column = ("env_steps" if "total_steps" in df and df["total_steps"].notna().any()
              else "episode")
    return column, last(column).min()


def _cut(df: pd.DataFrame, column: str, limit: object) -> pd.DataFrame:
    """The episodes of ``df`` up to ``limit`` of ``column``."""
    return df[df[column] <= limit]


def _words(column: str, limit: object) -> str:
    """A horizon of :func:`_horizon` in words."""
    return f"first {limit:,.0f} env steps" if column == "env_steps" else f"first {limit} episodes"


def _better(x: list[np.ndarray], y: list[np.ndarray], metric: str,
            seed: int) -> tuple[float, float, float]:
    """P(x better than y) with its CI."""
    if metric not in HIGHER_IS_BETTER:
        x, y = [-a for a in x], [-b for b in y]
    return probability_of_improvement(x, y, seed=seed)


def _row(group: pd.DataFrame, base: pd.DataFrame | None, metric: str, seed: int) -> dict:
    """Aggregates of one group and metric, and the test against the baseline (if any)."""
    tested = metric not in UNTESTED
    kept = task_scores(group, metric, task=None)
    row: dict = {"metric": metric, "seeds": len(group), "reached": len(kept[0])}
    for stat in ("mean", "iqm"):
        est = aggregate_ci(kept, stat, seed) if len(kept[0]) else (np.nan,) * 3
        row.update(zip((stat, f"{stat}_lo", f"{stat}_hi"),
                       est if tested else (est[0], np.nan, np.nan), strict=True))
    row.update(p_better=np.nan, p_lo=np.nan, p_hi=np.nan, significant=False, tested=tested,
               ratio=np.nan)
    if base is not None:
        base_mean = base[metric].mean()
        row["ratio"] = row["mean"] / base_mean if base_mean else np.nan
        x = task_scores(group, metric, ranked=True, task=None)
        y = task_scores(base, metric, ranked=True, task=None)
        if tested and len(x[0]) and len(y[0]):
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
    """Per metric and group: mean and IQM with 95% CIs, and the test against the baseline of
    the group's block (see the module docstring for groups, blocks and the horizon).

    Args:
        df: Results as from :func:`dynaq.load_results`.
        by: A config column, e.g. ``planning_steps`` (or ``k``, see :func:`column_name`).
        metrics: Columns of :func:`~dynaq.analysis.stats.per_seed` (default
            :data:`COMPARE_METRICS`).
        baseline: The value of ``by`` to test against (default: the smallest of each
            block); in each block the first group with it is the baseline, and a block
            without it, or of one group, has none.
        seed: Seeds every bootstrap.

    Returns:
        One row per (metric, group), metric by metric, block by block: the group columns,
        ``metric``, ``seeds``, ``reached`` (seeds with a value), ``mean``, ``mean_lo``,
        ``mean_hi``, ``iqm``, ``iqm_lo``, ``iqm_hi`` (no CI for :data:`UNTESTED`),
        ``baseline`` (whether this is its block's baseline), ``p_better``, ``p_lo``,
        ``p_hi`` (P(better than the baseline), NaN for the baseline itself and for
        :data:`UNTESTED`), ``significant``, ``tested``, ``ratio`` (the mean over the
        baseline's) and ``horizon`` (what the block was measured over, ``""``: whole runs).

    Raises:
        ConfigError: On an unknown column, metric or baseline value.
    """
    keys, within = _blocking(df, by)
    blocks = []
    for _, part in df.groupby(within, dropna=False, sort=True) if within else [((), df)]:
        part, horizon = common_horizon(part)
        blocks.append((per_seed(part), horizon))
    return _compare_blocks(blocks, keys, metrics, baseline, seed)


def compare_stored(out: str | Path, by: str, metrics: Sequence[str] | None = None,
                   baseline: object = None, seed: int = 0) -> pd.DataFrame:
    """:func:`compare` of :func:`~dynaq.experiments.store.load_results` of ``out``, the same
    table to the bit, computed one run config at a time
    (:func:`~dynaq.experiments.store.results_by_config`): a sweep of 10^7 episodes is
    compared in the memory of its largest config and the per-seed rows.

    Each config's per-seed rows are its own (:func:`~dynaq.analysis.stats.per_seed` works
    run by run), and they are all a comparison reads, but for where a block of runs of
    different budgets is cut: the configs of such a block are read once more, cut to its
    horizon.

    Raises:
        ConfigError: As :func:`compare`, and as
            :func:`~dynaq.experiments.store.load_results` for the directory.
    """
    tables: list[pd.DataFrame | None] = [per_seed(frame) for frame in results_by_config(out)]
    if not tables:  # no episode: refused as compare refuses the (empty) frame
        return compare(load_results(out), by, metrics, baseline, seed)
    seeds = pd.concat(tables, ignore_index=True)
    keys, within = _blocking(seeds, by)
    config = np.repeat(np.arange(len(tables)), [len(t) for t in tables])
    members, cuts = [], {}
    for _, part in seeds.groupby(within, dropna=False, sort=True) if within else [((), seeds)]:
        # a block's configs in the order of the results, as its episodes come in the frame
        members.append(np.unique(config[part.index]).tolist())
        cut = _horizon(part, lambda column, part=part: part[_LAST[column]])
        cuts.update(dict.fromkeys(members[-1], cut) if cut else {})
    if cuts:
        for i, frame in enumerate(results_by_config(out)):
            if i in cuts:
                kept = _cut(frame, *cuts[i])
                # a config all of whose runs began past the horizon has no run in it
                tables[i] = per_seed(kept) if len(kept) else None
    blocks = [(pd.concat([tables[i] for i in block if tables[i] is not None],
                         ignore_index=True),
               _words(*cuts[block[0]]) if block[0] in cuts else "")
              for block in members]
    return _compare_blocks(blocks, keys, metrics, baseline, seed)


def _blocking(df: pd.DataFrame, by: str) -> tuple[list[str], list[str]]:
    """The group columns of ``by`` (:func:`group_columns`) and the columns whose values
    make a block (see the module docstring), of results or of their per-seed rows.

    Raises:
        ConfigError: If ``by`` names no config column of ``df``.
    """
    keys = group_columns(df, by)
    by, within = keys[0], [c for c in keys[1:] if c not in HORIZON_COLUMNS]
    if by == "agent":
        # comparing agents, a setting only some have (Dyna-Q+'s κ) is part of what is
        # compared, not a block of its own: Dyna-Q has no κ to match a Dyna-Q+ by
        agents = df["agent"].unique()
        within = [c for c in within if all(uses(a, c) for a in agents)]
    return keys, within


def _compare_blocks(blocks: list[tuple[pd.DataFrame, str]], keys: list[str],
                    metrics: Sequence[str] | None, baseline: object, seed: int
                    ) -> pd.DataFrame:
    """:func:`compare`'s table from each block's per-seed rows and horizon in words."""
    by = keys[0]
    blocks = [(list(seeds.groupby(keys, dropna=False, sort=True)), horizon)
              for seeds, horizon in blocks]
    seeds = pd.concat([g for groups, _ in blocks for _, g in groups])
    metrics = _default_metrics(seeds) if metrics is None else metrics
    for metric in metrics:
        if metric not in seeds.columns:
            raise ConfigError(f"metric must be one of {', '.join(seeds.columns)}; "
                              f"got {metric!r}")
    value = _baseline_value(seeds[by], baseline, by)
    rows = []
    for metric in metrics:
        for groups, horizon in blocks:
            # a group alone in its block (by confounded with another setting) has nothing
            # to be compared with, and is no one's baseline
            base = next((g for key, g in groups if value is None or key[0] == value),
                        None) if len(groups) > 1 else None
            rows += [{**dict(zip(keys, key, strict=True)), **_row(group, None if group is base
                                                                  else base, metric, seed),
                      "baseline": group is base, "horizon": horizon} for key, group in groups]
    return pd.DataFrame(rows)


def _baseline_value(values: pd.Series, baseline: object, by: str) -> object:
    """The value of ``by`` that ``baseline`` is (or reads as, as typed on a command line);
    None when ``baseline`` is None.

    Raises:
        ConfigError: If no group has it, listing each value of ``by`` once.
    """
    if baseline is None:
        return None
    known = values.drop_duplicates().sort_values().tolist()
    for value in known:
        if value == baseline or str(value) == str(baseline):
            return value
    raise ConfigError(f"baseline must be a value of {by} ({', '.join(map(str, known))}); "
                      f"got {baseline!r}")


def compare_cells(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison as display strings: one row per (metric, group), the metric named
    once per block of rows, a setting blank where the row's agent has none, CIs in
    brackets, ``significant`` as baseline, no, "yes, better" or "yes, worse", and, where
    runs were cut to a common horizon, what each row was measured over. An
    :data:`UNTESTED` metric shows its means and, in place of P, the ratio of its mean to
    the baseline's."""
    keys = list(table.columns[:table.columns.get_loc("metric")])
    metric = table["metric"].map(metric_label)
    cells = pd.DataFrame({
        "metric": metric.where(metric.ne(metric.shift()), ""),
        # blank where the row's agent has no such setting, as in the summary table
        **{k: [str(v) if "agent" not in table or uses(a, k) else "" for a, v in zip(
            table.get("agent", table[k]), table[k], strict=True)] for k in keys},
        "seeds reached": [f"{r}/{s}" for r, s in zip(table["reached"], table["seeds"],
                                                      strict=True)],
        **{label: [fmt_ci(*r) if tested else _plain(r[0]) for r, tested in zip(
            table[[name, f"{name}_lo", f"{name}_hi"]].to_numpy(float), table["tested"],
            strict=True)] for name, label in (("mean", "mean [95% CI]"),
                                              ("iqm", "IQM [95% CI]"))},
        "P(better than baseline) [95% CI]": [_p_cell(*r) for r in table[
            ["tested", "p_better", "p_lo", "p_hi", "ratio"]].itertuples(index=False)],
        "significant": [_verdict(*r) for r in table[
            ["baseline", "tested", "significant", "p_better"]].itertuples(index=False)],
    })
    if table["horizon"].astype(bool).any():
        cells["measured over"] = table["horizon"].replace("", "whole runs")
    return cells


def _plain(value: float) -> str:
    return "–" if np.isnan(value) else f"{value:.3g}"


def _p_cell(tested: bool, p: float, lo: float, hi: float, ratio: float) -> str:
    if not tested:
        return "–" if np.isnan(ratio) else f"mean ×{ratio:.3g} the baseline's"
    return "–" if np.isnan(p) else f"{p:.2f} [{lo:.2f}, {hi:.2f}]"


def _verdict(baseline: bool, tested: bool, significant: bool, p_better: float) -> str:
    if baseline:
        return "baseline"
    if not tested:
        return "not tested"
    if np.isnan(p_better):
        return "–"
    if not significant:
        return "no"
    return "yes, better" if p_better > 0.5 else "yes, worse"


def compare_markdown(table: pd.DataFrame) -> str:
    """The comparison as a Markdown table (readable as plain text), with the test named."""
    notes = [TEST, *([HORIZON_NOTE] if table["horizon"].astype(bool).any() else [])]
    return markdown_rows(compare_cells(table)) + "\n" + "\n".join(notes) + "\n"
