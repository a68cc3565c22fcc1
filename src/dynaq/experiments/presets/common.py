"""Helpers that several presets share, so that no preset borrows from another.

- Changing mazes (Figures 8.4 and 8.5, and planning-hurts' stale models): a world that
  changes after ``switch`` real steps, Dyna-Q against Dyna-Q+ with its bonus in planning
  (§8.3) and in the action choice only (Exercise 8.4), cumulative reward against real steps
  with 95% bootstrap bands, and a table of what each agent did before and after the change.
  The book gives the layouts and the switch times, not the hyperparameters. Ours, the same
  for both figures and every agent: ε = 0.1 and γ = 0.95 (Figure 8.2's), α = 1 (in a
  deterministic world the last outcome is the truth, so a full step loses nothing), k = 50
  planning steps, κ = 10⁻³. With κ = 10⁻² the bonus outgrows the goal's discounted reward
  within a few hundred steps and Dyna-Q+ stops reaching the goal at all; with κ = 10⁻⁴ it
  does not find the shortcut of Figure 8.5 within 3000 steps.
- Stochastic worlds compared at the end of learning (slippery, replay-vs-dyna): the worlds,
  and the mean over seeds of each seed's last episodes with its bootstrap CI
  (:func:`tail_stats`), in words (:func:`ci_text`, :func:`compare_text`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dynaq.analysis.plots import plot_cumulative_reward
from dynaq.analysis.report import fmt_ci
from dynaq.analysis.stats import bootstrap_ci
from dynaq.envs import env_model
from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.presets.base import LearningPreset
from dynaq.metrics import GroundTruth

# -- changing mazes ---------------------------------------------------------------------
ALPHA, EPSILON, GAMMA, PLANNING_STEPS, KAPPA = 1.0, 0.1, 0.95, 50, 1e-3
AGENTS = (("Dyna-Q", {"agent": "dyna-q"}),
          ("Dyna-Q+", {"agent": "dyna-q+", "kappa": KAPPA}),
          ("Dyna-Q+ action bonus", {"agent": "dyna-q+", "kappa": KAPPA, "bonus": "action"}))
"""Display label → the RunConfig fields of each agent compared."""
DQ, DQ_PLUS, DQ_ACTION = (label for label, _ in AGENTS)


@dataclass(frozen=True)
class ChangingMaze:
    """A reproduction on a maze whose layout changes after ``switch`` real steps."""

    name: str
    env: str
    figure: str
    switch: int
    total_steps: int
    claims: Callable[[pd.DataFrame, ChangingMaze], list[tuple[str, str]]]
    """(the book's claim, what we measured) rows, from the per-seed scores."""

    def experiment(self, seeds: int) -> Experiment:
        """Every agent of :data:`AGENTS` for ``total_steps`` real steps."""
        runs = tuple(RunConfig(env=self.env, planning_steps=PLANNING_STEPS, alpha=ALPHA,
                               gamma=GAMMA, epsilon=EPSILON, episodes=None,
                               total_steps=self.total_steps, **fields)
                     for _, fields in AGENTS)
        return Experiment(self.name, runs, seeds)

    def preset(self, description: str) -> LearningPreset:
        """This reproduction as a preset (30 seeds by default)."""
        return LearningPreset(self.name, description, default_seeds=30, reporter=self.report,
                              experiment=self.experiment)

    def report(self, df: pd.DataFrame, summary: pd.DataFrame, out: Path) -> str:
        """The cumulative reward plot, the per-agent table and the book's claims."""
        labelled = df.assign(agent=agent_labels(df), bonus="-", kappa=KAPPA)
        plot_cumulative_reward(labelled, out / "cumulative_reward.png", change_at=self.switch,
                               title=f"{self.env} (S&B {self.figure}): mean over "
                                     f"{df['seed'].nunique()} seeds, 95% CI")
        scores = seed_scores(df, self.switch, first_layout_value(self.env))
        lines = [f"## What each agent did ({scores['seed'].nunique()} seeds, mean [95% "
                 "bootstrap CI])", "", score_table(scores, self.switch, self.total_steps), "",
                 f"## Beside the book ({self.figure})", "",
                 "| Sutton & Barto (2nd ed., §8.3) | dynaq (measured) |", "|---|---|"]
        lines += [f"| {claim} | {ours} |" for claim, ours in self.claims(scores, self)]
        lines += ["", f"Hyperparameters (the book gives none for this figure): α = {ALPHA}, "
                  f"ε = {EPSILON}, γ = {GAMMA}, k = {PLANNING_STEPS} planning steps for every "
                  f"agent, κ = {KAPPA} for both Dyna-Q+ variants. The action-bonus variant "
                  "(Exercise 8.4) picks argmax_a Q(s, a) + κ√τ(s, a) and plans without bonus.",
                  "'Optimal' means the exact value of the greedy policy from the start equals "
                  "V*(start) of the layout in force (policy evaluation, no rollouts); 'a path "
                  "≤ 2 steps longer' that it is at least γ² · V*(start): as good as a path at "
                  "most two steps longer than the shortest.", "",
                  "![cumulative reward](cumulative_reward.png)"]
        return "\n".join(lines)


def agent_labels(df: pd.DataFrame) -> pd.Series:
    """The display label of each row's agent (see :data:`AGENTS`)."""
    plus = np.where(df["bonus"] == "action", DQ_ACTION, DQ_PLUS)
    return pd.Series(np.where(df["agent"] == "dyna-q", DQ, plus), index=df.index)


def first_layout_value(env_id: str, gamma: float = GAMMA) -> float:
    """V*(start) of a changing maze's first layout: in the shortcut maze, where the old path
    stays open, a greedy policy worth more than this after the change takes the shortcut."""
    mdp, _ = env_model(env_id)
    return GroundTruth.of(mdp.phases()[0][1], gamma).v_star_start


def seed_scores(df: pd.DataFrame, switch: int, old_best: float) -> pd.DataFrame:
    """One row per (agent label, seed): cumulative reward at the switch and at the end,
    reward after the change and in the second half of the first phase, real steps from the
    change to the next goal; whether the greedy policy is near-optimal (worth at least
    γ² · V*(start): a path at most two steps longer than the shortest) and optimal just
    before the change and at the end, and whether it is then worth more than ``old_best``
    (see :func:`first_layout_value`); the real steps after the change until it was first
    optimal in the new layout (NaN if never)."""
    rows = []
    for (label, seed), run in df.assign(label=agent_labels(df)).sort_values(
            "episode").groupby(["label", "seed"]):
        steps, ret = run["env_steps"].to_numpy(), run["return"].to_numpy()
        value = run["policy_value"].to_numpy(float)
        near = value >= GAMMA ** 2 * run["v_star_start"].to_numpy(float) - 1e-9  # eval tol
        optimal = run["policy_optimal"].fillna(False).to_numpy(bool)
        before, after = steps < switch, steps >= switch
        last = np.flatnonzero(before)[-1:]  # the last episode before the change, if any
        # an episode ending at the switch step reached the goal of the old layout
        goal_after, found = steps[(steps > switch) & (ret > 0)], steps[after & optimal]
        rows.append({"label": label, "seed": seed,
                     "at_switch": ret[steps <= switch].sum(), "at_end": ret.sum(),
                     "after_change": ret[steps > switch].sum(),
                     "late_first_phase": ret[(steps > switch // 2) & (steps <= switch)].sum(),
                     "steps_to_next_goal": goal_after[0] - switch if len(goal_after) else
                     np.nan,
                     "near_before": bool(near[last].any()),
                     "optimal_before": bool(optimal[last].any()),
                     "near_at_end": bool(near[-1]), "optimal_at_end": bool(optimal[-1]),
                     "beats_old_at_end": bool(value[-1] > old_best + 1e-9),
                     "steps_to_optimal": found[0] - switch if len(found) else np.nan})
    return pd.DataFrame(rows)


def ci(scores: pd.DataFrame, label: str, column: str) -> str:
    """``mean [95% CI]`` of a score over the seeds of an agent that have it."""
    x = scores.loc[scores["label"] == label, column].dropna().to_numpy(float)
    if not len(x):
        return "–"
    text = fmt_ci(*(float(v) for v in bootstrap_ci(x)))
    total = int((scores["label"] == label).sum())
    return text if len(x) == total else f"{text} ({len(x)}/{total} seeds)"


def count(scores: pd.DataFrame, label: str, column: str) -> str:
    """How many seeds of an agent have a true ``column``, as ``n/N``."""
    x = scores.loc[scores["label"] == label, column]
    return f"{int(x.sum())}/{len(x)}"


def mean(scores: pd.DataFrame, label: str, column: str) -> float:
    """Mean of a score over the seeds of an agent."""
    return float(scores.loc[scores["label"] == label, column].mean())


def score_table(scores: pd.DataFrame, switch: int, total: int) -> str:
    """The per-agent Markdown table of :func:`seed_scores`."""
    lines = [f"| agent | cumulative reward at step {switch} | at step {total} | reward after "
             "the change | real steps from the change to the next goal | greedy policy just "
             "before the change: a path ≤ 2 steps longer (optimal) | greedy policy at the "
             "end: a path ≤ 2 steps longer (optimal) | real steps after the change until the "
             "greedy policy is first optimal |", "|---|---|---|---|---|---|---|---|"]
    for label, _ in AGENTS:
        if (scores["label"] == label).any():
            lines.append(f"| {label} | {ci(scores, label, 'at_switch')} | "
                         f"{ci(scores, label, 'at_end')} | {ci(scores, label, 'after_change')} "
                         f"| {ci(scores, label, 'steps_to_next_goal')} | "
                         f"{count(scores, label, 'near_before')} "
                         f"({count(scores, label, 'optimal_before')}) | "
                         f"{count(scores, label, 'near_at_end')} "
                         f"({count(scores, label, 'optimal_at_end')}) | "
                         f"{ci(scores, label, 'steps_to_optimal')} |")
    return "\n".join(lines)


def ahead(scores: pd.DataFrame, column: str, what: str) -> str:
    """Dyna-Q+ against Dyna-Q on one score, in words, with both CIs."""
    plus, base = (bootstrap_ci(scores.loc[scores["label"] == label, column].to_numpy(float))
                  for label in (DQ_PLUS, DQ))
    verdict = ("Dyna-Q+ ahead" if plus[1] > base[2] else "Dyna-Q ahead" if base[1] > plus[2]
               else "no clear difference (the 95% CIs overlap)")
    return (f"{what}: {verdict} (Dyna-Q+ {ci(scores, DQ_PLUS, column)}, Dyna-Q "
            f"{ci(scores, DQ, column)})")


# -- stochastic worlds at the end of learning -------------------------------------------
STOCHASTIC_WORLDS = {"dynaq/SlipperyCliff-v0": 200, "FrozenLake-v1": 1000}
"""Each world and its episodes per seed (FrozenLake pays only at the goal: it needs more)."""
TAIL = 0.2
"""Final metrics average the last 20% of each seed's episodes (one episode's greedy policy
is noisy)."""


def tail_stats(df: pd.DataFrame, by: Sequence[str], columns: Sequence[str],
               tail: float = TAIL) -> pd.DataFrame:
    """Per group of ``by``: the mean over seeds of each column's mean over the last
    ``tail`` of the seed's episodes, with its 95% bootstrap CI (``{c}``, ``{c}_lo``,
    ``{c}_hi``), and the number of seeds."""
    last = df["episode"] >= (1 - tail) * df.groupby([*by, "seed"])["episode"].transform("max")
    per_seed = df[last].groupby([*by, "seed"])[list(columns)].mean()
    rows = []
    for key, group in per_seed.groupby(level=list(range(len(by)))):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        row["seeds"] = len(group)
        for c in columns:
            row[c], row[f"{c}_lo"], row[f"{c}_hi"] = (float(v) for v in bootstrap_ci(
                group[c].to_numpy(float)))
        rows.append(row)
    return pd.DataFrame(rows)


def ci_text(row: pd.Series, column: str) -> str:
    """``mean [lo, hi]`` of ``column`` in a row of :func:`tail_stats`."""
    return fmt_ci(row[column], row[f"{column}_lo"], row[f"{column}_hi"])


def compare_text(a: pd.Series, b: pd.Series, column: str, higher: str, lower: str) -> str:
    """Whether ``a`` is above ``b`` in ``column``, in words, saying when the CIs overlap."""
    word = higher if a[column] > b[column] else lower
    apart = a[f"{column}_lo"] > b[f"{column}_hi"] or a[f"{column}_hi"] < b[f"{column}_lo"]
    return f"{word}{'' if apart else ' (95% CIs overlap)'}"
