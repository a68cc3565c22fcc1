"""The transition-count model of the course's second row: P̂(s′|s, a) from counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dynaq.checks import check_real
from dynaq.errors import ConfigError
from dynaq.models.base import Model, built_on_first_read, check_sizes

if TYPE_CHECKING:
    from dynaq.kernels import counts as kernels
    from dynaq.kernels.agent import AgentKernels

Outcome = tuple[float, int, float, bool]
"""(probability, next state, mean reward, terminated), as in a toy-text ``P[s][a]``."""


@built_on_first_read
def _dyna_q() -> AgentKernels:
    """Dyna-Q's compiled functions with the counts model."""
    from dynaq.kernels import counts as kernels
    from dynaq.kernels import dyna_q as dq
    from dynaq.kernels.agent import AgentKernels

    return AgentKernels(kernels.init, dq.act, kernels.learn, kernels.diagnose,
                        observe=kernels.observe, plan=kernels.plan)


class CountsModel(Model):
    """A distribution model for stochastic worlds (Sutton & Barto §8.1, §8.5).

    For each (s, a) tried it counts how often each (s′, terminated) followed and keeps the
    mean reward of each, so P̂(s′|s, a) = n(s, a, s′) / n(s, a). Planning samples s′ from
    P̂ ("sample s′ from learned probabilities instead of a single stored next state", the
    course) or sums over it (expected backups, §8.5). Memory grows with the distinct
    transitions seen, never with S²·A. In a deterministic world it plans exactly as
    :class:`~dynaq.models.DeterministicModel` does, random numbers included.

    Args:
        n_states: Number of states.
        n_actions: Number of actions.
        backup: ``sample`` or ``expected`` planning backups.

    Example:
        >>> model = CountsModel(3, 1)
        >>> for s2 in (1, 1, 2):
        ...     model.update(0, 0, 1.0 if s2 == 1 else 0.0, s2, s2 == 2)
        >>> model.distribution(0, 0)
        [(0.6666666666666666, 1, 1.0, False), (0.3333333333333333, 2, 0.0, True)]
    """

    name = "counts"
    BACKUPS = ("sample", "expected")
    """Its planning backups (§8.5)."""
    DYNA_Q = _dyna_q

    def __init__(self, n_states: int, n_actions: int, backup: str = "sample") -> None:
        from dynaq.kernels import counts as kernels

        check_sizes(n_states, n_actions)
        if backup not in self.BACKUPS:
            raise ConfigError(f"backup must be one of sample, expected; got {backup!r}")
        self.n_actions = n_actions
        self.backup = backup
        self.table, self.pool, self.count = kernels.new_model(n_states, n_actions)

    @classmethod
    def of_state(cls, state: kernels.CountsState, n_actions: int,
                 backup: str = "sample") -> CountsModel:
        """The model inside an agent's :class:`~dynaq.kernels.counts.CountsState`: a view of
        its arrays, not a copy (what :attr:`dynaq.DynaQ.model` is)."""
        model = cls.__new__(cls)
        model.n_actions, model.backup = n_actions, backup
        model.table, model.pool, model.count = state.m_int, state.pool, state.count
        return model

    def update(self, state: int, action: int, reward: float, next_state: int,
               terminated: bool) -> None:
        """Count the outcome of a real step (§8.2, step (e)).

        Raises:
            ConfigError: If a state or the action is out of range, or the reward is not a
                finite number.
        """
        from dynaq.kernels import counts as kernels

        sa, s2 = self.pair(state, action), self.next_state(next_state)
        check_real("reward", reward)
        kernels.model_update(self.table, self.pool, self.count, self.n_actions,
                             sa // self.n_actions, sa % self.n_actions, float(reward), s2,
                             bool(terminated))

    def distribution(self, state: int, action: int) -> list[Outcome]:
        """The learned outcomes of a seen pair, in the order first seen.

        Raises:
            KeyError: If (state, action) has never been tried.
            ConfigError: If ``state`` or ``action`` is out of range.
        """
        from dynaq.kernels import counts as kernels

        i = self.table[kernels.SLOT, self.pair(state, action)]
        if i < 0:
            raise KeyError((state, action))
        p_int, p_reward = self.pool.p_int, self.pool.p_reward
        rows, terms, probs, rewards = kernels.distribution(self.table, p_int, p_reward, i)
        return [(float(p), int(row) // self.n_actions, float(r), bool(t))
                for row, t, p, r in zip(rows, terms, probs, rewards, strict=True)]

    def predict(self, state: int, action: int,
                rng: np.ndarray | None = None) -> tuple[int, float, bool]:
        """``(next_state, mean reward, terminated)`` of a seen pair: drawn from P̂ with the
        random state ``rng``, or without one the most frequent outcome (the first seen
        among equals).

        Raises:
            KeyError: If (state, action) has never been tried.
            ConfigError: If ``state`` or ``action`` is out of range.
        """
        from dynaq.kernels import counts as kernels

        if rng is None:
            _, s2, r, term = max(self.distribution(state, action), key=lambda o: o[0])
            return s2, r, term
        i = self.table[kernels.SLOT, self.pair(state, action)]
        if i < 0:
            raise KeyError((state, action))
        p_int, p_reward = self.pool.p_int, self.pool.p_reward
        j = kernels.draw(p_int, i, self.table[kernels.TOTAL, i], rng)
        return (int(p_int[j, kernels.NEXT_ROW]) // self.n_actions, float(p_reward[j]),
                bool(p_int[j, kernels.TERM]))

    def plan(self, Q: np.ndarray, steps: int, alpha: float, gamma: float,
             rng: np.ndarray) -> int:
        """``steps`` sample or expected Q-learning backups (§8.5) on seen pairs drawn
        uniformly (§8.2, step (f)).

        Returns:
            The number of backups done (0 while the model is empty).

        Raises:
            ConfigError: For an argument compiled code cannot take (:meth:`check_plan`).
        """
        return self.plan_from(Q, steps, alpha, gamma, rng)

    def _plan_with(self, Q: np.ndarray, steps: int, alpha: float, gamma: float,
                   rng: np.ndarray, sampling: int, pair: int, state: int,
                   epsilon: float) -> int:
        from dynaq.kernels import counts as kernels

        return kernels.plan_sampled(Q, self.table, self.pool.p_int, self.pool.p_reward,
                                    self.n_seen, self.backup == "expected", sampling, pair,
                                    state, steps, alpha, gamma, epsilon, rng)
