"""Dyna-Q+ (Sutton & Barto §8.3): Dyna-Q for worlds that change. With k = 0 (and the bonus
in planning) it is Q-learning.

A pair that has not been tried for τ real steps may have changed without the model
knowing, so Dyna-Q+ is paid to find out: each real step (s, a, r, s′) does
  1. direct RL: a Q-learning backup on (s, a, r, s′)              -> :meth:`DynaQPlus.observe`
  2. model learning: (s, a) led to (s′, r), tried at real step t;
     the first time s is acted in, its other actions enter the model as leading back to
     s with reward 0 (the book's footnote), so planning can try them -> :meth:`DynaQPlus.observe`
  3. planning: k backups on (ŝ, â) drawn uniformly from the model, as if the reward were
     r̂ + κ√τ(ŝ, â)                                                -> :meth:`DynaQPlus.plan`

With ``bonus = "action"`` (Exercise 8.4) the bonus goes into the action choice instead:
greedy on Q(s, a) + κ√τ(s, a), and planning is Dyna-Q's, on the pairs tried.

A thin shell over :mod:`dynaq.kernels.dyna_q_plus`, the functions the compiled runner uses,
so for one seed both give the same episodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dynaq.agents.base import TabularAgent, TabularConfig
from dynaq.checks import check_finite, check_index
from dynaq.errors import ConfigError

if TYPE_CHECKING:
    from dynaq.kernels import dyna_q_plus as kernels
    from dynaq.kernels.agent import AgentKernels

BONUSES = ("planning", "action")
"""Where the bonus κ√τ goes: planning backups (§8.3) or the action choice (Exercise 8.4)."""


@dataclass(frozen=True)
class DynaQPlusConfig(TabularConfig):
    """Hyperparameters of Dyna-Q+: those of every tabular agent (the defaults of Figure
    8.2), plus the bonus. The model is the deterministic table."""

    kappa: float = 1e-3
    """Bonus weight κ >= 0: the bonus is κ√τ, τ the real steps since the pair was tried."""
    bonus: str = "planning"
    """``planning``: reward r + κ√τ in planning backups (§8.3); ``action``: greedy on
    Q + κ√τ, backups without bonus (Exercise 8.4)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_finite("kappa", self.kappa)
        if self.bonus not in BONUSES:
            raise ConfigError(f"bonus must be one of {', '.join(BONUSES)}; got {self.bonus!r}")


class DynaQPlus(TabularAgent):
    """Dyna-Q+ with the deterministic table model (§8.3).

    Args:
        n_states: Number of states of a Discrete observation space.
        n_actions: Number of actions of a Discrete action space.
        config: Hyperparameters.
        seed: Seeds the agent's own random stream (exploration, tie-breaking, planning).

    Example:
        >>> import gymnasium as gym, dynaq
        >>> from dynaq.agents import DynaQPlus, DynaQPlusConfig
        >>> env = gym.make("dynaq/DynaMaze-v0")
        >>> agent = DynaQPlus.for_env(env, DynaQPlusConfig(planning_steps=5), seed=0)
        >>> s, _ = env.reset(seed=0)
        >>> a = agent.act(s)
        >>> s2, r, terminated, truncated, _ = env.step(a)
        >>> agent.observe(s, a, r, s2, terminated)
        0.0
        >>> agent.plan(), agent.tau(s, a)
        (5, 0)
    """

    name = "dyna-q+"
    Config = DynaQPlusConfig

    @classmethod
    def kernels(cls, config: TabularConfig) -> AgentKernels:
        """The compiled functions that :mod:`dynaq.kernels.run` and the step API run."""
        from dynaq.kernels import dyna_q_plus as kernels
        from dynaq.kernels.agent import AgentKernels

        return AgentKernels(kernels.init, kernels.act, kernels.learn, kernels.diagnose,
                            observe=kernels.observe, plan=kernels.plan)

    @classmethod
    def hyperparameters(cls, config: DynaQPlusConfig) -> kernels.DynaQPlusParams:
        """``hp`` for :meth:`kernels`."""
        from dynaq.kernels import dyna_q_plus as kernels

        return kernels.DynaQPlusParams(float(config.alpha), float(config.gamma),
                                       float(config.epsilon), int(config.planning_steps),
                                       float(config.kappa), config.bonus == "planning")

    @classmethod
    def learns_deterministic_model(cls, config: DynaQPlusConfig) -> bool:
        """Dyna-Q+'s model is always the book's deterministic one (§8.3)."""
        return config.planning_steps > 0

    def tau(self, state: int, action: int) -> int:
        """τ(state, action): real steps since the pair was last tried (all of them if
        never).

        Raises:
            ConfigError: If ``state`` or ``action`` is out of range.
        """
        S, A = self.Q.shape
        return self.t - int(self.state.last[check_index("state", state, S) * A
                                            + check_index("action", action, A)])
