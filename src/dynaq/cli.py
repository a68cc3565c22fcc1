"""The ``dynaq`` command: ``dynaq run`` and ``dynaq reproduce`` (built with tyro)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro

from dynaq.errors import ConfigError


@dataclass(frozen=True)
class Run:
    """Run a tabular agent on a Discrete Gymnasium env for N seeds and each k; write the
    results database, summary.csv, summary.md, curves.png and config.toml to --out."""

    env: str
    """Gymnasium id, e.g. dynaq/DynaMaze-v0, dynaq/SinglePath9x9-v0, FrozenLake-v1."""
    out: Path
    """Output directory (new, empty, or holding this same run to resume it)."""
    agent: str = "dyna-q"
    """Agent: q-learning or dyna-q."""
    planning_steps: tuple[int, ...] = (0,)
    """Planning steps k per real step; several values run side by side."""
    seeds: int = 10
    """Number of seeds (0 .. N-1)."""
    episodes: int | None = None
    """Episodes per seed (give this or --steps)."""
    steps: int | None = None
    """Real environment steps per seed (give this or --episodes)."""
    alpha: float = 0.1
    """Step size α in (0, 1]."""
    gamma: float = 0.95
    """Discount γ in [0, 1]."""
    epsilon: float = 0.1
    """Exploration ε in [0, 1]."""
    model: str = "deterministic"
    """Model the agent learns: deterministic."""
    max_episode_steps: int | None = None
    """Truncate episodes after this many steps (default: the env's own limit, if any)."""
    quiet: bool = False
    """No progress bar."""


@dataclass(frozen=True)
class Reproduce:
    """Reproduce an experiment of the course or of Sutton & Barto ch. 8 (see --list)."""

    name: Annotated[str | None, tyro.conf.Positional, tyro.conf.arg(metavar="NAME")] = None
    """Which reproduction, e.g. fig8.2 or seed-table."""
    out: Path | None = None
    """Output directory (default: results/NAME)."""
    seeds: int | None = None
    """Number of seeds (default: the reproduction's own)."""
    list: bool = False
    """List the reproductions and exit."""
    quiet: bool = False
    """No progress bar."""


def _run(cmd: Run) -> Path:
    from dynaq.experiments.config import Experiment, RunConfig
    from dynaq.experiments.driver import execute

    if (cmd.episodes is None) == (cmd.steps is None):
        raise ConfigError("give exactly one of --episodes E or --steps T")
    repeated = sorted({k for k in cmd.planning_steps if cmd.planning_steps.count(k) > 1})
    if repeated:
        raise ConfigError(f"planning_steps lists {repeated[0]} more than once")
    runs = tuple(RunConfig(env=cmd.env, agent=cmd.agent, model=cmd.model, planning_steps=k,
                           alpha=cmd.alpha, gamma=cmd.gamma, epsilon=cmd.epsilon,
                           episodes=cmd.episodes, total_steps=cmd.steps,
                           max_episode_steps=cmd.max_episode_steps)
                 for k in cmd.planning_steps)
    execute(Experiment("run", runs, cmd.seeds), cmd.out, quiet=cmd.quiet)
    return cmd.out


def _reproduce(cmd: Reproduce) -> Path | None:
    from dynaq.experiments.driver import execute, execute_table
    from dynaq.experiments.presets import all_presets, get_preset

    if cmd.list or cmd.name is None:
        presets = all_presets()
        width = max(map(len, presets))
        for preset in presets.values():
            print(f"{preset.name:<{width}}  {preset.description}")
        return None
    preset = get_preset(cmd.name)
    seeds = cmd.seeds if cmd.seeds is not None else preset.default_seeds
    if isinstance(seeds, bool) or seeds < 1:
        raise ConfigError(f"seeds must be an integer >= 1, got {seeds!r}")
    out = cmd.out if cmd.out is not None else Path("results") / preset.name
    if preset.compute is not None:
        execute_table(preset.name, preset.compute(seeds, cmd.quiet), out, preset.reporter)
    else:
        execute(preset.experiment(seeds), out, quiet=cmd.quiet, reporter=preset.reporter)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dynaq`` command; returns the exit status."""
    cmd = tyro.extras.subcommand_cli_from_dict(
        {"run": Run, "reproduce": Reproduce}, prog="dynaq",
        description="dynaq: model-based RL in the Dyna family (Sutton & Barto ch. 8).",
        args=list(argv) if argv is not None else None)
    try:
        out = _run(cmd) if isinstance(cmd, Run) else _reproduce(cmd)
    except ConfigError as err:
        print(f"dynaq: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dynaq: interrupted; finished cells are saved, run the same command to resume",
              file=sys.stderr)
        return 130
    if out is not None:
        files = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        print((out / "summary.md").read_text())
        print(f"wrote {out}/: {', '.join(files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
