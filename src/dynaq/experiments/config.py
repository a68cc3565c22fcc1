"""Frozen, validated experiment configuration, loadable from TOML.

A :class:`RunConfig` is everything that defines one learning run except its seed: what
every run has (env, agent, budget) and ``config``, the agent's own config (an instance of
``resolve_agent(agent).Config``, a :class:`~dynaq.agents.base.TabularConfig`, or a
:class:`~dynaq.deep.config.DeepConfig` for a deep agent). An :class:`Experiment` is a list
of run configs and a number of seeds. A cell is one (run config, seed) pair.

**Settings by name.** An agent's settings are its config's fields (a deep agent's under
their RunConfig names, :data:`~dynaq.deep.config.RUN_CONFIG_FIELDS`: ``alpha`` for ``lr``).
The union over the registered agents, :func:`known_settings`, is derived from their config
dataclasses, docstrings included; it is what ``RunConfig(...)`` takes as flat keywords
beside the agent's own fields, what ``dynaq run`` has flags for, what sweep files may set,
and the results tables' columns. A known setting the agent does not have is refused by
name with the agents that have it, unless it is None or the value the agent shows for it.

**Keys.** A run config's key hashes :meth:`RunConfig.to_dict`: env, agent and only the
settings that differ from their defaults, so adding a defaulted field to any config keeps
every existing key (and every results directory resumable). A user agent's key includes
its import path, its ``agent``.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import json
import linecache
import platform
import tomllib
import typing
from dataclasses import dataclass, field, fields, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from dynaq.agents import AGENTS
from dynaq.agents.registry import resolve_agent
from dynaq.checks import check_count
from dynaq.deep.config import (
    DEEP_AGENT_NAMES,
    EXPOSED_FIELDS,
    RUN_CONFIG_FIELDS,
    DeepConfig,
    check_agent,
)
from dynaq.env_kwargs import canonical_kwargs
from dynaq.errors import ConfigError
from dynaq.limits import MAX_EPISODES, MAX_RUNS, MAX_SEEDS, MAX_STEPS, MAX_TOML_BYTES


@dataclass(frozen=True)
class AgentSpec:
    """How a run config reaches an agent's own config."""

    name: str
    """The agent's name (``RunConfig.agent``)."""
    config_type: type
    """Its config dataclass."""
    names: dict[str, str]
    """Its settings: RunConfig name → config field."""
    exposed: tuple[str, ...]
    """The settings that are flags, sweep keys and table columns (for a registered agent)."""

    @classmethod
    def of(cls, agent: str) -> AgentSpec:
        """The spec of a registered agent, a deep one, or a tabular agent by import path.

        Raises:
            ConfigError: If ``agent`` names no agent.
        """
        if agent in DEEP_AGENT_NAMES:
            return cls(agent, DeepConfig, RUN_CONFIG_FIELDS, EXPOSED_FIELDS)
        config = resolve_agent(agent).Config
        names = {f.name: f.name for f in fields(config)}
        return cls(agent, config, names, tuple(names))

    @property
    def is_deep(self) -> bool:
        """Whether the agent is a deep one (:mod:`dynaq.deep`, needs the deep extra)."""
        return self.config_type is DeepConfig

    def default(self) -> Any:
        """The agent's config with every field at its default."""
        return self.config_type()

    def build(self, base: Any, settings: dict[str, Any]) -> Any:
        """The agent's config: ``base`` (default: the default config) with ``settings`` (its
        own, by RunConfig name; None keeps a value), validated for this agent.

        Raises:
            ConfigError: For a bad value, or a base of another agent's config type.
        """
        given = {k: v for k, v in settings.items() if v is not None}
        if self.is_deep:
            if base is not None and not isinstance(base, DeepConfig):
                raise ConfigError(f"agent {self.name} needs a DeepConfig, got "
                                  f"{type(base).__name__}")
            config = DeepConfig.from_run_fields(base, **given)
            check_agent(self.name, config)
            return config
        agent = resolve_agent(self.name)
        if base is not None:
            agent.check_config(base)  # of the agent's own config type, before replace
        config = self.config_type(**given) if base is None else replace(base, **given)
        agent.check_config(config)
        return config


@dataclass(frozen=True)
class Setting:
    """A setting by name, over the registered agents that have it."""

    name: str
    """Its RunConfig name."""
    type: Any
    """Its type (as annotated in the first config that has it)."""
    owners: tuple[tuple[str, Any, str], ...]
    """``(agent, default, docstring)`` for each registered agent that has it."""

    @property
    def users(self) -> tuple[str, ...]:
        """The registered agents that have it."""
        return tuple(agent for agent, _, _ in self.owners)

    @property
    def neutral(self) -> Any:
        """What an agent without it shows in tables: the default, if every agent that has
        it agrees on one, else None."""
        defaults = [json.dumps(_plain(d)) for _, d, _ in self.owners]
        return self.owners[0][1] if len(set(defaults)) == 1 else None

    def help(self) -> str:
        """The field docstrings with their defaults and, unless every agent has it, the
        agents they apply to (``dynaq run --help``)."""
        groups: dict[tuple[str, str], list[str]] = {}
        for agent, default, doc in self.owners:
            groups.setdefault((doc, repr(_plain(default))), []).append(agent)
        everyone = len(groups) == 1 and len(self.owners) == len(registered_agents())
        return " ".join(
            (doc.replace("``", "").rstrip(".") or self.name) + f"; default {default}"
            + ("" if everyone else f" ({', '.join(agents)})") + "."
            for (doc, default), agents in groups.items())


def registered_agents() -> tuple[str, ...]:
    """The agents that have names: :data:`dynaq.agents.AGENTS` and the deep ones."""
    return (*AGENTS, *DEEP_AGENT_NAMES)


def uses(agent: object, column: str) -> bool:
    """Whether ``agent`` has the setting ``column``: False only for a registered agent
    without it (kappa is Dyna-Q+'s alone); True for config columns that are no setting and
    for agents outside the registry, whose settings dynaq does not know (tables leave a
    setting blank where the row's agent has none)."""
    setting = known_settings().get(column)
    return setting is None or agent not in registered_agents() or agent in setting.users


def known_settings() -> dict[str, Setting]:
    """Every registered agent's exposed settings, by name, in the order the agents and
    their config fields come."""
    return _known_settings(tuple(AGENTS.items()))


@functools.lru_cache(maxsize=4)
def _known_settings(tabular: tuple[tuple[str, type], ...]) -> dict[str, Setting]:
    """Computed anew for another registry (or another class under a name)."""
    owners: dict[str, list[tuple[str, Any, str]]] = {}
    types: dict[str, Any] = {}
    for agent in (*(name for name, _ in tabular), *DEEP_AGENT_NAMES):
        spec = AgentSpec.of(agent)
        default, hints = spec.default(), typing.get_type_hints(spec.config_type)
        docs = field_docs(spec.config_type)
        for name in spec.exposed:
            attr = spec.names[name]
            owners.setdefault(name, []).append((agent, getattr(default, attr),
                                                docs.get(attr, "")))
            types.setdefault(name, hints[attr])
    return {name: Setting(name, types[name], tuple(o)) for name, o in owners.items()}


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """The docstrings of a dataclass's fields (the string under each, on one line),
    inherited fields included; a class whose source cannot be read has none."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        node = _class_node(klass)
        body = node.body if node is not None else []
        for node, doc in zip(body, body[1:], strict=False):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                    isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) and \
                    isinstance(doc.value.value, str):
                docs[node.target.id] = " ".join(doc.value.value.split())
    return docs


def _class_node(klass: type) -> ast.ClassDef | None:
    """The definition of ``klass`` in its source file, found as :func:`inspect.getsource`
    finds it (the first of its qualified name); None where there is none to read."""
    try:
        file = inspect.getsourcefile(klass)
    except TypeError:  # a built-in class
        return None
    if file is None:
        return None
    linecache.checkcache(file)
    return _class_nodes("".join(linecache.getlines(file))).get(klass.__qualname__)


@functools.lru_cache(maxsize=64)
def _class_nodes(source: str) -> dict[str, ast.ClassDef]:
    """Every class defined in ``source``, by qualified name: one parse of a module for all
    the config classes it defines (``inspect.getsource`` parses it again for each)."""
    found: dict[str, ast.ClassDef] = {}

    def visit(nodes: list[ast.stmt], prefix: str) -> None:
        for node in nodes:
            if isinstance(node, ast.ClassDef):
                found.setdefault(prefix + node.name, node)
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(node.body, f"{prefix}{node.name}.<locals>.")
            else:
                visit([n for n in ast.iter_child_nodes(node) if isinstance(n, ast.stmt)],
                      prefix)

    try:
        visit(ast.parse(source).body, "")
    except (SyntaxError, ValueError):
        return {}
    return found


@dataclass(frozen=True, init=False)
class RunConfig:
    """One learning run, without its seed.

    Build it with flat keywords: the fields below, and the agent's settings by name
    (``RunConfig(agent="dyna-q+", planning_steps=5, kappa=0.01)``; None keeps a default),
    or give the agent's config itself (``config=DynaQPlusConfig(...)``), flat settings then
    overriding its fields. Every setting also reads as an attribute (``run.kappa``; one the
    agent does not have reads as what the tables show for it).

    Raises:
        ConfigError: For an unknown agent or key, a bad value, or a setting the agent does
            not have (naming the agents that have it).
    """

    env: str = "dynaq/DynaMaze-v0"
    """Gymnasium id of a Discrete env (dynaq ids, FrozenLake-v1, CliffWalking-v1, Taxi-v4…)."""
    agent: str = "dyna-q"
    """Agent: a name of ``dynaq.agents.AGENTS`` (tabular), ``dqn`` or ``dyna-dqn`` (deep), or
    the import path ``package.module:Class`` of a TabularAgent subclass."""
    config: Any = field(default=None)
    """The agent's own config (default: its config class with its defaults)."""
    episodes: int | None = 50
    """Episodes per seed, at most 10**9 (exclusive with ``total_steps``)."""
    total_steps: int | None = None
    """Real steps per seed, at most 10**9, episodes restarting until then (exclusive with
    ``episodes``)."""
    max_episode_steps: int | None = None
    """Truncate an episode after this many steps, at most 10**9 (None: only termination
    ends it)."""
    until_near_optimal: bool = False
    """Treat ``episodes`` as a first budget, doubled (up to 64×) until Q is near-optimal."""
    env_kwargs: dict[str, Any] | None = None
    """Keyword arguments for the env's constructor (``gym.make(env, **env_kwargs)``), e.g.
    ``{"is_slippery": False}`` for FrozenLake-v1 or ``{"desc": [...]}`` for
    ``dynaq/GridWorld-v0``; JSON-like values, kept as their JSON reads back (an empty one
    is None, so runs without keep their keys)."""

    def __init__(self, **values: Any) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, values.pop(f.name, f.default))
        spec = AgentSpec.of(self.agent)
        if not isinstance(self.env, str) or not self.env:
            raise ConfigError(f"env must be a Gymnasium id, got {self.env!r}")
        if self.env_kwargs is not None:
            object.__setattr__(self, "env_kwargs",
                               json.loads(canonical_kwargs(self.env_kwargs)) or None)
        known = known_settings()
        for name, value in values.items():
            if name in spec.names:
                continue
            if name not in known:
                raise ConfigError(f"unknown key {name!r} for agent {self.agent}; allowed: "
                                  f"{', '.join(_accepted_keys(self.agent))}")
            if value is not None and _plain(value) != _plain(_unused(spec, name)):
                raise ConfigError(f"{name} does not apply to agent {self.agent}; it is used "
                                  f"by: {', '.join(known[name].users)}")
        own = {k: v for k, v in values.items() if k in spec.names}
        object.__setattr__(self, "config", spec.build(self.config, own))
        if (self.episodes is None) == (self.total_steps is None):
            raise ConfigError("give exactly one of episodes or total_steps")
        for name, high in (("episodes", MAX_EPISODES), ("total_steps", MAX_STEPS),
                           ("max_episode_steps", MAX_STEPS)):
            if getattr(self, name) is not None:
                check_count(name, getattr(self, name), 1, high)
        if not isinstance(self.until_near_optimal, bool):
            raise ConfigError("until_near_optimal must be true or false, got "
                              f"{self.until_near_optimal!r}")
        if self.until_near_optimal and self.episodes is None:
            raise ConfigError("until_near_optimal needs episodes (a first budget), not total_steps")

    def __hash__(self) -> int:
        # env_kwargs is a dict; the key is what identifies a run
        return hash(self.key())

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: settings by name. Unpickling and copying
        # look up hooks before the fields exist, which must fail as usual.
        if name.startswith("_") or "config" not in self.__dict__:
            raise AttributeError(name)
        spec = self.spec
        if name in spec.names or name in known_settings():
            return _shown(spec, self.config, name)
        raise AttributeError(f"{type(self).__name__} has no field or setting {name!r}")

    @property
    def spec(self) -> AgentSpec:
        """How this run's agent takes its settings."""
        return AgentSpec.of(self.agent)

    @property
    def is_deep(self) -> bool:
        """Whether the agent is a deep one (:mod:`dynaq.deep`, needs the deep extra)."""
        return self.spec.is_deep

    def agent_config(self) -> Any:
        """The agent's own config (validated): :attr:`config`."""
        return self.config

    def settings(self) -> dict[str, Any]:
        """Every setting of the agent, by RunConfig name."""
        return {name: getattr(self.config, attr) for name, attr in self.spec.names.items()}

    def to_dict(self) -> dict[str, Any]:
        """What identifies this run: env, agent and what differs from the defaults (the
        other fields of RunConfig, then the agent's settings by name). ``RunConfig(**d)``
        gives the run back."""
        out: dict[str, Any] = {"env": self.env, "agent": self.agent}
        for f in fields(self):
            if f.name not in out and f.name != "config" and getattr(self, f.name) != f.default:
                out[f.name] = getattr(self, f.name)
        spec = self.spec
        default = spec.default()
        for name, attr in spec.names.items():
            value = _plain(getattr(self.config, attr))
            if value != _plain(getattr(default, attr)):
                out[name] = value
        return out

    def row(self) -> dict[str, Any]:
        """This run as a results-table row: :func:`RunConfig.columns` and their values (a
        setting the agent does not have shows its :attr:`Setting.neutral` value)."""
        if "_row" not in self.__dict__:
            spec = self.spec
            row = {"env": self.env, "agent": self.agent}
            row.update({name: _plain(_shown(spec, self.config, name)) for name in known_settings()})
            row.update({f.name: getattr(self, f.name) for f in fields(self)
                        if f.name not in row and f.name != "config"})
            # one value per table cell: the kwargs as their canonical JSON ("" for none)
            row["env_kwargs"] = (canonical_kwargs(self.env_kwargs) if self.env_kwargs
                                 else "")
            object.__setattr__(self, "_row", row)
        return self.__dict__["_row"]

    @staticmethod
    def columns() -> list[str]:
        """The config columns of results tables, in order."""
        shared = [f.name for f in fields(RunConfig) if f.name != "config"]
        return [*shared[:2], *known_settings(), *shared[2:]]

    def key(self) -> str:
        """A stable short hash of :meth:`to_dict` (computed once: sweeps ask for it per cell)."""
        if "_key" not in self.__dict__:
            object.__setattr__(self, "_key", _digest(self.to_dict()))
        return self.__dict__["_key"]

    def label(self) -> str:
        """A short human label, e.g. ``dyna-q k=50``."""
        return f"{self.agent} k={self.planning_steps}"


def _accepted_keys(agent: str) -> list[str]:
    """The keywords a RunConfig for ``agent`` takes: its fields, the known settings, and the
    agent's own settings.

    Raises:
        ConfigError: If ``agent`` names no agent.
    """
    keys = [*RunConfig.columns(), "config"]
    return keys + [name for name in AgentSpec.of(agent).names if name not in keys]


def _shown(spec: AgentSpec, config: Any, name: str) -> Any:
    """The value of setting ``name`` for an agent with ``config``: its own, or
    :func:`_unused`."""
    return getattr(config, spec.names[name]) if name in spec.names else _unused(spec, name)


def _unused(spec: AgentSpec, name: str) -> Any:
    """What an agent shows for a known setting it does not have: what its config class says
    (a deep config's ``model``), else the setting's neutral value."""
    return getattr(spec.config_type, name, known_settings()[name].neutral)


@dataclass(frozen=True)
class Experiment:
    """Run configs × seeds ``0 .. seeds-1``."""

    name: str
    """A label for the experiment (a reproduction's name, or ``run``)."""
    runs: tuple[RunConfig, ...]
    """The configurations, all different (and different in the results tables)."""
    seeds: int = 30
    """Seeds per configuration: 0 .. seeds-1 (at most 10**5)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "runs", tuple(self.runs))
        if not self.runs:
            raise ConfigError("an experiment needs at least one run config")
        if len(self.runs) > MAX_RUNS:
            raise ConfigError(f"an experiment has at most {MAX_RUNS:_} run configs "
                              f"(dynaq.limits), got {len(self.runs):_}")
        check_count("seeds", self.seeds, 1, MAX_SEEDS)
        keys = [r.key() for r in self.runs]
        rows = [json.dumps(r.row(), sort_keys=True) for r in self.runs]
        for i, key in enumerate(keys):
            if key in keys[:i]:
                raise ConfigError(f"runs[{i}] repeats runs[{keys.index(key)}]: every run config "
                                  "must differ (e.g. in planning_steps)")
            if rows[i] in rows[:i]:
                j = rows.index(rows[i])
                a, b = self.runs[j].to_dict(), self.runs[i].to_dict()
                differ = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
                raise ConfigError(f"runs[{i}] and runs[{j}] differ only in {', '.join(differ)}, "
                                  "which the results tables have no column for; run them as "
                                  "two experiments")

    def fingerprint(self) -> str:
        """A hash that identifies what this experiment computes."""
        return _digest(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """Plain data: name, seeds and the runs (:meth:`RunConfig.to_dict`)."""
        return {"name": self.name, "seeds": self.seeds, "runs": [r.to_dict() for r in self.runs]}

    def to_toml(self) -> str:
        """What exactly runs (every setting of each run), with the package versions, as TOML."""
        lines = ["# Written by dynaq: exactly what ran (dynaq.Experiment.from_toml loads it).",
                 "[experiment]", f"name = {_toml(self.name)}", f"seeds = {self.seeds}", "",
                 "[versions]"]
        lines += [f"{k} = {_toml(v)}" for k, v in versions().items()]
        for run in self.runs:
            values = {f.name: getattr(run, f.name) for f in fields(run) if f.name != "config"}
            lines += ["", "[[runs]]"]
            lines += [f"{k} = {_toml(v)}" for k, v in {**values, **run.settings()}.items()
                      if v is not None]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, path: str | Path) -> Experiment:
        """Load an experiment written by :meth:`to_toml` (versions are ignored).

        Raises:
            ConfigError: One line naming the file and what is wrong with it: not a readable
                UTF-8 TOML file, an unknown key, a wrong type or a bad value.
        """
        data = read_toml(path, "experiment file")[1]
        for key, kind in (("experiment", dict), ("versions", dict), ("runs", list)):
            if key in data and not isinstance(data[key], kind):
                raise ConfigError(f"{path}: {key} must be " + ("an array of tables [[runs]]"
                                  if kind is list else f"a table [{key}]"))
        unknown = sorted(set(data) - {"experiment", "versions", "runs"})
        exp = data.get("experiment", {})
        unknown += sorted(f"experiment.{k}" for k in set(exp) - {"name", "seeds"})
        if unknown:
            raise ConfigError(f"{path}: unknown key {unknown[0]}; allowed: [experiment] name "
                              "and seeds, [versions], [[runs]]")
        name = exp.get("name", Path(path).stem)
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{path}: experiment.name must be a non-empty string, got "
                              f"{name!r}")
        runs = []
        for i, run in enumerate(data.get("runs", [])):
            try:
                if not isinstance(run, dict):
                    raise ConfigError(f"must be a table of settings, got {run!r}")
                # TOML has no null: a run given by total_steps leaves out episodes (default 50).
                runs.append(RunConfig(**({"episodes": None, **run} if "total_steps" in run
                                         else run)))
            except ConfigError as err:
                raise ConfigError(f"{path}: runs[{i}]: {err}") from None
        try:
            return cls(name, tuple(runs), exp.get("seeds", 30))
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from None


def read_toml(path: str | Path, what: str) -> tuple[str, dict[str, Any]]:
    """The text of the TOML file at ``path`` and what it holds.

    Args:
        path: The file.
        what: What the file is meant to be, for messages (``"sweep file"``).

    Raises:
        ConfigError: One line naming the file: missing, not a regular file, larger than
            :data:`~dynaq.limits.MAX_TOML_BYTES`, not UTF-8 text, or not valid TOML.
    """
    path = Path(path)
    try:
        if not path.is_file():  # a directory, or a device such as /dev/zero that never ends
            raise ConfigError(f"{what} {path}: " + ("not a regular file" if path.exists()
                                                    else "no such file"))
        if path.stat().st_size > MAX_TOML_BYTES:
            raise ConfigError(f"{what} {path}: larger than {MAX_TOML_BYTES // 2**20} MiB; "
                              f"is it a {what}?")
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{what}: cannot read {path}: {err.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{what} {path}: not UTF-8 text (byte {err.start}); TOML files are "
                          "UTF-8") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: {err}") from None


def cell_key(run: RunConfig, seed: int) -> str:
    """The stable key of the cell (run config, seed)."""
    return f"{run.key()}-{seed}"


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the numbers (torch for the deep
    agents, ray for its backend), and ``dynaq_git``, the commit dynaq runs from when its
    source is a git checkout (an editable install)."""
    out = {"python": platform.python_version()}
    for pkg in ("dynaq", "numpy", "numba", "gymnasium", "scipy", "pandas", "torch", "ray"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    commit = source_commit()
    if commit is not None:
        out["dynaq_git"] = commit
    return out


@functools.cache
def source_commit() -> str | None:
    """The git commit of the checkout dynaq's source lies in, with ``-dirty`` when it has
    uncommitted changes; None when it is not in one (an installed wheel) or git is
    missing."""
    import subprocess

    here = Path(__file__).resolve().parent
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", "-C", str(here), *args], capture_output=True,
                                  text=True, timeout=10, check=True).stdout.strip()

        top = Path(git("rev-parse", "--show-toplevel"))
        if not (top / "src" / "dynaq" / "__init__.py").is_file():
            return None  # dynaq installed inside someone else's repository
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def _plain(value: Any) -> Any:
    """``value`` as JSON gives it back (tuples as lists), so stored and live values compare."""
    return [_plain(v) for v in value] if isinstance(value, tuple | list) else value


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value))
