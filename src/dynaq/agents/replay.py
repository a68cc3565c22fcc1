"""Tabular experience replay: Q-learning plus k backups per real step on real transitions
drawn uniformly from a buffer of the last ``buffer_size`` (the course's "Relation to
experience replay": DQN's replay buffer, here without a network). With k = 0 it is
Q-learning (§6.5).

Each real step (s, a, r, s′) does, in this order:
  1. direct RL: a Q-learning backup on (s, a, r, s′)           -> :meth:`Replay.observe`
  2. storage: (s, a, r, s′) joins the buffer, the oldest leaves -> :meth:`Replay.observe`
  3. replay: k backups on transitions drawn uniformly from it   -> :meth:`Replay.plan`

Beside Dyna-Q (§8.2): the buffer is a model that keeps every transition rather than the
last outcome of each pair, so a pair's outcomes are replayed by their observed frequency
(as the counts model samples them) and a pair by how often it was tried (where Dyna-Q
draws every seen pair equally often). A thin shell over :mod:`dynaq.kernels.replay`, the
functions the compiled runner uses, so for one seed both give the same episodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dynaq import rng as rng_mod
from dynaq.agents.dyna_q import DynaQ, TabularConfig
from dynaq.errors import ConfigError
from dynaq.kernels import replay as kernels


@dataclass(frozen=True)
class ReplayConfig(TabularConfig):
    """Hyperparameters of tabular replay: Q-learning's, k replayed transitions per real
    step, and the buffer's capacity."""

    buffer_size: int = 100_000
    """Transitions the buffer holds (the oldest leave first), an integer >= 1."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.buffer_size, bool) or not isinstance(
                self.buffer_size, int | np.integer) or self.buffer_size < 1:
            raise ConfigError(f"buffer_size must be an integer >= 1, got {self.buffer_size!r}")


class Replay(DynaQ):
    """Q-learning with uniform experience replay from a ring buffer.

    Args:
        n_states: Number of states of a Discrete observation space.
        n_actions: Number of actions of a Discrete action space.
        config: Hyperparameters.
        seed: Seeds the agent's own random stream (exploration, tie-breaking, replay).

    Example:
        >>> agent = Replay(3, 2, ReplayConfig(alpha=0.5, planning_steps=4, buffer_size=2))
        >>> agent.observe(0, 1, 1.0, 1, True)
        1.0
        >>> agent.plan(), agent.Q[0, 1]  # four more backups of the one stored transition
        (4, 0.96875)
    """

    name = "replay"
    Config = ReplayConfig

    def __init__(self, n_states: int, n_actions: int, config: ReplayConfig | None = None,
                 seed: int = 0) -> None:
        self.config = config if config is not None else ReplayConfig()
        self.check_config(self.config)
        self.hp = self.hyperparameters(self.config)
        self.Q = np.zeros((n_states, n_actions))
        self.state = kernels.init(n_states, n_actions, self.hp)
        self.rng = rng_mod.make_state(seed, rng_mod.AGENT)
        self.backups = 0

    @classmethod
    def check_config(cls, config: Any) -> None:
        """Raise ConfigError unless ``config`` is a ReplayConfig."""
        if not isinstance(config, ReplayConfig):
            raise ConfigError(f"agent {cls.name} needs a ReplayConfig, got "
                              f"{type(config).__name__}")

    @classmethod
    def kernels(cls, config: Any) -> tuple[Any, Any, Any, Any]:
        """The compiled ``(init, act, learn, diagnose)`` that :mod:`dynaq.kernels.run` runs."""
        return kernels.init, kernels.act, kernels.learn, kernels.diagnose

    @classmethod
    def hyperparameters(cls, config: Any) -> tuple[float, float, float, int, int]:
        """``hp`` for :meth:`kernels`: ``(alpha, gamma, epsilon, k, buffer_size)``."""
        return (float(config.alpha), float(config.gamma), float(config.epsilon),
                int(config.planning_steps), int(config.buffer_size))

    def __len__(self) -> int:
        """Number of transitions held."""
        return int(self.state[2][kernels.STORED])

    def observe(self, state: int, action: int, reward: float, next_state: int,
                terminated: bool) -> float:
        """Learn from one real step: a Q-learning backup, then store the transition.

        Args:
            state: The state acted in.
            action: The action taken.
            reward: The reward received.
            next_state: The state reached.
            terminated: Whether the episode ended there (not ``truncated``).

        Returns:
            The TD error of the direct-RL backup.
        """
        td = kernels.observe(self.Q, self.state, int(state), int(action), float(reward),
                             int(next_state), bool(terminated), self.hp)
        self.backups += 1
        return float(td)

    def plan(self, steps: int | None = None) -> int:
        """Replay: Q-learning backups on stored transitions drawn uniformly.

        Args:
            steps: How many backups; default the configured k.

        Returns:
            How many were done: 0 while the buffer is empty.
        """
        done = int(kernels.replay(self.Q, self.state, self.config.planning_steps
                                  if steps is None else steps, self.hp, self.rng))
        self.backups += done
        return done
