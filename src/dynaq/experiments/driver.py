"""The driver: validate, run the missing cells, store them, write the outputs.

It is the only code that writes to an output directory (DESIGN.md rule 5).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from dynaq.analysis.plots import plot_curves
from dynaq.analysis.report import write_summary, write_text
from dynaq.analysis.stats import summarize
from dynaq.errors import ConfigError
from dynaq.experiments.config import Experiment, cell_key
from dynaq.experiments.runner import run_cells, validate
from dynaq.experiments.store import Store, load_results

CHUNK = 64
"""Seeds per compiled call: enough to keep both cores busy, small enough for a live bar."""

Reporter = Callable[[pd.DataFrame, pd.DataFrame, Path], str]
"""Writes an experiment's plots from (results, summary, out) and returns Markdown notes."""


def execute(experiment: Experiment, out: str | Path, quiet: bool = False,
            reporter: Reporter | None = None) -> pd.DataFrame:
    """Run every cell of ``experiment`` not yet stored in ``out``, then write the outputs.

    Everything is validated before the directory is touched. Each finished chunk of cells
    is committed at once, so an interrupted run loses only the chunk in flight and
    re-running the same command resumes it.

    Args:
        experiment: What to run.
        out: The output directory (created if missing).
        quiet: No progress bar.
        reporter: Writes plots and returns notes for ``summary.md``; the default draws
            ``curves.png`` (steps per episode).

    Returns:
        The summary table (as written to ``summary.csv``).

    Raises:
        ConfigError: On any invalid input, before anything is written.
    """
    for run in experiment.runs:
        validate(run)
    out = Path(out)
    store = Store(out, experiment)
    try:
        done = store.done_keys()
        todo = [(run, [s for s in range(experiment.seeds) if cell_key(run, s) not in done])
                for run in experiment.runs]
        total = sum(len(seeds) for _, seeds in todo)
        with tqdm(total=total, desc=experiment.name, unit="cell", file=sys.stderr,
                  disable=quiet, delay=1.0) as bar:
            for run, seeds in todo:
                for i in range(0, len(seeds), CHUNK):
                    chunk = seeds[i:i + CHUNK]
                    store.write(run_cells(run, chunk))
                    bar.update(len(chunk))
    finally:
        store.close()
    return write_outputs(experiment, out, reporter)


def write_outputs(experiment: Experiment, out: Path,
                  reporter: Reporter | None = None) -> pd.DataFrame:
    """Write ``config.toml``, ``summary.csv``, ``summary.md`` and the plots of ``out``."""
    df = load_results(out)
    summary = summarize(df)
    write_text(out / "config.toml", experiment.to_toml())
    notes = (reporter or default_report)(df, summary, out)
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
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "results.csv", table.to_csv(index=False))
    notes = reporter(table, table, out)
    write_text(out / "summary.md", f"# dynaq: {name}\n\n{notes.strip()}\n")
    return table


_TABLE_OUTPUTS = {"results.csv", "summary.md"}


def default_report(df: pd.DataFrame, summary: pd.DataFrame, out: Path) -> str:
    """``curves.png``: mean steps per episode, one line per config."""
    first = 2 if df["episode"].max() >= 10 else 1
    plot_curves(df, out / "curves.png", y="steps", first=first, ylabel="steps per episode")
    return ("![steps per episode](curves.png)\n\n"
            + ("Episode 1 is left out of the plot, as in Sutton & Barto Figure 8.2.\n"
               if first == 2 else ""))
