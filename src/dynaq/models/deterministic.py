"""The deterministic table model of the course: (s, a) → (s′, r), the last outcome seen."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dynaq.checks import check_real
from dynaq.errors import ConfigError
from dynaq.models.base import Model, built_on_first_read, check_sizes

if TYPE_CHECKING:
    from dynaq.kernels import dyna_q as kernels
    from dynaq.kernels.agent import AgentKernels


@built_on_first_read
def _dyna_q() -> AgentKernels:
    """Dyna-Q's compiled functions with the deterministic model."""
    from dynaq.kernels import dyna_q as kernels
    from dynaq.kernels.agent import AgentKernels

    return AgentKernels(kernels.init, kernels.act, kernels.learn, kernels.diagnose,
                        observe=kernels.observe, plan=kernels.plan)


class DeterministicModel(Model):
    """A table model for deterministic worlds (Sutton & Barto §8.2, the course's first row).

    It remembers, for each (s, a) tried, the last next state, reward and termination, and
    the list of pairs tried so far, so planning can sample one uniformly in O(1). In a
    stochastic world it keeps only the last outcome and so "invents false certainty".

    Args:
        n_states: Number of states.
        n_actions: Number of actions.
        backup: ``sample``, the one backup of a model with one outcome per pair.
    """

    name = "deterministic"
    BACKUPS = ("sample",)
    """Its planning backups: one outcome per pair, so an expected backup is the sample."""
    DYNA_Q = _dyna_q

    def __init__(self, n_states: int, n_actions: int, backup: str = "sample") -> None:
        from dynaq.kernels import dyna_q as kernels

        check_sizes(n_states, n_actions)
        if backup not in self.BACKUPS:
            raise ConfigError(f"backup must be sample for the deterministic model, got "
                              f"{backup!r}: it has one outcome per pair, so its expected "
                              "backup is the sample")
        self.n_actions = n_actions
        self.table, self.reward = kernels.new_model(n_states, n_actions)
        self.count = np.zeros(1, np.int64)
        """``count[N_SEEN]``: the pairs seen (an agent's state holds more counters)."""

    @classmethod
    def of_state(cls, state: kernels.DynaQState, n_actions: int,
                 backup: str = "sample") -> DeterministicModel:
        """The model inside an agent's :class:`~dynaq.kernels.dyna_q.DynaQState`: a view of
        its arrays, not a copy (what :attr:`dynaq.DynaQ.model` is)."""
        model = cls.__new__(cls)
        model.n_actions = n_actions
        model.table, model.reward, model.count = state.m_int, state.m_reward, state.count
        return model

    def update(self, state: int, action: int, reward: float, next_state: int,
               terminated: bool) -> None:
        """Record the outcome of a real step (§8.2, step (e)).

        Raises:
            ConfigError: If a state or the action is out of range, or the reward is not a
                finite number.
        """
        from dynaq.kernels import dyna_q as kernels

        sa, s2 = self.pair(state, action), self.next_state(next_state)
        check_real("reward", reward)
        self.count[kernels.N_SEEN] = kernels.model_update(
            self.table, self.reward, self.n_seen, self.n_actions, sa // self.n_actions,
            sa % self.n_actions, float(reward), s2, bool(terminated))

    def predict(self, state: int, action: int) -> tuple[int, float, bool]:
        """The remembered ``(next_state, reward, terminated)`` of a seen pair.

        Raises:
            KeyError: If (state, action) has never been tried.
            ConfigError: If ``state`` or ``action`` is out of range.
        """
        from dynaq.kernels import dyna_q as kernels

        i = self.table[kernels.SLOT, self.pair(state, action)]
        if i < 0:
            raise KeyError((state, action))
        return (int(self.table[kernels.NEXT_ROW, i]) // self.n_actions, float(self.reward[i]),
                bool(self.table[kernels.TERM, i]))

    def plan(self, Q: np.ndarray, steps: int, alpha: float, gamma: float,
             rng: np.ndarray) -> int:
        """``steps`` Q-learning backups on seen pairs drawn uniformly (§8.2, step (f)).

        Returns:
            The number of backups done (0 while the model is empty).

        Raises:
            ConfigError: For an argument compiled code cannot take (:meth:`check_plan`).
        """
        from dynaq.kernels import dyna_q as kernels

        self.check_plan(Q, steps, alpha, gamma, rng)
        return int(kernels.plan_uniform(Q, self.table, self.reward, self.n_seen, steps, alpha,
                                        gamma, rng))

    def _plan_with(self, Q: np.ndarray, steps: int, alpha: float, gamma: float,
                   rng: np.ndarray, sampling: int, pair: int, state: int,
                   epsilon: float) -> int:
        from dynaq.kernels import dyna_q as kernels

        return kernels.plan_with(Q, kernels.TableModel(self.table, self.reward), sampling,
                                 self.n_seen, pair, state, steps, alpha, gamma, epsilon, rng)
