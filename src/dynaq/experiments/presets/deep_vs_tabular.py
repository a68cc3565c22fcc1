"""Deep against tabular where the truth is known: DQN and Dyna-DQN on one-hot states beside
Q-learning, Dyna-Q and tabular replay, on the Dyna maze and on FrozenLake without and with
slipping, all measured against the exact MDP (Sutton & Barto §8.2; the course's "Dyna-Q
(tabular) vs DQN replay buffer").

Every agent sees the same world at the same γ (:data:`GAMMA`) and, except Q-learning (one
backup per real step, the reference without planning), does :data:`BACKUPS` value backups per
real step: Dyna-Q and tabular replay one direct backup and k = BACKUPS − 1 planned ones;
DQN ``updates_per_step`` BACKUPS gradient steps on replayed minibatches; Dyna-DQN one on
real data and k on imagined ones, from a categorical model (a softmax over next states, the
neural counts model) or, for contrast, from the regression model, whose imagined "states"
are blends of one-hot vectors. A gradient step on a minibatch counts as one backup, as the
course's table has it; it touches :data:`BATCH` transitions where a tabular backup touches
one, so the comparison is of backups, not of arithmetic.

The network's Q on every one-hot state is a Q table, so every agent gets the same exact
metrics: the value error (max over reachable states of |max_a Q − V*|) and the value of
its greedy policy from the start, against V*.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.presets import deep_eval as ev
from dynaq.experiments.presets import description
from dynaq.experiments.presets.base import LearningPreset

WORLDS = {"dynaq/DynaMaze-v0": 4000, "dynaq/FrozenLakeNotSlippery-v0": 4000,
          "FrozenLake-v1": 20_000}
"""Each world and its real steps per run (the slippery lake pays rarely: it needs more)."""
GAMMA = 0.95
BACKUPS = 4
"""Value backups per real step of every agent but Q-learning."""
BATCH = 32
"""Transitions per deep minibatch."""
EPSILON = 0.1
"""ε of every agent's behaviour (the deep agents' after a decay from 1 over
:data:`DECAY` steps: a random network has no ties to break at random)."""
DECAY = 1000
DEEP = {"hidden": (64, 64), "learning_starts": 200, "epsilon_decay_steps": DECAY,
        "batch_size": BATCH}
DYNA_DEEP = {"model_hidden": (64, 64), "model_holdout": 0.2, "model_steps": 200,
             "imagined_ratio": 1.0}
"""Dyna-DQN's model: fitted MBPO's way and used from its first fit on, as tabular Dyna-Q uses
its table. (A gate on the next-state error would never open in the slippery lake: there a
next state drawn from even the true distribution misses the real one two times in three, so
the error stays near 1, where predicting "no change" scores; the learned categorical model
scored 0.99. Tried with a gate of 0.5, Dyna-DQN replayed real data throughout and gave
DQN's very numbers.)"""
BY = ["env", "agent", "planning_steps", "updates_per_step", "world_model"]
"""The columns that tell this preset's configs apart."""
LABELS = {("q-learning", "-"): "Q-learning (1 backup/step)",
          ("dyna-q", "-"): "Dyna-Q (deterministic model)", ("replay", "-"): "tabular replay",
          ("dqn", "-"): "DQN (replay)",
          ("dyna-dqn", "categorical"): "Dyna-DQN, categorical model",
          ("dyna-dqn", "neural"): "Dyna-DQN, regression model"}


def label(conf: dict) -> str:
    """The label of a config."""
    model = conf.get("world_model", "-") if conf["agent"] == "dyna-dqn" else "-"
    return LABELS[(conf["agent"], model)]


def _experiment(seeds: int) -> Experiment:
    k = BACKUPS - 1
    runs = []
    for env, steps in WORLDS.items():
        budget = {"env": env, "episodes": None, "total_steps": steps, "gamma": GAMMA,
                  "epsilon": EPSILON}
        runs += [RunConfig(agent="q-learning", **budget),
                 RunConfig(agent="dyna-q", planning_steps=k, **budget),
                 RunConfig(agent="replay", planning_steps=k, **budget),
                 RunConfig(agent="dqn", updates_per_step=BACKUPS, **budget, **DEEP)]
        runs += [RunConfig(agent="dyna-dqn", updates_per_step=1, planning_steps=k,
                           world_model=model, **budget, **DEEP, **DYNA_DEEP)
                 for model in ("categorical", "neural")]
    return Experiment("deep-vs-tabular", tuple(runs), seeds)


def per_seed(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (config, seed): the final value error, the final greedy policy's value as
    a share of V*(start), whether that policy is optimal, the area under the value-error
    curve (its mean over the run's episodes, weighted by their steps), the model error (last)
    and the backups per real step."""
    rows = []
    for key, run in df.sort_values("episode").groupby([*BY, "seed"], sort=True):
        conf = dict(zip([*BY, "seed"], key, strict=True))
        steps = run["steps"].to_numpy(float)
        err = run["value_error"].to_numpy(float)
        v_star = float(run["v_star_start"].iloc[-1])
        model = run["model_error"].dropna()
        rows.append({**conf, "config": label(conf),
                     "final_value_error": float(err[-1]),
                     "mean_value_error": float(np.average(err, weights=steps)),
                     "policy_share": float(run["policy_value"].iloc[-1]) / v_star
                     if v_star else np.nan,
                     "optimal": bool(run["policy_optimal"].iloc[-1]),
                     "model_error": float(model.iloc[-1]) if len(model) else np.nan,
                     "backups": float(run["backups"].max()) / float(run["env_steps"].max())})
    return pd.DataFrame(rows)


def report(df: pd.DataFrame, summary: pd.DataFrame, out: Path) -> str:
    """Write ``value_error.png`` into ``out``; return the Markdown notes."""
    seeds = per_seed(df)
    lines = ["## Deep against tabular, measured against the exact MDP", "",
             f"γ = {GAMMA:g}, ε = {EPSILON:g}; {BACKUPS} backups per real step for every agent "
             f"but Q-learning (a deep one: a gradient step on {BATCH} transitions). Mean [95% "
             f"bootstrap CI] over {df['seed'].nunique()} seeds, at the end of each run. Value "
             "error: max over reachable states of |max_a Q − V*|. Policy value: the greedy "
             "policy's exact value from the start, as a share of V*(start). The deep agents "
             f"start learning after {DEEP['learning_starts']} real steps, so their backups "
             "per step over the whole run fall short of the others'."]
    for env, steps in WORLDS.items():
        part = seeds[seeds["env"] == env]
        if part.empty:
            continue
        lines += ["", f"### {env} ({steps:,} real steps)", "", _table(part)]
    _plot(df, out / "value_error.png")
    lines += ["", "![value error against real steps](value_error.png)", "",
              "### What the data say", ""]
    lines += [f"- {c}" for c in conclusions(seeds)]
    return "\n".join(lines)


def _table(part: pd.DataFrame) -> str:
    head = ["agent", "backups / real step (whole run)", "final value error",
            "mean value error (run)", "greedy policy value / V*", "seeds optimal",
            "model error (last)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in LABELS.values():
        g = part[part["config"] == name]
        if g.empty:
            continue
        lines.append("| " + " | ".join([
            name, f"{g['backups'].mean():.2f}", ev.cell(g["final_value_error"]),
            ev.cell(g["mean_value_error"]), ev.cell(g["policy_share"]),
            f"{int(g['optimal'].sum())}/{len(g)}", ev.cell(g["model_error"])]) + " |")
    return "\n".join(lines)


def conclusions(seeds: pd.DataFrame) -> list[str]:
    """Plain-words findings, each computed from the per-seed scores."""
    notes = []
    for env in WORLDS:
        part = seeds[seeds["env"] == env]
        if part.empty:
            continue
        means = part.groupby("config")["final_value_error"].mean()
        best, worst = means.idxmin(), means.idxmax()
        notes.append(f"{env}: the lowest final value error was {best}'s ({means[best]:.3g}), "
                     f"the highest {worst}'s ({means[worst]:.3g}).")
        for a, b in (("Dyna-DQN, categorical model", "DQN (replay)"),
                     ("Dyna-DQN, categorical model", "Dyna-DQN, regression model"),
                     ("Dyna-Q (deterministic model)", "tabular replay"),
                     ("DQN (replay)", "tabular replay")):
            mean, lo, hi, n = ev.paired(part, [], "final_value_error", {"config": a},
                                        {"config": b})
            if n:
                notes.append(f"{env}, {a} − {b} (final value error, seed by seed): "
                             f"{ev.fmt_ci(mean, lo, hi)}, "
                             f"{ev.verdict(lo, hi, better='lower')} for {a}.")
    return notes


def _plot(df: pd.DataFrame, path: Path) -> Path:
    """Value error against real steps, one panel per world, mean over seeds with a 95%
    band, per agent."""
    from dynaq.analysis.plots import figures, save_figure  # here: `import dynaq` stays light
    from dynaq.analysis.stats import bootstrap_ci

    envs = [e for e in WORLDS if (df["env"] == e).any()]
    fig, axes = figures.subplots(1, len(envs), figsize=(5.5 * len(envs), 4), squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        part = df[df["env"] == env]
        grid = np.linspace(0, WORLDS[env], ev.CURVE_POINTS)
        for key, group in part.groupby(BY, sort=True):
            conf = dict(zip(BY, key, strict=True))
            curves = np.array([np.interp(grid, run["env_steps"].to_numpy(float),
                                         run["value_error"].to_numpy(float))
                               for _, run in group.sort_values("episode").groupby("seed")])
            mean, lo, hi = bootstrap_ci(curves, axis=0)
            (line,) = ax.plot(grid, mean, lw=1.4, label=label(conf))
            ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.15, lw=0)
        ax.set_yscale("log")
        ax.set_xlabel("real env steps")
        ax.set_ylabel("value error (max |max_a Q − V*|)")
        ax.set_title(env)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=7)
    fig.suptitle(f"Mean over {df['seed'].nunique()} seeds, 95% CI")
    fig.tight_layout()
    return save_figure(fig, path)


PRESET = LearningPreset("deep-vs-tabular", description("deep-vs-tabular"), default_seeds=10,
                        reporter=report, experiment=_experiment, backend="process")
