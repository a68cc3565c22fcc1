"""Tabular agents, one algorithm per file, on the protocol of :mod:`dynaq.agents.base`.

Importing the package imports no numba: each agent imports its compiled kernels where it
builds them, and :class:`AgentKernels` (whose module does) loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dynaq.agents import base
from dynaq.agents.base import TabularAgent, TabularConfig
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

if TYPE_CHECKING:
    from dynaq.kernels.agent import AgentKernels


def __getattr__(name: str) -> Any:
    if name == "AgentKernels":  # loaded by dynaq.agents.base on first use
        return base.AgentKernels
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
