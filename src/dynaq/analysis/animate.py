"""How value floods a maze: an animated GIF of max_a Q after each real step for several
planning budgets k side by side (Sutton & Barto §8.2, Figure 8.3, as a film)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dynaq.agents import DynaQ, DynaQConfig
from dynaq.analysis.plots import atomic_path, figures
from dynaq.analysis.values import ValueView, world_of
from dynaq.envs.make import make_env


def value_trace(env_id: str, k: int, episodes: int = 3, seed: int = 0,
                max_steps: int = 5000, env_kwargs: Mapping[str, Any] | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Run Dyna-Q step by step and keep Q after every real step.

    Args:
        env_id: A Gymnasium id with Discrete spaces.
        k: Planning steps per real step.
        episodes: Episodes to run.
        seed: Seeds the agent and the env.
        max_steps: Stop after this many real steps even if the episodes are not done.
        env_kwargs: Keyword arguments of the env.

    Returns:
        ``(Q, episode)``: ``Q[t]`` after ``t`` real steps (``Q[0]`` is all zeros), and the
        episode (from 1) that step ``t`` belongs to.
    """
    env = make_env(env_id, env_kwargs)
    agent = DynaQ.for_env(env, DynaQConfig(planning_steps=k), seed=seed)
    qs, episode_of = [agent.Q.copy()], [1]
    for episode in range(1, episodes + 1):
        s, _ = env.reset(seed=seed if episode == 1 else None)
        done = False
        while not done and len(qs) <= max_steps:
            a = agent.act(s)
            s2, r, terminated, truncated, _ = env.step(a)
            agent.observe(s, a, r, s2, terminated)
            agent.plan()
            s, done = s2, terminated or truncated
            qs.append(agent.Q.copy())
            episode_of.append(episode)
    env.close()
    return np.array(qs), np.array(episode_of)


def _step_at(episode: np.ndarray, number: int, fraction: float) -> int:
    """The real step a ``fraction`` of the way through episode ``number`` (the last step
    if the run stopped before it)."""
    steps = np.flatnonzero(episode == number)
    if steps.size == 0:
        return len(episode) - 1
    first = max(steps[0] - 1, 0)  # from the picture the episode starts with
    return int(round(first + fraction * (steps[-1] - first)))


def animate_value_flood(path: str | Path, ks: Sequence[int] = (0, 50), episodes: int = 3,
                        seed: int = 0, env_id: str = "dynaq/DynaMaze-v0", frames: int = 60,
                        fps: int = 8, env_kwargs: Mapping[str, Any] | None = None) -> Path:
    """An animated GIF of max_a Q and the greedy actions, one panel per k.

    Each agent runs its first ``episodes`` episodes with the same seed. The panels move
    in step by episode: each episode gets the same number of frames, evenly spaced over
    that agent's real steps in it (its titles give the real step). Without planning
    (k = 0) an episode carries the goal's value back one state; with k = 50 the value
    floods the part of the maze the agent has seen.

    Args:
        path: Where to write the GIF (atomically).
        ks: Planning budgets, one panel each.
        episodes: Episodes per agent.
        seed: Seeds the agents and the env.
        env_id: A dynaq gridworld id.
        frames: Frames in all, shared equally by the episodes.
        fps: Frames per second.
        env_kwargs: Keyword arguments of the env (a ``desc`` map of ``dynaq/GridWorld-v0``).

    Returns:
        The path written.
    """
    from matplotlib.animation import FuncAnimation, PillowWriter

    world = world_of(env_id, env_kwargs)
    traces = [value_trace(env_id, k, episodes, seed, env_kwargs=env_kwargs) for k in ks]
    per_episode = max(2, frames // episodes)
    vmax = max(float(q.max()) for q, _ in traces)
    vmin = min(0.0, *(float(q.max(axis=2).min()) for q, _ in traces))
    height, width = world.grid.shape
    fig, axes = figures.subplots(1, len(ks), squeeze=False,
                                 figsize=(0.4 * width * len(ks) + 0.4, 0.4 * height + 0.7))
    views = [ValueView.draw(ax, world, q[0], vmax=vmax, power=0.3, vmin=vmin) for ax, (q, _) in zip(
        axes[0], traces, strict=True)]

    def show(frame: int) -> list:
        episode_now, part = divmod(frame, per_episode)
        for ax, view, k, (q, episode) in zip(axes[0], views, ks, traces, strict=True):
            i = _step_at(episode, episode_now + 1, part / (per_episode - 1))
            view.update(q[i])
            ax.set_title(f"k = {k}: step {i}, episode {episode[i]}", fontsize=9)
        return [v.image for v in views]

    fig.tight_layout()
    with atomic_path(path) as tmp:
        FuncAnimation(fig, show, frames=per_episode * episodes, blit=False).save(
            tmp, writer=PillowWriter(fps=fps), dpi=72)
    return Path(path)
