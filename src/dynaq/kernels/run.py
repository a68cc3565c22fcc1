"""Whole runs of any tabular agent over a TabularMDP, compiled: the env step, the episode
loop, exact metrics after each episode, and many seeds at once.

An agent is five compiled functions over its own state and hyperparameters, ``init``,
``act``, ``learn``, ``end_episode`` and ``diagnose``: the protocol of
:mod:`dynaq.agents.base`, where it is written down.

The loop below is written once, as plain Python that calls ``_init``, ``_act``, ``_learn``,
``_end_episode`` and ``_diagnose``; :func:`run_agent` compiles one copy per agent (named by
:func:`agent_id`) with the agent's functions in their place; each algorithm is written
once, in its own file. The world is one or more *phases* of dynamics (a world that
changes, Figures 8.4 and 8.5): a TabularMDP's arrays for every phase stacked,
``offsets`` holding ``n_phases * S * A + 1`` entries, and ``switch_at[p]`` the number of
real steps after which phase ``p`` is in force (``switch_at[0] = 0``).
"""

from __future__ import annotations

import functools
import hashlib
import sys
import time
import types as pytypes
from typing import Any

import numpy as np
from llvmlite import ir
from numba import config, literally, njit, prange, typeof, types
from numba.extending import intrinsic

from dynaq._cache import module_stamp
from dynaq.kernels.tabular import max_q
from dynaq.kernels.values import evaluate_on_policy, greedy_weights
from dynaq.records import (
    BACKUPS,
    ENV_STEPS,
    MODEL_COVERAGE,
    MODEL_ERROR,
    POLICY_VALUE,
    RETURN,
    REWARD_ERROR,
    STEPS,
    TRUNCATED,
    VALUE_ERROR,
    WALL_S,
)
from dynaq.rng import uniform

EVAL_TOL = 1e-10
"""Policy evaluation stops when no state value moves more than this in a sweep."""
_EVAL_MAX_SWEEPS = 100_000



@njit(cache=True, inline="always")
def sample_outcome(offsets, prob, sa, rng):
    """Index of an outcome of (s, a) = ``sa`` drawn by its probability."""
    lo = offsets[sa]
    hi = offsets[sa + 1]
    if hi - lo == 1:
        return lo
    u = uniform(rng)
    for i in range(lo, hi - 1):
        u -= prob[i]
        if u < 0.0:
            return i
    return hi - 1


@njit(cache=True)
def sample_start(initial_cdf, rng):
    """A start state drawn from the start distribution (given as its running sum)."""
    return min(np.searchsorted(initial_cdf, uniform(rng), side="right"),
               initial_cdf.shape[0] - 1)


@intrinsic
def _read_cycle_counter(typingctx):
    """``llvm.readcyclecounter`` (rdtsc on x86-64, CNTVCT on AArch64): no GIL, ~10 ns."""
    def codegen(context, builder, sig, args):
        fn = builder.module.declare_intrinsic("llvm.readcyclecounter",
                                              fnty=ir.FunctionType(ir.IntType(64), []))
        return builder.call(fn, [])
    return types.uint64(), codegen


if config.DISABLE_JIT:
    def cycles() -> float:
        """The clock in nanoseconds: plain Python has no cycle counter, and the runner scales
        either to seconds with the batch's own wall time."""
        return float(time.perf_counter_ns())
else:
    @njit(cache=True)
    def cycles():
        """Raw cycle counter; the runner scales it to seconds with the batch's own wall
        time."""
        return float(_read_cycle_counter())


@njit(cache=True)
def episode_metrics(world, base, Q, v_star, reachable, gamma, weights, v_pi, order, n_on,
                    all_states, value):
    """Ground truth at the end of an episode: ``(value_error, policy_value, n_on)``.

    ``value_error`` is the largest |max_a Q(s, a) − V*(s)| over reachable states;
    ``policy_value`` the exact value from the start of the greedy policy (ties split
    evenly). ``weights`` holds the last greedy policy (start it at -1) and ``order[:n_on]``
    the states it could visit (start ``n_on`` at 0); ``value`` is its value. A policy's
    value depends only on its choices in the states it can visit, so when those choices are
    unchanged the value is too, and nothing more is computed. Otherwise the policy is
    evaluated on its on-policy states, warm-started from the last values.
    """
    offsets, next_state, prob, reward, terminated, initial = world
    S, A = Q.shape
    err = 0.0
    for s in range(S):
        if reachable[s]:
            err = max(err, abs(max_q(Q, s) - v_star[s]))
    if n_on > 0 and not greedy_weights(Q, weights, order[:n_on]):
        return err, value, n_on
    greedy_weights(Q, weights, all_states)
    value, n_on = evaluate_on_policy(offsets[base:base + S * A + 1], next_state, prob, reward,
                                     terminated, weights, initial, gamma, v_pi, order,
                                     EVAL_TOL, _EVAL_MAX_SWEEPS)
    return err, value, n_on


_AGENTS: dict[int, tuple] = {}


RUN_FUNCTIONS = ("init", "act", "learn", "end_episode", "diagnose")
"""The agent functions the loop calls (fields of :class:`dynaq.agents.AgentKernels`)."""


def agent_id(kernels: Any) -> int:
    """The number under which the compiled loop below knows an agent's functions (those of
    :data:`RUN_FUNCTIONS` in ``kernels``, an :class:`~dynaq.agents.AgentKernels`).

    Each agent's copy of the loop takes it as an integer literal, so that numba caches
    the copies on disk apart: a hash of the functions' qualified names and of the code
    their modules can contain (their sources and their dependencies', see
    :func:`dynaq._cache.module_stamp`), the same in every process. Numba stamps a cached
    copy of this loop with this file's dependencies only, so the hash is what makes an
    edited agent kernel (of dynaq or of another package) compile afresh instead of running
    a stale copy. (Passing the functions as arguments instead makes numba type them by object
    identity, so no process could reuse another's cache; calling them through an
    ``overload`` made a real step 1.5x slower.)
    """
    fns = tuple(getattr(kernels, f) for f in RUN_FUNCTIONS)
    plain = [getattr(f, "py_func", f) for f in fns]  # plain functions without the JIT
    name = "|".join(f"{f.__module__}.{f.__name__}" for f in plain)
    modules = tuple(sorted({f.__module__ for f in plain}))
    digest = hashlib.sha256(name.encode() + _source_digest(modules)).digest()
    number = int.from_bytes(digest[:7], "little")
    if _AGENTS.setdefault(number, fns) != fns:
        raise RuntimeError(f"agent id collision for {name}")
    return number


@functools.cache
def _source_digest(modules: tuple[str, ...]) -> bytes:
    """A hash of all the code the given modules' kernels can contain: their sources and
    those of their dependencies (:func:`dynaq._cache.module_stamp`)."""
    digest = hashlib.sha256()
    for module in modules:
        path = getattr(sys.modules[module], "__file__", None)
        if path is not None:
            digest.update(module_stamp(path))
    return digest.digest()


def _unbound(*_args: Any) -> Any:
    """Stands for an agent function in the loop below until :func:`_specialise` binds it."""
    raise TypeError("the run loop runs per agent: call run_agent")


_init = _act = _learn = _end_episode = _diagnose = _unbound


def run_episode(agent, state, hp, world, switch_at, phase, s, Q, t, step_limit,
                agent_rng, env_rng):
    """One episode from state ``s`` after ``t`` real steps: act, step the world, learn.

    The episode ends when an outcome terminates it or after ``step_limit`` steps
    (0: no limit), which truncates it (a truncated step still bootstraps).

    Returns:
        ``(steps, return, truncated, backups, phase)``.
    """
    offsets, next_state, prob, reward, terminated, _ = world
    S, A = Q.shape
    base = phase * S * A
    steps = 0
    ret = 0.0
    backups = 0
    while True:
        if phase + 1 < switch_at.shape[0] and t >= switch_at[phase + 1]:
            phase += 1
            base = phase * S * A
        a = _act(Q, state, s, t, hp, agent_rng)
        i = sample_outcome(offsets, prob, base + s * A + a, env_rng)
        s2, r, term = next_state[i], reward[i], terminated[i]
        t += 1
        backups += _learn(Q, state, s, a, r, s2, term, t, hp, agent_rng)
        steps += 1
        ret += r
        s = s2
        if term or steps == step_limit:
            backups += _end_episode(Q, state, s, term, t, hp, agent_rng)
            return steps, ret, not term, backups, phase


def run_one(agent, hp, gamma, world, switch_at, initial_cdf, v_star,
            reachable, max_episodes, max_total_steps, max_episode_steps, agent_rng, env_rng, Q,
            records, progress):
    """One seed of an agent from an empty model, in place on ``Q``.

    Runs ``max_episodes`` episodes, or, when ``max_total_steps > 0``, episodes until that
    many real steps (the last one cut short). ``max_episode_steps > 0`` truncates long
    episodes. ``v_star`` and ``reachable`` have one row per phase. Writes one
    row of ``records`` per episode and returns how many were written; after each episode
    ``progress`` holds the episodes and the real steps done, for a thread watching it.
    """
    S, A = Q.shape
    state = _init(S, A, hp)
    weights = np.full((S, A), -1.0)
    v_pi = np.zeros(S)
    order = np.empty(S, np.int64)
    n_on = 0
    all_states = np.arange(S)
    policy_value = 0.0
    phase = 0
    total_steps = 0
    backups = 0
    t0 = cycles()
    episode = 0
    while episode < max_episodes and (max_total_steps <= 0 or total_steps < max_total_steps):
        limit = max_episode_steps
        if max_total_steps > 0 and (limit <= 0 or max_total_steps - total_steps < limit):
            limit = max_total_steps - total_steps
        steps, ret, truncated, done, now = run_episode(
            agent, state, hp, world, switch_at, phase, sample_start(initial_cdf, env_rng),
            Q, total_steps, limit, agent_rng, env_rng)
        total_steps += steps
        backups += done
        if now + 1 < switch_at.shape[0] and total_steps >= switch_at[now + 1]:
            now += 1  # the metrics judge Q against the dynamics the next step will meet
        if now != phase:
            phase, n_on = now, 0  # new dynamics: the last policy's value no longer holds
        row = records[episode]
        row[VALUE_ERROR], row[POLICY_VALUE], n_on = episode_metrics(
            world, phase * S * A, Q, v_star[phase], reachable[phase], gamma, weights, v_pi,
            order, n_on, all_states, policy_value)
        policy_value = row[POLICY_VALUE]
        row[MODEL_ERROR], row[REWARD_ERROR], row[MODEL_COVERAGE] = _diagnose(
            state, world, phase * S * A, reachable[phase], A)
        row[STEPS] = steps
        row[RETURN] = ret
        row[ENV_STEPS] = total_steps
        row[BACKUPS] = backups
        row[WALL_S] = cycles() - t0
        row[TRUNCATED] = truncated
        episode += 1
        progress[0] = episode
        progress[1] = total_steps
    return episode


def run_batch(agent, hp, gamma, world, switch_at, initial_cdf, v_star,
              reachable, max_episodes, max_total_steps, max_episode_steps, agent_rngs,
              env_rngs, Q_out, records, progress):
    """:func:`run_one` for each seed (row of the RNG arrays), seeds spread over threads.

    Each seed owns its random states and output rows, so the result does not depend on how
    many threads ran it. Returns the number of episodes written per seed. It runs without
    the GIL, so another thread can read ``progress`` (one row per seed) meanwhile.
    """
    literally(agent)  # the agent is part of the compiled signature, so of the cache key
    n = agent_rngs.shape[0]
    done = np.zeros(n, np.int64)
    for i in prange(n):
        done[i] = run_one(agent, hp, gamma, world, switch_at,
                          initial_cdf, v_star, reachable, max_episodes,
                          max_total_steps, max_episode_steps, agent_rngs[i], env_rngs[i],
                          Q_out[i], records[i], progress[i])
    return done



def _specialise(agent: int) -> Any:
    """The agent's own compiled copy of the loop (:func:`run_episode`, :func:`run_one`,
    :func:`run_batch`): the same code with the agent's functions as its globals ``_init``,
    ``_act``, ``_learn``, ``_end_episode`` and ``_diagnose``, so numba calls them
    directly.

    Each copy has a name of its own (``run_batch_<agent>``), which names its files in numba's
    cache: numba reads a function's cache index whole, types and all, so with one index for
    every agent a process could not load any copy once an agent whose types live in a
    module it cannot import (a script, a notebook, a test file) had been cached beside it.
    """
    scope = {**globals(), **{f"_{name}": fn for name, fn in zip(RUN_FUNCTIONS, _AGENTS[agent],
                                                                strict=True)}}
    for template, parallel in ((run_episode, False), (run_one, False), (run_batch, True)):
        copy = pytypes.FunctionType(template.__code__, scope, template.__name__)
        copy.__doc__, copy.__module__ = template.__doc__, template.__module__
        copy.__qualname__ = f"{template.__name__}_{agent:x}"
        scope[template.__name__] = njit(cache=True, parallel=parallel, nogil=True)(copy)
    return scope["run_batch"]


_COMPILED: dict[int, Any] = {}
RNG_ARG = run_batch.__code__.co_varnames.index("agent_rngs") - 1
"""Where the agents' random states (one row per seed) are among :func:`run_agent`'s
arguments after ``agent``."""


def run_agent(agent: int, *args: Any, progress: np.ndarray | None = None) -> np.ndarray:
    """:func:`run_batch` for the agent numbered ``agent`` (see :func:`agent_id`), compiled
    (or loaded from numba's cache) on first use; ``progress``: an ``int64`` array of one
    row ``(episodes, real steps)`` per seed that it keeps up to date (default: one of its
    own)."""
    seeds = len(args[RNG_ARG])
    if progress is None:
        progress = np.zeros((seeds, 2), np.int64)
    elif progress.shape != (seeds, 2) or progress.dtype != np.int64:
        # the kernel writes row i for seed i: never past the array's end
        raise ValueError(f"progress must be an int64 array of shape ({seeds}, 2), got "
                         f"{progress.dtype} {progress.shape}")
    args = (*args, progress)
    if agent not in _COMPILED:
        _COMPILED[agent] = _specialise(agent)
    compiled = _COMPILED[agent]
    if config.DISABLE_JIT:  # plain Python: the loop itself
        return compiled(agent, *args)
    # Called with a plain int, numba would first type it as an int64: a miss that fires a
    # compile event (the CLI's "compiling" notice) even when the copy then loads from the
    # cache, and a retyping through an exception on every call (0.4 s). Typed with the
    # literal from the start, it loads or compiles once; then the machine code is called.
    sig = (types.literal(agent), *(typeof(a) for a in args))
    if sig not in compiled.overloads:
        compiled.compile(sig)
    return compiled.overloads[sig].entry_point(agent, *args)
