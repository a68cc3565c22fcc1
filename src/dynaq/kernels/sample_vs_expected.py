"""Expected vs sample updates on random tasks (Sutton & Barto §8.5, Figure 8.7).

One (s, a) has b equally likely successors whose values r + γ max_a′ Q(s′, a′) are drawn
standard normal and taken as correct; the estimate Q(s, a) starts 1 away from their mean.
Sample updates with step size 1/t (sample averages) then leave the error of a mean of t
draws. Each task has its own random stream; the tasks of one b run in parallel.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from dynaq.rng import normal, randint


@njit(cache=True, parallel=True)
def sample_update_errors(b, counts, states):
    """Squared error of Q(s, a) after each number of sample updates in ``counts``
    (increasing, from 0), step size 1/t, one row per task (row of ``states``)."""
    n = states.shape[0]
    out = np.empty((n, counts.shape[0]))
    for task in prange(n):
        state = states[task]
        values = np.empty(b)
        for j in range(b):
            values[j] = normal(state)
        mean = values.sum() / b
        q = mean + 1.0  # the initial error is 1
        point = 0
        for t in range(counts[-1] + 1):
            if t > 0:
                q += (values[randint(state, b)] - q) / t
            if counts[point] == t:
                out[task, point] = (q - mean) ** 2
                point += 1
    return out
