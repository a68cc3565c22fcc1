"""Speed of the deep agents: real env steps per second on CartPole-v1, printed as a table.

    python benchmarks/bench_deep.py                     # CPU, and CUDA when available
    python benchmarks/bench_deep.py --device cuda       # one device only
    python benchmarks/bench_deep.py --seeds 1 10 --updates 1 4 --threads 1 2 --hidden 64 256

For DQN and Dyna-DQN (k = 1), with the default :class:`dynaq.deep.config.DeepConfig` but for
the Q-network's two hidden layers of each width in ``--hidden`` and each replay ratio U
(``--updates``), it runs ``--steps`` real steps of S seeds in lockstep
(``--seeds``; :func:`dynaq.deep.run.run_deep_seeds`: one batched network for all of them)
and reports the rate once training runs (after ``learning_starts``, measured from the first
episode of seed 0 that ends past it to its last), in real env steps per second summed over
the seeds, the same per gradient step, and the speed-up of S seeds in lockstep over S
seeds one after another (the rate of S over the rate of 1, measured in the same run).
Nothing is asserted: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import time

import numpy as np
import torch

from dynaq.deep import run as deep_run
from dynaq.deep.config import DeepConfig
from dynaq.records import BACKUPS, ENV_STEPS, WALL_S

AGENTS = (("dqn", 0), ("dyna-dqn", 1))


def measure(agent: str, k: int, updates: float, seeds: int, width: int, device: str,
            steps: int) -> dict[str, float]:
    """One lockstep run of ``seeds`` seeds; the training-phase rates, summed over seeds."""
    config = DeepConfig(planning_steps=k, updates_per_step=updates, hidden=(width, width),
                        device=device)
    cpu0 = time.process_time()
    outs = deep_run.run_deep_seeds("CartPole-v1", config, agent, list(range(seeds)),
                                   total_steps=steps)
    cpu = time.process_time() - cpu0
    rec = outs[0].records
    env_steps, wall = rec[:, ENV_STEPS], rec[:, WALL_S]
    first = int(np.argmax(env_steps > config.learning_starts))
    d_steps, d_wall = env_steps[-1] - env_steps[first], wall[-1] - wall[first]
    grad = rec[-1, BACKUPS] - rec[first, BACKUPS]  # gradient steps of one seed
    return {"steps_per_s": seeds * d_steps / d_wall if d_wall > 0 else float("nan"),
            "grad_per_s": seeds * grad / d_wall if d_wall > 0 else float("nan"),
            "wall_s": float(wall[-1]), "cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), nargs="*",
                        help="devices to time (default: cpu, and cuda when available)")
    parser.add_argument("--steps", type=int, default=2500, help="real steps per run")
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 10],
                        help="seeds in lockstep (the first is the baseline of the speed-up)")
    parser.add_argument("--updates", type=float, nargs="*", default=[1, 4],
                        help="updates per step U")
    parser.add_argument("--threads", type=int, nargs="*", default=[1],
                        help="torch threads to try on the CPU")
    parser.add_argument("--hidden", type=int, nargs="*", default=[64, 256],
                        help="widths of the Q-network's two hidden layers to try")
    args = parser.parse_args()
    devices = args.device or ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{args.steps} real steps per seed, CartPole-v1, default DeepConfig but the hidden "
          "widths, U and k")
    head = ("device", "threads", "hidden", "agent", "k", "U", "seeds", "env steps/s",
            "grad steps/s",
            f"vs {args.seeds[0]} seed(s)", "wall s", "cpu s")
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for device in devices:
        for threads in args.threads if device == "cpu" else [torch.get_num_threads()]:
            deep_run.TORCH_THREADS = threads  # benchmark-only: run_deep reads it per run
            for width, (agent, k), updates in itertools.product(args.hidden, AGENTS,
                                                                 args.updates):
                base = None
                for seeds in args.seeds:
                    m = measure(agent, k, updates, seeds, width, device, args.steps)
                    base = base or m["steps_per_s"]
                    print(f"| {device} | {threads} | {width}×{width} | {agent} | {k} | "
                          f"{updates:g} | {seeds} "
                          f"| {m['steps_per_s']:,.0f} | {m['grad_per_s']:,.0f} | "
                          f"{m['steps_per_s'] / base:.1f}x | {m['wall_s']:.1f} | "
                          f"{m['cpu_s']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
