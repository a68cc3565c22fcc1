"""Compiled building blocks shared by every tabular agent: action choice and the Q-learning
backup (Sutton & Barto §6.5), on plain arrays with an explicit random state."""

from __future__ import annotations

from numba import njit

from dynaq.rng import randint, uniform


@njit(cache=True, inline="always")
def max_q(Q, s):
    """``max_a Q[s, a]``."""
    best = Q[s, 0]
    for a in range(1, Q.shape[1]):
        if Q[s, a] > best:
            best = Q[s, a]
    return best


@njit(cache=True, inline="always")
def greedy_action(Q, s, rng):
    """An action of largest ``Q[s, ·]``, ties broken uniformly at random.

    Taking the first maximiser instead (``argmax``) biases early exploration towards low
    action indices, and Figure 8.2 then does not come out as in the book. A random number
    is drawn only when there is a tie. One pass finds the maximum, its first index and the
    number of ties; a second pass runs only to pick among ties.
    """
    A = Q.shape[1]
    best = Q[s, 0]
    first = 0
    ties = 1
    for a in range(1, A):
        q = Q[s, a]
        if q > best:
            best = q
            first = a
            ties = 1
        elif q == best:
            ties += 1
    if ties == 1:
        return first
    pick = randint(rng, ties)
    for a in range(first, A):
        if Q[s, a] == best:
            if pick == 0:
                return a
            pick -= 1
    return A - 1  # unreachable: pick < ties


@njit(cache=True, inline="always")
def egreedy_action(Q, s, epsilon, rng):
    """ε-greedy (§2.2): a uniformly random action with probability ε, else greedy."""
    if epsilon > 0.0 and uniform(rng) < epsilon:
        return randint(rng, Q.shape[1])
    return greedy_action(Q, s, rng)


@njit(cache=True, inline="always")
def q_backup(Q, s_tm1, a_tm1, r_t, s_t, terminated_t, alpha, gamma):
    """One Q-learning backup (§6.5) in place; returns the TD error.

    A transition that ends the episode bootstraps 0. The course's dict sketch bootstraps
    from ``Q[s_t]`` instead, which only works while the terminal state's entries happen to
    stay 0; for envs whose terminal outcome names an ordinary state (Taxi's drop-off,
    CliffWalking's reset) it would leak value across episodes.
    """
    target = r_t
    if not terminated_t:
        target += gamma * max_q(Q, s_t)
    td = target - Q[s_tm1, a_tm1]
    Q[s_tm1, a_tm1] += alpha * td
    return td


@njit(cache=True, inline="always")
def end_episode(Q, state, s, terminated, t, hp, rng):
    """What a one-step agent does when an episode ends in ``s`` (``terminated``, or else
    truncated) after real step ``t``: nothing; returns the backups done, 0."""
    return 0
