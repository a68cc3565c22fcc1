"""Whole-process start-up times of dynaq's quick commands, now and (optionally) at an
earlier checkout.

    python benchmarks/bench_startup.py [--before OTHER/src] [--rounds 7]

Each command runs as a fresh process (``python -m dynaq`` is the ``dynaq`` command), once to
warm the file cache, then ``--rounds`` times; the median wall time is printed, and with
``--before`` (the ``src`` directory of another checkout, put first on ``PYTHONPATH``) also
the earlier median and the ratio before / now. ``dynaq ls`` reads a small results
directory that this tree writes first (numba's kernel cache should be warm, or that first
run compiles). Nothing is asserted: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
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


def _median_s(args: list[str], src: Path, rounds: int) -> float:
    """The median wall time of ``python ARGS`` with ``src`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    times = []
    for i in range(rounds + 1):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *args], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i:  # the first only warms the file cache
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _results_dir(parent: Path) -> Path:
    """A small results directory (2 configs × 2 seeds of 3 episodes), written by this tree."""
    out = parent / "results"
    subprocess.run([sys.executable, "-m", "dynaq", "run", "--env", "dynaq/DynaMaze-v0",
                    "--planning-steps", "0", "5", "--seeds", "2", "--episodes", "3", "--out",
                    str(out), "--quiet"], env={**os.environ, "PYTHONPATH": str(SRC)},
                   check=True, stdout=subprocess.DEVNULL)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="src directory of an earlier checkout")
    parser.add_argument("--rounds", type=int, default=7, help="timed runs per command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        commands = _commands(_results_dir(Path(tmp)))
        print(f"whole-process wall time, median of {args.rounds} runs (s)")
        print(f"   {'command':<24}{'before':>9}{'now':>9}{'before/now':>12}")
        for label, command in commands.items():
            now = _median_s(command, SRC, args.rounds)
            if args.before is None:
                print(f"   {label:<24}{'':>9}{now:>9.3f}")
                continue
            before = _median_s(command, args.before, args.rounds)
            print(f"   {label:<24}{before:>9.3f}{now:>9.3f}{before / now:>11.1f}x")


if __name__ == "__main__":
    main()
