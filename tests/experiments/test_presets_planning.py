"""The planning reproductions (Example 8.4, Figures 8.7 and 8.8) at small seed counts: they
run end to end, write their plots, and the book's ordering claims hold."""

import numpy as np
import pytest

from dynaq import Experiment, execute, load_results
from dynaq.experiments.outputs import execute_table
from dynaq.experiments.presets import example8_4, fig8_7, fig8_8, get_preset


def test_example_8_4_prioritized_sweeping_needs_fewer_updates_on_the_small_mazes(tmp_path):
    preset = get_preset("example8.4")
    assert {r.env for r in preset.experiment(1).runs} >= {"dynaq/DynaMaze-v0",
                                                          "dynaq/DynaMaze-x128-v0"}
    exp = Experiment("example8.4", example8_4.runs(factors=(1, 2)), seeds=4)
    execute(exp, tmp_path, quiet=True, reporter=preset.reporter)
    found = example8_4.updates_until_found(load_results(tmp_path))
    assert found["updates"].notna().all()
    means = found.groupby(["states", "agent"])["updates"].mean().unstack()
    assert list(means.index) == [47, 94]
    assert (means["dyna-q"] > 2 * means["prioritized-sweeping"]).all()
    md = (tmp_path / "summary.md").read_text()
    assert "5 to 10 times fewer updates" in md and "Dyna-Q / PS" in md
    assert example8_4.settings_text(load_results(tmp_path)) in md and "α = 0.5" in md
    assert (tmp_path / "example8_4.png").exists()


def test_fig_8_7_sample_updates_follow_the_book_and_expected_ones_are_exact(tmp_path):
    preset = get_preset("fig8.7")
    table = preset.compute(40, True)
    sample = table[(table["update"] == "sample") & (table["computations"] > 0)]
    assert np.allclose(sample["rms_error"], sample["theory"], rtol=0.35)
    at = {b: fig8_7._at(table, b, "sample", 1.0)["rms_error"] for b in fig8_7.BRANCHING}
    assert at[2] > 0.3 and at[10_000] < 0.02  # one expected update's cost: 1/√b-ish
    assert fig8_7._at(table, 10_000, "sample", 0.1)["rms_error"] < 0.05  # a tenth of it
    expected = table[table["update"] == "expected"]
    assert (expected["rms_error"] == np.where(expected["per_b"] < 1, 1.0, 0.0)).all()
    execute_table(preset.name, table, tmp_path, preset.reporter)
    assert (tmp_path / "fig8_7.png").exists() and "√((b − 1)/(b t))" in (
        tmp_path / "summary.md").read_text()


def test_fig_8_8_runs_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setattr(fig8_8, "TASKS", ((200, 1, 2000), (200, 3, 2000), (200, 10, 2000),
                                          (2000, 1, 20_000)))
    preset = get_preset("fig8.8")
    table = preset.compute(3, True)
    assert set(table["method"]) == {"uniform", "on-policy"}
    assert table.groupby(["states", "b", "method"]).size().eq(fig8_8.CHECKPOINTS + 1).all()
    execute_table(preset.name, table, tmp_path, preset.reporter)
    md = (tmp_path / "summary.md").read_text()
    assert "Beside the book" in md and (tmp_path / "fig8_8.png").exists()


@pytest.mark.parametrize("name", ["example8.4", "fig8.7", "fig8.8"])
def test_presets_are_registered_with_enough_default_seeds(name):
    preset = get_preset(name)
    assert preset.default_seeds >= 30 and preset.description
