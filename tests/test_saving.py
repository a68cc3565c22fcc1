"""Saving and loading agents: round trips that continue identically, and one clear
ConfigError line (never a pickle load) for a missing, truncated, corrupted or mismatched save."""

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from dynaq import ConfigError, DynaQ, DynaQConfig
from dynaq.agents import PrioritizedSweepingConfig, run_episodes
from dynaq.saving import (
    DEEP_FILE,
    META_FILE,
    TABULAR,
    TABULAR_FILE,
    TabularCodec,
    load_agent,
    register_tabular,
    save_agent,
)


class ActionLog(gym.Wrapper):
    """Keeps the actions the env was stepped with."""

    def __init__(self, env):
        super().__init__(env)
        self.actions = []

    def step(self, action):
        self.actions.append(action)
        return super().step(action)


def drive(agent, steps, seed=0, env_id="dynaq/DynaMaze-v0"):
    """``steps`` real steps of act → observe → plan; returns the actions taken."""
    env = ActionLog(gym.make(env_id))
    list(run_episodes(agent, env, total_steps=steps, seed=seed))
    return env.actions


def one_line_error(path, match):
    with pytest.raises(ConfigError, match=match) as err:
        load_agent(path)
    assert "\n" not in str(err.value)
    return str(err.value)


def rewrite_meta(path, change):
    meta = json.loads((path / META_FILE).read_text())
    change(meta)
    (path / META_FILE).write_text(json.dumps(meta))


def refresh_checksum(path):
    def change(meta):
        data = (path / meta["data"]["file"]).read_bytes()
        meta["data"]["sha256"] = hashlib.sha256(data).hexdigest()
    rewrite_meta(path, change)


def tabular_configs():
    """Every savable tabular agent planning k = 5 (q-learning: 0), and Dyna-Q's other
    models and samplings where its config has them."""
    out = [pytest.param(codec, codec.config_cls(planning_steps=0 if name == "q-learning" else 5,
                                                epsilon=0.2), id=name)
           for name, codec in TABULAR.items()]
    fields = {f.name for f in dataclasses.fields(DynaQConfig)}
    for field, value in (("model", "counts"), ("sampling", "trajectory")):
        if field in fields:
            out.append(pytest.param(TABULAR["dyna-q"], DynaQConfig(planning_steps=5,
                                                                   **{field: value}),
                                    id=f"dyna-q-{value}"))
    out.append(pytest.param(TABULAR["prioritized-sweeping"], PrioritizedSweepingConfig(
        planning_steps=5, model="counts", backup="expected"), id="prioritized-sweeping-counts"))
    return out


@pytest.mark.parametrize(("codec", "config"), tabular_configs())
def test_tabular_round_trip_continues_identically(tmp_path, codec, config):
    agent = codec.agent_cls.for_env(gym.make("dynaq/DynaMaze-v0"), config, seed=3)
    drive(agent, 400)
    save_agent(agent, tmp_path / "agent")
    assert {p.name for p in (tmp_path / "agent").iterdir()} == {META_FILE, TABULAR_FILE}
    loaded = load_agent(tmp_path / "agent")
    assert type(loaded) is codec.agent_cls and loaded.config == agent.config
    assert np.array_equal(loaded.Q, agent.Q) and loaded.backups == agent.backups
    assert drive(loaded, 200, seed=9) == drive(agent, 200, seed=9)
    assert np.array_equal(loaded.Q, agent.Q)


def test_a_new_tabular_agent_plugs_in(tmp_path, monkeypatch):
    @dataclass(frozen=True)
    class CountConfig:
        bonus: float = 1.0

    class Counter:
        name = "counter"

        def __init__(self, n_states, n_actions, config):
            self.Q, self.config = np.zeros((n_states, n_actions)), config

    monkeypatch.setitem(TABULAR, "counter", TABULAR["dyna-q"])  # restored after the test
    register_tabular("counter", TabularCodec(Counter, CountConfig))
    agent = Counter(3, 2, CountConfig(bonus=0.5))
    agent.Q[1, 1] = 7.0
    loaded = load_agent(save_agent(agent, tmp_path / "c"))
    assert loaded.config == CountConfig(0.5) and loaded.Q[1, 1] == 7.0


@pytest.fixture
def saved(tmp_path):
    agent = DynaQ.for_env(gym.make("dynaq/DynaMaze-v0"), DynaQConfig(planning_steps=5))
    drive(agent, 100)
    return save_agent(agent, tmp_path / "agent")


def test_missing_or_not_an_agent(tmp_path, saved):
    one_line_error(tmp_path / "nothing", "no agent.json")
    (saved / META_FILE).write_text("{ not json")
    one_line_error(saved, "agent.json is unreadable or not JSON")


def test_truncated_or_corrupted_data_fails_its_checksum(saved):
    data = saved / TABULAR_FILE
    data.write_bytes(data.read_bytes()[:-20])
    one_line_error(saved, "does not match its checksum .* save the agent again")
    refresh_checksum(saved)  # a consistent but truncated file still cannot load
    one_line_error(saved, "arrays.npz is not a readable npz")


def test_mismatched_config_or_version(saved):
    rewrite_meta(saved, lambda m: m["shape"].update(n_states=10))
    one_line_error(saved, "'Q' has shape and dtype .*10, 4")
    rewrite_meta(saved, lambda m: m["shape"].update(n_states=47) or m.update(version=99))
    one_line_error(saved, "format dynaq-agent v99, this dynaq reads dynaq-agent v1")
    rewrite_meta(saved, lambda m: m.update(version=1) or m["config"].update(alpha=7))
    one_line_error(saved, "alpha must be in")
    rewrite_meta(saved, lambda m: m["config"].update(alpha=0.1, kappa=1.0))
    one_line_error(saved, "config has fields .*kappa")


def test_a_counts_pool_of_another_shape_is_refused(tmp_path):
    agent = DynaQ.for_env(gym.make("dynaq/DynaMaze-v0"), DynaQConfig(model="counts"))
    drive(agent, 50)
    path = save_agent(agent, tmp_path / "a")
    with np.load(path / TABULAR_FILE) as npz:
        arrays = dict(npz)
    for bad in (arrays["state.1.p_int"][:, :3], arrays["state.1.p_int"][:10]):
        np.savez(path / TABULAR_FILE, **{**arrays, "state.1.p_int": bad})
        refresh_checksum(path)
        one_line_error(path, r"state.1.p_int has shape .*, the agent needs \(\d+ or more "
                             r"rows, 4\)")


def test_object_arrays_are_refused_not_unpickled(saved):
    np.savez(saved / TABULAR_FILE, Q=np.array([object()], dtype=object))
    refresh_checksum(saved)
    one_line_error(saved, "not a readable npz .*allow_pickle")


def test_unknown_agents_cannot_be_saved(tmp_path):
    with pytest.raises(ConfigError, match="cannot save agent 'object'"):
        save_agent(object(), tmp_path)


# -- deep agents ------------------------------------------------------------------------
def deep_saved(tmp_path, k=2, termination="learned"):
    pytest.importorskip("torch")
    from dynaq.deep.config import DeepConfig
    from dynaq.deep.run import run_deep

    cfg = DeepConfig(hidden=(16,), learning_starts=32, batch_size=16, planning_steps=k,
                     model_hidden=(16,), model_train_period=40, model_gradient_steps=2,
                     termination=termination)
    agent = run_deep("CartPole-v1", cfg, "dyna-dqn", seed=0, total_steps=200).agent
    return agent, save_agent(agent, tmp_path / "deep")


def test_deep_round_trip(tmp_path):
    import torch

    agent, path = deep_saved(tmp_path)
    assert {p.name for p in path.iterdir()} == {META_FILE, DEEP_FILE}
    loaded = load_agent(path)
    assert type(loaded) is type(agent) and loaded.config == agent.config
    assert all(torch.equal(loaded.state_tensors()[k], v)
               for k, v in agent.state_tensors().items())
    assert (loaded.env_steps, loaded.grad_steps, loaded.model_fits) == (
        agent.env_steps, agent.grad_steps, agent.model_fits)
    obs = np.random.default_rng(0).standard_normal((5, 4))
    assert np.array_equal(loaded.q_values(obs), agent.q_values(obs))


def test_a_deep_agent_with_a_known_termination_rule_keeps_its_env(tmp_path):
    agent, path = deep_saved(tmp_path, termination="known")
    assert json.loads((path / META_FILE).read_text())["env"] == "CartPole-v1"
    loaded = load_agent(path)
    assert loaded.env_id == "CartPole-v1" and loaded.termination_rule is agent.termination_rule


def test_deep_mismatch_and_truncation(tmp_path):
    _, path = deep_saved(tmp_path)
    rewrite_meta(path, lambda m: m["config"].update(hidden=[8]))
    one_line_error(path, r"q.weights.0 has weights outside the layer sizes \(4, 8, 2\)")
    rewrite_meta(path, lambda m: m["config"].update(hidden=[17]))
    one_line_error(path, "weights.safetensors: 'q.biases.0' has shape and dtype")
    rewrite_meta(path, lambda m: m["config"].update(hidden=[16], planning_steps=0))
    one_line_error(path, "has 'model.delta_mean', which this agent's config does not have")
    rewrite_meta(path, lambda m: m["config"].update(planning_steps=2))
    (path / DEEP_FILE).write_bytes((path / DEEP_FILE).read_bytes()[:100])
    refresh_checksum(path)
    one_line_error(path, "not a readable safetensors file")


SAVED_V1 = Path(__file__).parent / "data" / "saved_v1"
"""Dyna-Q agents saved by dynaq before its model lived in the kernels' state (FrozenLake,
300 real steps; trajectory sampling, and the counts model with expected backups), each with
what it did next then: 20 greedy-or-not actions from state 0, then 20 planning calls."""


@pytest.mark.parametrize("name", ["dyna-q", "dyna-q-counts"])
def test_an_agent_saved_with_its_model_as_an_object_loads_and_goes_on_the_same(name):
    agent = load_agent(SAVED_V1 / name)
    expected = json.loads((SAVED_V1 / name / "expected.json").read_text())
    assert [agent.act(0) for _ in range(20)] == expected["acts"]
    for _ in range(20):
        agent.plan()
    assert agent.backups == expected["backups"]
    assert np.array_equal(agent.Q, np.load(SAVED_V1 / name / "expected_Q_after.npy"))
