"""The step-API driver (dynaq.agents.loop): its calls in order, how episodes end, budgets,
seeding, argument checks, and the compiled runner's episodes for one seed."""

import itertools

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import TimeLimit

from dynaq import ConfigError, DynaQ, RunConfig, records, rng, run_cells
from dynaq.agents import Episode, run_episode, run_episodes


class Corridor(gym.Env):
    """States 0 … ``length``: action 1 moves right, 0 stays; the right end terminates. The
    reward is the state reached, so a return tells which steps were summed."""

    def __init__(self, length: int, log: list):
        self.observation_space = gym.spaces.Discrete(length + 1)
        self.action_space = gym.spaces.Discrete(2)
        self.length, self.log, self.s = length, log, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.log.append(("reset", seed))
        self.s = 0
        return self.s, {}

    def step(self, action):
        self.log.append(("step", action))
        self.s += action
        return self.s, float(self.s), self.s == self.length, False, {}


class Scripted:
    """An agent that plays ``actions`` and logs every call of the step API."""

    def __init__(self, actions, log: list):
        self.actions, self.log = iter(actions), log

    def act(self, state):
        self.log.append(("act", state))
        return next(self.actions)

    def observe(self, state, action, reward, next_state, terminated):
        self.log.append(("observe", state, action, reward, next_state, terminated))
        return 0.0

    def plan(self):
        self.log.append(("plan",))
        return 0


def corridor(length=2, actions=None, time_limit=None):
    """A scripted agent (always right by default), its corridor and their shared log."""
    log = []
    env = Corridor(length, log)
    agent = Scripted(itertools.repeat(1) if actions is None else actions, log)
    return agent, TimeLimit(env, time_limit) if time_limit else env, log


def test_one_episode_resets_then_acts_steps_observes_and_plans_in_order():
    agent, env, log = corridor(actions=[1, 0, 1])
    assert run_episode(agent, env, seed=7) == Episode(3, 4.0, True, False)
    assert log == [("reset", 7),
                   ("act", 0), ("step", 1), ("observe", 0, 1, 1.0, 1, False), ("plan",),
                   ("act", 1), ("step", 0), ("observe", 1, 0, 1.0, 1, False), ("plan",),
                   ("act", 1), ("step", 1), ("observe", 1, 1, 2.0, 2, True), ("plan",)]


def test_a_step_limit_truncates_unless_the_episode_terminates_on_it():
    agent, env, _ = corridor(actions=itertools.repeat(0))
    assert run_episode(agent, env, max_steps=4) == Episode(4, 0.0, False, True)
    agent, env, _ = corridor(actions=itertools.repeat(0), time_limit=3)  # the env's own limit
    assert run_episode(agent, env) == Episode(3, 0.0, False, True)
    for max_steps, time_limit in ((3, None), (None, 3)):
        agent, env, _ = corridor(length=3, time_limit=time_limit)
        assert run_episode(agent, env, max_steps=max_steps) == Episode(3, 6.0, True, False)


def test_only_the_first_reset_is_seeded_and_each_episode_comes_before_the_next_starts():
    agent, env, log = corridor()
    it = run_episodes(agent, env, episodes=3, seed=5)
    assert log == []  # nothing runs before the first next()
    assert next(it) == Episode(2, 3.0, True, False)
    assert [e for e in log if e[0] == "reset"] == [("reset", 5)]
    assert list(it) == [Episode(2, 3.0, True, False)] * 2
    assert [e for e in log if e[0] == "reset"] == [("reset", 5), ("reset", None), ("reset", None)]


@pytest.mark.parametrize(("kwargs", "steps", "truncated"), [
    (dict(total_steps=7), [3, 3, 1], [False, False, True]),
    (dict(total_steps=5, max_episode_steps=2), [2, 2, 1], [True, True, True]),
    (dict(total_steps=6, max_episode_steps=4), [3, 3], [False, False]),
    (dict(episodes=2, total_steps=100), [3, 3], [False, False]),
    (dict(episodes=4, total_steps=5), [3, 2], [False, True]),
])
def test_budgets(kwargs, steps, truncated):
    agent, env, _ = corridor(length=3)
    episodes = list(run_episodes(agent, env, **kwargs))
    assert [e.steps for e in episodes] == steps
    assert [e.truncated for e in episodes] == truncated


def test_without_limits_it_runs_as_long_as_the_caller_iterates():
    agent, env, _ = corridor()
    assert len(list(itertools.islice(run_episodes(agent, env), 50))) == 50


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_limits_are_checked_at_the_call(bad):
    agent, env, log = corridor()
    for name in ("episodes", "total_steps", "max_episode_steps"):
        with pytest.raises(ConfigError, match=f"{name} must be an integer >= 1 or None"):
            run_episodes(agent, env, **{name: bad})
    with pytest.raises(ConfigError, match="max_steps must be an integer >= 1 or None"):
        run_episode(agent, env, max_steps=bad)
    assert log == []


def test_gives_the_compiled_runners_episodes_under_both_step_limits():
    run = RunConfig(planning_steps=5, episodes=None, total_steps=700, max_episode_steps=90)
    (cell,) = run_cells(run, [3])
    env = gym.make(run.env)
    agent = DynaQ.for_env(env, run.agent_config(), seed=3)
    episodes = list(run_episodes(agent, env, total_steps=700, max_episode_steps=90,
                                 seed=rng.gym_seed(3)))
    rec = cell.records
    assert [e.steps for e in episodes] == list(rec[:, records.STEPS])
    assert [e.return_ for e in episodes] == list(rec[:, records.RETURN])
    assert [e.truncated for e in episodes] == list(rec[:, records.TRUNCATED] == 1)
    assert any(e.truncated for e in episodes[:-1]) and episodes[-1].truncated
    assert np.array_equal(agent.Q, cell.Q) and agent.backups == rec[-1, records.BACKUPS]
