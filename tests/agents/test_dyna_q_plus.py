"""The Dyna-Q+ agent (Sutton & Barto §8.3, Exercise 8.4): same episodes through the step API
and the compiled runner, k = 0 ≡ Q-learning, determinism, and the bonus at work."""

import gymnasium as gym
import numpy as np
import pytest

import dynaq
from dynaq import ConfigError, RunConfig, run_cells
from dynaq.agents import DynaQPlus, DynaQPlusConfig, run_episodes
from dynaq.kernels import run as K


def step_api_episodes(config, seed, episodes, env_id="dynaq/DynaMaze-v0"):
    env = gym.make(env_id)
    agent = DynaQPlus.for_env(env, config, seed=seed)
    return [e.steps for e in run_episodes(agent, env, episodes=episodes, seed=seed)], agent


@pytest.mark.parametrize("bonus", ["planning", "action"])
def test_step_api_equals_compiled_runner(bonus):
    run = RunConfig(agent="dyna-q+", planning_steps=5, kappa=0.01, bonus=bonus, episodes=8)
    (cell,) = run_cells(run, [2])
    lengths, agent = step_api_episodes(run.agent_config(), 2, 8)
    assert lengths == list(cell.records[:, K.STEPS].astype(int))
    assert np.array_equal(agent.Q, cell.Q)
    assert agent.backups == cell.records[-1, K.BACKUPS]
    assert agent.t == cell.records[-1, K.ENV_STEPS]


def test_k0_with_the_bonus_in_planning_is_q_learning_bitwise():
    q = run_cells(RunConfig(agent="q-learning", episodes=15), [0, 1])
    p = run_cells(RunConfig(agent="dyna-q+", planning_steps=0, kappa=1.0, episodes=15), [0, 1])
    for a, b in zip(q, p, strict=True):
        assert np.array_equal(a.Q, b.Q)
        assert np.array_equal(np.delete(a.records, K.WALL_S, axis=1),
                              np.delete(b.records, K.WALL_S, axis=1), equal_nan=True)


@pytest.mark.parametrize("bonus", ["planning", "action"])
def test_same_seed_same_run_different_seed_differs(bonus):
    run = RunConfig(agent="dyna-q+", planning_steps=5, bonus=bonus, episodes=6)
    a, b = run_cells(run, [0, 1])
    (again,) = run_cells(run, [0])
    assert np.array_equal(a.records[:, K.STEPS], again.records[:, K.STEPS])
    assert np.array_equal(a.Q, again.Q)
    assert not np.array_equal(a.records[:, K.STEPS], b.records[:, K.STEPS])


def test_diagnostics_count_only_the_pairs_tried():
    """The footnote's made-up outcomes of untried actions are not the learned model: in a
    deterministic world the model error is 0 and the coverage that of the pairs tried."""
    (plus,) = run_cells(RunConfig(agent="dyna-q+", planning_steps=5, episodes=5), [0])
    (dyna,) = run_cells(RunConfig(agent="q-learning", episodes=5), [0])
    assert np.all(plus.records[:, K.MODEL_ERROR] == 0.0)
    assert 0.0 < plus.records[-1, K.MODEL_COVERAGE] <= 1.0
    assert dyna.records[-1, K.MODEL_COVERAGE] < 1.0


def test_finds_the_shortcut_that_dyna_q_misses():
    """Figure 8.5's claim on the shortcut maze (the shortcut opens after 3000 real steps):
    some 3000 steps later, Dyna-Q+ has found it in most runs and Dyna-Q in few."""
    def found(agent, **extra):
        cells = run_cells(RunConfig(env="dynaq/ShortcutMaze-v0", agent=agent, planning_steps=50,
                                    episodes=400, **extra), range(6))
        return np.mean([c.records[-1, K.POLICY_VALUE] >= 0.999 * c.v_star_start[-1]
                        for c in cells])
    assert found("dyna-q+", kappa=1e-3) >= 0.5 > found("dyna-q")


def test_config_and_run_config_validation():
    for bad in (-1.0, float("inf"), True):
        with pytest.raises(ConfigError, match="kappa must be a finite number >= 0"):
            DynaQPlusConfig(kappa=bad)
    with pytest.raises(ConfigError, match="bonus must be one of planning, action"):
        DynaQPlusConfig(bonus="both")
    with pytest.raises(ConfigError, match="kappa does not apply to agent dyna-q"):
        RunConfig(agent="dyna-q", kappa=0.5)
    config = RunConfig(agent="dyna-q+", kappa=0.5, bonus="action").agent_config()
    assert (config.kappa, config.bonus) == (0.5, "action")
    with pytest.raises(ConfigError, match="needs a DynaQPlusConfig"):
        DynaQPlus(3, 2, dynaq.DynaQConfig())
