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
def on_policy_states(offsets, next_state, prob, terminated, policy, initial, out, bounds):
    """The states ``policy`` can visit from the start, grouped into strongly connected
    components, successors first (Tarjan's algorithm, iteratively).

    Component ``c`` is ``out[bounds[c]:bounds[c + 1]]``; its outcomes lead only to its own
    states and to earlier components', so evaluating the components in order needs each
    one's successors' values only once they are final.

    Returns:
        ``(n, m)``: the number of states (``out[:n]``) and of components.
    """
    n_states, n_actions = policy.shape
    index = np.full(n_states, -1, np.int64)
    low = np.empty(n_states, np.int64)
    on_stack = np.zeros(n_states, np.bool_)
    stack = np.empty(n_states, np.int64)  # states of the components being built
    frame_state = np.empty(n_states, np.int64)  # the depth-first search's path
    frame_outcome = np.empty(n_states, np.int64)
    frame_action = np.empty(n_states, np.int64)
    visited = depth = top = n = m = 0
    bounds[0] = 0
    for root in range(n_states):
        if initial[root] <= 0.0 or index[root] >= 0:
            continue
        index[root] = low[root] = visited
        visited += 1
        stack[top] = root
        top += 1
        on_stack[root] = True
        frame_state[0], frame_outcome[0], frame_action[0] = root, offsets[root * n_actions], 0
        depth = 1
        while depth > 0:
            v = frame_state[depth - 1]
            i, a = frame_outcome[depth - 1], frame_action[depth - 1]
            end = offsets[(v + 1) * n_actions]
            descended = False
            while i < end:
                while i >= offsets[v * n_actions + a + 1]:
                    a += 1
                if policy[v, a] > 0.0 and prob[i] > 0.0 and not terminated[i]:
                    w = next_state[i]
                    if index[w] < 0:
                        frame_outcome[depth - 1], frame_action[depth - 1] = i + 1, a
                        index[w] = low[w] = visited
                        visited += 1
                        stack[top] = w
                        top += 1
                        on_stack[w] = True
                        frame_state[depth], frame_outcome[depth] = w, offsets[w * n_actions]
                        frame_action[depth] = 0
                        depth += 1
                        descended = True
                        break
                    if on_stack[w]:
                        low[v] = min(low[v], index[w])
                i += 1
            if descended:
                continue
            depth -= 1
            if depth > 0:
                u = frame_state[depth - 1]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:  # v roots a component: its states are on the stack
                while True:
                    top -= 1
                    w = stack[top]
                    on_stack[w] = False
                    out[n] = w
                    n += 1
                    if w == v:
                        break
                m += 1
                bounds[m] = n
    return n, m


_DIRECT_SOLVE = 128
"""Cyclic components up to this many states are solved exactly (Gaussian elimination)
instead of iterated: at γ = 0.95 iteration needs hundreds of sweeps."""


@njit(cache=True, inline="always")
def _policy_row(offsets, next_state, prob, reward, terminated, policy, gamma, V, s, slot,
                row):
    """Add state ``s``'s row of [I − γ P_π | r_π + γ P_π V(outside)] to ``row`` (length
    m + 1): the states of its component are those with ``slot[t] >= 0``, columns
    ``slot[t]``; every other successor's value is final. Inlined: a greedy policy's
    states are mostly components of their own, and a call passing the arrays cost more
    than the arithmetic."""
    n_actions = policy.shape[1]
    m = row.shape[0] - 1
    row[slot[s]] += 1.0
    for a in range(n_actions):
        w = policy[s, a]
        if w <= 0.0:
            continue
        for i in range(offsets[s * n_actions + a], offsets[s * n_actions + a + 1]):
            p = w * prob[i]
            if p == 0.0:  # its successor may hold ±inf from another policy: 0·inf
                continue
            row[m] += p * reward[i]
            if not terminated[i]:
                t = next_state[i]
                if slot[t] >= 0:
                    row[slot[t]] -= gamma * p
                else:
                    row[m] += gamma * p * V[t]


@njit(cache=True)
def _evaluate_component(offsets, next_state, prob, reward, terminated, policy, gamma, V,
                        tol, max_iter, states, slot):
    """Values of ``policy`` on a component of several states (its successors outside it
    already final), in place on ``V``: by solving (I − γ P_π) v = r_π when it is small,
    else by Gauss-Seidel sweeps from ``V``. ``slot`` is -1 for every state (scratch, left
    so)."""
    m = states.shape[0]
    if m > _DIRECT_SOLVE:
        return policy_evaluation(offsets, next_state, prob, reward, terminated, policy, gamma,
                                 V, tol, max_iter, states)
    for j in range(m):
        slot[states[j]] = j
    M = np.zeros((m, m + 1))
    for j in range(m):
        _policy_row(offsets, next_state, prob, reward, terminated, policy, gamma, V,
                    states[j], slot, M[j])
    # I − γ P_π is diagonally dominant (γ < 1, or γ = 1 with every state able to end):
    # elimination without pivoting is stable
    for c in range(m):
        pivot = M[c, c]
        for r in range(c + 1, m):
            f = M[r, c] / pivot
            if f != 0.0:
                for k in range(c, m + 1):
                    M[r, k] -= f * M[c, k]
    for c in range(m - 1, -1, -1):
        total = M[c, m]
        for k in range(c + 1, m):
            if M[c, k] != 0.0:  # a solved value may be ±inf (γ = 1): 0·inf would be NaN
                total -= M[c, k] * V[states[k]]
        V[states[c]] = total / M[c, c]
    for j in range(m):
        slot[states[j]] = -1
    return 1


@njit(cache=True)
def reachable_states(offsets, next_state, prob, terminated, n_actions, initial):
    """States the agent can act in: reached from the start support by non-terminal outcomes
    of any action (:func:`on_policy_states` of the policy that tries every action)."""
    n_states = initial.shape[0]
    order = np.empty(n_states, np.int64)
    n, _ = on_policy_states(offsets, next_state, prob, terminated,
                            np.ones((n_states, n_actions)), initial, order,
                            np.empty(n_states + 1, np.int64))
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
    """Exact values of ``policy`` (§4.1) on just the states it can visit from the start, in
    place on ``V`` (a warm start), component by component, successors first (see
    :func:`on_policy_states`).

    A greedy policy that never loops is evaluated in one backward pass; a loop's component
    is solved exactly, or iterated to ``tol`` when it is large. With ``gamma == 1`` the
    states that never end the episode are settled first, as in :func:`evaluate_states`.

    Returns:
        ``(value, n)``: the value from the start, and the number of those states, which
        are left in ``order[:n]``.
    """
    n_states = initial.shape[0]
    bounds = np.empty(n_states + 1, np.int64)
    n, m = on_policy_states(offsets, next_state, prob, terminated, policy, initial, order,
                            bounds)
    ends = np.ones(n_states, np.bool_)
    if gamma >= 1.0:
        ends[:] = False
        for s in _settle_endless(offsets, next_state, prob, reward, terminated, policy, V,
                                 order[:n]):
            ends[s] = True
            if not np.isfinite(V[s]):  # an infinite warm start would be a fixed point
                V[s] = 0.0
    slot = np.full(n_states, -1, np.int64)
    row = np.empty(2)  # a single state's row: v = (r + γ Σ_outside P V) / (1 − γ P(s → s))
    for c in range(m):
        first, size = bounds[c], bounds[c + 1] - bounds[c]
        if not ends[order[first]]:  # a component's states all can end the episode, or none
            continue
        if size == 1:
            s = order[first]
            slot[s], row[0], row[1] = 0, 0.0, 0.0
            _policy_row(offsets, next_state, prob, reward, terminated, policy, gamma, V, s,
                        slot, row)
            slot[s] = -1
            V[s] = row[1] / row[0]
        else:
            _evaluate_component(offsets, next_state, prob, reward, terminated, policy, gamma,
                                V, tol, max_iter, order[first:first + size], slot)
    value = 0.0
    for s in range(n_states):
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
