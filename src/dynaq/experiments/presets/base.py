"""What a reproduction is: an experiment builder and a reporter, under a name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dynaq.experiments.config import Experiment
from dynaq.experiments.driver import Reporter


@dataclass(frozen=True)
class Preset:
    """A named reproduction."""

    name: str
    description: str
    experiment: Callable[[int], Experiment]
    """Builds the experiment for a number of seeds."""
    default_seeds: int
    reporter: Reporter
