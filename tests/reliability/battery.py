"""The bad-input battery's common checks: one line, the field named, no traceback, nothing
written and nothing changed.

Each module here is one class of bad input, as a table of cases. CLI cases of a
representative subset run the real ``dynaq`` command in a subprocess; the rest run
in-process through :func:`dynaq.cli.main` or the library. Anything that could reach compiled
code with a bad index runs in a subprocess (:func:`python`), so that a regression shows as a
failed test with the signal, not as a dead pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from dynaq.errors import ConfigError


@dataclass(frozen=True)
class Outcome:
    """What a command or a snippet did: its exit status and its two streams."""

    rc: int
    out: str
    err: str


def _subprocess(args: list[str], cwd: Path, timeout: float) -> Outcome:
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)
    return Outcome(done.returncode, done.stdout, done.stderr)


def cli(*args: str, cwd: Path, timeout: float = 120) -> Outcome:
    """The real ``dynaq`` command (``python -m dynaq``) run in ``cwd``."""
    return _subprocess([sys.executable, "-m", "dynaq", *map(str, args)], cwd, timeout)


def python(code: str, cwd: Path, timeout: float = 120) -> Outcome:
    """A Python snippet run in its own process (one that could segfault if a check fails)."""
    return _subprocess([sys.executable, "-c", textwrap.dedent(code)], cwd, timeout)


def assert_cli_error(outcome: Outcome, *named: str) -> None:
    """Exit 2, one ``dynaq: error:`` line on stderr naming each of ``named``, no traceback,
    nothing on stdout."""
    assert outcome.rc == 2, (outcome.rc, outcome.err[-2000:])
    assert "Traceback" not in outcome.err, outcome.err[-2000:]
    assert outcome.err.startswith("dynaq: error: "), outcome.err
    assert outcome.err.count("\n") == 1, outcome.err
    for text in named:
        assert text in outcome.err, (text, outcome.err)


def assert_main_error(capsys: pytest.CaptureFixture[str], rc: int, *named: str) -> str:
    """:func:`assert_cli_error` for :func:`dynaq.cli.main` run in-process; returns the line."""
    captured = capsys.readouterr()
    assert_cli_error(Outcome(rc, captured.out, captured.err), *named)
    return captured.err


def assert_config_error(excinfo: pytest.ExceptionInfo[BaseException], *named: str) -> str:
    """A :class:`ConfigError` (not a subclass's sibling) with a one-line message naming each
    of ``named``; returns the message."""
    assert excinfo.type is ConfigError, excinfo.type
    message = str(excinfo.value)
    assert "\n" not in message, message
    for text in named:
        assert text in message, (text, message)
    return message


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (itself included) and its bytes (None for a directory), to
    check that a refused command changed nothing."""
    if not root.exists():
        return {}
    found: dict[str, bytes | None] = {".": None if root.is_dir() else root.read_bytes()}
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            found[str(path.relative_to(root))] = None if path.is_dir() else path.read_bytes()
    return found
