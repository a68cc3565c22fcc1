"""Agent names → agent classes: the registered tabular agents and any other by import path.

``--agent``, ``RunConfig.agent`` and the sweep files' ``agent`` take a name of
:data:`dynaq.agents.AGENTS` or ``package.module:Class``, a :class:`~dynaq.agents.base.TabularAgent`
subclass that Python can import (``Class`` may be dotted: ``module:Outer.Inner``). The deep
agents' names (``dqn``, ``dyna-dqn``) are not resolved here: they are not tabular agents.
"""

from __future__ import annotations

import difflib
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

PLANNING_DEFAULTS: dict[str, int] = {"dyna-q": 50, "dyna-q+": 50, "prioritized-sweeping": 50,
                                     "replay": 50, "dyna-dqn": 1}
"""The k that ``dynaq run`` and sweep files give a planning agent when none is given.

The agents' configs keep ``planning_steps = 0`` (so ``DynaQConfig()`` is Q-learning, and
every stored run keeps its key), but a command that asks for a planning agent without a k
would otherwise run Q-learning: the course's common mistake "k = 0 and expecting Dyna
gains". 50 is the k of the course's Dyna-Q sketch; Dyna-DQN's 1 doubles its gradient steps
per real step (U(1 + k))."""


def default_planning_steps(agent: str) -> int:
    """The planning steps k a run of ``agent`` gets when it gives none.

    Args:
        agent: An agent name or import path (see :func:`resolve_agent`).

    Returns:
        :data:`PLANNING_DEFAULTS`' value for a planning agent, else the agent config's own
        default (0 for ``q-learning`` and ``dqn``, which never plan).
    """
    if agent in PLANNING_DEFAULTS:
        return PLANNING_DEFAULTS[agent]
    if agent in DEEP_AGENT_NAMES:
        return 0
    return int(getattr(resolve_agent(agent).Config(), "planning_steps", 0))


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
        names = (*AGENTS, *DEEP_AGENT_NAMES)
        # "DynaQ", "dyna_q_plus": spellings of the names, matched once made alike
        typed = str(name).lower().replace("_", "-").replace("-plus", "+")
        close = difflib.get_close_matches(typed, names, n=1)
        raise ConfigError(f"agent must be one of {', '.join(names)}, or an import path "
                          f"package.module:Class; got {name!r}"
                          + (f"; did you mean {close[0]}?" if close else ""))
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
