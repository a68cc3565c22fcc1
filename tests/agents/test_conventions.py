"""Conventions users know: a greedy action, SB3's predict, and a warning when a
deterministic model meets a stochastic world (Sutton & Barto §8.2-8.3)."""

import warnings

import gymnasium as gym
import numpy as np
import pytest

import dynaq
from dynaq import ConfigError, RunConfig, StochasticWorldWarning
from dynaq.experiments.runner import validate


def test_greedy_is_the_first_argmax_and_draws_no_random_number():
    agent = dynaq.DynaQ(3, 4, dynaq.DynaQConfig(planning_steps=2), seed=0)
    agent.Q[1] = [0.0, 2.0, -1.0, 2.0]
    stream = agent.rng.copy()
    assert agent.greedy(1) == 1 and agent.predict(1) == (1, None)
    assert agent.predict(1, deterministic=True) == (1, None)
    np.testing.assert_array_equal(agent.rng, stream)  # learning goes on as it would have
    action, state = agent.predict(1, deterministic=False)
    assert state is None and 0 <= action < 4
    assert not np.array_equal(agent.rng, stream)  # ε-greedy draws from the agent's stream
    with pytest.raises(ConfigError, match="state must be"):
        agent.greedy(3)


def test_a_trained_agent_walks_the_maze_greedily():
    env = gym.make("dynaq/DynaMaze-v0")
    agent = dynaq.DynaQ.for_env(env, dynaq.DynaQConfig(planning_steps=50), seed=0)
    for _ in dynaq.agents.run_episodes(agent, env, episodes=30, seed=0):
        pass
    s, _ = env.reset(seed=1)
    steps, terminated = 0, False
    while not terminated and steps < 100:
        s, _, terminated, _, _ = env.step(agent.greedy(s))
        steps += 1
    assert terminated and steps < 20  # the shortest path of the Dyna maze is 14 (§8.2)


@pytest.mark.parametrize(("make", "agent", "config", "warned"), [
    (lambda: gym.make("FrozenLake-v1"), dynaq.DynaQ, dynaq.DynaQConfig(planning_steps=5),
     True),
    (lambda: gym.make("dynaq/SlipperyCliff-v0"), dynaq.DynaQPlus,
     dynaq.DynaQPlusConfig(planning_steps=5), True),
    (lambda: gym.make("dynaq/SlipperyCliff-v0"), dynaq.PrioritizedSweeping,
     dynaq.PrioritizedSweepingConfig(planning_steps=5), True),
    (lambda: gym.make("FrozenLake-v1"), dynaq.DynaQ,
     dynaq.DynaQConfig(planning_steps=5, model="counts"), False),
    (lambda: gym.make("FrozenLake-v1"), dynaq.DynaQ, dynaq.DynaQConfig(planning_steps=0),
     False),
    (lambda: gym.make("FrozenLake-v1", is_slippery=False), dynaq.DynaQ,
     dynaq.DynaQConfig(planning_steps=5), False),
    (lambda: gym.make("dynaq/DynaMaze-v0"), dynaq.DynaQPlus,
     dynaq.DynaQPlusConfig(planning_steps=5), False),
])
def test_a_deterministic_model_in_a_stochastic_world_is_warned_of(make, agent, config, warned):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        agent.for_env(make(), config)
    caught = [w for w in seen if issubclass(w.category, StochasticWorldWarning)]
    assert len(caught) == int(warned)
    if warned:
        assert caught[0].filename == __file__  # it points at the caller's line
        assert "deterministic model" in str(caught[0].message)


def test_runs_are_warned_of_once_validated():
    with pytest.warns(StochasticWorldWarning, match='FrozenLake-v1.*model="counts"'):
        validate(RunConfig(env="FrozenLake-v1", planning_steps=5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate(RunConfig(env="FrozenLake-v1", planning_steps=5, model="counts"))
        validate(RunConfig(env="dynaq/DynaMaze-v0", planning_steps=5))
