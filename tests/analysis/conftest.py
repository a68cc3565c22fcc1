"""Results frames built by hand, in the shape of ``dynaq.load_results``."""

import pandas as pd
import pytest


def episode_rows(flags, errors, seed=0, k=5, env="e", steps=10, **config):
    """One seed's episodes: ``policy_optimal`` and ``value_error`` as given; every episode
    ``steps`` long with return 1; V*(start) = 1."""
    return [{"env": env, "agent": "dyna-q", "model": "deterministic", "planning_steps": k,
             "alpha": 0.1, **config, "seed": seed, "v_star_start": 1.0, "episode": i + 1,
             "steps": steps, "return": 1.0, "env_steps": steps * (i + 1),
             "backups": steps * (k + 1) * (i + 1), "value_error": err,
             "policy_value": 1.0 if flag else 0.5, "policy_optimal": flag, "truncated": False,
             "wall_s": 0.1 * (i + 1)}
            for i, (flag, err) in enumerate(zip(flags, errors, strict=True))]


def optimal_from(first, episodes=12, **kwargs):
    """A seed whose greedy policy and Q become optimal at episode ``first`` and stay so."""
    flags = [i + 1 >= first for i in range(episodes)]
    return episode_rows(flags, [0.0 if f else 0.5 for f in flags], **kwargs)


@pytest.fixture
def episodes():
    """:func:`episode_rows`, for tests to build their own frames."""
    return episode_rows


@pytest.fixture
def sweep():
    """k = 0 (optimal at episodes 8-11), k = 1 (the same), k = 2 (optimal at 1-2), 8 seeds."""
    rows = []
    for seed in range(8):
        slow = 8 + seed % 4
        rows += optimal_from(slow, seed=seed, k=0) + optimal_from(slow, seed=seed, k=1)
        rows += optimal_from(1 + seed % 2, seed=seed, k=2)
    return pd.DataFrame(rows)
