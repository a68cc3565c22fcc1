"""Gridworlds, the Gymnasium env over any TabularMDP, and :func:`make_env` / :func:`env_model`
by id; importing registers the dynaq ids.

| id | world | states |
|---|---|---|
| ``dynaq/DynaMaze-v0`` | Sutton & Barto Example 8.1 (Figure 8.2) | 47 |
| ``dynaq/DynaMaze-x{f}-v0``, f = 2, 4, …, 128 | the Dyna maze scaled (Example 8.4) | 47·f |
| ``dynaq/SinglePath9x9-v0`` | the course's 9×9 single-path maze | 49 |
| ``dynaq/BlockingMaze-v0`` | Example 8.2 (Figure 8.4), changes after 1000 steps | 47 |
| ``dynaq/ShortcutMaze-v0`` | Example 8.3 (Figure 8.5), changes after 3000 steps | 47 |
| ``dynaq/SlipperyCliff-v0`` | the cliff of Example 6.6, moves slip sideways (p = 0.2) | 48 |
| ``dynaq/FrozenLakeNotSlippery-v0`` | Gymnasium's FrozenLake-v1 with ``is_slippery=False`` | 16 |
| ``dynaq/GridWorld-v0`` | your map, ``desc=[...]`` (default: the Dyna maze) | its cells |
| ``dynaq/RandomMaze-v0`` | a random perfect maze, ``rows``, ``cols``, ``seed`` | 2·rows·cols − 1 |

The last two are built from keyword arguments (:data:`WORLD_IDS`), given to
``gymnasium.make(id, **kwargs)`` or as ``env_kwargs`` to :func:`make_env` and
:func:`env_model`; ``docs/maps.md`` describes the map format and the map files of
:func:`~dynaq.envs.maps.load_map`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym

from dynaq.envs import maps
from dynaq.envs.env import (
    BLOCKING_SWITCH,
    DYNA_MAZE_IDS,
    SHORTCUT_SWITCH,
    BlockingMazeEnv,
    DynaMazeEnv,
    GridWorldEnv,
    ShortcutMazeEnv,
    SinglePath9x9Env,
    SlipperyCliffEnv,
    TabularEnv,
)
from dynaq.envs.gridworld import DOWN, LEFT, RIGHT, UP, GridWorld
from dynaq.envs.make import env_model, make_env
from dynaq.envs.maps import (
    desc_rows,
    generate_maze,
    load_map,
    parse_map,
    scale_map,
    shortest_path,
)

__all__ = ["BLOCKING_SWITCH", "DOWN", "DYNA_MAZE_IDS", "ENV_IDS", "LEFT", "RIGHT",
           "SHORTCUT_SWITCH", "UP", "WORLD_IDS", "BlockingMazeEnv", "DynaMazeEnv", "GridWorld",
           "GridWorldEnv", "ShortcutMazeEnv", "SinglePath9x9Env", "SlipperyCliffEnv",
           "TabularEnv", "desc_rows", "env_model", "generate_maze", "grid_world_env",
           "load_map", "make_env", "parse_map", "random_maze_env", "register_envs",
           "scale_map", "shortest_path"]

ENV_IDS: dict[str, tuple[str, dict[str, Any]]] = {
    **{env_id: ("dynaq.envs.env:DynaMazeEnv", {"scale": f} if f > 1 else {})
       for f, env_id in DYNA_MAZE_IDS.items()},
    "dynaq/SinglePath9x9-v0": ("dynaq.envs.env:SinglePath9x9Env", {}),
    "dynaq/BlockingMaze-v0": ("dynaq.envs.env:BlockingMazeEnv", {}),
    "dynaq/ShortcutMaze-v0": ("dynaq.envs.env:ShortcutMazeEnv", {}),
    "dynaq/SlipperyCliff-v0": ("dynaq.envs.env:SlipperyCliffEnv", {}),
    "dynaq/FrozenLakeNotSlippery-v0": ("gymnasium.envs.toy_text.frozen_lake:FrozenLakeEnv",
                                       {"is_slippery": False}),
}
"""Every registered id: (entry point, keyword arguments)."""
STEP_LIMITS = {"dynaq/FrozenLakeNotSlippery-v0": 100}
"""Episode step limits of the registered ids that have one (FrozenLake's own, 100)."""


def grid_world_env(desc: Any = maps.DYNA_MAZE, step_reward: float = 0.0,
                   goal_reward: float = 1.0, cliff_reward: float = -100.0, slip: float = 0.0,
                   changes: Sequence[tuple[int, Sequence[str]]] = (),
                   render_mode: str | None = None) -> GridWorldEnv:
    """``dynaq/GridWorld-v0``: a gridworld of your own map, in Gymnasium's FrozenLake
    convention (``gym.make("dynaq/GridWorld-v0", desc=[...], slip=0.1)``).

    Args:
        desc: The map (see :mod:`dynaq.envs.maps`): one string per row, rows of
            one-character strings, or ``np.asarray(rows, dtype="c")``; ``#`` wall, ``.``
            free, ``S`` start, ``G`` goal, ``C`` cliff. Default: the Dyna maze of Sutton &
            Barto Example 8.1, so that ``desc=maps.DYNA_MAZE`` is ``dynaq/DynaMaze-v0``.
        step_reward: Reward of a move that enters neither a goal nor a cliff.
        goal_reward: Reward for entering a goal (which ends the episode).
        cliff_reward: Reward for entering a cliff (which ends the episode).
        slip: Probability in [0, 1) that a move goes sideways, half to each side.
        changes: A layout schedule, pairs ``(t, rows)``: the map becomes ``rows`` after
            ``t`` real steps (Sutton & Barto §8.3, see :class:`GridWorld`).
        render_mode: ``"ansi"``, ``"rgb_array"`` or None.

    Raises:
        ConfigError: Naming ``desc`` and the row and column of a bad map, or the option.
    """
    rows = desc_rows(desc)
    parse_map(rows, "desc")  # the messages name desc, not GridWorld's layout
    world = GridWorld(rows, step_reward=step_reward, goal_reward=goal_reward,
                      cliff_reward=cliff_reward, slip=slip, name="dynaq/GridWorld-v0",
                      changes=changes)
    return GridWorldEnv(world, render_mode)


def random_maze_env(rows: int = 10, cols: int = 10, seed: int = 0, step_reward: float = 0.0,
                    goal_reward: float = 1.0, slip: float = 0.0,
                    render_mode: str | None = None) -> GridWorldEnv:
    """``dynaq/RandomMaze-v0``: a random perfect maze of ``rows × cols`` rooms
    (:func:`~dynaq.envs.maps.generate_maze`: ``2·rows·cols − 1`` states, start top left,
    goal bottom right), the same for the same ``seed``. The maze's seed is not the
    episodes' seed (``reset(seed=...)``), which only draws the agent's slips.

    Args:
        rows: Rooms down, >= 1.
        cols: Rooms across, >= 1 (``rows · cols`` between 2 and 10^8).
        seed: The maze's seed, an integer >= 0.
        step_reward: Reward of a move that does not enter the goal.
        goal_reward: Reward for entering the goal (which ends the episode).
        slip: Probability in [0, 1) that a move goes sideways, half to each side.
        render_mode: ``"ansi"``, ``"rgb_array"`` or None.

    Raises:
        ConfigError: Naming the argument out of range.
    """
    world = GridWorld(generate_maze(rows, cols, seed), step_reward=step_reward,
                      goal_reward=goal_reward, slip=slip, name="dynaq/RandomMaze-v0")
    return GridWorldEnv(world, render_mode)


WORLD_IDS: dict[str, str] = {"dynaq/GridWorld-v0": "dynaq.envs:grid_world_env",
                             "dynaq/RandomMaze-v0": "dynaq.envs:random_maze_env"}
"""The ids built from keyword arguments: id → entry point (no step limit)."""


def register_envs() -> None:
    """Register the dynaq ids with Gymnasium (idempotent)."""
    for env_id, (entry_point, kwargs) in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, kwargs=kwargs,
                         max_episode_steps=STEP_LIMITS.get(env_id))
    for env_id, entry_point in WORLD_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point)


register_envs()
