"""What every model of :data:`dynaq.models.MODELS` is: the Python face of a model that
Dyna-Q learns and plans with, over arrays its kernels own."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from dynaq.checks import check_choice, check_count, check_index, check_number
from dynaq.errors import ConfigError
from dynaq.kernels import SAMPLINGS
from dynaq.limits import MAX_PLANNING_STEPS

if TYPE_CHECKING:
    from dynaq.kernels.agent import AgentKernels


class built_on_first_read:
    """A class attribute that ``build()`` makes when it is first read, once: a model's
    kernels, which reading its name or backups (a config's checks) must not import."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = functools.cache(build)
        self.__doc__ = build.__doc__

    def __get__(self, instance: object, owner: type) -> Any:
        return self._build()


def check_sizes(n_states: Any, n_actions: Any) -> None:
    """Raise ConfigError unless a model of ``n_states`` × ``n_actions`` can be built."""
    check_count("n_states", n_states, 1)
    check_count("n_actions", n_actions, 1)


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
        from dynaq.kernels.dyna_q import N_SEEN

        return int(self.count[N_SEEN])

    def __len__(self) -> int:
        """Number of distinct (s, a) pairs recorded."""
        return self.n_seen

    def __contains__(self, sa: tuple[int, int]) -> bool:
        from dynaq.kernels.dyna_q import SLOT

        return bool(self.table[SLOT, self.pair(*sa)] >= 0)

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
        seen, ``latest`` (all on ``pair = s*A + a``, a seen pair) or ``trajectory``
        (simulated ε-greedy steps from ``state``); see :func:`dynaq.kernels.dyna_q.plan_with`.

        Returns:
            The number of backups done.

        Raises:
            ConfigError: For an argument that compiled code cannot take (see
                :meth:`check_plan`), another sampling, an unseen ``pair`` or a ``state`` out
                of range.
        """
        from dynaq.kernels.dyna_q import SLOT

        self.check_plan(Q, steps, alpha, gamma, rng)
        check_choice("sampling", sampling, SAMPLINGS)
        check_number("epsilon", epsilon, 0.0, 1.0, "[0, 1]")
        if sampling == "latest":
            pair = check_index("pair", pair, self.table.shape[1])
            if self.n_seen and self.table[SLOT, pair] < 0:
                raise ConfigError(f"pair must be a seen pair (state * n_actions + action), "
                                  f"got {pair}, never tried")
        if sampling == "trajectory":
            state = check_index("state", state, self.table.shape[1] // self.n_actions)
        return int(self._plan_with(Q, steps, alpha, gamma, rng, SAMPLINGS.index(sampling),
                                   pair, state, epsilon))

    def check_plan(self, Q: Any, steps: Any, alpha: Any, gamma: Any, rng: Any) -> None:
        """Raise ConfigError unless compiled planning can take these: ``Q`` a writeable
        C-contiguous float64 array of shape ``(n_states, n_actions)``, ``steps`` a count, α in
        (0, 1], γ in [0, 1] and ``rng`` a random state (:func:`dynaq.rng.make_state`)."""
        shape = (self.table.shape[1] // self.n_actions, self.n_actions)
        if not (isinstance(Q, np.ndarray) and Q.dtype == np.float64 and Q.shape == shape
                and Q.flags.c_contiguous and Q.flags.writeable):
            got = (f"{Q.dtype} {Q.shape}" if isinstance(Q, np.ndarray) else type(Q).__name__)
            raise ConfigError(f"Q must be a writeable C-contiguous float64 array of shape "
                              f"{shape}, got {got}")
        check_count("steps", steps, 0, MAX_PLANNING_STEPS)
        check_number("alpha", alpha, 0.0, 1.0, "(0, 1]", low_open=True)
        check_number("gamma", gamma, 0.0, 1.0, "[0, 1]")
        if not (isinstance(rng, np.ndarray) and rng.dtype == np.uint64 and rng.shape == (4,)
                and rng.flags.writeable):
            raise ConfigError("rng must be a random state of dynaq.rng.make_state (uint64 "
                              f"array of shape (4,)), got {type(rng).__name__}")
