"""The course's "When Dyna-Q fails": planning on a wrong model, for k ∈ {0, 5, 50}.

Two ways a model is wrong, each measured against k with exact metrics (the final value
error and the exact expected return of the final greedy policy, by policy evaluation):

- a stale model in a world that changed (§8.3): Dyna-Q's deterministic model on the
  blocking and shortcut mazes (Figures 8.4, 8.5; α = 1 as there), with Dyna-Q+ — the
  course's fix for a model stale at the frontier — beside it;
- a deterministic model in a stochastic world (the course's common mistake "deterministic
  model in slippery env"): Dyna-Q on the slippery cliff with the deterministic model,
  beside the transition-counts model with sample and expected backups (α = 0.1: a
  stochastic world needs averaging).

k = 0 is Q-learning whatever the model: the model only matters through planning.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dynaq.analysis.plots import figures, save_figure
from dynaq.analysis.report import fmt_ci
from dynaq.analysis.stats import bootstrap_ci
from dynaq.envs import BLOCKING_SWITCH, SHORTCUT_SWITCH
from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.presets import description
from dynaq.experiments.presets.base import LearningPreset
from dynaq.experiments.presets.common import KAPPA, first_layout_value
from dynaq.metrics import policy_is_optimal
from dynaq.models import MODELS

KS = (0, 5, 50)
MAZES = {"dynaq/BlockingMaze-v0": (BLOCKING_SWITCH, 3000),
         "dynaq/ShortcutMaze-v0": (SHORTCUT_SWITCH, 6000)}
"""Each changing maze: (the step its layout changes, real steps per run), as in the book."""
CLIFF, CLIFF_STEPS, TAIL = "dynaq/SlipperyCliff-v0", 6000, 2000
"""The stochastic world, real steps per run, and the last steps whose episodes' returns are
averaged (every run counts real steps, so all runs share one results schema)."""
STALE, PLUS = "Dyna-Q (deterministic model)", "Dyna-Q+ (κ = 0.001)"
COUNTS_SAMPLE, COUNTS_EXPECTED = "Dyna-Q (counts, sample)", "Dyna-Q (counts, expected)"
LABELS = (STALE, COUNTS_SAMPLE, COUNTS_EXPECTED, PLUS)
"""The lines compared, in table order, each drawn in its own colour in every panel."""


def _experiment(seeds: int) -> Experiment:
    runs = [RunConfig(env=env, agent=agent, planning_steps=k, alpha=1.0, episodes=None,
                      total_steps=total, **({"kappa": KAPPA} if agent == "dyna-q+" else {}))
            for env, (_, total) in MAZES.items() for agent in ("dyna-q", "dyna-q+") for k in KS]
    models = [("deterministic", "sample")] + [("counts", b) for b in ("sample", "expected")
                                               if "counts" in MODELS]
    runs += [RunConfig(env=CLIFF, model=model, backup=backup, planning_steps=k, alpha=0.1,
                       episodes=None, total_steps=CLIFF_STEPS)
             for model, backup in models for k in KS]
    return Experiment("planning-hurts", tuple(runs), seeds)


def _label(row: pd.Series) -> str:
    if row["agent"] == "dyna-q+":
        return PLUS
    if row["model"] == "counts":
        return COUNTS_SAMPLE if row["backup"] == "sample" else COUNTS_EXPECTED
    return STALE


def seed_scores(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (env, label, k, seed): the final value error, the final greedy policy's
    exact value and V*(start), whether it is optimal and, in a maze, worth more than the
    best path of the first layout (in the shortcut maze: takes the shortcut), the
    experienced reward: after the change in a maze, on the cliff the mean return of the
    episodes that ended in the last :data:`TAIL` real steps; and in a maze the goals
    reached by the change (``goals_before``, NaN on the cliff): how far the agent had
    learned the first layout when it changed."""
    old = {env: first_layout_value(env) for env in MAZES}
    rows = []
    for (env, *_, k, seed), run in df.sort_values("episode").groupby(
            ["env", "agent", "model", "backup", "planning_steps", "seed"]):
        last = run.iloc[-1]
        goals_before = np.nan
        if env in MAZES:
            changed = run["env_steps"] > MAZES[env][0]
            reward = run.loc[changed, "return"].sum()
            goals_before = int((run.loc[~changed, "return"] > 0).sum())
        else:
            reward = run.loc[run["env_steps"] > CLIFF_STEPS - TAIL, "return"].mean()
        rows.append({"env": env, "label": _label(last), "k": int(k), "seed": seed,
                     "value_error": last["value_error"], "policy_value": last["policy_value"],
                     "v_star": last["v_star_start"], "reward": reward,
                     "goals_before": goals_before, "alpha": last["alpha"],
                     "optimal": bool(policy_is_optimal(last["policy_value"],
                                                       last["v_star_start"])),
                     "beats_old": env in old and last["policy_value"] > old[env] + 1e-9})
    out = pd.DataFrame(rows)
    return out.sort_values(["env", "label", "k", "seed"], key=lambda c: c.map(
        LABELS.index) if c.name == "label" else c, kind="stable", ignore_index=True)


METRICS = (("value_error", "final value error\nmax |max_a Q − V*|"),
           ("policy_value", "final greedy policy: exact\nexpected return from the start"),
           ("reward", "experienced reward"))
_REWARD = {"dynaq/BlockingMaze-v0": "reward after the change",
           "dynaq/ShortcutMaze-v0": "reward after the change",
           CLIFF: f"mean episode return, last {TAIL} steps"}


def plot_vs_k(scores: pd.DataFrame, path: Path) -> Path:
    """One row of panels per world, one per metric: the mean over seeds against k with 95%
    bootstrap CI bars, a line per agent and model; V*(start) dashed."""
    envs = list(dict.fromkeys(scores["env"]))
    fig, axes = figures.subplots(len(envs), len(METRICS), figsize=(13, 3.4 * len(envs)),
                                 squeeze=False)
    for row, env in zip(axes, envs, strict=True):
        part = scores[scores["env"] == env]
        for ax, (metric, ylabel) in zip(row, METRICS, strict=True):
            for label, group in part.groupby("label", sort=False):
                stats = [bootstrap_ci(g[metric].to_numpy(float)) for _, g in group.groupby("k")]
                mean, lo, hi = (np.array(v, dtype=float) for v in zip(*stats, strict=True))
                ks = sorted(group["k"].unique())
                ax.errorbar(ks, mean, yerr=[mean - lo, hi - mean], marker="o", capsize=3,
                            label=label, color=f"C{LABELS.index(label)}")
            if metric == "policy_value":
                ax.axhline(part["v_star"].iloc[0], color="grey", ls="--", lw=1, label="V*(start)")
            ax.set_xscale("symlog", linthresh=1)
            ax.set_xlim(-0.3, max(KS) * 1.4)
            ax.set_xticks(KS, [str(k) for k in KS])
            ax.set_xlabel("planning steps k")
            ax.set_ylabel(_REWARD[env] if metric == "reward" else ylabel, fontsize=8)
            ax.set_title(env, fontsize=9)
            ax.grid(alpha=0.3)
        row[1].legend(frameon=False, fontsize=7)
    fig.suptitle(f"Planning on a wrong model: mean over {scores['seed'].nunique()} seeds, "
                 "95% bootstrap CI", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def _cell(scores: pd.DataFrame, metric: str) -> str:
    x = scores[metric].to_numpy(float)
    return fmt_ci(*(float(v) for v in bootstrap_ci(x)))


def _table(part: pd.DataFrame, env: str) -> list[str]:
    shortcut = env == "dynaq/ShortcutMaze-v0"
    lines = [f"| agent and model | k | final value error | final greedy policy's expected return"
             f" (V*(start) = {part['v_star'].iloc[0]:.3f}) | greedy policy at the end: optimal"
             + (" (takes the shortcut)" if shortcut else "") + f" | {_REWARD[env]} |",
             "|---|---|---|---|---|---|"]
    for (label, k), g in part.groupby(["label", "k"], sort=False):
        took = f" ({int(g['beats_old'].sum())}/{len(g)})" if shortcut else ""
        lines.append(f"| {label} | {k} | {_cell(g, 'value_error')} | {_cell(g, 'policy_value')} "
                     f"| {int(g['optimal'].sum())}/{len(g)}{took} | {_cell(g, 'reward')} |")
    return lines


def _by_k(part: pd.DataFrame, label: str, metric: str) -> dict[int, float]:
    """Per k: the mean of ``metric`` over seeds, or for a yes/no column how many seeds."""
    g = part[part["label"] == label].groupby("k")[metric]
    return (g.sum() if part[metric].dtype == bool else g.mean()).to_dict()


def _alpha(part: pd.DataFrame, label: str, k: int) -> str:
    """The step size of ``label``'s runs at ``k``, as the results record it."""
    return f"{part.loc[(part['label'] == label) & (part['k'] == k), 'alpha'].iloc[0]:g}"


def _series(values: dict[int, float], fmt: str = ".3g", of: int | None = None) -> str:
    """``v at k = 0, …``, or with ``of``: ``n/of seeds at k = 0, …``."""
    return ", ".join((f"{v:.0f}/{of} seeds" if of else f"{v:{fmt}}") + f" at k = {k}"
                     for k, v in sorted(values.items()))


def _conclusions(scores: pd.DataFrame) -> list[str]:
    """What a learner should take away, each sentence decided by the measurements."""
    n = scores["seed"].nunique()
    out = []
    short = scores[scores["env"] == "dynaq/ShortcutMaze-v0"]
    found, plus = _by_k(short, STALE, "beats_old"), _by_k(short, PLUS, "beats_old")
    fewer = found[max(KS)] < found[0]
    goals = _by_k(short, STALE, "goals_before")
    exploring = all(goals[0] < goals[k] for k in KS if k)
    out.append(f"- **A stale model (shortcut maze).** Dyna-Q's greedy policy takes the shortcut "
               f"at the end in {_series(found, of=n)}; Dyna-Q+ in {_series(plus, of=n)}. " + (
                   "The more Dyna-Q planned, the less it found the shortcut: every planning "
                   "step replays a model in which the shortcut does not exist, so its Q grows "
                   "sure of the old path and ε-greedy rarely strays far enough to find out."
                   if fewer else "Planning did not make Dyna-Q less likely to find it here.")
               + f" A confound: the goals Dyna-Q had reached by step {SHORTCUT_SWITCH}, when "
               f"the shortcut opens (mean over seeds): {_series(goals, '.1f')}. "
               + (f"At k = 0, one-step Q-learning (α = {_alpha(short, STALE, 0)}) has barely "
                  "learned the first layout "
                  "and is still exploring when the shortcut opens, so it stumbles on the "
                  "shortcut where the planners, which learned the old path long before, do "
                  "not: k = 0 against k > 0 compares an agent still exploring with agents "
                  "that have settled, not only a fresh model with a stale one."
                  if exploring else "Every k had learned the first layout about as often, "
                  "so this comparison is not confounded by unfinished exploration at k = 0."))
    block = scores[scores["env"] == "dynaq/BlockingMaze-v0"]
    after, plus_after = _by_k(block, STALE, "reward"), _by_k(block, PLUS, "reward")
    out.append(f"- **A stale model (blocking maze).** Reward after the path was blocked: Dyna-Q "
               f"{_series(after, '.1f')}; Dyna-Q+ {_series(plus_after, '.1f')}. " + (
                   "Dyna-Q+ recovers more at every k > 0: its bonus sends it to re-try what "
                   "it has not tried for long, which refreshes the model."
                   if all(plus_after[k] > after[k] for k in KS if k) else
                   "Dyna-Q+ did not recover more at every k > 0 here."))
    cliff = scores[scores["env"] == CLIFF]
    err, value = _by_k(cliff, STALE, "value_error"), _by_k(cliff, STALE, "policy_value")
    worse = err[max(KS)] > err[5] and value[max(KS)] < value[5]
    text = (f"- **A deterministic model in a stochastic world (slippery cliff).** With the "
            f"deterministic model the final value error is {_series(err)} and the greedy "
            f"policy's expected return {_series(value)} (V* = {cliff['v_star'].iloc[0]:.2f}). "
            + ("More planning made it worse, not better: the model keeps only the last "
               "outcome of each move, a slip into the cliff or a safe step, and planning "
               "replays that one outcome as a certainty (the course's 'false certainty')."
               if worse else "More planning did not make it worse here."))
    if COUNTS_EXPECTED in set(cliff["label"]):
        counts = _by_k(cliff, COUNTS_EXPECTED, "value_error")
        text += (f" The transition-counts model with expected backups: value error "
                 f"{_series(counts)}, which " + ("falls" if counts[max(KS)] < counts[0]
                                                 else "does not fall") + " with planning.")
    out.append(text)
    out.append("- **What to conclude.** Planning multiplies whatever the model says, k times "
               "per real step: a right model makes more k pay, a wrong one makes Q wrong "
               "faster. When planning hurts, fix the model (transition counts in a stochastic "
               "world, an exploration bonus that refreshes stale entries) rather than plan "
               "less; and judge with exact metrics, since the returns experienced under "
               "ε-greedy differ much less than the values learned.")
    return out


def _report(df: pd.DataFrame, summary: pd.DataFrame, out: Path) -> str:
    scores = seed_scores(df)
    plot_vs_k(scores, out / "metric_vs_k.png")
    lines = ["## What a learner should conclude", "", *_conclusions(scores), ""]
    for env in dict.fromkeys(scores["env"]):
        lines += [f"## {env}", "", *_table(scores[scores["env"] == env], env), ""]
    lines += ["Course: “Model error: imagined backups reinforce wrong values faster (more "
              "updates per step!)” and “Deterministic model in slippery env → biased Q near "
              "cliffs → use transition counts”. Mean [95% bootstrap CI] over "
              f"{scores['seed'].nunique()} seeds; value error and expected return are exact "
              "(value iteration and policy evaluation on the true MDP, the layout in force).",
              "", "![metrics against k](metric_vs_k.png)"]
    return "\n".join(lines)


PRESET = LearningPreset("planning-hurts", description("planning-hurts"), default_seeds=30,
                        reporter=_report, experiment=_experiment)
