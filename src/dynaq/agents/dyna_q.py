"""Tabular Dyna-Q (Sutton & Barto §8.2; the course's loop). With k = 0 it is Q-learning (§6.5).

Each real step (s, a, r, s′) does, in this order:
  1. direct RL: a Q-learning backup on (s, a, r, s′)          -> :meth:`DynaQ.observe`
  2. model learning: remember that (s, a) led to (s′, r)       -> :meth:`DynaQ.observe`
  3. planning: k backups on (ŝ, â) drawn uniformly from the pairs seen, with (r̂, ŝ′)
     from the model                                            -> :meth:`DynaQ.plan`

The model is the deterministic table (the last outcome of each pair, §8.2) or transition
counts (P̂(s′|s, a) and mean rewards, for stochastic worlds), planned with sample or
expected backups (§8.5). Planning may also draw its pairs otherwise than uniformly: all k
on the latest real pair, or along simulated on-policy trajectories (§8.6).

This class is a thin shell (:class:`~dynaq.agents.base.TabularAgent`): the arithmetic lives
in :mod:`dynaq.kernels`, the same compiled functions the whole-run runner uses, so for one
seed both give the same episodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dynaq.agents.base import TabularAgent, TabularConfig
from dynaq.checks import check_choice
from dynaq.errors import ConfigError
from dynaq.kernels import SAMPLINGS
from dynaq.models import MODELS, CountsModel, DeterministicModel

if TYPE_CHECKING:
    from dynaq.kernels import dyna_q as dq
    from dynaq.kernels.agent import AgentKernels

BACKUPS = ("sample", "expected")
"""Planning backups of the counts model (§8.5)."""


@dataclass(frozen=True)
class DynaQConfig(TabularConfig):
    """Hyperparameters of Dyna-Q; the defaults are those of Sutton & Barto Figure 8.2."""

    model: str = "deterministic"
    """What the agent learns of its world: ``deterministic`` (the last outcome of each
    (s, a), §8.2) or ``counts`` (P̂(s′|s, a) from counts and the mean reward of each
    (s, a, s′), for stochastic worlds)."""
    backup: str = "sample"
    """Planning backups of the counts model: ``sample`` (s′ drawn from P̂) or ``expected``
    (the sum over the learned outcomes, §8.5)."""
    sampling: str = "uniform"
    """Which pairs planning backs up: ``uniform`` over those seen (§8.2), ``latest`` (all k
    on the last real one) or ``trajectory`` (simulated on-policy trajectories from the
    real state, §8.6)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, allowed in (("model", MODELS), ("backup", BACKUPS),
                              ("sampling", SAMPLINGS)):
            check_choice(name, getattr(self, name), allowed)
        backups = MODELS[self.model].BACKUPS
        if self.backup not in backups:
            users = [name for name, m in MODELS.items() if self.backup in m.BACKUPS]
            raise ConfigError(f"backup {self.backup} needs model {' or '.join(users)}: the "
                              f"{self.model} model has only {', '.join(backups)}")


class DynaQ(TabularAgent):
    """Dyna-Q (§8.2) with the deterministic table model or transition counts.

    Args:
        n_states: Number of states of a Discrete observation space.
        n_actions: Number of actions of a Discrete action space.
        config: Hyperparameters.
        seed: Seeds the agent's own random stream (exploration, tie-breaking, planning).

    Example:
        >>> import gymnasium as gym, dynaq
        >>> env = gym.make("dynaq/DynaMaze-v0")
        >>> agent = dynaq.DynaQ.for_env(env, dynaq.DynaQConfig(planning_steps=50), seed=0)
        >>> s, _ = env.reset(seed=0)
        >>> a = agent.act(s)
        >>> s2, r, terminated, truncated, _ = env.step(a)
        >>> td = agent.observe(s, a, r, s2, terminated)
        >>> agent.plan()
        50
        >>> agent.model.predict(s, a) == (s2, r, terminated)
        True
    """

    name = "dyna-q"
    Config = DynaQConfig

    @classmethod
    def kernels(cls, config: DynaQConfig) -> AgentKernels:
        """The compiled functions that :mod:`dynaq.kernels.run` and the step API run."""
        from dynaq.kernels import dyna_q as dq

        fns = MODELS[config.model].DYNA_Q
        if config.sampling != "uniform" and fns.learn is dq.learn:
            # focused planning (§8.6) has a loop of its own; the uniform one stays the fastest
            return fns._replace(learn=dq.learn_sampled)
        return fns

    @classmethod
    def hyperparameters(cls, config: DynaQConfig) -> dq.DynaQParams:
        """``hp`` for :meth:`kernels`."""
        from dynaq.kernels import dyna_q as dq

        return dq.DynaQParams(float(config.alpha), float(config.gamma), float(config.epsilon),
                              int(config.planning_steps), SAMPLINGS.index(config.sampling),
                              config.backup == "expected")

    @property
    def model(self) -> DeterministicModel | CountsModel:
        """What the agent has learned of its world, to query (``predict``, ``len``, ``in``):
        a view of the model in its state."""
        return MODELS[self.config.model].of_state(self.state, self.Q.shape[1],
                                                  self.config.backup)


class QLearning(DynaQ):
    """One-step Q-learning (§6.5): Dyna-Q with no planning steps.

    Same kernels, same random stream: for one seed it equals ``DynaQ`` with k = 0 exactly.
    """

    name = "q-learning"

    @classmethod
    def check_config(cls, config: DynaQConfig) -> None:
        """Q-learning does not plan: ``planning_steps`` must be 0."""
        super().check_config(config)
        if config.planning_steps != 0:
            raise ConfigError(f"planning_steps must be 0 for q-learning, got "
                              f"{config.planning_steps}; use agent dyna-q to plan")
