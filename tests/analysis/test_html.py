"""report.html: self-contained, with its images embedded and the exact config."""

import base64
import re

import pandas as pd
import pytest
from PIL import Image

from dynaq import ConfigError
from dynaq.analysis import compare as compare_module
from dynaq.analysis import html as report_html
from dynaq.analysis.plots import plot_curves
from dynaq.analysis.report import markdown_table, write_summary
from dynaq.analysis.stats import config_groups, summarize

CONFIG = '[experiment]\nname = "k<sweep>"\nseeds = 8\n'


@pytest.fixture
def out(tmp_path, sweep, monkeypatch):
    write_summary(summarize(sweep), tmp_path, "test")
    (tmp_path / "config.toml").write_text(CONFIG)
    plot_curves(sweep, tmp_path / "curves.png")
    Image.new("RGB", (8, 8), "red").save(tmp_path / "tiny.gif")
    (tmp_path / "results.sqlite").touch()  # the frames come from the stub below
    _stored(monkeypatch, sweep)
    return tmp_path


def _stored(monkeypatch, df):
    """Make the report read ``df``, a config per frame, as the store would give it."""
    def frames(_):
        return iter([df.iloc[rows] for _, rows in config_groups(df)])

    monkeypatch.setattr(report_html, "results_by_config", frames)
    monkeypatch.setattr(compare_module, "results_by_config", frames)


def test_report_embeds_images_tables_and_config(out):
    page = report_html.write_report(out).read_text(encoding="utf-8")
    png = base64.b64encode((out / "curves.png").read_bytes()).decode()
    assert f'src="data:image/png;base64,{png}"' in page
    assert "data:image/gif;base64," in page
    assert "<title>dynaq: k&lt;sweep&gt;</title>" in page
    assert 'name = &quot;k&lt;sweep&gt;&quot;' in page  # config.toml, escaped
    assert "Comparison by planning_steps" in page and "yes, better" in page
    assert "episodes to optimal policy" in page
    assert not re.search(r"https?:", page) and "<script" not in page and "<link" not in page
    assert not list(out.glob(".*"))


def test_report_from_summary_alone(out):
    (out / "results.sqlite").unlink()
    page = report_html.write_report(out).read_text(encoding="utf-8")
    assert "Summary" in page and "Comparison" not in page


def test_report_needs_results(tmp_path):
    with pytest.raises(ConfigError, match="no dynaq results"):
        report_html.write_report(tmp_path)


def test_summary_table_shows_every_config_column_that_varies(sweep):
    both = pd.concat([sweep, sweep.assign(alpha=0.5)], ignore_index=True)
    text = markdown_table(summarize(both))
    assert text.startswith("| env | agent | k | alpha | seeds |")
    assert "| e | dyna-q | 2 | 0.5 | 8 |" in text


NOTES = """## Beside the book

| | Sutton & Barto | dynaq |
|---|---|---|
| first episode | **about 1700** | `869` |

## Where and why we differ

The book's maze *differs*: see [the notes](notes.md).

- one
- two
  continued
1. first

![steps per episode](curves.png)
"""


def test_report_carries_the_narrative_of_summary_md(out, sweep):
    write_summary(summarize(sweep), out, "test", NOTES)
    page = report_html.write_report(out).read_text(encoding="utf-8")
    assert "<h2>Beside the book</h2>" in page and "<h2>Where and why we differ</h2>" in page
    assert "<th>Sutton &amp; Barto</th>" in page
    assert "<td><strong>about 1700</strong></td><td><code>869</code></td>" in page
    assert "The book&#x27;s maze <em>differs</em>" in page
    assert '<a href="notes.md">the notes</a>' in page
    assert "<ul><li>one</li><li>two continued</li></ul>\n<ol><li>first</li></ol>" in page
    # the image the notes show is embedded where they show it, and not again under Plots
    png = base64.b64encode((out / "curves.png").read_bytes()).decode()
    assert page.count(png) == 1 and page.index("Where and why") < page.index(png)
    assert page.count("Mean [95% bootstrap CI] over seeds.") == 1  # the table once


def test_report_plots_the_value_error_it_records(out):
    page = report_html.write_report(out).read_text(encoding="utf-8")
    assert "value error: max over reachable states" in page
    assert page.count("data:image/png;base64,") == 2  # curves.png and the value error


def test_report_without_value_error_has_no_such_plot(out, sweep, monkeypatch):
    _stored(monkeypatch, sweep.assign(value_error=float("nan")))
    page = report_html.write_report(out).read_text(encoding="utf-8")
    assert "value error: max over" not in page


def test_markdown_html_escapes_and_names_a_missing_image():
    text = report_html.markdown_html("a <b> & c\n\n![gone](nothere.png)", {})
    assert text == "<p>a &lt;b&gt; &amp; c</p>\n<p>[gone: nothere.png]</p>"


def test_tables_show_only_the_settings_each_agent_has(sweep):
    both = pd.concat([sweep, sweep.assign(agent="dyna-q+", kappa=0.01)], ignore_index=True)
    both["kappa"] = both["kappa"].fillna(0.001)  # what load_results shows for dyna-q rows
    text = markdown_table(summarize(both))
    assert "| e | dyna-q | 2 |  | 8 |" in text and "| e | dyna-q+ | 2 | 0.01 | 8 |" in text


def test_summary_shows_return_and_success_only_without_a_model(sweep):
    assert "success rate" not in markdown_table(summarize(sweep))
    unmodelled = sweep.assign(v_star_start=float("nan"), value_error=float("nan"),
                              policy_optimal=pd.NA, policy_value=float("nan"))
    text = markdown_table(summarize(unmodelled))
    assert "| mean return | success rate |" in text and "optimal policy" not in text
    assert "cumulative reward" in markdown_table(summarize(sweep.assign(total_steps=120)))


def test_the_report_compares_by_what_varies_and_blanks_settings_an_agent_lacks(tmp_path):
    from dynaq import Experiment, RunConfig, execute
    from dynaq.cli import main

    exp = Experiment("agents", (RunConfig(agent="dyna-q", planning_steps=5, episodes=4),
                                RunConfig(agent="dyna-q+", planning_steps=5, episodes=4,
                                          kappa=0.01)), 3)
    execute(exp, tmp_path, quiet=True)
    page = report_html.write_report(tmp_path).read_text()
    assert "Comparison by agent" in page  # k is the same for both: nothing to compare by k
    compared = page[page.index("Comparison by agent"):]
    assert re.search(r"<td>dyna-q</td>\s*<td></td>", compared)  # Dyna-Q has no kappa
    assert re.search(r"<td>dyna-q\+</td>\s*<td>0.01</td>", compared)
    # Dyna-Q is the baseline and Dyna-Q+ is compared with it (a P, not "–")
    assert "<td>baseline</td>" in compared and re.search(r"<td>[01]\.\d+ \[", compared)
    assert main(["report", str(tmp_path), "--by", "kappa"]) == 0
    assert "Comparison by kappa" in (tmp_path / "report.html").read_text()


def _whole_frame_report(out, monkeypatch):
    """report.html as made from one frame of every row: the comparison is compare's of
    it, and the summary, the value error and what varies are read of it as one frame
    (summary_rows, plot_curves and results_extent of a frame of many configs are those of
    its configs one by one)."""
    from dynaq.experiments import store

    whole = store.load_results(out)
    with monkeypatch.context() as patched:
        patched.setattr(report_html, "results_by_config", lambda _: iter([whole]))
        patched.setattr(report_html, "compare_stored",
                        lambda _, by: compare_module.compare(whole, by))
        return report_html.write_report(out).read_bytes()


@pytest.mark.parametrize("summary", [True, False])
def test_the_report_of_a_mixed_directory_is_made_config_by_config(
        mixed_results, tmp_path, monkeypatch, forbid_whole_frame, summary):
    """The page, summary recomputed or not, comparison and value error included, is the one
    a frame of every row gives; and no such frame is read."""
    import shutil

    out = tmp_path / "mixed"
    shutil.copytree(mixed_results, out)
    for name in ("report.html", "value_error.png", *(() if summary else ("summary.csv",))):
        (out / name).unlink(missing_ok=True)
    whole = _whole_frame_report(out, monkeypatch)
    forbid_whole_frame()
    page = report_html.write_report(out).read_bytes()
    assert page == whole
    assert b"Comparison by planning_steps" in page and b"value error: max over" in page
