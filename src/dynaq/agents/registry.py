"""Agent names → agent classes: the registered tabular agents and any other by import path.

``--agent``, ``RunConfig.agent`` and the sweep files' ``agent`` take a name of
:data:`dynaq.agents.AGENTS` or ``package.module:Class``, a :class:`~dynaq.agents.base.TabularAgent`
subclass that Python can import (``Class`` may be dotted: ``module:Outer.Inner``). The deep
agents' names (``dqn``, ``dyna-dqn``) are not resolved here: they are not tabular agents.
"""

from __future__ import annotations

import importlib

from dynaq.agents.base import TabularAgent
from dynaq.agents.dyna_q import DynaQ, QLearning
from dynaq.agents.dyna_q_plus import DynaQPlus
from dynaq.agents.prioritized_sweeping import PrioritizedSweeping
from dynaq.agents.replay import Replay
from dynaq.deep.config import DEEP_AGENT_NAMES
from dynaq.errors import ConfigError

AGENTS: dict[str, type[TabularAgent]] = {
    cls.name: cls for cls in (QLearning, DynaQ, DynaQPlus, PrioritizedSweeping, Replay)}
"""Agent names accepted by ``--agent``: a new tabular agent is one more class here."""


def resolve_agent(name: str) -> type[TabularAgent]:
    """The tabular agent class that ``name`` names.

    Args:
        name: A key of :data:`dynaq.agents.AGENTS`, or an import path ``module:Class``.

    Returns:
        The agent class (a :class:`~dynaq.agents.base.TabularAgent` subclass).

    Raises:
        ConfigError: For an unknown name, a module that cannot be imported, a missing
            attribute, or an attribute that is not a TabularAgent subclass.
    """
    if isinstance(name, str) and name in AGENTS:
        return AGENTS[name]
    module_name, _, attr = name.partition(":") if isinstance(name, str) else ("", "", "")
    if not module_name or not attr:
        raise ConfigError(f"agent must be one of {', '.join((*AGENTS, *DEEP_AGENT_NAMES))}, "
                          f"or an import path package.module:Class; got {name!r}")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(f"agent {name}: cannot import module {module_name} ({err})"
                          ) from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"agent {name}: {obj.__name__} has no attribute {part!r}")
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, TabularAgent)):
        raise ConfigError(f"agent {name}: {attr} is not a subclass of "
                          "dynaq.agents.base.TabularAgent")
    return obj
