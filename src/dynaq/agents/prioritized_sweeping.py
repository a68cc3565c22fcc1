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

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from dynaq import rng as rng_mod
from dynaq.agents.dyna_q import DynaQ, TabularConfig
from dynaq.errors import ConfigError
from dynaq.kernels import prioritized as kernels
from dynaq.kernels.dyna_q import PAIR

_PS_MODELS = ("deterministic", "counts")
"""Models prioritized sweeping runs with."""

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
        return "expected" if model == "counts" else "sample"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model not in _PS_MODELS:
            raise ConfigError(f"model must be one of {', '.join(_PS_MODELS)} for prioritized "
                              f"sweeping, got {self.model!r}")
        wanted = self.backup_for(self.model)
        if self.backup is None:
            object.__setattr__(self, "backup", wanted)
        if self.backup != wanted:
            raise ConfigError(f"backup must be {wanted} for prioritized sweeping with model "
                              f"{self.model}, got {self.backup!r}")
        if isinstance(self.theta, bool) or not isinstance(self.theta, int | float | np.number) \
                or not math.isfinite(self.theta) or self.theta < 0:
            raise ConfigError(f"theta must be a finite number >= 0, got {self.theta!r}")


class PrioritizedSweeping(DynaQ):
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

    def __init__(self, n_states: int, n_actions: int,
                 config: PrioritizedSweepingConfig | None = None, seed: int = 0) -> None:
        self.config = config if config is not None else PrioritizedSweepingConfig()
        self.check_config(self.config)
        self.hp = self.hyperparameters(self.config)
        self.Q = np.zeros((n_states, n_actions))
        self.state = self.kernels(self.config)[0](n_states, n_actions, self.hp)
        counts = self.config.model == "counts"
        self._observe = kernels.observe_counts if counts else kernels.observe
        self._plan = kernels.plan_counts if counts else kernels.plan
        self.rng = rng_mod.make_state(seed, rng_mod.AGENT)
        self.backups = 0

    @classmethod
    def check_config(cls, config: TabularConfig) -> None:
        """Raise ConfigError unless ``config`` is a PrioritizedSweepingConfig."""
        if not isinstance(config, PrioritizedSweepingConfig):
            raise ConfigError(f"agent {cls.name} needs a PrioritizedSweepingConfig, got "
                              f"{type(config).__name__}")

    @classmethod
    def kernels(cls, config: PrioritizedSweepingConfig) -> tuple[Any, Any, Any, Any]:
        """The compiled ``(init, act, learn, diagnose)`` that :mod:`dynaq.kernels.run` runs."""
        if config.model == "counts":
            return (kernels.init_counts, kernels.act, kernels.learn_counts,
                    kernels.diagnose_counts)
        return kernels.init, kernels.act, kernels.learn, kernels.diagnose

    @classmethod
    def hyperparameters(cls, config: PrioritizedSweepingConfig
                        ) -> tuple[float, float, float, int, float]:
        """``hp`` for :meth:`kernels`: ``(alpha, gamma, epsilon, k, theta)``."""
        return (float(config.alpha), float(config.gamma), float(config.epsilon),
                int(config.planning_steps), float(config.theta))

    def observe(self, state: int, action: int, reward: float, next_state: int,
                terminated: bool) -> float:
        """Learn from one real step: direct RL, model learning and, when k > 0, queueing
        the pair and its state's predecessors (§8.4, steps (d)–(f)).

        Args:
            state: The state acted in.
            action: The action taken.
            reward: The reward received.
            next_state: The state reached.
            terminated: Whether the episode ended there (not ``truncated``).

        Returns:
            The TD error of the direct-RL backup.
        """
        td = self._observe(self.Q, self.state, int(state), int(action), float(reward),
                           int(next_state), bool(terminated), self.hp)
        self.backups += 1
        return float(td)

    def plan(self, steps: int | None = None) -> int:
        """Sweep (§8.4, step (g)): back up the pairs of highest priority, each queueing
        the pairs predicted to lead to its state.

        Args:
            steps: The most backups; default the configured k.

        Returns:
            How many were done: fewer when the queue empties.
        """
        k = self.config.planning_steps if steps is None else steps
        done = int(self._plan(self.Q, self.state, k, self.hp))
        self.backups += done
        return done

    def queue(self) -> list[tuple[tuple[int, int], float]]:
        """The queued pairs ``((state, action), priority)``, highest priority first."""
        m_int, heap, prio = self.state[0], self.state[7], self.state[8]
        size = int(heap[0])
        pairs = [divmod(int(m_int[PAIR, i]), self.Q.shape[1]) for i in heap[1:size + 1]]
        return sorted(zip(pairs, (float(p) for p in prio[1:size + 1]), strict=True),
                      key=lambda entry: (-entry[1], entry[0]))
