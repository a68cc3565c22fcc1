"""Speed of :func:`dynaq.rng.make_states` against one SeedSequence per seed, in one run.

    python benchmarks/bench_rng.py                # 1000 seeds (a sweep unit's streams)
    python benchmarks/bench_rng.py --seeds 64 8   # other batch sizes

For each batch size it times, best of several repeats, both streams' states of seeds
``0 .. n - 1`` two ways: the SeedSequence path (:func:`dynaq.rng.make_state` per seed,
what ``make_states`` did before it hashed a batch at once) and ``make_states`` itself, checks
that the two give the same words, and prints the times and their ratio. Nothing is asserted
about speed: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

from dynaq import rng


def seed_sequence_path(seeds: list[int], stream: int) -> np.ndarray:
    return np.stack([rng.make_state(seed, stream) for seed in seeds])


def best_ms(repeats: int, work, *args) -> float:
    return min(timeit.repeat(lambda: work(*args), number=1, repeat=repeats)) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1000])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"{'seeds':>6} {'stream':>6} {'SeedSequence ms':>16} {'make_states ms':>15} "
          f"{'ratio':>6}")
    for n in args.seeds:
        seeds = list(range(n))
        for name, stream in (("AGENT", rng.AGENT), ("ENV", rng.ENV)):
            if not np.array_equal(rng.make_states(seeds, stream),
                                  seed_sequence_path(seeds, stream)):
                raise SystemExit(f"make_states differs from SeedSequence for {n} seeds, {name}")
            before = best_ms(args.repeats, seed_sequence_path, seeds, stream)
            after = best_ms(args.repeats, rng.make_states, seeds, stream)
            print(f"{n:>6} {name:>6} {before:>16.3f} {after:>15.3f} {before / after:>5.1f}x")


if __name__ == "__main__":
    main()
