"""Driving an agent through a Gymnasium env with the step API, written once.

Every caller that runs an agent step by step (the step-by-step runner, the tests, a notebook)
goes through :func:`run_episode` or :func:`run_episodes`, so all of them make the same calls
in the same order: ``env.reset``, then per real step ``agent.act``, ``env.step``,
``agent.observe`` and ``agent.plan``, and when the episode ends ``agent.end_episode`` (for an
agent that has it: every tabular one, see :class:`dynaq.agents.TabularAgent`). The loop
draws no random numbers of its own, so for one seed it gives the compiled runner's very
episodes.

>>> import gymnasium as gym
>>> import dynaq
>>> from dynaq.agents import DynaQ, DynaQConfig, run_episodes
>>> env = gym.make("dynaq/DynaMaze-v0")
>>> agent = DynaQ.for_env(env, DynaQConfig(planning_steps=50), seed=0)
>>> episodes = list(run_episodes(agent, env, episodes=5, seed=0))
>>> episodes[0]
Episode(steps=111, return_=1.0, terminated=True, truncated=False)
>>> [e.steps for e in episodes[1:]]  # near the ε-greedy optimum (15.9 on average)
[23, 20, 19, 19]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from dynaq.errors import ConfigError

if TYPE_CHECKING:
    import gymnasium as gym

__all__ = ["Episode", "StepAgent", "run_episode", "run_episodes"]


class StepAgent(Protocol):
    """What the loop needs of an agent: the step API of every dynaq agent, tabular or deep."""

    def act(self, state: Any, /) -> int:
        """The action to take in ``state``."""
        ...

    def observe(self, state: Any, action: int, reward: float, next_state: Any,
                terminated: bool, /) -> float:
        """Learn from one real step; returns the TD error."""
        ...

    def plan(self) -> int:
        """Plan with simulated experience; returns the number of backups."""
        ...


class Episode(NamedTuple):
    """What one episode of :func:`run_episode` did."""

    steps: int
    """Real steps taken."""
    return_: float
    """Undiscounted sum of the episode's rewards."""
    terminated: bool
    """Whether it reached a terminal state."""
    truncated: bool
    """Whether a step limit (the env's own or the caller's) cut it short. Never true together
    with :attr:`terminated`: an episode that terminates on its last allowed step ended."""


def run_episode(agent: StepAgent, env: gym.Env, *, seed: int | None = None,
                max_steps: int | None = None) -> Episode:
    """Reset ``env``, then act → step → observe → plan until the episode ends, then tell the
    agent (``end_episode``, if it has one).

    Args:
        agent: Any agent with the step API.
        env: The env, reset here (and not closed).
        seed: Passed to ``env.reset`` (``None``: the env goes on with its own generator).
        max_steps: Cut the episode after this many real steps (``None``: only the env's own
            termination or truncation ends it).

    Returns:
        The episode's length, return and how it ended.

    Raises:
        ConfigError: If ``max_steps`` is not a positive integer or ``None``.
    """
    _check_limit("max_steps", max_steps)
    s, _ = env.reset(seed=seed)
    steps, ret = 0, 0.0
    while True:
        a = agent.act(s)
        s2, r, terminated, truncated, _ = env.step(a)
        agent.observe(s, a, float(r), s2, terminated)
        agent.plan()
        steps, ret, s = steps + 1, ret + float(r), s2
        if terminated or truncated or steps == max_steps:
            end_episode = getattr(agent, "end_episode", None)
            if end_episode is not None:
                end_episode(s, bool(terminated))
            return Episode(steps, ret, bool(terminated), not terminated)


def run_episodes(agent: StepAgent, env: gym.Env, *, episodes: int | None = None,
                 total_steps: int | None = None, max_episode_steps: int | None = None,
                 seed: int | None = None) -> Iterator[Episode]:
    """Run episodes one after another, yielding each as soon as it ends.

    The run stops after ``episodes`` episodes or ``total_steps`` real steps, whichever comes
    first; the episode that reaches ``total_steps`` is cut there (and counts as truncated).
    With neither limit it goes on for as long as the caller iterates.

    Args:
        agent: Any agent with the step API.
        env: The env, reset at the start of every episode (and not closed).
        episodes: Most episodes to run.
        total_steps: Most real steps to run, over all episodes.
        max_episode_steps: Cut each episode after this many real steps.
        seed: Seeds the first ``env.reset`` only: the later episodes go on with the env's
            generator, as Gymnasium intends.

    Returns:
        A lazy iterator of the episodes: each comes before the next one starts, so the
        caller can read the agent (its ``Q``, its ``backups``) between episodes.

    Raises:
        ConfigError: If a limit is not a positive integer or ``None``.
    """
    for name, value in (("episodes", episodes), ("total_steps", total_steps),
                        ("max_episode_steps", max_episode_steps)):
        _check_limit(name, value)
    # Not a generator itself, so that bad limits raise here, not at the first ``next``.
    return _episodes(agent, env, episodes, total_steps, max_episode_steps, seed)


def _episodes(agent: StepAgent, env: gym.Env, episodes: int | None, total_steps: int | None,
              max_episode_steps: int | None, seed: int | None) -> Iterator[Episode]:
    done, total = 0, 0
    while (episodes is None or done < episodes) and (total_steps is None or total < total_steps):
        limit = episode_limit(max_episode_steps, total_steps, total)
        episode = run_episode(agent, env, seed=seed if done == 0 else None, max_steps=limit)
        done, total = done + 1, total + episode.steps
        yield episode


def episode_limit(max_episode_steps: int | None, total_steps: int | None, total: int
                  ) -> int | None:
    """The step limit of the next episode of a run that has taken ``total`` real steps: the
    episode limit, cut where the run's ``total_steps`` end (None: no limit)."""
    if total_steps is None:
        return max_episode_steps
    return min(max_episode_steps or total_steps, total_steps - total)


def _check_limit(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 1):
        raise ConfigError(f"{name} must be an integer >= 1 or None, got {value!r}")
