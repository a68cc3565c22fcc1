"""Warming numba's cache ahead (dynaq.warm): the warmed reproductions' first run compiles
nothing, and so says nothing about compiling."""

import os
import subprocess
import sys

import pytest

from dynaq.warm import main

# A command run with a recorder of numba's compile events (each a cache miss), which
# prints the dynaq kernels that compiled on its last line.
RECORDED = """
import sys
from numba.core import event

compiled = set()

class Recorder(event.Listener):
    def on_start(self, ev):
        func = ev.data["dispatcher"].py_func
        if func.__module__.startswith("dynaq."):
            compiled.add(f"{func.__module__}.{func.__qualname__}")

    def on_end(self, ev):
        pass

event.register("numba:compile", Recorder())
from dynaq.cli import main
code = main(sys.argv[1:])
print("compiled:", *sorted(compiled))
sys.exit(code)
"""


def test_unknown_reproduction_is_one_line(capsys):
    assert main(["fig8.2", "fig9.9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dynaq: error: reproduction must be one of fig8.2,")
    assert err.count("\n") == 1


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="nothing compiles")
def test_warmed_reproduction_compiles_nothing(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    warmed = subprocess.run([sys.executable, "-m", "dynaq.warm", "fig8.2"], env=env,
                            capture_output=True, text=True, timeout=600)
    assert warmed.returncode == 0, warmed.stderr
    assert "compiling kernels for fig8.2" in warmed.stderr
    # another process, the real command with more seeds: every kernel loads from the cache
    # (before run_agent typed the agent id as a literal from the start, the run loop missed
    # once per process as an int64 and fired the event)
    real = subprocess.run([sys.executable, "-c", RECORDED, "reproduce", "fig8.2", "--seeds", "3",
                           "--out", str(tmp_path / "out")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert real.returncode == 0, real.stderr
    assert real.stdout.splitlines()[-1] == "compiled:"
    assert "compiling" not in real.stderr
