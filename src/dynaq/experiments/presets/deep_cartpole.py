"""DQN vs Dyna-DQN on CartPole-v1 (the course's "Dyna + deep learning"; Mnih et al. 2015):
do k gradient steps on imagined data per real one help DQN, at the same compute as k more
on replayed real data?

A real step of Dyna-DQN does U (1 + k) gradient steps (``updates_per_step`` U on real data,
k imagined after each), so DQN at U (1 + k) is its control at equal compute, and DQN at U
the one with less (van Hasselt, Hessel & Aslanides 2019 compare the same way).

The reporter, :func:`deep_cartpole_report`, draws from the per-episode results the learning
curves against real env steps and the model's error over time, and writes notes whose every
number, and every conclusion, is computed from the data it is given. CartPole-v1 counts as
solved at a mean return of 475 over 10 consecutive episodes (its reward threshold); the
training episodes are used, ε-greedy exploration included. The reporter needs no torch: it
reads results only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaq.analysis.report import fmt_ci
from dynaq.analysis.stats import bootstrap_ci
from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.presets.base import LearningPreset

STEPS = 50_000
"""Real steps per run: DQN with these defaults reached a mean return of 475 over 10
episodes by 22–29k steps in our measurements, so this leaves room to see it hold."""
SOLVED_RETURN = 475.0
"""CartPole-v1's reward threshold."""
WINDOW = 10
"""Consecutive episodes whose mean return must reach :data:`SOLVED_RETURN`."""
GRID_POINTS = 200
"""Env-step grid on which per-seed curves are averaged."""


def deep_cartpole_report(df: pd.DataFrame, summary: pd.DataFrame, out: Path) -> str:
    """Write ``returns.png`` and ``model_error.png`` into ``out``; return Markdown notes.

    Args:
        df: One row per (config, seed, episode), as from :func:`dynaq.load_results`.
        summary: The summary table (unused: the notes need per-seed windows it lacks).
        out: The output directory.

    Returns:
        Markdown: a table per config (env steps to solve, seeds that solved, final
        return, model error, wall time) and plain-words conclusions drawn from it.
    """
    seeds = per_seed(df)
    table = per_config(seeds)
    _plot(df, out / "returns.png", "return", f"mean return of the last {WINDOW} episodes",
          hline=SOLVED_RETURN)
    has_model = df["model_error"].notna().any()
    if has_model:
        _plot(df[df["model_error"].notna()], out / "model_error.png", "model_error",
              "model RMSE of s′ on unseen real steps", logy=True, window=1)
    lines = ["## Deep Dyna on CartPole-v1", "",
             f"Solved: mean return ≥ {SOLVED_RETURN:g} over {WINDOW} consecutive training "
             "episodes (ε-greedy training returns). Mean [95% bootstrap CI] over all seeds; "
             "a seed that never solved counts its whole budget as its env steps to solve, so "
             "where seeds did not solve that mean is a lower bound.", "", _markdown(table), "",
             "### What the data say", ""]
    lines += [f"- {c}" for c in conclusions(df, seeds, table)]
    lines += ["", "![return against real env steps](returns.png)"]
    if has_model:
        lines += ["", "![model error against real env steps](model_error.png)"]
    return "\n".join(lines)


CONFIG = ["agent", "planning_steps", "updates_per_step"]
"""What tells this preset's runs apart."""


def _label(agent: str, k: Any, updates: Any) -> str:
    label = f"{agent}, U = {float(updates):g}"
    return label if agent == "dqn" else f"{label}, k = {int(k)}"


def per_seed(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (agent, k, U, seed): whether it solved, env steps when first solved (the
    run's env steps, its budget, if never: a censored value, a lower bound), final
    return (mean of the last window), last model error, wall time, env steps run and
    gradient steps per real step."""
    rows = []
    for (agent, k, updates, seed), run in df.sort_values("episode").groupby(
            [*CONFIG, "seed"], sort=True):
        ret = run["return"].to_numpy(float)
        rolling = pd.Series(ret).rolling(WINDOW).mean().to_numpy()
        hit = np.flatnonzero(rolling >= SOLVED_RETURN)
        errors = run["model_error"].dropna()
        rows.append({"config": _label(agent, k, updates), "agent": agent, "k": int(k),
                     "U": float(updates), "seed": seed,
                     "solved": bool(hit.size),
                     # an unsolved seed is censored at its budget: never left out
                     "steps_to_solve": float(run["env_steps"].iloc[hit[0]] if hit.size
                                             else run["env_steps"].max()),
                     "final_return": float(ret[-WINDOW:].mean()),
                     "first_model_error": errors.iloc[0] if len(errors) else np.nan,
                     "model_error": errors.iloc[-1] if len(errors) else np.nan,
                     "wall_s": float(run["wall_s"].max()),
                     "env_steps": float(run["env_steps"].max()),
                     "updates": float(run["backups"].max() / run["env_steps"].max())})
    return pd.DataFrame(rows)


def _ci(x: pd.Series) -> tuple[float, float, float]:
    x = x.dropna().to_numpy(float)
    return tuple(float(v) for v in bootstrap_ci(x)) if x.size else (np.nan,) * 3


def per_config(seeds: pd.DataFrame) -> pd.DataFrame:
    """Mean and CI per config of the per-seed metrics, and how many seeds solved."""
    rows = []
    for (agent, k, updates), group in seeds.groupby(["agent", "k", "U"], sort=True):
        row = {"config": group["config"].iloc[0], "agent": agent, "k": k, "U": updates,
               "seeds": len(group), "solved": int(group["solved"].sum())}
        for metric in ("steps_to_solve", "final_return", "model_error", "wall_s",
                       "env_steps", "updates"):
            row[metric], row[f"{metric}_lo"], row[f"{metric}_hi"] = _ci(group[metric])
        rows.append(row)
    return pd.DataFrame(rows)


def _markdown(table: pd.DataFrame) -> str:
    head = ["config", "gradient steps / real step", "seeds solved",
            "env steps to solve (unsolved: the budget)",
            f"final return (last {WINDOW})", "model error (last)", "wall s / run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        cells = [r["config"], f"{r['updates']:.2f}", f"{r['solved']}/{r['seeds']}"] + [
            fmt_ci(r[m], r[f"{m}_lo"], r[f"{m}_hi"])
            for m in ("steps_to_solve", "final_return", "model_error", "wall_s")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def conclusions(df: pd.DataFrame, seeds: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    """Plain-words findings, each computed from the results (no fixed claims)."""
    notes = _k0_check(df)
    dqn = table[table["agent"] == "dqn"]
    if dqn.empty:
        return notes + ["No DQN baseline ran, so planning cannot be compared with none."]
    base = dqn.sort_values("U").iloc[0]
    for _, row in table.iterrows():
        if row["config"] == base["config"] or (row["agent"] != "dqn" and row["k"] == 0):
            continue
        notes.append(_compare(row, base))
        matched = dqn[np.isclose(dqn["U"], row["U"] * (1 + row["k"]))]
        if row["agent"] != "dqn" and not matched.empty and matched.iloc[0]["config"] != \
                base["config"]:
            notes.append("At equal compute: " + _compare(row, matched.iloc[0]))
    notes += _model_notes(seeds)
    return notes


def _k0_check(df: pd.DataFrame) -> list[str]:
    """Whether Dyna-DQN with k = 0 reproduced DQN's returns seed by seed, at each U."""
    index = ["updates_per_step", "seed", "episode"]
    a = df[df["agent"] == "dqn"].set_index(index)["return"]
    b = df[(df["agent"] != "dqn") & (df["planning_steps"] == 0)].set_index(index)["return"]
    seeds = sorted({i[:2] for i in a.index} & {i[:2] for i in b.index})
    if not seeds:
        return []
    same = [s for s in seeds if a.loc[s].equals(b.loc[s])]
    if len(same) == len(seeds):
        return [f"Dyna-DQN with k = 0 gave exactly DQN's returns on all {len(seeds)} shared "
                "seeds, as it must: without imagined data it is DQN."]
    return [f"Dyna-DQN with k = 0 differed from DQN on {len(seeds) - len(same)} of "
            f"{len(seeds)} seeds: a reproducibility bug to investigate."]


def _compare(row: pd.Series, base: pd.Series) -> str:
    """One sentence: this config against the baseline on speed, reliability, cost."""
    name, ref = row["config"], base["config"]
    parts = [f"{name}: {row['solved']}/{row['seeds']} seeds solved ({ref}: "
             f"{base['solved']}/{base['seeds']})"]
    verdict = _ci_verdict(row, base, "steps_to_solve", lower_is_better=True)
    parts.append(f"env steps to solve {row['steps_to_solve']:,.0f} vs "
                 f"{base['steps_to_solve']:,.0f}, {verdict}")
    verdict = _ci_verdict(row, base, "final_return", lower_is_better=False)
    parts.append(f"final return {row['final_return']:.0f} vs {base['final_return']:.0f}, "
                 f"{verdict}")
    per_step, base_per_step = (r["wall_s"] / r["env_steps"] for r in (row, base))
    if base_per_step > 0:
        parts.append(f"at {per_step / base_per_step:.1f}× the wall time per real step")
    return "; ".join(parts) + "."


def _ci_verdict(row: pd.Series, base: pd.Series, metric: str, lower_is_better: bool) -> str:
    lo, hi = row[f"{metric}_lo"], row[f"{metric}_hi"]
    base_lo, base_hi = base[f"{metric}_lo"], base[f"{metric}_hi"]
    if np.isnan([lo, hi, base_lo, base_hi]).any():
        return "too few seeds to tell"
    if hi < base_lo or lo > base_hi:
        better = (hi < base_lo) == lower_is_better
        return "better (the 95% CIs do not overlap)" if better else \
            "worse (the 95% CIs do not overlap)"
    return "no clear difference (the 95% CIs overlap)"


def _model_notes(seeds: pd.DataFrame) -> list[str]:
    with_model = seeds[seeds["model_error"].notna()]
    if with_model.empty:
        return []
    first, last = with_model["first_model_error"].mean(), with_model["model_error"].mean()
    trend = "fell" if last < first else "rose"
    return [f"The model's one-step error on real transitions it had not trained on {trend} "
            f"from {first:.3g} at its first measurement to {last:.3g} at the end (RMSE of s′ "
            "in CartPole's own units, mean over the runs with a model)."]


def _grid_curves(df: pd.DataFrame, y: str, grid: np.ndarray, window: int) -> np.ndarray:
    """Per seed, the mean ``y`` of the last ``window`` episodes finished by each grid step."""
    curves = []
    for _, run in df.sort_values("episode").groupby("seed"):
        x = run["env_steps"].to_numpy(float)
        v = run[y].rolling(window, min_periods=1).mean().to_numpy(float)
        idx = np.searchsorted(x, grid, side="right") - 1
        curves.append(np.where(idx >= 0, v[np.maximum(idx, 0)], np.nan))
    return np.array(curves)


def _plot(df: pd.DataFrame, path: Path, y: str, ylabel: str, hline: float | None = None,
          logy: bool = False, window: int = WINDOW) -> Path:
    """Mean over seeds of ``y`` (per seed, the mean of its last ``window`` episodes) against
    real env steps, one line and 95% CI band per config; Dyna-DQN's k = 0 dashed, since it
    lies exactly on DQN's."""
    from dynaq.analysis.plots import figures, save_figure  # here: `import dynaq` stays light

    fig, ax = figures.subplots(figsize=(7, 4.5))
    for (agent, k, updates), group in df.groupby(CONFIG, sort=True):
        end = group.groupby("seed")["env_steps"].max().min()
        grid = np.linspace(0, end, GRID_POINTS)
        curves = _grid_curves(group, y, grid, window)
        keep = ~np.isnan(curves).any(axis=0)
        mean, lo, hi = bootstrap_ci(curves[:, keep], axis=0)
        (line,) = ax.plot(grid[keep], mean, label=_label(agent, k, updates), lw=1.5,
                          ls="--" if agent != "dqn" and k == 0 else "-")
        ax.fill_between(grid[keep], lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    if hline is not None:
        ax.axhline(hline, color="grey", ls="--", lw=1, label=f"solved ({hline:g})")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("real env steps")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{df['env'].iloc[0]}: mean over {df['seed'].nunique()} seeds, 95% CI")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def _experiment(seeds: int) -> Experiment:
    # Dyna-DQN with k = 0 is DQN bit for bit (tests/deep check it), so DQN stands for k = 0:
    # DQN at U = 0.5 (the defaults), DQN at U = 1, and Dyna-DQN at U = 0.5 with k = 1 (one
    # gradient step per real step, half of them on imagined data).
    budget = {"env": "CartPole-v1", "episodes": None, "total_steps": STEPS}
    runs = (RunConfig(agent="dqn", **budget), RunConfig(agent="dqn", updates_per_step=1, **budget),
            RunConfig(agent="dyna-dqn", planning_steps=1, **budget))
    return Experiment("deep-cartpole", runs, seeds)


PRESET = LearningPreset("deep-cartpole", "DQN vs Dyna-DQN (neural one-step model) at equal "
                        "gradient steps, CartPole-v1, 50k real steps", default_seeds=5,
                        reporter=deep_cartpole_report, experiment=_experiment,
                        backend="process")
