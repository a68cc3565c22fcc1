"""Tabular agents, one algorithm per file."""

from __future__ import annotations

from dynaq.agents.dyna_q import DynaQ, DynaQConfig, QLearning

AGENTS: dict[str, type[DynaQ]] = {"q-learning": QLearning, "dyna-q": DynaQ}
"""Agent names accepted by ``--agent``."""

__all__ = ["AGENTS", "DynaQ", "DynaQConfig", "QLearning"]
