"""The speed baseline: the course's plain-Python Dyna-Q, on the Dyna maze.

This is the dict sketch the course gives for Dyna-Q (Sutton & Barto §8.2) written out as a
complete agent, with exactly two fixes so that it computes the same algorithm as dynaq:

(a) the greedy action breaks ties uniformly at random (the sketch's ``max``/first-index
    choice biases early exploration and Figure 8.2 does not come out as in the book);
(b) a transition into a terminal state bootstraps 0, so the model also stores the
    terminal flag of each (s, a).

Everything else is the sketch: ``defaultdict(float)`` Q keyed by ``(s, a)``, the model as
the dicts ``model_s`` / ``model_r`` (plus ``model_t`` for fix (b)), the list ``seen_sa``
with its ``not in`` scan, and one ``random.Random(seed)`` for every draw. It is the
baseline because it is what a reader of the course would write and run; dynaq's compiled
kernels are measured against it in ``bench_speed.py``.

The world is the 6×9 maze of Example 8.1 (``dynaq/DynaMaze-v0``); its exact outcomes are
read once from :class:`dynaq.mdp.TabularMDP` into a plain dict before the clock starts, so
the timed loop is pure Python. α = 0.1, γ = 0.95, ε = 0.1. A backup is one call of
``q_backup``: 1 direct + k planning per real step.

Run it alone: ``python benchmarks/baseline.py [k] [episodes] [seed]``.
"""

from __future__ import annotations

import random
import sys
import time
from collections import defaultdict

ALPHA, GAMMA, EPSILON = 0.1, 0.95, 0.1
ENV_ID = "dynaq/DynaMaze-v0"


def dyna_maze_table() -> tuple[dict[tuple[int, int], tuple[int, float, bool]], int, int]:
    """The Dyna maze as ``{(s, a): (s_next, r, terminated)}``, its start state and #actions.

    The maze is deterministic, so each (s, a) has one outcome.
    """
    import gymnasium as gym

    import dynaq  # noqa: F401  (registers dynaq/DynaMaze-v0)
    from dynaq.mdp import TabularMDP

    env = gym.make(ENV_ID)
    mdp = TabularMDP.from_gymnasium(env)
    env.close()
    table = {}
    for s in range(mdp.n_states):
        for a in range(mdp.n_actions):
            (p, s_next, r, terminated), = mdp.outcomes(s, a)
            table[(s, a)] = (s_next, r, terminated)
    start = max(range(mdp.n_states), key=lambda s: mdp.initial[s])
    return table, start, mdp.n_actions


def run_baseline(k: int, episodes: int, seed: int, world=None) -> dict:
    """Run the course's Dyna-Q with ``k`` planning steps for ``episodes`` episodes.

    Args:
        k: Planning backups per real step (0: Q-learning).
        episodes: Episodes to run, from an empty Q and model.
        seed: Seed of the one ``random.Random`` that draws everything.
        world: ``dyna_maze_table()``'s result, to skip rebuilding it (not timed either way).

    Returns:
        ``dict(backups=..., seconds=..., steps_per_episode=[...])``; ``seconds`` is the wall
        time of the learning loop only.
    """
    table, start, n_actions = world if world is not None else dyna_maze_table()
    actions = list(range(n_actions))
    random_ = random.Random(seed)
    Q = defaultdict(float)
    model_s, model_r, model_t = {}, {}, {}
    seen_sa = []
    backups = 0

    def q_backup(s, a, r, s_next, terminated, alpha=ALPHA, gamma=GAMMA):
        # Fix (b): a terminal transition bootstraps 0.
        best_next = 0.0 if terminated else max(Q[(s_next, a2)] for a2 in actions)
        Q[(s, a)] += alpha * (r + gamma * best_next - Q[(s, a)])

    def dyna_step(s, a, r, s_next, terminated, n_plan=k):
        q_backup(s, a, r, s_next, terminated)
        model_s[(s, a)] = s_next
        model_r[(s, a)] = r
        model_t[(s, a)] = terminated
        # The course's membership test: an O(len(seen_sa)) scan of a list per real step
        # (at most 47 * 4 = 188 entries here, so small next to the k planning backups).
        if (s, a) not in seen_sa:
            seen_sa.append((s, a))
        for _ in range(n_plan):
            sh, ah = random_.choice(seen_sa)
            q_backup(sh, ah, model_r[(sh, ah)], model_s[(sh, ah)], model_t[(sh, ah)])
        return 1 + n_plan

    def act(s):
        if random_.random() < EPSILON:
            return random_.choice(actions)
        best = max(Q[(s, a)] for a in actions)
        # Fix (a): ties broken uniformly at random, not by the first index.
        return random_.choice([a for a in actions if Q[(s, a)] == best])

    steps_per_episode = []
    t0 = time.perf_counter()
    for _ in range(episodes):
        s, steps, terminated = start, 0, False
        while not terminated:
            a = act(s)
            s_next, r, terminated = table[(s, a)]
            backups += dyna_step(s, a, r, s_next, terminated)
            s = s_next
            steps += 1
        steps_per_episode.append(steps)
    seconds = time.perf_counter() - t0
    return dict(backups=backups, seconds=seconds, steps_per_episode=steps_per_episode)


if __name__ == "__main__":
    args = [int(x) for x in sys.argv[1:]]
    k, episodes, seed = (args + [50, 50, 0][len(args):])[:3]
    out = run_baseline(k, episodes, seed)
    print(f"k={k} episodes={episodes} seed={seed}: {out['backups']:,} backups in "
          f"{out['seconds']:.3f} s = {out['backups'] / out['seconds']:,.0f} backups/s")
    print("steps per episode:", out["steps_per_episode"])
