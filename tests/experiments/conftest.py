"""Fixtures shared by the experiments tests."""

import signal

import pytest


@pytest.fixture
def sigint_default():
    """A ``preexec_fn`` that gives a child process SIGINT's default action, as a terminal's
    Ctrl-C meets it: a test run started in the background by a shell without job control
    (``make test &``) ignores SIGINT, and its children would inherit that (Python keeps an
    ignored SIGINT ignored), so an interrupt test would see its run go on to the end."""
    return lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
