"""Lockstep seeds: S seeds trained together are, seed by seed, bitwise the runs of each seed
alone (wall time aside), and one seed through the step API is the runner's run."""

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dynaq import rng  # noqa: E402
from dynaq.agents import run_episodes  # noqa: E402
from dynaq.deep.config import DeepConfig  # noqa: E402
from dynaq.deep.dqn import DQN  # noqa: E402
from dynaq.deep.run import OneHot, run_deep, run_deep_seeds  # noqa: E402
from dynaq.errors import ConfigError  # noqa: E402
from dynaq.records import EVAL_RETURN, TERM_RECALL, WALL_S  # noqa: E402

SMALL = DeepConfig(hidden=(16, 16), learning_starts=64, batch_size=16, target_period=20,
                   epsilon_decay_steps=200, buffer_capacity=1000, model_hidden=(16,),
                   model_train_period=60, model_gradient_steps=50, model_batch_size=32,
                   imagined_capacity=300)

CASES = {
    "dqn, U = 2": ("CartPole-v1", "dqn", {"updates_per_step": 2}, {"total_steps": 400}),
    "dyna-dqn, everything on": (
        "CartPole-v1", "dyna-dqn",
        {"planning_steps": 2, "ensemble": 3, "elites": 2, "model_holdout": 0.2,
         "rollout_length": 3, "rollout_growth": 100, "disagreement": 0.5, "model_gate": 0.9,
         "imagined_ramp": 100, "eval_period": 150, "eval_episodes": 2},
        {"total_steps": 500}),
    "dyna-dqn, known termination": ("CartPole-v1", "dyna-dqn",
                                    {"planning_steps": 1, "termination": "known"},
                                    {"total_steps": 300}),
    "dqn on one-hot FrozenLake, episodes": ("FrozenLake-v1", "dqn", {}, {"episodes": 20}),
    "dyna-dqn, categorical model on FrozenLake": (
        "FrozenLake-v1", "dyna-dqn", {"planning_steps": 2, "world_model": "categorical",
                                      "ensemble": 2, "model_holdout": 0.2},
        {"total_steps": 300}),
    "dyna-dqn, true simulator": ("CartPole-v1", "dyna-dqn",
                                 {"planning_steps": 2, "world_model": "simulator"},
                                 {"total_steps": 300}),
}


def without_wall(records):
    return np.delete(records, WALL_S, axis=1)


@pytest.mark.parametrize("case", list(CASES))
def test_seeds_in_lockstep_are_the_seeds_alone(case):
    env_id, agent, changes, budget = CASES[case]
    cfg = DeepConfig(**{**SMALL.__dict__, **changes})
    seeds = [4, 0, 9]
    together = run_deep_seeds(env_id, cfg, agent, seeds, **budget)
    for seed, out in zip(seeds, together, strict=True):
        alone = run_deep(env_id, cfg, agent, seed, **budget)
        assert np.array_equal(without_wall(out.records), without_wall(alone.records),
                              equal_nan=True), seed
        if alone.q_table is not None:
            assert np.array_equal(out.q_table, alone.q_table)
    assert not np.array_equal(together[0].records[:, 0], together[1].records[:, 0])  # lengths
    if "eval_period" in changes:
        evals = together[0].records[:, EVAL_RETURN]
        assert np.isfinite(evals).sum() == 500 // 150 and (evals[np.isfinite(evals)] >= 1).all()
        assert np.isfinite(together[0].records[-1, TERM_RECALL])


def test_one_seed_through_the_step_api_is_the_runners_run():
    cfg = DeepConfig(**{**SMALL.__dict__, "updates_per_step": 1})
    env = OneHot(gym.make("FrozenLake-v1"))
    agent = DQN.for_env(env, cfg, seed=2)
    episodes = list(run_episodes(agent, env, episodes=15, seed=rng.gym_seed(2)))
    records = run_deep("FrozenLake-v1", cfg, "dqn", 2, episodes=15).records
    assert [e.steps for e in episodes] == records[:, 0].astype(int).tolist()
    assert [e.return_ for e in episodes] == records[:, 1].tolist()


def test_the_api_of_one_seed_refuses_an_agent_of_several():
    agent = DQN(4, 2, SMALL, seed=[0, 1])
    obs = np.zeros(4, np.float32)
    for call in (lambda: agent.act(obs), lambda: agent.q_values(obs[None]),
                 lambda: agent.observe(obs, 0, 1.0, obs, False), lambda: agent.seed):
        with pytest.raises(ConfigError, match="API of one seed; this agent trains 2"):
            call()
    assert agent.act_all(np.zeros((2, 4), np.float32)).shape == (2,)
    with pytest.raises(ConfigError, match="seed must be"):
        DQN(4, 2, SMALL, seed=[])
