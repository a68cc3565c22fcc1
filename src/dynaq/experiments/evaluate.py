"""Greedy episodes of a saved agent (``dynaq evaluate``): how well does what was learned act?

Deep agents are loaded, and act, on the CPU; torch is imported only for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from dynaq import rng
from dynaq.envs import make_env
from dynaq.errors import ConfigError
from dynaq.mdp import require_discrete
from dynaq.saving import load_agent, saved_env

EVAL_STEP_LIMIT = 10_000
"""Step cap of an evaluation episode in an env with no time limit of its own (a greedy
policy can walk in circles forever)."""


def evaluate_agent(path: str | Path, env: str | gym.Env | None = None, episodes: int = 10,
                   seed: int = 0, max_episode_steps: int | None = None,
                   env_kwargs: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Returns and lengths of greedy episodes of a saved agent.

    Args:
        path: A directory written by :func:`dynaq.saving.save_agent`.
        env: What to evaluate on (its spaces must fit the agent): a Gymnasium id, an env
            object (used as it is, and not closed), or None for the env the agent was
            saved with (``dynaq run --save-agent`` records it).
        episodes: How many episodes.
        seed: Seeds the env (``dynaq.rng.gym_seed(seed)`` on the first reset) and the
            tie-breaking of tabular agents.
        max_episode_steps: Cut episodes here (default: the env's limit, else
            :data:`EVAL_STEP_LIMIT`).
        env_kwargs: Keyword arguments for an env given by id (default, for the saved
            env: the ones it was saved with).

    Deep agents are evaluated on the CPU.

    Returns:
        One row per episode: ``episode`` (from 1), ``return``, ``steps``, ``truncated``.

    Raises:
        ConfigError: For a bad save, no env given where none was saved, an unknown env or
            one whose spaces do not fit.
    """
    rows = [row for row, _ in _greedy_episodes(path, env, episodes, seed, max_episode_steps,
                                               env_kwargs)]
    return pd.DataFrame(rows, columns=["episode", "return", "steps", "truncated"])


def render_greedy_episode(path: str | Path, env: str | None = None, seed: int = 0,
                          max_episode_steps: int | None = None,
                          env_kwargs: Mapping[str, Any] | None = None) -> list[str]:
    """The text frames of one greedy episode of a saved agent (``dynaq evaluate --render``):
    the start, then the world after each step, as the env's ``ansi`` render draws it.

    Args: as :func:`evaluate_agent` (an env by id only: it is made to render text).

    Raises:
        ConfigError: As :func:`evaluate_agent`, or for an env that cannot render text.
    """
    return [frame for _, frames in _greedy_episodes(path, env, 1, seed, max_episode_steps,
                                                    env_kwargs, render=True)
            for frame in frames]


def _greedy_episodes(path: str | Path, env: str | gym.Env | None, episodes: int, seed: int,
                     max_episode_steps: int | None, env_kwargs: Mapping[str, Any] | None,
                     render: bool = False) -> Iterator[tuple[tuple, list[str]]]:
    """Each greedy episode's row ``(episode, return, steps, truncated)`` and, with
    ``render``, its text frames."""
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ConfigError(f"episodes must be an integer >= 1, got {episodes!r}")
    agent = load_agent(path, device="cpu")
    own = not isinstance(env, gym.Env)
    if own:
        env, env_kwargs = _env_of(path, env, env_kwargs)
        env = make_env(env, {**(env_kwargs or {}), **({"render_mode": "ansi"} if render
                                                      else {})})
        if render and "ansi" not in env.metadata.get("render_modes", ()):
            env.close()
            raise ConfigError(f"env {env.spec.id if env.spec else env!r} cannot render as "
                              f"text; its render modes: "
                              f"{', '.join(env.metadata.get('render_modes', ())) or 'none'}")
    spec_limit = env.spec.max_episode_steps if env.spec is not None else None
    limit = max_episode_steps or spec_limit or EVAL_STEP_LIMIT
    try:
        view, choose = _greedy_view(agent, env, seed)
        for episode in range(1, episodes + 1):
            s, _ = view.reset(seed=rng.gym_seed(seed) if episode == 1 else None)
            frames = [view.render()] if render else []
            steps, ret, done, truncated = 0, 0.0, False, False
            while not done:
                s, r, terminated, truncated, _ = view.step(choose(s))
                steps, ret = steps + 1, ret + float(r)
                truncated = truncated or steps >= limit
                done = terminated or truncated
                if render:
                    frames.append(view.render())
            yield (episode, ret, steps, bool(truncated and not terminated)), frames
    finally:
        if own:
            env.close()


def _env_of(path: str | Path, env: str | None, env_kwargs: Mapping[str, Any] | None
            ) -> tuple[str, Mapping[str, Any] | None]:
    """The env id and kwargs to evaluate on: those given, else the saved ones."""
    if env is not None:
        return env, env_kwargs
    saved, saved_kwargs = saved_env(path)
    if saved is None:
        raise ConfigError(f"env: the agent saved in {path} records no env (saved before "
                          "dynaq recorded one, or by save_agent without env); give one")
    return saved, env_kwargs if env_kwargs is not None else saved_kwargs


def _greedy_view(agent: Any, env: gym.Env, seed: int) -> tuple[gym.Env, Callable[[Any], int]]:
    """The env as the agent sees it and the agent's greedy action function, sizes checked."""
    name = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    if hasattr(agent, "state_tensors"):
        from dynaq.deep.run import deep_view  # torch: only for a deep agent

        view = deep_view(env, name)
        sizes, wanted = (view.observation_space.shape[0], view.action_space.n), (
            agent.obs_dim, agent.n_actions)
        choose = agent.greedy
    else:
        view = env
        require_discrete(env, f"agent {agent.name}")
        sizes, wanted = (env.observation_space.n, env.action_space.n), agent.Q.shape
        tie_break = np.random.default_rng(np.random.SeedSequence(seed))

        def choose(s: Any) -> int:
            row = agent.Q[int(s)]
            return int(tie_break.choice(np.flatnonzero(row == row.max())))
    sizes, wanted = tuple(int(x) for x in sizes), tuple(int(x) for x in wanted)
    if sizes != wanted:
        raise ConfigError(f"env {name!r} has (observation, action) sizes {sizes}, the saved "
                          f"agent needs {wanted}")
    return view, choose
