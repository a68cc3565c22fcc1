"""Where cells run: in the driver (``serial``), in a process pool (``process``) or as Ray
tasks (``ray``). Workers only compute and return; the driver alone writes.

Work goes out in units of one run config and a chunk of its seeds, so that small cells do
not drown in overhead: the compiled runner does a whole chunk in one call. Every seed owns
its random streams, so a cell's numbers do not depend on the backend, the number of
workers or how seeds were chunked.
"""

from __future__ import annotations

import signal
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

from dynaq.errors import ConfigError
from dynaq.experiments.config import RunConfig, cell_key
from dynaq.experiments.runner import CellResult, Progress, run_cells

BACKENDS = ("serial", "process", "ray")


@dataclass(frozen=True)
class Failure:
    """A cell that raised: its error line and traceback."""

    run: RunConfig
    seed: int
    error: str
    traceback: str

    @property
    def key(self) -> str:
        """The failed cell's key."""
        return cell_key(self.run, self.seed)


@dataclass(frozen=True)
class UnitResult:
    """What one unit of work returned: finished cells and failed ones."""

    cells: list[CellResult]
    failures: list[Failure] = field(default_factory=list)


Unit = tuple[RunConfig, list[int]]
"""One run config and some of its seeds."""


def compute(unit: Unit, progress: Progress | None = None) -> UnitResult:
    """Run a unit (``progress``: see :func:`~dynaq.experiments.runner.run_cells`). If the
    chunk raises, each seed runs alone, so that only the cells that fail are lost, each
    recorded with its own error."""
    run, seeds = unit
    try:
        return UnitResult(run_cells(run, seeds, progress))
    except Exception:  # noqa: BLE001 (any error of a cell is recorded, not raised)
        if len(seeds) == 1:
            return UnitResult([], [_failure(run, seeds[0])])
    cells, failures = [], []
    for seed in seeds:
        try:
            cells += run_cells(run, [seed])
        except Exception:  # noqa: BLE001
            failures.append(_failure(run, seed))
    return UnitResult(cells, failures)


def _failure(run: RunConfig, seed: int) -> Failure:
    import sys

    err = sys.exc_info()[1]
    return Failure(run, seed, f"{type(err).__name__}: {err}", traceback.format_exc())


def execute_units(units: Sequence[Unit], backend: str = "serial", workers: int | None = None,
                  ray_address: str | None = None, progress: Progress | None = None
                  ) -> Iterator[UnitResult]:
    """Run units on a backend and yield their results as they finish (in any order).

    Closing the iterator early (an exception or Ctrl-C in the consumer) cancels the units
    not yet started. ``progress`` hears how far the unit in flight is (see
    :func:`~dynaq.experiments.runner.run_cells`); only the serial backend, which runs one
    unit at a time in this process, tells it.

    Raises:
        ConfigError: For an unknown backend, a bad worker count, or Ray missing.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")
    if ray_address is not None and backend != "ray":
        raise ConfigError("ray_address needs backend ray")
    if backend == "serial":
        return (compute(unit, progress) for unit in units)
    if backend == "process":
        return _process(units, workers)
    return _ray(units, workers, ray_address)


def _worker_init() -> None:
    """Process-pool workers leave Ctrl-C to the driver (which cancels the pending work)
    and run one thread each: the pool is the parallelism."""
    import numba

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    numba.set_num_threads(1)


def _process(units: Sequence[Unit], workers: int | None) -> Iterator[UnitResult]:
    import os

    n = workers or os.cpu_count() or 1
    # spawn, not fork: the driver may already run numba's thread pool, which fork breaks.
    with ProcessPoolExecutor(n, mp_context=get_context("spawn"),
                             initializer=_worker_init) as pool:
        pending: set[Future[UnitResult]] = {pool.submit(compute, u) for u in units}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()


def _ray(units: Sequence[Unit], workers: int | None,
         address: str | None) -> Iterator[UnitResult]:
    ray = _import_ray()
    if not ray.is_initialized():
        if address is None:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    task = ray.remote(num_cpus=1)(_ray_compute)
    pending = [task.remote(u) for u in units]
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield ray.get(ref)
    finally:
        for ref in pending:
            ray.cancel(ref)


def _ray_compute(unit: Unit) -> UnitResult:
    """A Ray task: one thread, since Ray already spreads tasks over the cores."""
    import numba

    numba.set_num_threads(1)
    return compute(unit)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("backend ray needs the ray extra: pip install 'dynaq[ray]'"
                          ) from None
    return ray
