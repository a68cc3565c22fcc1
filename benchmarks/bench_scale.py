"""Scale: prioritized sweeping and the counts model on generated mazes up to 10^6 states.

    python benchmarks/bench_scale.py            # mazes of 97 … 999,697 states (a few minutes)
    python benchmarks/bench_scale.py --quick    # up to 10,081 states

Each maze is a random perfect maze (``dynaq.envs.maps.generate_maze``: ``2·r·c − 1``
states, one path between any two cells, start and goal at opposite corners), every move
paying −1 so that every transition carries news and prioritized sweeping always has
something queued (with a goal-only reward its queue stays empty until the goal is first
found, which in a large maze it never is). Each size runs in a fresh process (so that its
peak memory is its own); there every agent and model runs ``--steps`` real steps, k = 5,
in one compiled loop without per-episode metrics, timed after a warm-up call, and the
table shows:

- backups per second (direct and planning, as ``records[..., BACKUPS]`` counts them; a
  prioritized sweep stops early when its queue empties) and the rate relative to Dyna-Q
  with the deterministic model on the same maze;
- the pairs seen, and the agent's memory: bytes of Q and of every array of its state
  (model, counts pool, predecessor index, queue), measured after the run;
- the process's peak resident memory, which also holds the maze's TabularMDP.

The target is under 1 GiB at 10^6 states. Timings depend on the machine and its load;
nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
from numba import njit
from numba.experimental.structref import StructRefProxy

from dynaq import rng
from dynaq.agents import AGENTS
from dynaq.envs import GridWorld, generate_maze
from dynaq.kernels.run import sample_outcome

ROOMS = (7, 22, 71, 224, 707)
"""Rooms per side: 97, 967, 10,081, 100,351 and 999,697 states."""
K, ALPHA, GAMMA, EPSILON = 5, 0.1, 0.95, 0.1
VARIANTS = (("dyna-q", "deterministic", "sample"), ("dyna-q", "counts", "sample"),
            ("dyna-q", "counts", "expected"), ("prioritized-sweeping", "deterministic", "sample"),
            ("prioritized-sweeping", "counts", "expected"))
"""(agent, model, backup) pairs benchmarked."""
GIB = 2 ** 30


@njit
def drive(init, act, learn, hp, world, start, n_states, n_actions, steps, agent_rng,
          env_rng):
    """``steps`` real steps of an agent from an empty model: act, step the world, learn;
    an episode that ends starts again at ``start``. Returns ``(backups, Q, state)``."""
    offsets, next_state, prob, reward, terminated = world
    Q = np.zeros((n_states, n_actions))
    state = init(n_states, n_actions, hp)
    s, backups = start, 0
    for t in range(steps):
        a = act(Q, state, s, t, hp, agent_rng)
        i = sample_outcome(offsets, prob, s * n_actions + a, env_rng)
        backups += learn(Q, state, s, a, reward[i], next_state[i], terminated[i], t + 1, hp,
                         agent_rng)
        s = start if terminated[i] else next_state[i]
    return backups, Q, state


def nbytes(obj: object) -> int:
    """Bytes of every numpy array in ``obj`` (nested tuples, typed Lists and structrefs:
    the counts pool and the predecessor index)."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, tuple) or type(obj).__name__ == "List":
        return sum(nbytes(item) for item in obj)
    if isinstance(obj, StructRefProxy):
        return sum(nbytes(getattr(obj, name)) for name in obj._type.field_dict)
    return 0


def seen_pairs(state: tuple) -> int:
    """Pairs the model holds (both models keep the count first in ``state[2]``)."""
    return int(state[2][0])


def bench_size(rooms: int, steps: int) -> list[dict]:
    """Every variant on the ``rooms × rooms`` maze, in this process."""
    t0 = time.perf_counter()
    world = GridWorld(generate_maze(rooms, rooms, seed=0), step_reward=-1.0, goal_reward=0.0,
                      name=f"maze{rooms}")
    mdp = world.to_mdp()
    built = time.perf_counter() - t0
    start = int(np.argmax(mdp.initial))
    rows = []
    for agent_name, model, backup in VARIANTS:
        agent = AGENTS[agent_name]
        config = agent.Config(alpha=ALPHA, gamma=GAMMA, epsilon=EPSILON, planning_steps=K,
                              model=model, backup=backup)
        fns = agent.kernels(config)
        args = (fns[0], fns[1], fns[2], agent.hyperparameters(config), mdp.arrays, start,
                mdp.n_states, mdp.n_actions)
        drive(*args, 10, rng.make_state(1), rng.make_state(1, rng.ENV))  # compile
        t1 = time.perf_counter()
        backups, Q, state = drive(*args, steps, rng.make_state(0), rng.make_state(0, rng.ENV))
        seconds = time.perf_counter() - t1
        rows.append(dict(states=mdp.n_states, agent=agent_name, model=model, backup=backup,
                         backups=int(backups), seconds=seconds, rate=backups / seconds,
                         pairs=seen_pairs(state), agent_bytes=Q.nbytes + nbytes(state),
                         build_s=built))
        del Q, state
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return [dict(row, peak_bytes=peak) for row in rows]


def print_table(rows: list[dict], steps: int) -> None:
    print(f"\n{steps:,} real steps per run, k = {K}, α = {ALPHA}, γ = {GAMMA}, ε = {EPSILON}; "
          "step reward −1\n")
    print("| states | agent | model | backup | backups/s | vs Dyna-Q det. | pairs seen | "
          "agent memory | peak RSS (process) |")
    print("|---:|---|---|---|---:|---:|---:|---:|---:|")
    base = {r["states"]: r["rate"] for r in rows if r["agent"] == "dyna-q"
            and r["model"] == "deterministic"}
    for r in rows:
        print(f"| {r['states']:,} | {r['agent']} | {r['model']} | {r['backup']} | "
              f"{r['rate']:.3g} | {r['rate'] / base[r['states']]:.2f} | {r['pairs']:,} | "
              f"{r['agent_bytes'] / 2**20:,.1f} MiB | {r['peak_bytes'] / 2**20:,.0f} MiB |")
    largest = max(r["states"] for r in rows)
    worst = max(r["peak_bytes"] for r in rows if r["states"] == largest)
    print(f"\nLargest maze {largest:,} states: peak resident memory {worst / GIB:.2f} GiB "
          f"(target < 1 GiB: {'met' if worst < GIB else 'NOT met'}).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="mazes up to 10^4 states")
    parser.add_argument("--steps", type=int, default=None, help="real steps per run")
    parser.add_argument("--rooms", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    steps = args.steps or (50_000 if args.quick else 300_000)
    if args.rooms is not None:  # a child process: one size, rows as JSON
        print(json.dumps(bench_size(args.rooms, steps)))
        return
    rows = []
    for rooms in ROOMS[:3] if args.quick else ROOMS:
        out = subprocess.run([sys.executable, __file__, "--rooms", str(rooms), "--steps",
                              str(steps)], capture_output=True, text=True, check=True)
        rows += json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{rows[-1]['states']:,} states done (maze built in {rows[-1]['build_s']:.1f} s)",
              file=sys.stderr)
    print_table(rows, steps)


if __name__ == "__main__":
    main()
