"""``report.html``: one self-contained page for an output directory (tables, every plot
embedded as base64, the exact config), readable offline: no network, no external files."""

from __future__ import annotations

import base64
import html
import tomllib
from pathlib import Path

import pandas as pd

from dynaq.analysis.compare import TEST, compare, compare_cells
from dynaq.analysis.report import summary_cells, write_text
from dynaq.analysis.stats import summarize
from dynaq.errors import ConfigError
from dynaq.experiments.store import DB_NAME, load_results

REPORT_NAME = "report.html"
_MIME = {".png": "image/png", ".gif": "image/gif"}
_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #f0f0f0; }
pre { background: #f6f6f6; padding: 0.75rem; overflow-x: auto; font-size: 0.85rem; }
figure { margin: 1rem 0; }
img { max-width: 100%; }
figcaption, .note { color: #555; font-size: 0.85rem; }
"""


def _table(cells: pd.DataFrame) -> str:
    return cells.to_html(index=False, border=0, escape=True)


def _figures(out: Path) -> list[str]:
    """Every PNG and GIF of ``out`` (not the hidden ones being written), embedded."""
    parts = []
    for path in sorted(p for p in out.iterdir()
                       if p.suffix.lower() in _MIME and not p.name.startswith(".")):
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        name = html.escape(path.name)
        parts.append(f'<figure><img src="data:{_MIME[path.suffix.lower()]};base64,{data}" '
                     f'alt="{name}"><figcaption>{name}</figcaption></figure>')
    return parts


def _title(config: str, out: Path) -> str:
    try:
        name = tomllib.loads(config).get("experiment", {}).get("name")
    except tomllib.TOMLDecodeError:
        name = None
    return f"dynaq: {name or out.name}"


def _sections(out: Path, by: str) -> tuple[str, list[str]]:
    """The page's title and its body, section by section."""
    # a results.sqlite that is not a file is damage that load_results names, not absence
    df = load_results(out) if (out / DB_NAME).exists() else None
    if (out / "summary.csv").is_file():
        summary = pd.read_csv(out / "summary.csv")
    elif df is not None:
        summary = summarize(df)
    else:
        raise ConfigError(f"out: no dynaq results in {out} (no summary.csv or {DB_NAME})")
    config_path = out / "config.toml"
    config = config_path.read_text(encoding="utf-8") if config_path.is_file() else ""
    title = html.escape(_title(config, out))
    body = [f"<h1>{title}</h1>", "<h2>Summary</h2>",
            '<p class="note">Mean [95% bootstrap CI] over seeds.</p>',
            _table(summary_cells(summary))]
    if df is not None:
        body += [f"<h2>Comparison by {html.escape(by)}</h2>",
                 _table(compare_cells(compare(df, by))), f'<p class="note">{html.escape(TEST)}</p>']
    figures = _figures(out)
    if figures:
        body += ["<h2>Plots</h2>", *figures]
    if config:
        body += ["<h2>Configuration (config.toml)</h2>", f"<pre>{html.escape(config)}</pre>"]
    return title, body


def write_report(out: str | Path, by: str = "planning_steps") -> Path:
    """Write ``report.html`` in an output directory, atomically.

    The page holds a title, the summary table (``summary.csv``, or recomputed from the
    results database), the comparison of the groups of ``by`` (see
    :func:`~dynaq.analysis.compare.compare`) when the database is there, every PNG and
    GIF of the directory, and ``config.toml`` as it is. It needs nothing else: images are
    embedded as base64, the style is inline, and there is no script.

    Args:
        out: An output directory of ``dynaq run`` or ``dynaq reproduce``.
        by: The config column to compare by.

    Returns:
        The path of ``report.html``.

    Raises:
        ConfigError: If ``out`` holds neither results nor a summary, or ``by`` is not a
            config column.
    """
    out = Path(out)
    title, body = _sections(out, by)
    page = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")
    return write_text(out / REPORT_NAME, page)
