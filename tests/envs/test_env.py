"""Tests for dynaq.envs.env: the Gymnasium envs and their registration."""

from __future__ import annotations

import warnings
from collections import defaultdict

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.toy_text.frozen_lake import FrozenLakeEnv
from gymnasium.utils.env_checker import check_env

import dynaq
from dynaq import ConfigError, TabularEnv, TabularMDP
from dynaq.envs import (
    DOWN,
    RIGHT,
    UP,
    BlockingMazeEnv,
    DynaMazeEnv,
    GridWorld,
    ShortcutMazeEnv,
    SinglePath9x9Env,
    SlipperyCliffEnv,
)
from dynaq.envs.maps import DYNA_MAZE, SINGLE_PATH_9X9

IDS = {"dynaq/DynaMaze-v0": (DynaMazeEnv, DYNA_MAZE, 47),
       "dynaq/SinglePath9x9-v0": (SinglePath9x9Env, SINGLE_PATH_9X9, 49)}
SCALED = {f"dynaq/DynaMaze-x{f}-v0": 47 * f for f in (2, 4, 8, 16, 32, 64, 128)}
CHANGING = {"dynaq/BlockingMaze-v0": BlockingMazeEnv, "dynaq/ShortcutMaze-v0": ShortcutMazeEnv}
ALL_IDS = [*IDS, *SCALED, *CHANGING, "dynaq/SlipperyCliff-v0"]

# A shortest path (14 moves) through the Dyna maze from S at (2, 0) to G at (0, 8).
MAZE_PATH = [RIGHT, DOWN, DOWN, RIGHT, RIGHT, RIGHT, UP, RIGHT, RIGHT, RIGHT, RIGHT, UP, UP, UP]


@pytest.fixture(scope="module")
def frozen_lake() -> TabularMDP:
    return TabularMDP.from_gymnasium(gym.make("FrozenLake-v1"))


def with_agent(layout, row, col) -> str:
    rows = [list(r) for r in layout]
    rows[row][col] = "A"
    return "\n".join("".join(r) for r in rows) + "\n"


# -- registration ----------------------------------------------------------------------------
def test_frozen_lake_not_slippery_is_deterministic_with_the_lakes_limit():
    from dynaq.envs import env_model

    mdp, limit = env_model("dynaq/FrozenLakeNotSlippery-v0")
    assert limit == 100 and mdp.n_states == 16
    assert max(len(outcomes) for row in gym.make("dynaq/FrozenLakeNotSlippery-v0").unwrapped.P
               .values() for outcomes in row.values()) == 1


def test_import_registers_ids():
    assert list(dynaq.envs.ENV_IDS) == ["dynaq/DynaMaze-v0", *SCALED, "dynaq/SinglePath9x9-v0",
                                        *CHANGING, "dynaq/SlipperyCliff-v0",
                                        "dynaq/FrozenLakeNotSlippery-v0"]
    expected = {**IDS, **{i: (DynaMazeEnv, None, n) for i, n in SCALED.items()},
                **{i: (cls, None, 47) for i, cls in CHANGING.items()},
                "dynaq/SlipperyCliff-v0": (SlipperyCliffEnv, None, 48),
                "dynaq/FrozenLakeNotSlippery-v0": (FrozenLakeEnv, None, 16)}
    for env_id, (cls, _, n_states) in expected.items():
        assert env_id in gym.registry
        env = gym.make(env_id)
        assert isinstance(env.unwrapped, cls)
        assert env.spec.id == env_id
        assert env.observation_space == gym.spaces.Discrete(n_states)
        assert env.action_space == gym.spaces.Discrete(4)
        env.close()


def test_register_envs_is_idempotent():
    dynaq.envs.register_envs()
    dynaq.envs.register_envs()
    assert all(env_id in gym.registry for env_id in ALL_IDS)


# -- Gymnasium API conformance ---------------------------------------------------------------
@pytest.mark.parametrize("env_id", ALL_IDS)
@pytest.mark.parametrize("render_mode", ["ansi", "rgb_array"])
def test_check_env_passes_without_warnings(env_id, render_mode):
    env = gym.make(env_id, render_mode=render_mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    env.close()


@pytest.mark.filterwarnings("ignore:.*not having a spec:UserWarning")
@pytest.mark.parametrize("render_mode", [None, "ansi", "rgb_array"])
def test_check_env_passes_for_tabular_env(frozen_lake, render_mode):
    check_env(TabularEnv(frozen_lake, render_mode=render_mode))


def test_invalid_render_mode_raises():
    with pytest.raises(ConfigError, match="render_mode must be one of"):
        DynaMazeEnv(render_mode="human")


def test_invalid_dyna_maze_scale_raises():
    with pytest.raises(ConfigError, match=r"scale must be one of 1, 2, 4, 8, 16, 32, 64, 128"):
        DynaMazeEnv(scale=3)


def test_scaled_dyna_maze_renders_its_own_map():
    env = gym.make("dynaq/DynaMaze-x4-v0", render_mode="ansi")
    env.reset(seed=0)
    rows = env.render().splitlines()
    assert len(rows) == 12 and len(rows[0]) == 18 and rows[4][0] == "A"
    assert env.unwrapped.mdp.name == "dynaq/DynaMaze-x4-v0"


def test_invalid_action_raises():
    env = DynaMazeEnv()
    env.reset(seed=0)
    with pytest.raises(ConfigError, match=r"action must be in \[0, 4\)"):
        env.step(4)


# -- sizes, model and dynamics ---------------------------------------------------------------
@pytest.mark.parametrize("env_id", list(IDS))
def test_state_counts_and_exposed_model(env_id):
    cls, layout, n_states = IDS[env_id]
    env = gym.make(env_id)
    base = env.unwrapped
    assert base.observation_space.n == n_states
    expected = GridWorld(layout).to_mdp()
    # P like the toy-text envs: P[s][a] = [(p, s', r, terminated), ...]
    assert base.P == expected.to_transitions()
    assert len(base.P) == n_states and all(len(base.P[s]) == 4 for s in base.P)
    np.testing.assert_array_equal(base.initial_state_distrib, expected.initial)
    # ... and readable back as an exact model, which is the registered gridworld.
    mdp = TabularMDP.from_gymnasium(env)
    assert mdp.name == env_id
    assert mdp.to_transitions() == base.P
    env.close()


def test_dyna_maze_shortest_path_episode():
    env = gym.make("dynaq/DynaMaze-v0", render_mode="ansi")
    obs, info = env.reset(seed=0)
    world = env.unwrapped.world
    assert obs == world.state(2, 0) and info == {"prob": 1.0}
    rewards = []
    for i, action in enumerate(MAZE_PATH):
        obs, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        assert terminated == (i == len(MAZE_PATH) - 1) and not truncated
        assert info == {"prob": 1.0}
    assert obs == world.state(0, 8)
    assert rewards == [0.0] * 13 + [1.0]
    assert env.render() == with_agent(DYNA_MAZE, 0, 8)


def test_single_path_agent_bumps_into_corridor_walls():
    env = SinglePath9x9Env()
    obs, _ = env.reset(seed=0)
    assert obs == 0
    obs, reward, terminated, _, _ = env.step(DOWN)  # (1, 0) is a wall
    assert (obs, reward, terminated) == (0, 0.0, False)
    obs, *_ = env.step(RIGHT)
    assert obs == env.world.state(0, 1)


# -- rendering -------------------------------------------------------------------------------
def test_render_ansi_shows_map_with_agent():
    env = gym.make("dynaq/DynaMaze-v0", render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == with_agent(DYNA_MAZE, 2, 0)
    env.step(RIGHT)
    out = env.render()
    assert out == with_agent(DYNA_MAZE, 2, 1)
    assert out.splitlines()[2] == "SA#....#."

    env = gym.make("dynaq/SinglePath9x9-v0", render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == with_agent(SINGLE_PATH_9X9, 0, 0)


def test_render_rgb_array():
    env = gym.make("dynaq/DynaMaze-v0", render_mode="rgb_array")
    env.reset(seed=0)
    img = env.render()
    px = 16
    assert img.shape == (6 * px, 9 * px, 3) and img.dtype == np.uint8

    def cell(r, c):
        return img[r * px:(r + 1) * px, c * px:(c + 1) * px].reshape(-1, 3)

    agent = cell(2, 0)
    assert (agent == agent[0]).all()
    for r, c in ((1, 2), (0, 8), (0, 0)):  # a wall, the goal and a free cell
        block = cell(r, c)
        assert (block == block[0]).all()
        assert not np.array_equal(block[0], agent[0])
    assert len({tuple(cell(r, c)[0]) for r, c in ((1, 2), (0, 8), (0, 0), (2, 0))}) == 4
    env.step(RIGHT)
    moved = env.render()
    np.testing.assert_array_equal(moved[2 * px:3 * px, px:2 * px].reshape(-1, 3)[0], agent[0])
    assert not np.array_equal(moved, img)

    env = gym.make("dynaq/SinglePath9x9-v0", render_mode="rgb_array")
    env.reset(seed=0)
    assert env.render().shape == (9 * px, 9 * px, 3)


def test_render_without_mode_returns_none():
    env = DynaMazeEnv()
    env.reset(seed=0)
    assert env.render() is None


def test_tabular_env_renders(frozen_lake):
    env = TabularEnv(frozen_lake, render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "state 0 of 16\n"
    env = TabularEnv(frozen_lake, render_mode="rgb_array")
    env.reset(seed=0)
    img = env.render()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


# -- seeding and sampling --------------------------------------------------------------------
def rollout(env, seed: int, steps: int = 300) -> list[tuple]:
    actions = np.random.default_rng(123).integers(0, env.action_space.n, steps)
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    for a in actions:
        obs, r, term, trunc, _ = env.step(int(a))
        trace.append((obs, r, term))
        if term or trunc:
            obs, _ = env.reset()
            trace.append(obs)
    return trace


def test_reset_seed_determinism(frozen_lake):
    a = rollout(TabularEnv(frozen_lake), seed=5)
    b = rollout(TabularEnv(frozen_lake), seed=5)
    assert a == b
    c = rollout(TabularEnv(frozen_lake), seed=6)
    assert a != c
    # Reseeding the same env replays it too.
    env = TabularEnv(frozen_lake)
    assert rollout(env, seed=5) == rollout(env, seed=5)


def test_gym_make_reset_seed_determinism():
    env = gym.make("dynaq/DynaMaze-v0")
    assert rollout(env, seed=1) == rollout(gym.make("dynaq/DynaMaze-v0"), seed=1)


def test_start_state_sampled_from_initial_distribution():
    P = {s: {0: [(1.0, s, 0.0, True)]} for s in range(3)}
    initial = np.array([0.2, 0.3, 0.5])
    env = TabularEnv(TabularMDP.from_transitions(P, initial))
    env.reset(seed=0)
    n = 20_000
    starts = np.array([env.reset()[0] for _ in range(n)])
    np.testing.assert_allclose(np.bincount(starts, minlength=3) / n, initial, atol=0.015)


@pytest.mark.parametrize(("state", "action"), [(0, 0), (6, 1), (14, 2)])
def test_tabular_env_matches_frozen_lake_transition_statistics(frozen_lake, state, action):
    # Expected next-state distribution from the toy-text table (duplicate outcomes add up).
    truth = gym.make("FrozenLake-v1").unwrapped.P[state][action]
    expected = defaultdict(float)
    outcome_of = {}
    for p, s2, r, term in truth:
        expected[s2] += p
        outcome_of[s2] = (float(r), bool(term))
    env = TabularEnv(frozen_lake)
    env.reset(seed=2024)
    n = 20_000
    counts = defaultdict(int)
    for _ in range(n):
        env.s = state
        s2, r, term, trunc, _ = env.step(action)
        assert (r, term) == outcome_of[s2]
        assert not trunc
        counts[s2] += 1
    assert counts.keys() == expected.keys()
    for s2, p in expected.items():
        # Standard error of a frequency near 1/3 is about 0.0033 here.
        assert counts[s2] / n == pytest.approx(p, abs=0.02)
