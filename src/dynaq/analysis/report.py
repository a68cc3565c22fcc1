"""Tables as text: Markdown from display strings, and an output directory's ``summary.csv``
and ``summary.md``."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from dynaq.analysis.stats import SUMMARY_METRICS, varying_columns

_HEADERS = {
    "episodes_to_near_optimal_q": "episodes to near-optimal Q",
    "env_steps_to_near_optimal_q": "env steps to near-optimal Q",
    "episodes_to_optimal_policy": "episodes to optimal policy",
    "env_steps_to_optimal_policy": "env steps to optimal policy",
    "backups": "backups",
    "wall_s": "wall s / seed",
    "final_value_error": "final value error",
    "mean_return": "mean return",
}


def metric_label(metric: str) -> str:
    """A column of :func:`~dynaq.analysis.stats.per_seed` in words."""
    return _HEADERS.get(metric, metric.replace("_", " "))


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


def summary_cells(summary: pd.DataFrame,
                  metrics: tuple[str, ...] = SUMMARY_METRICS) -> pd.DataFrame:
    """The summary as display strings: one row per config (env, agent, k, the other config
    columns that vary, seeds), ``mean [95% CI]`` cells, and the number of seeds that reached
    each "to" metric where not all did. A metric no config has (an env with no exact model
    has no "to optimal" metrics) gets no column."""
    other = [c for c in varying_columns(summary)
             if c not in ("env", "agent", "planning_steps")]
    cells = pd.DataFrame({"env": summary["env"].map(str),
                          "agent": summary["agent"].map(str),
                          "k": summary["planning_steps"].map(str),
                          **{c: summary[c].map(str) for c in other},
                          "seeds": summary["seeds"].map(str)})
    for m in metrics:
        if summary[m].isna().all() and (f"{m}_reached" not in summary
                                        or summary[f"{m}_reached"].isna().all()):
            continue
        column = []
        for _, row in summary.iterrows():
            cell = fmt_ci(row[m], row[f"{m}_lo"], row[f"{m}_hi"])
            reached = row.get(f"{m}_reached")
            if reached is not None and reached == reached and reached < row["seeds"]:
                cell += f" ({int(reached)}/{row['seeds']} seeds)"
            column.append(cell)
        cells[metric_label(m)] = column
    return cells


def markdown_rows(cells: pd.DataFrame) -> str:
    """A frame of display strings as a Markdown table."""
    lines = ["| " + " | ".join(cells.columns) + " |", "|" + "---|" * cells.shape[1]]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def markdown_table(summary: pd.DataFrame, metrics: tuple[str, ...] = SUMMARY_METRICS) -> str:
    """The summary as a Markdown table (see :func:`summary_cells`)."""
    return markdown_rows(summary_cells(summary, metrics))


def write_text(path: str | Path, text: str) -> Path:
    """Write a file atomically (a reader never sees it half-written)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_summary(summary: pd.DataFrame, out: str | Path, title: str,
                  notes: str = "") -> None:
    """Write ``summary.csv`` and ``summary.md`` (the table, then ``notes``)."""
    out = Path(out)
    write_text(out / "summary.csv", summary.to_csv(index=False))
    md = f"# {title}\n\nMean [95% bootstrap CI] over seeds.\n\n{markdown_table(summary)}"
    write_text(out / "summary.md", md + (f"\n{notes.strip()}\n" if notes else ""))
