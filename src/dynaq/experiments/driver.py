"""The driver: validate, run the missing cells, store them, write the outputs.

It is the only code that writes to an output directory.
"""

from __future__ import annotations

import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from dynaq.errors import ConfigError
from dynaq.experiments.backends import UnitResult, execute_units
from dynaq.experiments.config import Experiment, RunConfig, cell_key
from dynaq.experiments.runner import memory_estimate, validate
from dynaq.experiments.store import Store
from dynaq.limits import check_memory
from dynaq.records import N_FIELDS

CHUNK = 64
"""Seeds per unit of work (one compiled call): enough to keep the cores busy, few enough
for a live progress bar and little lost to an interruption."""

TEST_SIGNAL_ENV = "DYNAQ_TEST_SIGNAL"
"""Test hook, for the kill and Ctrl-C tests: set to ``"N:SIGNAME"`` (``"3:SIGKILL"``,
``"2:SIGINT"``), it makes :func:`execute` raise that signal in its own process as soon as
N cells have been stored, so those tests need no sleeps nor timing."""

if TYPE_CHECKING:
    import pandas as pd

    from dynaq.experiments.outputs import Reporter


@dataclass(frozen=True)
class Options:
    """How to run an experiment (none of it changes the numbers)."""

    backend: str = "serial"
    """``serial`` (in the driver, all cores through numba), ``process`` or ``ray``."""
    workers: int | None = None
    """Processes or Ray CPUs (default: all cores)."""
    ray_address: str | None = None
    """Join this Ray cluster instead of starting a local one."""
    chunk: int = CHUNK
    """Seeds per unit of work."""
    force_new: bool = False
    """Discard results of a different experiment in the output directory."""
    retry_failed: bool = False
    """Run again the cells that failed before (otherwise they are skipped)."""
    quiet: bool = False
    """No progress bar."""


class FailedCells(Exception):
    """Some cells raised; everything else is stored. ``failures``: key → (seed, error)."""

    def __init__(self, failures: dict[str, tuple[int, str]]) -> None:
        self.failures = failures
        first = next(iter(failures.values()), (None, ""))[1].strip().splitlines()
        super().__init__(f"{len(failures)} cell(s) failed" + (f"; the first: {first[-1]}"
                                                               if first else ""))


def execute(experiment: Experiment, out: str | Path, quiet: bool = False,
            reporter: Reporter | None = None, options: Options | None = None
            ) -> pd.DataFrame:
    """Run every cell of ``experiment`` not yet stored in ``out``, then write the outputs.

    Everything is validated before the directory is touched. Each finished unit of cells
    is committed at once, so an interrupted run (Ctrl-C, or even SIGKILL) loses only the
    units in flight, and re-running the same command resumes it.

    Args:
        experiment: What to run.
        out: The output directory (created if missing).
        quiet: No progress bar (or set ``options.quiet``).
        reporter: Writes plots and returns notes for ``summary.md``; the default draws
            ``steps_per_episode.png`` (see
            :func:`~dynaq.experiments.outputs.default_report`).
        options: Backend, workers and the other :class:`Options`.

    Returns:
        The summary table (as written to ``summary.csv``).

    Raises:
        ConfigError: On any invalid input, before anything is written.
        FailedCells: After storing everything else, if some cells raised.
    """
    opts = options or Options(quiet=quiet)
    if opts.chunk < 1:
        raise ConfigError(f"chunk must be an integer >= 1, got {opts.chunk!r}")
    # warnings (a deterministic model in a stochastic world) wait until every check has
    # passed: a command refused for bad input says only what is wrong
    with warnings.catch_warnings(record=True) as noted:
        for run in experiment.runs:
            validate(run)
        execute_units([], opts.backend, opts.workers, opts.ray_address)  # checks the options
        check_memory(memory_need(experiment, opts, whole=reporter is not None),
                     f"this experiment ({len(experiment.runs)} "
                     f"run config(s) × {experiment.seeds} seed(s), on "
                     f"{_concurrent(experiment, opts)} worker(s))")
        out = Path(out)
        store = Store(out, experiment, force_new=opts.force_new)
    for w in noted:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    try:
        failed = store.failed()
        skip = store.done_keys() | (set() if opts.retry_failed else set(failed))
        units = [(run, seeds[i:i + opts.chunk]) for run in experiment.runs
                 for seeds in [[s for s in range(experiment.seeds)
                                if cell_key(run, s) not in skip]]
                 for i in range(0, len(seeds), opts.chunk)]
        with tqdm(total=sum(len(s) for _, s in units), desc=experiment.name, unit="cell",
                  file=sys.stderr, disable=opts.quiet or quiet, delay=1.0) as bar:
            stored = 0

            def within(cells: float) -> None:
                """The unit in flight is ``cells`` cells along: the bar moves in long
                cells too."""
                bar.n = round(stored + cells, 1)
                bar.refresh()

            def committed(cells: int) -> None:
                nonlocal stored
                stored += cells
                bar.n = stored
                bar.refresh()
                _test_signal(stored)

            _store_units(store, execute_units(units, opts.backend, opts.workers,
                                              opts.ray_address,
                                              progress=None if bar.disable else within),
                         committed)
        failed, any_done = store.failed(), bool(store.done_keys())
    finally:
        store.close()
    # pandas, the analysis and matplotlib, imported once the cells are stored: a command
    # refused or interrupted before then has not waited for them
    import pandas as pd

    from dynaq.experiments.outputs import write_outputs

    summary = write_outputs(experiment, out, reporter) if any_done else pd.DataFrame()
    if failed:
        raise FailedCells(failed)
    return summary


def _store_units(store: Store, results: Iterator[UnitResult],
                 committed: Callable[[int], None]) -> None:
    """Store each unit's results as they come, in a thread of the store's own: SQLite
    writes one unit to the disk (releasing the GIL) while the kernels compute the next.

    ``committed`` hears how many cells each unit stored, once its transaction is
    committed. Whatever stops the loop (an error, Ctrl-C) waits for the unit being
    written, so an interrupted run keeps every unit it finished.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="dynaq-store") as writer:
        pending: Future[int] | None = None
        for result in results:
            if pending is not None:
                committed(pending.result())
            pending = writer.submit(_write, store, result)
        if pending is not None:
            committed(pending.result())


def _write(store: Store, result: UnitResult) -> int:
    store.write(result.cells, result.failures)
    return len(result.cells) + len(result.failures)


def memory_need(experiment: Experiment, options: Options | None = None,
                whole: bool = False) -> int:
    """About how many bytes running ``experiment`` needs at its peak: the units of work in
    flight at once (:func:`~dynaq.experiments.runner.memory_estimate`), and the results
    the outputs are computed from: those of its largest run config, as the default
    outputs read them one config at a time, or with ``whole`` (a reproduction's own
    reporter, which reads every row at once) those of all its configs (about 11 bytes per
    value were measured on pandas 3: 370 per row of 35 columns; 12 are counted).

    Raises:
        ConfigError: For an env that cannot be made.
    """
    opts = options or Options()
    cells = min(opts.chunk, experiment.seeds)
    needs = [memory_estimate(run, cells) for run in experiment.runs]
    unit = max(need.unit_bytes for need in needs)
    rows = experiment.seeds * (sum if whole else max)(need.episodes for need in needs)
    row_bytes = 12 * (len(RunConfig.columns()) + N_FIELDS + 2)  # + seed, episode
    return unit * _concurrent(experiment, opts) + rows * row_bytes


def _concurrent(experiment: Experiment, opts: Options) -> int:
    """How many units of work run at once: one in the driver's own process (which spreads
    a unit's seeds over the cores), else a worker's each."""
    if opts.backend == "serial":
        return 1
    units = len(experiment.runs) * -(-experiment.seeds // opts.chunk)
    return min(units, opts.workers or os.cpu_count() or 1)


def _test_signal(stored: int) -> None:
    """The hook of :data:`TEST_SIGNAL_ENV`."""
    spec = os.environ.get(TEST_SIGNAL_ENV)
    if spec:
        n, name = spec.split(":")
        if stored >= int(n):
            # raise_signal, not os.kill: the handler runs before it returns (SIGINT's
            # KeyboardInterrupt is raised right here), whichever thread the OS would pick.
            signal.raise_signal(signal.Signals[name])
