"""Speed and memory of Dyna-Q's models: the deterministic table and transition counts with
sample and expected backups (and tabular replay beside them), printed side by side.

    python benchmarks/bench_models.py            # the full run (a few minutes)
    python benchmarks/bench_models.py --quick    # a short smoke run

It prints:

1. backups per second on ONE core, Dyna maze, k = 50, 50 episodes per seed: whole runs of
   the compiled runner (env steps and per-episode metrics included), each model timed
   after a warm-up call, the models interleaved and repeated; the median ratio to the
   deterministic model (target for counts with sample backups: within 2x);
2. on a generated perfect maze of about 10^6 states (``generate_maze(707, 707)``), each
   measurement in a fresh process: (a) the planning kernel alone on a model that holds
   every (s, a) of the maze, backups per second and the resident memory the model added;
   (b) a whole run of one seed for T real steps (k = 10): its time (mostly the exact
   metrics at the end), the pairs its model came to hold, the resident memory the run
   added (the peak is reset after the MDP and its ground truth are built) and the
   process's peak (MDP and value iteration included). Target: < 1 GiB.

Targets are printed beside the numbers; nothing is asserted, since timings depend on the
machine and its load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit

from dynaq import rng
from dynaq.agents import AGENTS
from dynaq.envs import env_model
from dynaq.experiments.config import RunConfig
from dynaq.experiments.runner import _truths
from dynaq.kernels import counts, replay
from dynaq.kernels import dyna_q as dq
from dynaq.kernels import run as kernels
from dynaq.records import BACKUPS, MODEL_COVERAGE, N_FIELDS

MODELS = {"deterministic": dict(agent="dyna-q"),
          "counts, sample": dict(agent="dyna-q", model="counts"),
          "counts, expected": dict(agent="dyna-q", model="counts", backup="expected"),
          "replay (buffer)": dict(agent="replay")}
TARGET_RATIO = 2.0
TARGET_BYTES = 2 ** 30


class Runs:
    """The compiled runner's inputs for one env, built outside the timed region."""

    def __init__(self, env_id: str) -> None:
        self.mdp, _ = env_model(env_id)
        truths = _truths(self.mdp, 0.95)
        self.world, self.switch_at = self.mdp.stacked()
        self.cdf = np.cumsum(self.mdp.initial)
        self.v_star = np.stack([t.v_star for t in truths])
        self.reachable = np.stack([t.reachable for t in truths])

    def run(self, run: RunConfig, seeds: range) -> tuple[float, np.ndarray]:
        """One call of the runner for ``seeds``: (seconds, each seed's last record)."""
        agent, config = AGENTS[run.agent], run.agent_config()
        capacity = run.episodes or -(-run.total_steps // max(self.mdp.shortest_episode(), 1))
        Q = np.zeros((len(seeds), self.mdp.n_states, self.mdp.n_actions))
        records = np.zeros((len(seeds), capacity, N_FIELDS))
        t0 = time.perf_counter()
        done = kernels.run_agent(
            kernels.agent_id(agent.kernels(config)), agent.hyperparameters(config), run.gamma,
            self.world, self.switch_at, self.cdf, self.v_star, self.reachable, capacity,
            run.total_steps or 0, 0, rng.make_states(list(seeds), rng.AGENT),
            rng.make_states(list(seeds), rng.ENV), Q, records)
        return time.perf_counter() - t0, records[np.arange(len(seeds)), done - 1]


def bench_dyna_maze(seeds: int, repeats: int) -> None:
    """Backups per second of each model on the Dyna maze, one thread."""
    numba.set_num_threads(1)
    runs = Runs("dynaq/DynaMaze-v0")
    configs = {name: RunConfig(planning_steps=50, episodes=50, **fields)
               for name, fields in MODELS.items()}
    for run in configs.values():
        runs.run(run, range(1))  # warm-up: loads (or compiles) the kernels
    times: dict[str, list[float]] = {name: [] for name in configs}
    backups = {}
    for _ in range(repeats):
        for name, run in configs.items():
            seconds, last = runs.run(run, range(seeds))
            times[name].append(seconds)
            backups[name] = last[:, BACKUPS].sum()
    base = times["deterministic"]
    print(f"1. Dyna maze, k = 50, 50 episodes x {seeds} seeds, one thread, "
          f"median of {repeats} (best in brackets)")
    print(f"   {'model':<18}{'backups/s':>12}{'best':>12}{'time / deterministic':>24}")
    for name, ts in times.items():
        ratio = statistics.median(np.array(ts) / np.array(base))
        print(f"   {name:<18}{backups[name] / statistics.median(ts):>12.3e}"
              f"{backups[name] / min(ts):>12.3e}{ratio:>24.2f}")
    print(f"   target: counts with sample backups within {TARGET_RATIO:.0f}x of deterministic")


@njit(cache=True)
def _fill_deterministic(n_states, n_actions, offsets, next_state, reward, terminated):
    m_int, m_reward = dq.new_model(n_states, n_actions)
    n = 0
    for sa in range(n_states * n_actions):
        o = offsets[sa]
        n = dq.model_update(m_int, m_reward, n, n_actions, sa // n_actions, sa % n_actions,
                            reward[o], next_state[o], terminated[o])
    return m_int, m_reward, n


@njit(cache=True)
def _fill_counts(n_states, n_actions, offsets, next_state, reward, terminated):
    m_int, pool, count = counts.new_model(n_states, n_actions)
    for sa in range(n_states * n_actions):
        o = offsets[sa]
        counts.model_update(m_int, pool, count, n_actions, sa // n_actions, sa % n_actions,
                            reward[o], next_state[o], terminated[o])
    return m_int, pool, count


@njit(cache=True)
def _fill_replay(n_states, n_actions, offsets, next_state, reward, terminated):
    buffer = replay.new_buffer(n_states, n_actions, n_states * n_actions)
    for sa in range(n_states * n_actions):
        o = offsets[sa]
        replay.store(buffer, n_actions, sa // n_actions, sa % n_actions, reward[o],
                     next_state[o], terminated[o])
    return buffer


def _full_model(name: str, mdp, backups: int) -> tuple[float, int]:
    """A model holding every pair of ``mdp``: (seconds for ``backups`` planning backups,
    the peak resident memory of building and planning with it)."""
    arrays = (mdp.n_states, mdp.n_actions, mdp.offsets, mdp.next_state, mdp.reward,
              mdp.terminated)
    Q, state = np.zeros((mdp.n_states, mdp.n_actions)), rng.make_state(0)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident size (Linux)
    base = _status("VmRSS")
    if name == "deterministic":
        m_int, m_reward, n = _fill_deterministic(*arrays)

        def plan(k: int) -> None:
            dq.plan_uniform(Q, m_int, m_reward, n, k, 0.1, 0.95, state)
    elif name == "replay (buffer)":
        buffer = _fill_replay(*arrays)

        def plan(k: int) -> None:
            hp = replay.ReplayParams(0.1, 0.95, 0.0, k, len(buffer.b_reward))
            replay.plan(Q, buffer, k, 0, hp, state)
    else:
        m_int, pool, count = _fill_counts(*arrays)

        def plan(k: int) -> None:
            counts.plan_sampled(Q, m_int, pool.p_int, pool.p_reward, count[counts.N_SEEN],
                                name.endswith("expected"), dq.UNIFORM, -1, -1, k, 0.1, 0.95,
                                0.0, state)
    plan(1000)
    t0 = time.perf_counter()
    plan(backups)
    return time.perf_counter() - t0, _status("VmHWM") - base


def _maze(rows: int) -> tuple:
    """The generated maze registered as ``bench/Maze-v0``: (its MDP, a tiny one)."""
    import gymnasium as gym

    from dynaq.envs import GridWorld, GridWorldEnv, generate_maze

    world = GridWorld(generate_maze(rows, rows), name="bench/Maze-v0")
    gym.register("bench/Maze-v0", entry_point=lambda: GridWorldEnv(world))
    return env_model("bench/Maze-v0")[0], GridWorld(generate_maze(2, 2)).to_mdp()


def measure_plan(name: str, rows: int) -> dict:
    """(a), in this process: planning on a model of every pair of the maze."""
    numba.set_num_threads(1)
    mdp, tiny = _maze(rows)
    _full_model(name, tiny, 1000)  # compile first: the compiler's memory is not the model's
    seconds, model_bytes = _full_model(name, mdp, 10_000_000)
    return dict(states=mdp.n_states, rate=1e7 / seconds, bytes=model_bytes)


def measure_run(name: str, rows: int, steps: int) -> dict:
    """(b), in this process: a whole run of ``steps`` real steps."""
    numba.set_num_threads(1)
    _maze(rows)
    runs = Runs("bench/Maze-v0")
    run = RunConfig(env="bench/Maze-v0", planning_steps=10, episodes=None, total_steps=steps,
                    **MODELS[name])
    runs.run(RunConfig(env="bench/Maze-v0", planning_steps=10, episodes=None, total_steps=10,
                       **MODELS[name]), range(1))  # compile outside the measurement
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident size (Linux)
    base = _status("VmRSS")
    seconds, (last,) = runs.run(run, range(1))
    return dict(seconds=seconds, backups=float(last[BACKUPS]),
                pairs=float(last[MODEL_COVERAGE] * runs.reachable[0].sum() * 4),
                bytes=_status("VmHWM") - base, peak=_maxrss())


def _status(field: str) -> int:
    """A size from /proc/self/status, in bytes."""
    line = next(x for x in Path("/proc/self/status").read_text().splitlines()
                if x.startswith(field))
    return int(line.split()[1]) * 1024


def _maxrss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _in_process(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", *args], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_big_maze(rows: int, steps: int) -> None:
    print(f"\n2. generated maze of {rows} x {rows} rooms, one thread, each measurement in a "
          "fresh process:\n   (a) planning on a model that holds every (s, a) of the maze, "
          f"10^7 backups;\n   (b) a whole run: one seed, k = 10, {steps:,} real steps, exact "
          "metrics at the end")
    print(f"   {'model':<18}{'states':>10}{'(a) backups/s':>15}{'model memory':>14}"
          f"{'(b) seconds':>13}{'backups':>12}{'pairs seen':>12}{'run memory':>12}"
          f"{'process peak':>14}")
    for name in MODELS:
        a = _in_process("plan", name, str(rows))
        b = _in_process("run", name, str(rows), str(steps))
        print(f"   {name:<18}{a['states']:>10,}{a['rate']:>15.3e}"
              f"{a['bytes'] / 2**20:>10,.0f} MiB{b['seconds']:>13.1f}{b['backups']:>12,.0f}"
              f"{b['pairs']:>12,.0f}{b['bytes'] / 2**20:>8,.0f} MiB"
              f"{b['peak'] / 2**20:>10,.0f} MiB")
    print(f"   target: < {TARGET_BYTES / 2**30:.0f} GiB at 10^6 states. Memory: what building "
          "and planning with the model added (a); what the run added (b: Q, the model, the\n"
          "   runner's per-episode metrics); the process's peak (b, with the MDP and its "
          "ground truth by value iteration). (b)'s time is mostly the exact evaluation of\n"
          "   the final greedy policy over every state.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, name, *sizes = args.one
        measure = measure_plan if kind == "plan" else measure_run
        print(json.dumps(measure(name, *map(int, sizes))))
        return
    bench_dyna_maze(seeds=20 if args.quick else 200, repeats=3 if args.quick else 7)
    bench_big_maze(rows=101 if args.quick else 707, steps=20_000 if args.quick else 1_000_000)


if __name__ == "__main__":
    main()
