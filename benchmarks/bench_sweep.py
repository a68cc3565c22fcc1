"""A big sweep end to end: 1000 seeds x k in {0, 5, 50, 200} x 50 episodes on the Dyna maze,
every per-episode metric computed and stored, timed as one `dynaq sweep` command.

Run: ``python benchmarks/bench_sweep.py [--seeds N] [--backend serial|process|ray]``.
Prints the wall time, the cells per second and the episode rows stored. The target
(issue: experiments at scale) is <= 10 s wall on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dynaq import load_results

SWEEP = """name = "bench-1000"
seeds = {seeds}

[fixed]
env = "dynaq/DynaMaze-v0"
episodes = 50

[sweep]
planning_steps = [0, 5, 50, 200]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--backend", default="serial")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(tmp) / "sweep.toml"
        sweep.write_text(SWEEP.format(seeds=args.seeds))
        warm = Path(tmp) / "warm.toml"  # loads numba's cache outside the timed run
        warm.write_text(SWEEP.format(seeds=2))
        cmd = [sys.executable, "-m", "dynaq", "sweep", "--quiet", "--backend", args.backend]
        subprocess.run([*cmd, str(warm), "--out", f"{tmp}/warm"], check=True,
                       capture_output=True)
        t0 = time.perf_counter()
        subprocess.run([*cmd, str(sweep), "--out", f"{tmp}/out"], check=True,
                       capture_output=True)
        wall = time.perf_counter() - t0
        df = load_results(f"{tmp}/out")
        cells = len(df.groupby(["planning_steps", "seed"]))
        rows = len(df)
        backups = int(df.groupby(["planning_steps", "seed"])["backups"].last().sum())
    print(f"{args.seeds} seeds x 4 k x 50 episodes, backend {args.backend}, "
          f"{os.cpu_count()} cores")
    print(f"  wall (whole command, incl. start-up and outputs): {wall:.2f} s   target <= 10 s")
    print(f"  cells: {cells}  ({cells / wall:.0f} cells/s)   episode rows stored: {rows:,}")
    print(f"  backups: {backups:,}  ({backups / wall:.3g} backups/s)")


if __name__ == "__main__":
    main()
