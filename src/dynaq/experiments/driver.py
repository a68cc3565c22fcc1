"""The driver: validate, run the missing cells, store them, write the outputs.

It is the only code that writes to an output directory.
"""

from __future__ import annotations

import importlib
import math
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from dynaq.analysis.plots import curve_title, plot_bands, step_axis
from dynaq.analysis.report import metric_label, outcome_metrics, write_summary, write_text
from dynaq.analysis.stats import (
    config_groups,
    curve,
    step_curve,
    summarize,
    summary_rows,
    varying_columns,
)
from dynaq.errors import ConfigError
from dynaq.experiments.backends import execute_units
from dynaq.experiments.config import Experiment, RunConfig, cell_key
from dynaq.experiments.runner import memory_estimate, validate
from dynaq.experiments.store import Store, load_results, make_output_dir, results_by_config
from dynaq.limits import check_memory
from dynaq.records import N_FIELDS

CHUNK = 64
"""Seeds per unit of work (one compiled call): enough to keep the cores busy, few enough
for a live progress bar and little lost to an interruption."""

TEST_SIGNAL_ENV = "DYNAQ_TEST_SIGNAL"
"""Test hook, for the kill and Ctrl-C tests: set to ``"N:SIGNAME"`` (``"3:SIGKILL"``,
``"2:SIGINT"``), it makes :func:`execute` raise that signal in its own process as soon as
N cells have been stored, so those tests need no sleeps nor timing."""

Reporter = Callable[[pd.DataFrame, pd.DataFrame, Path], str]
"""Writes an experiment's plots from (results, summary, out) and returns Markdown notes."""


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
            ``steps_per_episode.png`` (see :func:`default_report`).
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
        check_memory(memory_need(experiment, opts), f"this experiment ({len(experiment.runs)} "
                     f"run config(s) × {experiment.seeds} seed(s), on "
                     f"{_concurrent(experiment, opts)} worker(s))")
        out = Path(out)
        store = Store(out, experiment, force_new=opts.force_new)
    for w in noted:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    plotting = None
    try:
        failed = store.failed()
        skip = store.done_keys() | (set() if opts.retry_failed else set(failed))
        units = [(run, seeds[i:i + opts.chunk]) for run in experiment.runs
                 for seeds in [[s for s in range(experiment.seeds)
                                if cell_key(run, s) not in skip]]
                 for i in range(0, len(seeds), opts.chunk)]
        plotting = _import_meanwhile(_PLOTTING) if units else None
        with tqdm(total=sum(len(s) for _, s in units), desc=experiment.name, unit="cell",
                  file=sys.stderr, disable=opts.quiet or quiet, delay=1.0) as bar:
            stored = 0

            def within(cells: float) -> None:
                """The unit in flight is ``cells`` cells along: the bar moves in long
                cells too."""
                bar.n = round(stored + cells, 1)
                bar.refresh()

            for result in execute_units(units, opts.backend, opts.workers, opts.ray_address,
                                        progress=None if bar.disable else within):
                store.write(result.cells, result.failures)
                stored += len(result.cells) + len(result.failures)
                bar.n = stored
                bar.refresh()
                _test_signal(stored)
        failed, any_done = store.failed(), bool(store.done_keys())
    finally:
        store.close()
        if plotting is not None:
            plotting.join()
    summary = write_outputs(experiment, out, reporter) if any_done else pd.DataFrame()
    if failed:
        raise FailedCells(failed)
    return summary


_PLOTTING = ("matplotlib.figure", "matplotlib.backends.backend_agg")
"""What the plots of the outputs import: a third of a second, spent while the cells run."""


def _import_meanwhile(modules: tuple[str, ...]) -> threading.Thread:
    """Import ``modules`` in a thread, started now: the kernels run without the GIL, so the
    import goes on beside them instead of after them (Python's import lock makes a later
    import of the same modules wait for this one). A module that cannot be imported is
    left for that later import to report."""
    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except ImportError:
                return

    thread = threading.Thread(target=run, name="dynaq-imports", daemon=True)
    thread.start()
    return thread


def memory_need(experiment: Experiment, options: Options | None = None) -> int:
    """About how many bytes running ``experiment`` needs at its peak: the units of work in
    flight at once (:func:`~dynaq.experiments.runner.memory_estimate`), and the results
    of its largest run config, from which the outputs are computed one config at a time
    (about 11 bytes per value were measured on pandas 3: 370 per row of 35 columns; 12 are
    counted).

    Raises:
        ConfigError: For an env that cannot be made.
    """
    opts = options or Options()
    cells = min(opts.chunk, experiment.seeds)
    needs = [memory_estimate(run, cells) for run in experiment.runs]
    unit = max(need.unit_bytes for need in needs)
    rows = experiment.seeds * max(need.episodes for need in needs)
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


def write_outputs(experiment: Experiment, out: Path, reporter: Reporter | None = None
                  ) -> pd.DataFrame:
    """Write ``config.toml``, ``summary.csv``, ``summary.md`` and the plots of ``out`` from
    its stored results: for the default report one run config at a time
    (:func:`~dynaq.experiments.store.results_by_config`: a sweep of 10^7 episodes is
    summarised in the memory of its largest config), for a reproduction's own reporter
    from the frame of :func:`~dynaq.experiments.store.load_results`."""
    write_text(out / "config.toml", experiment.to_toml())
    if reporter is None:
        summary, notes = _default_outputs(lambda: results_by_config(out), out)
    else:
        df = load_results(out)
        summary = summarize(df)
        notes = reporter(df, summary, out)
    write_summary(summary, out, f"dynaq: {experiment.name}", notes)
    return summary


def execute_table(name: str, table: pd.DataFrame, out: str | Path,
                  reporter: Reporter) -> pd.DataFrame:
    """Write a computed results table (a reproduction that is not a set of learning runs):
    ``results.csv``, the reporter's plots and ``summary.md`` with its notes.

    Raises:
        ConfigError: If ``out`` holds something else.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(
            p.name not in _TABLE_OUTPUTS and not p.name.endswith(".png")
            for p in out.iterdir())):
        raise ConfigError(f"out: {out} is not an empty directory nor a previous {name} "
                          "output; choose another")
    make_output_dir(out)
    write_text(out / "results.csv", table.to_csv(index=False))
    notes = reporter(table, table, out)
    write_text(out / "summary.md", f"# dynaq: {name}\n\n{notes.strip()}\n")
    return table


_TABLE_OUTPUTS = {"results.csv", "summary.md"}


def default_report(df: pd.DataFrame, summary: pd.DataFrame, out: Path) -> str:
    """The plots of a plain run: ``steps_per_episode.png`` (mean steps per episode, one line
    per config); ``cumulative_reward.png`` for runs of a number of real steps (Sutton &
    Barto Figures 8.4-8.5's measure); ``return.png`` where the summary shows returns (no
    exact model, or a stochastic world: see
    :func:`~dynaq.analysis.report.outcome_metrics`). They are those of
    :func:`~dynaq.analysis.plots.plot_curves`, :func:`~dynaq.analysis.plots.plot_metric`
    and :func:`~dynaq.analysis.plots.plot_cumulative_reward` of ``df``, computed config by
    config."""
    return _default_outputs(lambda: [df.iloc[rows] for _, rows in config_groups(df)], out,
                            summary)[1]


def _default_outputs(frames: Callable[[], Iterable[pd.DataFrame]], out: Path,
                     summary: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str]:
    """The summary (unless given) and :func:`default_report`'s plots and notes, from results
    that ``frames()`` gives one run config per frame, in the order of the results (called
    once more for the plots of returns, if the summary shows returns)."""
    rows, steps, envs, seeds, last = [], [], {}, set(), 0
    for frame in frames():
        if summary is None:
            rows += summary_rows(frame)
        steps.append(curve(frame, y="steps"))
        envs.update(dict.fromkeys(frame["env"].unique()))
        seeds.update(frame["seed"].unique().tolist())
        last = max(last, int(frame["episode"].max()))
    summary = pd.DataFrame(rows) if summary is None else summary
    varying, title = varying_columns(summary), curve_title(list(envs), len(seeds))
    first = 2 if last >= 10 else 1
    plot_bands(pd.concat(steps, ignore_index=True), out / "steps_per_episode.png",
               first=first, varying=varying, title=title, ylabel="steps per episode")
    notes = ["![steps per episode](steps_per_episode.png)", ""]
    if first == 2:
        # the first episode's length is how long an agent that knows nothing wanders
        book = ", as in Sutton & Barto Figure 8.2" if set(envs) <= {"dynaq/DynaMaze-v0"} else ""
        notes += [f"Episode 1 is left out of the plot{book}: an agent that knows nothing yet "
                  "wanders about as long whatever it plans, and its length would set the "
                  "scale.", ""]
    shown = outcome_metrics(summary)
    if "total_return" in shown or "mean_return" in shown:
        notes += _return_plots(frames(), shown, step_axis(summary), out,
                               dict(varying=varying, title=title))
    return summary, "\n".join(notes)


def _return_plots(frames: Iterable[pd.DataFrame], shown: tuple[str, ...], x: str, out: Path,
                  common: dict) -> list[str]:
    """The plots of returns the summary shows (``shown``, of
    :func:`~dynaq.analysis.report.outcome_metrics`), as
    :func:`~dynaq.analysis.plots.plot_cumulative_reward` and
    :func:`~dynaq.analysis.plots.plot_metric` of the whole results draw them, and their
    notes; ``x`` is the results' :func:`~dynaq.analysis.plots.step_axis`."""
    cumulative, per_episode, low, high = [], [], math.inf, -math.inf
    for frame in frames:
        if "total_return" in shown:
            cumulative.append(step_curve(frame, y="return", cumulative=True, points=400))
        if "mean_return" in shown:
            per_episode.append(step_curve(frame, y="return", points=400) if x == "env_steps"
                               else curve(frame, y="return"))
            low, high = min(low, frame["return"].min()), max(high, frame["return"].max())
    notes = []
    if cumulative:
        plot_bands(pd.concat(cumulative, ignore_index=True), out / "cumulative_reward.png",
                   x="env_steps", first=0, ylabel="cumulative reward", **common)
        notes += ["![cumulative reward](cumulative_reward.png)", ""]
    if per_episode:
        # as plot_metric: logarithmic where the returns, all positive, span two decades
        plot_bands(pd.concat(per_episode, ignore_index=True), out / "return.png", x=x,
                   logy=bool(low > 0 and high > 100 * low), ylabel=metric_label("return"),
                   **common)
        notes += ["![return per episode](return.png)", ""]
    return notes
