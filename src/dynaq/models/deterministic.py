"""The deterministic table model of the course: (s, a) → (s′, r), the last outcome seen."""

from __future__ import annotations

import numpy as np

from dynaq.kernels import dyna_q as kernels


class DeterministicModel:
    """A table model for deterministic worlds (Sutton & Barto §8.2, the course's first row).

    It remembers, for each (s, a) tried, the last next state, reward and termination, and
    the list of pairs tried so far, so planning can sample one uniformly in O(1). In a
    stochastic world it keeps only the last outcome and so "invents false certainty".

    Args:
        n_states: Number of states.
        n_actions: Number of actions.
    """

    name = "deterministic"

    def __init__(self, n_states: int, n_actions: int) -> None:
        self.n_actions = n_actions
        self.slot = np.full((n_states, n_actions), -1, dtype=np.int64)
        self.slot_sa = np.empty(n_states * n_actions, dtype=np.int64)
        self.slot_row = np.empty(n_states * n_actions, dtype=np.int64)
        self.slot_reward = np.empty(n_states * n_actions)
        self.slot_term = np.empty(n_states * n_actions, dtype=np.bool_)
        self.n_seen = 0

    def __len__(self) -> int:
        """Number of distinct (s, a) pairs recorded."""
        return self.n_seen

    def __contains__(self, sa: tuple[int, int]) -> bool:
        return bool(self.slot[sa] >= 0)

    def update(self, state: int, action: int, reward: float, next_state: int,
               terminated: bool) -> None:
        """Record the outcome of a real step (§8.2, step (e))."""
        self.n_seen = kernels.model_update(self.slot, self.slot_sa, self.slot_row,
                                           self.slot_reward, self.slot_term, self.n_seen,
                                           state, action, reward, next_state, terminated)

    def predict(self, state: int, action: int) -> tuple[int, float, bool]:
        """The remembered ``(next_state, reward, terminated)`` of a seen pair.

        Raises:
            KeyError: If (state, action) has never been tried.
        """
        if (state, action) not in self:
            raise KeyError((state, action))
        i = self.slot[state, action]
        return (int(self.slot_row[i]) // self.n_actions, float(self.slot_reward[i]),
                bool(self.slot_term[i]))

    def plan(self, Q: np.ndarray, steps: int, alpha: float, gamma: float,
             rng: np.ndarray) -> int:
        """``steps`` Q-learning backups on seen pairs drawn uniformly (§8.2, step (f)).

        Returns:
            The number of backups done (0 while the model is empty).
        """
        return int(kernels.plan(Q, self.slot_sa, self.slot_row, self.slot_reward,
                                self.slot_term, self.n_seen, steps, alpha, gamma, rng))
