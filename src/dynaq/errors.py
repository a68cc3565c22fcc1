"""The one exception type users see for bad input."""

from __future__ import annotations


class ConfigError(ValueError):
    """Bad input: a map, a hyperparameter, an env id, a config file or a saved file.

    The message is one line that names the offending field and what is allowed, so the
    CLI can print it as it is and exit with status 2.
    """
