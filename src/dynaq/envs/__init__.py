"""Gridworlds and the Gymnasium env over any TabularMDP; importing registers the dynaq ids."""

from __future__ import annotations

import gymnasium as gym

from dynaq.envs.env import DynaMazeEnv, GridWorldEnv, SinglePath9x9Env, TabularEnv
from dynaq.envs.gridworld import DOWN, LEFT, RIGHT, UP, GridWorld
from dynaq.envs.maps import parse_map, shortest_path

__all__ = ["DOWN", "LEFT", "RIGHT", "UP", "DynaMazeEnv", "GridWorld", "GridWorldEnv",
           "SinglePath9x9Env", "TabularEnv", "parse_map", "register_envs", "shortest_path"]

ENV_IDS = {
    "dynaq/DynaMaze-v0": "dynaq.envs.env:DynaMazeEnv",
    "dynaq/SinglePath9x9-v0": "dynaq.envs.env:SinglePath9x9Env",
}


def register_envs() -> None:
    """Register the dynaq ids with Gymnasium (idempotent)."""
    for env_id, entry_point in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point)


register_envs()
