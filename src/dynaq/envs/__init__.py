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
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

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
from dynaq.envs.maps import generate_maze, parse_map, scale_map, shortest_path

__all__ = ["BLOCKING_SWITCH", "DOWN", "DYNA_MAZE_IDS", "ENV_IDS", "LEFT", "RIGHT",
           "SHORTCUT_SWITCH", "UP", "BlockingMazeEnv", "DynaMazeEnv", "GridWorld",
           "GridWorldEnv", "ShortcutMazeEnv", "SinglePath9x9Env", "SlipperyCliffEnv",
           "TabularEnv", "env_model", "generate_maze", "make_env", "parse_map",
           "register_envs", "scale_map", "shortest_path"]

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


def register_envs() -> None:
    """Register the dynaq ids with Gymnasium (idempotent)."""
    for env_id, (entry_point, kwargs) in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, kwargs=kwargs,
                         max_episode_steps=STEP_LIMITS.get(env_id))


register_envs()
