"""Plots: learning curves with 95% bootstrap CI bands per episode and per real step,
cumulative reward, a metric against the planning steps k, and value-function heatmaps.

matplotlib is imported inside the functions (so that ``import dynaq`` stays light) with the
Agg backend (files only, no display); every file is written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaq.analysis.compare import HIGHER_IS_BETTER, compare, group_columns, task_scores
from dynaq.analysis.report import metric_label
from dynaq.analysis.stats import (
    config_groups,
    curve,
    per_seed,
    performance_profile,
    step_curve,
    varying_columns,
)
from dynaq.errors import ConfigError
from dynaq.experiments.config import uses
from dynaq.records import STORED_NAMES


class figures:  # noqa: N801 (used as a module would be: ``figures.subplots(...)``)
    """Figures drawn on Agg canvases, as ``matplotlib.pyplot.subplots`` makes them but
    without importing pyplot (a tenth of a small reproduction's wall time) and without its
    registry of open figures, so nothing needs closing and no window can open."""

    @staticmethod
    def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None,
                 **kwargs: Any) -> tuple[Any, Any]:
        """``(figure, axes)`` as ``pyplot.subplots``; ``kwargs`` go to
        ``Figure.subplots`` (``squeeze``, ``sharex``, ...)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize)
        FigureCanvasAgg(fig)
        return fig, fig.subplots(nrows, ncols, **kwargs)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix, so writers that go by the suffix
    pick the right format), moved onto ``path`` only once it is completely written."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_figure(fig: Any, path: str | Path, dpi: int = 110) -> Path:
    """Save ``fig`` atomically to ``path`` (format from its suffix); a PNG is compressed
    lightly (zlib level 1: a curve plot's file a tenth larger, its save 5 ms quicker)."""
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    # tight_layout leaves this marker engine, which makes savefig draw the figure twice
    # (a dry run for layout engines); it lays nothing out, so the drawing is the same
    if isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
        fig.set_layout_engine(None)
    png = Path(path).suffix.lower() == ".png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, **({"pil_kwargs": {"compress_level": 1}} if png else {}))
    return Path(path)


def config_label(config: dict, varying: Sequence[str]) -> str:
    """A legend label for a config: agent, k, and the other config columns that vary and
    that its agent uses (no kappa beside a Dyna-Q line)."""
    agent = config.get("agent", "")
    parts = [str(agent)]
    if agent != "q-learning" and "planning_steps" in config:
        parts.append(f"k = {config['planning_steps']}")
    parts += [f"{c} = {config[c]}" for c in varying
              if c not in ("agent", "planning_steps") and uses(agent, c)]
    return ", ".join(p for p in parts if p)


CURVE_CAPTION = "mean over {n} seeds, 95% bootstrap CI"
"""What a curve plot's default title says after its envs (``{n}``: the seeds)."""


def curve_title(envs: Sequence[str], seeds: int, what: str = CURVE_CAPTION) -> str:
    """A plot title: the envs (in order of first appearance in the results), then ``what``
    with ``{n}`` the number of seeds."""
    return f"{', '.join(map(str, envs))}: {what.format(n=seeds)}"


def _title(df: pd.DataFrame, what: str = CURVE_CAPTION) -> str:
    return curve_title(df["env"].unique(), df["seed"].nunique(), what)


def plot_bands(data: pd.DataFrame, path: str | Path, *, title: str, ylabel: str,
               x: str = "episode", varying: Sequence[str] = (), first: float = 1,
               logy: bool = False, hline: tuple[float, str] | None = None,
               vline: tuple[float, str] | None = None) -> Path:
    """Draw curve tables: one line per config with its 95% CI band, as
    :func:`plot_curves` draws them from results, but from the curves alone.

    A sweep too large to hold at once can be drawn config by config: computing
    :func:`~dynaq.analysis.stats.curve` (or :func:`~dynaq.analysis.stats.step_curve`) of
    each config's results alone and concatenating the tables gives the table of all the
    results, and so this function draws what :func:`plot_curves` would::

        data = pd.concat([curve(part) for part in parts], ignore_index=True)
        plot_bands(data, path, x="episode", varying=varying, first=2,
                   title=curve_title(envs, seeds), ylabel="steps per episode")

    Args:
        data: Curves as from :func:`~dynaq.analysis.stats.curve` or
            :func:`~dynaq.analysis.stats.step_curve`: columns ``x``, ``mean``, ``lo``,
            ``hi`` and the config columns, any number of configs in any order. Lines are
            drawn (and coloured) in the order of their configs' values.
        path: Where to write the PNG (atomically).
        title: Figure title, e.g. :func:`curve_title` of the envs and the number of seeds.
        ylabel: Vertical axis label.
        x: Column on the horizontal axis (``episode``, or ``env_steps`` for step curves).
        varying: The config columns that vary across all the results (as
            :func:`~dynaq.analysis.stats.varying_columns` of them): the legend names those
            that each line's agent uses, besides the agent and k.
        first: Smallest ``x`` shown (Figure 8.2 starts at episode 2).
        logy: Logarithmic vertical axis.
        hline: An optional horizontal reference line ``(value, label)``.
        vline: An optional vertical reference line ``(value, label)``, e.g. when the
            world changes.

    Returns:
        The path written.
    """
    fig, ax = figures.subplots(figsize=(7, 4.5))
    shown = data[x].to_numpy() >= first
    xs, mean, lo, hi = (data[c].to_numpy() for c in (x, "mean", "lo", "hi"))
    for config, rows in config_groups(data, sort=True):
        rows = rows[shown[rows]]
        if len(rows):
            (line,) = ax.plot(xs[rows], mean[rows], label=config_label(config, varying),
                              lw=1.5)
            ax.fill_between(xs[rows], lo[rows], hi[rows], color=line.get_color(),
                            alpha=0.2, lw=0)
    for line, draw in ((hline, ax.axhline), (vline, ax.axvline)):
        if line is not None:
            draw(line[0], color="grey", ls="--", lw=1, label=line[1])
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_curves(df: pd.DataFrame, path: str | Path, y: str = "steps", x: str = "episode",
                first: int = 1, logy: bool = False, ylabel: str | None = None,
                title: str | None = None, hline: tuple[float, str] | None = None,
                vline: tuple[float, str] | None = None, cumulative: bool = False) -> Path:
    """Mean ``y`` against ``x``, one line per config (labelled by agent, k and the other
    config columns that vary), with 95% bootstrap CI bands (the curves drawn by
    :func:`plot_bands`).

    Args:
        df: Results as from :func:`dynaq.load_results`.
        path: Where to write the PNG (atomically).
        y: Column to average over seeds.
        x: Column on the horizontal axis; ``env_steps`` puts every seed on a common grid
            of real steps (see :func:`~dynaq.analysis.stats.step_curve`).
        first: Smallest ``x`` shown (Figure 8.2 starts at episode 2).
        logy: Logarithmic vertical axis.
        ylabel: Vertical axis label (default: ``y``).
        title: Figure title (default: the env).
        hline: An optional horizontal reference line ``(value, label)``.
        vline: An optional vertical reference line ``(value, label)``, e.g. when the
            world changes.
        cumulative: With ``x="env_steps"``: plot the running sum of ``y``.

    Returns:
        The path written.
    """
    return plot_curves_by_config([df], path, y=y, x=x, first=first, logy=logy, ylabel=ylabel,
                                 title=title, hline=hline, vline=vline, cumulative=cumulative)


def plot_curves_by_config(frames: Iterable[pd.DataFrame], path: str | Path, y: str = "steps",
                          x: str = "episode", first: int = 1, logy: bool = False,
                          ylabel: str | None = None, title: str | None = None,
                          hline: tuple[float, str] | None = None,
                          vline: tuple[float, str] | None = None,
                          cumulative: bool = False) -> Path:
    """:func:`plot_curves` of results given a run config (or more) per frame, frame after
    frame, in their order (:func:`~dynaq.experiments.store.results_by_config`): the same
    plot, with only one frame in memory at a time (a config's curves are its own; the
    legend and the title need only each config's first row, its envs and its seeds).

    Args:
        frames: Results as from :func:`dynaq.load_results`, in parts.
        path: As for :func:`plot_curves`, and so are the others.
        y: As for :func:`plot_curves`.
        x: As for :func:`plot_curves`.
        first: As for :func:`plot_curves`.
        logy: As for :func:`plot_curves`.
        ylabel: As for :func:`plot_curves`.
        title: As for :func:`plot_curves`.
        hline: As for :func:`plot_curves`.
        vline: As for :func:`plot_curves`.
        cumulative: As for :func:`plot_curves`.

    Returns:
        The path written.
    """
    if cumulative and x != "env_steps":
        raise ConfigError(f"cumulative needs x='env_steps', got x={x!r}")
    curves, heads, envs, seeds = [], [], {}, set()
    for frame in frames:
        curves.append(step_curve(frame, y=y, cumulative=cumulative, points=400)
                      if x == "env_steps" else curve(frame, y=y, x=x))
        heads.append(_heads(frame))
        envs.update(dict.fromkeys(frame["env"].unique()))
        seeds.update(frame["seed"].unique().tolist())
    return plot_bands(pd.concat(curves, ignore_index=True), path, x=x,
                      varying=varying_columns(pd.concat(heads)), first=first, logy=logy,
                      ylabel=ylabel or y.replace("_", " "),
                      title=title or curve_title(list(envs), len(seeds)), hline=hline,
                      vline=vline)


def _heads(df: pd.DataFrame) -> pd.DataFrame:
    """The first row of each config of ``df``, in order of first appearance: the values
    each config column takes, in the dtypes of ``df`` (what :func:`varying_columns` and
    :func:`step_axis` read)."""
    return df.iloc[[rows[0] for _, rows in config_groups(df)]]


def results_extent(frames: Iterable[pd.DataFrame], metric: str
                   ) -> tuple[pd.DataFrame, list[str], tuple[float, float]]:
    """What a plot of the results reads of them all before it draws, from the results given
    a run config (or more) per frame, frame after frame.

    Args:
        frames: Results as from :func:`dynaq.load_results`, in parts.
        metric: A per-episode column.

    Returns:
        The first row of each config (its config columns' values, in the results' dtypes),
        :func:`plottable_metrics` of all the results, and the smallest and largest value of
        ``metric`` (NaN where it has none).
    """
    heads, plottable, low, high = [], set(), np.nan, np.nan
    for frame in frames:
        heads.append(_heads(frame))
        plottable.update(plottable_metrics(frame))
        if metric in frame:
            values = frame[metric].astype(float)
            low, high = np.fmin(low, values.min()), np.fmax(high, values.max())
    return (pd.concat(heads) if heads else pd.DataFrame(),
            [c for c in STORED_NAMES if c in plottable], (float(low), float(high)))


def step_axis(df: pd.DataFrame) -> str:
    """The horizontal axis of a results frame's curves: ``env_steps`` when every run had a
    budget of real steps (``--steps``: episodes then differ in number across seeds), else
    ``episode``."""
    steps = df["total_steps"] if "total_steps" in df else pd.Series(dtype=float)
    return "env_steps" if len(steps) and steps.notna().all() else "episode"


def plottable_metrics(df: pd.DataFrame) -> list[str]:
    """The per-episode columns of a results frame that :func:`plot_metric` can draw: the
    stored numeric ones (booleans as fractions of seeds) with at least one value."""
    return [c for c in STORED_NAMES if c != "episode" and c in df
            and df[c].astype(float).notna().any()]


def plot_metric(df: pd.DataFrame, metric: str, path: str | Path) -> Path:
    """A per-episode column's mean over seeds with 95% bootstrap CI bands, one line per
    config, against the episode, or against real steps for runs of a number of real steps
    (see :func:`step_axis`); logarithmic where the values span more than two decades.

    Args:
        df: Results as from :func:`dynaq.load_results`.
        metric: One of :func:`plottable_metrics` (``steps``, ``return``, ``value_error``, …).
        path: Where to write the PNG.

    Returns:
        The path written.

    Raises:
        ConfigError: If ``metric`` is not one of them.
    """
    return plot_metric_by_config(lambda: [df], metric, path)


def plot_metric_by_config(frames: Callable[[], Iterable[pd.DataFrame]], metric: str,
                          path: str | Path) -> Path:
    """:func:`plot_metric` of results given a run config (or more) per frame, frame after
    frame (:func:`~dynaq.experiments.store.results_by_config`): the same plot, with only
    one frame in memory at a time.

    Args:
        frames: Gives the results as from :func:`dynaq.load_results`, in parts; called
            twice (what to draw, then the curves).
        metric: As for :func:`plot_metric`.
        path: As for :func:`plot_metric`.

    Returns:
        The path written.

    Raises:
        ConfigError: As :func:`plot_metric`.
    """
    heads, allowed, (low, high) = results_extent(frames(), metric)
    if metric not in allowed:
        raise ConfigError(f"metric must be one of {', '.join(allowed)} (the columns of these "
                          f"results with values); got {metric!r}")
    # logarithmic where the values, all positive, span more than two decades
    logy = bool(low > 0 and high > 100 * low)
    return plot_curves_by_config((frame.assign(**{metric: frame[metric].astype(float)})
                                  for frame in frames()), path, y=metric, x=step_axis(heads),
                                 logy=logy, ylabel=metric_label(metric))


def plot_cumulative_reward(df: pd.DataFrame, path: str | Path, title: str | None = None,
                           change_at: float | None = None) -> Path:
    """Cumulative reward against real steps with CI bands (Sutton & Barto Figures 8.4 and
    8.5, the blocking and shortcut mazes).

    Args:
        df: Results as from :func:`dynaq.load_results`.
        path: Where to write the PNG.
        title: Figure title (default: the env).
        change_at: The real step at which the world changes, drawn as a dashed line.

    Returns:
        The path written.
    """
    return plot_curves(df, path, y="return", x="env_steps", first=0, cumulative=True,
                       ylabel="cumulative reward", title=title,
                       vline=None if change_at is None else (change_at, "the world changes"))


def plot_metric_vs_k(df: pd.DataFrame, path: str | Path,
                     metrics: Sequence[str] = ("episodes_to_near_optimal_q", "backups"),
                     by: str = "planning_steps", seed: int = 0) -> Path:
    """The speed-versus-cost trade-off: each per-seed metric's IQM with its 95% stratified
    bootstrap CI against ``by`` (k), log scales, one panel per metric.

    Args:
        df: Results as from :func:`dynaq.load_results`.
        path: Where to write the PNG.
        metrics: Columns of :func:`~dynaq.analysis.stats.per_seed`; "to" metrics average
            the seeds that reached them.
        by: A numeric config column.
        seed: Seeds the bootstrap.

    Returns:
        The path written.
    """
    table = compare(df, by, metrics, seed=seed)
    if not pd.api.types.is_numeric_dtype(table[by]):
        raise ConfigError(f"by must be a numeric config column to plot against; got {by!r}")
    others = group_columns(df, by)[1:]
    fig, axes = figures.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        rows = table[(table["metric"] == metric) & table["iqm"].notna()]
        for values, part in rows.groupby(others, dropna=False) if others else [((), rows)]:
            label = ", ".join(f"{c} = {v}" for c, v in zip(others, values, strict=True))
            _error_bars(ax, part, by, label)
        ax.set_xscale("symlog" if (table[by] <= 0).any() else "log", linthresh=1)
        ax.set_yscale("log")
        _plain_ticks(ax, sorted(table[by].unique()))
        ax.set_xlabel(by.replace("_", " ") + (" k" if by == "planning_steps" else ""))
        ax.set_ylabel(f"{metric_label(metric)} (IQM)")
        missing = table.loc[(table["metric"] == metric) & table["iqm"].isna(), by]
        if len(missing):
            ax.set_title(f"no seed reached it at {by} = {', '.join(map(str, missing))}",
                         fontsize=8)
        ax.grid(alpha=0.3, which="both")
        if others:
            ax.legend(frameon=False, fontsize=8)
    fig.suptitle(_title(df, "IQM over {n} seeds, 95% stratified bootstrap CI (n/m: only n "
                        "of m seeds reached it)"), fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def _error_bars(ax: Any, part: pd.DataFrame, by: str, label: str) -> None:
    """IQM points with CI bars, each marked n/m where only n of its m seeds count."""
    err = [part["iqm"] - part["iqm_lo"], part["iqm_hi"] - part["iqm"]]
    ax.errorbar(part[by], part["iqm"], yerr=np.nan_to_num(err), marker="o", capsize=3,
                label=label or None)
    for x, y, n, m in part[[by, "iqm", "reached", "seeds"]].itertuples(index=False):
        if n < m:
            ax.annotate(f"{n}/{m}", (x, y), textcoords="offset points", xytext=(5, 5),
                        fontsize=7)


def _plain_ticks(ax: Any, xticks: list) -> None:
    """Ticks at the given x values, and plain numbers instead of powers of ten."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.set_xticks(xticks)
    ax.xaxis.set_minor_formatter(NullFormatter())
    plain = FuncFormatter(lambda v, _: f"{v:,.10g}")
    ax.xaxis.set_major_formatter(plain)
    ax.yaxis.set_major_formatter(plain)
    # A range within one decade has no major tick: label the minor ticks at 2× and 5×.
    ax.yaxis.set_minor_formatter(FuncFormatter(
        lambda v, _: f"{v:,.10g}" if f"{v:.0e}"[0] in "25" else ""))


def plot_performance_profile(df: pd.DataFrame, path: str | Path,
                             metric: str = "episodes_to_near_optimal_q",
                             by: str = "planning_steps", points: int = 100,
                             seed: int = 0) -> Path:
    """Performance profiles (Agarwal et al. 2021) of a per-seed metric, one line per group
    with its 95% stratified bootstrap band: for a metric where higher is better, the
    fraction of runs scoring above τ; otherwise the fraction scoring at most τ (e.g. the
    fraction of seeds near-optimal within τ episodes; a seed that never got there never
    counts).

    Args:
        df: Results as from :func:`dynaq.load_results`.
        path: Where to write the PNG.
        metric: A column of :func:`~dynaq.analysis.stats.per_seed`.
        by: A config column; groups as in :func:`~dynaq.analysis.compare.compare`.
        points: Thresholds τ, evenly spaced over the observed values.
        seed: Seeds the bootstrap.

    Returns:
        The path written.
    """
    keys = group_columns(df, by)
    seeds = per_seed(df)
    values = seeds[metric].to_numpy(float)
    if np.isnan(values).all():
        raise ConfigError(f"metric {metric} has no value in any run")
    taus = np.linspace(np.nanmin(values), np.nanmax(values), points)
    higher = metric in HIGHER_IS_BETTER
    fig, ax = figures.subplots(figsize=(7, 4.5))
    for key, group in seeds.groupby(keys, dropna=False, sort=True):
        frac, lo, hi = performance_profile(task_scores(group, metric, ranked=True), taus, seed)
        if not higher:  # fraction ≤ τ is one minus the fraction > τ
            frac, lo, hi = 1 - frac, 1 - hi, 1 - lo
        (line,) = ax.plot(taus, frac, label=config_label(dict(zip(keys, key, strict=True)),
                                                         keys), lw=1.5)
        ax.fill_between(taus, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel(f"{metric_label(metric)} τ")
    ax.set_ylabel(f"fraction of runs with score {'>' if higher else '≤'} τ")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(_title(df, "{n} seeds, 95% stratified bootstrap bands"))
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)
