"""Sutton & Barto Figure 8.4 (Example 8.2): Dyna-Q and Dyna-Q+ on the blocking maze.

The machinery and the hyperparameters are those that Figure 8.5 (the shortcut maze,
:mod:`.fig8_5`) shares: :class:`~dynaq.experiments.presets.common.ChangingMaze`.
"""

from __future__ import annotations

import pandas as pd

from dynaq.envs import BLOCKING_SWITCH
from dynaq.experiments.presets import description
from dynaq.experiments.presets.common import DQ, DQ_PLUS, ChangingMaze, ahead, ci, count

COMPANION = ("the book's companion code (ShangtongZhang/reinforcement-learning-an-introduction, "
             "chapter08/maze.py, figure_8_4)", 10, 1e-4)
"""Where the companion code's settings for this figure come from, its k and its κ."""


def _blocking_claims(scores: pd.DataFrame, maze: ChangingMaze) -> list[tuple[str, str]]:
    return [
        ("Both Dyna agents found the short path within 1000 steps",
         f"greedy policy just before the change a path ≤ 2 steps longer than the shortest: "
         f"Dyna-Q {count(scores, DQ, 'near_before')}, Dyna-Q+ "
         f"{count(scores, DQ_PLUS, 'near_before')} seeds; a shortest path: Dyna-Q "
         f"{count(scores, DQ, 'optimal_before')}, Dyna-Q+ "
         f"{count(scores, DQ_PLUS, 'optimal_before')} (a Dyna-Q model knows only the moves "
         "tried, so a longer path found first can look best)"),
        ("When the environment changed the graphs become flat: no reward while the agents "
         "wander behind the barrier",
         f"real steps from the change to the next goal: Dyna-Q "
         f"{ci(scores, DQ, 'steps_to_next_goal')}, Dyna-Q+ "
         f"{ci(scores, DQ_PLUS, 'steps_to_next_goal')}"),
        ("After a while they found the new opening and the new optimal behaviour",
         f"greedy policy at step {maze.total_steps} a path ≤ 2 steps longer than the "
         f"shortest: Dyna-Q {count(scores, DQ, 'near_at_end')}, Dyna-Q+ "
         f"{count(scores, DQ_PLUS, 'near_at_end')} seeds; a shortest path: Dyna-Q "
         f"{count(scores, DQ, 'optimal_at_end')}, Dyna-Q+ "
         f"{count(scores, DQ_PLUS, 'optimal_at_end')}"),
        ("Dyna-Q+ performed better in the first phase as well as in the second (Exercise "
         "8.2)", ahead(scores, "at_switch", "first phase") + "; "
         + ahead(scores, "after_change", "after the change")),
        ("The plot's vertical axis runs to about 150 (the book gives no numbers)",
         f"cumulative reward at step {maze.total_steps}: Dyna-Q {ci(scores, DQ, 'at_end')}, "
         f"Dyna-Q+ {ci(scores, DQ_PLUS, 'at_end')}"),
        _settings_row(maze),
    ]


def _settings_row(maze: ChangingMaze) -> tuple[str, str]:
    """The companion code's k and κ beside the ones this run used (read from its config)."""
    source, k, kappa = COMPANION
    runs = maze.experiment(1).runs
    ours_k = ", ".join(f"{v}" for v in sorted({r.planning_steps for r in runs}))
    ours_kappa = ", ".join(f"{v:g}" for v in sorted({r.kappa for r in runs
                                                      if r.agent == "dyna-q+"}))
    return (f"{source[0].upper()}{source[1:]}, not the book, runs this figure with k = {k} "
            f"planning steps and κ = {kappa:g}",
            f"this run uses k = {ours_k} for every agent and κ = {ours_kappa} for Dyna-Q+: the "
            "settings differ, so the curves are not the companion code's either")


BLOCKING = ChangingMaze("fig8.4", "dynaq/BlockingMaze-v0", "Figure 8.4", BLOCKING_SWITCH, 3000,
                        _blocking_claims)

PRESET = BLOCKING.preset(description(BLOCKING.name))
