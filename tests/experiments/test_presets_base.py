"""The two kinds of preset, through the one call the CLI makes; the listing of them all."""

import importlib

import pandas as pd
import pytest

from dynaq.cli import main
from dynaq.errors import ConfigError
from dynaq.experiments import driver, presets
from dynaq.experiments.driver import Options
from dynaq.experiments.outputs import default_report
from dynaq.experiments.presets import ComputedPreset, LearningPreset


def test_a_learning_preset_runs_on_its_own_backend_unless_the_command_names_one(
        monkeypatch, tmp_path):
    backends = []
    monkeypatch.setattr(driver, "execute", lambda experiment, out, reporter, options:
                        backends.append((experiment, options.backend)))
    preset = LearningPreset("x", "a test", default_seeds=1, reporter=default_report,
                            experiment=lambda seeds: f"{seeds} seeds", backend="process")
    preset.reproduce(3, tmp_path, Options())
    preset.reproduce(3, tmp_path, Options(backend="ray"))
    assert backends == [("3 seeds", "process"), ("3 seeds", "ray")]


def test_the_cli_reproduces_either_kind(monkeypatch, tmp_path):
    computed = ComputedPreset("computed", "a test", default_seeds=1,
                              reporter=lambda df, summary, out: f"{len(df)} rows",
                              compute=lambda seeds, quiet: pd.DataFrame({"seed": range(seeds)}))
    monkeypatch.setattr(presets, "get_preset", lambda name: computed if name == "computed"
                        else presets.all_presets()[name])
    assert main(["reproduce", "computed", "--seeds", "2", "--out", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "summary.md").read_text().endswith("2 rows\n")
    assert main(["reproduce", "fig8.2", "--seeds", "1", "--out", str(tmp_path / "l"),
                 "--quiet"]) == 0
    assert (tmp_path / "l" / "summary.md").exists()


def test_the_listing_names_every_preset_in_order_with_its_own_description():
    found = presets.all_presets()
    assert list(found) == list(presets.ORDER)
    assert {name: p.description for name, p in found.items()} == presets.descriptions()
    for name, (module, _) in presets.LISTED.items():
        assert importlib.import_module(f"{presets.__name__}.{module}").PRESET is found[name]


def test_the_listed_descriptions_say_the_numbers_their_presets_use():
    from dynaq.experiments.presets import deep_small_buffer, sampling

    assert f"k = {sampling.K}," in presets.description("sampling")
    assert (f"buffer of {deep_small_buffer.SMALL:,} against {deep_small_buffer.LARGE:,}"
            in presets.description("deep-small-buffer"))


def test_a_preset_by_name_is_the_listed_one_and_a_bad_name_lists_them_all():
    assert presets.get_preset("fig8.7") is presets.all_presets()["fig8.7"]
    with pytest.raises(ConfigError, match=r"must be one of fig8\.2, seed-table, .*; got 'x'"):
        presets.get_preset("x")
