"""The API reference and the tutorial page build with mkdocs, warnings as errors.

A docstring that mkdocstrings cannot render (a broken cross-reference, a malformed section)
fails here. The tutorial is converted without running it (tests/test_tutorial.py runs it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_strict(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DYNAQ_DOCS_EXECUTE": "false"}
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(site)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    public = (site / "api" / "dynaq" / "index.html").read_text(encoding="utf-8")
    for name in ("dynaq.DynaQ", "dynaq.RunConfig", "dynaq.execute", "dynaq.load_results"):
        assert f'id="{name}"' in public, name
    assert 'id="dynaq.analysis.values.plot_value_heatmap"' in (
        site / "api" / "analysis" / "index.html").read_text(encoding="utf-8")
    assert "Dyna-Q loop, by hand" in (site / "tutorial" / "index.html").read_text(
        encoding="utf-8")
    assert (site / "maps" / "index.html").exists()


def test_license_is_the_declared_one() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert declared["project"]["license"] == {"text": "MIT"}
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 The dynaq authors\n")
