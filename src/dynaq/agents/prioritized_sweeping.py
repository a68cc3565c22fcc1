"""Prioritized sweeping (Sutton & Barto §8.4). With k = 0 it is Q-learning (§6.5).

Dyna-Q plans from pairs drawn uniformly, most of which have nothing new to pass on.
Prioritized sweeping backs up the pairs whose values would change most, and works
backwards from every change: each real step (s, a, r, s′) does
  1. direct RL: a Q-learning backup on (s, a, r, s′)          -> :meth:`PrioritizedSweeping.observe`
  2. model learning: (s, a) led to (s′, r); the predecessor
     index now lists (s, a) among the pairs leading to s′     -> :meth:`PrioritizedSweeping.observe`
  3. queueing: (s, a) with priority P = |r + γ max_a′ Q(s′, a′) − Q(s, a)|, and each pair
     predicted to lead to s with its own P, if P > θ          -> :meth:`PrioritizedSweeping.observe`
  4. sweeping: up to k times, pop the pair of highest priority, back it up from the model
     and queue its predecessors the same way                  -> :meth:`PrioritizedSweeping.plan`

The queue holds each pair at most once, with the highest priority pending for it. With
the counts model (``model = "counts"``, ``backup = "expected"``) the errors and the backups
are expected ones over P̂(s′|s, a), the book's extension to stochastic worlds. A thin
shell over :mod:`dynaq.kernels.prioritized`, the functions the compiled runner uses, so for
one seed both give the same episodes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dynaq.agents.base import TabularAgent, TabularConfig
from dynaq.checks import check_finite
from dynaq.errors import ConfigError
from dynaq.models import CountsModel, DeterministicModel

if TYPE_CHECKING:
    from dynaq.kernels import prioritized as kernels
    from dynaq.kernels.agent import AgentKernels
    from dynaq.models.base import Model

_BACKUPS = {DeterministicModel: "sample", CountsModel: "expected"}
"""The models it runs with, and the one backup it has with each."""
_MODELS = {model.name: model for model in _BACKUPS}


@functools.cache
def _kernels(model: type[Model]) -> AgentKernels:
    """Prioritized sweeping's compiled functions with ``model`` (one of :data:`_BACKUPS`)."""
    from dynaq.kernels import prioritized as kernels
    from dynaq.kernels.agent import AgentKernels

    if model is CountsModel:
        return AgentKernels(kernels.init_counts, kernels.act, kernels.learn_counts,
                            kernels.diagnose_counts, observe=kernels.observe_counts,
                            plan=kernels.plan_counts)
    return AgentKernels(kernels.init, kernels.act, kernels.learn, kernels.diagnose,
                        observe=kernels.observe, plan=kernels.plan)


@dataclass(frozen=True)
class PrioritizedSweepingConfig(TabularConfig):
    """Hyperparameters of prioritized sweeping: those of every tabular agent (k is the most
    backups popped from the queue per real step), the model, and the threshold θ."""

    model: str = "deterministic"
    """``deterministic`` (the last outcome of each pair: the book's box) or ``counts``
    (P̂(s′|s, a) from counts, backed up by expected updates: the box for stochastic
    worlds)."""
    backup: str | None = None
    """How a popped pair is backed up: ``sample`` (its one remembered outcome) with the
    deterministic model, ``expected`` (over P̂) with counts; each model has only its own,
    which None (the default) picks."""
    theta: float = 1e-4
    """Queue threshold θ >= 0: a pair is queued only when its priority exceeds θ."""

    @staticmethod
    def backup_for(model: str) -> str:
        """The one backup prioritized sweeping has with ``model``: what None picks."""
        return _BACKUPS[_MODELS[model]] if model in _MODELS else "sample"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model not in _MODELS:
            raise ConfigError(f"model must be one of {', '.join(_MODELS)} for prioritized "
                              f"sweeping, got {self.model!r}")
        wanted = self.backup_for(self.model)
        if self.backup is None:
            object.__setattr__(self, "backup", wanted)
        if self.backup != wanted:
            raise ConfigError(f"backup must be {wanted} for prioritized sweeping with model "
                              f"{self.model}, got {self.backup!r}")
        check_finite("theta", self.theta)


class PrioritizedSweeping(TabularAgent):
    """Prioritized sweeping (§8.4): the book's box with the deterministic model, or its
    stochastic extension with transition counts and expected updates.

    Args:
        n_states: Number of states of a Discrete observation space.
        n_actions: Number of actions of a Discrete action space.
        config: Hyperparameters.
        seed: Seeds the agent's own random stream (exploration and tie-breaking; the
            sweeps themselves draw nothing).

    Example:
        >>> from dynaq.agents import PrioritizedSweeping, PrioritizedSweepingConfig
        >>> agent = PrioritizedSweeping(3, 1, PrioritizedSweepingConfig(
        ...     alpha=0.5, gamma=0.9, planning_steps=5))
        >>> agent.observe(0, 0, 0.0, 1, False)
        0.0
        >>> agent.observe(1, 0, 1.0, 2, True)
        1.0
        >>> agent.queue()
        [((1, 0), 0.5), ((0, 0), 0.45)]
        >>> agent.plan()  # (1, 0), then (0, 0) at its raised priority; nothing is left
        2
    """

    name = "prioritized-sweeping"
    Config = PrioritizedSweepingConfig

    @classmethod
    def kernels(cls, config: PrioritizedSweepingConfig) -> AgentKernels:
        """The compiled functions that :mod:`dynaq.kernels.run` and the step API run."""
        return _kernels(_MODELS[config.model])

    @classmethod
    def hyperparameters(cls, config: PrioritizedSweepingConfig) -> kernels.SweepingParams:
        """``hp`` for :meth:`kernels`."""
        from dynaq.kernels import prioritized as kernels

        return kernels.SweepingParams(float(config.alpha), float(config.gamma),
                                      float(config.epsilon), int(config.planning_steps),
                                      float(config.theta))

    def queue(self) -> list[tuple[tuple[int, int], float]]:
        """The queued pairs ``((state, action), priority)``, highest priority first."""
        from dynaq.kernels.dyna_q import PAIR

        m_int, heap, prio = self.state.m_int, self.state.heap, self.state.prio
        size = int(heap[0])
        pairs = [divmod(int(m_int[PAIR, i]), self.Q.shape[1]) for i in heap[1:size + 1]]
        return sorted(zip(pairs, (float(p) for p in prio[1:size + 1]), strict=True),
                      key=lambda entry: (-entry[1], entry[0]))
