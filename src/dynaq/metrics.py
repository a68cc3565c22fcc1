"""Ground-truth metrics: exact values from the true MDP, no rollouts.

Per episode the runners record ``value_error`` (max over reachable states of
|max_a Q(s, a) − V*(s)|) and ``policy_value`` (exact value from the start of the greedy
policy, ties split evenly). This module holds the reference values and the rules that turn
those columns into "is optimal" flags; :mod:`dynaq.analysis.stats` turns the flags into
"became and stayed" summaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaq.mdp import TabularMDP

OPTIMAL_RTOL = 1e-6
"""A greedy policy is optimal when its value is within this (relative) of V*(start)."""
NEAR_OPTIMAL_RTOL = 0.05
"""Q is near-optimal when value_error ≤ this × |V*(start)|."""


@dataclass(frozen=True)
class GroundTruth:
    """V*, Q* and what the metrics need, for one MDP and discount."""

    q_star: np.ndarray
    v_star: np.ndarray
    reachable: np.ndarray
    v_star_start: float

    @classmethod
    def of(cls, mdp: TabularMDP, gamma: float) -> GroundTruth:
        """Solve ``mdp`` by value iteration (Sutton & Barto §4.4)."""
        Q, V = mdp.value_iteration(gamma)
        return cls(Q, V, mdp.reachable(), mdp.start_value(V))

    def value_error(self, Q: np.ndarray) -> float:
        """max over reachable s of |max_a Q(s, a) − V*(s)|."""
        return float(np.max(np.abs(Q.max(axis=1) - self.v_star)[self.reachable]))


def policy_is_optimal(policy_value: np.ndarray | float,
                      v_star_start: np.ndarray | float) -> np.ndarray:
    """Whether a greedy policy's exact value matches V*(start) (relative 1e-6)."""
    v = np.asarray(v_star_start, dtype=float)
    return np.abs(np.asarray(policy_value) - v) <= OPTIMAL_RTOL * np.maximum(1.0, np.abs(v))


def q_is_near_optimal(value_error: np.ndarray | float,
                      v_star_start: np.ndarray | float) -> np.ndarray:
    """Whether value_error ≤ 0.05 · |V*(start)|."""
    return np.asarray(value_error) <= NEAR_OPTIMAL_RTOL * np.abs(np.asarray(v_star_start))


def egreedy_episode_length(mdp: TabularMDP, q_star: np.ndarray, epsilon: float) -> float:
    """Expected steps per episode from the start under ε-greedy on Q* (ties split evenly):
    the floor that an ε-greedy learner's steps-per-episode curve approaches (Figure 8.2)."""
    from dataclasses import replace

    from dynaq.mdp import greedy_policy

    policy = epsilon / mdp.n_actions + (1.0 - epsilon) * greedy_policy(q_star)
    one_per_step = replace(mdp, reward=np.ones_like(mdp.reward), _cache={})
    return mdp.start_value(one_per_step.evaluate_policy(policy, gamma=1.0, tol=1e-9))
