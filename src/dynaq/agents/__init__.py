"""Tabular agents, one algorithm per file, on the protocol of :mod:`dynaq.agents.base`."""

from __future__ import annotations

from dynaq.agents.base import AgentKernels, TabularAgent, TabularConfig
from dynaq.agents.dyna_q import DynaQ, DynaQConfig, QLearning
from dynaq.agents.dyna_q_plus import DynaQPlus, DynaQPlusConfig
from dynaq.agents.loop import Episode, StepAgent, run_episode, run_episodes
from dynaq.agents.prioritized_sweeping import PrioritizedSweeping, PrioritizedSweepingConfig
from dynaq.agents.replay import Replay, ReplayConfig

AGENTS: dict[str, type[TabularAgent]] = {
    cls.name: cls for cls in (QLearning, DynaQ, DynaQPlus, PrioritizedSweeping, Replay)}
"""Agent names accepted by ``--agent``."""

__all__ = ["AGENTS", "AgentKernels", "DynaQ", "DynaQConfig", "DynaQPlus", "DynaQPlusConfig",
           "Episode", "PrioritizedSweeping", "PrioritizedSweepingConfig", "QLearning", "Replay",
           "ReplayConfig", "StepAgent", "TabularAgent", "TabularConfig", "run_episode",
           "run_episodes"]
