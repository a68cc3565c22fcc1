"""The course's common-mistakes table, row by row: what the symptom looks like when the
mistake is made, measured, and what dynaq does instead.

Rows 1 and 5 are mistakes in the code of the loop itself, so they are shown with
:func:`course_loop`, the course's Dyna-Q sketch as a short Python loop over the
TabularMDP, which can make either mistake on purpose (done right it gives dynaq's compiled
Dyna-Q exactly, random numbers included). Rows 2–4 are mistakes in how Dyna-Q is set up,
shown with dynaq's own agents.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from dynaq import rng
from dynaq.analysis.plots import figures, save_figure
from dynaq.analysis.report import fmt_ci
from dynaq.analysis.stats import bootstrap_ci
from dynaq.envs import env_model
from dynaq.experiments.config import RunConfig
from dynaq.experiments.presets import description
from dynaq.experiments.presets.base import ComputedPreset
from dynaq.experiments.runner import run_cells
from dynaq.kernels import run as K
from dynaq.kernels import tabular
from dynaq.mdp import TabularMDP, greedy_policy
from dynaq.metrics import GroundTruth, policy_is_optimal

MAZE, CLIFF, SHORTCUT = "dynaq/DynaMaze-v0", "dynaq/SlipperyCliff-v0", "dynaq/ShortcutMaze-v0"
MAZE_EPISODES, CLIFF_EPISODES, SHORTCUT_STEPS = 30, 200, 6000
COURSE = {1: ("Planning before any model entries", "Random simulated backups",
              "Wait until seen_sa non-empty"),
          2: ("k=0 and expecting Dyna gains", "Same as Q-learning", "Set k > 0"),
          3: ("Deterministic model in slippery env", "Biased Q near cliffs",
              "Use transition counts"),
          4: ("Never visiting frontier states", "Model stale at boundary",
              "ε-greedy + Dyna-Q+ bonus"),
          5: ("Confusing model updates with Q updates", "Model overwrites wrong",
              "Separate model_s / model_r dicts")}
"""The course's table: row → (mistake, symptom, fix)."""


def course_loop(mdp: TabularMDP, k: int, seed: int, episodes: int, mistake: str | None = None,
                alpha: float = 0.1, gamma: float = 0.95, epsilon: float = 0.1
                ) -> tuple[list[int], np.ndarray, float]:
    """The course's tabular Dyna-Q sketch on ``mdp``, optionally with a mistake.

    Args:
        mistake: ``None`` (done right: the same episodes and Q as dynaq's compiled Dyna-Q
            for this seed); ``"plan-before-entries"`` (MISTAKE: planning draws (ŝ, â) from
            every pair, as code that does not wait for seen_sa to fill does, and a pair
            never tried reads the model's empty entry: next state 0, reward 0);
            ``"one-table"`` (MISTAKE: the next state and the reward are written to the same
            table entry, so the reward overwrites the next state).

    Returns:
        Steps per episode, the final Q, and the share of planning backups whose simulated
        transition was not the real one (made up, or overwritten).
    """
    agent_rng, env_rng = rng.make_state(seed, rng.AGENT), rng.make_state(seed, rng.ENV)
    A = mdp.n_actions
    Q = np.zeros((mdp.n_states, A))
    model_s: dict[tuple[int, int], float] = {}
    model_r: dict[tuple[int, int], float] = {}
    model_t: dict[tuple[int, int], bool] = {}
    seen_sa: list[tuple[int, int]] = []
    lengths, wrong, planned = [], 0, 0
    for _ in range(episodes):
        s, steps, done = int(K.sample_start(np.cumsum(mdp.initial), env_rng)), 0, False
        while not done:
            a = int(tabular.egreedy_action(Q, s, epsilon, agent_rng))
            i = int(K.sample_outcome(mdp.offsets, mdp.prob, s * A + a, env_rng))
            s2, r, done = int(mdp.next_state[i]), float(mdp.reward[i]), bool(mdp.terminated[i])
            tabular.q_backup(Q, s, a, r, s2, done, alpha, gamma)  # direct RL
            model_s[(s, a)] = s2  # model learning
            (model_s if mistake == "one-table" else model_r)[(s, a)] = r
            model_t[(s, a)] = done
            if (s, a) not in seen_sa:
                seen_sa.append((s, a))
            for _ in range(k):  # planning
                if mistake == "plan-before-entries":
                    sh, ah = divmod(int(rng.randint(agent_rng, Q.size)), A)
                else:
                    sh, ah = seen_sa[int(rng.randint(agent_rng, len(seen_sa)))]
                s_next = int(model_s.get((sh, ah), 0))
                r_hat = (model_s if mistake == "one-table" else model_r).get((sh, ah), 0.0)
                tabular.q_backup(Q, sh, ah, r_hat, s_next, model_t.get((sh, ah), False), alpha,
                                 gamma)
                planned += 1
                wrong += not _is_real(mdp, sh, ah, s_next, r_hat)
            s, steps = s2, steps + 1
        lengths.append(steps)
    return lengths, Q, wrong / max(planned, 1)


def _is_real(mdp: TabularMDP, s: int, a: int, s2: int, r: float) -> bool:
    """Whether (s, a) can really lead to (s2, r)."""
    return any(o[1] == s2 and o[2] == r for o in mdp.outcomes(s, a))


def _ci(values: list[float] | np.ndarray) -> tuple[float, float, float]:
    return tuple(float(v) for v in bootstrap_ci(np.asarray(values, dtype=float)))


def _rows(row: int, variant: str, metrics: dict[str, list[float] | np.ndarray]) -> list[dict]:
    return [{"row": row, "variant": variant, "metric": name, "seeds": len(values),
             **dict(zip(("mean", "lo", "hi"), _ci(values), strict=True))}
            for name, values in metrics.items()]


def _loop_rows(row: int, mistake: str, seeds: int) -> list[dict]:
    """Rows 1 and 5: the course's loop with the mistake against the loop done right."""
    mdp, _ = env_model(MAZE)
    truth = GroundTruth.of(mdp, 0.95)
    steps = f"steps per episode, episodes 2–{MAZE_EPISODES}"
    out = []
    for variant, which in ((f"MISTAKE: {mistake}", mistake), ("done right", None)):
        runs = [course_loop(mdp, 5, seed, MAZE_EPISODES, which) for seed in range(seeds)]
        out += _rows(row, variant, {
            "share of planning backups on a transition that is not the real one":
                [w for *_, w in runs],
            steps: [np.mean(lengths[1:]) for lengths, *_ in runs],
            "final value error": [truth.value_error(Q) for _, Q, _ in runs],
            "final greedy policy optimal": [float(policy_is_optimal(mdp.start_value(
                mdp.evaluate_policy(greedy_policy(Q), 0.95)), truth.v_star_start))
                for _, Q, _ in runs]})
    cells = run_cells(RunConfig(env=MAZE, planning_steps=5, episodes=MAZE_EPISODES),
                      range(seeds))
    out += _rows(row, "dynaq dyna-q", {
        steps: [c.records[1:, K.STEPS].mean() for c in cells],
        "final value error": [c.records[-1, K.VALUE_ERROR] for c in cells],
        "final greedy policy optimal": [float(policy_is_optimal(
            c.records[-1, K.POLICY_VALUE], c.v_star_start[-1])) for c in cells],
        "final model error": [c.records[-1, K.MODEL_ERROR] for c in cells]})
    return out


def _k0_rows(seeds: int) -> list[dict]:
    """Row 2: Dyna-Q with k = 0 against Q-learning and against k = 5."""
    runs = {name: run_cells(RunConfig(env=MAZE, agent=agent, planning_steps=k,
                                      episodes=MAZE_EPISODES), range(seeds))
            for name, agent, k in (("MISTAKE: dyna-q, k = 0", "dyna-q", 0),
                                   ("q-learning", "q-learning", 0),
                                   ("fix: dyna-q, k = 5", "dyna-q", 5))}
    same = [float(np.array_equal(np.delete(a.records, K.WALL_S, 1),
                                 np.delete(b.records, K.WALL_S, 1), equal_nan=True)
                  and np.array_equal(a.Q, b.Q))
            for a, b in zip(runs["MISTAKE: dyna-q, k = 0"], runs["q-learning"], strict=True)]
    out = _rows(2, "MISTAKE: dyna-q, k = 0", {"records bitwise equal to q-learning's": same})
    for name, cells in runs.items():
        out += _rows(2, name, {f"steps per episode, episodes 2–{MAZE_EPISODES}":
                               [c.records[1:, K.STEPS].mean() for c in cells]})
    return out


def _cliff_rows(seeds: int) -> list[dict]:
    """Row 3: the bias of max_a Q − V* on the states beside the cliff, and elsewhere."""
    mdp, _ = env_model(CLIFF)
    truth = GroundTruth.of(mdp, 0.95)
    pairs = np.repeat(np.arange(mdp.n_states * mdp.n_actions), np.diff(mdp.offsets))
    near = np.zeros(mdp.n_states, bool)
    near[pairs[mdp.reward <= mdp.reward.min()] // mdp.n_actions] = True
    near &= truth.reachable
    far = truth.reachable & ~near
    out = []
    for variant, model, backup in (("MISTAKE: deterministic model", "deterministic", "sample"),
                                   ("fix: counts, sample", "counts", "sample"),
                                   ("fix: counts, expected", "counts", "expected")):
        cells = run_cells(RunConfig(env=CLIFF, model=model, backup=backup, planning_steps=50,
                                    episodes=CLIFF_EPISODES), range(seeds))
        bias = np.array([c.Q.max(axis=1) - truth.v_star for c in cells])
        out += _rows(3, variant, {
            "mean bias of max_a Q − V* beside the cliff": bias[:, near].mean(axis=1),
            "mean bias elsewhere": bias[:, far].mean(axis=1),
            "final model error": [c.records[-1, K.MODEL_ERROR] for c in cells]})
    return out


def _frontier_rows(seeds: int) -> list[dict]:
    """Row 4: a world that opens a shortcut; greedy Dyna-Q, ε-greedy Dyna-Q, Dyna-Q+."""
    mdp, _ = env_model(SHORTCUT)
    change, final = mdp.changes[-1][0], mdp.changes[-1][1]
    reachable_pairs = final.reachable().sum() * mdp.n_actions
    out = []
    for variant, agent, epsilon, extra in (
            ("MISTAKE: greedy dyna-q (ε = 0)", "dyna-q", 0.0, {}),
            ("ε-greedy dyna-q (ε = 0.1)", "dyna-q", 0.1, {}),
            ("fix: dyna-q+ (ε = 0.1, κ = 0.001)", "dyna-q+", 0.1, {"kappa": 1e-3})):
        cells = run_cells(RunConfig(env=SHORTCUT, agent=agent, epsilon=epsilon,
                                    planning_steps=50, episodes=None,
                                    total_steps=SHORTCUT_STEPS, **extra), range(seeds))
        out += _rows(4, variant, {
            "stale model entries at the end": [_stale(c.records[-1], reachable_pairs)
                                               for c in cells],
            "greedy policy takes the shortcut at the end": [float(policy_is_optimal(
                c.records[-1, K.POLICY_VALUE], c.v_star_start[-1])) for c in cells],
            "reward after the change": [c.records[c.records[:, K.ENV_STEPS] > change,
                                                  K.RETURN].sum() for c in cells]})
    return out


def _stale(record: np.ndarray, reachable_pairs: int) -> float:
    """Pairs whose remembered outcome is wrong now: a deterministic model's error is 0 or 1
    per pair in a deterministic world, so the mean error times the pairs seen (coverage
    times the reachable pairs) counts them."""
    return float(round(record[K.MODEL_ERROR] * record[K.MODEL_COVERAGE] * reachable_pairs))


def _compute(seeds: int, quiet: bool) -> pd.DataFrame:
    parts: list[Callable[[], list[dict]]] = [
        lambda: _loop_rows(1, "plan-before-entries", seeds), lambda: _k0_rows(seeds),
        lambda: _cliff_rows(seeds), lambda: _frontier_rows(seeds),
        lambda: _loop_rows(5, "one-table", seeds)]
    return pd.DataFrame([r for part in parts for r in part()])


HOW = {1: "dynaq's planning draws only from the pairs its model holds and returns 0 backups "
          "while the model is empty (`DeterministicModel.plan`, `CountsModel.plan` and the "
          "compiled planning loops); a real step updates the model before it plans, so the "
          "first one plans on the one pair it has just seen.",
       2: "dynaq cannot stop anyone from asking for k = 0, and k = 0 is the default of "
          "`DynaQConfig` and of `dynaq run`, because Q-learning is the baseline every Dyna "
          "curve is read against. It makes the case plain instead: every result row "
          "carries `planning_steps`, agent `q-learning` refuses k > 0, and `dyna-q` with "
          "k = 0 is Q-learning bit for bit (measured above).",
       3: "dynaq's default model is the deterministic one (the course's first row, exact "
          "in deterministic worlds), so it does not avoid this by itself; it shows it: "
          "every episode records `model_error`, the mean total variation between the "
          "learned and the true next-state distributions (above), and `--model counts` "
          "is the fix (see the `slippery` reproduction).",
       4: "dynaq's agents explore ε-greedily (ε = 0.1 by default) and `dyna-q+` adds the "
          "κ√τ bonus; the shortcut maze changes after exactly 3000 real steps and "
          "`model_error` is measured against the dynamics in force.",
       5: "dynaq's models keep next states, rewards and terminations in their own arrays "
          "and never touch Q: `model.update(state, action, reward, next_state, "
          "terminated)` takes each by name, so one cannot overwrite the other; its "
          "`model_error` on the Dyna maze (measured above) is 0."}


def _plot(table: pd.DataFrame, path: Path) -> Path:
    """The first metric of each row, one bar per variant with its 95% CI."""
    fig, axes = figures.subplots(2, 3, figsize=(13, 8.5))
    axes[1, 2].axis("off")
    for ax, (row, (mistake, symptom, _)) in zip(axes.flat, COURSE.items(), strict=False):
        part = table[table["row"] == row]
        part = part[part["metric"] == part["metric"].iloc[-1 if row == 2 else 0]]
        err = [part["mean"] - part["lo"], part["hi"] - part["mean"]]
        colors = ["tab:red" if v.startswith("MISTAKE") else "tab:blue" for v in part["variant"]]
        ax.bar(range(len(part)), part["mean"], yerr=np.nan_to_num(err), color=colors, capsize=3)
        ax.set_xticks(range(len(part)), [v.replace("MISTAKE: ", "mistake:\n").replace(
            "fix: ", "fix:\n") for v in part["variant"]], fontsize=7)
        ax.set_title(f"{row}. {mistake}\n({symptom})", fontsize=8)
        ax.set_ylabel(part["metric"].iloc[0], fontsize=7)
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return save_figure(fig, path)


def _verdicts(part: pd.DataFrame) -> list[str]:
    """The mistake against each other variant, metric by metric, in words."""
    lines = []
    for metric, group in part.groupby("metric", sort=False):
        rows = group.set_index("variant")
        made = [v for v in rows.index if v.startswith("MISTAKE")]
        if not made:  # a metric only dynaq's own agent reports
            continue
        mistake = rows.loc[made[0]]
        for variant, other in rows.drop(index=mistake.name).iterrows():
            apart = mistake["lo"] > other["hi"] or mistake["hi"] < other["lo"]
            if mistake["mean"] == other["mean"]:
                relation = "the same as"
            else:
                relation = ("higher" if mistake["mean"] > other["mean"] else "lower") + \
                    f" (95% CIs {'apart' if apart else 'overlap'}) than"
            lines.append(f"- {metric}: with the mistake {mistake['mean']:.3g}, {relation} "
                         f"{variant}'s {other['mean']:.3g}.")
    return lines


def _report(table: pd.DataFrame, _: pd.DataFrame, out: Path) -> str:
    _plot(table, out / "mistakes.png")
    lines = ["Each row of the course's common-mistakes table, made on purpose and measured "
             "(mean [95% bootstrap CI] over seeds), beside dynaq's default. Rows 1 and 5 "
             "use the course's own loop (`course_loop`: done right it gives dynaq's Dyna-Q "
             "exactly, so its numbers match the `dynaq dyna-q` row); rows 2–4 use dynaq's "
             "agents.", ""]
    for row, (mistake, symptom, fix) in COURSE.items():
        part = table[table["row"] == row]
        lines += [f"## {row}. {mistake}", "",
                  f"Course: symptom \"{symptom}\", fix \"{fix}\".", "",
                  "| variant | " + " | ".join(part["metric"].unique()) + " |",
                  "|---|" + "---|" * part["metric"].nunique()]
        for variant, group in part.groupby("variant", sort=False):
            cells = {m: fmt_ci(r["mean"], r["lo"], r["hi"])
                     for m, r in group.set_index("metric").iterrows()}
            lines.append(f"| {variant} | " + " | ".join(cells.get(m, "–") for m in
                                                       part["metric"].unique()) + " |")
        lines += ["", *_verdicts(part), "", f"How dynaq avoids it: {HOW[row]}", ""]
    lines.append("![the symptom of each mistake](mistakes.png)")
    return "\n".join(lines)


PRESET = ComputedPreset("common-mistakes", description("common-mistakes"), default_seeds=30,
                        reporter=_report, compute=_compute)
