"""Deep runs: a deep agent, a Gymnasium env, S seeds in lockstep → per-episode records.

The seeds of a run step together (one env each, one batched agent: :mod:`dynaq.deep.nets`),
each exactly as it would alone: :func:`run_deep_seeds` for S seeds gives each seed's
:func:`run_deep` records bit for bit (wall time aside). A seed that has finished its
episodes goes on stepping, unrecorded, until the last one finishes.

Box observations go to the network as they are; Discrete ones as one-hot vectors
(:class:`OneHot`), so DQN and Dyna-DQN run on the same worlds as the tabular agents, and on
those with an exact model (FrozenLake-v1, ``dynaq/DynaMaze-v0``…) the network's Q on every
one-hot state is a Q table that gets the tabular ground-truth metrics, exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from dynaq import rng
from dynaq.agents.loop import episode_limit
from dynaq.checks import check_count
from dynaq.deep.config import DeepConfig, check_agent
from dynaq.deep.dqn import DQN
from dynaq.deep.dyna_dqn import DynaDQN
from dynaq.deep.nets import EVAL, seed_sequence
from dynaq.envs import make_env
from dynaq.errors import ConfigError
from dynaq.limits import MAX_EPISODES, MAX_STEPS
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
    model); ``wall_s``, cumulative seconds (of the lockstep batch); ``truncated``, 1 when
    the episode was cut by a step limit; ``model_error`` (the next-state error relative to
    the spread of Δs), ``reward_error`` (RMSE of r), ``term_recall`` and ``term_precision``
    of the model's elites on the real transitions since its last fit (NaN for dqn and
    before the model's second fit: :class:`dynaq.deep.model.ModelErrors`);
    ``rollout_error``, the regression model's error after ``rollout_length`` model steps with
    the real actions (:func:`dynaq.deep.model.rollout_error`); ``model_coverage``, always
    NaN; ``eval_return``, the mean return of ``eval_episodes``
    greedy episodes on a separate env when an evaluation fell due during the episode (every
    ``eval_period`` real steps), else NaN.
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


def make_deep_env(env_id: str, exact: bool = True, env_kwargs: dict[str, Any] | None = None
                  ) -> tuple[gym.Env, TabularMDP | None]:
    """The env a deep agent sees, and its exact model when it has one.

    Args:
        env_id: A Gymnasium id.
        exact: Whether to build the exact model (False: None; the lockstep runner builds it
            once for all its envs).
        env_kwargs: Keyword arguments for the env's constructor.

    Raises:
        ConfigError: For an unknown id, a non-Discrete action space or an observation space
            that is neither Discrete nor Box.
    """
    env = make_env(env_id, env_kwargs)
    view = deep_view(env, env_id)
    exact = exact and isinstance(env.observation_space, gym.spaces.Discrete) and hasattr(
        env.unwrapped, "P")
    return view, TabularMDP.from_gymnasium(env) if exact else None


def deep_view(env: gym.Env, name: str) -> gym.Env:
    """``env`` as a deep agent sees it: Discrete observations one-hot (:class:`OneHot`), a
    Box of more than one axis flattened, a flat Box as it is.

    Raises:
        ConfigError: Naming ``name`` for a non-Discrete action space or an observation
            space that is neither Discrete nor Box.
    """
    obs, act = env.observation_space, env.action_space
    if not isinstance(act, gym.spaces.Discrete):
        raise ConfigError(f"env {name!r}: deep agents need a Discrete action space, got {act}")
    if isinstance(obs, gym.spaces.Discrete):
        return OneHot(env)
    if isinstance(obs, gym.spaces.Box):
        return env if len(obs.shape) == 1 else gym.wrappers.FlattenObservation(env)
    raise ConfigError(f"env {name!r}: deep agents need a Box or Discrete observation space, "
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
             max_episode_steps: int | None = None, env_kwargs: dict[str, Any] | None = None
             ) -> DeepRun:
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
        env_kwargs: Keyword arguments for the env's constructor.

    Raises:
        ConfigError: On a bad agent name, budget or env.
    """
    return run_deep_seeds(env_id, config, agent, [seed], episodes, total_steps,
                          max_episode_steps, env_kwargs)[0]


def run_deep_seeds(env_id: str, config: DeepConfig, agent: str, seeds: Sequence[int],
                   episodes: int | None = None, total_steps: int | None = None,
                   max_episode_steps: int | None = None,
                   env_kwargs: dict[str, Any] | None = None,
                   progress: Callable[[float], None] | None = None) -> list[DeepRun]:
    """:func:`run_deep` for each of ``seeds``, run in lockstep (see the module's docstring);
    the :class:`DeepRun` of each, each with the one agent of all the seeds. ``progress``, if
    given, is told as each episode ends how many seeds' worth of the budget are done.

    Raises:
        ConfigError: As :func:`run_deep`, or for no seeds.
    """
    check_agent(agent, config)
    if (episodes is None) == (total_steps is None):
        raise ConfigError("give exactly one of episodes or total_steps")
    for name, value in (("episodes", episodes), ("total_steps", total_steps),
                        ("max_episode_steps", max_episode_steps)):
        if value is not None:
            check_count(name, value, 1, MAX_EPISODES if name == "episodes" else MAX_STEPS)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ConfigError("seeds must name at least one seed")
    made = [make_deep_env(env_id, exact=i == 0, env_kwargs=env_kwargs)
            for i in range(2 * len(seeds) if config.eval_period else len(seeds))]
    envs = [env for env, _ in made]
    mdp = made[0][1]
    truth = GroundTruth.of(mdp, config.gamma) if mdp is not None else None
    try:
        with torch_settings(config.device):
            learner = DEEP_AGENTS[agent].for_env(envs[0], config, seeds)
            records, q_tables = _train(envs[:len(seeds)], envs[len(seeds):], learner, episodes,
                                       total_steps, max_episode_steps, mdp, truth, progress)
    finally:
        for env in envs:
            env.close()
    v_star = truth.v_star_start if truth is not None else float("nan")
    return [DeepRun(rec, learner, q, v_star) for rec, q in zip(records, q_tables, strict=True)]


class _Seed:
    """One seed's progress through its budget."""

    def __init__(self) -> None:
        self.episodes = self.total = self.steps = 0
        self.ret = 0.0
        self.rows: list[tuple[float, ...]] = []
        self.finished = False
        self.q_table: np.ndarray | None = None
        self.eval_return = np.nan


def _train(envs: list[gym.Env], eval_envs: list[gym.Env], agent: DQN, episodes: int | None,
           total_steps: int | None, limit: int | None, mdp: TabularMDP | None,
           truth: GroundTruth | None, progress: Callable[[float], None] | None = None
           ) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """The loop of :func:`dynaq.agents.run_episodes`, for every seed at once: the same calls
    in the same order for each seed, so one seed here is that loop exactly."""
    seeds, cfg = agent.seeds, agent.config
    state = [_Seed() for _ in seeds]
    obs = np.stack([env.reset(seed=rng.gym_seed(s))[0] for env, s in zip(envs, seeds,
                                                                          strict=True)])
    eval_seeded = [False] * len(seeds)
    t0 = time.perf_counter()
    while not all(st.finished for st in state):
        actions = agent.act_all(obs)
        steps = [env.step(int(a)) for env, a in zip(envs, actions, strict=True)]
        next_obs = np.stack([st[0] for st in steps])
        rewards = np.array([float(st[1]) for st in steps])
        terminated = np.array([bool(st[2]) for st in steps])
        agent.observe_all(obs, actions, rewards, next_obs, terminated)
        agent.plan()
        if cfg.eval_period and agent.env_steps % cfg.eval_period == 0:
            returns = _evaluate(agent, eval_envs, eval_seeded, limit)
            for st, r in zip(state, returns, strict=True):
                st.eval_return = r
        obs = next_obs
        for s, (st, step) in enumerate(zip(state, steps, strict=True)):
            st.steps, st.ret, st.total = st.steps + 1, st.ret + float(step[1]), st.total + 1
            cut = episode_limit(limit, total_steps, st.total - st.steps)
            if not (step[2] or step[3] or st.steps == cut):
                continue
            if not st.finished:
                _record(st, agent, s, bool(step[2]), time.perf_counter() - t0, mdp, truth)
                if progress is not None:
                    progress(sum(min(x.episodes / episodes if episodes else
                                     x.total / total_steps, 1.0) for x in state))
                done = (episodes is not None and st.episodes == episodes) or (
                    total_steps is not None and st.total == total_steps)
                if done:
                    st.finished = True
                    st.q_table = _q_table(agent, mdp, s)
            st.steps, st.ret = 0, 0.0
            obs[s] = envs[s].reset()[0]
    return ([np.array(st.rows, dtype=np.float64).reshape(-1, N_FIELDS) for st in state],
            [st.q_table for st in state])


def _record(st: _Seed, agent: DQN, s: int, terminated: bool, wall: float,
            mdp: TabularMDP | None, truth: GroundTruth | None) -> None:
    value_error, policy_value = _value_metrics(agent, s, mdp, truth)
    errors = getattr(agent, "errors", None)
    model = [np.nan] * 4 if errors is None else [float(e[s]) for e in errors]
    rollout = getattr(agent, "rollout_errors", None)
    st.episodes += 1
    st.rows.append((st.steps, st.ret, st.total, agent.backups, value_error, policy_value, wall,
                    not terminated, model[0], model[1], np.nan, st.eval_return, model[2],
                    model[3], np.nan if rollout is None else float(rollout[s])))
    st.eval_return = np.nan


def _evaluate(agent: DQN, envs: list[gym.Env], seeded: list[bool], limit: int | None
              ) -> list[float]:
    """Each seed's mean return over ``eval_episodes`` greedy episodes on its own evaluation
    env (seeded from the seed's EVAL stream at its first reset; the agent draws nothing)."""
    n = agent.config.eval_episodes
    totals = [0.0] * len(envs)
    for _ in range(n):
        obs = []
        for s, env in enumerate(envs):
            seed = None if seeded[s] else int(
                seed_sequence(agent.seeds[s], EVAL).generate_state(1, np.uint32)[0])
            obs.append(env.reset(seed=seed)[0])
            seeded[s] = True
        obs = np.stack(obs)
        running = [True] * len(envs)
        steps = 0
        while any(running):
            greedy = agent.q_values_all(obs[:, None])[:, 0].argmax(axis=-1)
            steps += 1
            for s, env in enumerate(envs):
                if not running[s]:
                    continue
                o, r, term, trunc, _ = env.step(int(greedy[s]))
                totals[s] += float(r)
                obs[s] = o
                running[s] = not (term or trunc or steps == limit)
    return [t / n for t in totals]


def _q_table(agent: DQN, mdp: TabularMDP | None, s: int) -> np.ndarray | None:
    if mdp is None:
        return None
    return agent.q_values_all(np.broadcast_to(np.eye(mdp.n_states),
                                              (len(agent.seeds), mdp.n_states, mdp.n_states)))[s]


def _value_metrics(agent: DQN, s: int, mdp: TabularMDP | None, truth: GroundTruth | None
                   ) -> tuple[float, float]:
    """value_error and policy_value of seed s's network's Q table (NaN without an exact
    model)."""
    if mdp is None or truth is None:
        return np.nan, np.nan
    Q = _q_table(agent, mdp, s)
    policy = mdp.evaluate_policy(greedy_policy(Q), agent.config.gamma)
    return truth.value_error(Q), mdp.start_value(policy)
