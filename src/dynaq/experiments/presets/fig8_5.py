"""Sutton & Barto Figure 8.5 (Example 8.3): Dyna-Q and Dyna-Q+ on the shortcut maze.

The same agents and hyperparameters as Figure 8.4 (see :mod:`.common`), for 6000 real
steps; a shortcut opens after 3000. The greedy policy is optimal after the change only if
it takes the shortcut (the long path stays open), which is how finding it is measured.
"""

from __future__ import annotations

import pandas as pd

from dynaq.envs import SHORTCUT_SWITCH
from dynaq.experiments.presets import description
from dynaq.experiments.presets.common import (
    DQ,
    DQ_ACTION,
    DQ_PLUS,
    ChangingMaze,
    ahead,
    ci,
    count,
    mean,
)


def _shortcut_claims(scores: pd.DataFrame, maze: ChangingMaze) -> list[tuple[str, str]]:
    lead = mean(scores, DQ_PLUS, "at_switch") - mean(scores, DQ, "at_switch")
    late = mean(scores, DQ_PLUS, "late_first_phase") - mean(scores, DQ, "late_first_phase")
    return [
        ("Initially the optimal path goes around the left side of the barrier",
         f"greedy policy just before the change a path ≤ 2 steps longer than the shortest: "
         f"Dyna-Q {count(scores, DQ, 'near_before')}, Dyna-Q+ "
         f"{count(scores, DQ_PLUS, 'near_before')} seeds; a shortest path: Dyna-Q "
         f"{count(scores, DQ, 'optimal_before')}, Dyna-Q+ "
         f"{count(scores, DQ_PLUS, 'optimal_before')}"),
        ("The regular Dyna-Q agent never switched to the shortcut; it never realized that it "
         "existed", f"Dyna-Q's greedy policy takes the shortcut (is worth more than the best "
                    f"path around the left) at step {maze.total_steps} in "
                    f"{count(scores, DQ, 'beats_old_at_end')} seeds"),
        ("Dyna-Q+ found the shortcut",
         f"its greedy policy takes it at step {maze.total_steps} in "
         f"{count(scores, DQ_PLUS, 'beats_old_at_end')} seeds; it was first optimal "
         f"{ci(scores, DQ_PLUS, 'steps_to_optimal')} real steps after the shortcut opened"),
        ("Dyna-Q+ performed better in the first phase as well as in the second (Exercise "
         "8.2)", ahead(scores, "at_switch", "first phase") + "; "
         + ahead(scores, "after_change", "after the change")),
        ("The gap between Dyna-Q+ and Dyna-Q narrowed slightly over the first part "
         "(Exercise 8.3: Dyna-Q+ keeps paying for exploration once the world is learned)",
         f"reward in steps {maze.switch // 2 + 1}–{maze.switch}: Dyna-Q+ "
         f"{ci(scores, DQ_PLUS, 'late_first_phase')}, Dyna-Q "
         f"{ci(scores, DQ, 'late_first_phase')}: Dyna-Q+'s lead of {lead - late:.1f} at step "
         f"{maze.switch // 2} " + ("shrank" if late < 0 else "grew")
         + f" to {lead:.1f} at step {maze.switch}"),
        ("The action-bonus variant (Exercise 8.4, no answer in the book)",
         f"takes the shortcut at the end in {count(scores, DQ_ACTION, 'beats_old_at_end')} "
         "seeds; "
         f"cumulative reward {ci(scores, DQ_ACTION, 'at_end')}. Its bonus only tips a choice "
         "where the agent stands: nothing carries it back through planning to the states "
         "that lead there"),
        ("The plot's vertical axis runs to about 400 (the book gives no numbers)",
         f"cumulative reward at step {maze.total_steps}: Dyna-Q {ci(scores, DQ, 'at_end')}, "
         f"Dyna-Q+ {ci(scores, DQ_PLUS, 'at_end')}"),
    ]


SHORTCUT = ChangingMaze("fig8.5", "dynaq/ShortcutMaze-v0", "Figure 8.5", SHORTCUT_SWITCH, 6000,
                        _shortcut_claims)

PRESET = SHORTCUT.preset(description(SHORTCUT.name))
