"""Warming numba's cache ahead (dynaq.warm): the warmed reproductions' first run compiles
nothing, and so says nothing about compiling."""

import os
import subprocess
import sys

import pytest

from dynaq.kernels.run import agent_id
from dynaq.warm import DEMO, main, variants

# A command run with a recorder of numba's compile events, which prints the dynaq kernels
# that compiled (a cache miss) on its last line.
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


def test_demo_needs_one_run_loop():
    runs = variants(DEMO)
    assert [run.agent for run in runs] == ["dyna-q"]
    assert {run.env for run in runs} == {"dynaq/DynaMaze-v0"}


def test_variants_are_distinct_run_loops():
    from dynaq.agents.registry import resolve_agent

    runs = variants(["fig8.2", "fig8.4", "fig8.7"])  # fig8.7 is computed: no learning runs
    ids = [agent_id(resolve_agent(r.agent).kernels(r.agent_config())) for r in runs]
    assert len(ids) == len(set(ids)) >= 2
    assert {"dyna-q", "dyna-q+"} <= {run.agent for run in runs}


def test_unknown_reproduction_is_one_line(capsys):
    assert main(["fig9.9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dynaq: error: reproduction must be one of fig8.2,")
    assert err.count("\n") == 1


# How many of the run loops of fig8.2 (Dyna-Q) and fig8.4 (Dyna-Q, Dyna-Q+) are not cached,
# then (given an argument) how many compile_ahead compiles for fig8.4.
MISSING = """
import sys
from dynaq.experiments.presets import get_preset
from dynaq.warm import compile_ahead, uncached, variants

print(len(uncached(variants(["fig8.2", "fig8.4"]))), len(uncached(variants(["fig8.2"]))))
if len(sys.argv) > 1:
    print(compile_ahead(get_preset("fig8.4").experiment(1).runs))
"""


def python(code, env, *args):
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="nothing compiles")
def test_warmed_reproduction_compiles_nothing(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    assert python(MISSING, env).stdout.split() == ["2", "1"]  # nothing cached
    warmed = subprocess.run([sys.executable, "-m", "dynaq.warm", "fig8.2", "--workers", "2"],
                            env=env, capture_output=True, text=True, timeout=600)
    assert warmed.returncode == 0, warmed.stderr
    assert "compiling kernels for fig8.2" in warmed.stderr
    # another process, the real command with more seeds: every kernel loads from the cache
    real = python(RECORDED, env, "reproduce", "fig8.2", "--seeds", "3", "--out",
                  str(tmp_path / "out"))
    assert real.stdout.splitlines()[-1] == "compiled:"
    assert "compiling" not in real.stderr
    # Dyna-Q's loop is cached now; Dyna-Q+'s alone is missing, which compiles as fast in the
    # command itself as in a worker, so compile_ahead leaves it
    assert python(MISSING, env, "ahead").stdout.split() == ["1", "0", "0"]
