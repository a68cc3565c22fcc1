"""Calls per second of the tabular agents' step API (``act``, ``observe``, ``plan``), the cost
a Gymnasium loop pays per real step on top of the env.

    python benchmarks/bench_step_api.py

For each agent, on a 47-state, 4-action table (the Dyna maze's size) with k = 0 so that
planning costs nothing: many calls of each method with fixed in-range arguments, timed
after a warm-up, median of 5 rounds. Nothing is asserted: timings depend on the machine.
"""

from __future__ import annotations

import functools
import statistics
import time

from dynaq.agents import AGENTS

CALLS = 20_000
ROUNDS = 5


def _per_second(fn) -> float:
    fn()  # compile or load the kernels
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for _ in range(CALLS):
            fn()
        times.append(time.perf_counter() - t0)
    return CALLS / statistics.median(times)


def main() -> None:
    print(f"step API calls per second ({CALLS:,} calls, median of {ROUNDS} rounds)")
    print(f"   {'agent':<22}{'act':>12}{'observe':>12}{'plan':>12}")
    for name, cls in AGENTS.items():
        agent = cls(47, 4, seed=0)
        rates = [_per_second(functools.partial(agent.act, 3)),
                 _per_second(functools.partial(agent.observe, 3, 1, 0.0, 4, False)),
                 _per_second(agent.plan)]
        print(f"   {name:<22}" + "".join(f"{r:>12.3g}" for r in rates))


if __name__ == "__main__":
    main()
