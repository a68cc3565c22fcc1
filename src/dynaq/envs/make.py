"""Env ids → envs: :func:`make_env` and the exact model behind an id (:func:`env_model`),
each with optional keyword arguments for the env's constructor (``env_kwargs``).

Importing this module imports :mod:`dynaq.envs`, which registers the dynaq ids, so every
id of the package's table resolves here.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import json
import reprlib
import warnings
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import load_env_creator

from dynaq.env_kwargs import canonical_kwargs, check_kwargs
from dynaq.errors import ConfigError
from dynaq.mdp import TabularMDP, require_discrete

_MAKE_KEYWORDS = ("max_episode_steps", "disable_env_checker", "render_mode")
"""Keywords ``gymnasium.make`` takes itself, whatever the env's constructor takes."""


def make_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> gym.Env:
    """``gymnasium.make(env_id, **env_kwargs)`` with one clear error line for a bad id or a
    keyword the env does not take.

    Args:
        env_id: A registered Gymnasium id (the dynaq ids of :mod:`dynaq.envs` included).
        env_kwargs: Keyword arguments for the env's constructor, e.g. ``{"is_slippery":
            False}`` for ``FrozenLake-v1`` or ``{"desc": [...]}`` for
            ``dynaq/GridWorld-v0``.

    Raises:
        ConfigError: For an unknown id (Gymnasium's own hint first, then the nearest
            registered id, then the dynaq ids), a keyword the env does not take (naming
            ``env_kwargs``, the key and the keywords it takes), or a bad value of one.
    """
    kwargs = check_kwargs(env_kwargs)
    try:
        with warnings.catch_warnings():  # a deprecation notice would break the one-line error
            warnings.simplefilter("ignore")
            spec = gym.spec(env_id) if isinstance(env_id, str) else None
            if spec is not None:
                _check_keywords(spec, kwargs)
            return gym.make(env_id, **kwargs)
    except ConfigError:
        raise
    except TypeError as err:
        if "unexpected keyword argument" in str(err):
            key = str(err).split("unexpected keyword argument ")[1].split()[0].strip("'\"")
            raise ConfigError(f"env_kwargs: {env_id} takes no keyword {key!r}") from None
        if not kwargs:
            raise ConfigError(_unknown_id(env_id, err)) from None
        raise ConfigError(_rejected(env_id, kwargs, err)) from None
    except (KeyError, IndexError, ValueError) as err:
        if not kwargs:
            raise
        raise ConfigError(_rejected(env_id, kwargs, err)) from None
    except (gym.error.Error, ImportError, AttributeError) as err:
        raise ConfigError(_unknown_id(env_id, err)) from None


def env_model(env_id: str, env_kwargs: Mapping[str, Any] | None = None
              ) -> tuple[TabularMDP | None, int]:
    """The exact model of an env (None when it has no ``P``) and its step limit (0: none).

    Built once per id and keyword arguments: the cache key is the canonical JSON of
    ``env_kwargs`` (keys sorted; tuples and numpy arrays as lists, bytes as text), and the
    env is made from that JSON, so equal kwargs in any of these forms share one model.

    Raises:
        ConfigError: As :func:`make_env`, for kwargs that are not JSON-like values, or for
            an env whose spaces are not Discrete.
    """
    return _env_model(env_id, canonical_kwargs(env_kwargs))


@functools.lru_cache(maxsize=32)
def _env_model(env_id: str, kwargs_json: str) -> tuple[TabularMDP | None, int]:
    env = make_env(env_id, json.loads(kwargs_json))
    limit = env.spec.max_episode_steps if env.spec and env.spec.max_episode_steps else 0
    require_discrete(env, "a tabular agent")
    mdp = TabularMDP.from_gymnasium(env) if hasattr(env.unwrapped, "P") else None
    env.close()
    return mdp, limit


def _check_keywords(spec: gym.envs.registration.EnvSpec, kwargs: Mapping[str, Any]) -> None:
    """Refuse a keyword the entry point's signature does not take (when it has one)."""
    if not kwargs:
        return
    try:
        params = inspect.signature(load_env_creator(spec.entry_point)).parameters
    except (ValueError, TypeError, ImportError, AttributeError):
        return  # no signature to read: the constructor itself will say
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    takes = [n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL]
    named = [n for n in takes if n not in _MAKE_KEYWORDS]
    for key in kwargs:
        if key not in takes and key not in _MAKE_KEYWORDS:
            raise ConfigError(f"env_kwargs: {spec.id} takes no keyword {key!r} ("
                              + (f"it takes: {', '.join(named)})" if named else "it takes none)"))


def _rejected(env_id: str, kwargs: Mapping[str, Any], err: Exception) -> str:
    return (f"env_kwargs: {env_id} rejected {reprlib.repr(dict(kwargs))}: "
            f"{type(err).__name__}: {_one_line(err)}")


def _unknown_id(env_id: Any, err: Exception) -> str:
    """The one line for an id Gymnasium cannot make: its own hint, the nearest id, ours."""
    dynaq_ids = [i for i in gym.registry if i.startswith("dynaq/")]
    line = f"env must be a registered Gymnasium id; got {env_id!r}: {_one_line(err)}"
    if isinstance(env_id, str) and (near := _nearest(env_id)) and near != env_id:
        line += f"; did you mean {near}?"
    return (f"{line} (dynaq ids: {', '.join(dynaq_ids)}; or e.g. FrozenLake-v1, "
            f"CliffWalking-v1, Taxi-v4)")


def _nearest(env_id: str) -> str | None:
    """The registered id closest to ``env_id``, ignoring case and namespace."""
    def bare(i: str) -> str:
        return i.rsplit("/", 1)[-1].lower()

    by_bare: dict[str, str] = {}
    for i in gym.registry:
        by_bare.setdefault(bare(i), i)
    match = difflib.get_close_matches(bare(env_id), by_bare, n=1, cutoff=0.6)
    return by_bare[match[0]] if match else None


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())
