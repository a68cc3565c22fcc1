"""The step API every tabular agent shares (dynaq.agents.base) on valid input; its refusal
of bad indices, which could crash compiled code, is tested in subprocesses
(tests/reliability/test_step_api.py)."""

from __future__ import annotations

import numpy as np
import pytest

from dynaq import ConfigError
from dynaq.agents import AGENTS
from dynaq.models import MODELS

S, A = 5, 3


@pytest.fixture(params=list(AGENTS))
def agent(request):
    return AGENTS[request.param](S, A, seed=0)


def test_in_range_numpy_integers_are_states(agent):
    agent.observe(np.int64(4), np.int32(2), 1.0, np.int64(0), True)
    assert agent.act(np.int64(4)) in range(A)


def test_plan_refuses_a_negative_or_fractional_number_of_steps(agent):
    for bad in (-1, 2.5):
        with pytest.raises(ConfigError, match="steps must be an integer >= 0"):
            agent.plan(bad)


@pytest.mark.parametrize("name", list(MODELS))
def test_models_record_a_pair_at_the_end_of_the_range(name):
    model = MODELS[name](S, A)
    model.update(S - 1, A - 1, 1.0, S - 1, True)
    assert (S - 1, A - 1) in model and model.predict(S - 1, A - 1) == (S - 1, 1.0, True)
