"""Class 3 of the battery: an output path that cannot be written (``--out`` under a regular
file or in a read-only directory, ``export --output`` into a missing directory or onto a
directory) exits 2 with one line naming the field and the path, and creates or changes
nothing: no directory, no temporary file, an existing directory byte for byte as it was."""

import pytest
from battery import assert_cli_error, assert_main_error, cli, snapshot

from dynaq.cli import main

BASE = ["run", "--env", "dynaq/DynaMaze-v0", "--episodes", "3", "--seeds", "2", "--quiet"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A results directory to export from (each case checks it is left as it was)."""
    out = tmp_path_factory.mktemp("results")
    assert main([*BASE, "--out", str(out)]) == 0
    return out


def out_under_a_file(tmp_path, results, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    out = blocker / "x"
    return [*BASE, "--out", str(out)], ["out: cannot create the directory", str(out)]


def out_in_a_read_only_directory(tmp_path, results, monkeypatch):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    monkeypatch.setattr("os.access", lambda *_: False)  # read-only even to root
    return [*BASE, "--out", str(read_only)], [f"out: the directory {read_only} is not writable"]


def export_into_a_missing_directory(tmp_path, results, monkeypatch):
    missing = tmp_path / "missing"
    return (["export", str(results), "--output", str(missing / "x.csv")],
            [f"output: the directory {missing} does not exist"])


def export_onto_a_directory(tmp_path, results, monkeypatch):
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("kept")
    return (["export", str(results), "--output", str(existing)],
            [f"output: {existing} is a directory; give a file path"])


@pytest.mark.parametrize("case", [out_under_a_file, out_in_a_read_only_directory,
                                  export_into_a_missing_directory, export_onto_a_directory])
def test_an_output_path_that_cannot_be_written(case, tmp_path, results, capsys, monkeypatch):
    args, named = case(tmp_path, results, monkeypatch)
    before = snapshot(tmp_path), snapshot(results)
    rc = main(args)
    monkeypatch.undo()
    assert_main_error(capsys, rc, *named)
    assert (snapshot(tmp_path), snapshot(results)) == before


@pytest.mark.parametrize("case", [out_under_a_file, export_onto_a_directory])
def test_the_real_command(case, tmp_path, results):
    args, named = case(tmp_path, results, None)
    before = snapshot(tmp_path), snapshot(results)
    assert_cli_error(cli(*args, cwd=tmp_path), *named)
    assert (snapshot(tmp_path), snapshot(results)) == before
