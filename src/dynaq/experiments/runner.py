"""Cells → records: run one config for some seeds and return their per-episode records.

Workers (this module) never write results; the driver does. Envs that
expose their exact model ``P`` run in the compiled runner with ground-truth metrics; other
Discrete Gymnasium envs run through the step-by-step agent API, without them.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from dynaq import rng
from dynaq.agents.base import warn_deterministic_model
from dynaq.agents.loop import run_episodes
from dynaq.agents.registry import resolve_agent
from dynaq.envs.env import TabularEnv
from dynaq.envs.make import env_model, make_env
from dynaq.errors import ConfigError, StochasticWorldWarning
from dynaq.experiments.config import RunConfig, cell_key
from dynaq.kernels import run as kernels
from dynaq.mdp import TabularMDP, has_random_outcomes
from dynaq.metrics import GroundTruth, q_is_near_optimal
from dynaq.records import DEEP_ONLY, ENV_STEPS, N_FIELDS, VALUE_ERROR, WALL_S

UNTIL_NEAR_OPTIMAL_MAX_FACTOR = 64
RECORDS_BYTES = 256 * 2**20
"""Largest per-episode record array one compiled call allocates; more seeds take more calls."""
STEPWISE_EPISODE_BYTES = 512
"""About what one episode's record costs the step-by-step runners (a tuple of Python floats)."""


@dataclass(frozen=True)
class CellResult:
    """What one (config, seed) cell produced."""

    run: RunConfig
    seed: int
    records: np.ndarray
    """``(episodes, N_FIELDS)``, the columns of :data:`dynaq.records.RECORD`."""
    Q: np.ndarray
    """The final action-value table."""
    v_star_start: np.ndarray
    """V*(start) of the dynamics in force after each episode (NaN without an exact model)."""

    @property
    def key(self) -> str:
        """The cell's stable key (see :func:`~dynaq.experiments.config.cell_key`)."""
        return cell_key(self.run, self.seed)


def validate(run: RunConfig) -> None:
    """Check what a config can only be checked against: its env. Raises ConfigError."""
    if run.is_deep:
        from dynaq.deep import require_torch

        require_torch(f"the {run.agent} agent")
        env = make_env(run.env, run.env_kwargs)
        discrete = isinstance(env.observation_space, gym.spaces.Discrete)
        env.close()
        if run.config.planning_steps:
            from dynaq.deep.dyna_dqn import check_world_model

            check_world_model(run.config, run.env, discrete)
            if run.env_kwargs and (run.config.termination == "known"
                                   or run.config.world_model == "simulator"):
                # dynaq's known rules and simulators are those of the env's defaults
                raise ConfigError(f"env_kwargs: termination known and world_model simulator "
                                  f"take {run.env} as registered; give no env_kwargs, or "
                                  "learn the termination and the model")
        return
    mdp, _ = env_model(run.env, run.env_kwargs)
    if mdp is not None:
        _truths(mdp, run.gamma)
        if has_random_outcomes(mdp):
            warn_deterministic_model(resolve_agent(run.agent), run.agent_config(), run.env)


class MemoryNeed(NamedTuple):
    """What :func:`memory_estimate` finds for a unit of work."""

    unit_bytes: int
    """About how many bytes the unit needs at its peak."""
    episodes: int
    """The episodes each cell records (0 where that is unknown before it runs: a run of
    ``total_steps`` in a world without an exact model)."""


def memory_estimate(run: RunConfig, cells: int) -> MemoryNeed:
    """About how many bytes a unit of ``cells`` seeds of ``run`` needs at its peak (the
    agents that run at once, their per-episode records and the results the unit returns),
    and how many episodes each cell records, so that a run that cannot fit is refused
    before it starts. A cell records ``episodes`` (the first budget of a run until
    near-optimal: most seeds need no more), else the most that ``total_steps`` can hold.

    Raises:
        ConfigError: For an env that cannot be made.
    """
    if run.is_deep:
        env = make_env(run.env, run.env_kwargs)
        space = env.observation_space
        obs_dim = int(space.n) if hasattr(space, "n") else int(np.prod(space.shape))
        n_actions = int(env.action_space.n)
        env.close()
        episodes = run.episodes or 0
        # one seed at a time; its episodes kept as rows of Python floats
        return MemoryNeed(run.agent_config().memory_bytes(obs_dim, n_actions)
                          + cells * episodes * STEPWISE_EPISODE_BYTES, episodes)
    mdp, limit = env_model(run.env, run.env_kwargs)
    agent = resolve_agent(run.agent)
    if mdp is None:
        env = make_env(run.env, run.env_kwargs)
        n_states, n_actions = int(env.observation_space.n), int(env.action_space.n)
        env.close()
        episodes = run.episodes or 0
        return MemoryNeed(agent.memory_bytes(run.agent_config(), n_states, n_actions)
                          + cells * episodes * STEPWISE_EPISODE_BYTES, episodes)
    episodes = run.episodes or _episode_capacity(run.total_steps, mdp,
                                                 run.max_episode_steps or limit)
    factor = UNTIL_NEAR_OPTIMAL_MAX_FACTOR if run.until_near_optimal else 1
    record = episodes * N_FIELDS * 8
    # A compiled call runs up to ``per_call`` seeds at once, records allocated for its
    # budget (the last doubling's, for a run until near-optimal); each cell's are copied out.
    per_call = min(cells, max(1, RECORDS_BYTES // max(factor * record, 1)))
    world = agent.memory_bytes(run.agent_config(), mdp.n_states, mdp.n_actions)
    return MemoryNeed(per_call * (factor * record + world) + cells * record, episodes)


def _truths(mdp: TabularMDP, gamma: float) -> list[GroundTruth]:
    """Ground truth of each phase of the dynamics (one, unless the world changes)."""
    return [GroundTruth.of(phase, gamma) for _, phase in mdp.phases()]


Progress = Callable[[float], None]
"""Told, every :data:`PROGRESS_PERIOD_S` or so while cells run, how many cells' worth of
work a :func:`run_cells` call has done (a float from 0 to its number of seeds)."""
PROGRESS_PERIOD_S = 0.5


def run_cells(run: RunConfig, seeds: Sequence[int],
              progress: Progress | None = None) -> list[CellResult]:
    """Run ``run`` once per seed; independent of how seeds are grouped into calls.

    ``progress`` (see :data:`Progress`) hears how far the cells are, from within long
    cells too: the compiled runner's episodes and real steps as it goes, the step API's
    and the deep runner's as their episodes end.
    """
    if run.is_deep:
        return _run_deep(run, seeds, _throttled(progress) if progress else None)[0]
    mdp, limit = env_model(run.env, run.env_kwargs)
    max_episode_steps = run.max_episode_steps or limit
    if mdp is None:
        tell = _throttled(progress) if progress else None
        return [_run_stepwise(run, seed, max_episode_steps,
                              progress=_offset(tell, i) if tell else None)
                for i, seed in enumerate(seeds)]
    truths = _truths(mdp, run.gamma)
    if not run.until_near_optimal:
        return _run_compiled(run, list(seeds), mdp, truths, run.episodes, max_episode_steps,
                             progress)
    results: dict[int, CellResult] = {}
    pending, budget = list(seeds), run.episodes
    while pending:
        # each doubling is told as the share of the seeds still pending, redone
        done = len(seeds) - len(pending)
        for cell in _run_compiled(run, pending, mdp, truths, budget, max_episode_steps,
                                  _offset(progress, done) if progress else None):
            final_error = cell.records[-1, VALUE_ERROR]
            last_try = budget >= run.episodes * UNTIL_NEAR_OPTIMAL_MAX_FACTOR
            if last_try or q_is_near_optimal(final_error, cell.v_star_start[-1]):
                results[cell.seed] = cell
        pending = [s for s in pending if s not in results]
        budget *= 2
    return [results[s] for s in seeds]


def _throttled(progress: Progress) -> Progress:
    """``progress``, told at most once every :data:`PROGRESS_PERIOD_S` (the runners that
    tell it as each episode ends would otherwise tell it thousands of times a second)."""
    last = time.perf_counter()

    def tell(done: float) -> None:
        nonlocal last
        if time.perf_counter() - last >= PROGRESS_PERIOD_S:
            last = time.perf_counter()
            progress(done)
    return tell


def _offset(progress: Progress, cells: float) -> Progress:
    """``progress`` of a part of a call that starts with ``cells`` already done."""
    return lambda done: progress(cells + done)


def _run_compiled(run: RunConfig, seeds: list[int], mdp: TabularMDP,
                  truths: list[GroundTruth], episodes: int | None, max_episode_steps: int,
                  progress: Progress | None = None) -> list[CellResult]:
    capacity = episodes if episodes is not None else _episode_capacity(
        run.total_steps, mdp, max_episode_steps)
    per_call = max(1, RECORDS_BYTES // (capacity * N_FIELDS * 8))
    return [cell for i in range(0, len(seeds), per_call)
            for cell in _run_batch(run, seeds[i:i + per_call], mdp, truths, episodes, capacity,
                                   max_episode_steps,
                                   _offset(progress, i) if progress else None)]


def _episode_capacity(total_steps: int, mdp: TabularMDP, max_episode_steps: int) -> int:
    """Most episodes ``total_steps`` real steps can hold: no episode within one phase of the
    dynamics is shorter than the shortest way to end one there (or the step limit, if that
    is shorter), and each change of the dynamics can cut one more episode short."""
    shortest = min(m.shortest_episode() or total_steps for _, m in mdp.phases())
    if max_episode_steps:
        shortest = min(shortest, max_episode_steps)
    return -(-total_steps // shortest) + len(mdp.changes)


def _run_batch(run: RunConfig, seeds: list[int], mdp: TabularMDP, truths: list[GroundTruth],
               episodes: int | None, capacity: int, max_episode_steps: int,
               progress: Progress | None = None) -> list[CellResult]:
    agent = resolve_agent(run.agent)
    config = run.agent_config()
    world, switch_at = mdp.stacked()
    n = len(seeds)
    records = np.zeros((n, capacity, N_FIELDS))
    records[..., DEEP_ONLY] = np.nan
    Q = np.zeros((n, mdp.n_states, mdp.n_actions))
    counts = np.zeros((n, 2), np.int64)  # (episodes, real steps) per seed, as they run
    c0, t0 = kernels.cycles(), time.perf_counter()
    with _watching(counts, episodes or 0, run.total_steps or 0, progress):
        done = kernels.run_agent(
            kernels.agent_id(agent.kernels(config)), agent.hyperparameters(config), run.gamma,
            world, switch_at,
            np.cumsum(mdp.initial), np.stack([t.v_star for t in truths]),
            np.stack([t.reachable for t in truths]), capacity,
            0 if episodes is not None else run.total_steps, max_episode_steps,
            rng.make_states(seeds, rng.AGENT), rng.make_states(seeds, rng.ENV), Q, records,
            progress=counts)
    c1, t1 = kernels.cycles(), time.perf_counter()
    # The kernels time episodes in CPU cycles (no GIL, so threads never queue for a clock);
    # this call's own wall time converts them to seconds.
    records[..., WALL_S] *= (t1 - t0) / max(c1 - c0, 1.0)
    starts = np.array([t.v_star_start for t in truths])
    cells = []
    for i, seed in enumerate(seeds):
        rec = records[i, :done[i]].copy()
        phase = np.searchsorted(switch_at, rec[:, ENV_STEPS], side="right") - 1
        cells.append(CellResult(run, seed, rec, Q[i], starts[phase]))
    return cells


class RunnerEnv(TabularEnv):
    """A world exactly as the compiled runner simulates it for one cell seed: start states
    and outcomes drawn by the runner's own kernels from the seed's ``ENV`` stream
    (:mod:`dynaq.rng`), not by the env's ``np_random``.

    The step API on this env gives the compiled runner's very episodes, in stochastic
    worlds too (for a deterministic world any env of the id does, as both draw only the
    start state from a one-state distribution). ``reset(seed=...)`` seeds ``np_random``
    alone, which this env never draws from: the seed that matters is the cell seed given
    here.

    Args:
        mdp: The exact dynamics (a layout schedule included, as :class:`TabularEnv`).
        seed: The cell seed whose ``ENV`` stream the world draws from.
    """

    def __init__(self, mdp: TabularMDP, seed: int, render_mode: str | None = None) -> None:
        super().__init__(mdp, render_mode)
        self._initial_cdf = np.cumsum(mdp.initial)
        self._env_rng = rng.make_state(seed, rng.ENV)

    def _start(self) -> int:
        return int(kernels.sample_start(self._initial_cdf, self._env_rng))

    def _outcome(self, dyn: TabularMDP, sa: int) -> int:
        return int(kernels.sample_outcome(dyn.offsets, dyn.prob, sa, self._env_rng))


@contextmanager
def _watching(counts: np.ndarray, episodes: int, total_steps: int,
              progress: Progress | None) -> Iterator[None]:
    """While the compiled runner fills ``counts`` (it runs without the GIL), tell
    ``progress`` every :data:`PROGRESS_PERIOD_S` the cells' worth of work done: each seed's
    episodes out of ``episodes``, or its real steps out of ``total_steps``."""
    if progress is None:
        yield
        return
    stop = threading.Event()
    column, budget = (0, episodes) if episodes else (1, total_steps)

    def watch() -> None:
        while not stop.wait(PROGRESS_PERIOD_S):
            progress(float(np.minimum(counts[:, column] / budget, 1.0).sum()))

    watcher = threading.Thread(target=watch, name="dynaq-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def _run_stepwise(run: RunConfig, seed: int, max_episode_steps: int,
                  keep_agent: bool = False, mdp: TabularMDP | None = None,
                  progress: Progress | None = None) -> Any:
    """The same algorithm through the agent API: the cell, or the trained agent itself with
    ``keep_agent``. Without ``mdp`` (envs with no exact model) on the env itself, with it
    on the :class:`RunnerEnv` of the seed, episode for episode the compiled run's."""
    env = make_env(run.env, run.env_kwargs) if mdp is None else RunnerEnv(mdp, seed)
    with warnings.catch_warnings():  # validate has warned of this run's world already
        warnings.simplefilter("ignore", StochasticWorldWarning)
        agent = resolve_agent(run.agent).for_env(env, run.agent_config(), seed=seed)
    rows, total, t0 = [], 0, time.perf_counter()
    for episode in run_episodes(agent, env, episodes=run.episodes, total_steps=run.total_steps,
                                max_episode_steps=max_episode_steps or None,
                                seed=rng.gym_seed(seed)):
        total += episode.steps
        if progress is not None:
            progress(min(total / run.total_steps if run.total_steps
                         else (len(rows) + 1) / run.episodes, 1.0))
        rows.append((episode.steps, episode.return_, total, agent.backups, np.nan, np.nan,
                     time.perf_counter() - t0, episode.truncated, np.nan, np.nan, np.nan,
                     *[np.nan] * len(DEEP_ONLY)))
    env.close()
    if keep_agent:
        return agent
    return CellResult(run, seed, np.array(rows, dtype=float), agent.Q, np.full(len(rows), np.nan))


def _run_deep(run: RunConfig, seeds: Sequence[int], progress: Progress | None = None
              ) -> tuple[list[CellResult], object]:
    """A deep agent's run of ``seeds`` in lockstep (torch is imported only here), and the
    trained agent (of all of them)."""
    from dynaq.deep.run import run_deep_seeds

    outs = run_deep_seeds(run.env, run.agent_config(), run.agent, seeds, run.episodes,
                          run.total_steps, run.max_episode_steps, run.env_kwargs, progress)
    cells = [CellResult(run, seed, out.records, out.q_table,
                        np.full(len(out.records), out.v_star_start))
             for seed, out in zip(seeds, outs, strict=True)]
    return cells, outs[0].agent


def train_agent(run: RunConfig, seed: int = 0) -> object:
    """The agent that ``run`` trains with ``seed``, through the step-by-step API (for
    saving it): on the :class:`RunnerEnv` of the seed where the env has an exact model, so
    that it is the very agent of the stored cell, in stochastic worlds too."""
    if run.is_deep:
        return _run_deep(run, [seed])[1]
    mdp, limit = env_model(run.env, run.env_kwargs)
    return _run_stepwise(run, seed, run.max_episode_steps or limit, keep_agent=True, mdp=mdp)
