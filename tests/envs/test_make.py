"""Env ids → envs and exact models, with one ConfigError line for a bad id."""

import pytest

from dynaq import ConfigError
from dynaq.envs import env_model, make_env


def test_make_env_knows_the_dynaq_ids_and_names_them_for_a_bad_one():
    env = make_env("dynaq/DynaMaze-v0")
    assert env.observation_space.n == 47
    env.close()
    with pytest.raises(ConfigError, match=r"^env must be a registered .*dynaq/DynaMaze-v0.*"
                                          "got 'Nope-v0'"):
        make_env("Nope-v0")


def test_env_model_gives_the_exact_model_and_the_step_limit():
    mdp, limit = env_model("FrozenLake-v1")
    assert (mdp.n_states, mdp.n_actions, limit) == (16, 4, 100)
    assert env_model("FrozenLake-v1")[0] is mdp  # cached: built once per id
    with pytest.raises(ConfigError, match="Discrete observation and action spaces"):
        env_model("CartPole-v1")
