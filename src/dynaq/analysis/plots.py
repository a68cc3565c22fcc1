"""Plots of learning curves with 95% bootstrap CI bands."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from dynaq.analysis.stats import curve


def plot_curves(df: pd.DataFrame, path: str | Path, y: str = "steps", x: str = "episode",
                first: int = 1, logy: bool = False, ylabel: str | None = None,
                title: str | None = None, hline: tuple[float, str] | None = None) -> Path:
    """Mean ``y`` against ``x``, one line per config (labelled by agent and k), CI bands.

    Args:
        df: Results as from :func:`dynaq.load_results`.
        path: Where to write the PNG (atomically).
        y: Column to average over seeds.
        x: Column on the horizontal axis.
        first: Smallest ``x`` shown (Figure 8.2 starts at episode 2).
        logy: Logarithmic vertical axis.
        ylabel: Vertical axis label (default: ``y``).
        title: Figure title (default: the env).
        hline: An optional reference line ``(value, label)``.

    Returns:
        The path written.
    """
    import matplotlib  # imported here so that `import dynaq` stays light

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    data = curve(df, y=y, x=x)
    data = data[data[x] >= first]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (agent, k), part in data.groupby(["agent", "planning_steps"], sort=True):
        label = f"{agent}, k = {k}" if agent != "q-learning" else "q-learning"
        (line,) = ax.plot(part[x], part["mean"], label=label, lw=1.5)
        ax.fill_between(part[x], part["lo"], part["hi"], color=line.get_color(), alpha=0.2,
                        lw=0)
    if hline is not None:
        ax.axhline(hline[0], color="grey", ls="--", lw=1, label=hline[1])
    if logy:
        ax.set_yscale("log")
    seeds = df["seed"].nunique()
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(ylabel or y.replace("_", " "))
    ax.set_title(title or f"{df['env'].iloc[0]}: mean over {seeds} seeds, 95% bootstrap CI")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return path
