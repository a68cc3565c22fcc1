"""Speed of the deep agents: real env steps per second on CartPole-v1, printed as a table.

    python benchmarks/bench_deep.py                     # CPU, and CUDA when available
    python benchmarks/bench_deep.py --device cuda       # one device only
    python benchmarks/bench_deep.py --threads 1 2       # torch intra-op threads on the CPU

For DQN and Dyna-DQN (k = 5), with the default :class:`dynaq.deep.config.DeepConfig`, it
runs ``--steps`` real steps through :func:`dynaq.deep.run.run_deep` and reports the rate
once training runs (after ``learning_starts``, measured from the first episode that ends
past it to the last), the whole run's wall time and its CPU time. Nothing is asserted:
timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from dynaq.deep import run as deep_run
from dynaq.deep.config import DeepConfig
from dynaq.records import BACKUPS, ENV_STEPS, WALL_S

AGENTS = (("dqn", 0), ("dyna-dqn", 5))


def measure(agent: str, k: int, device: str, steps: int, seed: int) -> dict[str, float]:
    """One run; the training-phase rate in env steps/s and gradient steps/s."""
    config = DeepConfig(planning_steps=k, device=device)
    cpu0 = time.process_time()
    out = deep_run.run_deep("CartPole-v1", config, agent, seed, total_steps=steps)
    cpu = time.process_time() - cpu0
    rec = out.records
    env_steps, wall = rec[:, ENV_STEPS], rec[:, WALL_S]
    first = int(np.argmax(env_steps > config.learning_starts))
    d_steps, d_wall = env_steps[-1] - env_steps[first], wall[-1] - wall[first]
    grad = rec[-1, BACKUPS] - rec[first, BACKUPS]  # gradient steps
    return {"steps_per_s": d_steps / d_wall if d_wall > 0 else float("nan"),
            "grad_per_s": grad / d_wall if d_wall > 0 else float("nan"),
            "wall_s": float(wall[-1]), "cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), nargs="*",
                        help="devices to time (default: cpu, and cuda when available)")
    parser.add_argument("--steps", type=int, default=6000, help="real steps per run")
    parser.add_argument("--threads", type=int, nargs="*", default=[1],
                        help="torch threads to try on the CPU")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    devices = args.device or ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{args.steps} real steps per run, CartPole-v1, default DeepConfig")
    head = ("device", "threads", "agent", "k", "env steps/s", "grad steps/s", "wall s", "cpu s")
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for device in devices:
        for threads in args.threads if device == "cpu" else [torch.get_num_threads()]:
            deep_run.TORCH_THREADS = threads  # benchmark-only: run_deep reads it per run
            for agent, k in AGENTS:
                m = measure(agent, k, device, args.steps, args.seed)
                print(f"| {device} | {threads} | {agent} | {k} | {m['steps_per_s']:,.0f} | "
                      f"{m['grad_per_s']:,.0f} | {m['wall_s']:.1f} | {m['cpu_s']:.1f} |",
                      flush=True)


if __name__ == "__main__":
    main()
