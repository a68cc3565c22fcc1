"""The outputs of a results directory, which the driver writes once its cells are stored:
``config.toml``, ``summary.csv``, ``summary.md`` and the plots; and those of a computed
table (a reproduction that is not a set of learning runs).

The driver imports this module (pandas, the analysis, matplotlib: most of a second) once
its cells are stored, not before they run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

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
from dynaq.experiments.config import Experiment
from dynaq.experiments.store import load_results, make_output_dir, results_by_config

Reporter = Callable[[pd.DataFrame, pd.DataFrame, Path], str]
"""Writes an experiment's plots from (results, summary, out) and returns Markdown notes."""


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
