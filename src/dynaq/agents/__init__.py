"""Tabular agents, one algorithm per file."""

from __future__ import annotations

from dynaq.agents.dyna_q import DynaQ, DynaQConfig, QLearning
from dynaq.agents.dyna_q_plus import DynaQPlus, DynaQPlusConfig
from dynaq.agents.prioritized_sweeping import PrioritizedSweeping, PrioritizedSweepingConfig
from dynaq.agents.replay import Replay, ReplayConfig

AGENTS: dict[str, type[DynaQ]] = {"q-learning": QLearning, "dyna-q": DynaQ,
                                   "dyna-q+": DynaQPlus,
                                   "prioritized-sweeping": PrioritizedSweeping,
                                   "replay": Replay}
"""Agent names accepted by ``--agent``."""

__all__ = ["AGENTS", "DynaQ", "DynaQConfig", "DynaQPlus", "DynaQPlusConfig",
           "PrioritizedSweeping", "PrioritizedSweepingConfig", "QLearning", "Replay",
           "ReplayConfig"]
