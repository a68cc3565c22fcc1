"""Agent names: the planning defaults and the "did you mean" of an unknown name."""

from __future__ import annotations

import re

import pytest

from dynaq.agents.registry import AGENTS, PLANNING_DEFAULTS, default_planning_steps, resolve_agent
from dynaq.errors import ConfigError


@pytest.mark.parametrize("agent", ["dyna-q", "dyna-q+", "prioritized-sweeping", "replay",
                                   "dyna-dqn"])
def test_planning_agents_default_to_planning(agent: str) -> None:
    # k = 0 would make them Q-learning (or DQN): the course's "k=0 and expecting Dyna gains"
    assert default_planning_steps(agent) > 0


@pytest.mark.parametrize("agent", ["q-learning", "dqn"])
def test_agents_that_never_plan_default_to_zero(agent: str) -> None:
    assert default_planning_steps(agent) == 0


def test_every_planning_default_names_an_agent() -> None:
    assert set(PLANNING_DEFAULTS) <= {*AGENTS, "dqn", "dyna-dqn"}


def test_a_user_agent_gets_its_configs_default() -> None:
    assert default_planning_steps("dynaq.agents.dyna_q:DynaQ") == 0


@pytest.mark.parametrize(("typed", "meant"), [("dynaq", "dyna-q"), ("DynaQ", "dyna-q"),
                                              ("dyna_q_plus", "dyna-q+"),
                                              ("prioritised-sweeping", "prioritized-sweeping"),
                                              ("qlearning", "q-learning")])
def test_unknown_agent_suggests_the_closest_name(typed: str, meant: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"did you mean {meant}?") + "$") as err:
        resolve_agent(typed)
    assert "\n" not in str(err.value)


def test_no_suggestion_for_a_name_like_none() -> None:
    with pytest.raises(ConfigError) as err:
        resolve_agent("xyz")
    assert "did you mean" not in str(err.value)
