"""run_deep: the records, the one-hot path with exact value metrics, and bad input."""

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dynaq.deep.config import DeepConfig  # noqa: E402
from dynaq.deep.run import run_deep  # noqa: E402
from dynaq.errors import ConfigError  # noqa: E402
from dynaq.mdp import TabularMDP  # noqa: E402
from dynaq.metrics import GroundTruth  # noqa: E402
from dynaq.records import (  # noqa: E402
    ENV_STEPS,
    MODEL_COVERAGE,
    MODEL_ERROR,
    POLICY_VALUE,
    RECORD,
    STEPS,
    TRUNCATED,
    VALUE_ERROR,
    WALL_S,
)

SMALL = DeepConfig(hidden=(16,), learning_starts=32, batch_size=16, epsilon_decay_steps=100,
                   gamma=0.95, model_hidden=(16,), model_train_period=40,
                   model_gradient_steps=2, buffer_capacity=500, imagined_capacity=100)


def test_records_on_cartpole():
    out = run_deep("CartPole-v1", SMALL, "dqn", seed=0, total_steps=300)
    rec = out.records
    assert rec.shape[1] == len(RECORD) == 15
    assert np.array_equal(rec[:, ENV_STEPS], np.cumsum(rec[:, STEPS]))
    assert rec[-1, ENV_STEPS] == 300 and rec[-1, TRUNCATED] in (0, 1)
    assert np.all(np.diff(rec[:, WALL_S]) >= 0)
    assert np.isnan(rec[:, [VALUE_ERROR, POLICY_VALUE, MODEL_ERROR, MODEL_COVERAGE]]).all()
    assert out.q_table is None and np.isnan(out.v_star_start)
    assert run_deep("CartPole-v1", SMALL, "dqn", seed=0, episodes=3).records.shape == (3, 15)


def test_frozenlake_one_hot_gets_exact_value_metrics():
    out = run_deep("FrozenLake-v1", SMALL, "dqn", seed=0, total_steps=300)
    rec = out.records
    assert np.isfinite(rec[:, VALUE_ERROR]).all() and np.isfinite(rec[:, POLICY_VALUE]).all()
    assert np.all((rec[:, POLICY_VALUE] >= 0) & (rec[:, POLICY_VALUE] <= 1))
    mdp = TabularMDP.from_gymnasium(gym.make("FrozenLake-v1"))
    truth = GroundTruth.of(mdp, 0.95)
    assert out.q_table.shape == (16, 4) and out.v_star_start == truth.v_star_start
    assert rec[-1, VALUE_ERROR] == pytest.approx(truth.value_error(out.q_table), rel=1e-6)


def test_dyna_dqn_on_the_dyna_maze():
    cfg = DeepConfig(**{**SMALL.__dict__, "planning_steps": 2})
    rec = run_deep("dynaq/DynaMaze-v0", cfg, "dyna-dqn", seed=1, total_steps=300,
                   max_episode_steps=50).records
    assert np.isfinite(rec[:, VALUE_ERROR]).all()
    assert np.all(rec[:, STEPS] <= 50)
    assert np.all(rec[rec[:, STEPS] == 50, TRUNCATED] == 1)
    assert np.isfinite(rec[-1, MODEL_ERROR])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"agent": "ppo", "total_steps": 10}, "^agent must be one of dqn, dyna-dqn"),
    ({"episodes": 2, "total_steps": 10}, "^give exactly one of episodes or total_steps"),
    ({"episodes": 0}, r"^episodes must be an integer in \[1, "),
    ({"env_id": "Pendulum-v1", "episodes": 1}, "deep agents need a Discrete action space"),
    ({"env_id": "NoSuchEnv-v9", "episodes": 1}, "^env must be a registered Gymnasium id"),
])
def test_bad_input_is_one_config_error_line(kwargs, message):
    kwargs = {"env_id": "CartPole-v1", "config": SMALL, **kwargs}
    with pytest.raises(ConfigError, match=message) as err:
        run_deep(**kwargs)
    assert "\n" not in str(err.value)
