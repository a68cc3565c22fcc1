"""Tests for dynaq.envs.gridworld: moves, walls, rewards, termination and slip."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dynaq
from dynaq import ConfigError
from dynaq.envs.gridworld import ACTION_NAMES, DOWN, LEFT, RIGHT, UP, GridWorld

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
