"""Dyna-Q's variants: the counts model (sample and expected backups) and the planning
distributions (uniform, latest, trajectory). Each with k = 0 is Q-learning; in a
deterministic world the counts model is the deterministic one; the step API equals the
compiled runner, in stochastic worlds too."""

import gymnasium as gym
import numpy as np
import pytest

from dynaq import ConfigError, DynaQ, DynaQConfig, RunConfig, rng, run_cells
from dynaq.agents import run_episodes
from dynaq.kernels import dyna_q as dq
from dynaq.kernels import run as K
from dynaq.mdp import TabularMDP

VARIANTS = [dict(model=m, backup=b, sampling=s) for m, b in (
    ("deterministic", "sample"), ("counts", "sample"), ("counts", "expected"))
    for s in ("uniform", "latest", "trajectory")]
LEARNING = [K.STEPS, K.RETURN, K.ENV_STEPS, K.BACKUPS, K.VALUE_ERROR, K.POLICY_VALUE,
            K.TRUNCATED, K.MODEL_COVERAGE]
"""Record columns that do not depend on the model kept (wall time and model errors do)."""


class RunnerStreamEnv(gym.Env):
    """``mdp`` simulated from the seed's ENV stream as the compiled runner does, so that the
    step API and the runner can be compared in stochastic worlds too."""

    def __init__(self, mdp: TabularMDP, seed: int):
        self.mdp, self.rng, self.s = mdp, rng.make_state(seed, rng.ENV), 0

    def reset(self, *, seed=None, options=None):
        self.s = int(K.sample_start(np.cumsum(self.mdp.initial), self.rng))
        return self.s, {}

    def step(self, action):
        m = self.mdp
        i = int(K.sample_outcome(m.offsets, m.prob, self.s * m.n_actions + action, self.rng))
        self.s = int(m.next_state[i])
        return self.s, float(m.reward[i]), bool(m.terminated[i]), False, {}


@pytest.mark.parametrize("variant", VARIANTS[1:], ids=lambda v: "-".join(v.values()))
def test_k0_is_q_learning_bitwise(variant):
    for env in ("dynaq/DynaMaze-v0", "FrozenLake-v1"):
        base = run_cells(RunConfig(env=env, agent="q-learning", episodes=15), [0, 1])
        cells = run_cells(RunConfig(env=env, episodes=15, **variant), [0, 1])
        for a, b in zip(base, cells, strict=True):
            assert np.array_equal(a.Q, b.Q)
            assert np.array_equal(a.records[:, LEARNING], b.records[:, LEARNING])


@pytest.mark.parametrize("sampling", ["uniform", "latest", "trajectory"])
def test_counts_model_is_the_deterministic_one_in_a_deterministic_world(sampling):
    det = run_cells(RunConfig(planning_steps=5, episodes=10, sampling=sampling), [0, 5])
    for backup in ("sample", "expected"):
        cells = run_cells(RunConfig(planning_steps=5, episodes=10, sampling=sampling,
                                    model="counts", backup=backup), [0, 5])
        for a, b in zip(det, cells, strict=True):
            assert np.array_equal(a.Q, b.Q)
            assert np.array_equal(np.delete(a.records, K.WALL_S, 1),
                                  np.delete(b.records, K.WALL_S, 1), equal_nan=True)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(v.values()))
def test_step_api_equals_compiled_runner_in_a_stochastic_world(variant):
    mdp = TabularMDP.from_gymnasium(gym.make("FrozenLake-v1"))
    run = RunConfig(env="FrozenLake-v1", planning_steps=4, episodes=25, **variant)
    for cell in run_cells(run, [0, 2]):
        agent = DynaQ(mdp.n_states, mdp.n_actions, run.agent_config(), seed=cell.seed)
        episodes = run_episodes(agent, RunnerStreamEnv(mdp, cell.seed), episodes=25,
                                max_episode_steps=100)
        assert [e.steps for e in episodes] == list(cell.records[:, K.STEPS].astype(int))
        assert np.array_equal(agent.Q, cell.Q)
        assert agent.backups == cell.records[-1, K.BACKUPS]


def test_step_api_through_gymnasium_equals_runner_with_the_counts_model():
    run = RunConfig(planning_steps=5, episodes=6, model="counts", backup="expected")
    (cell,) = run_cells(run, [1])
    env = gym.make("dynaq/DynaMaze-v0")
    agent = DynaQ.for_env(env, run.agent_config(), seed=1)
    lengths = [e.steps for e in run_episodes(agent, env, episodes=6, seed=1)]
    assert lengths == list(cell.records[:, K.STEPS].astype(int))
    assert np.array_equal(agent.Q, cell.Q)


def test_same_seed_same_run_different_seed_differs():
    run = RunConfig(env="FrozenLake-v1", planning_steps=5, episodes=30, model="counts")
    a, b = run_cells(run, [0, 1]), run_cells(run, [0, 1])
    assert np.array_equal(a[0].Q, b[0].Q) and np.array_equal(a[0].records[:, LEARNING],
                                                              b[0].records[:, LEARNING])
    assert not np.array_equal(a[0].records[:, K.STEPS], a[1].records[:, K.STEPS])
    assert not np.array_equal(a[0].records[:, K.MODEL_ERROR], a[1].records[:, K.MODEL_ERROR])


def test_model_error_exposes_the_wrong_model():
    """0 for the counts model in a deterministic world; the deterministic model in a
    slippery one stays wrong however much it sees, while the counts model converges."""
    (maze,) = run_cells(RunConfig(planning_steps=5, episodes=20, model="counts"), [0])
    assert np.all(maze.records[:, K.MODEL_ERROR] == 0.0)
    slippery = {model: run_cells(RunConfig(env="FrozenLake-v1", planning_steps=5,
                                           episodes=1500, model=model), [0])[0]
                for model in ("deterministic", "counts")}
    det, counts = (slippery[m].records[-1, K.MODEL_ERROR] for m in ("deterministic", "counts"))
    assert det > 0.5 and counts < 0.1


def test_latest_sampling_backs_up_the_last_real_pair():
    agent = DynaQ(3, 2, DynaQConfig(alpha=0.5, planning_steps=3, sampling="latest"), seed=0)
    assert agent.plan() == 0  # no real step yet
    agent.observe(2, 0, 0.0, 1, False)
    agent.observe(0, 1, 1.0, 1, True)
    assert agent.plan() == 3
    assert agent.Q[0, 1] == pytest.approx(1 - 0.5 ** 4) and agent.Q[2, 0] == 0.0


def test_trajectory_sampling_follows_the_model_from_the_real_state():
    """A chain 0 → 1 → terminal with reward 1 (one action): from state 0 the simulated
    steps back up (0), (1), (0), (1): with α = 1, Q(0) = γ·1 after the third."""
    Q = np.zeros((3, 1))
    model = dq.new_model(3, 1)
    n = dq.model_update(*model, 0, 1, 0, 0, 0.0, 1, False)
    n = dq.model_update(*model, n, 1, 1, 0, 1.0, 2, True)
    assert dq.plan_with(Q, dq.TableModel(*model), dq.TRAJECTORY, n, -1, 0, 4, 1.0, 0.9,
                        0.0, rng.make_state(0)) == 4
    assert Q[:, 0] == pytest.approx([0.9, 1.0, 0.0])
    # from state 2, whose action was never tried, a simulated step backs up nothing
    assert dq.plan_with(Q, dq.TableModel(*model), dq.TRAJECTORY, n, -1, 2, 4, 1.0, 0.9,
                        0.0, rng.make_state(0)) == 0


@pytest.mark.parametrize("field, value, message", [
    ("model", "neural", "model must be one of deterministic, counts"),
    ("backup", "mean", "backup must be one of sample, expected"),
    ("sampling", "random", "sampling must be one of uniform, latest, trajectory")])
def test_config_rejects_unknown_choices(field, value, message):
    with pytest.raises(ConfigError, match=message):
        DynaQConfig(**{field: value})


def test_expected_backups_need_the_counts_model():
    with pytest.raises(ConfigError, match="backup expected needs model counts"):
        DynaQConfig(backup="expected")
    assert RunConfig(model="counts", backup="expected", sampling="trajectory").agent_config(
    ) == DynaQConfig(model="counts", backup="expected", sampling="trajectory")
