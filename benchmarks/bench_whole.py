"""The whole command against its kernels: what a user waits for beyond the compiled cells.

    python benchmarks/bench_whole.py                        # this checkout
    python benchmarks/bench_whole.py --before /tmp/before   # and a checkout of an older
                                                            # commit, measured the same way

It prints three ratios, each measured in one run (warm numba cache):

1. ``dynaq run --env dynaq/DynaMaze-v0 --agent dyna-q --planning-steps 0 5 50 200 --seeds
   1000 --episodes 50`` as a whole process, against its compiled cells alone
   (``run_cells`` of the same configs and seeds, in chunks of the driver's 64 seeds, in
   this process after a warm-up); target <= 1.3;
2. growing a directory of 1000 seeds of k = 50 to 3000 through the CLI: the added backups
   per second of the whole growing command, against the kernels' (``run_cells`` of the
   2000 added seeds); target >= 0.8. Also the rate at the margin: the backups of those
   seeds over the wall time a fresh 3000-seed run takes beyond a fresh 1000-seed run, in
   which the start-up and the plotting cancel;
3. ``dynaq reproduce fig8.2`` (300 seeds) as a whole process, against the course's
   plain-Python sketch (``benchmarks/baseline.py``) doing the same 300 seeds of k in {0, 5,
   50} as a whole process (``--fig-seeds`` runs fewer of both); target >= 10.

Beside them it prints the floor that the imports set: the CPU time of a process that only
imports what any such command imports (numba, pandas, tyro, matplotlib's figure and Agg
canvas), spread evenly over the cores as if it overlapped the kernels perfectly, added to
the kernels' time; no one-process command can beat those two ratios on this machine.

With ``--before``, the same measurements run again on that checkout's ``src``
(``PYTHONPATH``, which comes before the editable install); the baseline is run once, for
both. With ``--huge-pages``, they run again with ``NUMPY_MADVISE_HUGEPAGE=1``: numpy asking
Linux for transparent huge pages, as it does by default and as the command did before it
turned that off in its own process. Nothing is asserted: timings depend on the machine
and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = "dynaq/DynaMaze-v0"
KS = (0, 5, 50, 200)
SEEDS, GROWN, EPISODES, CHUNK = 1000, 3000, 50, 64
FIG_KS = (0, 5, 50)
IMPORTS = "import numba, pandas, tyro, matplotlib.figure, matplotlib.backends.backend_agg"
"""What any such command imports, whatever it does (DESIGN.md's chosen dependencies)."""
BASELINE = """
import sys, time
sys.path.insert(0, {here!r})
from baseline import dyna_maze_table, run_baseline
world = dyna_maze_table()
for k in {ks!r}:
    for seed in range({seeds}):
        run_baseline(k, 50, seed, world)
"""


def _wall(cmd: list[str], env: dict[str, str]) -> float:
    """Wall seconds of a whole process."""
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


def _cpu_s(cmd: list[str], env: dict[str, str]) -> float:
    """CPU seconds (user and system) of a whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _cells_s(k: int, seeds: range) -> float:
    """Seconds of the compiled cells alone, chunked as the driver chunks them."""
    from dynaq.experiments.config import RunConfig
    from dynaq.experiments.runner import run_cells

    run = RunConfig(env=ENV, agent="dyna-q", planning_steps=k, episodes=EPISODES)
    run_cells(run, [0])  # loads the kernels from numba's cache
    t0 = time.perf_counter()
    for i in range(seeds.start, seeds.stop, CHUNK):
        run_cells(run, list(range(i, min(i + CHUNK, seeds.stop))))
    return time.perf_counter() - t0


def _added_backups(out: Path, first_seed: int) -> int:
    """Backups of the stored cells of seed >= ``first_seed`` (their last episode's)."""
    from dynaq import load_results

    df = load_results(out)
    last = df[df["seed"] >= first_seed].groupby(["planning_steps", "seed"])["backups"].last()
    return int(last.sum())


def measure(fig_seeds: int, huge_pages: bool = False) -> dict[str, float]:
    """The whole commands and their cells, with this process's ``dynaq`` (``huge_pages``:
    the commands' numpy asks for transparent huge pages)."""
    env = {**os.environ, **({"NUMPY_MADVISE_HUGEPAGE": "1"} if huge_pages else {})}
    dynaq = [sys.executable, "-m", "dynaq"]
    run = [*dynaq, "run", "--env", ENV, "--agent", "dyna-q", "--episodes", str(EPISODES),
           "--quiet"]
    ks = [str(k) for k in KS]
    with tempfile.TemporaryDirectory() as tmp:
        # warm numba's cache for every command measured (outside the clock)
        _wall([*run, "--planning-steps", *ks, "--seeds", "2", "--out", f"{tmp}/warm"], env)
        _wall([*dynaq, "reproduce", "fig8.2", "--seeds", "2", "--out", f"{tmp}/warm82"], env)
        whole = _wall([*run, "--planning-steps", *ks, "--seeds", str(SEEDS),
                       "--out", f"{tmp}/sweep"], env)
        cells = sum(_cells_s(k, range(SEEDS)) for k in KS)
        grow = [*run, "--planning-steps", "50", "--out", f"{tmp}/grow"]
        small_s = _wall([*grow, "--seeds", str(SEEDS)], env)
        grow_s = _wall([*grow, "--seeds", str(GROWN)], env)
        imports_cpu = min(_cpu_s([sys.executable, "-c", IMPORTS], env) for _ in range(3))
        big_s = _wall([*run, "--planning-steps", "50", "--seeds", str(GROWN),
                       "--out", f"{tmp}/big"], env)
        added = _added_backups(Path(tmp) / "grow", SEEDS)
        kernel_s = _cells_s(50, range(SEEDS, GROWN))
        fig = _wall([*dynaq, "reproduce", "fig8.2", "--seeds", str(fig_seeds),
                     "--out", f"{tmp}/fig"], env)
    return dict(whole_s=whole, cells_s=cells, grow_s=grow_s, kernel_s=kernel_s,
                added_backups=added, fig_s=fig, marginal_s=big_s - small_s,
                imports_cpu=imports_cpu)


def report(label: str, m: dict[str, float], baseline_s: float, fig_seeds: int) -> None:
    cli_rate, kernel_rate = m["added_backups"] / m["grow_s"], m["added_backups"] / m["kernel_s"]
    print(f"{label}:")
    print(f"  run, {SEEDS} seeds x k in {list(KS)}: whole {m['whole_s']:.2f} s, cells alone "
          f"{m['cells_s']:.2f} s, ratio {m['whole_s'] / m['cells_s']:.2f}   target <= 1.3")
    print(f"  grow k = 50, {SEEDS} -> {GROWN} seeds: whole {m['grow_s']:.2f} s, "
          f"{cli_rate:.3g} backups/s; kernels {m['kernel_s']:.2f} s, {kernel_rate:.3g} "
          f"backups/s; ratio {cli_rate / kernel_rate:.2f}   target >= 0.8")
    marginal = m["added_backups"] / m["marginal_s"]
    print(f"    the same seeds at the margin (a fresh {GROWN}-seed run minus a fresh {SEEDS}-seed "
          f"run: start-up and plotting cancel): {marginal:.3g} backups/s, ratio "
          f"{marginal / kernel_rate:.2f}")
    # the best a command could do if the imports it cannot skip shared every core with
    # the kernels perfectly: their CPU time spread over the cores, added to the kernels'
    spread = m["imports_cpu"] / (os.cpu_count() or 1)
    print(f"  floor: the imports alone ({m['imports_cpu']:.2f} s of CPU, spread over "
          f"{os.cpu_count()} cores) allow at best a run ratio of "
          f"{(m['cells_s'] + spread) / m['cells_s']:.2f} and a growth ratio of "
          f"{m['kernel_s'] / (m['kernel_s'] + spread):.2f}")
    print(f"  reproduce fig8.2, {fig_seeds} seeds: whole {m['fig_s']:.2f} s; plain-Python "
          f"sketch {baseline_s:.2f} s; {baseline_s / m['fig_s']:.1f}x faster   target >= 10")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a checkout to measure the same way")
    parser.add_argument("--fig-seeds", type=int, default=300)
    parser.add_argument("--huge-pages", action="store_true",
                        help="measure again with NUMPY_MADVISE_HUGEPAGE=1")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_only:  # the child of --before: numbers only, as JSON
        print(json.dumps(measure(args.fig_seeds)))
        return
    print(f"{os.cpu_count()} cores; warm numba cache; {time.strftime('%Y-%m-%d %H:%M')}")
    after = measure(args.fig_seeds)
    huge = measure(args.fig_seeds, huge_pages=True) if args.huge_pages else None
    before = None
    if args.before is not None:
        env = {**os.environ, "PYTHONPATH": str(args.before.resolve() / "src")}
        out = subprocess.run([sys.executable, __file__, "--measure-only", "--fig-seeds",
                              str(args.fig_seeds)], check=True, capture_output=True,
                             text=True, env=env).stdout
        before = json.loads(out.strip().splitlines()[-1])
    baseline_s = _wall([sys.executable, "-c", BASELINE.format(
        here=str(Path(__file__).parent), ks=FIG_KS, seeds=args.fig_seeds)], dict(os.environ))
    if before is not None:
        report(f"before ({args.before})", before, baseline_s, args.fig_seeds)
    if huge is not None:
        report("this checkout, NUMPY_MADVISE_HUGEPAGE=1", huge, baseline_s, args.fig_seeds)
    report("this checkout", after, baseline_s, args.fig_seeds)


if __name__ == "__main__":
    main()
