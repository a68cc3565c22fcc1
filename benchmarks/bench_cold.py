"""The first run after an install, with numba's cache empty, with and without warming it.

    python benchmarks/bench_cold.py                  # the demo's two reproductions
    python benchmarks/bench_cold.py fig8.4 fig8.5    # others

Each measurement starts from an empty private cache (``NUMBA_CACHE_DIR``, a temporary
directory; the package's own cache is left alone) and times whole processes:

1. cold: each reproduction's command run first, so that it compiles what it needs (the
   reproductions one after the other, in one cache, as ``make demo`` runs them);
2. warmed: ``python -m dynaq.warm`` (what ``make`` runs after installing), then each
   command, which should load every kernel from the cache and print no "compiling"
   notice.

Nothing is asserted, since timings depend on the machine and its load (compilation takes
one core per process: run it on a quiet machine).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DYNAQ = [sys.executable, "-m", "dynaq"]


def timed(command: list[str], cache: Path) -> tuple[float, str]:
    """Seconds a command takes as a whole process with ``cache`` as numba's, and its
    stderr."""
    start = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, "NUMBA_CACHE_DIR": str(cache)},
                          capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stderr


def commands(presets: list[str], cache: Path, out: Path) -> list[tuple[str, float, bool]]:
    """Each reproduction's command in turn: (name, seconds, whether it said it compiled)."""
    found = []
    for name in presets:
        seconds, err = timed([*DYNAQ, "reproduce", name, "--out", str(out / name)], cache)
        found.append((name, seconds, "compiling kernels" in err))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("presets", nargs="*", default=["fig8.2", "seed-table"])
    presets = parser.parse_args().presets
    with tempfile.TemporaryDirectory(prefix="dynaq-bench-cold-") as scratch:
        root = Path(scratch)
        cold = commands(presets, root / "cold-cache", root / "cold")
        warm_s, _ = timed([sys.executable, "-m", "dynaq.warm", *presets], root / "warm-cache")
        warmed = commands(presets, root / "warm-cache", root / "warmed")
    print(f"first runs from an empty numba cache ({os.cpu_count()} cores)")
    print(f"{'command':<34} {'cold':>8} {'warmed':>8}   compiled? (cold, warmed)")
    for (name, c, said_c), (_, w, said_w) in zip(cold, warmed, strict=True):
        print(f"{'dynaq reproduce ' + name:<34} {c:7.1f}s {w:7.1f}s   {said_c}, {said_w}")
    total_cold = sum(c for _, c, _ in cold)
    total_warmed = sum(w for _, w, _ in warmed)
    print(f"{'all of them':<34} {total_cold:7.1f}s {total_warmed:7.1f}s")
    print(f"python -m dynaq.warm {' '.join(presets)}: {warm_s:.1f}s (at install); first runs "
          f"{total_cold / total_warmed:.1f}x faster after it (target: no compiling on a "
          "first run)")


if __name__ == "__main__":
    main()
