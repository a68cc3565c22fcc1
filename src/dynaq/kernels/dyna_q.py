"""Dyna-Q (Sutton & Barto §8.2, the course's loop) compiled: the deterministic model update,
k planning backups, and whole runs over a TabularMDP for many seeds at once.

The deterministic model is two arrays. The i-th distinct (s, a) seen owns slot i:
``m_int[SLOT, s*A + a]`` is that slot (-1 while unseen); ``m_int[PAIR, i] = s*A + a``,
``m_int[NEXT_ROW, i] = s'*A`` (where the next state's row starts in the flattened Q),
``m_int[TERM, i]`` and ``m_reward[i]`` hold its last outcome. Drawing a slot uniformly is
O(1) sampling of a seen pair, ``m_int[SLOT] >= 0`` the O(1) membership test (the course
sketch scans a Python list: O(n) per real step), and a planning backup reads its whole
transition with one index. Few arrays, because every array passed to a compiled call costs
a reference-count round trip: with five model arrays a real step took three times longer.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from dynaq.kernels.tabular import egreedy_action, max_q, q_backup
from dynaq.kernels.values import evaluate_on_policy, greedy_weights
from dynaq.rng import _UNIT, step_words, uniform

EVAL_TOL = 1e-10
"""Policy evaluation stops when no state value moves more than this in a sweep."""
_EVAL_MAX_SWEEPS = 100_000

SLOT, PAIR, NEXT_ROW, TERM = range(4)
"""Rows of the deterministic model's integer table ``m_int``."""


@njit(cache=True)
def new_model(n_states, n_actions):
    """An empty deterministic model: ``(m_int, m_reward)``."""
    return np.full((4, n_states * n_actions), -1, np.int64), np.zeros(n_states * n_actions)


@njit(cache=True)
def model_update(m_int, m_reward, n_seen, n_actions, s, a, r, s2, terminated):
    """Record that (s, a) led to (s2, r, terminated) (§8.2, step (e)); returns ``n_seen``.

    The model keeps its own arrays, never Q's (the common-mistakes table, last row).
    """
    sa = s * n_actions + a
    i = m_int[SLOT, sa]
    if i < 0:
        i = n_seen
        m_int[SLOT, sa] = i
        m_int[PAIR, i] = sa
        n_seen += 1
    m_int[NEXT_ROW, i] = s2 * n_actions
    m_int[TERM, i] = terminated
    m_reward[i] = r
    return n_seen


@njit(cache=True, inline="always")
def _row_max(Qf, row, A):
    """``max(Qf[row : row + A])`` compared in index order, as :func:`max_q`; A = 4 unrolled."""
    best = Qf[row]
    if A == 4:
        q = Qf[row + np.uint64(1)]
        if q > best:
            best = q
        q = Qf[row + np.uint64(2)]
        if q > best:
            best = q
        q = Qf[row + np.uint64(3)]
        if q > best:
            best = q
        return best
    for b in range(1, A):
        q = Qf[row + np.uint64(b)]
        if q > best:
            best = q
    return best


@njit(cache=True)
def plan(Q, m_int, m_reward, n_seen, k, alpha, gamma, rng):
    """k planning backups (§8.2, step (f)) on pairs drawn uniformly from those seen.

    Returns the number of backups done: 0 while the model is empty, because planning before
    the model has an entry would back up made-up transitions (common-mistakes table, row 1).

    The hot loop of every run, written for speed with exactly the numbers of ``randint`` and
    ``q_backup``: the random state stays in registers, ``2**-53 * n_seen`` is one exact
    multiply, the 53 random bits convert to float as a signed integer, indices are unsigned
    (numba emits no negative-index wraparound for them) and a 4-action row max is unrolled.
    """
    if n_seen == 0:
        return 0
    A = Q.shape[1]
    Qf = Q.reshape(-1)
    scale = _UNIT * n_seen
    w0, w1, w2, w3 = rng[0], rng[1], rng[2], rng[3]
    for _ in range(k):
        bits, w0, w1, w2, w3 = step_words(w0, w1, w2, w3)
        i = np.uint64(float(np.int64(bits >> np.uint64(11))) * scale)
        sa = np.uint64(m_int[PAIR, i])
        target = m_reward[i]
        if not m_int[TERM, i]:
            target += gamma * _row_max(Qf, np.uint64(m_int[NEXT_ROW, i]), A)
        Qf[sa] += alpha * (target - Qf[sa])
    rng[0], rng[1], rng[2], rng[3] = w0, w1, w2, w3
    return k


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


@njit(cache=True)
def cycles():
    """Raw cycle counter; the runner scales it to seconds with the batch's own wall time."""
    return float(_read_cycle_counter())


@njit(cache=True)
def episode_metrics(mdp, Q, v_star, reachable, gamma, weights, v_pi, order, n_on, all_states,
                    value):
    """Ground truth at the end of an episode: ``(value_error, policy_value, n_on)``.

    ``value_error`` is the largest |max_a Q(s, a) − V*(s)| over reachable states;
    ``policy_value`` the exact value from the start of the greedy policy (ties split
    evenly). ``weights`` holds the last greedy policy (start it at -1) and ``order[:n_on]``
    the states it could visit (start ``n_on`` at 0); ``value`` is its value. A policy's
    value depends only on its choices in the states it can visit, so when those choices are
    unchanged the value is too, and nothing more is computed. Otherwise the policy is
    evaluated on its on-policy states, warm-started from the last values.
    """
    offsets, next_state, prob, reward, terminated, initial = mdp
    err = 0.0
    for s in range(Q.shape[0]):
        if reachable[s]:
            err = max(err, abs(max_q(Q, s) - v_star[s]))
    if n_on > 0 and not greedy_weights(Q, weights, order[:n_on]):
        return err, value, n_on
    greedy_weights(Q, weights, all_states)
    value, n_on = evaluate_on_policy(offsets, next_state, prob, reward, terminated, weights,
                                     initial, gamma, v_pi, order, EVAL_TOL, _EVAL_MAX_SWEEPS)
    return err, value, n_on


# Columns of the per-episode record array written by the runners.
STEPS, RETURN, ENV_STEPS, BACKUPS, VALUE_ERROR, POLICY_VALUE, WALL_S, TRUNCATED = range(8)
N_FIELDS = 8


@njit(cache=True)
def run_episode(mdp, s, Q, m_int, m_reward, n_seen, alpha, gamma, epsilon, k, step_limit,
                agent_rng, env_rng):
    """One episode of Dyna-Q from state ``s``: act, learn, update the model, plan (§8.2).

    The episode ends when an outcome terminates it or after ``step_limit`` steps
    (0: no limit), which truncates it (a truncated step still bootstraps).

    Returns:
        ``(steps, return, truncated, n_seen, backups)``.
    """
    offsets, next_state, prob, reward, terminated, _ = mdp
    A = Q.shape[1]
    steps = 0
    ret = 0.0
    backups = 0
    while True:
        a = egreedy_action(Q, s, epsilon, agent_rng)
        i = sample_outcome(offsets, prob, s * A + a, env_rng)
        s2, r, term = next_state[i], reward[i], terminated[i]
        q_backup(Q, s, a, r, s2, term, alpha, gamma)
        n_seen = model_update(m_int, m_reward, n_seen, A, s, a, r, s2, term)
        backups += 1
        if k:
            backups += plan(Q, m_int, m_reward, n_seen, k, alpha, gamma, agent_rng)
        steps += 1
        ret += r
        s = s2
        if term:
            return steps, ret, False, n_seen, backups
        if steps == step_limit:
            return steps, ret, True, n_seen, backups


@njit(cache=True)
def run_one(mdp, initial_cdf, v_star, reachable, alpha, gamma, epsilon, k, max_episodes,
            max_total_steps, max_episode_steps, agent_rng, env_rng, Q, records):
    """One seed of Dyna-Q (k = 0: Q-learning) from an empty model, in place on ``Q``.

    Runs ``max_episodes`` episodes, or, when ``max_total_steps > 0``, episodes until that
    many real steps (the last one cut short). ``max_episode_steps > 0`` truncates long
    episodes. Writes one row of ``records`` per episode and returns how many were written.
    """
    S, A = Q.shape
    m_int, m_reward = new_model(S, A)
    n_seen = 0
    weights = np.full((S, A), -1.0)
    v_pi = np.zeros(S)
    order = np.empty(S, np.int64)
    n_on = 0
    all_states = np.arange(S)
    policy_value = 0.0
    total_steps = 0
    backups = 0
    t0 = cycles()
    episode = 0
    while episode < max_episodes and (max_total_steps <= 0 or total_steps < max_total_steps):
        limit = max_episode_steps
        if max_total_steps > 0 and (limit <= 0 or max_total_steps - total_steps < limit):
            limit = max_total_steps - total_steps
        steps, ret, truncated, n_seen, done = run_episode(
            mdp, sample_start(initial_cdf, env_rng), Q, m_int, m_reward, n_seen, alpha, gamma,
            epsilon, k, limit, agent_rng, env_rng)
        total_steps += steps
        backups += done
        value_error, policy_value, n_on = episode_metrics(
            mdp, Q, v_star, reachable, gamma, weights, v_pi, order, n_on, all_states,
            policy_value)
        row = records[episode]
        row[STEPS] = steps
        row[RETURN] = ret
        row[ENV_STEPS] = total_steps
        row[BACKUPS] = backups
        row[VALUE_ERROR] = value_error
        row[POLICY_VALUE] = policy_value
        row[WALL_S] = cycles() - t0
        row[TRUNCATED] = truncated
        episode += 1
    return episode


@njit(cache=True, parallel=True)
def run_batch(mdp, initial_cdf, v_star, reachable, alpha, gamma, epsilon, k, max_episodes,
              max_total_steps, max_episode_steps, agent_rngs, env_rngs, Q_out, records):
    """:func:`run_one` for each seed (row of the RNG arrays), seeds spread over threads.

    Each seed owns its random states and output rows, so the result does not depend on how
    many threads ran it. Returns the number of episodes written per seed.
    """
    n = agent_rngs.shape[0]
    done = np.zeros(n, np.int64)
    for i in prange(n):
        done[i] = run_one(mdp, initial_cdf, v_star, reachable, alpha, gamma, epsilon, k,
                          max_episodes, max_total_steps, max_episode_steps, agent_rngs[i],
                          env_rngs[i], Q_out[i], records[i])
    return done
