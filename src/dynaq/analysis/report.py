"""Tables as text: Markdown from display strings, and an output directory's ``summary.csv``
and ``summary.md``."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from dynaq.analysis.stats import OUTCOME_METRICS, SUMMARY_METRICS, varying_columns
from dynaq.errors import ConfigError
from dynaq.experiments.config import uses

_HEADERS = {
    "steps": "steps per episode",
    "episodes_to_near_optimal_q": "episodes to near-optimal Q",
    "env_steps_to_near_optimal_q": "env steps to near-optimal Q",
    "episodes_to_optimal_policy": "episodes to optimal policy",
    "env_steps_to_optimal_policy": "env steps to optimal policy",
    "backups": "backups",
    "wall_s": "wall s / seed",
    "final_value_error": "final value error",
    "mean_return": "mean return",
    "success_rate": "success rate",
    "total_return": "cumulative reward",
}


SUMMARY_NOTE = "Mean [95% bootstrap CI] over seeds."
"""The line above the table of every ``summary.md``."""


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


def _model(env: object, env_kwargs: object) -> Any:
    """An env's exact model (None where it has none or cannot be made here)."""
    from dynaq.envs.make import env_model

    kwargs = json.loads(env_kwargs) if isinstance(env_kwargs, str) and env_kwargs else None
    try:
        return env_model(str(env), kwargs)[0]
    except ConfigError:
        return None


def _costly(mdp: Any) -> bool:
    """Whether an exact model has a negative reward anywhere (a step cost, a cliff): there
    a goal reached need not give a positive return, so the success rate (the share of
    episodes with one) would not count goals."""
    return mdp is not None and any(float(m.reward.min(initial=0.0)) < 0
                                   for _, m in mdp.phases())


def outcome_metrics(summary: pd.DataFrame) -> tuple[str, ...]:
    """The :data:`~dynaq.analysis.stats.OUTCOME_METRICS` a summary table shows: mean return
    where some config has no exact model to measure Q against or its world is stochastic (in
    a deterministic maze every episode ends at the goal with the same return), with the
    success rate unless some world's model has a negative reward (see :func:`_costly`);
    the cumulative reward where some config ran for a number of real steps."""
    shown = []
    reached = summary.get("episodes_to_near_optimal_q_reached")
    unmeasured = reached is None or reached.isna().any()
    models = [_model(env, kwargs) for env, kwargs in summary.reindex(
        columns=["env", "env_kwargs"]).drop_duplicates().itertuples(index=False)]
    from dynaq.mdp import has_random_outcomes  # models were built: numba is loaded

    if unmeasured or any(m is not None and has_random_outcomes(m) for m in models):
        shown.append("mean_return")
        if not any(_costly(m) for m in models):
            shown.append("success_rate")
    if "total_steps" in summary and summary["total_steps"].notna().any():
        shown.append("total_return")
    return tuple(m for m in OUTCOME_METRICS if m in shown and m in summary)


def summary_cells(summary: pd.DataFrame,
                  metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The summary as display strings: one row per config (env, agent, k, the other config
    columns that vary, blank where the row's agent has no such setting, seeds),
    ``mean [95% CI]`` cells, and the number of seeds that reached each "to" metric where
    not all did. A metric no config has (an env with no exact model has no "to optimal"
    metrics) gets no column; by default the metrics are :data:`SUMMARY_METRICS` and the
    :func:`outcome_metrics` that fit the runs."""
    if metrics is None:
        metrics = SUMMARY_METRICS + outcome_metrics(summary)
    other = [c for c in varying_columns(summary)
             if c not in ("env", "agent", "planning_steps")]
    cells = pd.DataFrame({"env": summary["env"].map(str),
                          "agent": summary["agent"].map(str),
                          "k": summary["planning_steps"].map(str),
                          **{c: [str(v) if uses(a, c) else "" for a, v in zip(
                              summary["agent"], summary[c], strict=True)] for c in other},
                          "seeds": summary["seeds"].map(str)})
    for m in metrics:
        if m not in summary or summary[m].isna().all() and (
                f"{m}_reached" not in summary or summary[f"{m}_reached"].isna().all()):
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


def markdown_table(summary: pd.DataFrame, metrics: tuple[str, ...] | None = None) -> str:
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
    md = f"# {title}\n\n{SUMMARY_NOTE}\n\n{markdown_table(summary)}"
    write_text(out / "summary.md", md + (f"\n{notes.strip()}\n" if notes else ""))


_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_EMPHASIS = re.compile(r"\*\*(.+?)\*\*|`([^`]+)`")


def table_rows(lines: list[str]) -> list[list[str]]:
    """The cells of a Markdown table's lines (``| a | b |``), its ``|---|`` line left out."""
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]
    return [row for row in rows if not all(re.fullmatch(r":?-+:?", c) for c in row)]


def _plain_table(lines: list[str]) -> list[str]:
    """A Markdown table as columns padded to their widest cell, the header underlined."""
    rows = [[_unmarked(cell) for cell in row] for row in table_rows(lines)]
    widths = [max(len(row[i]) if i < len(row) else 0 for row in rows)
              for i in range(max(map(len, rows)))]

    def line(row: list[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip()

    return [line(rows[0]), "  ".join("-" * w for w in widths), *map(line, rows[1:])]


def _unmarked(text: str) -> str:
    """Markdown's bold and code marks taken off, links as their text and target."""
    return _EMPHASIS.sub(lambda m: m[1] or m[2], _LINK.sub(lambda m: f"{m[1]} ({m[2]})", text))


def _plain_line(line: str, base: Path) -> str:
    """One line of Markdown prose as text: images as where they are, headings without
    their marks (see also :func:`_unmarked`)."""
    line = _unmarked(_IMAGE.sub(
        lambda m: f"plot: {base / m[2]}" + (f" ({m[1]})" if m[1] else ""), line))
    heading = re.match(r"(#+)\s+(.*)", line)
    if heading:
        mark = {1: "=", 2: "-"}.get(len(heading[1]))
        return heading[2] + (f"\n{mark * len(heading[2])}" if mark else "")
    return line


def plain_text(markdown: str, base: str | Path = ".") -> str:
    """A ``summary.md`` as plain text for a terminal: tables aligned in columns, images as
    ``plot: BASE/FILE``, no Markdown marks.

    Args:
        markdown: The Markdown text (as :func:`write_summary` and the reproductions write).
        base: The directory the images' paths are relative to.

    Returns:
        The text.
    """
    lines, out, table = markdown.splitlines(), [], []
    for line in [*lines, ""]:
        if line.lstrip().startswith("|"):
            table.append(line)
            continue
        if table:
            out += _plain_table(table)
            table = []
        out.append(_plain_line(line, Path(base)))
    return "\n".join(out).rstrip() + "\n"
