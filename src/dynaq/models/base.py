"""What every model of :data:`dynaq.models.MODELS` is: the Python face of a model that
Dyna-Q learns and plans with, over arrays its kernels own."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from dynaq.checks import check_index
from dynaq.kernels import dyna_q as dq
from dynaq.kernels.agent import AgentKernels


class Model:
    """A model's name, its planning backups, Dyna-Q's kernels with it, and the queries and
    planning calls every model answers. A subclass holds ``n_actions``, ``table`` (the
    model's integer table, whose rows ``SLOT`` and ``PAIR`` are Dyna-Q's) and ``count``
    (``count[N_SEEN]`` the pairs seen), and defines ``of_state``, ``update``, ``predict``,
    ``plan`` and ``_plan_with``."""

    name: ClassVar[str]
    """The model's name (``--model``)."""
    BACKUPS: ClassVar[tuple[str, ...]]
    """Its planning backups, the first the default."""
    DYNA_Q: ClassVar[AgentKernels]
    """Dyna-Q's compiled functions with this model (:class:`dynaq.DynaQ`)."""

    n_actions: int
    table: np.ndarray
    count: np.ndarray

    @property
    def n_seen(self) -> int:
        """Number of distinct (s, a) pairs recorded."""
        return int(self.count[dq.N_SEEN])

    def __len__(self) -> int:
        """Number of distinct (s, a) pairs recorded."""
        return self.n_seen

    def __contains__(self, sa: tuple[int, int]) -> bool:
        return bool(self.table[dq.SLOT, self.pair(*sa)] >= 0)

    def next_state(self, next_state: int) -> int:
        """``next_state`` as an int.

        Raises:
            ConfigError: If it is not a state of the model.
        """
        return check_index("next_state", next_state, self.table.shape[1] // self.n_actions)

    def pair(self, state: int, action: int) -> int:
        """``state * n_actions + action``, the pair's column in the model's table.

        Raises:
            ConfigError: If ``state`` or ``action`` is out of range: compiled code indexes
                the model's arrays with it unchecked.
        """
        return (check_index("state", state, self.table.shape[1] // self.n_actions)
                * self.n_actions + check_index("action", action, self.n_actions))

    def plan_from(self, Q: np.ndarray, steps: int, alpha: float, gamma: float,
                  rng: np.ndarray, sampling: str = "uniform", pair: int = -1, state: int = -1,
                  epsilon: float = 0.0) -> int:
        """Planning on the pairs a planning distribution picks (§8.6): ``uniform`` over those
        seen, ``latest`` (all on ``pair = s*A + a``) or ``trajectory`` (simulated ε-greedy
        steps from ``state``); see :func:`dynaq.kernels.dyna_q.plan_with`.

        Returns:
            The number of backups done.
        """
        return int(self._plan_with(Q, steps, alpha, gamma, rng, dq.SAMPLINGS.index(sampling),
                                   pair, state, epsilon))

    def _plan_with(self, Q: np.ndarray, steps: int, alpha: float, gamma: float,
                   rng: np.ndarray, sampling: int, pair: int, state: int,
                   epsilon: float) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define _plan_with")
