"""Where a model should beat replay: a replay buffer too small to hold the past.

Replay can only replay what it still holds; a model fitted over the whole run keeps what it
learned from transitions long evicted (it is fitted warm, from the last fit's weights), and
imagines from the states it holds the actions the policy would take now, not the ones once
taken (van Hasselt et al. 2019, §5: where parametric models can help). So with a buffer of
:data:`SMALL` real transitions on CartPole-v1, Dyna-DQN should lose less than DQN when the
buffer shrinks from :data:`LARGE`. Both at U = 2 gradient steps per real step, the Dyna-DQN
variants as in ``deep-replay-vs-dyna`` (0.5 on real data, k = 3 imagined): its learned model
with the known termination rule, and the true simulator.

Whether it does is measured, not assumed: the notes say which way it went.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.presets import deep_eval as ev
from dynaq.experiments.presets import deep_replay_vs_dyna as rvd
from dynaq.experiments.presets import description
from dynaq.experiments.presets.base import LearningPreset

ENV = "CartPole-v1"
SMALL, LARGE = 1000, 50_000
"""The replay buffer sizes compared (the large one holds a whole run)."""
U = 2
VARIANTS = ("Dyna H=1, known termination", "Dyna H=1, true simulator")
BY = [*rvd.BY, "buffer_size"]


def _experiment(seeds: int) -> Experiment:
    runs = []
    budget = {"env": ENV, "episodes": None, "total_steps": rvd.STEPS}
    for size in (SMALL, LARGE):
        runs.append(RunConfig(agent="dqn", updates_per_step=U, buffer_size=size, **budget,
                              **rvd.COMMON))
        runs += [RunConfig(agent="dyna-dqn", updates_per_step=rvd.REAL_U,
                           planning_steps=round(U / rvd.REAL_U) - 1, buffer_size=size,
                           **budget, **rvd.COMMON, **rvd.DYNA, **rvd.VARIANTS[name])
                 for name in VARIANTS]
    return Experiment("deep-small-buffer", tuple(runs), seeds)


def report(df: pd.DataFrame, summary: pd.DataFrame, out: Path) -> str:
    """Write the curves into ``out``; return the Markdown notes."""
    seeds = ev.per_seed(df, BY)
    seeds["variant"] = [rvd.variant(r) for r in seeds.to_dict("records")]
    names = ["DQN (replay)", *VARIANTS]
    head = ["replay buffer", "config", "AUC", f"final (last {ev.FINAL_EVALS})",
            "seeds solved", "real steps to solve (censored)"]
    lines = ["## A small replay buffer: where a model should help", "",
             f"{ENV}, {rvd.STEPS:,} real steps, U = {U} gradient steps per real step, greedy "
             f"evaluation return, mean [95% bootstrap CI] over {df['seed'].nunique()} seeds.",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for size in (SMALL, LARGE):
        for name in names:
            g = seeds[(seeds["buffer_size"] == size) & (seeds["variant"] == name)]
            if len(g):
                lines.append(f"| {size:,} | {name} | {ev.cell(g['auc'])} | "
                             f"{ev.cell(g['final'])} | {int(g['solved'].sum())}/{len(g)} | "
                             f"{ev.cell(g['steps_to_solve'])} |")
    panels = [(f"buffer {size:,}", lambda e, size=size: e["buffer_size"] == size)
              for size in (SMALL, LARGE)]
    ev.plot_curves(df, out / "evaluation_curves.png", BY, rvd.variant, panels,
                   f"{ENV}: greedy evaluation return, mean over seeds, 95% CI",
                   order=names)
    lines += ["", "![evaluation curves](evaluation_curves.png)", "", "### What the data say", ""]
    lines += [f"- {c}" for c in conclusions(seeds)]
    return "\n".join(lines)


def conclusions(seeds: pd.DataFrame) -> list[str]:
    """What shrinking the buffer cost each agent, and whether the model lost less."""
    notes = []
    loss = {}
    for name in ["DQN (replay)", *VARIANTS]:
        mean, lo, hi, n = ev.paired(seeds, [], "auc", {"variant": name, "buffer_size": SMALL},
                                    {"variant": name, "buffer_size": LARGE})
        if n:
            loss[name] = (mean, lo, hi)
            notes.append(f"{name}: AUC with {SMALL:,} transitions minus with {LARGE:,}: "
                         f"{ev.fmt_ci(mean, lo, hi)} ({ev.verdict(lo, hi)}).")
    for name in VARIANTS:
        mean, lo, hi, n = ev.paired(seeds, [], "auc", {"variant": name, "buffer_size": SMALL},
                                    {"variant": "DQN (replay)", "buffer_size": SMALL})
        if n:
            verdict = ev.verdict(lo, hi)
            notes.append(f"With the small buffer, {name} − DQN: {ev.fmt_ci(mean, lo, hi)} "
                         f"({verdict}): " + ("the model won where it should." if verdict ==
                                             "better" else "the model did not win here."))
    return notes


PRESET = LearningPreset("deep-small-buffer", description("deep-small-buffer"), default_seeds=10,
                        reporter=report, experiment=_experiment, backend="process")
