"""Speed of dynaq against the course's plain-Python Dyna-Q, printed side by side.

    python benchmarks/bench_speed.py            # the full run (about half a minute)
    python benchmarks/bench_speed.py --quick    # a short smoke run

It prints:

1. backups per second on ONE core, Dyna maze, k = 50, 50 episodes per seed, for the
   baseline (``benchmarks/baseline.py``) and for dynaq's compiled
   ``dynaq.kernels.run.run_batch`` with Dyna-Q's functions (``numba.set_num_threads(1)``,
   timed after a warm-up
   call, over enough seeds to run at least 1 s), and their ratio. A backup is one Q update:
   1 direct + k planning per real step, as ``records[..., BACKUPS]`` counts them. dynaq's
   time is the whole run, so it includes env steps and the per-episode ground-truth metrics
   (the baseline computes none); then the planning kernel alone;
2. dynaq on all cores: 1000 seeds × k ∈ {0, 5, 50} × 50 episodes through ``run_cells``;
3. the whole-process wall time of ``dynaq reproduce fig8.2`` (one run to warm numba's
   cache, then the best and median of 3 into fresh temporary directories).

Targets are printed beside the numbers; nothing is asserted, since timings depend on the
machine and its load.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numba
import numpy as np

from baseline import dyna_maze_table, run_baseline  # benchmarks/, on sys.path as the script's dir
from dynaq import rng
from dynaq.agents import AgentKernels
from dynaq.envs import env_model
from dynaq.experiments.config import RunConfig
from dynaq.experiments.runner import run_cells
from dynaq.kernels import dyna_q
from dynaq.kernels import run as kernels
from dynaq.metrics import GroundTruth
from dynaq.models import DeterministicModel
from dynaq.records import BACKUPS, ENV_STEPS, N_FIELDS, STEPS

ENV_ID = "dynaq/DynaMaze-v0"
K, EPISODES = 50, 50
ALPHA, GAMMA, EPSILON = 0.1, 0.95, 0.1
TARGET_BACKUPS_PER_S = 1.5e8
TARGET_RATIO = 200.0
TARGET_FIG82_S = 3.0


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    load = ""
    if hasattr(os, "getloadavg"):
        load = "; load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return f"{model}; {os.cpu_count()} logical cores ({usable} usable by this process){load}"


def versions() -> str:
    parts = [f"python {platform.python_version()}"]
    for pkg in ("dynaq", "numpy", "numba", "gymnasium"):
        try:
            parts.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{pkg} (not installed)")
    return ", ".join(parts)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


# -- 1. one core ----------------------------------------------------------------------------
def bench_baseline(min_seconds: float, repeats: int) -> dict:
    """``repeats`` rounds; each runs seeds 0, 1, … until their learning loops add up to
    ``min_seconds``. Returns the median round's and the best round's rate."""
    world = dyna_maze_table()
    rates, steps, total_seeds = [], [], 0
    for _ in range(repeats):
        backups, seconds, seed = 0, 0.0, 0
        while seconds < min_seconds:
            out = run_baseline(K, EPISODES, seed, world)
            backups += out["backups"]
            seconds += out["seconds"]
            steps.append(out["steps_per_episode"])
            seed += 1
        rates.append(backups / seconds)
        total_seeds = max(total_seeds, seed)
    return dict(rate=statistics.median(rates), best=max(rates), seeds=total_seeds,
                repeats=repeats, backups=backups, seconds=seconds,
                steps=np.array(steps, float))


class DynaqBatch:
    """Inputs of ``kernels.run_batch`` for the Dyna maze, built outside the timed region."""

    def __init__(self, k: int, episodes: int) -> None:
        mdp, _ = env_model(ENV_ID)
        truth = GroundTruth.of(mdp, GAMMA)
        self.world, self.switch_at = mdp.stacked()
        self.initial_cdf = np.cumsum(mdp.initial)
        self.v_star, self.reachable = truth.v_star[None], truth.reachable[None]
        self.shape = (mdp.n_states, mdp.n_actions)
        self.k, self.episodes = k, episodes

    def run(self, seeds: range) -> tuple[float, np.ndarray]:
        """Run ``seeds`` in one ``run_batch`` call; returns (seconds, records)."""
        n = len(seeds)
        agent = rng.make_states(list(seeds), rng.AGENT)
        env = rng.make_states(list(seeds), rng.ENV)
        Q = np.zeros((n, *self.shape))
        records = np.zeros((n, self.episodes, N_FIELDS))
        t0 = time.perf_counter()
        agent_id = kernels.agent_id(AgentKernels(dyna_q.init, dyna_q.act, dyna_q.learn,
                                                 dyna_q.diagnose))
        kernels.run_agent(agent_id, dyna_q.DynaQParams(ALPHA, GAMMA, EPSILON, self.k), GAMMA,
                          self.world,
                          self.switch_at,
                          self.initial_cdf, self.v_star, self.reachable, self.episodes, 0, 0,
                          agent, env, Q, records)
        return time.perf_counter() - t0, records


def bench_dynaq_one_core(min_seconds: float, repeats: int) -> dict:
    """``run_batch`` on one thread over enough seeds that one call takes ``min_seconds``."""
    numba.set_num_threads(1)
    batch = DynaqBatch(K, EPISODES)
    batch.run(range(1))  # warm-up: loads (or compiles) the cached kernels
    n = 64
    seconds, records = batch.run(range(n))
    while seconds < min_seconds:  # grow the batch until a call is long enough
        n = int(np.ceil(n * min(8.0, 1.25 * min_seconds / max(seconds, 1e-3))))
        seconds, records = batch.run(range(n))
    times = [seconds]
    for _ in range(repeats - 1):
        seconds, records = batch.run(range(n))
        times.append(seconds)
    backups = float(records[:, -1, BACKUPS].sum())
    return dict(backups=backups, seconds=statistics.median(times), seeds=n,
                rate=backups / statistics.median(times), best=backups / min(times),
                steps=records[:, :, STEPS], repeats=repeats,
                env_steps=float(records[:, -1, ENV_STEPS].sum()))


def bench_plan_kernel(min_seconds: float, repeats: int) -> dict:
    """The planning kernel alone: backups on a model holding every (s, a) of the maze, one
    call of ``DeterministicModel.plan`` (the loop a k = 50 run spends most of its time in)."""
    mdp, _ = env_model(ENV_ID)
    model = DeterministicModel(mdp.n_states, mdp.n_actions)
    for s in range(mdp.n_states):
        for a in range(mdp.n_actions):
            (_, s2, r, term), = mdp.outcomes(s, a)
            model.update(s, a, r, s2, term)
    Q = GroundTruth.of(mdp, GAMMA).q_star.copy()
    state = rng.make_state(0)
    model.plan(Q, 1000, ALPHA, GAMMA, state)  # warm-up
    n, seconds = 1_000_000, 0.0
    while seconds < min_seconds:
        n = int(n * min(8.0, 1.25 * min_seconds / max(seconds, 1e-3))) if seconds else n
        t0 = time.perf_counter()
        model.plan(Q, n, ALPHA, GAMMA, state)
        seconds = time.perf_counter() - t0
    times = [seconds]
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        model.plan(Q, n, ALPHA, GAMMA, state)
        times.append(time.perf_counter() - t0)
    return dict(rate=n / statistics.median(times), best=n / min(times), backups=n)


# -- 2. all cores ---------------------------------------------------------------------------
def bench_all_cores(seeds: int) -> dict:
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    run_cells(RunConfig(env=ENV_ID, planning_steps=0, episodes=2), [0])  # warm-up
    per_k = {}
    t_all = time.perf_counter()
    for k in (0, 5, 50):
        run = RunConfig(env=ENV_ID, agent="dyna-q", planning_steps=k, alpha=ALPHA, gamma=GAMMA,
                        epsilon=EPSILON, episodes=EPISODES)
        t0 = time.perf_counter()
        cells = run_cells(run, range(seeds))
        seconds = time.perf_counter() - t0
        backups = sum(float(c.records[-1, BACKUPS]) for c in cells)
        per_k[k] = (seconds, backups)
    return dict(seconds=time.perf_counter() - t_all, per_k=per_k,
                threads=numba.get_num_threads(), layer=numba.threading_layer())


# -- 3. fig8.2 as a user runs it ------------------------------------------------------------
def dynaq_command() -> list[str]:
    exe = Path(sys.executable).parent / "dynaq"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("dynaq")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from dynaq.cli import main; sys.exit(main())"]


def bench_fig82(runs: int) -> dict:
    """Wall time of whole ``dynaq reproduce fig8.2`` processes, each into a fresh directory."""
    cmd = dynaq_command()
    with tempfile.TemporaryDirectory(prefix="dynaq-bench-") as tmp:

        def once(name: str) -> float:
            t0 = time.perf_counter()
            proc = subprocess.run([*cmd, "reproduce", "fig8.2", "--out", str(Path(tmp) / name)],
                                  capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            if proc.returncode != 0:
                raise SystemExit(f"`dynaq reproduce fig8.2` failed ({proc.returncode}):\n"
                                 f"{proc.stderr[-2000:]}")
            return seconds

        first = once("warm-up")  # fills numba's on-disk cache if it is cold
        times = [once(f"run{i}") for i in range(runs)]
    return dict(first=first, best=min(times), median=statistics.median(times), runs=runs,
                cmd=" ".join([Path(cmd[0]).name, *cmd[1:]]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="short smoke run: 0.2 s timings, 100 seeds, one timed fig8.2")
    parser.add_argument("--skip-fig82", action="store_true",
                        help="do not time `dynaq reproduce fig8.2`")
    args = parser.parse_args(argv)
    min_s = 0.2 if args.quick else 1.0
    repeats = 1 if args.quick else 3
    all_seeds = 100 if args.quick else 1000
    fig_runs = 1 if args.quick else 3

    print("dynaq speed benchmark" + (" (--quick)" if args.quick else ""))
    print(f"machine:  {machine()}")
    print(f"versions: {versions()}")
    print(f"setting:  {ENV_ID} (S&B Example 8.1), k = {K}, {EPISODES} episodes per seed, "
          f"alpha = {ALPHA}, gamma = {GAMMA}, epsilon = {EPSILON}")
    print()

    base = bench_baseline(min_s, repeats)
    dq = bench_dynaq_one_core(min_s, repeats)
    ratio, ratio_best = dq["rate"] / base["rate"], dq["best"] / base["best"]
    print("1. One core, backups per second (1 direct + k planning backups per real step)")
    print(f"   {'':<27}{'seeds':>6}{'s/round':>9}{'backups/s':>12}{'best':>12}"
          f"{'mean steps/ep':>15}")
    print(f"   {'baseline (plain Python)':<27}{base['seeds']:>6}{base['seconds']:>9.2f}"
          f"{base['rate']:>12.3e}{base['best']:>12.3e}{base['steps'].mean():>15.1f}")
    print(f"   {'dynaq run_batch, 1 thread':<27}{dq['seeds']:>6}{dq['seconds']:>9.2f}"
          f"{dq['rate']:>12.3e}{dq['best']:>12.3e}{dq['steps'].mean():>15.1f}")
    print(f"   (median and best of {repeats} rounds each; dynaq: {dq['seeds']} seeds in one "
          f"run_batch call, {dq['env_steps'] / dq['seconds']:.3e} real steps/s)")
    print(f"   dynaq backups/s  {dq['rate']:10.3e}   target >= {TARGET_BACKUPS_PER_S:.1e}   "
          f"{verdict(dq['rate'] >= TARGET_BACKUPS_PER_S)}")
    print(f"   ratio dynaq/base {ratio:9.0f}x    target >= {TARGET_RATIO:.0f}x       "
          f"{verdict(ratio >= TARGET_RATIO)}   (best/best: {ratio_best:.0f}x)")
    plan = bench_plan_kernel(min_s, repeats)
    print(f"   planning kernel alone (every pair of the maze seen): {plan['rate']:.3e} "
          f"backups/s (best {plan['best']:.3e}, {plan['backups']:,} backups per call)")
    print()

    allc = bench_all_cores(all_seeds)
    print(f"2. dynaq on all cores ({allc['threads']} threads, {allc['layer']} layer): "
          f"{all_seeds} seeds x k in {{0, 5, 50}} x {EPISODES} episodes via run_cells")
    for k, (seconds, backups) in allc["per_k"].items():
        vs = f"   ({backups / seconds / dq['rate']:.2f}x one thread)" if k == K else ""
        print(f"   k = {k:<3} {seconds:8.3f} s   {backups:14,.0f} backups   "
              f"{backups / seconds:.3e} backups/s{vs}")
    print(f"   total   {allc['seconds']:8.3f} s wall")
    print()

    if args.skip_fig82:
        print("3. `dynaq reproduce fig8.2`: skipped (--skip-fig82)")
        return 0
    fig = bench_fig82(fig_runs)
    print(f"3. `{fig['cmd']} reproduce fig8.2 --out DIR`, whole process, fresh DIR each run")
    print(f"   first (warms numba's cache) {fig['first']:.2f} s; then {fig['runs']} run(s): "
          f"best {fig['best']:.2f} s, median {fig['median']:.2f} s   "
          f"target <= {TARGET_FIG82_S:.0f} s warm   {verdict(fig['median'] <= TARGET_FIG82_S)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
