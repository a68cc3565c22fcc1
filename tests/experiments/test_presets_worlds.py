"""The changing- and stochastic-world reproductions (Figures 8.4, 8.5, planning-hurts) run end
to end, write what they promise, and show the book's and the course's ordering claims at a
small seed count."""

from __future__ import annotations

import pytest

from dynaq import execute, load_results
from dynaq.experiments.presets import get_preset
from dynaq.experiments.presets.common import (
    DQ,
    DQ_ACTION,
    DQ_PLUS,
    first_layout_value,
    seed_scores,
)
from dynaq.experiments.presets.planning_hurts import (
    COUNTS_EXPECTED,
    STALE,
)
from dynaq.experiments.presets.planning_hurts import seed_scores as hurt_scores


@pytest.fixture(scope="module")
def fig84(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig8.4")
    preset = get_preset("fig8.4")
    execute(preset.experiment(5), out, quiet=True, reporter=preset.reporter)
    return out


@pytest.fixture(scope="module")
def fig85(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig8.5")
    preset = get_preset("fig8.5")
    execute(preset.experiment(5), out, quiet=True, reporter=preset.reporter)
    return out


def test_fig84_runs_the_books_setup():
    exp = get_preset("fig8.4").experiment(3)
    assert [(r.agent, r.bonus) for r in exp.runs] == [
        ("dyna-q", "planning"), ("dyna-q+", "planning"), ("dyna-q+", "action")]
    assert {(r.env, r.total_steps, r.episodes, r.planning_steps) for r in exp.runs} == {
        ("dynaq/BlockingMaze-v0", 3000, None, 50)}
    assert get_preset("fig8.4").default_seeds >= 20
    assert {(r.env, r.total_steps) for r in get_preset("fig8.5").experiment(3).runs} == {
        ("dynaq/ShortcutMaze-v0", 6000)}


def test_fig84_report_and_claims(fig84):
    md = (fig84 / "summary.md").read_text()
    assert (fig84 / "cumulative_reward.png").stat().st_size > 0
    assert "Beside the book (Figure 8.4)" in md and "found the short path within 1000" in md
    assert "companion code" in md and "this run uses k = 50 for every agent" in md
    df = load_results(fig84)
    assert (df.groupby(["agent", "bonus", "seed"])["env_steps"].max() == 3000).all()
    scores = seed_scores(df, 1000, first_layout_value("dynaq/BlockingMaze-v0"))
    # the table's end column is the mean over seeds of each seed's summed returns
    end = df[df["agent"] == "dyna-q"].groupby("seed")["return"].sum().mean()
    row = next(line for line in md.splitlines() if line.startswith(f"| {DQ} |"))
    assert row.split(" | ")[2].startswith(f"{end:.3g}" if end < 100 else f"{end:,.0f}")
    by = scores.groupby("label").mean(numeric_only=True)
    # Dyna-Q+ recovers from the blocked path with more reward than Dyna-Q (Figure 8.4)
    assert by.loc[DQ_PLUS, "after_change"] > by.loc[DQ, "after_change"]
    assert by.loc[DQ_PLUS, "at_end"] > by.loc[DQ, "at_end"]


def test_fig85_dyna_q_plus_finds_the_shortcut_dyna_q_does_not(fig85):
    old_best = first_layout_value("dynaq/ShortcutMaze-v0")
    assert old_best == pytest.approx(0.95 ** 15)  # the 16-step path around the left
    scores = seed_scores(load_results(fig85), 3000, old_best)
    by = scores.groupby("label")
    assert by["beats_old_at_end"].sum()[DQ] == 0  # "never switched to the shortcut"
    assert by["beats_old_at_end"].sum()[DQ_PLUS] >= 3
    assert by["near_before"].sum()[DQ] >= 4  # but it learned the long path
    ends = by["at_end"].mean()
    assert ends[DQ_PLUS] > ends[DQ] and ends[DQ_PLUS] > ends[DQ_ACTION]
    md = (fig85 / "summary.md").read_text()
    assert "never switched to the shortcut" in md and "Exercise 8.4" in md


def test_planning_hurts_shows_the_wrong_model_claims(tmp_path):
    preset = get_preset("planning-hurts")
    exp = preset.experiment(3)
    assert {r.planning_steps for r in exp.runs} == {0, 5, 50}
    execute(exp, tmp_path, quiet=True, reporter=preset.reporter)
    scores = hurt_scores(load_results(tmp_path))
    mean = scores.groupby(["env", "label", "k"]).mean(numeric_only=True)
    short = mean.loc["dynaq/ShortcutMaze-v0", STALE]
    assert short.loc[50, "beats_old"] < short.loc[0, "beats_old"]  # planning keeps the old map
    cliff = mean.loc["dynaq/SlipperyCliff-v0"]
    assert cliff.loc[(STALE, 50), "value_error"] > cliff.loc[(STALE, 5), "value_error"]
    assert cliff.loc[(STALE, 50), "value_error"] > cliff.loc[(COUNTS_EXPECTED, 50), "value_error"]
    assert cliff.loc[(STALE, 50), "policy_value"] < cliff.loc[(COUNTS_EXPECTED, 50),
                                                              "policy_value"]
    md = (tmp_path / "summary.md").read_text()
    assert "What a learner should conclude" in md and "More planning made it worse" in md
    goals = scores[scores["label"] == STALE].groupby(["env", "k"])["goals_before"].mean()
    assert (", ".join(f"{goals['dynaq/ShortcutMaze-v0', k]:.1f} at k = {k}" for k in (0, 5, 50))
            in md)
    assert (tmp_path / "metric_vs_k.png").stat().st_size > 0
