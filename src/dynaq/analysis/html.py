"""``report.html``: one self-contained page for an output directory (tables, every plot
embedded as base64, the exact config), readable offline: no network, no external files."""

from __future__ import annotations

import base64
import html
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from dynaq.analysis.compare import TEST, compare_cells, compare_stored
from dynaq.analysis.plots import plot_curves_by_config, results_extent, step_axis
from dynaq.analysis.report import SUMMARY_NOTE, summary_cells, table_rows, write_text
from dynaq.analysis.stats import summary_rows, varying_columns
from dynaq.errors import ConfigError
from dynaq.experiments.store import DB_NAME, load_results, results_by_config

REPORT_NAME = "report.html"
_MIME = {".png": "image/png", ".gif": "image/gif"}
_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; }
table { border-collapse: collapse; font-size: 0.8rem; margin: 0.5rem 0 1rem;
        display: block; max-width: 100%; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #f0f0f0; }
pre { background: #f6f6f6; padding: 0.75rem; overflow-x: auto; font-size: 0.85rem; }
figure { margin: 1rem 0; }
img { max-width: 100%; }
figcaption, .note { color: #555; font-size: 0.85rem; }
"""


def _table(cells: pd.DataFrame) -> str:
    return cells.to_html(index=False, border=0, escape=True)


def _data_uri(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{_MIME[path.suffix.lower()]};base64,{data}"


def _images(out: Path) -> dict[str, str]:
    """Every PNG and GIF of ``out`` (not the hidden ones being written) as a data URI, by
    file name."""
    return {p.name: _data_uri(p) for p in sorted(out.iterdir())
            if p.suffix.lower() in _MIME and not p.name.startswith(".")}


def _figure(uri: str, caption: str) -> str:
    caption = html.escape(caption)
    return f'<figure><img src="{uri}" alt="{caption}"><figcaption>{caption}</figcaption></figure>'


_INLINE = [(re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
           (re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
           (re.compile(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])"), r"<em>\1</em>")]
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_BLOCK = re.compile(r"(?P<heading>#{1,6})\s+|(?P<bullet>[-*+])\s+|(?P<number>\d+)[.)]\s+")


def _inline(text: str, images: dict[str, str]) -> str:
    """One line of Markdown as HTML: code, bold, emphasis, links, and images (embedded from
    ``images``; one that is not there shows its alt text and file name)."""
    def image(m: re.Match) -> str:
        alt = m[1] or m[2]
        uri = images.get(html.unescape(m[2]))
        return f'<img src="{uri}" alt="{alt}">' if uri else f"[{alt}: {m[2]}]"

    text = _IMAGE.sub(image, html.escape(text, quote=True))
    text = _LINK.sub(r'<a href="\2">\1</a>', text)
    for pattern, repl in _INLINE:
        text = pattern.sub(repl, text)
    return text


def _html_table(lines: list[str], images: dict[str, str]) -> str:
    head, *rows = table_rows(lines)
    cells = ["<tr>" + "".join(f"<th>{_inline(c, images)}</th>" for c in head) + "</tr>"]
    cells += ["<tr>" + "".join(f"<td>{_inline(c, images)}</td>" for c in row) + "</tr>"
              for row in rows]
    return "<table>\n" + "\n".join(cells) + "\n</table>"


def markdown_html(text: str, images: dict[str, str]) -> str:
    """Markdown as the reproductions write it, as HTML: headings (one level below the
    page's title at least), paragraphs, bulleted and numbered lists, tables, an image alone
    on its line as a figure, and inline code, bold, emphasis, links and images.

    Args:
        text: The Markdown.
        images: Data URIs by file name, for the images it shows.

    Returns:
        The HTML, every text escaped.
    """
    blocks: list[str] = []
    para: list[str] = []
    table: list[str] = []
    items: tuple[str, list[str]] | None = None

    def flush() -> None:
        nonlocal items
        if para:
            blocks.append("<p>" + " ".join(para) + "</p>")
            para.clear()
        if table:
            blocks.append(_html_table(table, images))
            table.clear()
        if items:
            tag, entries = items
            blocks.append(f"<{tag}>" + "".join(f"<li>{e}</li>" for e in entries) + f"</{tag}>")
            items = None

    for line in text.splitlines():
        stripped = line.strip()
        block = _BLOCK.match(stripped)
        if stripped.startswith("|"):
            if not table:
                flush()
            table.append(stripped)
        elif not stripped:
            flush()
        elif _IMAGE.fullmatch(stripped) and images.get(_IMAGE.fullmatch(stripped)[2]):
            flush()
            m = _IMAGE.fullmatch(stripped)
            blocks.append(_figure(images[m[2]], m[1] or m[2]))
        elif block and block["heading"]:
            flush()
            level = max(2, len(block["heading"]))
            blocks.append(f"<h{level}>{_inline(stripped[block.end():], images)}</h{level}>")
        elif block:
            tag = "ul" if block["bullet"] else "ol"
            if items is None or items[0] != tag or table or para:
                flush()
                items = (tag, [])
            items[1].append(_inline(stripped[block.end():], images))
        elif items and line[:1].isspace():  # a list item's continuation line
            items[1][-1] += " " + _inline(stripped, images)
        else:
            if table or items:
                flush()
            para.append(_inline(stripped, images))
    flush()
    return "\n".join(blocks)


def _narrative(out: Path) -> str:
    """What ``summary.md`` says besides its title and the summary table the page shows
    already: a reproduction's own sections ("Beside the book", "Where and why we
    differ", ...) and plots."""
    path = out / "summary.md"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    lines = text.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    while lines and not lines[0].strip():
        lines = lines[1:]
    if lines and lines[0].strip() == SUMMARY_NOTE:  # write_summary's table follows
        lines = lines[1:]
        while lines and (not lines[0].strip() or lines[0].lstrip().startswith("|")):
            lines = lines[1:]
    return "\n".join(lines)


def _value_error_figure(frames: Callable[[], Iterable[pd.DataFrame]] | None,
                        heads: pd.DataFrame, low: float, out: Path) -> list[str]:
    """The value error the results record, as a figure, unless none is recorded or the
    directory has its own plot of it.

    Args:
        frames: Gives the results a run config per frame (None: no results).
        heads: A row of each config, as :func:`~dynaq.analysis.plots.results_extent`
            gives them.
        low: The smallest value error recorded (NaN: none is).
        out: The output directory.
    """
    if frames is None or np.isnan(low) or (out / "value_error.png").exists():
        return []
    with tempfile.TemporaryDirectory() as tmp:
        path = plot_curves_by_config(frames(), Path(tmp) / "value_error.png", y="value_error",
                                     x=step_axis(heads), logy=bool(low > 0),
                                     ylabel="value error max_s |max_a Q(s, a) − V*(s)|")
        uri = _data_uri(path)
    return [_figure(uri, "value error: max over reachable states of |max_a Q(s, a) − V*(s)|, "
                         "mean over seeds with 95% bootstrap CI")]


def _title(config: str, out: Path) -> str:
    try:
        name = tomllib.loads(config).get("experiment", {}).get("name")
    except tomllib.TOMLDecodeError:
        name = None
    return f"dynaq: {name or out.name}"


def _compared_column(df: pd.DataFrame) -> str | None:
    """What a report compares by when not told: k where it varies, else the first varying
    config column (env last: configs are compared within a world before across)."""
    varying = varying_columns(df)
    if "planning_steps" in varying:
        return "planning_steps"
    return next((c for c in varying if c != "env"), "env" if "env" in varying else None)


def _sections(out: Path, by: str | None) -> tuple[str, list[str]]:
    """The page's title and its body, section by section."""
    # the results one config at a time (a sweep of 10^7 episodes is shown in the memory of
    # its largest config), or the one (empty) frame where there is no config, refused or
    # shown as it is; a results.sqlite that is not a file is damage the store names
    frames, heads, low = None, pd.DataFrame(), np.nan
    if (out / DB_NAME).exists():
        heads, _, (low, _) = results_extent(results_by_config(out), "value_error")
        frames = ((lambda: results_by_config(out)) if len(heads)
                  else (lambda: [load_results(out)]))
    if (out / "summary.csv").is_file():
        summary = pd.read_csv(out / "summary.csv")
    elif frames is not None:
        # a config's summary rows are its own (summary_rows): the summary of them all
        summary = pd.DataFrame([row for frame in frames() for row in summary_rows(frame)])
    else:
        raise ConfigError(f"out: no dynaq results in {out} (no summary.csv or {DB_NAME})")
    config_path = out / "config.toml"
    config = config_path.read_text(encoding="utf-8") if config_path.is_file() else ""
    title = html.escape(_title(config, out))
    body = [f"<h1>{title}</h1>", "<h2>Summary</h2>",
            f'<p class="note">{html.escape(SUMMARY_NOTE)}</p>', _table(summary_cells(summary))]
    images, narrative = _images(out), _narrative(out)
    if narrative.strip():
        body.append(markdown_html(narrative, images))
    # the first row of each config has every value a config column takes
    by = by if by is not None or frames is None else _compared_column(heads)
    if frames is not None and by is not None:
        body += [f"<h2>Comparison by {html.escape(by)}</h2>",
                 _table(compare_cells(compare_stored(out, by))),
                 f'<p class="note">{html.escape(TEST)}</p>']
    shown = {m[2] for m in _IMAGE.finditer(narrative)}
    figures = _value_error_figure(frames, heads, low, out) + [
        _figure(uri, name) for name, uri in images.items() if name not in shown]
    if figures:
        body += ["<h2>Plots</h2>", *figures]
    if config:
        body += ["<h2>Configuration (config.toml)</h2>", f"<pre>{html.escape(config)}</pre>"]
    return title, body


def write_report(out: str | Path, by: str | None = None) -> Path:
    """Write ``report.html`` in an output directory, atomically.

    The page holds a title, the summary table (``summary.csv``, or recomputed from the
    results database), the rest of ``summary.md`` (a reproduction's own sections, with
    the images they show; see :func:`markdown_html`), the comparison of the groups of
    ``by`` (see :func:`~dynaq.analysis.compare.compare`) when the database is there, the
    value error the database records (unless the directory has ``value_error.png``),
    every other PNG and GIF of the directory, and ``config.toml`` as it is. It needs
    nothing else: images are embedded as base64, the style is inline, and there is no
    script.

    Args:
        out: An output directory of ``dynaq run`` or ``dynaq reproduce``.
        by: The config column to compare by (default: ``planning_steps`` where it varies,
            else the first config column that does, env last; no comparison where none
            does).

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
