"""Keyword arguments of an env's constructor (``env_kwargs``), checked and as run configs
keep them.

A module of its own, outside :mod:`dynaq.envs` (whose import loads Gymnasium and the
worlds' kernels), so that a run config checks and keys its ``env_kwargs`` without either.
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from dynaq.errors import ConfigError


def check_kwargs(env_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """``env_kwargs`` as a dict (None: an empty one).

    Raises:
        ConfigError: Unless it is a mapping of keyword names to values.
    """
    if env_kwargs is None:
        return {}
    if not isinstance(env_kwargs, Mapping) or not all(isinstance(k, str) for k in env_kwargs):
        raise ConfigError(f"env_kwargs must be a mapping of keyword names to values, got "
                          f"{reprlib.repr(env_kwargs)}")
    return dict(env_kwargs)


def canonical_kwargs(env_kwargs: Mapping[str, Any] | None) -> str:
    """``env_kwargs`` as JSON with sorted keys (tuples and numpy arrays as lists, bytes as
    text): the cache key of :func:`dynaq.envs.make.env_model`, and what a run config keeps.

    Raises:
        ConfigError: For kwargs that are not a mapping of names to JSON-like values.
    """
    def plain(value: Any) -> Any:
        if isinstance(value, np.ndarray | np.generic):
            return plain(value.tolist())
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        raise TypeError(type(value).__name__)

    try:
        return json.dumps(check_kwargs(env_kwargs), sort_keys=True, default=plain,
                          allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"env_kwargs must hold JSON-like values (numbers, strings, "
                          f"booleans, lists, mappings), got {reprlib.repr(env_kwargs)} "
                          f"({err})") from None
