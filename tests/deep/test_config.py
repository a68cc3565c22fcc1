"""DeepConfig validation, the RunConfig mapping, and the torch-free import contract."""

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynaq.deep.config import RUN_CONFIG_FIELDS, DeepConfig, check_agent
from dynaq.errors import ConfigError


def test_defaults_are_valid_and_widths_become_tuples():
    cfg = DeepConfig(hidden=[32, 16], model_hidden=(8,))
    assert cfg.hidden == (32, 16) and cfg.model_hidden == (8,)
    assert DeepConfig().planning_steps == 0


@pytest.mark.parametrize(("field", "value", "allowed"), [
    ("lr", 0.0, r"\(0, 1\]"), ("gamma", 1.5, r"\[0, 1\]"), ("tau", -1, r"\(0, 1\]"),
    ("epsilon_end", "x", r"\[0, 1\]"), ("imagined_ratio", True, r"\[0, 1\]"),
    ("batch_size", 0, r"in \[1, "), ("planning_steps", -1, r"in \[0, "),
    ("ensemble", 2.5, r"in \[1, "), ("buffer_capacity", 10**10, "<= 1_000_000_000"),
    ("hidden", (), "non-empty"), ("model_hidden", (4, 0), r"integers in \[1, 65536\]"),
    ("hidden", (2**17,), r"integers in \[1, 65536\]"),
    ("max_grad_norm", 0.0, r"\(0, inf\)"), ("device", "tpu", "cpu, cuda"),
])
def test_bad_values_name_the_field_in_one_line(field, value, allowed):
    with pytest.raises(ConfigError, match=f"^{field} .*{allowed}") as err:
        DeepConfig(**{field: value})
    assert "\n" not in str(err.value)


def test_cuda_without_a_gpu_is_one_clear_line():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    with pytest.raises(ConfigError, match="^device must be cpu here: cuda is not available"):
        DeepConfig(device="cuda")


def test_from_run_fields_maps_names_and_reports_run_names():
    cfg = DeepConfig.from_run_fields(alpha=0.002, gamma=0.9, epsilon=0.1, planning_steps=5,
                                     ensemble=3, imagined_ratio=0.25, device="cpu",
                                     buffer_size=1000)
    assert (cfg.lr, cfg.gamma, cfg.epsilon_end, cfg.planning_steps, cfg.ensemble,
            cfg.imagined_ratio, cfg.buffer_capacity) == (0.002, 0.9, 0.1, 5, 3, 0.25, 1000)
    assert DeepConfig.from_run_fields(alpha=None) == DeepConfig()
    assert set(RUN_CONFIG_FIELDS.values()) <= {f for f in DeepConfig.__dataclass_fields__}
    with pytest.raises(ConfigError, match=r"^alpha \(lr\) must be in \(0, 1\], got 5"):
        DeepConfig.from_run_fields(alpha=5)
    with pytest.raises(ConfigError, match="^kappa is not a deep-agent setting"):
        DeepConfig.from_run_fields(kappa=0.1)


def test_check_agent_without_torch():
    check_agent("dyna-dqn", DeepConfig(planning_steps=5))
    check_agent("dqn", DeepConfig())
    with pytest.raises(ConfigError, match="^planning_steps must be 0 for dqn, got 5; use agent "
                                          "dyna-dqn"):
        check_agent("dqn", DeepConfig(planning_steps=5))
    with pytest.raises(ConfigError, match="^agent must be one of dqn, dyna-dqn; got 'ppo'"):
        check_agent("ppo", DeepConfig())


def test_epsilon_schedule_is_linear_then_flat():
    cfg = DeepConfig(epsilon_start=1.0, epsilon_end=0.1, epsilon_decay_steps=10)
    assert [round(cfg.epsilon_at(t), 6) for t in (0, 5, 10, 100)] == [1.0, 0.55, 0.1, 0.1]


def test_missing_torch_is_one_install_line(monkeypatch):
    import dynaq.deep

    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(ConfigError, match=r"^the dqn agent needs the deep extra: pip install "
                                          r"'dynaq\[deep\]'$"):
        dynaq.deep.require_torch()
    with pytest.raises(ConfigError, match="dynaq.deep.DQN needs the deep extra"):
        dynaq.deep.DQN  # noqa: B018  (the lazy attribute is what is tested)


def test_importing_dynaq_and_deep_config_never_imports_torch():
    code = ("import sys, dynaq, dynaq.deep, dynaq.deep.config, dynaq.saving; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@settings(max_examples=100, deadline=None)
@given(p=st.integers(1, 4000), q=st.integers(1, 1000), steps=st.integers(0, 5000))
def test_updates_due_add_up_to_the_replay_ratio(p, q, steps):
    if p / q > 1000:
        return
    cfg = DeepConfig(updates_per_step=p / q)
    due = [cfg.updates_due(t) for t in range(1, steps + 1)]
    assert sum(due) == p * steps // q and all(d >= 0 for d in due)


@pytest.mark.parametrize("value, message", [
    (0, r"updates_per_step must be in \(0, 1000\]"), (1001, r"in \(0, 1000\]"),
    ("2", r"in \(0, 1000\]"), (0.1234567, "a fraction p/q with q <= 1000"),
])
def test_updates_per_step_is_a_ratio_of_small_integers(value, message):
    with pytest.raises(ConfigError, match=message):
        DeepConfig(updates_per_step=value)


def test_disagreement_is_the_regression_models_alone():
    with pytest.raises(ConfigError, match="disagreement must be inf for world_model categorical"):
        DeepConfig(world_model="categorical", disagreement=1.0)
    assert DeepConfig(world_model="neural", disagreement=1.0).disagreement == 1.0
