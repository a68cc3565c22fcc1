"""Tabular agents, one algorithm per file, on the protocol of :mod:`dynaq.agents.base`."""

from __future__ import annotations

from dynaq.agents.base import AgentKernels, TabularAgent, TabularConfig
from dynaq.agents.dyna_q import DynaQ, DynaQConfig, QLearning
from dynaq.agents.dyna_q_plus import DynaQPlus, DynaQPlusConfig
from dynaq.agents.loop import Episode, StepAgent, run_episode, run_episodes
from dynaq.agents.prioritized_sweeping import PrioritizedSweeping, PrioritizedSweepingConfig
from dynaq.agents.registry import AGENTS, resolve_agent
from dynaq.agents.replay import Replay, ReplayConfig

__all__ = ["AGENTS", "AgentKernels", "DynaQ", "DynaQConfig", "DynaQPlus", "DynaQPlusConfig",
           "Episode", "PrioritizedSweeping", "PrioritizedSweepingConfig", "QLearning", "Replay",
           "ReplayConfig", "StepAgent", "TabularAgent", "TabularConfig", "resolve_agent",
           "run_episode", "run_episodes"]
