"""ASCII maps of the course's and the book's gridworlds, and their parser.

Characters: ``#`` wall, ``.`` free cell, ``S`` start (exactly one), ``G`` goal (one or
more; entering it gives the goal reward and ends the episode), ``C`` cliff (entering it
gives the cliff reward and ends the episode).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from dynaq.errors import ConfigError

WALL, FREE, START, GOAL, CLIFF = "#", ".", "S", "G", "C"
ALLOWED = (WALL, FREE, START, GOAL, CLIFF)
MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))
"""Row and column change of the four moves, in action order: up, down, left, right."""

DYNA_MAZE = (
    ".......#G",
    "..#....#.",
    "S.#....#.",
    "..#......",
    ".....#...",
    ".........",
)
"""Sutton & Barto Example 8.1 / Figure 8.2: 6×9, start (2, 0), goal (0, 8)."""

SINGLE_PATH_9X9 = (
    "S........",
    "########.",
    ".........",
    ".########",
    ".........",
    "########.",
    ".........",
    ".########",
    "........G",
)
"""The course's "9×9 grid with a single path to the goal": a serpentine corridor of 49
cells; the shortest (and only) path from S to G is 48 steps."""

MAPS: dict[str, tuple[str, ...]] = {"dyna_maze": DYNA_MAZE, "single_path_9x9": SINGLE_PATH_9X9}


def parse_map(rows: Sequence[str] | str) -> np.ndarray:
    """Validate an ASCII map and return it as a 2-D array of characters.

    Args:
        rows: One string per row, or one string with a row per line.

    Returns:
        A ``(height, width)`` array of single characters.

    Raises:
        ConfigError: Naming the row and column of the first problem: ragged rows, an
            unknown character, no start or several, no goal, or a goal the start cannot
            reach.
    """
    if isinstance(rows, str):
        rows = [line.strip() for line in rows.strip().splitlines()]
    rows = list(rows)
    if not rows or not rows[0]:
        raise ConfigError("map: empty; give one string per row using # . S G C")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ConfigError(f"map: row {i} has {len(row)} columns, expected {width} "
                              "(rows must all have the same length)")
        for j, ch in enumerate(row):
            if ch not in ALLOWED:
                raise ConfigError(f"map: unknown character {ch!r} at row {i}, column {j}; "
                                  f"allowed: {' '.join(ALLOWED)}")
    grid = np.array([list(r) for r in rows])
    starts = np.argwhere(grid == START)
    if len(starts) != 1:
        where = ", ".join(f"row {r}, column {c}" for r, c in starts)
        raise ConfigError(f"map: needs exactly one start 'S', found {len(starts)}"
                          + (f" ({where})" if where else ""))
    goals = np.argwhere(grid == GOAL)
    if len(goals) == 0:
        raise ConfigError("map: no goal 'G' in any row")
    dist = _distances(grid, tuple(starts[0]))
    for r, c in goals:
        if dist[r, c] < 0:
            raise ConfigError(f"map: goal 'G' at row {r}, column {c} is unreachable from the "
                              f"start at row {starts[0][0]}, column {starts[0][1]}")
    return grid


def shortest_path(rows: Sequence[str] | str) -> int:
    """Fewest moves from the start to the nearest goal of a valid map."""
    grid = parse_map(rows)
    dist = _distances(grid, tuple(np.argwhere(grid == START)[0]))
    return int(dist[(grid == GOAL) & (dist >= 0)].min())


def _distances(grid: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    """Moves from ``start`` to each cell (-1: unreachable), never passing a goal or cliff."""
    height, width = grid.shape
    dist = np.full(grid.shape, -1, dtype=np.int64)
    dist[start] = 0
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        if grid[r, c] in (GOAL, CLIFF):
            continue
        for dr, dc in MOVES:
            nr, nc = r + dr, c + dc
            if 0 <= nr < height and 0 <= nc < width and dist[nr, nc] < 0 \
                    and grid[nr, nc] != WALL:
                dist[nr, nc] = dist[r, c] + 1
                queue.append((nr, nc))
    return dist
