"""The generic compiled runner (dynaq.kernels.run), driven by Dyna-Q's functions: env steps,
whole runs, determinism, and the exact per-episode metrics."""

import gymnasium as gym
import numpy as np
import pytest

import dynaq
from dynaq import rng
from dynaq.agents import AgentKernels
from dynaq.kernels import dyna_q as dq
from dynaq.kernels import run as K
from dynaq.mdp import TabularMDP
from dynaq.metrics import GroundTruth
from dynaq.records import N_FIELDS


def test_sample_outcome_follows_probabilities():
    offsets = np.array([0, 3])
    prob = np.array([0.2, 0.5, 0.3])
    state = rng.make_state(9)
    draws = np.array([K.sample_outcome(offsets, prob, 0, state) for _ in range(50_000)])
    assert np.bincount(draws, minlength=3) / draws.size == pytest.approx(prob, abs=0.01)


def _run(seeds, k, episodes=20, total_steps=0, env="dynaq/DynaMaze-v0"):
    mdp = TabularMDP.from_gymnasium(gym.make(env))
    truth = GroundTruth.of(mdp, 0.95)
    n = len(seeds)
    capacity = episodes if not total_steps else total_steps
    Q = np.zeros((n, mdp.n_states, mdp.n_actions))
    rec = np.zeros((n, capacity, N_FIELDS))
    world, switch_at = mdp.stacked()
    done = K.run_agent(K.agent_id(AgentKernels(dq.init, dq.act, dq.learn, dq.diagnose)),
                       dq.DynaQParams(0.1, 0.95, 0.1, k), 0.95, world, switch_at,
                       np.cumsum(mdp.initial), truth.v_star[None], truth.reachable[None],
                       capacity, total_steps, 0,
                       rng.make_states(seeds), rng.make_states(seeds, rng.ENV), Q, rec)
    return done, rec, Q


def test_same_seed_identical_different_seeds_differ():
    _, a, qa = _run([0, 1, 2], k=5)
    _, b, qb = _run([0, 1, 2], k=5)
    assert np.array_equal(a[..., K.STEPS], b[..., K.STEPS]) and np.array_equal(qa, qb)
    assert not np.array_equal(a[0, :, K.STEPS], a[1, :, K.STEPS])
    assert not np.array_equal(qa[0], qa[1])


def test_a_seed_does_not_depend_on_its_batch():
    _, alone, q_alone = _run([7], k=5)
    _, batch, q_batch = _run([3, 7, 11], k=5)
    assert np.array_equal(alone[0, :, K.STEPS], batch[1, :, K.STEPS])
    assert np.array_equal(q_alone[0], q_batch[1])


def test_records_are_consistent():
    done, rec, _ = _run([0, 1], k=5)
    assert list(done) == [20, 20]
    steps = rec[..., K.STEPS]
    assert np.array_equal(np.cumsum(steps, axis=1), rec[..., K.ENV_STEPS])
    assert np.all(rec[..., K.RETURN] == 1.0)  # the Dyna maze pays 1 at the goal only
    # backups = real steps + k per real step once the model is non-empty (from step 1)
    assert np.array_equal(rec[..., K.BACKUPS], rec[..., K.ENV_STEPS] * 6)
    assert np.all(np.diff(rec[..., K.WALL_S], axis=1) >= 0)
    assert not rec[..., K.TRUNCATED].any()
    assert np.all(rec[..., K.POLICY_VALUE] <= 0.95 ** 13 + 1e-9)


def test_total_steps_mode_stops_exactly():
    done, rec, _ = _run([0, 1, 2], k=5, total_steps=1000)
    for i, n in enumerate(done):
        assert rec[i, n - 1, K.ENV_STEPS] == 1000
        assert rec[i, : n - 1, K.TRUNCATED].sum() == 0
    assert rec[:, :, K.STEPS].sum() == 3000


def test_value_error_and_policy_value_match_numpy_reference():
    done, rec, Q = _run([4], k=50, episodes=5)
    mdp = TabularMDP.from_gymnasium(gym.make("dynaq/DynaMaze-v0"))
    truth = GroundTruth.of(mdp, 0.95)
    assert rec[0, 4, K.VALUE_ERROR] == pytest.approx(truth.value_error(Q[0]), abs=1e-12)
    v = mdp.evaluate_policy(dynaq.greedy_policy(Q[0]), 0.95)
    assert rec[0, 4, K.POLICY_VALUE] == pytest.approx(mdp.start_value(v), abs=1e-8)


@pytest.mark.parametrize("env_id, gamma", [("dynaq/DynaMaze-v0", 0.95),
                                           ("dynaq/DynaMaze-v0", 1.0),
                                           ("CliffWalking-v1", 1.0)])
def test_every_episodes_metrics_match_a_reference(env_id, gamma):
    """The compiled metrics (warm starts, skipped evaluations, on-policy sweeps, endless
    episodes at γ = 1) against value error and policy evaluation computed afresh each time."""
    run = dynaq.RunConfig(env=env_id, planning_steps=5, gamma=gamma, episodes=12)
    (cell,) = dynaq.run_cells(run, [3])
    env = gym.make(env_id)
    mdp = TabularMDP.from_gymnasium(env)
    truth = GroundTruth.of(mdp, gamma) if gamma < 1 else None
    agent = dynaq.DynaQ.for_env(env, run.agent_config(), seed=3)
    for episode in range(12):
        s, _ = env.reset(seed=0)
        done = False
        while not done:
            a = agent.act(s)
            s2, r, terminated, truncated, _ = env.step(a)
            agent.observe(s, a, r, s2, terminated)
            agent.plan()
            s, done = s2, terminated or truncated
        value = mdp.start_value(mdp.evaluate_policy(dynaq.greedy_policy(agent.Q), gamma))
        np.testing.assert_allclose(cell.records[episode, K.POLICY_VALUE], value, rtol=1e-7,
                                   atol=1e-9)
        if truth is not None:
            assert cell.records[episode, K.VALUE_ERROR] == pytest.approx(
                truth.value_error(agent.Q), abs=1e-12)
    assert np.array_equal(agent.Q, cell.Q)


def test_undiscounted_endless_policies_are_valued_by_their_rewards():
    cliff = TabularMDP.from_gymnasium(gym.make("CliffWalking-v1"))
    up = np.zeros((cliff.n_states, 4))
    up[:, 0] = 1.0  # always up: from the start row it never reaches the goal, -1 per step
    assert cliff.start_value(cliff.evaluate_policy(up, 1.0)) == -np.inf
    maze = TabularMDP.from_gymnasium(gym.make("dynaq/DynaMaze-v0"))
    left = np.zeros((maze.n_states, 4))
    left[:, 2] = 1.0  # always left: stuck against the west wall, reward 0 for ever
    assert maze.start_value(maze.evaluate_policy(left, 1.0)) == 0.0


def test_a_progress_array_of_the_wrong_shape_is_refused_before_the_kernel_runs():
    import pytest

    # the arguments before the random states are not looked at: the check comes first
    with pytest.raises(ValueError, match=r"progress must be an int64 array of shape \(2, 2\)"):
        K.run_agent(0, *([None] * K.RNG_ARG), np.zeros((2, 4), np.uint64),
                    progress=np.zeros((1, 2), np.int64))
