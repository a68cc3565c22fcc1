"""A user's own agents, imported by path (``user_agents:DynaQExtra``) in the tests: the
directory is put on ``sys.path`` first."""

from __future__ import annotations

from dataclasses import dataclass

from dynaq.agents import DynaQ, DynaQConfig


@dataclass(frozen=True)
class ExtraConfig(DynaQConfig):
    """Dyna-Q's config with a field of its own and one that shares a known name."""

    extra: int = 3
    """A setting no registered agent has."""
    kappa: float = 0.5
    """Named as Dyna-Q+'s bonus weight (the agent ignores it)."""


class DynaQExtra(DynaQ):
    """Dyna-Q under another name and config: the same kernels, so the same episodes."""

    name = "dyna-q-extra"
    Config = ExtraConfig


NOT_AN_AGENT = 42
