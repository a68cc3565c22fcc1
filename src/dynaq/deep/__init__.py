"""Dyna-style deep RL with PyTorch (the ``deep`` extra): DQN, neural one-step models, Dyna-DQN.

The course's "relation to experience replay": DQN's replay buffer is Dyna with the buffer as
the model (sample a seen transition, back it up again); Dyna-DQN adds a learned one-step
model whose imagined transitions go into a second buffer (Sutton & Barto §8.2; Mnih et al.
2015): a regression ensemble (:mod:`.model`, fitted MBPO's way), a softmax over next states
for one-hot worlds (:mod:`.categorical`), or the env's true dynamics as a perfect-model
control (:mod:`.simulator`). Several seeds train in lockstep as one batched network, each
bitwise as alone (:mod:`.nets`, :func:`run_deep_seeds`).

Importing this package does not import torch: its names load on first use, and those that
need torch raise :class:`~dynaq.errors.ConfigError` with the install line when it is
missing. :mod:`dynaq.deep.config` never needs torch, so configs validate without it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from dynaq.errors import ConfigError

_EXPORTS = {
    "DeepConfig": "dynaq.deep.config",
    "RUN_CONFIG_FIELDS": "dynaq.deep.config",
    "DEEP_AGENT_NAMES": "dynaq.deep.config",
    "check_agent": "dynaq.deep.config",
    "ReplayBuffer": "dynaq.deep.buffer",
    "Batch": "dynaq.deep.buffer",
    "DQN": "dynaq.deep.dqn",
    "OneStepModel": "dynaq.deep.model",
    "CategoricalModel": "dynaq.deep.categorical",
    "DynaDQN": "dynaq.deep.dyna_dqn",
    "DEEP_AGENTS": "dynaq.deep.run",
    "DeepRun": "dynaq.deep.run",
    "run_deep": "dynaq.deep.run",
    "run_deep_seeds": "dynaq.deep.run",
    "make_deep_env": "dynaq.deep.run",
    "deep_view": "dynaq.deep.run",
}
_TORCH_FREE = {"dynaq.deep.config"}

__all__ = [*_EXPORTS, "require_torch"]


def require_torch(user: str = "the dqn agent") -> ModuleType:
    """Import torch, or raise one ConfigError line saying how to install it.

    Args:
        user: Who needs torch, for the message (e.g. ``"the dyna-dqn agent"``).

    Returns:
        The ``torch`` module.

    Raises:
        ConfigError: When torch is not installed.
    """
    try:
        import torch
    except ImportError:
        raise ConfigError(f"{user} needs the deep extra: pip install 'dynaq[deep]'") from None
    return torch


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dynaq.deep' has no attribute {name!r}")
    if module not in _TORCH_FREE:
        require_torch(f"dynaq.deep.{name}")
    return getattr(importlib.import_module(module), name)
