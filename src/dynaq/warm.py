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
from dynaq.kernels import run as kernels

DEMO = ("fig8.2", "seed-table")
"""The reproductions ``make demo`` runs, warmed by default."""


def distinct(runs: Sequence[RunConfig]) -> list[RunConfig]:
    """One of ``runs`` per distinct compiled run loop (one per tabular agent variant, see
    :func:`dynaq.kernels.run.agent_id`; deep runs compile none), the first of each."""
    found: dict[int, RunConfig] = {}
    for run in runs:
        if not run.is_deep:
            found.setdefault(_loop(run), run)
    return list(found.values())


def _loop(run: RunConfig) -> int:
    """The number of the compiled run loop that ``run`` runs."""
    from dynaq.agents.registry import resolve_agent

    return kernels.agent_id(resolve_agent(run.agent).kernels(run.agent_config()))


def variants(presets: Sequence[str]) -> list[RunConfig]:
    """:func:`distinct` runs of the reproductions ``presets`` (computed reproductions run
    no learning runs)."""
    from dynaq.experiments.presets import get_preset
    from dynaq.experiments.presets.base import LearningPreset

    chosen = [get_preset(name) for name in presets]
    return distinct([run for preset in chosen if isinstance(preset, LearningPreset)
                     for run in preset.experiment(1).runs])


def uncached(runs: Sequence[RunConfig]) -> list[RunConfig]:
    """The :func:`distinct` runs of ``runs`` whose run loop numba's cache lacks."""
    return [run for run in distinct(runs) if not kernels.is_cached(_loop(run))]


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


def _pool(tasks: int, workers: int | None) -> ProcessPoolExecutor:
    """Processes for ``tasks`` tasks: ``workers``, or up to one per core."""
    from dynaq.experiments.backends import _worker_init

    n = workers or min(os.cpu_count() or 1, tasks)
    # spawn: a forked worker would inherit a thread pool numba may have started here
    return ProcessPoolExecutor(max(n, 1), mp_context=get_context("spawn"),
                               initializer=_worker_init)


def compile_ahead(runs: Sequence[RunConfig], workers: int | None = None) -> int:
    """Compiles the run loops of ``runs`` that numba's cache lacks side by side, one per
    worker process (``workers``, default: up to one per core), where two or more are
    missing and there are two cores: a command that runs several agent variants then
    loads them all instead of compiling one after another.

    Returns:
        How many run loops were compiled (0: none missing, or one, which compiles as fast
        in the caller).
    """
    missing = uncached(runs)
    if len(missing) < 2 or (workers or os.cpu_count() or 1) < 2:
        return 0
    with _pool(len(missing), workers) as pool:
        list(pool.map(_compile_run, missing))
    return len(missing)


def warm(presets: Sequence[str] = DEMO, workers: int | None = None) -> float:
    """Compiles into numba's cache every kernel the reproductions ``presets`` run (see the
    module docstring); ``workers``: processes (default: up to one per core).

    Returns:
        The seconds it took.
    """
    start = time.perf_counter()
    runs = uncached(variants(presets))
    with _pool(max(len(runs), len(presets)), workers) as pool:
        list(pool.map(_compile_run, runs))  # the run loops first: the reproductions load them
        list(pool.map(_reproduce_once, presets))
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
