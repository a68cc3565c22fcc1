"""Exact dynamic programming on the sparse arrays of a TabularMDP (Sutton & Barto §4.1, §4.4).

The outcomes of (s, a) are ``offsets[s*A + a] : offsets[s*A + a + 1]`` in the parallel
arrays ``next_state``, ``prob``, ``reward`` and ``terminated``. A terminated outcome
bootstraps 0: the episode ends there, whatever the value of the state it names.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def backup_value(offsets, next_state, prob, reward, terminated, V, sa, gamma):
    """Expected one-step return of (s, a) = ``sa`` under state values ``V``."""
    total = 0.0
    for i in range(offsets[sa], offsets[sa + 1]):
        target = reward[i]
        if not terminated[i]:
            target += gamma * V[next_state[i]]
        total += prob[i] * target
    return total


@njit(cache=True)
def value_iteration(offsets, next_state, prob, reward, terminated, n_actions, gamma, tol,
                    max_iter):
    """Gauss-Seidel value iteration (§4.4) until the largest change is below ``tol``.

    Returns:
        ``(Q, V, sweeps)``; ``sweeps == max_iter`` means it did not converge.
    """
    n_states = (offsets.shape[0] - 1) // n_actions
    V = np.zeros(n_states)
    Q = np.zeros((n_states, n_actions))
    for sweep in range(1, max_iter + 1):
        delta = 0.0
        for s in range(n_states):
            best = -np.inf
            for a in range(n_actions):
                q = backup_value(offsets, next_state, prob, reward, terminated, V,
                                 s * n_actions + a, gamma)
                Q[s, a] = q
                if q > best:
                    best = q
            delta = max(delta, abs(best - V[s]))
            V[s] = best
        if delta < tol:
            return Q, V, sweep
    return Q, V, max_iter


@njit(cache=True)
def greedy_weights(Q, out, states):
    """Write into ``out`` the greedy policy of ``Q`` on ``states``, ties split evenly;
    returns whether any entry of ``out`` changed."""
    n_actions = Q.shape[1]
    changed = False
    for s in states:
        best = Q[s, 0]
        for a in range(1, n_actions):
            if Q[s, a] > best:
                best = Q[s, a]
        ties = 0
        for a in range(n_actions):
            ties += Q[s, a] == best
        share = 1.0 / ties
        for a in range(n_actions):
            w = share if Q[s, a] == best else 0.0
            if w != out[s, a]:
                out[s, a] = w
                changed = True
    return changed


@njit(cache=True)
def policy_evaluation(offsets, next_state, prob, reward, terminated, policy, gamma, V, tol,
                      max_iter, states):
    """Iterative policy evaluation (§4.1), in place on ``V`` (which may be a warm start).

    Sweeps ``states`` in the given order (Gauss-Seidel) until no value changes by more than
    ``tol``. Sweeping only the states the policy can visit, successors first (see
    :func:`on_policy_states`), gives the same start value at a fraction of the cost.

    Returns:
        The number of sweeps; ``max_iter`` means it did not converge (only possible with
        ``gamma == 1`` and a policy that can loop forever).
    """
    n_actions = policy.shape[1]
    for sweep in range(1, max_iter + 1):
        delta = 0.0
        for s in states:
            v = 0.0
            for a in range(n_actions):
                if policy[s, a] > 0.0:
                    v += policy[s, a] * backup_value(offsets, next_state, prob, reward,
                                                     terminated, V, s * n_actions + a, gamma)
            delta = max(delta, abs(v - V[s]))
            V[s] = v
        if delta < tol:
            return sweep
    return max_iter


@njit(cache=True)
def on_policy_states(offsets, next_state, prob, terminated, policy, initial, out):
    """The states ``policy`` can visit from the start, written to ``out`` in reverse
    breadth-first order (mostly successors before predecessors); returns how many."""
    n_states, n_actions = policy.shape
    seen = np.zeros(n_states, np.bool_)
    n = 0
    for s in range(n_states):
        if initial[s] > 0.0:
            seen[s] = True
            out[n] = s
            n += 1
    head = 0
    while head < n:
        s = out[head]
        head += 1
        for a in range(n_actions):
            if policy[s, a] > 0.0:
                for i in range(offsets[s * n_actions + a], offsets[s * n_actions + a + 1]):
                    t = next_state[i]
                    if prob[i] > 0.0 and not terminated[i] and not seen[t]:
                        seen[t] = True
                        out[n] = t
                        n += 1
    for i in range(n // 2):
        out[i], out[n - 1 - i] = out[n - 1 - i], out[i]
    return n


@njit(cache=True)
def reachable_states(offsets, next_state, prob, terminated, n_actions, initial):
    """States the agent can act in: reached from the start support by non-terminal outcomes
    of any action (:func:`on_policy_states` of the policy that tries every action)."""
    n_states = initial.shape[0]
    order = np.empty(n_states, np.int64)
    n = on_policy_states(offsets, next_state, prob, terminated,
                         np.ones((n_states, n_actions)), initial, order)
    seen = np.zeros(n_states, np.bool_)
    seen[order[:n]] = True
    return seen


@njit(cache=True)
def shortest_episode(offsets, next_state, prob, terminated, n_actions, initial):
    """Fewest steps any episode can take: breadth-first from the start states to the first
    outcome that ends the episode. Returns 0 if no episode can end."""
    n_states = initial.shape[0]
    depth = np.full(n_states, -1, np.int64)
    queue = np.empty(n_states, np.int64)
    head = tail = 0
    for s in range(n_states):
        if initial[s] > 0.0:
            depth[s] = 0
            queue[tail] = s
            tail += 1
    while head < tail:
        s = queue[head]
        head += 1
        for i in range(offsets[s * n_actions], offsets[(s + 1) * n_actions]):
            if prob[i] <= 0.0:
                continue
            if terminated[i]:
                return depth[s] + 1
            t = next_state[i]
            if depth[t] < 0:
                depth[t] = depth[s] + 1
                queue[tail] = t
                tail += 1
    return 0


@njit(cache=True)
def evaluate_states(offsets, next_state, prob, reward, terminated, policy, gamma, V, tol,
                    max_iter, states):
    """Exact values of ``policy`` on ``states`` (§4.1), in place on ``V`` (a warm start).

    ``states`` must hold every state they can lead to. With ``gamma == 1`` the sum over an
    endless episode does not converge, so the states from which ``policy`` never ends the
    episode are settled first (:func:`_settle_endless`) and only the others are iterated.

    Returns:
        The number of sweeps; ``max_iter`` means it did not converge.
    """
    if gamma >= 1.0:
        states = _settle_endless(offsets, next_state, prob, reward, terminated, policy, V,
                                 states)
        for s in states:
            if not np.isfinite(V[s]):  # an infinite warm start would be a fixed point
                V[s] = 0.0
    return policy_evaluation(offsets, next_state, prob, reward, terminated, policy, gamma, V,
                             tol, max_iter, states)


@njit(cache=True)
def evaluate_on_policy(offsets, next_state, prob, reward, terminated, policy, initial, gamma,
                       V, order, tol, max_iter):
    """:func:`evaluate_states` on just the states ``policy`` can visit from the start,
    successors first.

    Returns:
        ``(value, n)``: the value from the start, and the number of those states, which
        are left in ``order[:n]``.
    """
    n = on_policy_states(offsets, next_state, prob, terminated, policy, initial, order)
    evaluate_states(offsets, next_state, prob, reward, terminated, policy, gamma, V, tol,
                    max_iter, order[:n])
    value = 0.0
    for s in range(initial.shape[0]):
        if initial[s] > 0.0:  # other states may hold ±inf from an earlier policy
            value += initial[s] * V[s]
    return value, n


@njit(cache=True)
def _settle_endless(offsets, next_state, prob, reward, terminated, policy, V, states):
    """For undiscounted evaluation: give each state of ``states`` from which ``policy`` can
    never end the episode its value (0 when every reward reachable from it is 0, −inf when
    they are all ≤ 0, +inf when all ≥ 0, NaN when mixed: a conservative reading that counts
    rewards on the way into a reward-free loop as if repeated) and return the other states,
    in their order."""
    n_actions = policy.shape[1]
    can_end = np.zeros(V.shape[0], np.bool_)
    pos = np.zeros(V.shape[0], np.bool_)
    neg = np.zeros(V.shape[0], np.bool_)
    changed = True
    while changed:  # fixed points of "can end", "can earn > 0", "can earn < 0"
        changed = False
        for s in states:
            for a in range(n_actions):
                if policy[s, a] <= 0.0:
                    continue
                for i in range(offsets[s * n_actions + a], offsets[s * n_actions + a + 1]):
                    if prob[i] <= 0.0:
                        continue
                    t = next_state[i]
                    end = terminated[i] or can_end[t]
                    up = reward[i] > 0.0 or (not terminated[i] and pos[t])
                    down = reward[i] < 0.0 or (not terminated[i] and neg[t])
                    if (end and not can_end[s]) or (up and not pos[s]) or (down and not neg[s]):
                        can_end[s] |= end
                        pos[s] |= up
                        neg[s] |= down
                        changed = True
    keep = np.empty(states.shape[0], np.int64)
    n = 0
    for s in states:
        if can_end[s]:
            keep[n] = s
            n += 1
        elif pos[s] and neg[s]:
            V[s] = np.nan
        elif pos[s]:
            V[s] = np.inf
        elif neg[s]:
            V[s] = -np.inf
        else:
            V[s] = 0.0
    return keep[:n]
