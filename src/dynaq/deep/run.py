"""One deep run: a deep agent, a Gymnasium env, one seed → per-episode records.

Box observations go to the network as they are; Discrete ones as one-hot vectors
(:class:`OneHot`), so DQN and Dyna-DQN run on the same worlds as the tabular agents, and on
those with an exact model (FrozenLake-v1, ``dynaq/DynaMaze-v0``…) the network's Q on every
one-hot state is a Q table that gets the tabular ground-truth metrics, exactly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from dynaq import rng
from dynaq.agents.loop import run_episodes
from dynaq.deep.config import DeepConfig, check_agent
from dynaq.deep.dqn import DQN
from dynaq.deep.dyna_dqn import DynaDQN
from dynaq.envs import make_env
from dynaq.errors import ConfigError
from dynaq.mdp import TabularMDP, greedy_policy
from dynaq.metrics import GroundTruth
from dynaq.records import N_FIELDS

DEEP_AGENTS: dict[str, type[DQN]] = {"dqn": DQN, "dyna-dqn": DynaDQN}
"""Deep agent names accepted by ``--agent``."""


TORCH_THREADS = 1
"""Intra-op threads during a run: these MLPs are too small to gain from more, and a sweep
runs one cell per core (see benchmarks/bench_deep.py)."""


@dataclass(frozen=True)
class DeepRun:
    """What one deep run produced.

    The record columns (:data:`dynaq.records.RECORD`): steps and return of the episode;
    ``env_steps``, cumulative real steps; ``backups``, cumulative gradient steps (on real
    and on imagined minibatches alike: the course's analogue of tabular backups);
    ``value_error`` and ``policy_value`` as for tabular agents (NaN without an exact
    model); ``wall_s``, cumulative seconds; ``truncated``, 1 when the episode was cut by a
    step limit; ``model_error`` and ``reward_error``, the model's held-out RMSE of s′ and r
    (NaN for dqn and before the model's second fit); ``model_coverage``, always NaN.
    """

    records: np.ndarray
    """``float64[episodes, N_FIELDS]``."""
    agent: DQN
    """The agent at the end of the run."""
    q_table: np.ndarray | None
    """Q on every one-hot state ``[S, A]`` for a Discrete observation space, else None."""
    v_star_start: float
    """V*(start) of the true MDP (NaN without an exact model)."""


class OneHot(gym.ObservationWrapper):
    """Discrete observation n ↦ the n-th unit vector of ``float32[S]``."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        n = int(env.observation_space.n)
        self._eye = np.eye(n, dtype=np.float32)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (n,), np.float32)

    def observation(self, observation: int) -> np.ndarray:
        return self._eye[int(observation)]


def make_deep_env(env_id: str) -> tuple[gym.Env, TabularMDP | None]:
    """The env a deep agent sees, and its exact model when it has one.

    Raises:
        ConfigError: For an unknown id, a non-Discrete action space or an observation space
            that is neither Discrete nor Box.
    """
    env = make_env(env_id)
    obs, act = env.observation_space, env.action_space
    if not isinstance(act, gym.spaces.Discrete):
        raise ConfigError(f"env {env_id!r}: deep agents need a Discrete action space, got {act}")
    if isinstance(obs, gym.spaces.Discrete):
        mdp = TabularMDP.from_gymnasium(env) if hasattr(env.unwrapped, "P") else None
        return OneHot(env), mdp
    if isinstance(obs, gym.spaces.Box):
        return (env if len(obs.shape) == 1 else gym.wrappers.FlattenObservation(env)), None
    raise ConfigError(f"env {env_id!r}: deep agents need a Box or Discrete observation space, "
                      f"got {obs}")


@contextmanager
def torch_settings(device: str) -> Iterator[None]:
    """On the CPU: :data:`TORCH_THREADS` threads and deterministic algorithms, restored after."""
    if device != "cpu":
        yield
        return
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(TORCH_THREADS)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def run_deep(env_id: str, config: DeepConfig, agent: str = "dqn", seed: int = 0,
             episodes: int | None = None, total_steps: int | None = None,
             max_episode_steps: int | None = None) -> DeepRun:
    """Train a deep agent for ``episodes`` episodes or ``total_steps`` real steps.

    Args:
        env_id: A Gymnasium id with a Discrete action space.
        config: Hyperparameters.
        agent: ``dqn`` or ``dyna-dqn``.
        seed: The cell seed: the agent's streams and, on the first reset, the env's
            (``dynaq.rng.gym_seed(seed)``).
        episodes: Episodes to run (exclusive with ``total_steps``).
        total_steps: Real steps to run; the last episode is cut there.
        max_episode_steps: Truncate episodes after this many steps (None: the env's limit).

    Raises:
        ConfigError: On a bad agent name, budget or env.
    """
    check_agent(agent, config)
    if (episodes is None) == (total_steps is None):
        raise ConfigError("give exactly one of episodes or total_steps")
    for name, value in (("episodes", episodes), ("total_steps", total_steps),
                        ("max_episode_steps", max_episode_steps)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
    env, mdp = make_deep_env(env_id)
    truth = GroundTruth.of(mdp, config.gamma) if mdp is not None else None
    try:
        with torch_settings(config.device):
            learner = DEEP_AGENTS[agent].for_env(env, config, seed)
            records = _train(env, learner, seed, episodes, total_steps, max_episode_steps or 0,
                             mdp, truth)
    finally:
        env.close()
    q_table = learner.q_values(np.eye(mdp.n_states)) if mdp is not None else None
    return DeepRun(records, learner, q_table,
                   truth.v_star_start if truth is not None else float("nan"))


def _train(env: gym.Env, agent: DQN, seed: int, episodes: int | None, total_steps: int | None,
           limit: int, mdp: TabularMDP | None, truth: GroundTruth | None) -> np.ndarray:
    rows: list[tuple[float, ...]] = []
    t0 = time.perf_counter()
    for episode in run_episodes(agent, env, episodes=episodes, total_steps=total_steps,
                                max_episode_steps=limit or None, seed=rng.gym_seed(seed)):
        value_error, policy_value = _value_metrics(agent, mdp, truth)
        rows.append((episode.steps, episode.return_, agent.env_steps, agent.backups,
                     value_error, policy_value, time.perf_counter() - t0, episode.truncated,
                     agent.model_error, agent.reward_error, np.nan))
    return np.array(rows, dtype=np.float64).reshape(-1, N_FIELDS)


def _value_metrics(agent: DQN, mdp: TabularMDP | None, truth: GroundTruth | None
                   ) -> tuple[float, float]:
    """value_error and policy_value of the network's Q table (NaN without an exact model)."""
    if mdp is None or truth is None:
        return np.nan, np.nan
    Q = agent.q_values(np.eye(mdp.n_states))
    policy = mdp.evaluate_policy(greedy_policy(Q), agent.config.gamma)
    return truth.value_error(Q), mdp.start_value(policy)
