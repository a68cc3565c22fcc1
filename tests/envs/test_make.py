"""Env ids → envs and exact models, with one ConfigError line for a bad id or keyword."""

import numpy as np
import pytest

from dynaq import ConfigError
from dynaq.envs import env_model, make_env


def one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_make_env_knows_the_dynaq_ids_and_names_them_for_a_bad_one():
    env = make_env("dynaq/DynaMaze-v0")
    assert env.observation_space.n == 47
    env.close()
    with pytest.raises(ConfigError, match=r"^env must be a registered .*got 'Nope-v0'.*"
                                          r"dynaq/DynaMaze-v0") as excinfo:
        make_env("Nope-v0")
    one_line(excinfo)


@pytest.mark.parametrize("env_id, hint, suggestion", [
    ("FrozenLake-v0", "Environment version v0 for `FrozenLake` is deprecated",
     "did you mean FrozenLake-v1?"),
    ("DynaMaze-v0", "Environment `DynaMaze` doesn't exist", "did you mean dynaq/DynaMaze-v0?"),
    ("dynaq/dynamaze-v0", "doesn't exist in namespace dynaq", "did you mean dynaq/DynaMaze-v0?"),
    ("dynaq/singlepath9x9-v0", "doesn't exist", "did you mean dynaq/SinglePath9x9-v0?"),
])
def test_a_bad_id_gets_gymnasiums_hint_then_the_nearest_id_then_the_dynaq_ids(
        env_id, hint, suggestion):
    with pytest.raises(ConfigError) as excinfo:
        make_env(env_id)
    message = one_line(excinfo)
    assert message.index(hint) < message.index(suggestion) < message.index("dynaq ids:")


def test_make_env_passes_the_kwargs_to_the_constructor():
    env = make_env("FrozenLake-v1", {"is_slippery": False})
    assert all(len(outcomes) == 1 for row in env.unwrapped.P.values() for outcomes in row.values())
    env.close()
    env = make_env("FrozenLake-v1", {"desc": ["SF", "HG"]})
    assert env.observation_space.n == 4
    env.close()


@pytest.mark.parametrize("env_id, kwargs, message", [
    ("FrozenLake-v1", {"slippery": True},
     r"^env_kwargs: FrozenLake-v1 takes no keyword 'slippery' \(it takes: desc, map_name, "
     r"is_slippery"),
    ("dynaq/DynaMaze-v0", {"size": 2},
     r"^env_kwargs: dynaq/DynaMaze-v0 takes no keyword 'size' \(it takes: scale\)$"),
    ("FrozenLake-v1", {"map_name": "9x9"}, r"^env_kwargs: FrozenLake-v1 rejected .*9x9"),
    ("FrozenLake-v1", ["is_slippery"], r"^env_kwargs must be a mapping"),
])
def test_a_keyword_the_env_does_not_take_is_one_line_naming_env_kwargs(env_id, kwargs, message):
    with pytest.raises(ConfigError, match=message) as excinfo:
        make_env(env_id, kwargs)
    one_line(excinfo)


def test_env_model_gives_the_exact_model_and_the_step_limit():
    mdp, limit = env_model("FrozenLake-v1")
    assert (mdp.n_states, mdp.n_actions, limit) == (16, 4, 100)
    assert env_model("FrozenLake-v1")[0] is mdp  # cached: built once per id
    assert env_model("FrozenLake-v1", None)[0] is mdp
    assert env_model("FrozenLake-v1", {})[0] is mdp
    with pytest.raises(ConfigError, match="Discrete observation and action spaces"):
        env_model("CartPole-v1")


def test_env_model_caches_on_the_kwargs_in_any_equal_form():
    still, _ = env_model("FrozenLake-v1", {"is_slippery": False, "map_name": "4x4"})
    assert still is env_model("FrozenLake-v1", {"map_name": "4x4", "is_slippery": False})[0]
    assert still is not env_model("FrozenLake-v1")[0]
    assert np.all(still.prob == 1.0) and not np.all(env_model("FrozenLake-v1")[0].prob == 1.0)
    lake = env_model("FrozenLake-v1", {"desc": ["SF", "HG"]})[0]
    assert lake is env_model("FrozenLake-v1", {"desc": ("SF", "HG")})[0]
    assert lake.n_states == 4
    chars = env_model("FrozenLake-v1", {"desc": np.asarray(["SF", "HG"], dtype="c")})[0]
    assert chars is env_model("FrozenLake-v1", {"desc": [["S", "F"], ["H", "G"]]})[0]
    for got, want in zip(chars.arrays, lake.arrays, strict=True):
        np.testing.assert_array_equal(got, want)


def test_env_model_refuses_kwargs_that_are_not_json_values():
    with pytest.raises(ConfigError, match=r"^env_kwargs must hold JSON-like values"):
        env_model("FrozenLake-v1", {"desc": object()})
