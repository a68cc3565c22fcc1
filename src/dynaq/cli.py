"""The ``dynaq`` command (built with tyro): run, sweep, reproduce, and look at results.

``dynaq run`` has one flag per agent setting, derived with its help text from the agents'
config dataclasses (:func:`dynaq.experiments.config.known_settings`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, make_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import tyro

from dynaq.checks import check_count
from dynaq.errors import ConfigError
from dynaq.experiments.config import known_settings
from dynaq.limits import MAX_EPISODES, MAX_SEEDS

if TYPE_CHECKING:
    from dynaq.experiments.driver import Options

Positional = tyro.conf.Positional


@dataclass(frozen=True, kw_only=True)
class _Execution:
    """How to run (never changes the numbers)."""

    backend: Literal["serial", "process", "ray"] = "serial"
    """Where cells run: serial (this process, all cores), process (a pool), ray."""
    workers: int | None = None
    """Processes or Ray CPUs (default: all cores)."""
    ray_address: str | None = None
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


@dataclass(frozen=True, kw_only=True)
class _RunOptions(_Execution):
    """Run an agent on a Discrete Gymnasium env for N seeds and each k; write the results
    database, summary.csv, summary.md, curves.png and config.toml to --out."""

    env: str
    """Gymnasium id, e.g. dynaq/DynaMaze-v0, dynaq/SinglePath9x9-v0, FrozenLake-v1."""
    out: Path
    """Output directory (new, empty, or holding this same run to resume it)."""
    agent: str = "dyna-q"
    """Agent name (see dynaq.AGENTS): q-learning, dyna-q, dyna-q+, prioritized-sweeping,
    replay, dqn, dyna-dqn; or package.module:Class, a dynaq.agents.base.TabularAgent
    subclass to import."""
    planning_steps: tuple[int, ...] = (0,)
    """Planning steps k per real step; several values run side by side."""
    seeds: int = 10
    """Number of seeds (0 .. N-1)."""
    episodes: int | None = None
    """Episodes per seed (give this or --steps)."""
    steps: int | None = None
    """Real environment steps per seed (give this or --episodes)."""
    save_agent: bool = False
    """Also save the trained agent of seed 0 of each config under OUT/agents/ (see
    dynaq evaluate)."""
    max_episode_steps: int | None = None
    """Truncate episodes after this many steps (default: the env's own limit, if any)."""


_SETTINGS = tuple(name for name in known_settings()
                  if name not in {f.name for f in fields(_RunOptions)})
"""The agent settings ``dynaq run`` has a flag for: every known one but those above."""

Run = make_dataclass(
    "Run", [(name, Annotated[known_settings()[name].type | None,
                             tyro.conf.arg(help=known_settings()[name].help())],
             field(default=None)) for name in _SETTINGS],
    bases=(_RunOptions,), frozen=True, kw_only=True)
Run.__doc__, Run.__module__ = _RunOptions.__doc__, __name__


@dataclass(frozen=True, kw_only=True)
class Sweep(_Execution):
    """Run the cross product of a TOML sweep file (see dynaq.experiments.sweep)."""

    file: Annotated[Path, Positional, tyro.conf.arg(metavar="FILE.toml")]
    """The sweep file."""
    out: Path
    """Output directory."""


@dataclass(frozen=True, kw_only=True)
class Reproduce(_Execution):
    """Reproduce an experiment of the course or of Sutton & Barto ch. 8 (see --list)."""

    name: Annotated[str | None, Positional, tyro.conf.arg(metavar="NAME")] = None
    """Which reproduction, e.g. fig8.2 or seed-table."""
    out: Path | None = None
    """Output directory (default: results/NAME)."""
    seeds: int | None = None
    """Number of seeds (default: the reproduction's own)."""
    list: bool = False
    """List the reproductions and exit."""


@dataclass(frozen=True)
class Ls:
    """Show what a results directory holds: configs, seeds done, failed and missing."""

    dir: Annotated[Path, Positional, tyro.conf.arg(metavar="DIR")]


@dataclass(frozen=True)
class Export:
    """Export a results directory as one table, one row per (config, seed, episode)."""

    dir: Annotated[Path, Positional, tyro.conf.arg(metavar="DIR")]
    format: Literal["csv", "parquet"] = "csv"
    """csv, or parquet (needs pyarrow: pip install 'dynaq[parquet]')."""
    output: Path | None = None
    """Where to write (default: DIR/results.csv or DIR/results.parquet)."""


@dataclass(frozen=True)
class Compare:
    """Compare configs of a results directory: summary metrics with CIs, and which
    differences from the baseline are significant."""

    dir: Annotated[Path, Positional, tyro.conf.arg(metavar="DIR")]
    by: str = "planning_steps"
    """The column whose values are compared (any config column)."""
    baseline: str | None = None
    """The value of --by to compare against (default: the smallest)."""


@dataclass(frozen=True)
class Evaluate:
    """Run greedy episodes of a saved agent (dynaq run --save-agent) and print their returns."""

    dir: Annotated[Path, Positional, tyro.conf.arg(metavar="DIR")]
    """The saved agent's directory."""
    env: str
    """The Gymnasium id to evaluate on (the one it was trained on, or one with the same
    spaces)."""
    episodes: int = 10
    """Greedy episodes to run."""
    seed: int = 0
    """Seeds the env's first reset."""


@dataclass(frozen=True)
class Report:
    """Write DIR/report.html: one self-contained page with tables, plots and config."""

    dir: Annotated[Path, Positional, tyro.conf.arg(metavar="DIR")]


def _run(cmd: Run) -> Path:
    from dynaq.experiments.config import Experiment, RunConfig
    from dynaq.experiments.driver import execute

    if (cmd.episodes is None) == (cmd.steps is None):
        raise ConfigError("give exactly one of --episodes E or --steps T")
    if not cmd.planning_steps:
        raise ConfigError("--planning-steps needs at least one value, e.g. --planning-steps "
                          "0 5 50")
    repeated = sorted({k for k in cmd.planning_steps if cmd.planning_steps.count(k) > 1})
    if repeated:
        raise ConfigError(f"planning_steps lists {repeated[0]} more than once")
    # Only what was given on the command line: the rest stays at the agent's defaults,
    # and a setting the agent does not have is refused by name.
    extra = {name: getattr(cmd, name) for name in _SETTINGS if getattr(cmd, name) is not None}
    runs = tuple(RunConfig(env=cmd.env, agent=cmd.agent, planning_steps=k,
                           episodes=cmd.episodes, total_steps=cmd.steps,
                           max_episode_steps=cmd.max_episode_steps, **extra)
                 for k in cmd.planning_steps)
    execute(Experiment("run", runs, cmd.seeds), cmd.out, options=cmd.options())
    if cmd.save_agent:
        _save_agents(runs, cmd.out)
    return cmd.out


def _save_agents(runs: tuple, out: Path) -> None:
    from dynaq.experiments.runner import train_agent
    from dynaq.saving import save_agent

    for run in runs:
        path = save_agent(train_agent(run, seed=0), out / "agents" / run.label().replace(
            " ", "-"))
        print(f"saved the agent of seed 0 ({run.label()}) to {path}", file=sys.stderr)


def _sweep(cmd: Sweep) -> Path:
    from dynaq.experiments.driver import execute
    from dynaq.experiments.sweep import load_sweep

    execute(load_sweep(cmd.file), cmd.out, options=cmd.options())
    return cmd.out


def _reproduce(cmd: Reproduce) -> Path | None:
    from dynaq.experiments.presets import all_presets, get_preset

    if cmd.list or cmd.name is None:
        presets = all_presets()
        width = max(map(len, presets))
        for preset in presets.values():
            print(f"{preset.name:<{width}}  {preset.description}")
        return None
    preset = get_preset(cmd.name)
    seeds = cmd.seeds if cmd.seeds is not None else preset.default_seeds
    check_count("seeds", seeds, 1, MAX_SEEDS)
    out = cmd.out if cmd.out is not None else Path("results") / preset.name
    preset.reproduce(seeds, out, cmd.options())
    return out


def _ls(cmd: Ls) -> None:
    from dynaq.experiments.store import describe

    print(describe(cmd.dir))


def _export(cmd: Export) -> None:
    from dynaq.experiments.store import export

    print(f"wrote {export(cmd.dir, cmd.format, cmd.output)}")


def _compare(cmd: Compare) -> None:
    from dynaq.analysis.compare import compare, compare_markdown
    from dynaq.experiments.store import load_results

    print(compare_markdown(compare(load_results(cmd.dir), cmd.by, baseline=cmd.baseline)))


def _evaluate(cmd: Evaluate) -> None:
    from dynaq.experiments.evaluate import evaluate_agent

    check_count("episodes", cmd.episodes, 1, MAX_EPISODES)
    df = evaluate_agent(cmd.dir, cmd.env, cmd.episodes, cmd.seed)
    print(df.to_string(index=False))
    print(f"mean return {df['return'].mean():.4g} over {len(df)} greedy episodes")


def _report(cmd: Report) -> None:
    from dynaq.analysis.html import write_report
    from dynaq.experiments.store import make_output_dir

    if cmd.dir.is_dir():  # a missing one is refused as holding no results, not created
        make_output_dir(cmd.dir, "dir")
    print(f"wrote {write_report(cmd.dir)}")


COMMANDS = {"run": (Run, _run), "sweep": (Sweep, _sweep), "reproduce": (Reproduce, _reproduce),
            "ls": (Ls, _ls), "export": (Export, _export), "compare": (Compare, _compare),
            "evaluate": (Evaluate, _evaluate), "report": (Report, _report)}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dynaq`` command; returns the exit status."""
    from dynaq.experiments.driver import FailedCells

    cmd = tyro.extras.subcommand_cli_from_dict(
        {name: cls for name, (cls, _) in COMMANDS.items()}, prog="dynaq",
        description="dynaq: model-based RL in the Dyna family (Sutton & Barto ch. 8).",
        args=list(argv) if argv is not None else None)
    handler = next(fn for cls, fn in COMMANDS.values() if isinstance(cmd, cls))
    try:
        out = handler(cmd)
    except ConfigError as err:
        # one line, whatever the message quotes (an env id with a newline in it)
        print(f"dynaq: error: {err}".replace("\n", "\\n"), file=sys.stderr)
        return 2
    except FailedCells as err:
        print(f"dynaq: {len(err.failures)} cell(s) failed (everything else is saved; rerun "
              "with --retry-failed to try them again):", file=sys.stderr)
        for key, (seed, error) in sorted(err.failures.items()):
            print(f"  {key} (seed {seed}): {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dynaq: interrupted; finished cells are saved, run the same command to resume",
              file=sys.stderr)
        return 130
    if isinstance(out, Path):
        files = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        print((out / "summary.md").read_text())
        print(f"wrote {out}/: {', '.join(files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
