"""report.html: self-contained, with its images embedded and the exact config."""

import base64
import re

import pandas as pd
import pytest
from PIL import Image

from dynaq import ConfigError
from dynaq.analysis import html as report_html
from dynaq.analysis.plots import plot_curves
from dynaq.analysis.report import markdown_table, write_summary
from dynaq.analysis.stats import summarize

CONFIG = '[experiment]\nname = "k<sweep>"\nseeds = 8\n'


@pytest.fixture
def out(tmp_path, sweep, monkeypatch):
    write_summary(summarize(sweep), tmp_path, "test")
    (tmp_path / "config.toml").write_text(CONFIG)
    plot_curves(sweep, tmp_path / "curves.png")
    Image.new("RGB", (8, 8), "red").save(tmp_path / "tiny.gif")
    (tmp_path / "results.sqlite").touch()  # the frame comes from the stub below
    monkeypatch.setattr(report_html, "load_results", lambda _: sweep)
    return tmp_path


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
