"""The wrong model in a stochastic world (the course's model table and common mistakes):
Dyna-Q with the deterministic model against transition counts (sample and expected
backups, §8.5) for k ∈ {0, 5, 50} on the slippery cliff and FrozenLake-v1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dynaq.analysis.plots import figures, plot_curves, save_figure
from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.presets import description
from dynaq.experiments.presets.base import LearningPreset
from dynaq.experiments.presets.common import (
    STOCHASTIC_WORLDS,
    TAIL,
    ci_text,
    compare_text,
    tail_stats,
)

MODELS = (("deterministic", "sample"), ("counts", "sample"), ("counts", "expected"))
KS = (0, 5, 50)


def _experiment(seeds: int) -> Experiment:
    runs = tuple(RunConfig(env=env, model=model, backup=backup, planning_steps=k,
                           episodes=episodes)
                 for env, episodes in STOCHASTIC_WORLDS.items() for model, backup in MODELS
                 for k in KS)
    return Experiment("slippery", runs, seeds)


def model_label(model: str, backup: str) -> str:
    """``deterministic``, ``counts, sample`` or ``counts, expected``."""
    return model if model == "deterministic" else f"{model}, {backup}"


def _plot_vs_k(stats: pd.DataFrame, path: Path, v_star: dict[str, float]) -> Path:
    """Value error and policy value against k, one line per model, one column per env."""
    envs = list(STOCHASTIC_WORLDS)
    fig, axes = figures.subplots(2, len(envs), figsize=(5.2 * len(envs), 7), squeeze=False)
    for col, env in enumerate(envs):
        for (model, backup), part in stats[stats["env"] == env].groupby(["model", "backup"]):
            part = part.sort_values("planning_steps")
            x = part["planning_steps"].to_numpy()
            for row, metric in enumerate(("value_error", "policy_value")):
                err = [part[metric] - part[f"{metric}_lo"], part[f"{metric}_hi"] - part[metric]]
                axes[row, col].errorbar(x, part[metric], yerr=np.nan_to_num(err), marker="o",
                                        capsize=3, label=model_label(model, backup))
        axes[1, col].axhline(v_star[env], color="grey", ls="--", lw=1, label="V*(start)")
        for row, ylabel in enumerate(("value error (max |max_a Q − V*|)",
                                      "policy value (exact, from the start)")):
            ax = axes[row, col]
            ax.set_xscale("symlog", linthresh=1)
            ax.set_xlim(-0.3, 1.4 * max(KS))
            ax.set_xticks(KS, [str(k) for k in KS])
            ax.set_xlabel("planning steps k")
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
            ax.legend(frameon=False, fontsize=8)
        axes[0, col].set_title(env)
    fig.suptitle(f"The wrong model plans confidently: mean of the last {TAIL:.0%} of episodes,"
                 f" {int(stats['seeds'].min())} seeds, 95% CI", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def _env_findings(stats: pd.DataFrame, env: str) -> list[str]:
    """The course's warning checked on one env, in words computed from the numbers."""
    at = stats[stats["env"] == env].set_index(["model", "backup", "planning_steps"])
    det, best = at.loc[("deterministic", "sample", 50)], at.loc[("counts", "expected", 50)]
    sample = at.loc[("counts", "sample", 50)]
    det5, sample5 = at.loc[("deterministic", "sample", 5)], at.loc[("counts", "sample", 5)]
    best5 = at.loc[("counts", "expected", 5)]
    return [
        f"| {env}: value error at k = 50 | deterministic model higher than counts | "
        f"deterministic {ci_text(det, 'value_error')} vs counts sample "
        f"{ci_text(sample, 'value_error')}, expected {ci_text(best, 'value_error')}: "
        f"{compare_text(det, sample, 'value_error', 'higher', 'not higher')} |",
        f"| {env}: policy value at k = 50 | lower with the deterministic model | "
        f"deterministic {ci_text(det, 'policy_value')} vs counts sample "
        f"{ci_text(sample, 'policy_value')}, expected {ci_text(best, 'policy_value')} "
        f"(V*(start) = {det['v_star_start']:.3g}): "
        f"{compare_text(det, sample, 'policy_value', 'not lower', 'lower')} |",
        f"| {env}: more planning, deterministic model | worse, not better | value error "
        f"k = 5: {ci_text(det5, 'value_error')} → k = 50: {ci_text(det, 'value_error')}: "
        f"{compare_text(det, det5, 'value_error', 'worse', 'not worse')} (counts, sample: "
        f"{sample5['value_error']:.3g} → {sample['value_error']:.3g}: "
        f"{compare_text(sample, sample5, 'value_error', 'worse', 'not worse')}; counts, "
        f"expected: {best5['value_error']:.3g} → {best['value_error']:.3g}: "
        f"{compare_text(best, best5, 'value_error', 'worse', 'not worse')}) |",
        f"| {env}: the models themselves (mean total variation to the truth) | – | "
        f"deterministic {ci_text(det, 'model_error')}, counts {ci_text(sample, 'model_error')}"
        " |"]


def _report(df: pd.DataFrame, summary: pd.DataFrame, out: Path) -> str:
    stats = tail_stats(df, ["env", "model", "backup", "planning_steps"],
                       ["value_error", "policy_value", "model_error", "v_star_start"])
    v_star = stats.groupby("env")["v_star_start"].first().to_dict()
    _plot_vs_k(stats, out / "slippery.png", v_star)
    for i, env in enumerate(STOCHASTIC_WORLDS):
        part = df[(df["env"] == env) & (df["planning_steps"] == 50)]
        plot_curves(part, out / f"curves_{i + 1}.png", y="value_error", logy=True,
                    ylabel="value error (max |max_a Q − V*|)", title=f"{env}, k = 50")
    lines = ["## Beside the course", "",
             "The course: a deterministic model in a slippery world gives \"biased Q near "
             "cliffs\" (common mistakes) because \"the planner invents false certainty\"; "
             "the fix is to \"sample s′ from learned probabilities\" (transition counts). "
             "Checked here beyond the course's words: with the deterministic model, more "
             "planning makes it worse, not better.", "",
             "| check | claim | dynaq (measured) |", "|---|---|---|"]
    for env in STOCHASTIC_WORLDS:
        lines += _env_findings(stats, env)
    lines += ["", f"Each number is the mean over seeds of a seed's mean over its last "
              f"{TAIL:.0%} of episodes, with a 95% bootstrap CI. Value error: max over "
              "reachable states of |max_a Q(s, a) − V*(s)|; policy value: exact value of "
              "the greedy policy from the start; model error: mean over the pairs tried of "
              "the total-variation distance between the learned and the true next-state "
              "distributions. At k = 0 the model is never used, so the three models give "
              "the same Q (Q-learning).", "", "## All runs", "",
              "| env | model | k | value error | policy value | model error |",
              "|---|---|---|---|---|---|"]
    for _, row in stats.iterrows():
        lines.append(f"| {row['env']} | {model_label(row['model'], row['backup'])} | "
                     f"{row['planning_steps']} | {ci_text(row, 'value_error')} | "
                     f"{ci_text(row, 'policy_value')} | {ci_text(row, 'model_error')} |")
    lines += ["", "![value error and policy value against k](slippery.png)", ""]
    lines += [f"![value error per episode, {env}, k = 50](curves_{i + 1}.png)"
              for i, env in enumerate(STOCHASTIC_WORLDS)]
    return "\n".join(lines)


PRESET = LearningPreset("slippery", description("slippery"), default_seeds=30, reporter=_report,
                        experiment=_experiment)
