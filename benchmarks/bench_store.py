"""The sweep store at scale: 10^7 episode rows stored, resumed and summarised, each phase a
whole ``dynaq run`` process, with its wall time and peak memory.

    python benchmarks/bench_store.py                 # 20,000 seeds x 10 configs x 50 episodes
    python benchmarks/bench_store.py --seeds 2000    # 10^6 rows, a quicker look

The command is ``dynaq run --env dynaq/DynaMaze-v0 --agent dyna-q --planning-steps 0 1 ... 9
--seeds N --episodes 50``; each phase runs it in a fresh process, whose peak resident
memory (``ru_maxrss``) is its own:

1. store: into an empty directory;
2. resume: the cells of the last tenth of the seeds deleted first (as a run killed near its
   end leaves them missing), then the same command: it checks every stored block, runs only
   the missing cells and writes the outputs;
3. summarise: the same command once more, with nothing left to run: the outputs alone,
   computed config by config (never every row in one frame).

It prints each phase's wall time and peak memory, the database's size and rows, and beside
them the memory one frame of every row would take (:func:`dynaq.load_results` of one
config, times the configs). Nothing is asserted: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KS = tuple(range(10))
EPISODES = 50
CHILD = """
import resource, sys
from dynaq.cli import main
code = main(sys.argv[1:])
print(f"maxrss_kib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
sys.exit(code)
"""


def _phase(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident GiB of ``dynaq ARGS`` in a fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"dynaq {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    kib = int(proc.stderr.rsplit("maxrss_kib ", 1)[1].split()[0])
    return wall, kib / 2 ** 20


def _forget_last_seeds(db: Path, first: int) -> int:
    """Delete the cells of seed >= ``first`` and their blocks; returns how many."""
    with sqlite3.connect(db) as conn:
        keys = [(k,) for (k,) in conn.execute("SELECT cell_key FROM cells WHERE seed >= ?",
                                              (first,))]
        conn.executemany("DELETE FROM episode_blocks WHERE cell_key = ?", keys)
        conn.executemany("DELETE FROM cells WHERE cell_key = ?", keys)
    return len(keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20_000)
    args = parser.parse_args()
    rows = args.seeds * len(KS) * EPISODES
    print(f"{args.seeds:,} seeds x {len(KS)} configs x {EPISODES} episodes = {rows:,} episode "
          f"rows; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        run = ["run", "--env", "dynaq/DynaMaze-v0", "--agent", "dyna-q", "--planning-steps",
               *map(str, KS), "--seeds", str(args.seeds), "--episodes", str(EPISODES),
               "--out", str(out), "--quiet"]
        _phase([*run[:-3], "--seeds", "2", "--out", f"{tmp}/warm", "--quiet"])  # numba's cache
        phases = {"store": _phase(run)}
        forgotten = _forget_last_seeds(out / "results.sqlite", args.seeds - args.seeds // 10)
        phases[f"resume ({forgotten:,} cells missing)"] = _phase(run)
        phases["summarise (nothing to run)"] = _phase(run)
        size = (out / "results.sqlite").stat().st_size
        from dynaq.experiments.store import results_by_config

        frame = next(iter(results_by_config(out)))
        one_config = frame.memory_usage(deep=True).sum()
    for name, (wall, gib) in phases.items():
        print(f"  {name:<32} {wall:8.1f} s   peak memory {gib:6.2f} GiB")
    print(f"  database: {size / 2 ** 30:.2f} GiB ({size / rows:.0f} bytes per episode row)")
    print(f"  one config's frame: {one_config / 2 ** 30:.2f} GiB; every row in one frame would "
          f"be about {one_config * len(KS) / 2 ** 30:.1f} GiB")


if __name__ == "__main__":
    main()
