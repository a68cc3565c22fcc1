"""What the deep reproductions share: per-seed scores from greedy evaluations, tables with
bootstrap CIs over seeds, paired differences, and curves against real steps, gradient steps
and wall time.

Scores are computed from the greedy evaluation episodes (``eval_return``, recorded apart
from the ε-greedy training episodes) of every seed; none is ever left out:

- **AUC**: the mean evaluation return over the run's evaluations, which fall every
  ``eval_period`` real steps (the area under the evaluation curve divided by its length);
- **final**: the mean of the last :data:`FINAL_EVALS` evaluations;
- **real steps to solve**: the real steps at the first evaluation whose return reaches the
  env's threshold; a seed that never does is *censored* at its budget (its value is the
  budget, a lower bound), so that the mean over all seeds is a lower bound where seeds did
  not solve, and never a mean over only the seeds that did.

The reporters need no torch: they read results only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dynaq.analysis.report import fmt_ci
from dynaq.analysis.stats import bootstrap_ci, iqm

FINAL_EVALS = 3
"""Evaluations averaged into a run's final score."""
SOLVED = {"CartPole-v1": 475.0, "Acrobot-v1": -100.0, "MountainCar-v0": -110.0}
"""Evaluation return at which an env counts as solved (its Gymnasium reward threshold)."""
CURVE_POINTS = 100
"""Points of the curves against gradient steps and wall time."""


def evaluations(df: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """The evaluation rows: ``by``, seed, env_steps, backups (gradient steps), wall_s and
    eval_return, ordered by real steps within each seed."""
    rows = df[df["eval_return"].notna()]
    return rows[[*by, "seed", "env_steps", "backups", "wall_s", "eval_return"]].sort_values(
        [*by, "seed", "env_steps"], kind="stable")


def per_seed(df: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """One row per (config, seed): AUC, final score, real steps to solve (censored at the
    budget), whether it solved, termination recall and precision (the last measured),
    gradient steps per real step and wall seconds."""
    evals = evaluations(df, by).groupby([*by, "seed"], sort=True)
    last = df.sort_values("episode").groupby([*by, "seed"], sort=True)
    out = []
    for key, run in last:
        e = evals.get_group(key) if key in evals.groups else None
        env = run["env"].iloc[0]
        budget = float(run["env_steps"].max())
        row = dict(zip([*by, "seed"], key, strict=True))
        if e is not None and len(e):
            ret = e["eval_return"].to_numpy(float)
            hit = np.flatnonzero(ret >= SOLVED.get(env, np.inf))
            row.update(auc=float(ret.mean()), final=float(ret[-FINAL_EVALS:].mean()),
                       solved=bool(hit.size),
                       steps_to_solve=float(e["env_steps"].iloc[hit[0]]) if hit.size
                       else budget)
        else:
            row.update(auc=np.nan, final=np.nan, solved=False, steps_to_solve=budget)
        recall, precision = run["term_recall"].dropna(), run["term_precision"].dropna()
        row.update(recall=float(recall.iloc[-1]) if len(recall) else np.nan,
                   precision=float(precision.iloc[-1]) if len(precision) else np.nan,
                   model_error=float(run["model_error"].dropna().iloc[-1])
                   if run["model_error"].notna().any() else np.nan,
                   updates=float(run["backups"].max()) / budget,
                   wall_s=float(run["wall_s"].max()), budget=budget)
        out.append(row)
    return pd.DataFrame(out)


def ci(values: pd.Series) -> tuple[float, float, float]:
    """Mean and 95% bootstrap CI over seeds (NaN for none)."""
    x = values.dropna().to_numpy(float)
    return tuple(float(v) for v in bootstrap_ci(x)) if x.size else (np.nan,) * 3


def cell(values: pd.Series) -> str:
    """``mean [lo, hi]`` of a per-seed column."""
    return fmt_ci(*ci(values))


def paired(seeds: pd.DataFrame, by: Sequence[str], metric: str, a: dict, b: dict
           ) -> tuple[float, float, float, int]:
    """Mean and 95% CI of ``metric`` of config ``a`` minus config ``b``, seed by seed (both
    runs of a seed start from the same Q-network and the same first steps), and how many
    seeds both have."""
    def pick(conf: dict) -> pd.Series:
        mask = np.ones(len(seeds), bool)
        for k, v in conf.items():
            mask &= (seeds[k] == v).to_numpy()
        return seeds[mask].set_index("seed")[metric]

    diff = (pick(a) - pick(b)).dropna()
    if diff.empty:
        return np.nan, np.nan, np.nan, 0
    return (*ci(diff), len(diff))


def verdict(lo: float, hi: float, better: str = "higher") -> str:
    """How a paired difference's 95% CI reads."""
    if np.isnan(lo) or np.isnan(hi):
        return "too few seeds to tell"
    if lo > 0:
        return "better" if better == "higher" else "worse"
    if hi < 0:
        return "worse" if better == "higher" else "better"
    return "no clear difference"


def summary_iqm(values: pd.Series) -> float:
    """The interquartile mean of a per-seed column (robust to one wild seed)."""
    x = values.dropna().to_numpy(float)
    return float(iqm(x)) if x.size else np.nan


def plot_curves(df: pd.DataFrame, path: Path, by: Sequence[str], label, panels: Sequence,
                title: str, order: Sequence[str] = ()) -> Path:
    """Evaluation return against real steps, gradient steps and wall time (columns), one
    row of panels per ``panels`` entry (a (row title, mask function) pair); per config the
    mean over seeds with a 95% bootstrap band, each label in one colour throughout (the
    labels of ``order`` first, in that order)."""
    from dynaq.analysis.plots import figures, save_figure  # here: `import dynaq` stays light

    evals = evaluations(df, by)
    labels = {label(dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)))
              for key, _ in evals.groupby(list(by), sort=True)}
    ranked = [n for n in order if n in labels] + sorted(labels - set(order))
    colour = {name: f"C{i % 10}" for i, name in enumerate(ranked)}
    xs = (("env_steps", "real env steps"), ("backups", "gradient steps"),
          ("wall_s", "wall seconds"))
    fig, axes = figures.subplots(len(panels), 3, figsize=(13, 3.2 * len(panels)),
                                 squeeze=False)
    for row, (name, mask) in enumerate(panels):
        part = evals[mask(evals)]
        for key, group in part.groupby(list(by), sort=True):
            conf = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
            for col, (x, xlabel) in enumerate(xs):
                grid, curves = _curves(group, x)
                if not len(curves):
                    continue
                mean, lo, hi = bootstrap_ci(curves, axis=0)
                ax = axes[row, col]
                who = label(conf)
                ax.plot(grid, mean, lw=1.4, label=who, color=colour[who])
                ax.fill_between(grid, lo, hi, color=colour[who], alpha=0.15, lw=0)
                ax.set_xlabel(xlabel)
        axes[row, 0].set_ylabel(f"{name}\ngreedy evaluation return")
        axes[row, 0].legend(frameon=False, fontsize=7)
        for ax in axes[row]:
            ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def _curves(group: pd.DataFrame, x: str) -> tuple[np.ndarray, np.ndarray]:
    """Per seed, the evaluation return on a common grid of ``x``: at the real steps of the
    evaluations themselves (all seeds share them), else interpolated on the range every
    seed covers."""
    runs = [run for _, run in group.groupby("seed")]
    if x == "env_steps":
        grids = {tuple(r["env_steps"]) for r in runs}
        if len(grids) == 1:
            return np.array(next(iter(grids)), float), np.array(
                [r["eval_return"].to_numpy(float) for r in runs])
    end = min(float(r[x].max()) for r in runs)
    start = max(float(r[x].min()) for r in runs)
    if not end > start:
        return np.array([]), np.array([])
    grid = np.linspace(start, end, CURVE_POINTS)
    return grid, np.array([np.interp(grid, r[x].to_numpy(float), r["eval_return"].to_numpy(float))
                           for r in runs])
