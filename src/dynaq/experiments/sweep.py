"""Sweep files: fixed settings and lists to sweep, in TOML; their cross product runs.

A sweep file looks like this::

    name = "k-and-alpha"      # optional: a label for the results (default: file name)
    seeds = 30                # seeds 0 .. 29 for every configuration

    [fixed]                   # settings shared by every run
    env = "dynaq/DynaMaze-v0"
    episodes = 50

    [sweep]                   # settings to sweep: each a non-empty list
    planning_steps = [0, 5, 50]
    alpha = [0.1, 0.5]

The keys are :func:`keys`: the fields of :class:`~dynaq.experiments.config.RunConfig` other
than ``config`` (``agent`` may be an import path ``package.module:Class``) and every
registered agent's settings (:func:`~dynaq.experiments.config.known_settings`, derived from
the agents' config dataclasses). A user agent's own field is a key only where it shares a
name with one of those; the others keep their defaults (set them from Python).

Every combination of the ``[sweep]`` lists, over the ``[fixed]`` settings, is one run
config (derived, never mutated). A swept setting that some agent of the
sweep does not have (``kappa`` for ``dyna-q``, say) is left at its default for that agent,
and the combinations that thereby coincide run once; a fixed one is refused for it.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from dynaq.errors import ConfigError
from dynaq.experiments.config import AgentSpec, Experiment, RunConfig, known_settings

_TOP_KEYS = ("name", "seeds", "fixed", "sweep")
SHARED = tuple(f.name for f in fields(RunConfig) if f.name != "config")
"""The keys every run has."""


def load_sweep(path: str | Path) -> Experiment:
    """Read a sweep file into an :class:`Experiment`.

    Raises:
        ConfigError: One line naming the file, the line where TOML gives one, the key and
            what is allowed: syntax errors, unknown keys, wrong types, values out of range,
            empty lists.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"sweep file: cannot read {path}: {err.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: {err}") from None
    where = _Locator(path, text)
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(f"{where(key)}unknown key {key!r}; allowed at the top: "
                              f"{', '.join(_TOP_KEYS)}")
    fixed = _table(data, "fixed", where)
    sweep = _table(data, "sweep", where)
    for key, values in sweep.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where(key)}sweep.{key} must be a non-empty list of values, "
                              f"got {values!r}")
        if key in fixed:
            raise ConfigError(f"{where(key)}{key} is both fixed and swept; keep one")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where('name')}name must be a non-empty string, got {name!r}")
    seeds = data.get("seeds", 10)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"{where('seeds')}seeds must be an integer >= 1, got {seeds!r}")
    return Experiment(name, expand(fixed, sweep, where), seeds)


def expand(fixed: dict[str, Any], sweep: dict[str, list[Any]],
           where: Any = None) -> tuple[RunConfig, ...]:
    """The run configs of ``fixed`` × every combination of ``sweep`` (duplicates once)."""
    runs: dict[str, RunConfig] = {}
    names = list(sweep)
    for combo in itertools.product(*(sweep[n] for n in names)):
        values = {**fixed, **dict(zip(names, combo, strict=True))}
        try:
            used = AgentSpec.of(values.get("agent", RunConfig.agent)).names
        except ConfigError:
            used = values  # RunConfig names what is wrong with the agent
        values = {k: v for k, v in values.items() if k in SHARED or k in used or k in fixed}
        if "total_steps" in values and "episodes" not in values:
            values["episodes"] = None  # TOML has no null: total_steps replaces episodes
        try:
            run = RunConfig(**values)
        except (ConfigError, TypeError) as err:
            bad = next((k for k in values if re.search(rf"\b{k}\b", str(err))), None)
            prefix = where(bad) if where is not None and bad else ""
            combo_text = ", ".join(f"{n}={v!r}" for n, v in zip(names, combo, strict=True))
            raise ConfigError(f"{prefix}{err}" + (f" (in the run {combo_text})" if names
                                                   else "")) from None
        runs.setdefault(run.key(), run)
    return tuple(runs.values())


def _table(data: dict[str, Any], name: str, where: Any) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where(name)}{name} must be a table ([{name}])")
    allowed = keys()
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where(key)}unknown key {name}.{key}; allowed: "
                              f"{', '.join(allowed)}")
    return table


def keys() -> tuple[str, ...]:
    """The keys of ``[fixed]`` and ``[sweep]``: :data:`SHARED`, then every known setting."""
    return (*SHARED, *known_settings())


class _Locator:
    """``"FILE:LINE: "`` for the first line that assigns a key (TOML errors carry none)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.lines = path, text.splitlines()

    def __call__(self, key: str | None) -> str:
        if key:
            pattern = re.compile(rf"^\s*(\[\s*)?{re.escape(key)}\s*(=|\])")
            for i, line in enumerate(self.lines, 1):
                if pattern.match(line):
                    return f"{self.path.name}:{i}: "
        return f"{self.path.name}: "
