"""The course's "Relation to experience replay", measured: tabular replay of real
transitions against Dyna-Q's planning from a model, on a deterministic maze and on two
stochastic worlds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dynaq.analysis.plots import figures, plot_curves, save_figure
from dynaq.analysis.report import fmt_ci
from dynaq.analysis.stats import bootstrap_ci
from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.presets import description
from dynaq.experiments.presets.base import LearningPreset
from dynaq.experiments.presets.common import (
    STOCHASTIC_WORLDS,
    ci_text,
    compare_text,
    tail_stats,
)

MAZE = "dynaq/DynaMaze-v0"
MAZE_EPISODES = 50
KS = (5, 50)
AGENTS = (("dyna-q", "deterministic"), ("replay", "deterministic"), ("dyna-q", "counts"))
"""Dyna-Q with each model, and replay (whose buffer outlasts every run: nothing is evicted)."""


def _experiment(seeds: int) -> Experiment:
    runs = [RunConfig(env=MAZE, agent=agent, planning_steps=k, episodes=MAZE_EPISODES)
            for agent, _ in AGENTS[:2] for k in KS]
    runs += [RunConfig(env=env, agent=agent, model=model, planning_steps=k, episodes=episodes)
             for env, episodes in STOCHASTIC_WORLDS.items() for agent, model in AGENTS for k in KS]
    return Experiment("replay-vs-dyna", tuple(runs), seeds)


def _label(agent: str, model: str) -> str:
    return "replay" if agent == "replay" else f"dyna-q, {model} model"


def _maze_lines(df: pd.DataFrame, k: int) -> list[str]:
    """Dyna-Q against replay on the deterministic maze at one k: mean steps per episode
    after the first (the same random walk for both), their paired difference by seed, and
    the episodes where the two curves' CIs are apart."""
    part = df[(df["env"] == MAZE) & (df["planning_steps"] == k) & (df["episode"] >= 2)]
    table = part.pivot_table(index=["seed", "episode"], columns="agent", values="steps")
    per_seed = table.groupby(level="seed").mean()
    cells = {a: fmt_ci(*(float(v) for v in bootstrap_ci(per_seed[a].to_numpy())))
             for a in ("dyna-q", "replay")}
    diff = [float(v) for v in bootstrap_ci((per_seed["replay"] - per_seed["dyna-q"]).to_numpy())]
    by_episode = {a: table[a].unstack("episode").to_numpy() for a in ("dyna-q", "replay")}
    (_, lo_d, hi_d), (_, lo_r, hi_r) = (bootstrap_ci(by_episode[a]) for a in ("dyna-q", "replay"))
    apart = np.flatnonzero((lo_r > hi_d) | (hi_r < lo_d)) + 2
    first = table.xs(2, level="episode").mean()
    verdict = ("the same up to noise (the CI of the difference holds 0)" if diff[1] <= 0 <= diff[2]
               else f"replay {'slower' if diff[0] > 0 else 'faster'} by "
               f"{abs(diff[0]) / per_seed['dyna-q'].mean():.0%} (the CI of the difference "
               "excludes 0)")
    return [f"| k = {k} | {cells['dyna-q']} | {cells['replay']} | {fmt_ci(*diff)} | "
            f"{first['dyna-q']:.0f} vs {first['replay']:.0f} | {len(apart)} of "
            f"{MAZE_EPISODES - 1}"
            + (f" ({', '.join(map(str, apart[:8]))}{', …' if len(apart) > 8 else ''})"
               if len(apart) else "") + f" | {verdict} |"]


def _plot_stochastic(stats: pd.DataFrame, path: Path) -> Path:
    """Final value error and policy value of each agent, one column per world and k."""
    envs = list(STOCHASTIC_WORLDS)
    fig, axes = figures.subplots(2, len(envs), figsize=(5.2 * len(envs), 6.5), squeeze=False)
    for col, env in enumerate(envs):
        for i, (agent, model) in enumerate(AGENTS):
            part = stats[(stats["env"] == env) & (stats["agent"] == agent)
                         & (stats["model"] == model)].sort_values("planning_steps")
            x = np.arange(len(KS)) + (i - 1) * 0.2
            for row, metric in enumerate(("value_error", "policy_value")):
                err = [part[metric] - part[f"{metric}_lo"], part[f"{metric}_hi"] - part[metric]]
                axes[row, col].errorbar(x, part[metric], yerr=np.nan_to_num(err), fmt="o",
                                        capsize=3, label=_label(agent, model))
        for row, ylabel in enumerate(("value error", "policy value")):
            axes[row, col].set_xticks(range(len(KS)), [f"k = {k}" for k in KS])
            axes[row, col].set_ylabel(ylabel)
            axes[row, col].grid(alpha=0.3)
            axes[row, col].legend(frameon=False, fontsize=8)
        axes[0, col].set_title(env)
    fig.suptitle("Stochastic worlds: mean of the last 20% of episodes, 95% CI", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def _stochastic_lines(stats: pd.DataFrame) -> list[str]:
    lines = []
    for env in STOCHASTIC_WORLDS:
        at = stats[stats["env"] == env].set_index(["agent", "model", "planning_steps"])
        for k in KS:
            det = at.loc[("dyna-q", "deterministic", k)]
            rep, cnt = at.loc[("replay", "deterministic", k)], at.loc[("dyna-q", "counts", k)]
            closer = "counts" if abs(rep["value_error"] - cnt["value_error"]) < abs(
                rep["value_error"] - det["value_error"]) else "deterministic"
            lines.append(f"| {env}, k = {k} | {ci_text(det, 'value_error')} | "
                         f"{ci_text(rep, 'value_error')} | {ci_text(cnt, 'value_error')} | "
                         f"{ci_text(det, 'policy_value')} | {ci_text(rep, 'policy_value')} | "
                         f"{ci_text(cnt, 'policy_value')} | {closer}; replay vs deterministic:"
                         f" {compare_text(rep, det, 'value_error', 'higher', 'lower')} |")
    return lines


def _report(df: pd.DataFrame, summary: pd.DataFrame, out: Path) -> str:
    maze = df[df["env"] == MAZE]
    plot_curves(maze, out / "maze.png", y="steps", first=2, logy=True,
                ylabel="steps per episode", title=f"{MAZE}: Dyna-Q and replay")
    stochastic = df[df["env"] != MAZE]
    stats = tail_stats(stochastic, ["env", "agent", "model", "planning_steps"],
                       ["value_error", "policy_value"])
    _plot_stochastic(stats, out / "stochastic.png")
    lines = ["## Beside the course", "",
             "The course sets Dyna-Q beside a DQN replay buffer: \"Model generates (s,a,r,s′)"
             " / Store real transitions\", \"Sample seen (s,a), predict s′ / Sample random "
             "minibatch\", \"Extra Q backups / Extra gradient steps\". Here replay is "
             "tabular: Q-learning plus k backups per real step on stored real transitions "
             "drawn uniformly (agent `replay`, a buffer that never fills in these runs).", "",
             f"### A deterministic world ({MAZE})", "",
             "| k | Dyna-Q: steps per episode, episodes 2–50 | replay | replay − Dyna-Q "
             "(paired by seed) | episode 2 | episodes whose 95% CIs are apart | learning "
             "curves |", "|---|---|---|---|---|---|---|"]
    for k in KS:
        lines += _maze_lines(df, k)
    lines += ["", "In a deterministic world replay's stored transitions and Dyna-Q's model "
              "hold the same information, so both learn alike; what can differ is how often "
              "each pair is backed up. Dyna-Q draws every pair it has seen equally often; "
              "replay draws each pair as often as it was tried, so after the first, "
              "random-walk episode (the same walk for both: every Q is 0 until the goal) "
              "more of its backups go to the pairs that walk repeated and fewer to the path "
              "to the goal. Where the table finds replay slower, that is the cause; "
              "episode-by-episode the curves are mostly within each other's noise.", "",
              "### Stochastic worlds", "",
              "| world | value error: Dyna-Q, deterministic | replay | Dyna-Q, counts | "
              "policy value: Dyna-Q, deterministic | replay | Dyna-Q, counts | replay's "
              "value error is closer to |", "|---|---|---|---|---|---|---|---|"]
    lines += _stochastic_lines(stats)
    lines += ["", "In a stochastic world the difference is the model: replay samples each "
              "pair's outcomes by their observed frequency, as the counts model with sample "
              "backups does, while the deterministic model keeps only the last outcome and "
              "plans as if it were certain. Means over the last 20% of each seed's "
              "episodes, 95% bootstrap CIs.", "",
              "![steps per episode on the maze](maze.png)", "",
              "![value error and policy value on the stochastic worlds](stochastic.png)"]
    return "\n".join(lines)


PRESET = LearningPreset("replay-vs-dyna", description("replay-vs-dyna"), default_seeds=30,
                        reporter=_report, experiment=_experiment)
