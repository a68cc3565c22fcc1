"""The course's checkpoint question, measured: which (ŝ, â) should planning back up?
Uniformly from those seen (§8.2), only the latest real one, along simulated on-policy
trajectories (§8.6), or by priority (prioritized sweeping, §8.4); on the Dyna maze and
the course's 9×9 single-path maze, with Q-learning as the baseline.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dynaq.analysis.plots import plot_curves
from dynaq.analysis.report import fmt_ci
from dynaq.analysis.stats import bootstrap_ci
from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.presets import description
from dynaq.experiments.presets.base import LearningPreset

ENVS = {"dynaq/DynaMaze-v0": 100, "dynaq/SinglePath9x9-v0": 100}
"""Each maze and its episodes per seed."""
K = 10
"""Planning steps per real step for every planner (the course: "start with k ≈ 10–50")."""
PLANNERS = (("dyna-q", "uniform"), ("dyna-q", "latest"), ("dyna-q", "trajectory"),
            ("prioritized-sweeping", "uniform"), ("q-learning", "uniform"))
LABELS = {("dyna-q", "uniform"): "uniform over seen (ŝ, â)",
          ("dyna-q", "latest"): "latest real (s, a) only",
          ("dyna-q", "trajectory"): "on-policy trajectories",
          ("prioritized-sweeping", "uniform"): "prioritized sweeping",
          ("q-learning", "uniform"): "Q-learning (no planning)"}


def _experiment(seeds: int) -> Experiment:
    runs = tuple(RunConfig(env=env, agent=agent, sampling=sampling,
                           planning_steps=0 if agent == "q-learning" else K, episodes=episodes)
                 for env, episodes in ENVS.items() for agent, sampling in PLANNERS)
    return Experiment("sampling", runs, seeds)


def _reached(df: pd.DataFrame) -> pd.DataFrame:
    """Per seed: episodes, real steps and backups until the greedy policy was first optimal
    (NaN: not within the episodes run), whether it was optimal after the last episode, and
    the final value error."""
    keys = ["env", "agent", "sampling", "seed"]
    last = df.sort_values("episode").groupby(keys).tail(1).set_index(keys)
    first = df[df["policy_optimal"].astype(bool)].sort_values("episode").groupby(keys).head(1)
    first = first.set_index(keys)[["episode", "env_steps", "backups"]]
    seeds = last[["policy_optimal", "value_error"]].join(first, how="left")
    return seeds.rename(columns={"policy_optimal": "optimal_at_end",
                                 "value_error": "final_value_error"}).reset_index()


def _cell(values: pd.Series) -> str:
    """``mean [CI] (n/m)`` over the seeds that got there."""
    x = values.dropna().to_numpy(float)
    text = fmt_ci(*(float(v) for v in bootstrap_ci(x))) if len(x) else "–"
    return text + ("" if len(x) == len(values) else f" ({len(x)}/{len(values)} seeds)")


def _latest_is_q_learning(df: pd.DataFrame, env: str) -> float:
    """Share of (seed, episode) whose length is the same with latest-pair planning as
    with Q-learning."""
    part = df[df["env"] == env]
    steps = part.pivot_table(index=["seed", "episode"], columns=["agent", "sampling"],
                             values="steps")
    return float((steps[("dyna-q", "latest")] == steps[("q-learning", "uniform")]).mean())


def _findings(seeds: pd.DataFrame, df: pd.DataFrame, env: str) -> list[str]:
    by = seeds[seeds["env"] == env].groupby(["agent", "sampling"])
    mean = by[["episode", "env_steps", "backups"]].mean()
    reached = by["episode"].count().astype(str) + "/" + by["episode"].size().astype(str)
    uni, lat = mean.loc[("dyna-q", "uniform")], mean.loc[("dyna-q", "latest")]
    fewer = [name for name, col in (("episodes", "episode"), ("real steps", "env_steps"))
             if uni[col] < lat[col]]
    planners = mean.drop(index=("q-learning", "uniform"))
    cheapest = LABELS[tuple(planners["backups"].idxmin())]
    same = _latest_is_q_learning(df, env)
    return [f"| {env} | uniform spreads planning over what the model knows; the latest pair "
            f"only reinforces local backups | uniform needed fewer {' and '.join(fewer) or '–'}"
            f" than latest to a first optimal greedy policy ({uni['episode']:.1f} vs "
            f"{lat['episode']:.1f} episodes, {uni['env_steps']:,.0f} vs "
            f"{lat['env_steps']:,.0f} real steps, means over the "
            f"{reached[('dyna-q', 'uniform')]} and {reached[('dyna-q', 'latest')]} seeds that "
            "got there); "
            f"{same:.0%} of the episodes with latest-pair planning were as "
            "long as Q-learning's; fewest backups among the planners: " + cheapest + " |"]


def _report(df: pd.DataFrame, summary: pd.DataFrame, out: Path) -> str:
    seeds = _reached(df)
    lines = ["## Beside the course", "",
             "The course's checkpoint: \"Why sample (ŝ, â) uniformly from seen pairs instead "
             "of always using the latest (s, a)?\" Its answer: \"Uniform sampling spreads "
             "planning across the state space the model knows. Always planning from the "
             "current state only reinforces local backups; uniform replay propagates value "
             "along all discovered corridors.\"", "",
             "| maze | course | dynaq (measured) |", "|---|---|---|"]
    for env in ENVS:
        lines += _findings(seeds, df, env)
    if min(_latest_is_q_learning(df, env) for env in ENVS) > 0.5:
        lines += ["", "Why latest-pair planning behaves as Q-learning here: in a deterministic "
                  "world k more backups of the pair just taken move Q(s, a) further toward the "
                  "same target, a larger step size; no value moves to any other pair, and "
                  "while the rewards are 0 except at the goal the greedy choices, which depend "
                  "on which actions have a value above 0, mostly stay Q-learning's."]
    lines += ["",
              f"## Until the greedy policy is first optimal (k = {K}; mean [95% CI] over the "
              "seeds that got there)", "",
              "| maze | planning | episodes | real steps | backups | optimal after the last "
              "episode | final value error |", "|---|---|---|---|---|---|---|"]
    groups = seeds.groupby(["env", "agent", "sampling"])
    for env, (agent, sampling) in ((env, p) for env in ENVS for p in PLANNERS):
        group = groups.get_group((env, agent, sampling))
        lines.append(f"| {env} | {LABELS[(agent, sampling)]} | "
                     f"{_cell(group['episode'])} | {_cell(group['env_steps'])} | "
                     f"{_cell(group['backups'])} | "
                     f"{int(group['optimal_at_end'].sum())}/{len(group)} seeds | "
                     f"{_cell(group['final_value_error'])} |")
    lines += ["", "Optimal: the exact value of the greedy policy from the start equals V* "
              "(ties split evenly); an ε-greedy learner's greedy policy can lose it again. "
              "Backups count direct and planning updates; "
              "trajectory sampling backs up nothing on a simulated step that picks a pair "
              "never tried, prioritized sweeping stops when its queue empties.", ""]
    for i, env in enumerate(ENVS):
        plot_curves(df[df["env"] == env], out / f"curves_{i + 1}.png", y="steps", first=2,
                    logy=True, ylabel="steps per episode", title=f"{env}, k = {K}")
        lines.append(f"![steps per episode, {env}](curves_{i + 1}.png)")
        same = _latest_is_q_learning(df, env)
        if same > 0.5:
            lines.append(f"\nOn {env} the `latest` curve lies under Q-learning's: {same:.0%} of "
                         "its episodes were exactly as long.\n")
    return "\n".join(lines)


PRESET = LearningPreset("sampling", description("sampling"), default_seeds=30, reporter=_report,
                        experiment=_experiment)
