"""A learned model against the true dynamics, compiled: the building blocks of every
agent's ``diagnose`` (see :mod:`dynaq.agents.base`), which the run loop calls after each
episode for the ``model_error``, ``reward_error`` and ``model_coverage`` columns.

``world`` is a TabularMDP's arrays ``(offsets, next_state, prob, reward, terminated,
initial)``, one block of outcome rows per phase of the dynamics, the phase in force
starting at outcome offset ``base``.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def pair_error(world, base, sa, learned_next, learned_prob, learned_reward):
    """``(total variation, reward error)`` of a learned model of one pair ``sa``.

    The total-variation distance ½ Σ_s' |p̂(s') − p(s')| between the learned next-state
    distribution (``learned_next`` with probabilities ``learned_prob``) and the true one,
    and |r̂ − E[r | s, a]|, in the phase whose outcome rows start at ``base``.
    """
    offsets, next_state, prob, _, _, _ = world
    lo, hi = offsets[base + sa], offsets[base + sa + 1]
    n = learned_next.shape[0]
    total = 0.0
    for i in range(n):
        if _first(learned_next, 0, i):
            s2 = learned_next[i]
            total += abs(_mass(learned_next, learned_prob, 0, n, s2)
                         - _mass(next_state, prob, lo, hi, s2))
    for j in range(lo, hi):
        if _first(next_state, lo, j) and _mass(learned_next, learned_prob, 0, n,
                                               next_state[j]) == 0.0:
            total += _mass(next_state, prob, lo, hi, next_state[j])
    return 0.5 * total, abs(learned_reward - _mean_reward(world, lo, hi))


@njit(cache=True)
def point_error(world, base, sa, learned_next, learned_reward):
    """:func:`pair_error` of a model that predicts ``learned_next`` for sure."""
    offsets, next_state, prob, _, _, _ = world
    lo, hi = offsets[base + sa], offsets[base + sa + 1]
    return (1.0 - _mass(next_state, prob, lo, hi, learned_next),
            abs(learned_reward - _mean_reward(world, lo, hi)))


@njit(cache=True, inline="always")
def _mean_reward(world, lo, hi):
    _, _, prob, reward, _, _ = world
    total = 0.0
    for i in range(lo, hi):
        total += prob[i] * reward[i]
    return total


@njit(cache=True, inline="always")
def _mass(next_states, probs, lo, hi, s):
    """Probability of next state ``s`` among outcomes ``lo:hi``."""
    total = 0.0
    for i in range(lo, hi):
        if next_states[i] == s:
            total += probs[i]
    return total


@njit(cache=True, inline="always")
def _first(values, lo, i):
    """Whether ``values[i]`` does not occur in ``values[lo:i]``."""
    for j in range(lo, i):
        if values[j] == values[i]:
            return False
    return True
