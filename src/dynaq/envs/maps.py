"""ASCII maps of the course's and the book's gridworlds, their parser, and maze generators.

Characters: ``#`` wall, ``.`` free cell, ``S`` start (exactly one), ``G`` goal (one or
more; entering it gives the goal reward and ends the episode), ``C`` cliff (entering it
gives the cliff reward and ends the episode).

:func:`desc_rows` reads a map in Gymnasium's FrozenLake convention (the ``desc`` of
``dynaq/GridWorld-v0``: rows as strings, as lists of characters, or an array of them) and
:func:`load_map` reads a map file (one row per line, ``;`` comment lines; see
``docs/maps.md``).

Two generators make larger worlds: :func:`scale_map` blows every cell of a map up into a
block (the scaled Dyna mazes of Sutton & Barto Example 8.4, :data:`DYNA_MAZE_SCALES`) and
:func:`generate_maze` carves a random perfect maze of any size (10^6 states in about a
second). Both check and search maps with compiled loops, so a map of millions of cells
parses in well under a second.
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from dynaq import rng
from dynaq.checks import check_count
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

_OPEN_RIGHT = (
    "........G",
    ".........",
    ".........",
    "########.",
    ".........",
    "...S.....",
)
_OPEN_LEFT = (
    "........G",
    ".........",
    ".........",
    ".########",
    ".........",
    "...S.....",
)
_OPEN_BOTH = (
    "........G",
    ".........",
    ".........",
    ".#######.",
    ".........",
    "...S.....",
)
BLOCKING_MAZE = (_OPEN_RIGHT, _OPEN_LEFT)
"""Sutton & Barto Example 8.2 / Figure 8.4, before and after the change: 6×9, start (5, 3),
goal (0, 8), a barrier on row 3 open at its right end (shortest path 10 steps), then open
only at its left end (shortest path 16)."""

SHORTCUT_MAZE = (_OPEN_LEFT, _OPEN_BOTH)
"""Sutton & Barto Example 8.3 / Figure 8.5, before and after the change: the barrier open at
its left end (shortest path 16 steps), then at both ends (the shortcut: 10 steps)."""

SLIPPERY_CLIFF = (
    "............",
    "............",
    "............",
    "SCCCCCCCCCCG",
)
"""The cliff of Sutton & Barto Example 6.6 (Gymnasium's CliffWalking): 4×12, start (3, 0),
goal (3, 11), the cliff between them on the bottom row; the shortest path is 13 steps."""

MAPS: dict[str, tuple[str, ...]] = {"dyna_maze": DYNA_MAZE, "single_path_9x9": SINGLE_PATH_9X9,
                                    "slippery_cliff": SLIPPERY_CLIFF}

DYNA_MAZE_SCALES: dict[int, tuple[int, int]] = {
    2 ** n: (2 ** (n // 2), 2 ** ((n + 1) // 2)) for n in range(8)}
"""The Dyna maze at the sizes of Sutton & Barto Example 8.4: states factor → (row factor,
column factor) of :func:`scale_map`, columns and rows doubled in turn; ``47 · factor``
states (47, 94, 188, 376, 752, 1504, 3008, 6016)."""

COMMENT = ";"
"""A map file's comment lines start with this (after any spaces)."""
MAX_MAP_BYTES = 16 * 2**20
"""Largest map file :func:`load_map` reads: 16 MiB, some 16 million cells, whose world
already takes minutes to build and gigabytes to hold."""

MAX_MAZE_ROOMS = 10**8
"""Most rooms of a :func:`generate_maze` maze: carving takes about 14 bytes a room, and the
world of a maze this size (2·10^8 states) already needs tens of gigabytes."""


def as_rows(layout: Sequence[str] | str, field: str = "map") -> tuple[str, ...]:
    """The rows of a map given as one string per row or as one string with a row per line
    (each line stripped, and blank lines around it dropped).

    Args:
        layout: The map.
        field: What the message calls it.

    Raises:
        ConfigError: Naming ``field``, unless ``layout`` is a string or a sequence of
            strings (its characters are checked by :func:`parse_map`).
    """
    if isinstance(layout, str):
        return tuple(line.strip() for line in layout.strip().splitlines())
    if isinstance(layout, Sequence) and all(isinstance(row, str) for row in layout):
        return tuple(layout)
    raise ConfigError(f"{field} must be one string per row or one string with a row per line, "
                      f"using {' '.join(ALLOWED)}; got {reprlib.repr(layout)}")


def desc_rows(desc: Any, field: str = "desc") -> tuple[str, ...]:
    """The rows of a map given in Gymnasium's FrozenLake convention: one string per row, a
    list of rows that are each a list of one-character strings, or an array of characters
    (``np.asarray(rows, dtype="c")``); bytes are read as ASCII. One string with a row per
    line is taken too (see :func:`as_rows`). The characters are checked by
    :func:`parse_map`.

    Raises:
        ConfigError: Naming ``field`` and the first row (and column) that is not a string,
            bytes, or a sequence of single characters.
    """
    if isinstance(desc, np.ndarray):
        desc = desc.tolist()
    if isinstance(desc, bytes):
        desc = _text(desc, field)
    if isinstance(desc, str):
        return as_rows(desc, field)
    if not isinstance(desc, Sequence):
        raise ConfigError(f"{field} must be a list of rows (strings, or lists of one-character "
                          f"strings) using {' '.join(ALLOWED)}; got {reprlib.repr(desc)}")
    return tuple(_desc_row(row, f"{field}: row {i}") for i, row in enumerate(desc))


def _desc_row(row: Any, where: str) -> str:
    if isinstance(row, str | bytes):
        return _text(row, where)
    if not isinstance(row, Sequence):
        raise ConfigError(f"{where} must be a string or a list of one-character strings, got "
                          f"{reprlib.repr(row)}")
    cells = [_text(cell, f"{where}, column {j}") for j, cell in enumerate(row)]
    for j, cell in enumerate(cells):
        if len(cell) != 1:
            raise ConfigError(f"{where}, column {j} must be one character, got {cell!r}")
    return "".join(cells)


def _text(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError:
            raise ConfigError(f"{where}: bytes must be ASCII, got {value!r}") from None
    raise ConfigError(f"{where} must be a string, got {reprlib.repr(value)}")


def load_map(path: str | Path) -> list[str]:
    """Read an ASCII map file: the ``desc`` of ``dynaq/GridWorld-v0`` (see ``docs/maps.md``).

    The file is UTF-8 text (a byte-order mark is allowed), at most :data:`MAX_MAP_BYTES`,
    one map row per line, in the characters of this module. Trailing whitespace (a
    Windows line end too) is dropped. Lines starting with ``;`` are comments (``#`` is a
    wall, so a row of walls cannot be one). Blank lines before and after the map are
    ignored; one between its rows is an error.

    Raises:
        ConfigError: One line naming the file and, for a problem in the map, its line and
            column (both from 1): unreadable, too large, not UTF-8, no rows, a blank line
            inside the map, or an invalid map (:func:`parse_map`).
    """
    name = str(path) if str(path).isprintable() else repr(str(path))
    rows, lines, blank = [], [], 0
    for number, line in enumerate(_read_text(Path(path), name).split("\n"), start=1):
        line = line.rstrip()
        if line.lstrip().startswith(COMMENT):
            continue
        if not line:
            blank = blank or (number if rows else 0)
            continue
        if blank:
            raise ConfigError(f"{name}: line {blank} is blank inside the map (blank lines "
                              "may only come before or after it)")
        rows.append(line)
        lines.append(number)
    if not rows:
        raise ConfigError(f"{name}: no map rows (only blank or comment lines)")
    parse_map(rows, name, lines)
    return rows


def _read_text(path: Path, name: str) -> str:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_MAP_BYTES + 1)
    except OSError as err:
        raise ConfigError(f"map file {name}: cannot read it ({err.strerror or err})") from None
    if len(data) > MAX_MAP_BYTES:
        raise ConfigError(f"{name}: larger than {MAX_MAP_BYTES:_} bytes, the most a map file "
                          "may have")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ConfigError(f"{name}: line {line} is not UTF-8 text (byte {err.start})") from None


def parse_map(rows: Sequence[str] | str, field: str = "map",
              lines: Sequence[int] | None = None) -> np.ndarray:
    """Validate an ASCII map and return it as a 2-D array of characters.

    Args:
        rows: One string per row, or one string with a row per line.
        field: What the messages call the map (``layout`` for a :class:`GridWorld`).
        lines: The line of a file each row comes from: messages then say "line L, column
            C", both counted from 1 as editors do, instead of "row i, column j" from 0.

    Returns:
        A ``(height, width)`` array of single characters.

    Raises:
        ConfigError: Naming ``field`` and the row and column of the first problem: not
            strings (see :func:`as_rows`), ragged rows, an unknown character, no start or
            several, no goal, or a goal the start cannot reach.
    """
    rows = as_rows(rows, field)
    if not rows or not rows[0]:
        raise ConfigError(f"{field}: empty; give one string per row using # . S G C")

    def at(i: int, j: int) -> str:
        return f"row {i}, column {j}" if lines is None else f"line {lines[i]}, column {j + 1}"

    width = len(rows[0])
    ragged = next((i for i, row in enumerate(rows) if len(row) != width), len(rows))
    # Code points (0 for a NUL: numpy pads strings with NULs) of the rows before any ragged
    # one, row by row as the messages name them.
    codes = np.array(rows[:ragged], dtype=f"<U{width}").view(np.uint32).reshape(ragged, width)
    kind = _kinds(codes)
    bad = np.argwhere(kind < 0)
    if len(bad):
        i, j = bad[0]
        raise ConfigError(f"{field}: unknown character {chr(codes[i, j])!r} at {at(i, j)}; "
                          f"allowed: {' '.join(ALLOWED)}")
    if ragged < len(rows):
        row = f"row {ragged}" if lines is None else f"line {lines[ragged]}"
        raise ConfigError(f"{field}: {row} has {len(rows[ragged])} columns, expected "
                          f"{width} (rows must all have the same length)")
    starts = np.argwhere(kind == ALLOWED.index(START))
    if len(starts) != 1:
        where = ", ".join(at(r, c) for r, c in starts)
        raise ConfigError(f"{field}: needs exactly one start 'S', found {len(starts)}"
                          + (f" ({where})" if where else ""))
    goals = np.argwhere(kind == ALLOWED.index(GOAL))
    if len(goals) == 0:
        raise ConfigError(f"{field}: no goal 'G' in any row")
    dist = _search(kind, *starts[0])
    for r, c in goals[dist[tuple(goals.T)] < 0][:1]:
        raise ConfigError(f"{field}: goal 'G' at {at(r, c)} is unreachable from the start "
                          f"at {at(*starts[0])}")
    return codes.view("<U1")


def shortest_path(rows: Sequence[str] | str) -> int:
    """Fewest moves from the start to the nearest goal of a valid map."""
    kind = kinds(parse_map(rows))
    dist = _search(kind, *np.argwhere(kind == ALLOWED.index(START))[0])
    return int(dist[(kind == ALLOWED.index(GOAL)) & (dist >= 0)].min())


def scale_map(layout: Sequence[str] | str, ry: int, rx: int) -> tuple[str, ...]:
    """A map at a finer resolution (Sutton & Barto Example 8.4): each cell becomes a block of
    ``ry`` rows by ``rx`` columns.

    Walls and cliffs fill their whole block; the start and each goal become the top-left
    cell of their block, the rest of it free. A map with ``n`` non-wall cells becomes one
    with ``n · ry · rx``.

    Raises:
        ConfigError: For an invalid map or factors that are not integers >= 1.
    """
    check_count("ry", ry, 1)
    check_count("rx", rx, 1)
    grid = parse_map(layout)
    big = np.repeat(np.repeat(grid, ry, axis=0), rx, axis=1)
    marked = (grid == START) | (grid == GOAL)
    big[np.repeat(np.repeat(marked, ry, axis=0), rx, axis=1)] = FREE
    big[::ry, ::rx][marked] = grid[marked]
    return tuple("".join(row) for row in big)


def generate_maze(rows: int, cols: int, seed: int = 0) -> tuple[str, ...]:
    """A random perfect maze (one path between any two cells) by randomized depth-first
    search, the recursive backtracker, as an ASCII map.

    The maze has ``rows × cols`` rooms at the even positions of a ``(2·rows − 1) ×
    (2·cols − 1)`` map; the walls between rooms are map cells, and a passage opens the wall
    between two rooms. So it has exactly ``2 · rows · cols − 1`` states (the rooms and the
    ``rows · cols − 1`` passages of a spanning tree): 707 × 707 rooms give 999,697. The
    start is the top-left room, the goal the bottom-right one. The search starts from the
    goal, which makes the goal a dead end (a depth-first tree rooted at a corner leaves
    the corner one passage), so every state can be reached without ending the episode.
    The same seed gives the same maze (drawn from the seed's ``ENV`` stream of
    :mod:`dynaq.rng`).

    Raises:
        ConfigError: When rows or cols is not an integer >= 1, the maze has one room or
            more than :data:`MAX_MAZE_ROOMS`, or the seed is not an integer >= 0.
    """
    check_count("rows", rows, 1)
    check_count("cols", cols, 1)
    rows, cols = int(rows), int(cols)  # numpy integers would wrap around in the product
    if not 2 <= rows * cols <= MAX_MAZE_ROOMS:
        raise ConfigError(f"rows * cols, the rooms, must be in [2, {MAX_MAZE_ROOMS:_}], got "
                          f"{rows} * {cols} = {rows * cols}")
    grid = _carve(rows, cols, rng.make_state(seed, rng.ENV))
    grid[0, 0], grid[-1, -1] = ord(START), ord(GOAL)
    return tuple(row.decode("ascii") for row in grid.view(f"S{grid.shape[1]}").ravel())


def kinds(grid: np.ndarray) -> np.ndarray:
    """Each cell of a parsed map as its index in :data:`ALLOWED` (0 wall, 1 free, 2 start,
    3 goal, 4 cliff): small integers that compare much faster than characters."""
    return _kinds(np.ascontiguousarray(grid).view(np.uint32))


def _kinds(codes: np.ndarray) -> np.ndarray:
    """Index in :data:`ALLOWED` of each code point, -1 for an unknown character."""
    kind = np.full(codes.shape, -1, dtype=np.int8)
    for i, ch in enumerate(ALLOWED):
        kind[codes == ord(ch)] = i
    return kind


COMPILED_BFS_CELLS = 2**16
"""Maps of more cells are searched by the compiled :func:`_distances`; smaller ones by
the same code run as Python, which takes at most about as long (0.2 s) as loading the
compiled search from numba's cache, and a 6×9 maze a quarter of a millisecond."""


def _search(kind: np.ndarray, start_row: int, start_col: int) -> np.ndarray:
    """Moves from the start to each cell (-1: unreachable), see :func:`_distances`."""
    # without the JIT (NUMBA_DISABLE_JIT) numba leaves the function itself, with no py_func
    search = _distances if kind.size > COMPILED_BFS_CELLS else getattr(
        _distances, "py_func", _distances)
    return search(kind, start_row, start_col)


@njit(cache=True)
def _distances(kind, start_row, start_col):
    """Moves from the start to each cell (-1: unreachable) by breadth-first search, never
    passing a goal or a cliff (the episode ends there); ``kind`` as from :func:`_kinds`."""
    height, width = kind.shape
    dist = np.full((height, width), -1, np.int64)
    queue = np.empty(height * width, np.int64)
    dist[start_row, start_col] = 0
    queue[0] = start_row * width + start_col
    head, tail = 0, 1
    while head < tail:
        r, c = divmod(queue[head], width)
        head += 1
        if kind[r, c] >= 3:  # GOAL or CLIFF
            continue
        for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            nr, nc = r + dr, c + dc
            if 0 <= nr < height and 0 <= nc < width and dist[nr, nc] < 0 and kind[nr, nc] > 0:
                dist[nr, nc] = dist[r, c] + 1
                queue[tail] = nr * width + nc
                tail += 1
    return dist


@njit(cache=True)
def _carve(rows, cols, state):
    """The recursive backtracker with an explicit stack: from the bottom-right room, step
    to a random unvisited neighbour room, opening the wall between, and back up at dead
    ends."""
    grid = np.full((2 * rows - 1, 2 * cols - 1), ord("#"), np.uint8)
    visited = np.zeros(rows * cols, np.bool_)
    stack = np.empty(rows * cols, np.int64)
    options = np.empty(4, np.int64)
    stack[0], visited[-1], grid[-1, -1] = rows * cols - 1, True, ord(".")
    top = 1
    while top > 0:
        room = stack[top - 1]
        r, c = divmod(room, cols)
        n = 0
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nr < rows and 0 <= nc < cols and not visited[nr * cols + nc]:
                options[n] = nr * cols + nc
                n += 1
        if n == 0:
            top -= 1
            continue
        nxt = options[rng.randint(state, n)]
        nr, nc = divmod(nxt, cols)
        grid[r + nr, c + nc] = ord(".")  # the wall between rooms (2r, 2c) and (2nr, 2nc)
        grid[2 * nr, 2 * nc] = ord(".")
        visited[nxt] = True
        stack[top] = nxt
        top += 1
    return grid
