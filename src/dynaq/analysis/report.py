"""Summary tables: ``summary.csv`` and ``summary.md`` of an output directory."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from dynaq.analysis.stats import SUMMARY_METRICS

_HEADERS = {
    "episodes_to_near_optimal_q": "episodes to near-optimal Q",
    "env_steps_to_near_optimal_q": "env steps to near-optimal Q",
    "episodes_to_optimal_policy": "episodes to optimal policy",
    "env_steps_to_optimal_policy": "env steps to optimal policy",
    "backups": "backups",
    "wall_s": "wall s / seed",
}


def fmt_ci(mean: float, lo: float, hi: float) -> str:
    """``mean [lo, hi]`` with sensible rounding; ``–`` when missing."""
    if mean is None or math.isnan(mean):
        return "–"

    def f(v: float) -> str:
        if math.isnan(v):
            return "?"
        if abs(v) >= 1e6:
            return f"{v:.3g}"
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"

    return f"{f(mean)} [{f(lo)}, {f(hi)}]"


def markdown_table(summary: pd.DataFrame, metrics: tuple[str, ...] = SUMMARY_METRICS) -> str:
    """The summary as a Markdown table: one row per config, ``mean [95% CI]`` cells, and the
    number of seeds that reached each "to" metric where not all did."""
    head = ["env", "agent", "k", "seeds", *[_HEADERS.get(m, m) for m in metrics]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, row in summary.iterrows():
        cells = [str(row["env"]), str(row["agent"]), str(row["planning_steps"]),
                 str(row["seeds"])]
        for m in metrics:
            cell = fmt_ci(row[m], row[f"{m}_lo"], row[f"{m}_hi"])
            reached = row.get(f"{m}_reached")
            if reached is not None and reached < row["seeds"]:
                cell += f" ({reached}/{row['seeds']} seeds)"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_text(path: str | Path, text: str) -> Path:
    """Write a file atomically (a reader never sees it half-written)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def write_summary(summary: pd.DataFrame, out: str | Path, title: str,
                  notes: str = "") -> None:
    """Write ``summary.csv`` and ``summary.md`` (the table, then ``notes``)."""
    out = Path(out)
    write_text(out / "summary.csv", summary.to_csv(index=False))
    md = f"# {title}\n\nMean [95% bootstrap CI] over seeds.\n\n{markdown_table(summary)}"
    write_text(out / "summary.md", md + (f"\n{notes.strip()}\n" if notes else ""))
