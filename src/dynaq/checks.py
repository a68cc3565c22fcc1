"""Validators of user input: each raises :class:`~dynaq.errors.ConfigError` with one line
naming the field and what is allowed. Compiled code never sees an index these have not
checked."""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from dynaq.errors import ConfigError


def check_number(name: str, value: Any, low: float, high: float, allowed: str,
                 low_open: bool = False) -> None:
    """Raise ConfigError unless ``value`` is a real number in the range (``allowed`` says
    which, for the message)."""
    ok = isinstance(value, int | float | np.integer | np.floating) and \
        not isinstance(value, bool)
    if ok:
        # numpy compares a float32 with a bound rounded to float32, and a Python int past
        # float64's range compares exactly only as itself
        v = value if isinstance(value, int) else float(value)
        ok = low < v <= high if low_open else low <= v <= high
    if not ok:
        raise ConfigError(f"{name} must be in {allowed}, got {value!r}")


def check_finite(name: str, value: Any) -> None:
    """Raise ConfigError unless ``value`` is a finite number >= 0."""
    try:
        check_real(name, value)
    except ConfigError:
        raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")


def check_count(name: str, value: Any, low: int, high: int | None = None) -> None:
    """Raise ConfigError unless ``value`` is an integer >= ``low`` (and <= ``high``, one of
    the bounds of :mod:`dynaq.limits`, where given)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        allowed = f">= {low}" if high is None else f"in [{low}, {high:_}]"
        raise ConfigError(f"{name} must be an integer {allowed}, got {value!r}")
    if high is not None and value > high:
        raise ConfigError(f"{name} must be an integer <= {high:_} (dynaq.limits), got {value!r}")


def check_choice(name: str, value: Any, allowed: tuple[str, ...] | dict[str, Any]) -> None:
    """Raise ConfigError unless ``value`` is one of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def check_index(name: str, value: Any, size: int) -> int:
    """``value`` as an int, or ConfigError unless it is an integer in ``[0, size)`` (a state
    or an action, before compiled code indexes an array with it)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) \
            or not 0 <= value < size:
        raise ConfigError(f"{name} must be an integer in [0, {size - 1}], got {value!r}")
    return int(value)


def check_real(name: str, value: Any) -> None:
    """Raise ConfigError unless ``value`` is a real number, of either sign, that a float64
    holds as a finite number."""
    if type(value) is float and value - value == 0.0:  # the step API's case, fast: finite
        return
    # An int is compared exactly (math.isfinite cannot convert one past float64's range);
    # a float32 inf is caught without casting a bound into its type.
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) \
            or not (abs(value) <= sys.float_info.max if isinstance(value, int)
                    else math.isfinite(value)):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")


def check_below(name: str, value: Any, low: float, high: float) -> None:
    """Raise ConfigError unless ``value`` is a real number in ``[low, high)``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) \
            or not low <= value < high:
        raise ConfigError(f"{name} must be in [{low:g}, {high:g}), got {value!r}")


def check_text(name: str, value: Any) -> None:
    """Raise ConfigError unless ``value`` is a non-empty string of one line (a label that
    messages quote, so that they stay one line)."""
    if not isinstance(value, str) or value.splitlines() != [value]:
        raise ConfigError(f"{name} must be a non-empty string of one line, got {value!r}")
