"""The step API every tabular agent shares (dynaq.agents.base): indices are checked before
compiled code sees them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynaq import ConfigError
from dynaq.agents import AGENTS
from dynaq.models import MODELS

S, A = 5, 3
BAD_STATES = [S, -1, 10**6, 2.0, True, None, "1"]


@pytest.fixture(params=list(AGENTS))
def agent(request):
    return AGENTS[request.param](S, A, seed=0)


@pytest.mark.parametrize("bad", BAD_STATES)
def test_every_agent_refuses_a_state_out_of_range_and_learns_nothing(agent, bad):
    Q = agent.Q.copy()
    with pytest.raises(ConfigError, match=r"state must be an integer in \[0, 4\]"):
        agent.act(bad)
    with pytest.raises(ConfigError, match=r"^state must be an integer in \[0, 4\]"):
        agent.observe(bad, 0, 1.0, 1, False)
    with pytest.raises(ConfigError, match=r"next_state must be an integer in \[0, 4\]"):
        agent.observe(0, 0, 1.0, bad, False)
    with pytest.raises(ConfigError, match=r"state must be an integer in \[0, 4\]"):
        agent.end_episode(bad, True)
    assert np.array_equal(agent.Q, Q) and agent.backups == 0 and agent.t == 0


@given(action=st.one_of(st.integers(max_value=-1), st.integers(min_value=A)))
def test_every_agent_refuses_an_action_out_of_range(action):
    for cls in AGENTS.values():
        agent = cls(S, A, seed=0)
        with pytest.raises(ConfigError, match=r"action must be an integer in \[0, 2\]"):
            agent.observe(0, action, 1.0, 1, False)
        assert not agent.Q.any()


def test_in_range_numpy_integers_are_states(agent):
    agent.observe(np.int64(4), np.int32(2), 1.0, np.int64(0), True)
    assert agent.act(np.int64(4)) in range(A)


def test_plan_refuses_a_negative_or_fractional_number_of_steps(agent):
    for bad in (-1, 2.5):
        with pytest.raises(ConfigError, match="steps must be an integer >= 0"):
            agent.plan(bad)


@pytest.mark.parametrize("name", list(MODELS))
def test_models_refuse_pairs_out_of_range(name):
    model = MODELS[name](S, A)
    with pytest.raises(ConfigError, match=r"state must be an integer in \[0, 4\]"):
        model.update(S, 0, 1.0, 0, False)
    with pytest.raises(ConfigError, match=r"action must be an integer in \[0, 2\]"):
        model.update(0, -1, 1.0, 0, False)
    with pytest.raises(ConfigError, match=r"next_state must be an integer in \[0, 4\]"):
        model.update(0, 0, 1.0, 10**6, False)
    with pytest.raises(ConfigError, match=r"state must be an integer in \[0, 4\]"):
        model.predict(-1, 0)
    assert len(model) == 0
    model.update(0, 0, 1.0, 4, True)
    assert (0, 0) in model and model.predict(0, 0) == (4, 1.0, True)
