"""Frozen, validated experiment configuration (DESIGN.md rule 4), loadable from TOML.

A :class:`RunConfig` is everything that defines one learning run except its seed; an
:class:`Experiment` is a list of run configs and a number of seeds. A cell is one
(run config, seed) pair and has a stable key derived from both.
"""

from __future__ import annotations

import hashlib
import json
import platform
import tomllib
from dataclasses import asdict, dataclass, fields
from importlib import metadata
from pathlib import Path
from typing import Any

from dynaq.agents import AGENTS
from dynaq.deep.config import DEEP_AGENT_NAMES, RUN_CONFIG_FIELDS, DeepConfig, check_agent
from dynaq.errors import ConfigError
from dynaq.models import MODELS

AGENT_FIELDS = frozenset({"model", "backup", "sampling", "kappa", "bonus", "theta",
                          "buffer_size", "ensemble", "imagined_ratio", "device"})
"""RunConfig fields only some agents use: another agent must leave them at their default."""


@dataclass(frozen=True)
class RunConfig:
    """One learning run, without its seed."""

    env: str = "dynaq/DynaMaze-v0"
    """Gymnasium id of a Discrete env (dynaq ids, FrozenLake-v1, CliffWalking-v1, Taxi-v4…)."""
    agent: str = "dyna-q"
    """Agent name: one of ``dynaq.agents.AGENTS`` (tabular) or ``dqn``, ``dyna-dqn`` (deep)."""
    model: str | None = None
    """Model name: one of ``dynaq.models.MODELS``, or ``neural`` for the deep agents
    (default: ``deterministic``, or ``neural`` for a deep agent)."""
    backup: str | None = None
    """Planning backups of the counts model: ``sample`` (draw s′) or ``expected`` (§8.5)
    (default: ``sample``; ``expected`` for prioritized sweeping with the counts model, the
    only backup it has there)."""
    sampling: str = "uniform"
    """Which (s, a) Dyna-Q plans from: ``uniform`` over those seen (§8.2), ``latest`` (only
    the last real one) or ``trajectory`` (on-policy simulated trajectories, §8.6)."""
    kappa: float = 1e-3
    """Dyna-Q+ exploration bonus weight κ (bonus κ√τ, §8.3)."""
    bonus: str = "planning"
    """Dyna-Q+: the bonus in planning backups (§8.3) or only in action choice (Ex. 8.4)."""
    theta: float = 1e-4
    """Prioritized sweeping: queue threshold θ on |priority| (§8.4)."""
    buffer_size: int | None = None
    """Replay buffer capacity (replay and deep agents; default: the agent's own)."""
    ensemble: int = 1
    """Neural model: ensemble members."""
    imagined_ratio: float = 0.5
    """Dyna-DQN: fraction of each gradient batch drawn from imagined transitions."""
    device: str = "cpu"
    """Deep agents: torch device, ``cpu`` or ``cuda``."""
    planning_steps: int = 0
    """Planning backups k per real step."""
    alpha: float | None = None
    """Step size α in (0, 1]; the learning rate of a deep agent (default: the agent's own,
    0.1 for the tabular agents, 1e-3 for the deep ones)."""
    gamma: float | None = None
    """Discount γ in [0, 1] (default: 0.95 tabular, 0.99 deep)."""
    epsilon: float | None = None
    """ε of the ε-greedy behaviour, in [0, 1]; a deep agent's final ε after its decay
    (default: 0.1 tabular, 0.04 deep)."""
    episodes: int | None = 50
    """Episodes per seed (exclusive with ``total_steps``)."""
    total_steps: int | None = None
    """Real steps per seed, episodes restarting until then (exclusive with ``episodes``)."""
    max_episode_steps: int | None = None
    """Truncate an episode after this many steps (None: only termination ends it)."""
    until_near_optimal: bool = False
    """Treat ``episodes`` as a first budget, doubled (up to 64×) until Q is near-optimal."""

    def __post_init__(self) -> None:
        _check_choice("agent", self.agent, {**AGENTS, **dict.fromkeys(DEEP_AGENT_NAMES)})
        if not isinstance(self.env, str) or not self.env:
            raise ConfigError(f"env must be a Gymnasium id, got {self.env!r}")
        defaults = self._defaults()
        for name, value in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        models = ("neural",) if self.is_deep else tuple(MODELS)
        _check_choice("model", self.model, dict.fromkeys(models))
        for f in fields(self):
            if f.name in AGENT_FIELDS and f.name not in self._uses() and \
                    getattr(self, f.name) not in (f.default, defaults.get(f.name)):
                users = [n for n in (*AGENTS, *DEEP_AGENT_NAMES) if f.name in _uses(n)]
                raise ConfigError(f"{f.name} does not apply to agent {self.agent}; it is "
                                  f"used by: {', '.join(users) or 'no agent yet'}")
        if self.is_deep:
            check_agent(self.agent, self.agent_config())
        else:
            AGENTS[self.agent].check_config(self.agent_config())  # validates every value
        if (self.episodes is None) == (self.total_steps is None):
            raise ConfigError("give exactly one of episodes or total_steps")
        for name in ("episodes", "total_steps", "max_episode_steps"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if self.until_near_optimal and self.episodes is None:
            raise ConfigError("until_near_optimal needs episodes (a first budget), not total_steps")

    @property
    def is_deep(self) -> bool:
        """Whether the agent is a deep one (:mod:`dynaq.deep`, needs the deep extra)."""
        return self.agent in DEEP_AGENT_NAMES

    def agent_config(self) -> Any:
        """The agent's own config (validated), built from the fields of the same names (for
        a deep agent, :class:`dynaq.deep.DeepConfig` through its field mapping)."""
        if self.is_deep:
            return DeepConfig.from_run_fields(**{k: getattr(self, k) for k in RUN_CONFIG_FIELDS})
        config = AGENTS[self.agent].Config
        return config(**{f.name: getattr(self, f.name) for f in fields(config)})

    def _uses(self) -> set[str]:
        return _uses(self.agent)

    def _defaults(self) -> dict[str, Any]:
        """What ``None`` means for this agent: its own config's defaults."""
        if self.is_deep:
            deep = DeepConfig()
            return {"model": "neural", "backup": "sample", "alpha": deep.lr, "gamma": deep.gamma,
                    "epsilon": deep.epsilon_end, "buffer_size": deep.buffer_capacity}
        config = AGENTS[self.agent].Config
        defaults = {f.name: f.default for f in fields(config)}
        # an agent whose backup depends on its model says which (prioritized sweeping)
        backup_for = getattr(config, "backup_for", lambda _model: "sample")
        return {"model": "deterministic", "backup": backup_for(self.model or "deterministic"),
                **{k: defaults[k] for k in ("alpha", "gamma", "epsilon", "buffer_size")
                   if k in defaults}}

    def key(self) -> str:
        """A stable short hash of this config (computed once: sweeps ask for it per cell)."""
        if "_key" not in self.__dict__:
            object.__setattr__(self, "_key", _digest(asdict(self)))
        return self.__dict__["_key"]

    def label(self) -> str:
        """A short human label, e.g. ``dyna-q k=50``."""
        return f"{self.agent} k={self.planning_steps}"


@dataclass(frozen=True)
class Experiment:
    """Run configs × seeds ``0 .. seeds-1``."""

    name: str
    """A label for the experiment (a reproduction's name, or ``run``)."""
    runs: tuple[RunConfig, ...]
    """The configurations, all different."""
    seeds: int = 30
    """Seeds per configuration: 0 .. seeds-1."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "runs", tuple(self.runs))
        if not self.runs:
            raise ConfigError("an experiment needs at least one run config")
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1:
            raise ConfigError(f"seeds must be an integer >= 1, got {self.seeds!r}")
        keys = [r.key() for r in self.runs]
        for i, key in enumerate(keys):
            if key in keys[:i]:
                raise ConfigError(f"runs[{i}] repeats runs[{keys.index(key)}]: every run config "
                                  "must differ (e.g. in planning_steps)")

    def fingerprint(self) -> str:
        """A hash that identifies what this experiment computes."""
        return _digest(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """Plain data: name, seeds and the runs as dicts."""
        return {"name": self.name, "seeds": self.seeds, "runs": [asdict(r) for r in self.runs]}

    def to_toml(self) -> str:
        """What exactly runs, with the package versions, as TOML."""
        lines = ["# Written by dynaq: exactly what ran (dynaq.Experiment.from_toml loads it).",
                 "[experiment]", f"name = {_toml(self.name)}", f"seeds = {self.seeds}", "",
                 "[versions]"]
        lines += [f"{k} = {_toml(v)}" for k, v in versions().items()]
        for run in self.runs:
            lines += ["", "[[runs]]"]
            lines += [f"{k} = {_toml(v)}" for k, v in asdict(run).items() if v is not None]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, path: str | Path) -> Experiment:
        """Load an experiment written by :meth:`to_toml` (versions are ignored).

        Raises:
            ConfigError: On a TOML syntax error, an unknown key or a bad value.
        """
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(f"{path}: {err}") from None
        exp = data.get("experiment", {})
        runs = data.get("runs", [])
        allowed = {f.name for f in fields(RunConfig)}
        for i, run in enumerate(runs):
            unknown = set(run) - allowed
            if unknown:
                raise ConfigError(f"{path}: runs[{i}] has unknown key {sorted(unknown)[0]!r}; "
                                  f"allowed: {', '.join(sorted(allowed))}")
        # TOML has no null: a run given by total_steps leaves out episodes (default 50).
        runs = [{"episodes": None, **r} if "total_steps" in r else r for r in runs]
        return cls(exp.get("name", Path(path).stem), tuple(RunConfig(**r) for r in runs),
                   exp.get("seeds", 30))


def _uses(agent: str) -> set[str]:
    """The RunConfig fields an agent reads."""
    if agent in DEEP_AGENT_NAMES:
        return {*RUN_CONFIG_FIELDS, "model"}
    return {f.name for f in fields(AGENTS[agent].Config)}


def cell_key(run: RunConfig, seed: int) -> str:
    """The stable key of the cell (run config, seed)."""
    return f"{run.key()}-{seed}"


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the numbers."""
    out = {"python": platform.python_version()}
    for pkg in ("dynaq", "numpy", "numba", "gymnasium", "scipy", "pandas"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _check_choice(name: str, value: Any, allowed: dict[str, Any]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))
