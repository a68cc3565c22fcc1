"""What a reproduction is: an experiment builder and a reporter, under a name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from dynaq.experiments.config import Experiment
from dynaq.experiments.driver import Reporter


@dataclass(frozen=True)
class Preset:
    """A named reproduction."""

    name: str
    description: str
    experiment: Callable[[int], Experiment] | None
    """Builds the experiment (learning runs) for a number of seeds."""
    default_seeds: int
    reporter: Reporter
    """Draws the plots and returns the notes of ``summary.md``."""
    compute: Callable[[int, bool], pd.DataFrame] | None = None
    """Instead of ``experiment``, for a reproduction that is not a set of learning runs
    (Figures 8.7 and 8.8): ``compute(seeds, quiet)`` returns its results table, which the
    driver writes as ``results.csv`` and hands to ``reporter`` as both frames."""

    backend: str = "serial"
    """The backend used unless the command names one: ``process`` for runs that do not
    share a compiled call (the deep agents), so that both cores work."""

    def __post_init__(self) -> None:
        if (self.experiment is None) == (self.compute is None):
            raise ValueError(f"preset {self.name}: give exactly one of experiment, compute")
