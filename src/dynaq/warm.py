"""Compiling the kernels of reproductions ahead, so that their first run loads them.

numba compiles a kernel the first time a process calls it with new argument types and
keeps the machine code in its on-disk cache, which later processes load in a fraction of
a second. The first run after an install therefore waits on compilation, most of it the
run loop of :mod:`dynaq.kernels.run`, compiled once per agent variant (20–60 s each).
numba cannot compile when a package is installed, so ``make`` runs this module right
after installing (``python -m dynaq.warm``): the demo's reproductions then start from the
cache.

Warming runs in two phases, each spread over a process pool. First each distinct run
loop the reproductions need (one per agent variant, see
:func:`dynaq.kernels.run.agent_id`) compiles in a worker of its own, by running one seed of
a run that uses it; the variants are independent, so they compile side by side. Then each
reproduction runs once with one seed into a scratch directory: its run loops load from the
cache, and what else it compiles (ground truth, the reporter's metrics) is compiled with
exactly the argument types its real run passes, since it is the real code path.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from dynaq.errors import ConfigError
from dynaq.experiments.config import RunConfig

DEMO = ("fig8.2", "seed-table")
"""The reproductions ``make demo`` runs, warmed by default."""


def variants(presets: Sequence[str]) -> list[RunConfig]:
    """One run of the reproductions ``presets`` per distinct compiled run loop: the first
    run of each tabular agent variant their experiments hold (deep runs compile no run
    loop, and computed reproductions run no learning runs)."""
    from dynaq.agents.registry import resolve_agent
    from dynaq.experiments.presets import get_preset
    from dynaq.experiments.presets.base import LearningPreset
    from dynaq.kernels.run import agent_id

    found: dict[int, RunConfig] = {}
    for name in presets:
        preset = get_preset(name)
        if not isinstance(preset, LearningPreset):
            continue
        for run in preset.experiment(1).runs:
            if not run.is_deep:
                agent = resolve_agent(run.agent)
                found.setdefault(agent_id(agent.kernels(run.agent_config())), run)
    return list(found.values())


def _compile_run(run: RunConfig) -> None:
    """Runs one seed of ``run``, which compiles its run loop into numba's cache."""
    from dynaq.experiments.runner import run_cells

    run_cells(run, [0])


def _reproduce_once(name: str) -> None:
    """Runs reproduction ``name`` with one seed into a scratch directory, quietly."""
    from dynaq.experiments.driver import Options
    from dynaq.experiments.presets import get_preset

    with tempfile.TemporaryDirectory(prefix="dynaq-warm-") as scratch:
        get_preset(name).reproduce(1, Path(scratch) / name, Options(quiet=True))


def warm(presets: Sequence[str] = DEMO, workers: int | None = None) -> float:
    """Compiles into numba's cache every kernel the reproductions ``presets`` run (see the
    module docstring); ``workers``: processes (default: up to one per core).

    Returns:
        The seconds it took.
    """
    from dynaq.experiments.backends import _worker_init

    start = time.perf_counter()
    runs = variants(presets)
    n = workers or min(os.cpu_count() or 1, max(len(runs), len(presets)))
    # spawn: a forked worker would inherit a thread pool numba may have started here
    with ProcessPoolExecutor(n, mp_context=get_context("spawn"),
                             initializer=_worker_init) as pool:
        for _ in pool.map(_compile_run, runs):
            pass  # the run loops first: the reproductions below load them
        for _ in pool.map(_reproduce_once, presets):
            pass
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dynaq.warm [PRESET ...] [--workers N]``: warm the cache, saying so."""
    parser = argparse.ArgumentParser(
        prog="python -m dynaq.warm",
        description="Compile the kernels of reproductions into numba's cache ahead of "
        "their first run.")
    parser.add_argument("presets", nargs="*", default=list(DEMO),
                        help=f"reproductions to warm (default: {' '.join(DEMO)})")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes (default: up to one per core)")
    args = parser.parse_args(argv)
    try:
        variants(args.presets)  # names checked before the notice and the workers
    except ConfigError as error:
        print(f"dynaq: error: {error}", file=sys.stderr)
        return 2
    print(f"dynaq: compiling kernels for {', '.join(args.presets)} ahead of their first run "
          "(about a minute, once) ...", file=sys.stderr, flush=True)
    seconds = warm(args.presets, args.workers)
    print(f"dynaq: kernels compiled in {seconds:.0f} s; runs load them from numba's cache",
          file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
