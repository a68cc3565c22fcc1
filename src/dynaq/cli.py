"""The ``dynaq`` command (built with tyro): run, sweep, reproduce, and look at results.

``dynaq run`` has one flag per agent setting, derived with its help text from the agents'
config dataclasses (:func:`dynaq.experiments.config.known_settings`). Reading those imports
every agent, numba included, so ``dynaq run``'s class is built only when run is asked for,
and every command imports what it needs when it runs: ``dynaq --help`` or ``dynaq ls``
does not wait on numba's import.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, make_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import tyro

from dynaq.errors import ConfigError, StochasticWorldWarning
from dynaq.limits import MAX_EPISODES, MAX_PLANNING_STEPS, MAX_SEEDS

if TYPE_CHECKING:
    from dynaq.experiments.config import Experiment
    from dynaq.experiments.driver import Options

GRID_WORLD = "dynaq/GridWorld-v0"
"""The env ``--map FILE`` runs: its map as ``desc``."""

Positional = tyro.conf.Positional


@dataclass(frozen=True, kw_only=True)
class _Execution:
    """How to run (never changes the numbers)."""

    backend: Literal["serial", "process", "ray"] = "serial"
    """Where cells run: serial (this process, all cores), process (a pool), ray."""
    workers: Annotated[int | None, tyro.conf.arg(metavar="INT",
                                                 help_behavior_hint="(default: all cores)")
                       ] = None
    """Processes or Ray CPUs."""
    ray_address: Annotated[str | None, tyro.conf.arg(metavar="ADDRESS",
                                                     help_behavior_hint="")] = None
    """Join a running Ray cluster (e.g. auto, or HOST:6379) instead of a local Ray."""
    chunk: int = 64
    """Seeds per unit of work."""
    force_new: bool = False
    """If --out holds a different experiment, discard its results and start again."""
    retry_failed: bool = False
    """Run again the cells that failed in an earlier run."""
    quiet: bool = False
    """No progress bar."""

    def options(self) -> Options:
        from dynaq.experiments.driver import Options

        return Options(self.backend, self.workers, self.ray_address, self.chunk,
                       self.force_new, self.retry_failed, self.quiet)


_HOW = Annotated[_Execution, tyro.conf.OmitArgPrefixes,
                 tyro.conf.arg(name="execution", help="How to run (never changes the numbers).")]
"""The execution options, a group of their own after a command's own."""

EXAMPLES = {
    "run": ["dynaq run --env dynaq/DynaMaze-v0 --agent dyna-q --planning-steps 0 5 50 "
            "--seeds 30 --episodes 50",
            "dynaq run --env FrozenLake-v1 --env-kwargs is_slippery=false --episodes 200",
            "dynaq run --map examples/maps/room.txt --agent prioritized-sweeping --steps 3000",
            "dynaq run --config results/DynaMaze-v0-dyna-q --seeds 100   # grow by seeds"],
    "sweep": ["dynaq sweep sweep.toml --out results/sweep --backend process"],
    "reproduce": ["dynaq reproduce --list", "dynaq reproduce fig8.2 --seeds 100"],
    "ls": ["dynaq ls results/sweep"],
    "export": ["dynaq export results/sweep --output rows.parquet"],
    "compare": ["dynaq compare results/sweep --by k --baseline 0"],
    "evaluate": ["dynaq run --env dynaq/DynaMaze-v0 --episodes 50 --save-agent --out maze",
                 "dynaq evaluate maze/agents/dyna-q-k=50 --render"],
    "report": ["dynaq report results/sweep   # then open results/sweep/report.html"],
    "plot": ["dynaq plot results/sweep --metric value_error",
             "dynaq plot results/sweep --metric return --output return.png"],
    "heatmap": ["dynaq heatmap results/DynaMaze-v0-dyna-q --config 1 --seed 0"],
    "animate": ["dynaq animate dynaq/DynaMaze-v0 --k 0 50 --output flood.gif",
                "dynaq animate results/DynaMaze-v0-dyna-q   # its env and its k's"],
    "warm": ["dynaq warm                         # the demo's: fig8.2 and seed-table",
             "dynaq warm fig8.4 example8.4"],
}
"""Usage examples, printed after a command's --help (all of them after dynaq --help)."""


def _print_examples(args: list[str]) -> None:
    """After tyro's help: the examples of the command asked about, or of every command."""
    command = args[0] if args and args[0] in EXAMPLES else None
    lines = EXAMPLES[command] if command else [e for ex in EXAMPLES.values() for e in ex]
    print("examples:\n" + "\n".join(f"  {line}" for line in lines))


def _arg(help: str, metavar: str | None = None, hint: str | None = "") -> Any:
    """A flag's help (one paragraph, however it is wrapped here) and metavar; ``hint``
    replaces tyro's "(default: ...)", which is noise where the help says it."""
    return tyro.conf.arg(help=" ".join(help.split()), metavar=metavar,
                         help_behavior_hint=hint)


@dataclass(frozen=True, kw_only=True)
class _RunOptions:
    env: Annotated[str | None, _arg(
        "Gymnasium id of a Discrete env, e.g. dynaq/DynaMaze-v0, dynaq/SinglePath9x9-v0, "
        "FrozenLake-v1 (or give --map, or --config).", "ID")] = None
    map: Annotated[Path | None, _arg(
        "An ASCII map file, run as dynaq/GridWorld-v0 (the format: docs/maps.md).",
        "FILE")] = None
    env_kwargs: Annotated[tuple[str, ...], _arg(
        "Keyword arguments of the env, values in TOML (e.g. is_slippery=false slip=0.2).",
        "KEY=VALUE")] = ()
    episodes: Annotated[int | None, _arg("Episodes per seed (give this or --steps).",
                                         "E")] = None
    steps: Annotated[int | None, _arg(
        "Real environment steps per seed (give this or --episodes).", "T")] = None
    agent: Annotated[str, _arg(
        "q-learning, dyna-q, dyna-q+, prioritized-sweeping, replay, dqn, dyna-dqn, or "
        "package.module:Class (a dynaq.agents.base.TabularAgent subclass to import).",
        "NAME", None)] = "dyna-q"
    planning_steps: Annotated[tuple[int, ...] | None, _arg(
        "Planning steps k per real step; several values run side by side (default: 50 for "
        "dyna-q, dyna-q+, prioritized-sweeping and replay, 1 for dyna-dqn, 0 for q-learning "
        "and dqn).", "K [K ...]")] = None
    seeds: Annotated[int | None, _arg(
        "Number of seeds, 0 .. N-1 (default: 10, or what --config holds).", "N")] = None
    out: Annotated[Path | None, _arg(
        "Output directory: new, empty, or holding this run to resume or grow it (default: "
        "results/ENV-AGENT, or the directory of --config).", "DIR")] = None
    config: Annotated[Path | None, _arg(
        "Rerun exactly what a results directory holds (its config.toml, or the directory); "
        "with --seeds, grow it.", "DIR/config.toml")] = None
    save_agent: Annotated[bool, _arg(
        "Also save the trained agent of seed 0 of each config under OUT/agents/ (see dynaq "
        "evaluate).", hint=None)] = False
    max_episode_steps: Annotated[int | None, _arg(
        "Truncate episodes after this many steps (default: the env's own limit, if any).",
        "INT")] = None


@functools.cache
def _settings() -> tuple[str, ...]:
    """The agent settings ``dynaq run`` has a flag for: every known one but those above."""
    from dynaq.experiments.config import known_settings

    return tuple(name for name in known_settings()
                 if name not in {f.name for f in fields(_RunOptions)})


@functools.cache
def _choices() -> dict[str, tuple[str, ...]]:
    """The allowed values of the string settings, shown in --help (each config checks them)."""
    from dynaq.agents.dyna_q import BACKUPS
    from dynaq.agents.dyna_q_plus import BONUSES
    from dynaq.deep.config import DEVICES, TERMINATIONS, WORLD_MODELS
    from dynaq.kernels import SAMPLINGS
    from dynaq.models import MODELS

    return {"model": tuple(MODELS), "backup": BACKUPS, "sampling": SAMPLINGS,
            "bonus": BONUSES, "world_model": WORLD_MODELS, "termination": TERMINATIONS,
            "device": DEVICES}


def _setting_flag(name: str) -> tuple[str, object, object]:
    from dynaq.experiments.config import known_settings

    setting = known_settings()[name]
    choices = _choices().get(name)
    metavar = ("{" + ",".join(choices) + "}" if choices else "INT [INT ...]"
               if setting.type == tuple[int, ...] else setting.type.__name__.upper())
    # the help names each agent's default: no second "(default: None)"
    return (name, Annotated[setting.type | None, _arg(setting.help(), metavar)],
            field(default=None))


_RUN_DOC = ("Run an agent on a Discrete Gymnasium env for N seeds and each k; write the "
            "results database, summary.csv, summary.md, steps_per_episode.png and "
            "config.toml to --out.")


@functools.cache
def _run_class() -> type:
    """``dynaq run``'s options, with a flag per agent setting (:func:`_settings`)."""
    settings = make_dataclass("AgentSettings", [_setting_flag(name) for name in _settings()],
                              frozen=True, kw_only=True)
    settings.__doc__ = "The agent's settings (only those given are set)."
    settings.__module__ = __name__
    run = make_dataclass("Run", [
        ("settings", Annotated[settings, tyro.conf.OmitArgPrefixes,
                               tyro.conf.arg(name="agent settings")],
         field(default_factory=settings)),
        ("how", _HOW, field(default_factory=_Execution))],
        bases=(_RunOptions,), frozen=True, kw_only=True)
    run.__doc__ = _RUN_DOC
    run.__module__ = __name__
    return run


@dataclass(frozen=True)
class _RunListed:
    __doc__ = _RUN_DOC  # how dynaq --help lists run, without building its class


@dataclass(frozen=True, kw_only=True)
class Sweep:
    """Run the cross product of a TOML sweep file (see dynaq.experiments.sweep); run it
    again after adding seeds or values to run only what is new."""

    file: Annotated[Path, Positional, tyro.conf.arg(metavar="FILE.toml")]
    """The sweep file."""
    out: Annotated[Path, tyro.conf.arg(metavar="DIR")]
    """Output directory."""
    how: _HOW = field(default_factory=_Execution)


@dataclass(frozen=True, kw_only=True)
class Reproduce:
    """Reproduce an experiment of the course or of Sutton & Barto ch. 8 (see --list)."""

    name: Annotated[str | None, Positional, tyro.conf.arg(metavar="NAME")] = None
    """Which reproduction, e.g. fig8.2 or seed-table."""
    out: Path | None = None
    """Output directory (default: results/NAME)."""
    seeds: int | None = None
    """Number of seeds (default: the reproduction's own)."""
    list: bool = False
    """List the reproductions and exit."""
    how: _HOW = field(default_factory=_Execution)


@dataclass(frozen=True)
class Ls:
    """Show what a results directory holds: configs, seeds done, failed and missing."""

    dir: Annotated[Path, Positional, tyro.conf.arg(metavar="DIR")]


@dataclass(frozen=True)
class Export:
    """Export a results directory as one table, one row per (config, seed, episode)."""

    dir: Annotated[Path, Positional, tyro.conf.arg(metavar="DIR")]
    format: Annotated[Literal["csv", "parquet"] | None, _arg(
        """csv, or parquet (needs pyarrow: pip install 'dynaq[parquet]'); one that
        contradicts the extension of --output is refused.""", "{csv,parquet}",
        "(default: the extension of --output, else csv)")] = None
    output: Annotated[Path | None, _arg(
        """Where to write, ending in .csv or .parquet unless --format is given (default:
        DIR/results.csv, or DIR/results.parquet with --format parquet).""", "FILE")] = None


@dataclass(frozen=True)
class Compare:
    """Compare configs of a results directory: summary metrics with CIs, and which
    differences from the baseline are significant. The values of --by are compared within
    each block of runs that share every other varying setting (env included: envs are never
    pooled), each block with its own baseline; runs of different lengths over the horizon
    they all reached; wall time by its means, with no test."""

    dir: Annotated[Path, Positional, tyro.conf.arg(metavar="DIR")]
    by: Annotated[str, _arg(
        """The config column whose values are compared: any column of the results, or k
        for planning_steps.""", "COLUMN", "(default: planning_steps)")] = "planning_steps"
    baseline: Annotated[str | None, _arg(
        """The value of --by to compare against in every block (default: the smallest of
        each block).""", "VALUE")] = None


@dataclass(frozen=True)
class Evaluate:
    """Run greedy episodes of a saved agent (dynaq run --save-agent) and print their returns."""

    dir: Annotated[Path, Positional, tyro.conf.arg(metavar="DIR")]
    """The saved agent's directory."""
    env: Annotated[str | None, _arg(
        """The Gymnasium id to evaluate on: one with the same spaces as the env it learned
        in.""", "ID", "(default: the env it was saved with, its env_kwargs too)")] = None
    env_kwargs: Annotated[tuple[str, ...], _arg(
        """Keyword arguments for --env's constructor, each KEY=VALUE, as for dynaq run.""",
        "KEY=VALUE", None)] = ()
    episodes: int = 10
    """Greedy episodes to run."""
    seed: int = 0
    """Seeds the env's first reset."""
    render: bool = False
    """Print the first episode step by step, as the env draws itself in text."""


@dataclass(frozen=True)
class Report:
    """Write DIR/report.html: one self-contained page with tables, plots and config."""

    dir: Annotated[Path, Positional, tyro.conf.arg(metavar="DIR")]
    by: Annotated[str | None, _arg(
        """The config column whose values the comparison section compares, as for dynaq
        compare.""", "COLUMN", "(default: planning_steps where it varies, else the first "
        "config column that does)")] = None


@dataclass(frozen=True)
class Plot:
    """Plot a per-episode column of a results directory: its mean over seeds with 95%
    bootstrap CI bands, one line per config, against the episode (against real steps for
    runs of --steps); prints the file written."""

    dir: Annotated[Path, Positional, tyro.conf.arg(metavar="DIR")]
    metric: Annotated[str, _arg(
        "steps, return, value_error, policy_value, model_error, ...: any numeric per-episode "
        "column the results hold values of.", "COLUMN", None)] = "steps"
    output: Annotated[Path | None, _arg("Where to write the PNG (default: DIR/METRIC.png).",
                                        "FILE.png")] = None


@dataclass(frozen=True)
class Heatmap:
    """Draw max_a Q(s, a) and the greedy actions of a stored gridworld run on its map. The
    store keeps no Q tables: the cell is run again (a cell is a deterministic function of
    its config and seed) and checked against its stored episodes."""

    dir: Annotated[Path, Positional, tyro.conf.arg(metavar="DIR")]
    config: Annotated[int, _arg("The run config's number, as dynaq ls lists them.", "N",
                                None)] = 0
    seed: Annotated[int, _arg("The seed.", "S", None)] = 0
    output: Annotated[Path | None, _arg(
        "Where to write the PNG (default: DIR/values_configN_seedS.png).", "FILE.png")] = None


@dataclass(frozen=True)
class Animate:
    """An animated GIF of how value floods a gridworld as Dyna-Q (its default settings)
    learns, one panel per k (Sutton & Barto §8.2, Figure 8.3)."""

    source: Annotated[str, Positional, _arg(
        "A dynaq gridworld id (e.g. dynaq/DynaMaze-v0), or a results directory of a "
        "gridworld run: its env, env kwargs and k's.", "ENV|DIR")]
    k: Annotated[tuple[int, ...] | None, _arg(
        "Planning steps, one panel each (default: 0 50, or the directory's).",
        "K [K ...]")] = None
    episodes: Annotated[int, _arg("Episodes per panel.", "E", None)] = 3
    seed: Annotated[int, _arg("Seeds the agents and the env.", "S", None)] = 0
    frames: Annotated[int, _arg("Frames in all.", "INT", None)] = 60
    output: Annotated[Path | None, _arg(
        "Where to write the GIF (default: DIR/flood.gif, or flood.gif).", "FILE.gif")] = None


@dataclass(frozen=True)
class Warm:
    """Compile the kernels of some reproductions into numba's cache now, so that their first
    run loads them (after pip install: the first run would otherwise compile for about half
    a minute; make's install step warms the demo's)."""

    presets: Annotated[tuple[str, ...], Positional, _arg(
        "Reproductions to warm (dynaq reproduce --list).", "NAME",
        "(default: fig8.2 seed-table, the demo's)")] = ("fig8.2", "seed-table")


def _run(cmd: Any) -> Path:
    from dynaq.experiments.driver import execute

    experiment, out = _experiment(cmd) if cmd.config is None else _rerun(cmd)
    execute(experiment, out, options=cmd.how.options())
    if cmd.save_agent:
        _save_agents(experiment.runs, out)
    return out


def _experiment(cmd: Any) -> tuple[Experiment, Path]:
    """The experiment that ``dynaq run``'s flags describe, and its output directory."""
    from dynaq.agents.registry import default_planning_steps
    from dynaq.checks import check_count
    from dynaq.experiments.config import Experiment, RunConfig

    if (cmd.env is None) == (cmd.map is None):
        raise ConfigError("give exactly one of --env ID, --map FILE or --config "
                          "DIR/config.toml")
    if (cmd.episodes is None) == (cmd.steps is None):
        raise ConfigError("give exactly one of --episodes E or --steps T")
    ks = cmd.planning_steps if cmd.planning_steps is not None else (
        default_planning_steps(cmd.agent),)
    if not ks:
        raise ConfigError("--planning-steps needs at least one value, e.g. --planning-steps "
                          "0 5 50")
    repeated = sorted({k for k in ks if ks.count(k) > 1})
    if repeated:
        raise ConfigError(f"planning_steps lists {repeated[0]} more than once")
    env, kwargs = cmd.env, _env_kwargs(cmd.env_kwargs)
    if cmd.map is not None:
        from dynaq.envs.maps import load_map

        env, kwargs = GRID_WORLD, {"desc": load_map(cmd.map), **kwargs}
    # Only what was given on the command line: the rest stays at the agent's defaults,
    # and a setting the agent does not have is refused by name.
    extra = {name: getattr(cmd.settings, name) for name in _settings()
             if getattr(cmd.settings, name) is not None}
    if kwargs:  # an empty one is not a setting: runs without keep their keys
        extra["env_kwargs"] = kwargs
    runs = tuple(RunConfig(env=env, agent=cmd.agent, planning_steps=k,
                           episodes=cmd.episodes, total_steps=cmd.steps,
                           max_episode_steps=cmd.max_episode_steps, **extra) for k in ks)
    seeds = cmd.seeds if cmd.seeds is not None else 10
    check_count("seeds", seeds, 1, MAX_SEEDS)
    name = cmd.map.stem if cmd.map is not None else env.rsplit("/", 1)[-1]
    out = cmd.out if cmd.out is not None else Path("results") / f"{name}-{cmd.agent}"
    return Experiment("run", runs, seeds), out


def _rerun(cmd: Any) -> tuple[Experiment, Path]:
    """``--config``: the experiment a results directory holds (grown to ``--seeds``)."""
    from dataclasses import replace

    from dynaq.checks import check_count
    from dynaq.experiments.config import Experiment

    given = [flag for flag, value in (
        ("--env", cmd.env), ("--map", cmd.map), ("--env-kwargs", cmd.env_kwargs or None),
        ("--episodes", cmd.episodes), ("--steps", cmd.steps),
        ("--planning-steps", cmd.planning_steps),
        ("--max-episode-steps", cmd.max_episode_steps),
        *((f"--{name.replace('_', '-')}", getattr(cmd.settings, name)) for name in _settings()),
        ) if value is not None]
    if given:
        raise ConfigError(f"--config reruns exactly what its directory holds: give no "
                          f"{given[0]} (only --seeds, to grow it, and --out)")
    path = cmd.config / "config.toml" if cmd.config.is_dir() else cmd.config
    experiment = Experiment.from_toml(path)
    if cmd.seeds is not None:
        check_count("seeds", cmd.seeds, 1, MAX_SEEDS)
        experiment = replace(experiment, seeds=cmd.seeds)
    return experiment, cmd.out if cmd.out is not None else path.parent


def _env_kwargs(pairs: tuple[str, ...]) -> dict[str, object]:
    """``--env-kwargs KEY=VALUE ...``: each value read as a TOML value (``false``, ``0.2``,
    ``[1, 2]``), or as the string itself when it is not one (``map_name=8x8``)."""
    import tomllib

    kwargs: dict[str, object] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ConfigError(f"env_kwargs must be KEY=VALUE with KEY a Python name, got "
                              f"{pair!r}")
        if key.strip() in kwargs:
            raise ConfigError(f"env_kwargs gives {key.strip()} more than once")
        try:
            kwargs[key.strip()] = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            kwargs[key.strip()] = text
    return kwargs


def _save_agents(runs: tuple, out: Path) -> None:
    from dynaq.experiments.runner import train_agent
    from dynaq.saving import save_agent

    for run in runs:
        path = save_agent(train_agent(run, seed=0), out / "agents" / run.label().replace(
            " ", "-"), env=run.env, env_kwargs=run.env_kwargs)
        print(f"saved the agent of seed 0 ({run.label()}) to {path}", file=sys.stderr)


def _sweep(cmd: Sweep) -> Path:
    from dynaq.experiments.driver import execute
    from dynaq.experiments.sweep import load_sweep

    execute(load_sweep(cmd.file), cmd.out, options=cmd.how.options())
    return cmd.out


def _reproduce(cmd: Reproduce) -> Path | None:
    from dynaq.experiments.presets import descriptions, get_preset

    if cmd.list or cmd.name is None:
        listed = descriptions()  # no preset is imported: they import pandas and the runner
        width = max(map(len, listed))
        for name, description in listed.items():
            print(f"{name:<{width}}  {description}")
        return None
    from dynaq.checks import check_count  # after the listing, which needs no numpy

    preset = get_preset(cmd.name)
    seeds = cmd.seeds if cmd.seeds is not None else preset.default_seeds
    check_count("seeds", seeds, 1, MAX_SEEDS)
    out = cmd.out if cmd.out is not None else Path("results") / preset.name
    preset.reproduce(seeds, out, cmd.how.options())
    return out


def _ls(cmd: Ls) -> None:
    from dynaq.experiments.store import describe

    print(describe(cmd.dir))


def _export(cmd: Export) -> None:
    from dynaq.experiments.store import export

    print(f"wrote {export(cmd.dir, cmd.format, cmd.output)}")


def _compare(cmd: Compare) -> None:
    from dynaq.analysis.compare import compare_markdown, compare_stored

    print(compare_markdown(compare_stored(cmd.dir, cmd.by, baseline=cmd.baseline)))


def _evaluate(cmd: Evaluate) -> None:
    from dynaq.checks import check_count
    from dynaq.experiments.evaluate import evaluate_agent

    check_count("episodes", cmd.episodes, 1, MAX_EPISODES)
    kwargs = _env_kwargs(cmd.env_kwargs) or None
    if kwargs is not None and cmd.env is None:
        raise ConfigError("env_kwargs: give --env with them (without, the agent's own env "
                          "and kwargs are used)")
    if cmd.render:
        from dynaq.experiments.evaluate import render_greedy_episode

        frames = render_greedy_episode(cmd.dir, cmd.env, cmd.seed, env_kwargs=kwargs)
        for step, frame in enumerate(frames):
            print(f"step {step}" if step else "start")
            print(frame.rstrip("\n") + "\n")
    df = evaluate_agent(cmd.dir, cmd.env, cmd.episodes, cmd.seed, env_kwargs=kwargs)
    print(df.to_string(index=False))
    print(f"mean return {df['return'].mean():.4g} over {len(df)} greedy episodes")


def _report(cmd: Report) -> None:
    from dynaq.analysis.html import write_report
    from dynaq.experiments.store import make_output_dir

    if cmd.dir.is_dir():  # a missing one is refused as holding no results, not created
        make_output_dir(cmd.dir, "dir")
    print(f"wrote {write_report(cmd.dir, cmd.by)}")


def _writable(path: Path, field: str) -> Path:
    """``path``, if its directory exists (a plot never creates one)."""
    if not path.parent.is_dir():
        raise ConfigError(f"{field}: {path.parent} is not a directory")
    return path


def _plot(cmd: Plot) -> None:
    from dynaq.analysis.plots import plot_metric_by_config
    from dynaq.experiments.store import results_by_config, stored_experiment

    stored_experiment(cmd.dir)  # a missing or damaged database is named before the output
    path = _writable(cmd.output or cmd.dir / f"{cmd.metric}.png", "output")
    # config by config: a sweep of 10^7 episodes is plotted in the memory of its largest config
    plotted = plot_metric_by_config(lambda: results_by_config(cmd.dir), cmd.metric, path)
    print(f"wrote {plotted}")


def _heatmap(cmd: Heatmap) -> None:
    from dynaq.analysis.values import plot_stored_run

    path = None if cmd.output is None else _writable(cmd.output, "output")
    print(f"wrote {plot_stored_run(cmd.dir, path, cmd.config, cmd.seed)}")


def _flood_of(out: Path) -> tuple[str, dict | None, tuple[int, ...]]:
    """The env, env kwargs and k's of a results directory's first run config (the k's of
    every config on that world)."""
    from dynaq.analysis.values import stored_run
    from dynaq.experiments.store import stored_experiment

    first = stored_run(out, 0)
    runs = [stored_run(out, i) for i in range(len(stored_experiment(out)["runs"]))]
    return first.env, first.env_kwargs, tuple(sorted(
        {r.planning_steps for r in runs if (r.env, r.env_kwargs) == (first.env,
                                                                     first.env_kwargs)}))


def _animate(cmd: Animate) -> None:
    from dynaq.analysis.animate import animate_value_flood
    from dynaq.checks import check_count

    out = Path(cmd.source) if Path(cmd.source).is_dir() else None
    env, kwargs, ks = _flood_of(out) if out else (cmd.source, None, (0, 50))
    ks = cmd.k or ks
    for k in ks:
        check_count("k", k, 0, MAX_PLANNING_STEPS)
    check_count("episodes", cmd.episodes, 1, 1000)
    check_count("frames", cmd.frames, 2, 10_000)
    path = _writable(cmd.output or (out or Path(".")) / "flood.gif", "output")
    written = animate_value_flood(path, ks, cmd.episodes, cmd.seed, env, cmd.frames,
                                  env_kwargs=kwargs)
    print(f"wrote {written}")


def _warm(cmd: Warm) -> None:
    from dynaq.warm import warm

    print(f"kernels of {', '.join(cmd.presets)} in numba's cache ({warm(cmd.presets):.0f} s)")


COMMANDS = {"run": (_RunListed, _run), "sweep": (Sweep, _sweep),
            "reproduce": (Reproduce, _reproduce), "ls": (Ls, _ls), "export": (Export, _export),
            "compare": (Compare, _compare), "evaluate": (Evaluate, _evaluate),
            "report": (Report, _report), "plot": (Plot, _plot), "heatmap": (Heatmap, _heatmap),
            "animate": (Animate, _animate), "warm": (Warm, _warm)}
"""The commands: their options' classes and handlers (run's class is :func:`_run_class`)."""
_READ_ONLY = (Ls, Export)
"""Commands that only read a results directory, so never compile a kernel."""


def _compiles(cmd: object) -> bool:
    """Whether ``cmd`` may compile a kernel: not a read-only command, nor a listing of the
    reproductions."""
    listing = isinstance(cmd, Reproduce) and (cmd.list or cmd.name is None)
    return not (listing or isinstance(cmd, _READ_ONLY))


@functools.cache
def _compile_notice() -> type:
    """The class of :data:`CompileNotice`, a numba listener (so built once numba is needed)."""
    from numba.core import event

    class CompileNotice(event.Listener):
        """A numba event listener that says once, on stderr, that dynaq's kernels are being
        compiled: the first run after an install or an edit waits a minute with nothing
        else to show (later runs load them from numba's cache, which fires no compile
        event)."""

        def __init__(self) -> None:
            self.said = False

        def on_start(self, event: Any) -> None:
            """Called by numba as it starts compiling a function."""
            if not self.said and event.data["dispatcher"].py_func.__module__.startswith(
                    "dynaq."):
                self.said = True
                print("dynaq: compiling kernels (first run only; about a minute) ...",
                      file=sys.stderr, flush=True)

        def on_end(self, event: Any) -> None:
            """Called by numba as it finishes compiling a function."""

    CompileNotice.__module__, CompileNotice.__qualname__ = __name__, "CompileNotice"
    return CompileNotice


def __getattr__(name: str) -> Any:
    # built on first use: CompileNotice needs numba, Run every agent's config
    if name == "CompileNotice":
        return _compile_notice()
    if name == "Run":
        return _run_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _failed_cells() -> tuple[type[BaseException], ...]:
    """The driver's FailedCells to catch, if the driver was imported (only it raises them);
    otherwise none, so that a command that never runs cells does not import the driver."""
    driver = sys.modules.get("dynaq.experiments.driver")
    return (driver.FailedCells,) if driver is not None else ()


def _without_huge_pages() -> None:
    """In the command's own process (numpy not yet imported), numpy does not ask Linux
    for transparent huge pages (its ``NUMPY_MADVISE_HUGEPAGE``), unless the user set it.

    The outputs allocate short-lived arrays of megabytes, and faulting in fresh 2 MB pages
    for them stalled a 4-second command for up to a second on a 2-core virtual machine,
    where 4 KB pages cost a few milliseconds more
    (``benchmarks/bench_whole.py --huge-pages`` measures both). A library caller's
    process is left as it is."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dynaq`` command; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    _without_huge_pages()
    if args[:1] in (["--version"], ["-V"]):
        from importlib import metadata

        print(f"dynaq {metadata.version('dynaq')}")
        return 0
    try:
        # run's own class only where run can be the command: it imports every agent
        classes = {name: _run_class() if name == "run" and name in args else cls
                   for name, (cls, _) in COMMANDS.items()}
        cmd = tyro.extras.subcommand_cli_from_dict(
            classes, prog="dynaq",
            description="dynaq: model-based RL in the Dyna family (Sutton & Barto ch. 8). "
            "dynaq --version prints the version; dynaq COMMAND --help, a command's options.",
            args=args)
    except SystemExit as exit_:
        if exit_.code == 0 and {"-h", "--help"} & set(args):
            _print_examples(args)
        raise
    handler = next(fn for name, (_, fn) in COMMANDS.items() if isinstance(cmd, classes[name]))
    quiet = getattr(getattr(cmd, "how", None), "quiet", False)
    if quiet or not _compiles(cmd):
        notice: contextlib.AbstractContextManager = contextlib.nullcontext()
    else:
        from numba.core import event

        notice = event.install_listener("numba:compile", _compile_notice()())
    try:
        with notice, warnings.catch_warnings():
            warnings.showwarning = _show_warning
            out = handler(cmd)
            if isinstance(out, Path):
                from dynaq.analysis.report import plain_text

                files = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
                print(plain_text((out / "summary.md").read_text(encoding="utf-8"), out))
                print(f"wrote {out}/: {', '.join(files)}")
    except BrokenPipeError:
        # the reader left (dynaq ... | head): nothing more to say, and no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except ConfigError as err:
        # one line, whatever the message quotes (an env id with a newline in it)
        print(f"dynaq: error: {err}".replace("\n", "\\n"), file=sys.stderr)
        return 2
    except _failed_cells() as err:
        print(f"dynaq: {len(err.failures)} cell(s) failed (everything else is saved; rerun "
              "with --retry-failed to try them again):", file=sys.stderr)
        for key, (seed, error) in sorted(err.failures.items()):
            print(f"  {key} (seed {seed}): {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dynaq: interrupted; finished cells are saved, run the same command to resume",
              file=sys.stderr)
        return 130
    return 0


def _show_warning(message: Warning | str, category: type[Warning], filename: str,
                  lineno: int, file: Any = None, line: str | None = None) -> None:
    """dynaq's own warnings as one line (``dynaq: warning: ...``); others as Python shows
    them."""
    if issubclass(category, StochasticWorldWarning):
        print(f"dynaq: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


if __name__ == "__main__":
    sys.exit(main())
