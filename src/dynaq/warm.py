"""Compiling the kernels of reproductions ahead, so that their first run loads them.

numba compiles a kernel the first time a process calls it with new argument types and
keeps the machine code in its on-disk cache, which later processes load in a fraction of
a second. The first run after an install therefore waits on compilation, most of it the
run loop of :mod:`dynaq.kernels.run`, compiled once per agent variant (15–30 s each).
numba cannot compile when a package is installed, so ``make`` runs this module right
after installing (``python -m dynaq.warm``): the demo's reproductions then start from the
cache.

Each reproduction runs once with one seed into a scratch directory, one after another: the
real code path, so every kernel it compiles (the run loops, the ground truth, the
reporter's metrics) is compiled for exactly the argument types its real run passes, whose
number of seeds changes array shapes, not types. A run loop two reproductions share
compiles once. Compiling them side by side in worker processes was measured slower on a
two-core machine (three run loops: 73 s on two workers, 65 s on one), so they compile in
turn.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from dynaq.errors import ConfigError

DEMO = ("fig8.2", "seed-table")
"""The reproductions ``make demo`` runs, warmed by default."""


def warm(presets: Sequence[str] = DEMO) -> float:
    """Compiles into numba's cache every kernel the reproductions ``presets`` run, by
    running each once with one seed into a scratch directory, quietly.

    Returns:
        The seconds it took.

    Raises:
        ConfigError: a name is not a reproduction's (before anything runs).
    """
    from dynaq.experiments.driver import Options
    from dynaq.experiments.presets import get_preset

    start = time.perf_counter()
    chosen = [get_preset(name) for name in presets]
    with tempfile.TemporaryDirectory(prefix="dynaq-warm-") as scratch:
        for preset in chosen:
            preset.reproduce(1, Path(scratch) / preset.name, Options(quiet=True))
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dynaq.warm [PRESET ...]``: warm the cache, saying so; returns the exit
    status (2 for a name that is not a reproduction's)."""
    from dynaq.experiments.presets import get_preset

    parser = argparse.ArgumentParser(
        prog="python -m dynaq.warm",
        description="Compile the kernels of reproductions into numba's cache ahead of "
        "their first run.")
    parser.add_argument("presets", nargs="*", default=list(DEMO),
                        help=f"reproductions to warm (default: {' '.join(DEMO)})")
    presets = parser.parse_args(argv).presets
    try:
        for name in presets:  # checked before the notice, so that an error is one line
            get_preset(name)
    except ConfigError as error:
        print(f"dynaq: error: {error}", file=sys.stderr)
        return 2
    print(f"dynaq: compiling kernels for {', '.join(presets)} ahead of their first run "
          "(about half a minute, once) ...", file=sys.stderr, flush=True)
    seconds = warm(presets)
    print(f"dynaq: kernels compiled in {seconds:.0f} s; runs load them from numba's cache",
          file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
