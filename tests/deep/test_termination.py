"""The known termination rules agree with the gymnasium envs' own ``terminated`` on every step."""

import math

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dynaq.deep.termination import (  # noqa: E402
    KNOWN_TERMINATION,
    acrobot_terminated,
    cartpole_terminated,
    known_termination,
    mountain_car_terminated,
)

PI = math.pi
START_STATES = {
    # (low, high) of the unwrapped env's state, a box across its termination thresholds
    "CartPole-v1": ([-2.5, -1.0, -0.25, -1.0], [2.5, 1.0, 0.25, 1.0]),
    # angles beyond [-π, π] too: the env wraps them before its test
    "Acrobot-v1": ([-3 * PI, -3 * PI, -4 * PI, -9 * PI], [3 * PI, 3 * PI, 4 * PI, 9 * PI]),
    # random actions seldom reach the flag: start near it, rolling either way
    "MountainCar-v0": ([0.4, -0.07], [0.6, 0.07]),
}


def env_steps(env_id, seeds, steps, placed):
    """``(next_obs, terminated)`` of random-action steps of the real env, from ``seeds``
    resets; a fraction ``placed`` of the steps start from a state drawn in START_STATES."""
    low, high = (np.array(x) for x in START_STATES[env_id])
    observations, flags = [], []
    for seed in seeds:
        env = gym.make(env_id)
        g = np.random.default_rng(seed)
        env.reset(seed=seed)
        env.action_space.seed(seed)
        for _ in range(steps):
            if g.random() < placed:
                env.unwrapped.state = g.uniform(low, high)
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            observations.append(obs)
            flags.append(terminated)
            if terminated or truncated:
                env.reset()
        env.close()
    return torch.from_numpy(np.stack(observations)), torch.tensor(flags)


@pytest.mark.parametrize(("env_id", "rule", "placed"), [
    ("CartPole-v1", cartpole_terminated, 0.2),
    ("Acrobot-v1", acrobot_terminated, 0.5),
    ("MountainCar-v0", mountain_car_terminated, 0.5),
])
def test_a_known_rule_matches_the_env_on_every_step(env_id, rule, placed):
    next_obs, terminated = env_steps(env_id, range(16), 2000, placed)
    assert next_obs.dtype == torch.float32
    assert int(terminated.sum()) >= 300 and int((~terminated).sum()) >= 3000
    predicted = rule(next_obs)
    assert predicted.dtype == torch.bool and predicted.shape == terminated.shape
    mismatches = torch.nonzero(predicted != terminated).flatten()
    assert len(mismatches) == 0, next_obs[mismatches[:5]]
    assert known_termination(env_id) is rule


def test_random_actions_alone_reach_cartpoles_thresholds():
    # the placed states aside, plain episodes end by the same rule
    next_obs, terminated = env_steps("CartPole-v1", range(4), 1000, 0.0)
    assert int(terminated.sum()) >= 100
    assert torch.equal(cartpole_terminated(next_obs), terminated)


def test_rules_keep_leading_dimensions():
    obs = torch.zeros(3, 5, 4)
    obs[1, 2, 0] = 2.5
    expected = torch.zeros(3, 5, dtype=torch.bool)
    expected[1, 2] = True
    assert torch.equal(cartpole_terminated(obs), expected)


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "CartPole-v2", "cartpole-v1", "", None, 3,
                                    ["CartPole-v1"]])
def test_an_unknown_env_has_no_rule_and_raises_nothing(env_id):
    assert known_termination(env_id) is None


def test_the_registry_holds_the_three_classic_control_rules():
    assert set(KNOWN_TERMINATION) == {"CartPole-v1", "Acrobot-v1", "MountainCar-v0"}
