"""Development mode: with ``NUMBA_DISABLE_JIT=1`` every kernel runs as plain Python, so one can
step into it with a debugger, and gives the numbers the compiled kernels give.

The whole of ``tests/kernels`` and ``tests/agents`` passes that way (about 10 minutes on 2
cores: ``NUMBA_DISABLE_JIT=1 pytest tests/kernels tests/agents``); here, all of it but its
five longest tests, which only run more steps through the same code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SLOW = ("ten_million_steps", "stochastic_world_where_the_deterministic", "on_policy_is_faster",
        "finds_the_shortcut", "figure_8_2_curve_shape")


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already plain Python")
def test_kernels_and_agents_pass_as_plain_python():
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         "-W", "ignore::RuntimeWarning", "tests/kernels", "tests/agents",
         "-k", " and ".join(f"not {name}" for name in SLOW)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
