"""Tests for dynaq.envs.maps: the ASCII map parser and the built-in maps."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dynaq import ConfigError
from dynaq.envs import grid_world_env, maps
from dynaq.envs.gridworld import GridWorld
from dynaq.envs.maps import (
    ALLOWED,
    DYNA_MAZE,
    DYNA_MAZE_SCALES,
    MAPS,
    SINGLE_PATH_9X9,
    SLIPPERY_CLIFF,
    desc_rows,
    generate_maze,
    load_map,
    parse_map,
    scale_map,
    shortest_path,
)

PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


# -- errors ----------------------------------------------------------------------------------
def test_ragged_rows_name_the_row_and_its_width():
    with pytest.raises(ConfigError, match=r"row 2 has 3 columns, expected 4"):
        parse_map(["S...", "....", "...", "...G"])


def test_unknown_character_names_row_and_column():
    with pytest.raises(ConfigError, match=r"unknown character 'x' at row 1, column 3"):
        parse_map(["S...", "...x", "...G"])


def test_first_unknown_character_is_reported():
    with pytest.raises(ConfigError, match=r"'\?' at row 0, column 2"):
        parse_map(["S.?.", "..!G"])


def test_no_start():
    with pytest.raises(ConfigError, match=r"exactly one start 'S', found 0"):
        parse_map(["....", "...G"])


def test_two_starts_lists_both_positions():
    with pytest.raises(ConfigError,
                       match=r"found 2 \(row 0, column 0, row 2, column 1\)"):
        parse_map(["S...", "...G", ".S.."])


def test_no_goal():
    with pytest.raises(ConfigError, match=r"no goal 'G'"):
        parse_map(["S...", "...."])


def test_walled_off_goal_names_goal_and_start():
    with pytest.raises(ConfigError, match=r"goal 'G' at row 0, column 4 is unreachable from "
                                          r"the start at row 1, column 0"):
        parse_map(["...#G", "S..#.", "...#."])


def test_goal_behind_cliff_is_unreachable():
    # Entering a cliff ends the episode, so the goal behind it cannot be reached.
    with pytest.raises(ConfigError, match=r"row 0, column 3 is unreachable"):
        parse_map(["S.CG", "##C#"])


def test_second_goal_unreachable_is_reported_even_if_first_is_reachable():
    with pytest.raises(ConfigError, match=r"goal 'G' at row 2, column 2 is unreachable"):
        parse_map(["S.G", "###", "..G"])


def test_empty_map():
    for rows in ([], [""], ""):
        with pytest.raises(ConfigError, match="empty"):
            parse_map(rows)


# -- valid maps ------------------------------------------------------------------------------
def test_parse_returns_character_grid():
    grid = parse_map(["S.#", "C.G"])
    assert grid.shape == (2, 3)
    assert grid[0, 0] == "S" and grid[0, 2] == "#" and grid[1, 0] == "C" and grid[1, 2] == "G"


def test_parse_accepts_one_multiline_string():
    text = """
        S.#
        ..G
    """
    np.testing.assert_array_equal(parse_map(text), parse_map(["S.#", "..G"]))


def test_built_in_maps():
    assert shortest_path(DYNA_MAZE) == 14
    assert shortest_path(SINGLE_PATH_9X9) == 48
    single = parse_map(SINGLE_PATH_9X9)
    assert single.shape == (9, 9)
    assert int((single != "#").sum()) == 49
    maze = parse_map(DYNA_MAZE)
    assert maze.shape == (6, 9)
    assert int((maze == "#").sum()) == 7
    assert tuple(np.argwhere(maze == "S")[0]) == (2, 0)
    assert tuple(np.argwhere(maze == "G")[0]) == (0, 8)
    assert MAPS == {"dyna_maze": DYNA_MAZE, "single_path_9x9": SINGLE_PATH_9X9,
                    "slippery_cliff": SLIPPERY_CLIFF}


def test_shortest_path_goes_to_nearest_goal_and_around_walls():
    assert shortest_path(["S.G", "...", "..G"]) == 2
    assert shortest_path(["S#G", "...", "..."]) == 4
    assert shortest_path(["SG"]) == 1


# -- property tests --------------------------------------------------------------------------
def reference_is_valid(rows: list[str]) -> bool:
    """Independent statement of the map rules, for the property tests."""
    if not rows or not rows[0] or any(len(r) != len(rows[0]) for r in rows):
        return False
    if any(ch not in ALLOWED for r in rows for ch in r):
        return False
    starts = [(i, j) for i, r in enumerate(rows) for j, ch in enumerate(r) if ch == "S"]
    goals = [(i, j) for i, r in enumerate(rows) for j, ch in enumerate(r) if ch == "G"]
    if len(starts) != 1 or not goals:
        return False
    seen, queue = {starts[0]}, deque([starts[0]])
    while queue:
        i, j = queue.popleft()
        if rows[i][j] in "GC":  # the episode ends there: no moves onward
            continue
        for ni, nj in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
            if (0 <= ni < len(rows) and 0 <= nj < len(rows[0]) and (ni, nj) not in seen
                    and rows[ni][nj] != "#"):
                seen.add((ni, nj))
                queue.append((ni, nj))
    return all(g in seen for g in goals)


# Mostly free cells so that a good share of random grids are valid.
CELL = st.sampled_from(".......##GCS")


@st.composite
def grids(draw, ragged: bool = False) -> list[str]:
    height = draw(st.integers(1, 6))
    width = draw(st.integers(1, 6))
    rows = []
    for _ in range(height):
        w = draw(st.integers(1, 6)) if ragged else width
        rows.append("".join(draw(st.lists(CELL, min_size=w, max_size=w))))
    return rows


@st.composite
def valid_maps(draw) -> list[str]:
    rows = [list(r) for r in draw(grids())]
    cells = [(i, j) for i in range(len(rows)) for j in range(len(rows[0]))]
    assume(len(cells) >= 2)
    for i, j in cells:
        if rows[i][j] == "S":
            rows[i][j] = "."
    si, sj = draw(st.sampled_from(cells))
    rows[si][sj] = "S"
    gi, gj = draw(st.sampled_from([c for c in cells if c != (si, sj)]))
    rows[gi][gj] = "G"
    out = ["".join(r) for r in rows]
    assume(reference_is_valid(out))
    return out


@PROPERTY
@given(grids(ragged=True))
def test_random_grids_parse_or_raise_config_error(rows):
    try:
        grid = parse_map(rows)
    except ConfigError:
        assert not reference_is_valid(rows)
    else:
        assert reference_is_valid(rows)
        assert grid.shape == (len(rows), len(rows[0]))
        assert ["".join(r) for r in grid] == rows


@PROPERTY
@given(valid_maps(), st.sampled_from([0.0, 0.1, 0.5, 0.9]))
def test_gridworld_mdp_of_random_valid_map(rows, slip):
    world = GridWorld(tuple(rows), slip=slip, step_reward=-1.0, goal_reward=5.0,
                      cliff_reward=-50.0)
    mdp = world.to_mdp()
    grid = np.array([list(r) for r in rows])
    free = np.argwhere(grid != "#")
    # One state per non-wall cell, numbered row by row.
    assert mdp.n_states == len(free) and mdp.n_actions == 4
    np.testing.assert_array_equal(world.cells, free)
    sums = np.add.reduceat(mdp.prob, mdp.offsets[:-1])
    np.testing.assert_allclose(sums, 1.0, rtol=0, atol=1e-12)
    assert np.all(mdp.prob > 0)
    for s, (r, c) in enumerate(free):
        for a in range(4):
            for _, s2, reward, term in mdp.outcomes(s, a):
                r2, c2 = free[s2]
                if grid[r, c] in "GC":  # absorbing
                    assert (s2, reward, term) == (s, 0.0, True)
                    continue
                assert abs(r2 - r) + abs(c2 - c) <= 1  # a single move or none
                assert term == (grid[r2, c2] in "GC")
                expected = {"G": 5.0, "C": -50.0}.get(grid[r2, c2], -1.0)
                assert reward == expected


@PROPERTY
@given(valid_maps())
def test_optimal_start_value_matches_shortest_path(rows):
    # Reward 1 for the goal only: V*(start) = gamma ** (shortest path - 1).
    gamma = 0.9
    mdp = GridWorld(tuple(rows), step_reward=0.0, goal_reward=1.0, cliff_reward=0.0).to_mdp()
    _, V = mdp.value_iteration(gamma)
    assert mdp.start_value(V) == pytest.approx(gamma ** (shortest_path(rows) - 1), rel=1e-9)


@PROPERTY
@given(grids(), st.data(),
       st.characters(exclude_characters=list(ALLOWED), exclude_categories=["Cs"]))
def test_unknown_character_reported_at_its_position(rows, data, bad):
    i = data.draw(st.integers(0, len(rows) - 1), label="row")
    j = data.draw(st.integers(0, len(rows[0]) - 1), label="column")
    rows = list(rows)
    rows[i] = rows[i][:j] + bad + rows[i][j + 1:]
    with pytest.raises(ConfigError) as info:
        parse_map(rows)
    assert f"unknown character {bad!r} at row {i}, column {j};" in str(info.value)


# -- scaled mazes (Sutton & Barto Example 8.4) -----------------------------------------------
@pytest.mark.parametrize(("factor", "blocks", "shape", "path"), [
    (1, (1, 1), (6, 9), 14), (2, (1, 2), (6, 18), 22), (4, (2, 2), (12, 18), 28),
    (8, (2, 4), (12, 36), 44), (16, (4, 4), (24, 36), 56), (32, (4, 8), (24, 72), 88),
    (64, (8, 8), (48, 72), 112), (128, (8, 16), (48, 144), 176)])
def test_scaled_dyna_mazes_have_the_books_sizes(factor, blocks, shape, path):
    assert DYNA_MAZE_SCALES[factor] == blocks
    layout = scale_map(DYNA_MAZE, *blocks)
    grid = parse_map(layout)
    assert grid.shape == shape
    assert int((grid != "#").sum()) == 47 * factor  # 47, 94, ..., 6016 as in the book
    assert shortest_path(layout) == path


def test_scale_map_by_hand():
    assert scale_map(["S#", ".G"], 2, 3) == ("S..###",
                                             "...###",
                                             "...G..",
                                             "......")
    # cliffs fill their block like walls; every goal keeps one cell
    assert scale_map(["SCG", "..."], 1, 2) == ("S.CCG.", "......")


def test_scale_map_by_one_is_the_map():
    assert scale_map(DYNA_MAZE, 1, 1) == DYNA_MAZE
    assert scale_map("\n".join(SINGLE_PATH_9X9), 1, 1) == SINGLE_PATH_9X9


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_scale_map_rejects_bad_factors(bad):
    with pytest.raises(ConfigError, match=r"ry must be an integer >= 1"):
        scale_map(DYNA_MAZE, bad, 1)
    with pytest.raises(ConfigError, match=r"rx must be an integer >= 1"):
        scale_map(DYNA_MAZE, 1, bad)


def test_scale_map_rejects_an_invalid_map():
    with pytest.raises(ConfigError, match="no goal"):
        scale_map(["S."], 2, 2)


# -- generated mazes -------------------------------------------------------------------------
def is_perfect_maze(layout: tuple[str, ...]) -> bool:
    """One path between any two cells (connected, one passage fewer than cells), and every
    cell reachable from the start without passing the goal."""
    free = np.array([list(r) for r in layout]) != "#"
    passages = int((free[1:] & free[:-1]).sum() + (free[:, 1:] & free[:, :-1]).sum())
    seen, queue = {(0, 0)}, deque([(0, 0)])
    while queue:
        i, j = queue.popleft()
        if layout[i][j] == "G":
            continue
        for ni, nj in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
            if 0 <= ni < free.shape[0] and 0 <= nj < free.shape[1] and free[ni, nj] \
                    and (ni, nj) not in seen:
                seen.add((ni, nj))
                queue.append((ni, nj))
    return len(seen) == int(free.sum()) == passages + 1


@pytest.mark.parametrize(("rows", "cols"), [(1, 2), (2, 1), (3, 5), (8, 8), (17, 4)])
def test_generated_maze_shape_states_start_and_goal(rows, cols):
    layout = generate_maze(rows, cols, seed=3)
    grid = parse_map(layout)  # valid, so the goal is reachable
    assert grid.shape == (2 * rows - 1, 2 * cols - 1)
    assert grid[0, 0] == "S" and grid[-1, -1] == "G"
    assert int((grid != "#").sum()) == 2 * rows * cols - 1
    assert GridWorld(layout).to_mdp().n_states == 2 * rows * cols - 1
    assert is_perfect_maze(layout)


def test_generated_maze_is_deterministic_in_its_seed():
    assert generate_maze(12, 9, seed=7) == generate_maze(12, 9, seed=7)
    mazes = {generate_maze(12, 9, seed=s) for s in range(10)}
    assert len(mazes) == 10  # seeds give different mazes
    lengths = {shortest_path(m) for m in mazes}
    assert len(lengths) > 1 and min(lengths) >= 2 * (12 - 1) + 2 * (9 - 1)


@PROPERTY
@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32))
def test_generated_mazes_are_perfect_and_solvable(rows, cols, seed):
    assume(rows * cols >= 2)
    layout = generate_maze(rows, cols, seed)
    assert is_perfect_maze(layout)


@pytest.mark.parametrize(("rows", "cols", "match"), [
    (0, 3, "rows must be an integer >= 1"), (3, -1, "cols must be an integer >= 1"),
    (2.5, 3, "rows must be"), (1, 1, r"rows \* cols, the rooms, must be in \[2, ")])
def test_generate_maze_rejects_bad_sizes(rows, cols, match):
    with pytest.raises(ConfigError, match=match):
        generate_maze(rows, cols)


def test_a_large_generated_maze_builds_its_mdp():
    # 250 x 400 rooms: 199,999 states; the same code builds 10^6 in seconds (benchmarks/).
    world = GridWorld(generate_maze(250, 400, seed=1))
    mdp = world.to_mdp()
    assert mdp.n_states == 199_999 and mdp.is_deterministic
    assert mdp.shortest_episode() == shortest_path(world.layout)


# -- map files (load_map) and desc (desc_rows) ----------------------------------------------
def write(tmp_path, text: str | bytes, name: str = "map.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_load_map_skips_comments_and_blank_lines_around_the_map(tmp_path):
    text = "\ufeff; a comment\n\n  ; indented comment\nS..  \r\n; inside\n..G\t\r\n\n\n"
    assert load_map(write(tmp_path, text)) == ["S..", "..G"]
    assert load_map(str(write(tmp_path, "S.G"))) == ["S.G"]


@pytest.mark.parametrize("text, message", [
    ("; only a comment\n\n", r"map\.txt: no map rows \(only blank or comment lines\)$"),
    ("S..\n\n..G\n", r"map\.txt: line 2 is blank inside the map"),
    ("; header\nS..\n.x.\n..G\n", r"map\.txt: unknown character 'x' at line 3, column 2;"),
    ("S..\n..\n..G\n", r"map\.txt: line 2 has 2 columns, expected 3"),
    ("; two\nS.S\n..G\n", r"map\.txt: needs exactly one start 'S', found 2 \(line 2, column "
                          r"1, line 2, column 3\)$"),
    ("S#G\n", r"map\.txt: goal 'G' at line 1, column 3 is unreachable from the start at line "
              r"1, column 1$"),
    (" S.G\n", r"map\.txt: unknown character ' ' at line 1, column 1;"),
    (b"S..\n..G\n\xff\n", r"map\.txt: line 3 is not UTF-8 text \(byte 8\)$"),
])
def test_load_map_errors_name_the_file_and_line(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_map(write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_load_map_refuses_a_missing_file_a_directory_and_a_large_file(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"^map file .*nope\.txt: cannot read it"):
        load_map(tmp_path / "nope.txt")
    with pytest.raises(ConfigError, match=r"^map file .*: cannot read it"):
        load_map(tmp_path)
    monkeypatch.setattr(maps, "MAX_MAP_BYTES", 7)
    assert load_map(write(tmp_path, "S.\n.G\n")) == ["S.", ".G"]
    with pytest.raises(ConfigError, match=r"map\.txt: larger than 7 bytes, the most a map"):
        load_map(write(tmp_path, "S..\n..G\n"))


@st.composite
def map_files(draw) -> tuple[list[str], str]:
    """A valid map and a file of it: comments anywhere, blank lines around, any line end."""
    rows = draw(valid_maps())
    comment = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"),
                      max_size=8).map(lambda t: f"{draw(st.sampled_from(['', ' ']))};{t}")
    lines = [line for row in rows
             for line in [*draw(st.lists(comment, max_size=2)), row + draw(
                 st.sampled_from(["", " ", "\t", "  "]))]]
    blank = st.lists(st.sampled_from(["", " ", "\t"]), max_size=2)
    lines = draw(blank) + lines + draw(blank) + draw(st.lists(comment, max_size=2))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return rows, bom + end.join(lines) + draw(st.sampled_from(["", end]))


@PROPERTY
@given(map_files())
def test_load_map_round_trips_any_valid_map(tmp_path_factory, case):
    rows, text = case
    assert load_map(write(tmp_path_factory.mktemp("m"), text)) == rows


@PROPERTY
@given(st.one_of(st.binary(max_size=60), st.text(CELL | st.sampled_from("\n\r ;x\t"),
                                                 max_size=60)))
def test_load_map_of_any_file_is_a_map_or_a_config_error(tmp_path_factory, text):
    try:
        rows = load_map(write(tmp_path_factory.mktemp("m"), text))
    except ConfigError as err:
        assert "\n" not in str(err)
    else:
        assert reference_is_valid(rows)


@PROPERTY
@given(valid_maps())
def test_every_form_of_desc_round_trips(rows):
    for desc in (rows, tuple(rows), [list(r) for r in rows], np.asarray(rows, dtype="c"),
                 np.asarray(rows), [r.encode() for r in rows], "\n".join(rows)):
        assert desc_rows(desc) == tuple(rows)


ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4)
    | st.binary(max_size=4) | CELL,
    lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=2), inner, max_size=2), max_leaves=20)


@PROPERTY
@given(ANYTHING | st.lists(st.text(CELL, max_size=5), max_size=5))
def test_a_bad_desc_is_a_config_error_never_another_exception(desc):
    try:
        env = grid_world_env(desc)
    except ConfigError as err:
        assert "\n" not in str(err)
    else:
        assert reference_is_valid(list(desc_rows(desc)))
        env.close()


@pytest.mark.parametrize(("rows", "cols", "seed"), [(3, 4, 0), (20, 30, 1), (181, 182, 2)])
def test_small_and_large_maps_search_alike(rows, cols, seed):
    """The search run as Python (small maps) and compiled (large ones) agree cell by cell;
    the largest maze here has more than COMPILED_BFS_CELLS cells."""
    kind = maps.kinds(parse_map(generate_maze(rows, cols, seed)))
    start = np.argwhere(kind == maps.ALLOWED.index(maps.START))[0]
    compiled = maps._distances(kind, *start)
    assert np.array_equal(maps._distances.py_func(kind, *start), compiled)
    assert np.array_equal(maps._search(kind, *start), compiled)


def test_a_small_map_parses_without_loading_the_compiled_search():
    """Loading the compiled search from numba's cache costs a third of a second, 1000 times
    what searching the Dyna maze costs in Python."""
    import subprocess
    import sys

    code = ("from dynaq.envs import maps; maps.parse_map(maps.DYNA_MAZE); "
            "maps.shortest_path(maps.SINGLE_PATH_9X9); "
            "print(len(maps._distances.signatures))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "0"
