"""Dyna-DQN: k = 0 is DQN exactly at every replay ratio, k adds exactly k imagined gradient
steps per real one, and runs are reproducible per seed and differ across seeds."""

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dynaq.deep.config import DeepConfig  # noqa: E402
from dynaq.deep.dqn import DQN  # noqa: E402
from dynaq.deep.dyna_dqn import DynaDQN  # noqa: E402
from dynaq.deep.run import run_deep  # noqa: E402
from dynaq.errors import ConfigError  # noqa: E402
from dynaq.records import BACKUPS, MODEL_ERROR, WALL_S  # noqa: E402

SMALL = DeepConfig(hidden=(16, 16), learning_starts=64, batch_size=16, target_period=20,
                   epsilon_decay_steps=200, buffer_capacity=1000, model_hidden=(16,),
                   model_train_period=50, model_gradient_steps=3, model_batch_size=32,
                   imagined_capacity=200)


def run(agent, k, seed, steps=400, **changes):
    cfg = DeepConfig(**{**SMALL.__dict__, "planning_steps": k, **changes})
    out = run_deep("CartPole-v1", cfg, agent, seed, total_steps=steps)
    return np.delete(out.records, WALL_S, axis=1), out.agent.state_tensors()


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("updates", [0.25, 0.5, 1, 2])
def test_k0_is_dqn_exactly(updates):
    dqn_records, dqn_weights = run("dqn", 0, seed=3, updates_per_step=updates)
    dyna_records, dyna_weights = run("dyna-dqn", 0, seed=3, updates_per_step=updates)
    assert np.array_equal(dqn_records, dyna_records, equal_nan=True)
    assert same_weights(dqn_weights, dyna_weights)
    # the backups column counts the gradient steps: U per real step after learning_starts
    assert dqn_records[-1, BACKUPS] == int(updates * 400) - int(updates * 63)


def test_same_seed_same_run_and_other_seeds_differ():
    first, weights = run("dyna-dqn", 3, seed=5)
    again, weights_again = run("dyna-dqn", 3, seed=5)
    other, _ = run("dyna-dqn", 3, seed=6)
    assert np.array_equal(first, again, equal_nan=True) and same_weights(weights, weights_again)
    assert not np.array_equal(first[:, 1], other[:, 1])  # returns
    assert not np.array_equal(first, run("dyna-dqn", 0, seed=5)[0], equal_nan=True)
    assert np.isfinite(first[-1, MODEL_ERROR])  # measured from the second model fit on


def drive(agent, steps):
    obs = np.zeros(4, np.float32)
    done = []
    for step in range(1, steps + 1):
        agent.observe(obs + step, step % 2, 1.0, obs + step + 1, False)
        done.append(agent.plan())
    return done


@pytest.mark.parametrize("updates, k", [(0.5, 3), (1, 1), (2, 4), (0.25, 10)])
def test_k_adds_exactly_k_imagined_gradient_steps_per_real_one(updates, k):
    cfg = DeepConfig(**{**SMALL.__dict__, "planning_steps": k, "updates_per_step": updates})
    agent = DynaDQN(4, 2, cfg, seed=0)
    done = drive(agent, 200)
    # the first model fit comes at learning_starts = 64, before that step's gradient steps
    real = [cfg.updates_due(t) if t >= 64 else 0 for t in range(1, 201)]
    assert done == [r * (1 + k) for r in real]
    assert agent.grad_steps == agent.backups == sum(real) * (1 + k)
    dqn_like = DQN(4, 2, replace(cfg, planning_steps=0, updates_per_step=updates * (1 + k)))
    # the matched-compute control: U (1 + k) per real step, the same up to where the two
    # schedules' last steps fall
    assert abs(sum(drive(dqn_like, 200)) - agent.grad_steps) <= 1 + k


def test_imagined_updates_draw_their_share_from_imagined_data():
    cfg = DeepConfig(**{**SMALL.__dict__, "planning_steps": 4, "imagined_ratio": 0.25,
                        "updates_per_step": 1})
    agent = DynaDQN(4, 2, cfg, seed=0)
    drive(agent, 70)
    assert agent.model_fits == 1 and agent.grad_steps == 7 * (1 + 4)
    assert agent.trusted_at == [64]  # model_gate inf: trusted once fitted
    assert len(agent.imagined) == 7 * 4 * 4  # k · imagined_ratio · B per real update
    batch = agent.planning_batches([4], 2)[1]
    assert batch.obs.shape == (1, 16, 4)
    # 12 real rows then 4 imagined ones, whose start states are real observations
    assert torch.all(batch.obs[0, 12:] >= 1) and torch.all(batch.obs[0, 12:] <= 70)


def test_planning_replays_real_data_until_the_model_is_trusted_then_ramps_up():
    cfg = DeepConfig(**{**SMALL.__dict__, "planning_steps": 2, "model_gate": 1e-9,
                        "imagined_ramp": 100})
    agent = DynaDQN(4, 2, cfg, seed=0)
    done = drive(agent, 200)
    # never trusted (no model is that good): every planning step replayed real data
    assert agent.trusted_at == [None] and len(agent.imagined) == 0
    real = sum(cfg.updates_due(t) for t in range(64, 201))
    assert agent.imagined_share() == [0.0] and sum(done) == agent.grad_steps == 3 * real
    assert 0 < float(agent.errors.state[0]) < 10
    trusting = DynaDQN(4, 2, replace(cfg, model_gate=float("inf")), seed=0)
    drive(trusting, 100)
    assert trusting.trusted_at == [64]
    assert trusting.imagined_share() == [pytest.approx(0.5 * 36 / 100)]
    drive(trusting, 80)
    assert trusting.imagined_share() == [0.5]


def test_rollouts_grow_to_h_over_rollout_growth_steps():
    cfg = DeepConfig(**{**SMALL.__dict__, "planning_steps": 1, "rollout_length": 5,
                        "rollout_growth": 100})
    agent = DynaDQN(4, 2, cfg, seed=0)
    lengths = []
    for step in (0, 64, 89, 114, 164, 500):
        agent.env_steps = step
        lengths.append(agent.rollout_length())
    assert lengths == [1, 1, 2, 3, 5, 5]


@pytest.mark.parametrize("horizon", [1, 3])
def test_branched_rollouts_chain_model_steps_from_real_states(horizon):
    cfg = DeepConfig(**{**SMALL.__dict__, "planning_steps": 1, "rollout_length": horizon})
    agent = DynaDQN(4, 2, cfg, seed=0)
    drive(agent, 64)  # the first model fit comes at learning_starts = 64
    before = len(agent.imagined)
    batch = agent.imagine(12)
    starts = -(-12 // horizon)
    assert batch.obs.shape == (1, starts * horizon, 4)
    assert torch.all(batch.obs[0, :starts] >= 1) and torch.all(batch.obs[0, :starts] <= 64)
    ended = torch.zeros(starts, dtype=torch.bool)
    for h in range(horizon):
        step = slice(h * starts, (h + 1) * starts)
        if h:  # each step starts where the previous one arrived
            assert torch.equal(batch.obs[0, step], batch.next_obs[0, step.start - starts:
                                                                  step.start])
        ended |= batch.terminated[0, step] > 0
    # a rollout's steps after its model-made ending are computed but not stored
    assert len(agent.imagined) - before <= batch.obs.shape[1]


def test_disagreeing_elites_cut_rollouts_short():
    cfg = DeepConfig(**{**SMALL.__dict__, "planning_steps": 1, "rollout_length": 4,
                        "ensemble": 3, "elites": 3, "termination": "known"})
    agent = DynaDQN(4, 2, cfg, seed=0, env_id="CartPole-v1")
    drive(agent, 64)
    trusting = len(agent.imagined)
    agent.imagine(40)
    stored = len(agent.imagined) - trusting
    strict = DynaDQN(4, 2, replace(cfg, disagreement=1e-6), seed=0, env_id="CartPole-v1")
    drive(strict, 64)
    before = len(strict.imagined)
    strict.imagine(40)
    assert len(strict.imagined) - before == 0 < stored  # no step agrees that closely
    assert strict.grad_steps == agent.grad_steps


def test_known_termination_ends_imagined_transitions_by_the_envs_rule():
    from dynaq.deep.termination import cartpole_terminated

    cfg = DeepConfig(**{**SMALL.__dict__, "planning_steps": 1, "rollout_length": 20,
                        "termination": "known"})
    agent = run_deep("CartPole-v1", cfg, "dyna-dqn", seed=0, total_steps=200).agent
    assert agent.env_id == "CartPole-v1"
    before = len(agent.imagined)
    batch = agent.imagine(200)  # 10 rollouts of 20 steps from real states
    assert torch.equal(batch.terminated, cartpole_terminated(batch.next_obs).to(torch.float32))
    stored = len(agent.imagined) - before
    assert 0 < batch.terminated.sum() and stored < batch.obs.shape[1]


def test_the_perfect_model_control_imagines_what_the_simulator_does():
    from dynaq.deep.simulator import cartpole_step

    cfg = DeepConfig(**{**SMALL.__dict__, "planning_steps": 2, "world_model": "simulator",
                        "rollout_length": 3})
    agent = run_deep("CartPole-v1", cfg, "dyna-dqn", seed=0, total_steps=150).agent
    assert agent.model is None and agent.trusted_at == [0]  # nothing to learn or to trust
    batch = agent.imagine(30)
    next_obs, reward, terminated = cartpole_step(batch.obs, batch.action)
    assert torch.equal(batch.next_obs, next_obs) and torch.equal(batch.reward, reward)
    assert torch.equal(batch.terminated, terminated)


def test_a_categorical_model_imagines_real_states_of_a_one_hot_world():
    cfg = DeepConfig(**{**SMALL.__dict__, "planning_steps": 1, "world_model": "categorical"})
    agent = run_deep("dynaq/DynaMaze-v0", cfg, "dyna-dqn", seed=0, total_steps=200).agent
    batch = agent.imagine(50)
    assert torch.equal(batch.next_obs.sum(dim=-1), torch.ones(1, 50))
    assert set(batch.next_obs.unique().tolist()) == {0.0, 1.0}
    assert torch.isfinite(agent.errors.state).all()


def test_world_models_need_a_world_they_suit():
    from dynaq.deep.dyna_dqn import check_world_model

    with pytest.raises(ConfigError, match="world_model simulator needs an env whose dynamics"):
        check_world_model(replace(SMALL, planning_steps=1, world_model="simulator"),
                          "FrozenLake-v1", True)
    with pytest.raises(ConfigError, match="world_model categorical needs an env with Discrete"):
        check_world_model(replace(SMALL, planning_steps=1, world_model="categorical"),
                          "CartPole-v1", False)
    check_world_model(replace(SMALL, planning_steps=1, world_model="categorical"),
                      "FrozenLake-v1", True)


def test_known_termination_needs_an_env_whose_rule_dynaq_knows():
    cfg = DeepConfig(**{**SMALL.__dict__, "planning_steps": 1, "termination": "known"})
    with pytest.raises(ConfigError, match="termination known needs an env whose rule dynaq "
                                          r"knows \(CartPole-v1, Acrobot-v1, MountainCar-v0\)"):
        DynaDQN(4, 2, cfg, env_id="FrozenLake-v1")
    DynaDQN(4, 2, DeepConfig(**{**SMALL.__dict__, "termination": "known"}))  # k = 0: no model
