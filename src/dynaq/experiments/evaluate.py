"""Greedy episodes of a saved agent (``dynaq evaluate``): how well does what was learned act?

Deep agents are loaded, and act, on the CPU; torch is imported only for them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaq import rng
from dynaq.envs import make_env
from dynaq.errors import ConfigError
from dynaq.mdp import require_discrete
from dynaq.saving import load_agent

EVAL_STEP_LIMIT = 10_000
"""Step cap of an evaluation episode in an env with no time limit of its own (a greedy
policy can walk in circles forever)."""


def evaluate_agent(path: str | Path, env_id: str, episodes: int = 10, seed: int = 0,
                   max_episode_steps: int | None = None) -> pd.DataFrame:
    """Returns and lengths of greedy episodes of a saved agent.

    Args:
        path: A directory written by :func:`dynaq.saving.save_agent`.
        env_id: The Gymnasium id to evaluate on (its spaces must fit the agent).
        episodes: How many episodes.
        seed: Seeds the env (``dynaq.rng.gym_seed(seed)`` on the first reset) and the
            tie-breaking of tabular agents.
        max_episode_steps: Cut episodes here (default: the env's limit, else
            :data:`EVAL_STEP_LIMIT`).

    Deep agents are evaluated on the CPU.

    Returns:
        One row per episode: ``episode`` (from 1), ``return``, ``steps``, ``truncated``.

    Raises:
        ConfigError: For a bad save, an unknown env or one whose spaces do not fit.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ConfigError(f"episodes must be an integer >= 1, got {episodes!r}")
    agent = load_agent(path, device="cpu")
    env, choose = _greedy_env(agent, env_id, seed)
    spec_limit = env.spec.max_episode_steps if env.spec is not None else None
    limit = max_episode_steps or spec_limit or EVAL_STEP_LIMIT
    rows = []
    try:
        for episode in range(1, episodes + 1):
            s, _ = env.reset(seed=rng.gym_seed(seed) if episode == 1 else None)
            steps, ret, done, truncated = 0, 0.0, False, False
            while not done:
                s, r, terminated, truncated, _ = env.step(choose(s))
                steps, ret = steps + 1, ret + float(r)
                truncated = truncated or steps >= limit
                done = terminated or truncated
            rows.append((episode, ret, steps, bool(truncated and not terminated)))
    finally:
        env.close()
    return pd.DataFrame(rows, columns=["episode", "return", "steps", "truncated"])


def _greedy_env(agent: Any, env_id: str, seed: int) -> tuple[Any, Callable[[Any], int]]:
    """The env to evaluate on and the agent's greedy action function, sizes checked."""
    if hasattr(agent, "state_tensors"):
        from dynaq.deep.run import make_deep_env  # torch: only for a deep agent

        env, _ = make_deep_env(env_id)
        sizes, wanted = (env.observation_space.shape[0], env.action_space.n), (
            agent.obs_dim, agent.n_actions)
        choose = agent.greedy
    else:
        env = make_env(env_id)
        require_discrete(env, f"agent {agent.name}")
        sizes, wanted = (env.observation_space.n, env.action_space.n), agent.Q.shape
        tie_break = np.random.default_rng(np.random.SeedSequence(seed))

        def choose(s: Any) -> int:
            row = agent.Q[int(s)]
            return int(tie_break.choice(np.flatnonzero(row == row.max())))
    sizes, wanted = tuple(int(x) for x in sizes), tuple(int(x) for x in wanted)
    if sizes != wanted:
        env.close()
        raise ConfigError(f"env {env_id!r} has (observation, action) sizes {sizes}, the saved "
                          f"agent needs {wanted}")
    return env, choose
