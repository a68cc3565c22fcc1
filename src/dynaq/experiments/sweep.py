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

A file names its ``env`` (fixed or swept), and is checked key by key with the rules of the
command line (a value listed twice in a sweep is refused, as ``--planning-steps 5 5`` is).
Every combination of the ``[sweep]`` lists, over the ``[fixed]`` settings, is one run
config (derived, never mutated). A swept setting that some agent of the
sweep does not have (``kappa`` for ``dyna-q``, say) is left at its default for that agent,
and the combinations that thereby coincide run once; a fixed one is refused for it. A
planning agent whose file gives no ``planning_steps`` plans
:func:`~dynaq.agents.registry.default_planning_steps` (50 for Dyna-Q), as ``dynaq run`` does.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

from dynaq.agents.registry import default_planning_steps
from dynaq.checks import check_count
from dynaq.errors import ConfigError
from dynaq.experiments.config import (
    AgentSpec,
    Experiment,
    RunConfig,
    known_settings,
    read_toml,
)
from dynaq.limits import MAX_RUNS, MAX_SEEDS

_TOP_KEYS = ("name", "seeds", "fixed", "sweep")
SHARED = tuple(f.name for f in fields(RunConfig) if f.name != "config")
"""The keys every run has."""


def load_sweep(path: str | Path) -> Experiment:
    """Read a sweep file into an :class:`Experiment`.

    Raises:
        ConfigError: One line naming the file, the line where TOML gives one, the key and
            what is allowed: a file that is not UTF-8 TOML, syntax errors, unknown keys,
            wrong types (a string for a boolean too), values out of range, empty lists,
            values listed twice, no env, more combinations than
            :data:`~dynaq.limits.MAX_RUNS`.
    """
    path = Path(path)
    text, data = read_toml(path, "sweep file")
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
        repeated = next((v for i, v in enumerate(values) if _same(v, values[:i])), None)
        if repeated is not None:
            # as on the command line: a repeat is a typo more often than a wish
            raise ConfigError(f"{where(key)}sweep.{key} lists {repeated!r} more than once")
        if key in fixed:
            raise ConfigError(f"{where(key)}{key} is both fixed and swept; keep one")
    combinations = math.prod(len(v) for v in sweep.values())
    if combinations > MAX_RUNS:
        raise ConfigError(f"{where(None)}[sweep] makes {combinations:_} combinations; an "
                          f"experiment has at most {MAX_RUNS:_} (dynaq.limits)")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where('name')}name must be a non-empty string, got {name!r}")
    seeds = data.get("seeds", 10)
    try:
        check_count("seeds", seeds, 1, MAX_SEEDS)
    except ConfigError as err:
        raise ConfigError(f"{where('seeds')}{err}") from None
    runs = expand(fixed, sweep, where)
    if "env" not in fixed and "env" not in sweep:
        raise ConfigError(f"{where(None)}names no env to run: set one under [fixed] (e.g. "
                          'env = "dynaq/DynaMaze-v0") or sweep several under [sweep]')
    return Experiment(name, runs, seeds)


def _same(value: Any, earlier: list[Any]) -> bool:
    """Whether ``value`` equals one of ``earlier`` as a setting would (``0.1``, ``0.10`` and
    ``1e-1`` are one value; ``1`` and ``true`` are not)."""
    return any(value == e and isinstance(value, bool) == isinstance(e, bool) for e in earlier)


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
        if "planning_steps" in used and "planning_steps" not in values:
            # as on the command line: a planning agent given no k plans (k = 0 would be
            # the course's common mistake, "k=0 and expecting Dyna gains")
            values["planning_steps"] = default_planning_steps(values.get("agent",
                                                                         RunConfig.agent))
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
