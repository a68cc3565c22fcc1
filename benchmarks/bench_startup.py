"""Whole-process start-up times of dynaq's quick commands, now and (optionally) at an
earlier checkout.

    python benchmarks/bench_startup.py [--before OTHER/src] [--rounds 7]

Each command runs as a fresh process (``python -m dynaq`` is the ``dynaq`` command), once to
warm the file cache, then ``--rounds`` times; the median wall time is printed, and the
median CPU time (user + system) that the process used, steadier on a shared machine; with
``--before`` (the ``src`` directory of another checkout, put first on ``PYTHONPATH``) also
the earlier medians and the ratios before / now. ``dynaq ls`` reads a small results
directory that each checkout writes first, since their stores' formats may differ (numba's
kernel cache should be warm, or that first run compiles). Nothing is asserted: timings
depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _commands(results: Path) -> dict[str, list[str]]:
    """What is timed: a label → the interpreter's arguments."""
    return {"import dynaq": ["-c", "import dynaq"],
            "dynaq --help": ["-m", "dynaq", "--help"],
            "dynaq ls DIR": ["-m", "dynaq", "ls", str(results)],
            "dynaq reproduce --list": ["-m", "dynaq", "reproduce", "--list"]}


def _cpu_s() -> float:
    """CPU seconds used so far by this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _medians_s(args: list[str], src: Path, rounds: int) -> tuple[float, float]:
    """The median wall and CPU times of ``python ARGS`` with ``src`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    wall, cpu = [], []
    for i in range(rounds + 1):
        t0, c0 = time.perf_counter(), _cpu_s()
        subprocess.run([sys.executable, *args], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i:  # the first only warms the file cache
            wall.append(time.perf_counter() - t0)
            cpu.append(_cpu_s() - c0)
    return statistics.median(wall), statistics.median(cpu)


def _results_dir(out: Path, src: Path) -> Path:
    """A small results directory (2 configs × 2 seeds of 3 episodes), written by the
    checkout whose source is ``src``."""
    subprocess.run([sys.executable, "-m", "dynaq", "run", "--env", "dynaq/DynaMaze-v0",
                    "--planning-steps", "0", "5", "--seeds", "2", "--episodes", "3", "--out",
                    str(out), "--quiet"], env={**os.environ, "PYTHONPATH": str(src)},
                   check=True, stdout=subprocess.DEVNULL)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="src directory of an earlier checkout")
    parser.add_argument("--rounds", type=int, default=7, help="timed runs per command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        commands = _commands(_results_dir(Path(tmp) / "now", SRC))
        earlier = (_commands(_results_dir(Path(tmp) / "before", args.before)) if args.before
                   else {})
        print(f"whole-process times, median of {args.rounds} runs (s): wall, then CPU")
        print(f"   {'command':<24}" + "".join(f"{h:>9}" for h in (
            "before", "now", "ratio", "cpu bef.", "cpu now", "ratio")))
        for label, command in commands.items():
            now = _medians_s(command, SRC, args.rounds)
            before = (_medians_s(earlier[label], args.before, args.rounds) if args.before
                      else (math.nan, math.nan))
            cells = [before[0], now[0], before[0] / now[0], before[1], now[1],
                     before[1] / now[1]]
            print(f"   {label:<24}" + "".join(f"{c:>9.3f}" for c in cells))


if __name__ == "__main__":
    main()
