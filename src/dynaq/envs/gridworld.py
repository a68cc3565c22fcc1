"""Gridworlds: an ASCII map plus rewards and slip, turned into a TabularMDP.

States are the non-wall cells numbered row by row. Moving into a wall or off the grid
leaves the agent where it is. Entering a goal gives ``goal_reward`` and ends the episode;
entering a cliff gives ``cliff_reward`` and ends the episode; every other move gives
``step_reward``. With ``slip > 0`` the intended move happens with probability
``1 - slip`` and each perpendicular move with probability ``slip / 2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from dynaq.envs import maps
from dynaq.errors import ConfigError
from dynaq.mdp import TabularMDP

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
ACTION_NAMES = ("up", "down", "left", "right")
_PERPENDICULAR = ((LEFT, RIGHT), (LEFT, RIGHT), (UP, DOWN), (UP, DOWN))


@dataclass(frozen=True)
class GridWorld:
    """A validated gridworld description.

    Attributes:
        layout: The ASCII map (see :mod:`dynaq.envs.maps`), one string per row.
        step_reward: Reward of every move that does not enter a goal or a cliff.
        goal_reward: Reward for entering a goal.
        cliff_reward: Reward for entering a cliff.
        slip: Probability that a move goes sideways instead, in [0, 1).
        name: A label used in messages and results.
    """

    layout: tuple[str, ...] | str
    step_reward: float = 0.0
    goal_reward: float = 1.0
    cliff_reward: float = -100.0
    slip: float = 0.0
    name: str = "gridworld"

    def __post_init__(self) -> None:
        layout = self.layout
        if isinstance(layout, str):
            layout = tuple(line.strip() for line in layout.strip().splitlines())
        object.__setattr__(self, "layout", tuple(layout))
        if not 0.0 <= self.slip < 1.0:
            raise ConfigError(f"slip must be in [0, 1), got {self.slip}")
        for field in ("step_reward", "goal_reward", "cliff_reward"):
            if not np.isfinite(getattr(self, field)):
                raise ConfigError(f"{field} must be finite, got {getattr(self, field)}")
        maps.parse_map(self.layout)

    @cached_property
    def grid(self) -> np.ndarray:
        """The map as a ``(height, width)`` array of characters."""
        return maps.parse_map(self.layout)

    @cached_property
    def cells(self) -> np.ndarray:
        """``(n_states, 2)`` row and column of each state."""
        return np.argwhere(self.grid != maps.WALL)

    @cached_property
    def state_index(self) -> np.ndarray:
        """``(height, width)`` state of each cell, -1 for walls."""
        index = np.full(self.grid.shape, -1, dtype=np.int64)
        index[tuple(self.cells.T)] = np.arange(len(self.cells))
        return index

    def state(self, row: int, col: int) -> int:
        """The state of the cell at (row, col)."""
        return int(self.state_index[row, col])

    @property
    def start(self) -> int:
        """The start state."""
        (r, c), = np.argwhere(self.grid == maps.START)
        return self.state(r, c)

    def _move(self, r: int, c: int, action: int) -> tuple[int, int]:
        dr, dc = maps.MOVES[action]
        nr, nc = r + dr, c + dc
        height, width = self.grid.shape
        if 0 <= nr < height and 0 <= nc < width and self.grid[nr, nc] != maps.WALL:
            return nr, nc
        return r, c

    def _outcomes(self, r: int, c: int, action: int) -> list[tuple[float, int, float, bool]]:
        """Merged outcomes of one move (identical results of different slips add up)."""
        if self.grid[r, c] in (maps.GOAL, maps.CLIFF):  # absorbing, like toy-text envs
            return [(1.0, self.state(r, c), 0.0, True)]
        moves = [(1.0 - self.slip, action)]
        if self.slip > 0:
            moves += [(self.slip / 2, side) for side in _PERPENDICULAR[action]]
        merged: dict[tuple[int, float, bool], float] = {}
        for p, move in moves:
            nr, nc = self._move(r, c, move)
            cell = self.grid[nr, nc]
            reward = {maps.GOAL: self.goal_reward, maps.CLIFF: self.cliff_reward}.get(
                str(cell), self.step_reward)
            key = (self.state(nr, nc), reward, cell in (maps.GOAL, maps.CLIFF))
            merged[key] = merged.get(key, 0.0) + p
        return [(p, s2, r2, term) for (s2, r2, term), p in merged.items()]

    def to_mdp(self) -> TabularMDP:
        """The exact model of this gridworld."""
        P = {s: {a: self._outcomes(int(r), int(c), a) for a in range(4)}
             for s, (r, c) in enumerate(self.cells)}
        initial = np.zeros(len(self.cells))
        initial[self.start] = 1.0
        return TabularMDP.from_transitions(P, initial, self.name)
