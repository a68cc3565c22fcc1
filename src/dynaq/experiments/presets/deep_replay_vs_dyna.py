"""Replay or Dyna at matched compute: extra gradient steps on replayed real transitions or
on imagined ones, on CartPole-v1 and Acrobot-v1 (the course's "relation to experience
replay"; van Hasselt, Hessel & Aslanides 2019; Holland, Talvitie & Bowling 2018).

Every config does U gradient steps per real step, U ∈ :data:`UPDATES`:

- **DQN (replay)**: ``updates_per_step`` U, all on replayed real minibatches;
- **Dyna-DQN**: U/(1 + k) = :data:`REAL_U` steps on real data and k = 2U − 1 planning steps
  after each, their minibatches wholly imagined once the model is trusted (next-state error
  on fresh transitions below :data:`GATE`; until then, replayed), in four variants:
  one-step (H = 1) with the learned termination head; H = 1 with the env's known
  termination rule; H = 1 with the *true simulator* stepped from the buffer's states (a
  perfect model: the control that separates "the model is wrong" from "one-step imagined
  transitions add little"); and H = :data:`LONG_H` rollouts from an ensemble of
  :data:`ENSEMBLE` (:data:`ELITES` elites), cut where the elites disagree.

Why this budget: :data:`STEPS` real steps × 10 seeds × 30 configs is what fits in about 30
minutes on 2 cores with a 64 × 64 Q-network and minibatches of 32 (the seeds of a config run
in lockstep as one batched network; 10,000 steps took about twice as long); DQN does not
solve either env within it at every U, which the censored steps-to-solve and the AUC both
show. It is a short-budget study: what helps early, not what wins in the end.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.presets import deep_eval as ev
from dynaq.experiments.presets import description
from dynaq.experiments.presets.base import LearningPreset

ENVS = ("CartPole-v1", "Acrobot-v1")
STEPS = 6000
"""Real steps per run."""
UPDATES = (1, 2, 4)
"""Gradient steps per real step, U, of every config."""
REAL_U = 0.5
"""Dyna-DQN's gradient steps on real data per real step."""
GATE = 0.5
"""Relative next-state error below which a seed trusts its model (no change scores 1)."""
RAMP = 1000
"""Real steps over which the imagined share of a planning minibatch grows to 1."""
LONG_H, ENSEMBLE, ELITES, DISAGREEMENT = 3, 3, 2, 1.0
"""The long-rollout variant: H, members, elites, and the disagreement that cuts a rollout."""
EVAL_PERIOD, EVAL_EPISODES = 500, 5
"""Greedy evaluations: every this many real steps, this many episodes."""

COMMON = {"hidden": (64, 64), "batch_size": 32, "learning_starts": 500,
          "epsilon_decay_steps": 3000, "eval_period": EVAL_PERIOD,
          "eval_episodes": EVAL_EPISODES}
"""Settings of every run (the rest: :class:`dynaq.deep.config.DeepConfig`'s defaults)."""
DYNA = {"imagined_ratio": 1.0, "model_holdout": 0.2, "model_steps": 100, "model_gate": GATE,
        "imagined_ramp": RAMP}
"""Settings of every Dyna-DQN run."""
VARIANTS = {
    "Dyna H=1, learned termination": {"termination": "learned"},
    "Dyna H=1, known termination": {"termination": "known"},
    "Dyna H=1, true simulator": {"world_model": "simulator", "termination": "known"},
    f"Dyna H={LONG_H}, ensemble {ENSEMBLE}, disagreement cut": {
        "termination": "known", "rollout_length": LONG_H, "ensemble": ENSEMBLE,
        "elites": ELITES, "disagreement": DISAGREEMENT},
}
"""Dyna-DQN's variants by label."""
BY = ["env", "agent", "planning_steps", "updates_per_step", "world_model", "termination",
      "rollout_length", "ensemble"]
"""The columns that tell this preset's configs apart."""


def variant(conf: dict) -> str:
    """The label of a config (a row of the results)."""
    names = list(VARIANTS)
    if conf["agent"] == "dqn":
        return "DQN (replay)"
    if conf["world_model"] == "simulator":
        return names[2]
    if int(conf["rollout_length"]) > 1:
        return names[3]
    return names[1] if conf["termination"] == "known" else names[0]


def total_updates(conf: dict) -> float:
    """U of a config: real-data steps per real step times (1 + k)."""
    return float(conf["updates_per_step"]) * (1 + int(conf["planning_steps"]))


def _experiment(seeds: int) -> Experiment:
    runs = []
    for env in ENVS:
        budget = {"env": env, "episodes": None, "total_steps": STEPS}
        for u in UPDATES:
            runs.append(RunConfig(agent="dqn", updates_per_step=u, **budget, **COMMON))
            for settings in VARIANTS.values():
                runs.append(RunConfig(agent="dyna-dqn", updates_per_step=REAL_U,
                                      planning_steps=round(u / REAL_U) - 1, **budget,
                                      **COMMON, **DYNA, **settings))
    return Experiment("deep-replay-vs-dyna", tuple(runs), seeds)


def report(df: pd.DataFrame, summary: pd.DataFrame, out: Path) -> str:
    """Write the curves and the AUC plot into ``out``; return the Markdown notes."""
    seeds = ev.per_seed(df, BY)
    seeds["variant"] = [variant(r) for r in seeds.to_dict("records")]
    seeds["U"] = [total_updates(r) for r in seeds.to_dict("records")]
    lines = ["## Replay or Dyna at matched compute", "",
             f"Greedy evaluation return ({EVAL_EPISODES} episodes every {EVAL_PERIOD:,} real "
             f"steps, apart from the ε-greedy training episodes), {STEPS:,} real steps per "
             f"run, mean [95% bootstrap CI] over {df['seed'].nunique()} seeds, and the "
             "interquartile mean (IQM, robust to a wild seed). AUC: the mean "
             "evaluation return over the run. Steps to solve: real steps at the first "
             "evaluation at the env's threshold; a seed that never reached it counts its "
             "budget (censored: the mean is then a lower bound). Every config does U gradient "
             "steps per real step; Dyna-DQN does 0.5 on real data and k = 2U − 1 planning "
             "steps after each."]
    for env in [e for e in ENVS if e in set(seeds["env"])]:
        part = seeds[seeds["env"] == env]
        lines += ["", f"### {env} (solved at {ev.SOLVED[env]:g})", "", _table(part), "",
                  "Paired difference from DQN at the same U (AUC, seed by seed):", "",
                  _paired_table(part)]
        panels = [(f"U = {u:g}", lambda e, u=u: _u_mask(e, u)) for u in UPDATES]
        ev.plot_curves(df[df["env"] == env], out / f"curves_{_slug(env)}.png", BY,
                       variant, panels,
                       f"{env}: greedy evaluation return, mean over seeds, 95% CI",
                       order=["DQN (replay)", *VARIANTS])
        lines += ["", f"![evaluation curves, {env}](curves_{_slug(env)}.png)"]
    _plot_auc(seeds, out / "auc.png")
    lines += ["", "![AUC against gradient steps per real step](auc.png)", "",
              "### What the data say", ""]
    lines += [f"- {c}" for c in conclusions(seeds)]
    lines += ["", "### Beside the literature", ""] + [f"- {c}" for c in literature(seeds)]
    return "\n".join(lines)


def _u_mask(evals: pd.DataFrame, u: float) -> pd.Series:
    return pd.Series([total_updates(r) == u for r in evals.to_dict("records")],
                     index=evals.index)


def _slug(env: str) -> str:
    return env.split("-")[0].lower()


def _order(part: pd.DataFrame) -> list[str]:
    names = ["DQN (replay)", *VARIANTS]
    return [n for n in names if n in set(part["variant"])]


def _table(part: pd.DataFrame) -> str:
    head = ["U", "config", "AUC", "AUC IQM", f"final (last {ev.FINAL_EVALS})", "seeds solved",
            "real steps to solve (censored)", "termination recall", "model error",
            "wall s (its seeds in lockstep)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for u in UPDATES:
        for name in _order(part):
            g = part[(part["U"] == u) & (part["variant"] == name)]
            if g.empty:
                continue
            lines.append("| " + " | ".join([
                f"{u:g}", name, ev.cell(g["auc"]), f"{ev.summary_iqm(g['auc']):.3g}",
                ev.cell(g["final"]),
                f"{int(g['solved'].sum())}/{len(g)}", ev.cell(g["steps_to_solve"]),
                ev.cell(g["recall"]), ev.cell(g["model_error"]),
                f"{g['wall_s'].mean():.0f}"]) + " |")
    return "\n".join(lines)


def _paired_table(part: pd.DataFrame) -> str:
    lines = ["| U | " + " | ".join(VARIANTS) + " |", "|---|" + "---|" * len(VARIANTS)]
    for u in UPDATES:
        cells = []
        for name in VARIANTS:
            mean, lo, hi, n = ev.paired(part, [], "auc", {"U": u, "variant": name},
                                        {"U": u, "variant": "DQN (replay)"})
            cells.append("–" if not n else f"{ev.fmt_ci(mean, lo, hi)} "
                         f"({ev.verdict(lo, hi)})")
        lines.append(f"| {u:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _diffs(seeds: pd.DataFrame, name: str) -> list[tuple[str, float, str]]:
    """(env, U, verdict) of ``name`` against DQN at the same U, in every cell."""
    return _against(seeds, name, "DQN (replay)")


def _against(seeds: pd.DataFrame, name: str, other: str) -> list[tuple[str, float, str]]:
    """(env, U, verdict) of ``name`` against ``other`` at the same U, in every cell."""
    out = []
    for env in sorted(set(seeds["env"])):
        part = seeds[seeds["env"] == env]
        for u in UPDATES:
            mean, lo, hi, n = ev.paired(part, [], "auc", {"U": u, "variant": name},
                                        {"U": u, "variant": other})
            if n:
                out.append((env, u, ev.verdict(lo, hi)))
    return out


def _tally(diffs: list[tuple[str, float, str]], than: str = "replay") -> str:
    counts = {v: sum(d[2] == v for d in diffs) for v in ("better", "no clear difference",
                                                          "worse")}
    better = [f"{env} U = {u:g}" for env, u, v in diffs if v == "better"]
    return (f"better than {than} in {counts['better']}"
            + (f" ({', '.join(better)})" if better else "")
            + f", no clear difference in {counts['no clear difference']}, worse in "
            f"{counts['worse']} of the {len(diffs)} (env, U) cells")


def conclusions(seeds: pd.DataFrame) -> list[str]:
    """Plain-words findings, each computed from the per-seed scores."""
    notes = []
    for env in sorted(set(seeds["env"])):
        dqn = seeds[(seeds["env"] == env) & (seeds["variant"] == "DQN (replay)")]
        if dqn.empty:
            continue
        by_u = {u: dqn[dqn["U"] == u]["auc"].mean() for u in UPDATES}
        best = max(by_u, key=lambda u: by_u[u])
        notes.append(f"{env}: DQN's AUC at U = 1, 2, 4 was " + ", ".join(
            f"{by_u[u]:.0f}" for u in UPDATES) + f"; more replay helped most at U = {best:g}.")
    for name in VARIANTS:
        diffs = _diffs(seeds, name)
        if diffs:
            notes.append(f"{name}: {_tally(diffs)} (AUC, paired 95% CI).")
    learned = seeds[seeds["variant"] == "Dyna H=1, learned termination"]["recall"].dropna()
    if len(learned):
        notes.append(f"The learned termination head recalled {learned.mean():.0%} of the real "
                     "terminations on fresh transitions at the end of the runs (mean over "
                     "runs); the known rule recalls all of those its predicted states cross.")
    return notes


def literature(seeds: pd.DataFrame) -> list[str]:
    """Our result set beside van Hasselt et al. 2019 and Holland et al. 2018."""
    one_step = _diffs(seeds, "Dyna H=1, known termination") + _diffs(
        seeds, "Dyna H=1, learned termination")
    perfect = _diffs(seeds, "Dyna H=1, true simulator")
    long = _diffs(seeds, f"Dyna H={LONG_H}, ensemble {ENSEMBLE}, disagreement cut")
    notes = []
    if one_step:
        wins = sum(d[2] == "better" for d in one_step)
        notes.append("van Hasselt, Hessel & Aslanides (2019) argue that a model used only to "
                     "make one-step transitions from visited states can at best match replay "
                     f"at equal compute. Our learned one-step models: {_tally(one_step)}; "
                     + ("that agrees." if wins == 0 else
                        "they beat replay somewhere, which that argument does not expect: see "
                        "the cells marked better."))
    versus = _against(seeds, "Dyna H=1, learned termination", "Dyna H=1, true simulator")
    if versus:
        notes.append("The learned one-step model against the true simulator (the same Dyna "
                     f"otherwise): {_tally(versus, 'the simulator')}. Where a learned model "
                     "does as well as a perfect one or better, its gain over replay cannot "
                     "come from the accuracy of its predictions; what it does come from (its "
                     "transitions are smoothed, its termination head ends more often where "
                     "unsure) is not tested here.")
    if perfect:
        notes.append("With the true simulator (a perfect one-step model) Dyna was "
                     f"{_tally(perfect)}. Holland, Talvitie & Bowling (2018) found one-step "
                     "Dyna with a perfect model gave little over more replay on Atari; "
                     "a perfect model removes model error but not the limits of one-step "
                     "imagination from visited states.")
    if long:
        notes.append(f"Rollouts of H = {LONG_H} from an ensemble: {_tally(long)}. Holland et "
                     "al. found longer rollouts are where a model starts to pay; whether ours "
                     "did, at this budget, is in the table above.")
    return notes


def _plot_auc(seeds: pd.DataFrame, path: Path) -> Path:
    from dynaq.analysis.plots import figures, save_figure  # here: `import dynaq` stays light

    envs = sorted(set(seeds["env"]))
    fig, axes = figures.subplots(1, len(envs), figsize=(6 * len(envs), 4), squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        part = seeds[seeds["env"] == env]
        for name in _order(part):
            g = part[part["variant"] == name]
            us = [u for u in UPDATES if (g["U"] == u).any()]
            stats = np.array([ev.ci(g[g["U"] == u]["auc"]) for u in us])
            (line,) = ax.plot(us, stats[:, 0], marker="o", label=name)
            ax.fill_between(us, stats[:, 1], stats[:, 2], color=line.get_color(), alpha=0.15)
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(UPDATES), [f"{u:g}" for u in UPDATES])
        ax.set_xlabel("gradient steps per real step (U)")
        ax.set_ylabel("AUC (mean greedy evaluation return)")
        ax.set_title(f"{env}: mean over seeds, 95% CI")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


PRESET = LearningPreset("deep-replay-vs-dyna", description("deep-replay-vs-dyna"), default_seeds=10,
                        reporter=report, experiment=_experiment, backend="process")
