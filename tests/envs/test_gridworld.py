"""Tests for dynaq.envs.gridworld: moves, walls, rewards, termination and slip."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dynaq
from dynaq import ConfigError
from dynaq.envs.gridworld import ACTION_NAMES, DOWN, LEFT, RIGHT, UP, GridWorld
from dynaq.envs.maps import shortest_path

LAYOUT = (
    # column 01234
    ".....",  # row 0
    ".#S..",  # row 1: wall at (1, 1), start at (1, 2)
    "..C.G",  # row 2: cliff at (2, 2), goal at (2, 4)
)
STEP, GOAL, CLIFF = -1.0, 10.0, -100.0


@pytest.fixture(scope="module")
def world() -> GridWorld:
    return GridWorld(LAYOUT, step_reward=STEP, goal_reward=GOAL, cliff_reward=CLIFF)


@pytest.fixture(scope="module")
def mdp(world):
    return world.to_mdp()


def only_outcome(world, mdp, cell, action):
    """The single outcome of a deterministic move, as (cell, reward, terminated)."""
    (p, s2, r, term), = mdp.outcomes(world.state(*cell), action)
    assert p == 1.0
    return tuple(int(x) for x in world.cells[s2]), r, term


def test_action_constants():
    assert (UP, DOWN, LEFT, RIGHT) == (0, 1, 2, 3)
    assert (dynaq.UP, dynaq.DOWN, dynaq.LEFT, dynaq.RIGHT) == (UP, DOWN, LEFT, RIGHT)
    assert ACTION_NAMES == ("up", "down", "left", "right")


def test_states_are_non_wall_cells_row_by_row(world, mdp):
    assert mdp.n_states == 14 and mdp.n_actions == 4
    assert world.state(0, 0) == 0 and world.state(0, 4) == 4
    assert world.state(1, 0) == 5 and world.state(1, 2) == 6  # (1, 1) is a wall
    assert world.state(2, 4) == 13
    assert world.state_index[1, 1] == -1
    assert world.start == 6
    np.testing.assert_array_equal(mdp.initial, np.eye(14)[6])


def test_moves_go_in_their_direction(world, mdp):
    assert only_outcome(world, mdp, (1, 2), UP) == ((0, 2), STEP, False)
    assert only_outcome(world, mdp, (1, 2), RIGHT) == ((1, 3), STEP, False)
    assert only_outcome(world, mdp, (0, 2), DOWN) == ((1, 2), STEP, False)
    assert only_outcome(world, mdp, (0, 2), LEFT) == ((0, 1), STEP, False)


def test_walls_keep_the_agent_in_place(world, mdp):
    assert only_outcome(world, mdp, (1, 2), LEFT) == ((1, 2), STEP, False)
    assert only_outcome(world, mdp, (0, 1), DOWN) == ((0, 1), STEP, False)
    assert only_outcome(world, mdp, (1, 0), RIGHT) == ((1, 0), STEP, False)
    assert only_outcome(world, mdp, (2, 1), UP) == ((2, 1), STEP, False)


def test_edges_keep_the_agent_in_place(world, mdp):
    assert only_outcome(world, mdp, (0, 0), UP) == ((0, 0), STEP, False)
    assert only_outcome(world, mdp, (0, 0), LEFT) == ((0, 0), STEP, False)
    assert only_outcome(world, mdp, (0, 4), RIGHT) == ((0, 4), STEP, False)
    assert only_outcome(world, mdp, (2, 0), DOWN) == ((2, 0), STEP, False)


def test_entering_goal_rewards_and_terminates(world, mdp):
    assert only_outcome(world, mdp, (1, 4), DOWN) == ((2, 4), GOAL, True)
    assert only_outcome(world, mdp, (2, 3), RIGHT) == ((2, 4), GOAL, True)


def test_entering_cliff_rewards_and_terminates(world, mdp):
    assert only_outcome(world, mdp, (1, 2), DOWN) == ((2, 2), CLIFF, True)
    assert only_outcome(world, mdp, (2, 1), RIGHT) == ((2, 2), CLIFF, True)
    assert only_outcome(world, mdp, (2, 3), LEFT) == ((2, 2), CLIFF, True)


def test_goal_and_cliff_cells_are_absorbing(world, mdp):
    for cell in ((2, 4), (2, 2)):
        for a in range(4):
            assert only_outcome(world, mdp, cell, a) == (cell, 0.0, True)


def test_optimal_values_follow_the_rewards(mdp):
    # From the start the best route is right, right, down: -1 - 1 + 10 (gamma = 1 is fine:
    # every state can end the episode).
    _, V = mdp.value_iteration(1.0)
    assert mdp.start_value(V) == pytest.approx(STEP + STEP + GOAL)


def merged(mdp, s, a):
    """Outcomes of (s, a) as {next state: (probability, reward, terminated)}."""
    out = {}
    for p, s2, r, term in mdp.outcomes(s, a):
        assert s2 not in out  # identical outcomes are merged
        out[s2] = (p, r, term)
    return out


def test_slip_probabilities():
    slip = 0.2
    world = GridWorld(LAYOUT, step_reward=STEP, goal_reward=GOAL, cliff_reward=CLIFF,
                      slip=slip)
    mdp = world.to_mdp()
    st = world.state
    # From the start, RIGHT: forward (1, 3) w.p. 0.8; UP slips to (0, 2); DOWN slips into
    # the cliff, each w.p. 0.1.
    got = merged(mdp, st(1, 2), RIGHT)
    assert got.keys() == {st(1, 3), st(0, 2), st(2, 2)}
    assert got[st(1, 3)] == pytest.approx((1 - slip, STEP, False))
    assert got[st(0, 2)] == pytest.approx((slip / 2, STEP, False))
    assert got[st(2, 2)] == pytest.approx((slip / 2, CLIFF, True))
    # From (1, 4), LEFT: forward to (1, 3); the slips go up to (0, 4) and down into the goal.
    got = merged(mdp, st(1, 4), LEFT)
    assert got == {st(1, 3): pytest.approx((0.8, STEP, False)),
                   st(0, 4): pytest.approx((0.1, STEP, False)),
                   st(2, 4): pytest.approx((0.1, GOAL, True))}


def test_slip_merges_identical_outcomes():
    slip = 0.2
    mdp = GridWorld(LAYOUT, step_reward=STEP, slip=slip).to_mdp()
    # (0, 0), UP: forward bumps the edge (stay, 0.8), LEFT slip bumps the edge (stay, 0.1),
    # RIGHT slip goes to (0, 1) (0.1). The two "stay" outcomes merge into one of 0.9.
    got = merged(mdp, 0, UP)
    assert len(got) == 2
    assert got[0][0] == pytest.approx(0.9) and got[1][0] == pytest.approx(0.1)
    # (1, 0), UP: forward (0, 0); LEFT slip hits the edge, RIGHT slip hits the wall: both stay.
    got = merged(mdp, 5, UP)
    assert got == {0: pytest.approx((0.8, STEP, False)), 5: pytest.approx((0.2, STEP, False))}
    # Every (s, a) sums to one.
    sums = np.add.reduceat(mdp.prob, mdp.offsets[:-1])
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)


def test_slip_sideways_for_vertical_moves():
    mdp = GridWorld(("S...", "...G"), slip=0.4).to_mdp()
    # From (0, 1), DOWN: forward (1, 1) w.p. 0.6; LEFT (0, 0) and RIGHT (0, 2) w.p. 0.2 each.
    got = merged(mdp, 1, DOWN)
    assert got == {5: pytest.approx((0.6, 0.0, False)), 0: pytest.approx((0.2, 0.0, False)),
                   2: pytest.approx((0.2, 0.0, False))}


def test_zero_slip_is_deterministic(mdp):
    assert mdp.is_deterministic
    assert not GridWorld(LAYOUT, slip=0.1).to_mdp().is_deterministic


@pytest.mark.parametrize("slip", [-0.1, 1.0, 1.5, math.nan])
def test_invalid_slip_raises(slip):
    with pytest.raises(ConfigError, match=r"slip must be in \[0, 1\)"):
        GridWorld(LAYOUT, slip=slip)


@pytest.mark.parametrize("field", ["step_reward", "goal_reward", "cliff_reward"])
def test_non_finite_rewards_raise(field):
    with pytest.raises(ConfigError, match=field):
        GridWorld(LAYOUT, **{field: math.inf})


def test_invalid_layout_raises_config_error():
    with pytest.raises(ConfigError, match=r"unknown character 'x' at row 0, column 1"):
        GridWorld(("Sx", ".G"))


def test_string_layout_equals_tuple_layout():
    text = "\n".join(LAYOUT)
    a, b = GridWorld(text), GridWorld(LAYOUT)
    assert a.layout == LAYOUT
    assert a.to_mdp().to_transitions() == b.to_mdp().to_transitions()


def test_name_is_passed_to_the_mdp():
    assert GridWorld(LAYOUT, name="my-grid").to_mdp().name == "my-grid"


# -- the vectorized model against a cell-by-cell statement of the rules ----------------------
def reference_outcomes(rows, r, c, action, slip, rewards):
    """Merged outcomes {(row, col): (p, reward, terminated)} of one move, cell by cell."""
    goal, cliff, step = rewards
    if rows[r][c] in "GC":
        return {(r, c): (1.0, 0.0, True)}
    moves = [(1 - slip, action)] + ([(slip / 2, side) for side in PERPENDICULAR[action]]
                                    if slip else [])
    out = {}
    for p, move in moves:
        dr, dc = ((-1, 0), (1, 0), (0, -1), (0, 1))[move]
        nr, nc = r + dr, c + dc
        if not (0 <= nr < len(rows) and 0 <= nc < len(rows[0])) or rows[nr][nc] == "#":
            nr, nc = r, c
        cell = rows[nr][nc]
        reward = goal if cell == "G" else cliff if cell == "C" else step
        prev = out.get((nr, nc), (0.0, reward, cell in "GC"))
        out[(nr, nc)] = (prev[0] + p, reward, cell in "GC")
    return out


PERPENDICULAR = ((LEFT, RIGHT), (LEFT, RIGHT), (UP, DOWN), (UP, DOWN))


@pytest.mark.parametrize("slip", [0.0, 0.2, 0.5])
def test_model_matches_the_rules_cell_by_cell(slip):
    rows = ("S.#..C", "..C..G", "#....#", "G.#C..")
    world = GridWorld(rows, step_reward=STEP, goal_reward=GOAL, cliff_reward=CLIFF, slip=slip)
    mdp = world.to_mdp()
    for s, (r, c) in enumerate(world.cells):
        for a in range(4):
            got = {tuple(int(x) for x in world.cells[s2]): (p, r2, t)
                   for p, s2, r2, t in mdp.outcomes(s, a)}
            expected = reference_outcomes(rows, r, c, a, slip, (GOAL, CLIFF, STEP))
            assert got.keys() == expected.keys()
            for cell, (p, r2, t) in expected.items():
                assert got[cell] == (pytest.approx(p, abs=1e-15), r2, t)
            assert list(got) == list(expected)  # forward first, then the slips


# -- layout schedules (worlds that change, §8.3) ---------------------------------------------
BEFORE = ("S.#",
          "..#",
          "#.G")
AFTER = ("S##",
         "...",
         "..G")


@pytest.fixture(scope="module")
def changing() -> GridWorld:
    return GridWorld(BEFORE, changes=((5, AFTER),), name="changing")


def test_states_are_the_cells_free_in_any_layout(changing):
    free = {(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)}
    assert {tuple(int(x) for x in cell) for cell in changing.cells} == free
    assert changing.grid is changing.grids[0]
    assert ["".join(r) for r in changing.grid_at(4)] == list(BEFORE)
    assert ["".join(r) for r in changing.grid_at(5)] == list(AFTER)
    assert changing.grid_at(10**9) is changing.grids[1]


def test_schedule_becomes_changes_of_the_mdp(changing):
    mdp = changing.to_mdp()
    assert mdp.name == "changing" and mdp.n_states == 8
    (t, after), = mdp.changes
    assert t == 5 and after.name == "changing"
    before = mdp.phases()[0][1]
    st = changing.state
    # (1, 1) RIGHT: a wall before, free after; (0, 0) RIGHT: free before, a wall after.
    assert before.outcomes(st(1, 1), RIGHT) == [(1.0, st(1, 1), 0.0, False)]
    assert after.outcomes(st(1, 1), RIGHT) == [(1.0, st(1, 2), 0.0, False)]
    assert before.outcomes(st(0, 0), RIGHT) == [(1.0, st(0, 1), 0.0, False)]
    assert after.outcomes(st(0, 0), RIGHT) == [(1.0, st(0, 0), 0.0, False)]
    np.testing.assert_array_equal(mdp.initial, after.initial)


def test_an_agent_in_a_cell_that_became_a_wall_can_leave_it(changing):
    after = changing.to_mdp().changes[0][1]
    st = changing.state
    wall = st(0, 1)  # free before, a wall after
    assert after.outcomes(wall, DOWN) == [(1.0, st(1, 1), 0.0, False)]
    assert after.outcomes(wall, LEFT) == [(1.0, st(0, 0), 0.0, False)]
    assert after.outcomes(wall, RIGHT) == [(1.0, wall, 0.0, False)]  # (0, 2): a wall too
    assert not after.reachable()[wall]  # nothing can enter it any more
    assert all(s2 != wall for s in range(8) for a in range(4)
               for _, s2, _, _ in after.outcomes(s, a) if s != wall)


def test_optimal_values_of_each_phase(changing):
    phases = changing.to_mdp().phases()
    for (_, mdp), layout in zip(phases, (BEFORE, AFTER), strict=True):
        length = shortest_path(layout)
        _, V = mdp.value_iteration(0.9)
        assert mdp.start_value(V) == pytest.approx(0.9 ** (length - 1))


@pytest.mark.parametrize(("changes", "match"), [
    (((0, AFTER),), r"changes: steps must be increasing integers >= 1, got 0"),
    (((5, AFTER), (5, BEFORE)), r"got 5 after 5"),
    (((True, AFTER),), r"got True"),
    (((5, ("S..", "..G")),), r"must have the shape \(3, 3\) and the start"),
    (((5, ("..S", "...", "..G")),), r"must have the shape \(3, 3\) and the start"),
    (((5, ("S#.", "##.", "..G")),), r"unreachable"),
])
def test_invalid_schedules_raise(changes, match):
    with pytest.raises(ConfigError, match=match):
        GridWorld(BEFORE, changes=changes)


def test_string_layouts_in_a_schedule():
    a = GridWorld(BEFORE, changes=((5, "\n".join(AFTER)),))
    assert a.changes == ((5, AFTER),)


def test_every_accepted_form_of_input_builds_the_same_world():
    text = GridWorld("\n".join(BEFORE), step_reward=np.float32(-1), goal_reward=np.int64(2),
                     slip=np.float64(0.1), changes=[(np.int64(5), "\n".join(AFTER))])
    rows = GridWorld(list(BEFORE), step_reward=-1, goal_reward=2, slip=0.1,
                     changes=((5, list(AFTER)),))
    assert text.layout == rows.layout == BEFORE and text.changes == rows.changes
    assert text.to_mdp().to_transitions() == rows.to_mdp().to_transitions()
