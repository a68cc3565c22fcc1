"""Your own world: ``dynaq/GridWorld-v0`` from a ``desc`` or a map file, and the generated
mazes of ``dynaq/RandomMaze-v0``, each with its exact model through :func:`env_model`."""

from __future__ import annotations

import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from dynaq import AGENTS, ConfigError, RunConfig, run_cells
from dynaq.agents import run_episodes
from dynaq.envs import env_model, load_map, make_env
from dynaq.envs.maps import (
    BLOCKING_MAZE,
    DYNA_MAZE,
    SINGLE_PATH_9X9,
    SLIPPERY_CLIFF,
    generate_maze,
    shortest_path,
)
from dynaq.kernels import run as K

MAPS = Path(__file__).parents[2] / "examples" / "maps"
ROOM = MAPS / "room.txt"


def same_mdp(got, want) -> None:
    """Bit for bit the same dynamics, start distribution and layout schedule."""
    assert (got.n_states, got.n_actions) == (want.n_states, want.n_actions)
    for a, b in zip((*got.arrays, got.initial), (*want.arrays, want.initial), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert [t for t, _ in got.changes] == [t for t, _ in want.changes]
    for (_, a), (_, b) in zip(got.changes, want.changes, strict=True):
        same_mdp(a, b)


# -- the same worlds as the registered ids ---------------------------------------------------
@pytest.mark.parametrize("env_id, kwargs", [
    ("dynaq/DynaMaze-v0", {"desc": list(DYNA_MAZE)}),
    ("dynaq/DynaMaze-v0", {}),  # the default desc is the Dyna maze
    ("dynaq/SinglePath9x9-v0", {"desc": load_map(MAPS / "single_path_9x9.txt")}),
    ("dynaq/SlipperyCliff-v0", {"desc": list(SLIPPERY_CLIFF), "slip": 0.2,
                                "step_reward": -1.0, "goal_reward": -1.0}),
    ("dynaq/BlockingMaze-v0", {"desc": list(BLOCKING_MAZE[0]),
                               "changes": [[1000, list(BLOCKING_MAZE[1])]]}),
])
def test_desc_reproduces_the_registered_worlds_exactly(env_id, kwargs):
    got, limit = env_model("dynaq/GridWorld-v0", kwargs)
    assert limit == 0
    same_mdp(got, env_model(env_id)[0])


@pytest.mark.parametrize("desc", [
    [list(row) for row in DYNA_MAZE],
    np.asarray(DYNA_MAZE, dtype="c"),
    np.asarray(DYNA_MAZE),
    tuple(row.encode() for row in DYNA_MAZE),
    "\n".join(DYNA_MAZE),
], ids=["lists-of-chars", "char-array", "str-array", "bytes", "one-string"])
def test_every_form_of_desc_is_the_same_world(desc):
    env = make_env("dynaq/GridWorld-v0", {"desc": desc})
    same_mdp(env.unwrapped.mdp, env_model("dynaq/DynaMaze-v0")[0])
    env.close()


def test_options_change_the_rewards_and_the_slip():
    mdp, _ = env_model("dynaq/GridWorld-v0", {"desc": ["S.C", "..G"], "step_reward": -1,
                                              "goal_reward": 10, "cliff_reward": -50,
                                              "slip": 0.5})
    assert set(mdp.reward.tolist()) == {-1.0, 10.0, -50.0, 0.0}  # 0: absorbing G and C
    right = mdp.outcomes(0, 3)  # from S, right: forward 0.5, up (bump) 0.25, down 0.25
    assert sorted(p for p, *_ in right) == [0.25, 0.25, 0.5]


# -- the Gymnasium API -----------------------------------------------------------------------
@pytest.mark.parametrize("env_id, kwargs", [
    ("dynaq/GridWorld-v0", {"desc": ["S..#", ".#.C", "...G"], "slip": 0.1}),
    ("dynaq/GridWorld-v0", {}),
    ("dynaq/RandomMaze-v0", {"rows": 4, "cols": 6, "seed": 3}),
])
@pytest.mark.parametrize("render_mode", ["ansi", "rgb_array"])
def test_check_env_passes_without_warnings(env_id, kwargs, render_mode):
    env = gym.make(env_id, render_mode=render_mode, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    env.close()


def test_renders_its_own_map():
    env = gym.make("dynaq/GridWorld-v0", desc=["S.#", "C.G"], render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "A.#\nC.G\n"
    env.close()
    env = gym.make("dynaq/GridWorld-v0", desc=["S.#", "C.G"], render_mode="rgb_array")
    env.reset(seed=0)
    assert env.render().shape == (2 * 16, 3 * 16, 3)
    env.close()


def test_P_is_the_exact_model():
    env = gym.make("dynaq/GridWorld-v0", desc=["S.", ".G"], slip=0.2)
    mdp, _ = env_model("dynaq/GridWorld-v0", {"desc": ["S.", ".G"], "slip": 0.2})
    assert env.unwrapped.P == mdp.to_transitions()
    # state 1 is (0, 1): down enters the goal with 0.8, else slips left (0.1) or bumps (0.1)
    assert sorted(env.unwrapped.P[1][1]) == [(0.1, 0, 0.0, False), (0.1, 1, 0.0, False),
                                             (0.8, 3, 1.0, True)]
    env.close()


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("desc, message", [
    (["S..", "..G", ".S."], r"^desc: needs exactly one start 'S', found 2 \(row 0, column 0, "
                            r"row 2, column 1\)$"),
    (["...", "..G"], r"^desc: needs exactly one start 'S', found 0$"),
    (["S..", "..."], r"^desc: no goal 'G' in any row$"),
    (["S..", "..", "..G"], r"^desc: row 1 has 2 columns, expected 3"),
    (["S..", ".x.", "..G"], r"^desc: unknown character 'x' at row 1, column 1; allowed"),
    (["S#G"], r"^desc: goal 'G' at row 0, column 2 is unreachable from the start at row 0, "
              r"column 0$"),
    ([], r"^desc: empty"),
    ([["S", ".."], [".", "G"]], r"^desc: row 0, column 1 must be one character, got '\.\.'$"),
    ([["S", 1], [".", "G"]], r"^desc: row 0, column 1 must be a string, got 1$"),
    ([b"S\xff", b".G"], r"^desc: row 0: bytes must be ASCII"),
    (7, r"^desc must be a list of rows"),
    ([None], r"^desc: row 0 must be a string or a list of one-character strings, got None$"),
])
def test_a_bad_map_is_one_line_naming_desc_and_where(desc, message):
    with pytest.raises(ConfigError, match=message):
        make_env("dynaq/GridWorld-v0", {"desc": desc})


@pytest.mark.parametrize("env_id, kwargs, message", [
    ("dynaq/GridWorld-v0", {"slippery": 0.1},
     r"^env_kwargs: dynaq/GridWorld-v0 takes no keyword 'slippery' \(it takes: desc, "
     r"step_reward, goal_reward, cliff_reward, slip, changes\)$"),
    ("dynaq/GridWorld-v0", {"slip": 1.0}, r"^slip must be in \[0, 1\)"),
    ("dynaq/GridWorld-v0", {"step_reward": "x"}, r"^step_reward must be"),
    ("dynaq/RandomMaze-v0", {"size": 3},
     r"^env_kwargs: dynaq/RandomMaze-v0 takes no keyword 'size' \(it takes: rows, cols, seed, "
     r"step_reward, goal_reward, slip\)$"),
    ("dynaq/RandomMaze-v0", {"rows": 1, "cols": 1}, r"^rows \* cols, the rooms, must be in"),
    ("dynaq/RandomMaze-v0", {"seed": -1}, r"seed"),
])
def test_bad_options_are_one_line_naming_the_option(env_id, kwargs, message):
    with pytest.raises(ConfigError, match=message) as excinfo:
        make_env(env_id, kwargs)
    assert "\n" not in str(excinfo.value)


# -- generated mazes -------------------------------------------------------------------------
def test_random_maze_is_the_generated_maze_with_its_exact_model():
    env = gym.make("dynaq/RandomMaze-v0", rows=5, cols=7, seed=11)
    assert env.observation_space.n == 2 * 5 * 7 - 1
    expected = env_model("dynaq/GridWorld-v0", {"desc": list(generate_maze(5, 7, 11))})[0]
    same_mdp(env.unwrapped.mdp, expected)
    assert env.unwrapped.P == expected.to_transitions()
    env.close()


def test_random_maze_is_deterministic_in_its_seed_and_differs_across_seeds():
    first, _ = env_model("dynaq/RandomMaze-v0", {"rows": 8, "cols": 8, "seed": 1})
    again = make_env("dynaq/RandomMaze-v0", {"rows": 8, "cols": 8, "seed": 1}).unwrapped.mdp
    same_mdp(again, first)
    others = [env_model("dynaq/RandomMaze-v0", {"rows": 8, "cols": 8, "seed": s})[0]
              for s in (2, 3)]
    for other in others:
        assert not np.array_equal(other.next_state, first.next_state)
    assert not np.array_equal(others[0].next_state, others[1].next_state)


def test_random_maze_defaults_to_ten_by_ten_rooms():
    mdp, limit = env_model("dynaq/RandomMaze-v0")
    assert (mdp.n_states, limit) == (199, 0)
    same_mdp(mdp, env_model("dynaq/RandomMaze-v0", {"rows": 10, "cols": 10, "seed": 0})[0])


# -- the example map files -------------------------------------------------------------------
def test_the_example_maps_load():
    room = load_map(ROOM)
    assert (len(room), len(room[0]), shortest_path(room)) == (8, 13, 10)
    assert "C" in "".join(room)
    assert load_map(MAPS / "single_path_9x9.txt") == list(SINGLE_PATH_9X9)


gym.register("dynaq_tests/Room-v0", entry_point="dynaq.envs:grid_world_env",
             kwargs={"desc": load_map(ROOM)})


def test_dyna_q_learns_the_room_map_in_the_runner_and_the_step_api_alike():
    run = RunConfig(env="dynaq_tests/Room-v0", agent="dyna-q", planning_steps=5, episodes=30)
    for cell in run_cells(run, [0, 1]):
        env = gym.make(run.env)
        agent = AGENTS[run.agent].for_env(env, run.agent_config(), seed=cell.seed)
        episodes = list(run_episodes(agent, env, episodes=30, seed=cell.seed))
        assert [e.steps for e in episodes] == list(cell.records[:, K.STEPS].astype(int))
        np.testing.assert_array_equal(agent.Q, cell.Q)
        # planning finds the goal: the last episodes reach it, not the cliff
        assert [e.return_ for e in episodes[-5:]] == [1.0] * 5
        env.close()
