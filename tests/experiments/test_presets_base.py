"""The two kinds of preset, through the one call the CLI makes."""

import pandas as pd

from dynaq.cli import main
from dynaq.experiments import presets
from dynaq.experiments.driver import Options, default_report
from dynaq.experiments.presets import ComputedPreset, LearningPreset, base


def test_a_learning_preset_runs_on_its_own_backend_unless_the_command_names_one(
        monkeypatch, tmp_path):
    backends = []
    monkeypatch.setattr(base, "execute", lambda experiment, out, reporter, options:
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
