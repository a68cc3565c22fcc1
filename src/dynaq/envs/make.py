"""Env ids → envs: :func:`make_env` and the exact model behind an id (:func:`env_model`).

Importing this module imports :mod:`dynaq.envs`, which registers the dynaq ids, so every
id of the package's table resolves here.
"""

from __future__ import annotations

import functools
import warnings

import gymnasium as gym

from dynaq.errors import ConfigError
from dynaq.mdp import TabularMDP, require_discrete


def make_env(env_id: str) -> gym.Env:
    """``gymnasium.make(env_id)`` with one clear error line for an unknown id."""
    try:
        with warnings.catch_warnings():  # a deprecation notice would break the one-line error
            warnings.simplefilter("ignore")
            return gym.make(env_id)
    except (gym.error.Error, ImportError, AttributeError, TypeError) as err:
        dynaq_ids = ", ".join(i for i in gym.registry if i.startswith("dynaq/"))
        raise ConfigError(f"env must be a registered Gymnasium id ({dynaq_ids}, or e.g. "
                          f"FrozenLake-v1, CliffWalking-v1, Taxi-v4); got {env_id!r}: {err}"
                          ) from None


@functools.lru_cache(maxsize=32)
def env_model(env_id: str) -> tuple[TabularMDP | None, int]:
    """The exact model of an env (None when it has no ``P``) and its step limit (0: none).

    Raises:
        ConfigError: For an unknown id or an env whose spaces are not Discrete.
    """
    env = make_env(env_id)
    limit = env.spec.max_episode_steps if env.spec and env.spec.max_episode_steps else 0
    require_discrete(env, "a tabular agent")
    mdp = TabularMDP.from_gymnasium(env) if hasattr(env.unwrapped, "P") else None
    env.close()
    return mdp, limit
