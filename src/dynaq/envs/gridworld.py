"""Gridworlds: an ASCII map plus rewards and slip, turned into a TabularMDP.

States are the non-wall cells numbered row by row. Moving into a wall or off the grid
leaves the agent where it is. Entering a goal gives ``goal_reward`` and ends the episode;
entering a cliff gives ``cliff_reward`` and ends the episode; every other move gives
``step_reward``. With ``slip > 0`` the intended move happens with probability
``1 - slip`` and each perpendicular move with probability ``slip / 2``.

A world that changes (Sutton & Barto §8.3, the blocking and shortcut mazes) is a layout
schedule: ``changes = ((t, layout), ...)``, the map becoming ``layout`` after ``t`` real
steps. Its states are the cells free in *any* of its layouts, so every phase has the same
states; a cell that is a wall in the layout in force cannot be entered. An agent that
stands in a cell when it becomes a wall is not trapped: it moves out of it as from a free
cell (and, like any wall, the cell cannot be entered again while the layout lasts).

:meth:`GridWorld.to_mdp` is vectorized: a map of 2·10^6 states becomes a TabularMDP in a
few seconds.
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from dynaq.checks import check_below, check_index, check_real, check_text
from dynaq.envs import maps
from dynaq.errors import ConfigError
from dynaq.mdp import TabularMDP

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
ACTION_NAMES = ("up", "down", "left", "right")
_PERPENDICULAR = ((LEFT, RIGHT), (LEFT, RIGHT), (UP, DOWN), (UP, DOWN))
_WALL, _GOAL, _CLIFF = (maps.ALLOWED.index(ch) for ch in (maps.WALL, maps.GOAL, maps.CLIFF))

Layout = tuple[str, ...] | str
"""An ASCII map: one string per row, or one string with a row per line."""


def _start_cell(grid: np.ndarray) -> tuple[int, int]:
    (r, c), = np.argwhere(grid == maps.START)
    return int(r), int(c)


def _schedule(changes: Any) -> tuple[tuple[int, tuple[str, ...]], ...]:
    """``changes`` as ``(step, rows)`` pairs, steps increasing from 1.

    Raises:
        ConfigError: Naming the first pair that is not ``(step, layout)`` with an integer
            step above the one before and a layout of strings (:func:`maps.as_rows`).
    """
    if isinstance(changes, str) or not isinstance(changes, Sequence):
        raise ConfigError(f"changes must be a sequence of (step, layout) pairs, got "
                          f"{reprlib.repr(changes)}")
    schedule, last = [], 0
    for i, change in enumerate(changes):
        if isinstance(change, str) or not isinstance(change, Sequence) or len(change) != 2:
            raise ConfigError(f"changes[{i}] must be a pair (step, layout), got "
                              f"{reprlib.repr(change)}")
        t, layout = change
        if isinstance(t, bool) or not isinstance(t, int | np.integer) or t <= last:
            raise ConfigError(f"changes: steps must be increasing integers >= 1, got "
                              f"{t!r} after {last}")
        schedule.append((t, maps.as_rows(layout, f"changes[{i}] layout")))
        last = t
    return tuple(schedule)


@dataclass(frozen=True)
class GridWorld:
    """A validated gridworld description.

    Attributes:
        layout: The ASCII map (see :mod:`dynaq.envs.maps`), one string per row; in a world
            that changes, the map before the first change.
        step_reward: Reward of every move that does not enter a goal or a cliff.
        goal_reward: Reward for entering a goal.
        cliff_reward: Reward for entering a cliff.
        slip: Probability that a move goes sideways instead, in [0, 1).
        name: A label used in messages and results.
        changes: A layout schedule (§8.3): pairs ``(t, layout)``, the map becoming
            ``layout`` after ``t`` real steps (counted across episodes), ``t`` increasing.
            Every layout has the shape and the start of ``layout``.

    Raises:
        ConfigError: Naming the field: a layout that is not strings or not a valid map
            (:func:`~dynaq.envs.maps.parse_map`), a reward that is not a finite number, a
            slip outside [0, 1), a name that is not one line of text, or a schedule that is
            not pairs of increasing steps and layouts like the first.
    """

    layout: Layout
    step_reward: float = 0.0
    goal_reward: float = 1.0
    cliff_reward: float = -100.0
    slip: float = 0.0
    name: str = "gridworld"
    changes: tuple[tuple[int, Layout], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "layout", maps.as_rows(self.layout, "layout"))
        object.__setattr__(self, "changes", _schedule(self.changes))
        check_below("slip", self.slip, 0.0, 1.0)
        for field in ("step_reward", "goal_reward", "cliff_reward"):
            check_real(field, getattr(self, field))
        check_text("name", self.name)
        grids = [maps.parse_map(self.layout, "layout")]
        for i, (t, layout) in enumerate(self.changes):
            grid = maps.parse_map(layout, f"changes[{i}] layout")
            if grid.shape != grids[0].shape or grid[_start_cell(grids[0])] != maps.START:
                raise ConfigError(f"changes: the layout after step {t} must have the shape "
                                  f"{grids[0].shape} and the start of the first layout")
            grids.append(grid)
        for grid in grids:
            grid.setflags(write=False)
        object.__setattr__(self, "_grids", tuple(grids))  # parsed once: big maps cost

    @property
    def grids(self) -> tuple[np.ndarray, ...]:
        """Each layout as a ``(height, width)`` array of characters, in schedule order."""
        return self._grids

    @property
    def grid(self) -> np.ndarray:
        """The first layout as a ``(height, width)`` array of characters."""
        return self._grids[0]

    def grid_at(self, step: int) -> np.ndarray:
        """The layout in force after ``step`` real steps."""
        return self.grids[sum(t <= step for t, _ in self.changes)]

    @cached_property
    def cells(self) -> np.ndarray:
        """``(n_states, 2)`` row and column of each state (cells free in any layout)."""
        return np.argwhere(np.any([g != maps.WALL for g in self.grids], axis=0))

    @cached_property
    def state_index(self) -> np.ndarray:
        """``(height, width)`` state of each cell, -1 for walls."""
        index = np.full(self.grid.shape, -1, dtype=np.int64)
        index[tuple(self.cells.T)] = np.arange(len(self.cells))
        return index

    def state(self, row: int, col: int) -> int:
        """The state of the cell at (row, col), -1 for a wall in every layout.

        Raises:
            ConfigError: If (row, col) is not a cell of the map.
        """
        height, width = self.grid.shape
        return int(self.state_index[check_index("row", row, height),
                                    check_index("col", col, width)])

    @property
    def start(self) -> int:
        """The start state."""
        return self.state(*_start_cell(self.grid))

    def to_mdp(self) -> TabularMDP:
        """The exact model of this gridworld, with its layout schedule as ``changes``."""
        initial = np.zeros(len(self.cells))
        initial[self.start] = 1.0
        phases = [TabularMDP(len(self.cells), 4, *self._arrays(grid), initial, self.name)
                  for grid in self.grids]
        if len(phases) == 1:
            return phases[0]
        return TabularMDP(len(self.cells), 4, *phases[0].arrays, initial, self.name,
                          tuple((t, mdp) for (t, _), mdp in zip(self.changes, phases[1:],
                                                                 strict=True)))

    def _destinations(self, kind: np.ndarray) -> np.ndarray:
        """``(n_states, 4)`` state each move leads to in a layout (bumps stay put)."""
        # Border of -1 (like a wall): off-grid and wall targets read -1 and stay put.
        open_index = np.pad(np.where(kind != _WALL, self.state_index, -1), 1,
                            constant_values=-1)
        dest = np.empty((len(self.cells), 4), dtype=np.int64)
        r, c = self.cells[:, 0] + 1, self.cells[:, 1] + 1
        for a, (dr, dc) in enumerate(maps.MOVES):
            dest[:, a] = open_index[r + dr, c + dc]
        return np.where(dest >= 0, dest, np.arange(len(self.cells))[:, None])

    def _arrays(self, grid: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(offsets, next_state, prob, reward, terminated)`` of one layout: per (s, a) the
        forward move then the two slips, identical next states merged into the first."""
        kind = maps.kinds(grid)
        moves = [[a, *(_PERPENDICULAR[a] if self.slip > 0 else ())] for a in range(4)]
        nxt = self._destinations(kind)[:, np.array(moves)]  # (S, 4, K)
        prob = np.broadcast_to(np.array([1.0 - self.slip, self.slip / 2, self.slip / 2]
                                        )[:nxt.shape[2]], nxt.shape).copy()
        keep = np.ones(nxt.shape, dtype=bool)
        for k in range(1, nxt.shape[2]):
            for j in range(k):
                dup = keep[..., k] & keep[..., j] & (nxt[..., k] == nxt[..., j])
                prob[..., j] += np.where(dup, prob[..., k], 0.0)
                keep[..., k] &= ~dup
        here = kind[self.cells[:, 0], self.cells[:, 1]]
        there = here[nxt]
        reward = np.select([there == _GOAL, there == _CLIFF],
                           [self.goal_reward, self.cliff_reward], self.step_reward)
        terminated = (there == _GOAL) | (there == _CLIFF)
        # Goal and cliff cells are absorbing, like the toy-text envs' terminal states.
        ends = (here == _GOAL) | (here == _CLIFF)
        nxt[ends] = np.flatnonzero(ends)[:, None, None]
        prob[ends], reward[ends], terminated[ends] = 1.0, 0.0, True
        keep[ends] = False
        keep[ends, :, 0] = True
        offsets = np.concatenate([[0], np.cumsum(keep.sum(axis=2).ravel())])
        return offsets, nxt[keep], prob[keep], reward[keep], terminated[keep]
