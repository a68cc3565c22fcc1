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
from typing import TYPE_CHECKING, Any

from dynaq.agents.base import TabularAgent, TabularConfig
from dynaq.checks import check_count
from dynaq.limits import MAX_BUFFER

if TYPE_CHECKING:
    from dynaq.kernels import replay as kernels
    from dynaq.kernels.agent import AgentKernels


@dataclass(frozen=True)
class ReplayConfig(TabularConfig):
    """Hyperparameters of tabular replay: Q-learning's, k replayed transitions per real
    step, and the buffer's capacity."""

    buffer_size: int = 100_000
    """Transitions the buffer holds (the oldest leave first), an integer in [1, 10**9]."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_count("buffer_size", self.buffer_size, 1, MAX_BUFFER)


class Replay(TabularAgent):
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
        >>> agent.plan(), float(agent.Q[0, 1])  # four more backups of the one stored transition
        (4, 0.96875)
    """

    name = "replay"
    Config = ReplayConfig

    @classmethod
    def memory_bytes(cls, config: Any, n_states: int, n_actions: int) -> int:
        """The table's, plus the buffer's five 8-byte numbers per transition."""
        return super().memory_bytes(config, n_states, n_actions) + 40 * config.buffer_size

    @classmethod
    def kernels(cls, config: Any) -> AgentKernels:
        """The compiled functions that :mod:`dynaq.kernels.run` and the step API run."""
        from dynaq.kernels import replay as kernels
        from dynaq.kernels.agent import AgentKernels

        return AgentKernels(kernels.init, kernels.act, kernels.learn, kernels.diagnose,
                            observe=kernels.observe, plan=kernels.plan)

    @classmethod
    def hyperparameters(cls, config: Any) -> kernels.ReplayParams:
        """``hp`` for :meth:`kernels`."""
        from dynaq.kernels import replay as kernels

        return kernels.ReplayParams(float(config.alpha), float(config.gamma),
                                    float(config.epsilon), int(config.planning_steps),
                                    int(config.buffer_size))

    def __len__(self) -> int:
        """Number of transitions held."""
        from dynaq.kernels.replay import STORED

        return int(self.state.count[STORED])
