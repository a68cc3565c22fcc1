"""The true-dynamics step functions agree with the gymnasium envs' own ``step``.

States come from real episodes, and from boxes that reach the bounds episodes seldom reach.
A second, unwrapped env (the probe) is put in the float64 state that gives each observation
and stepped with the same action; its result is compared with the step function applied to
the observation.
"""

import functools
import math

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dynaq.deep.simulator import (  # noqa: E402
    TRUE_DYNAMICS,
    _acrobot_dsdt,
    _acrobot_next_state,
    _wrap,
    acrobot_state,
    acrobot_step,
    cartpole_step,
    mountain_car_step,
    true_dynamics,
)
from dynaq.deep.termination import KNOWN_TERMINATION  # noqa: E402

ENV_IDS = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0"]
SEEDS = range(6)
STEPS_PER_SEED = 400
RANDOM_FRACTION = 0.3
"""Share of random actions in the Acrobot and MountainCar episodes; the others pump energy,
since random actions alone never reach Acrobot's height nor MountainCar's wall or flag."""


def _policy(env_id, obs, g):
    n_actions = 2 if env_id == "CartPole-v1" else 3
    if env_id == "CartPole-v1" or g.random() < RANDOM_FRACTION:
        return int(g.integers(n_actions))
    if env_id == "Acrobot-v1":
        return 2 if obs[5] >= 0 else 0  # torque along ω2
    return 2 if obs[1] >= 0 else 0  # MountainCar: accelerate along the velocity


@functools.cache
def real_episodes(env_id):
    """``(obs float32 [N, d], state float64 [N, k], action int64 [N])`` before each step of
    episodes from several resets, the terminal steps included."""
    env = gym.make(env_id)
    observations, states, actions = [], [], []
    for seed in SEEDS:
        obs, _ = env.reset(seed=seed)
        g = np.random.default_rng(seed)
        for _ in range(STEPS_PER_SEED):
            action = _policy(env_id, obs, g)
            observations.append(obs)
            states.append(np.array(env.unwrapped.state, dtype=np.float64))
            actions.append(action)
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                obs, _ = env.reset()
    env.close()
    return np.stack(observations), np.stack(states), np.array(actions, dtype=np.int64)


PLACED = {
    # (low, high) of the unwrapped env's state: boxes that reach the bounds episodes seldom
    # reach (Acrobot's velocity bounds, MountainCar's speed limit and right end)
    "CartPole-v1": ([-2.4, -3.0, -0.21, -3.5], [2.4, 3.0, 0.21, 3.5]),
    "Acrobot-v1": ([-math.pi, -math.pi, -4 * math.pi, -9 * math.pi],
                   [math.pi, math.pi, 4 * math.pi, 9 * math.pi]),
    "MountainCar-v0": ([-1.2, -0.07], [0.6, 0.07]),
}


@functools.cache
def placed_states(env_id, n=1500):
    """``(obs, state, action)`` like :func:`real_episodes`, the states drawn in PLACED."""
    g = np.random.default_rng(12345)
    states = g.uniform(*(np.array(x) for x in PLACED[env_id]), size=(n, len(PLACED[env_id][0])))
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    observations = []
    for state in states:
        env.state = state
        observations.append(env._get_ob() if env_id == "Acrobot-v1"
                            else state.astype(np.float32))
    env.close()
    return np.stack(observations), states, g.integers(env.action_space.n, size=n)


SOURCES = {"episodes": real_episodes, "placed": placed_states}


def env_steps(env_id, states, actions):
    """``(next_obs, reward, terminated)`` of the env's ``step`` from each float64 state, and
    the env's float64 state after it."""
    probe = gym.make(env_id).unwrapped
    probe.reset(seed=0)
    results, next_states = [], []
    for state, action in zip(states, actions, strict=True):
        probe.state = np.array(state, dtype=np.float64)
        if env_id == "CartPole-v1":
            probe.steps_beyond_terminated = None  # each probe step starts a fresh episode
        obs, reward, terminated, _, _ = probe.step(int(action))
        results.append((obs, reward, terminated))
        next_states.append(np.array(probe.state, dtype=np.float64))
    probe.close()
    next_obs, rewards, flags = zip(*results, strict=True)
    return (np.stack(next_obs), np.array(rewards, dtype=np.float32),
            np.array(flags, dtype=np.float32)), np.stack(next_states)


def simulate(env_id, obs, actions):
    next_obs, reward, terminated = TRUE_DYNAMICS[env_id](torch.from_numpy(obs),
                                                         torch.from_numpy(actions))
    return next_obs.numpy(), reward.numpy(), terminated.numpy()


def assert_bitwise(actual, expected):
    """Same float32 bits (so 0.0 and -0.0 differ, and a NaN would be caught)."""
    assert actual.dtype == expected.dtype == np.float32 and actual.shape == expected.shape
    rows = np.nonzero((actual.view(np.int32) != expected.view(np.int32)).reshape(
        len(actual), -1).any(axis=1))[0]
    assert len(rows) == 0, (len(rows), actual[rows[:3]], expected[rows[:3]])


def count(flags):
    return int(np.sum(flags))


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("env_id", ["CartPole-v1", "MountainCar-v0"])
def test_stepping_the_observation_is_the_envs_step_from_it_bit_for_bit(env_id, source):
    obs, _, actions = SOURCES[source](env_id)
    expected, _ = env_steps(env_id, obs.astype(np.float64), actions)
    actual = simulate(env_id, obs, actions)
    for a, e in zip(actual, expected, strict=True):
        assert_bitwise(a, e)
    next_obs, _, terminated = expected
    assert (5 if env_id == "MountainCar-v0" else 50) <= count(terminated) < len(obs) // 2
    if env_id == "MountainCar-v0" and source == "episodes":
        at_wall = next_obs[:, 0] == np.float32(-1.2)
        # the wall stops a car arriving leftwards; a car leaving it keeps its velocity
        assert count(at_wall & (next_obs[:, 1] == 0) & (obs[:, 0] > np.float32(-1.2))) >= 3
        assert count(obs[:, 0] == np.float32(-1.2)) >= 3
    if env_id == "MountainCar-v0" and source == "placed":
        assert count(np.abs(next_obs[:, 1]) == np.float32(0.07)) >= 10  # the speed limit
        assert count(next_obs[:, 0] == np.float32(0.6)) >= 10  # the right end


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("env_id", ["CartPole-v1", "MountainCar-v0"])
def test_a_float64_state_given_as_the_observation_is_stepped_as_the_env_steps_it(env_id,
                                                                                 source):
    # the env's own (unrounded) state: the function's float64 arithmetic is the env's
    _, states, actions = SOURCES[source](env_id)
    expected, _ = env_steps(env_id, states, actions)
    actual = simulate(env_id, states, actions)
    for a, e in zip(actual, expected, strict=True):
        assert_bitwise(a, e)


@pytest.mark.parametrize("source", SOURCES)
def test_acrobot_is_the_envs_step_from_the_recovered_state_bit_for_bit(source):
    obs, _, actions = SOURCES[source]("Acrobot-v1")
    recovered = acrobot_state(torch.from_numpy(obs))
    expected, env_next_states = env_steps("Acrobot-v1", recovered.numpy(), actions)
    actual = simulate("Acrobot-v1", obs, actions)
    for a, e in zip(actual, expected, strict=True):
        assert_bitwise(a, e)
    # The float64 state behind the observation too (cos and sin hide a missing angle wrap).
    # Not bit for bit: torch's sin and cos, and x * x for the env's pow(x, 2), differ from
    # glibc's in the last bit now and then; RK4 carries that to about 1e-15.
    torque = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64)[torch.from_numpy(actions)]
    next_states = _acrobot_next_state(recovered, torque).numpy()
    np.testing.assert_allclose(next_states, env_next_states, rtol=0, atol=1e-12)
    assert np.all(np.abs(next_states[:, :2]) <= math.pi)
    next_obs, _, terminated = expected
    if source == "episodes":
        assert 10 <= count(terminated) < len(obs) // 2
        # the angle wrap is exercised both ways: steps carry θ1 or θ2 across ±π
        crossed = np.abs(next_states[:, :2] - recovered[:, :2].numpy()) > math.pi
        assert count(crossed & (next_states[:, :2] > 0)) >= 10
        assert count(crossed & (next_states[:, :2] < 0)) >= 10
    else:
        assert count(np.abs(next_obs[:, 4]) == np.float32(4 * math.pi)) >= 10
        assert count(np.abs(next_obs[:, 5]) == np.float32(9 * math.pi)) >= 10


def test_acrobots_recovered_state_is_the_envs_within_float32_rounding():
    obs, states, _ = real_episodes("Acrobot-v1")
    recovered = acrobot_state(torch.from_numpy(obs)).numpy()
    # angles compared on the circle: near ±π a rounded sine may land on the other branch
    error = np.abs(np.angle(np.exp(1j * (recovered[:, :2] - states[:, :2]))))
    assert error.max() <= 2e-7  # cos/sin rounded by at most 2**-25 each: ~6e-8 rad
    assert np.array_equal(recovered[:, 2:], states[:, 2:].astype(np.float32))


def _rk4_jacobian(states, actions):
    """``[N, 4, 4]``: d(next state)/d(state) of Acrobot's RK4 step, before the wrap (whose
    derivative is 1) and the velocity bounds (0 where they bind: the bound is larger)."""
    def rk4(s, a):
        k1 = _acrobot_dsdt(s, a)
        k2 = _acrobot_dsdt(s + 0.1 * k1, a)
        k3 = _acrobot_dsdt(s + 0.1 * k2, a)
        return s + 0.2 / 6.0 * (k1 + 2 * k2 + 2 * k3 + _acrobot_dsdt(s + 0.2 * k3, a))

    torque = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64)[torch.from_numpy(actions)]
    return torch.func.vmap(torch.func.jacrev(rk4))(torch.from_numpy(states), torque).numpy()


@pytest.mark.parametrize("source", SOURCES)
def test_acrobot_from_the_envs_own_state_differs_only_by_the_observations_rounding(source):
    # The observation rounds the env's state to float32: the recovered state is off by
    # Δ (~6e-8 rad in the angles, up to 9.5e-7 in ω2), and one step carries that to at most
    # |J| |Δ| to first order, J the RK4 step's Jacobian; each side's float32 output rounds
    # by another half ULP. The tolerance is twice that first-order bound (the second-order
    # terms are ~|Δ|² smaller) plus one float32 ULP: per state, since |J| ranges from about
    # 7 on the episodes' states to ~7000 at the velocity bounds (dt = 0.2 is then large).
    obs, states, actions = SOURCES[source]("Acrobot-v1")
    (expected_obs, _, expected_terminated), _ = env_steps("Acrobot-v1", states, actions)
    next_obs, reward, terminated = simulate("Acrobot-v1", obs, actions)
    delta = acrobot_state(torch.from_numpy(obs)).numpy() - states
    delta[:, :2] = np.angle(np.exp(1j * delta[:, :2]))  # a ±2π branch is no error
    moved = np.einsum("nij,nj->ni", np.abs(_rk4_jacobian(states, actions)), np.abs(delta))
    bound = 2 * moved[:, [0, 0, 1, 1, 2, 3]] + np.spacing(np.abs(expected_obs))
    assert np.all(np.abs(next_obs - expected_obs) <= bound)
    if source == "episodes":  # the states a buffer holds: below 1e-6 and 5e-6 everywhere
        assert np.all(np.abs(next_obs - expected_obs)
                      <= np.array([1e-6] * 4 + [5e-6] * 2, dtype=np.float32))
    # the tip's height is off only by that much, so its test differs only at the threshold
    height = -next_obs[:, 0] - (next_obs[:, 0] * next_obs[:, 2] - next_obs[:, 1] * next_obs[:, 3])
    differ = terminated != expected_terminated
    assert np.all(np.abs(height[differ] - 1.0) < 1e-5)


def test_the_angle_wrap_is_the_envs():
    from gymnasium.envs.classic_control.acrobot import wrap

    x = np.concatenate([np.random.default_rng(0).uniform(-40, 40, 2000),
                        [math.pi, -math.pi, 3 * math.pi, np.nextafter(math.pi, 4), 0.0]])
    expected = np.array([wrap(v, -math.pi, math.pi) for v in x])
    actual = _wrap(torch.from_numpy(x), -math.pi, math.pi).numpy()
    assert np.array_equal(actual.view(np.int64), expected.view(np.int64))
    # where the env's loop would never end, the values are left as they are
    odd = torch.tensor([math.inf, -math.inf, math.nan, 7.0], dtype=torch.float64)
    wrapped = _wrap(odd, -math.pi, math.pi)
    assert wrapped[:2].tolist() == [math.inf, -math.inf] and wrapped[2].isnan()
    assert wrapped[3] == 7.0 - 2 * math.pi


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_terminated_is_the_known_rule_on_the_next_observation(env_id):
    obs, _, actions = real_episodes(env_id)
    next_obs, reward, terminated = TRUE_DYNAMICS[env_id](torch.from_numpy(obs),
                                                         torch.from_numpy(actions))
    assert next_obs.dtype == reward.dtype == terminated.dtype == torch.float32
    assert torch.equal(terminated, KNOWN_TERMINATION[env_id](next_obs).float())
    assert set(terminated.unique().tolist()) == {0.0, 1.0}
    expected_reward = {"CartPole-v1": torch.ones_like(terminated),
                       "Acrobot-v1": terminated - 1.0,
                       "MountainCar-v0": -torch.ones_like(terminated)}[env_id]
    assert torch.equal(reward, expected_reward)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_leading_shapes_give_the_same_as_row_by_row(env_id):
    obs, _, actions = real_episodes(env_id)
    obs, actions = torch.from_numpy(obs[:60]), torch.from_numpy(actions[:60])
    step = TRUE_DYNAMICS[env_id]
    rows = [step(o, a) for o, a in zip(obs, actions, strict=True)]  # each obs [d], action []
    assert rows[0][0].shape == (obs.shape[-1],) and rows[0][1].shape == ()
    expected = [torch.stack(column) for column in zip(*rows, strict=True)]
    batched = step(obs.reshape(3, 20, -1), actions.reshape(3, 20))
    for b, e in zip(batched, expected, strict=True):
        assert b.shape[:2] == (3, 20)
        assert torch.equal(b.reshape(e.shape), e)
    empty = step(obs.new_zeros(0, 5, obs.shape[-1]), actions.new_zeros(0, 5))
    assert [tuple(x.shape) for x in empty] == [(0, 5, obs.shape[-1]), (0, 5), (0, 5)]


@pytest.mark.parametrize(("step", "obs_dim", "n_actions"), [
    (cartpole_step, 4, 2), (acrobot_step, 6, 3), (mountain_car_step, 2, 3),
])
def test_bad_arguments_raise_one_clear_value_error(step, obs_dim, n_actions):
    obs = torch.zeros(5, obs_dim)
    obs[:, 0] = 1.0  # a valid Acrobot observation too (cos θ1 = 1)
    action = torch.zeros(5, dtype=torch.int64)
    step(obs, action)
    for bad in (-1, n_actions):
        with pytest.raises(ValueError, match=rf"action must be in \[0, {n_actions}\)"):
            step(obs, action.clone().fill_(bad))
    for bad_action in (action.float(), action.bool()):
        with pytest.raises(ValueError, match="action must be an integer tensor"):
            step(obs, bad_action)
    with pytest.raises(ValueError, match=r"action must have obs's leading shape \(5,\)"):
        step(obs, action[:4])
    for bad_obs in (torch.zeros(5, obs_dim + 1), torch.zeros(5, obs_dim, dtype=torch.int64),
                    torch.zeros(()), obs.numpy()):
        with pytest.raises(ValueError, match=rf"obs must be a floating-point tensor \[\.\.\., "
                                             rf"{obs_dim}\]"):
            step(bad_obs, action)


def test_an_int32_action_is_accepted():
    obs = torch.from_numpy(real_episodes("CartPole-v1")[0][:10])
    action = torch.from_numpy(real_episodes("CartPole-v1")[2][:10])
    for a, b in zip(cartpole_step(obs, action), cartpole_step(obs, action.int()), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "CartPole-v2", "cartpole-v1", "", None, 3,
                                    ["CartPole-v1"]])
def test_an_unknown_env_has_no_dynamics_and_raises_nothing(env_id):
    assert true_dynamics(env_id) is None


def test_the_registry_holds_the_envs_whose_termination_rule_is_known():
    assert set(TRUE_DYNAMICS) == set(KNOWN_TERMINATION) == set(ENV_IDS)
    assert true_dynamics("CartPole-v1") is cartpole_step
    assert true_dynamics("Acrobot-v1") is acrobot_step
    assert true_dynamics("MountainCar-v0") is mountain_car_step
