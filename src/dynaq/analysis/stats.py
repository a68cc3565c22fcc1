"""Means with 95% bootstrap CIs, per-seed "reached and stayed" metrics, and summaries."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd

from dynaq.experiments.config import RunConfig
from dynaq.metrics import q_is_near_optimal

CONFIDENCE = 0.95
N_RESAMPLES = 2000
SUMMARY_METRICS = ("episodes_to_optimal_policy", "env_steps_to_optimal_policy",
                   "episodes_to_near_optimal_q", "env_steps_to_near_optimal_q", "backups",
                   "wall_s")


def config_columns(df: pd.DataFrame) -> list[str]:
    """The run-config columns of a results frame (what identifies a configuration)."""
    return [f.name for f in fields(RunConfig) if f.name in df.columns]


def bootstrap_ci(data: np.ndarray, axis: int = 0, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Mean and 95% percentile-bootstrap CI of ``data`` along ``axis``.

    NaNs are not allowed; with fewer than two samples the bounds are NaN.

    Returns:
        ``(mean, low, high)``, each with ``axis`` removed.
    """
    data = np.asarray(data, dtype=float)
    mean = data.mean(axis=axis)
    if data.shape[axis] < 2:
        nan = np.full_like(mean, np.nan)
        return mean, nan, nan
    from scipy import stats  # imported here: it costs more than the rest of `import dynaq`

    res = stats.bootstrap((data,), np.mean, axis=axis, confidence_level=CONFIDENCE,
                          n_resamples=N_RESAMPLES, method="percentile",
                          rng=np.random.default_rng(seed))
    low, high = res.confidence_interval
    # Degenerate samples (all equal) give NaN bounds in some SciPy versions.
    return mean, np.where(np.isnan(low), mean, low), np.where(np.isnan(high), mean, high)


def _reached(df: pd.DataFrame, cell: pd.Series, flag: pd.Series, name: str) -> pd.DataFrame:
    """Per cell: first episode from which ``flag`` holds to the end, and env steps then."""
    last_bad = df["episode"].where(~flag.astype(bool)).groupby(cell).transform("max").fillna(0)
    last = df["episode"].groupby(cell).transform("max")
    hit = (df["episode"] == last_bad + 1) & (last_bad < last)
    rows = df.loc[hit, ["episode", "env_steps"]].set_axis(cell[hit].to_numpy())
    return rows.rename(columns={"episode": f"episodes_to_{name}",
                                "env_steps": f"env_steps_to_{name}"})


def per_seed(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (config, seed): when the greedy policy became and stayed optimal, when Q
    became and stayed near-optimal (value_error ≤ 0.05·|V*(start)|), total backups, wall
    time, episodes run and mean return. Not reached: NaN."""
    keys = [*config_columns(df), "seed"]
    cell = df.groupby(keys, dropna=False, sort=False).ngroup()
    g = df.groupby(cell)
    out = g[[*keys, "v_star_start"]].first().join(
        g.agg(episodes_run=("episode", "max"), env_steps=("env_steps", "max"),
              backups=("backups", "max"), wall_s=("wall_s", "max"),
              mean_return=("return", "mean")))
    near = q_is_near_optimal(df["value_error"].to_numpy(float), df["v_star_start"].to_numpy())
    for name, flag in (("optimal_policy", df["policy_optimal"].fillna(False)),
                       ("near_optimal_q", pd.Series(near, index=df.index))):
        out = out.join(_reached(df, cell, flag, name))
    return out.reset_index(drop=True)


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """One row per config: seeds, and for each of :data:`SUMMARY_METRICS` the mean, the 95%
    bootstrap CI (``_lo``, ``_hi``) and, for the "to" metrics, how many seeds ``_reached``
    it (the mean and CI are over those seeds)."""
    seeds = per_seed(df)
    cfg = config_columns(df)
    rows = []
    for values, group in seeds.groupby(cfg, dropna=False, sort=False):
        row = dict(zip(cfg, values, strict=True))
        row["seeds"] = len(group)
        for metric in SUMMARY_METRICS:
            x = group[metric].dropna().to_numpy(float)
            mean, lo, hi = bootstrap_ci(x) if x.size else (np.nan, np.nan, np.nan)
            row.update({metric: float(mean), f"{metric}_lo": float(lo),
                        f"{metric}_hi": float(hi)})
            if metric.startswith(("episodes_to", "env_steps_to")):
                row[f"{metric}_reached"] = int(x.size)
        rows.append(row)
    return pd.DataFrame(rows)


def curve(df: pd.DataFrame, y: str = "steps", x: str = "episode") -> pd.DataFrame:
    """Mean of ``y`` with its 95% bootstrap CI at each ``x`` per config, over the seeds.

    Only the ``x`` values every seed reached are kept, so each point averages all seeds.
    """
    cfg = config_columns(df)
    parts = []
    for values, group in df.groupby(cfg, dropna=False, sort=False):
        table = group.pivot_table(index="seed", columns=x, values=y).dropna(axis=1)
        mean, lo, hi = bootstrap_ci(table.to_numpy(), axis=0)
        part = pd.DataFrame({x: table.columns, "mean": mean, "lo": lo, "hi": hi})
        for k, v in zip(cfg, values, strict=True):
            part[k] = v
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
