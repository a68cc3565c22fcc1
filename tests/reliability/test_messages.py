"""Class 8 of the battery: messages stay one line and name what is wrong."""

import pytest
from battery import assert_cli_error, assert_main_error, cli

from dynaq.cli import main

BASE = ["run", "--env", "dynaq/DynaMaze-v0", "--episodes", "3", "--seeds", "2", "--quiet"]


@pytest.mark.parametrize("args, named", [
    (["--env", "bad\nid"], ["env", "got 'bad\\nid'"]),
    (["--planning-steps"], ["--planning-steps needs at least one value"]),
    (["--agent", "dyna-q\n"], ["agent", "'dyna-q\\n'"]),
])
def test_messages_are_one_line_naming_the_field(tmp_path, capsys, args, named):
    out = tmp_path / "out"
    assert_main_error(capsys, main([*BASE, "--out", str(out), *args]), *named)
    assert not out.exists()


def test_the_real_command_prints_one_line(tmp_path):
    outcome = cli(*BASE, "--out", tmp_path / "out", "--env", "bad\nid", cwd=tmp_path)
    assert_cli_error(outcome, "env", "got 'bad\\nid'")
    assert not (tmp_path / "out").exists()
