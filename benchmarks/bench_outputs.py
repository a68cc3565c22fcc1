"""In-process times of a big run's outputs: its summary, curve and default plot, now and
(optionally) at an earlier checkout, on the same results frame.

    python benchmarks/bench_outputs.py [--before OTHER/src] [--results DIR] [--rounds 7]

The frame is that of ``dynaq run --env dynaq/DynaMaze-v0 --agent dyna-q --planning-steps 0
5 50 200 --seeds 1000 --episodes 50`` (200,000 episode rows), run here into a temporary
directory (about 6 s) unless ``--results`` names one; it is loaded once, by this checkout,
and handed to each measurement as a pickle, so both checkouts time the same frame whatever
their stores. Each checkout is timed in a fresh process (``--before``: the ``src``
directory of another checkout, put first on ``PYTHONPATH``): ``per_seed``, ``summarize``,
``curve`` and ``plot_curves(df, path, y="steps", first=2, ylabel="steps per episode")`` (the
default plot of ``dynaq run``), each once to warm up (the first plot imports matplotlib,
timed apart), then ``--rounds`` times; the best and median wall times are printed, and the
median CPU time, steadier on a shared machine. Nothing is asserted: timings depend on the
machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
SWEEP = ["run", "--env", "dynaq/DynaMaze-v0", "--agent", "dyna-q", "--planning-steps", "0", "5",
         "50", "200", "--seeds", "1000", "--episodes", "50", "--quiet"]
CALLS = ("per_seed", "summarize", "curve", "plot_curves")


def measure(frame: Path, rounds: int) -> dict[str, dict[str, float]]:
    """Times of :data:`CALLS` on the pickled frame, in seconds, in this process."""
    import pandas as pd

    from dynaq.analysis.plots import plot_curves
    from dynaq.analysis.stats import curve, per_seed, summarize

    df = pd.read_pickle(frame)
    png = frame.with_suffix(".png")
    calls = {"per_seed": lambda: per_seed(df), "summarize": lambda: summarize(df),
             "curve": lambda: curve(df),
             "plot_curves": lambda: plot_curves(df, png, y="steps", first=2,
                                                ylabel="steps per episode")}
    times = {}
    start = time.perf_counter()
    calls["plot_curves"]()
    times["first plot_curves (imports matplotlib)"] = {"best": time.perf_counter() - start}
    for name, call in calls.items():
        call()
        wall, cpu = [], []
        for _ in range(rounds):
            start, start_cpu = time.perf_counter(), time.process_time()
            call()
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        times[name] = {"best": min(wall), "median": statistics.median(wall),
                       "cpu": statistics.median(cpu)}
    return times


def _measured(src: Path, frame: Path, rounds: int) -> dict[str, dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    out = subprocess.run([sys.executable, __file__, "--measure", str(frame), "--rounds",
                          str(rounds)], check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="the src directory of another checkout")
    parser.add_argument("--results", type=Path, help="a results directory of the sweep")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.rounds)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        results = args.results
        if results is None:
            results = Path(tmp) / "sweep"
            subprocess.run([sys.executable, "-m", "dynaq", *SWEEP, "--out", str(results)],
                           check=True, env={**os.environ, "PYTHONPATH": str(SRC)})
        frame = Path(tmp) / "frame.pkl"
        subprocess.run([sys.executable, "-c", "import sys, dynaq; dynaq.load_results("
                        "sys.argv[1]).to_pickle(sys.argv[2])", str(results), str(frame)],
                       check=True, env={**os.environ, "PYTHONPATH": str(SRC)})
        now = _measured(SRC, frame, args.rounds)
        before = _measured(args.before, frame, args.rounds) if args.before else None
    print(f"{'ms':40}{'best':>8}{'median':>8}{'cpu':>8}"
          + (f"{'before':>8}{'ratio':>7}" if before else ""))
    for name, t in now.items():
        cells = "".join(f"{t[k] * 1000:8.0f}" if k in t else f"{'':8}"
                        for k in ("best", "median", "cpu"))
        if before:
            cells += f"{before[name]['best'] * 1000:8.0f}{before[name]['best'] / t['best']:6.2f}x"
        print(f"{name:40}{cells}")
    if before:
        print("(before: best wall time at the other checkout; ratio: before / now)")


if __name__ == "__main__":
    main()
