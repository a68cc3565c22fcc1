"""Sweep files: fixed settings and lists to sweep, in TOML; their cross product runs.

A sweep file looks like this::

    name = "k-and-alpha"      # optional: a label for the results (default: file name)
    seeds = 30                # seeds 0 .. 29 for every configuration

    [fixed]                   # RunConfig fields shared by every run
    env = "dynaq/DynaMaze-v0"
    episodes = 50

    [sweep]                   # RunConfig fields to sweep: each a non-empty list
    planning_steps = [0, 5, 50]
    alpha = [0.1, 0.5]

Every combination of the ``[sweep]`` lists, over the ``[fixed]`` settings, is one run
config (DESIGN.md rule 4: derived, never mutated). A swept field that some agent of the
sweep does not use (``kappa`` for ``dyna-q``, say) is left at its default for that agent,
and the combinations that thereby coincide run once.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from dynaq.agents import AGENTS
from dynaq.errors import ConfigError
from dynaq.experiments.config import AGENT_FIELDS, Experiment, RunConfig

_TOP_KEYS = ("name", "seeds", "fixed", "sweep")
_RUN_FIELDS = tuple(f.name for f in fields(RunConfig))


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
        agent = values.get("agent", RunConfig.agent)
        if agent in AGENTS:
            used = {f.name for f in fields(AGENTS[agent].Config)}
            values = {k: v for k, v in values.items()
                      if k not in AGENT_FIELDS or k in used or k in fixed}
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
    for key in table:
        if key not in _RUN_FIELDS:
            raise ConfigError(f"{where(key)}unknown key {name}.{key}; allowed: "
                              f"{', '.join(_RUN_FIELDS)}")
    return table


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
