"""The one exception type users see for bad input."""

from __future__ import annotations


class ConfigError(ValueError):
    """Bad input: a map, a hyperparameter, an env id, a config file or a saved file.

    The message is one line that names the offending field and what is allowed, so the
    CLI can print it as it is and exit with status 2.
    """


class StochasticWorldWarning(UserWarning):
    """A model that keeps one outcome per (s, a), the last seen (Sutton & Barto §8.2's
    table model), plans in a world whose outcomes are random: it plans as if the last
    outcome were certain, so its planning is biased (the ``slippery`` reproduction
    measures by how much). Learn a distribution instead (``model="counts"``)."""
