"""What a reproduction is: a named way to produce results, and a reporter that explains them.

Two kinds, one call: a :class:`LearningPreset` runs learning runs (an
:class:`~dynaq.experiments.config.Experiment`) through the driver; a
:class:`ComputedPreset` computes one results table directly (Figures 8.7 and 8.8 are not
sets of learning runs). ``dynaq reproduce`` calls :meth:`Preset.reproduce` on either.

The driver (pandas, the runner and its kernels) is imported only to reproduce: this
module is imported by every preset, and by ``dynaq reproduce --list``, which reads none of
that.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from dynaq.experiments.config import Experiment
    from dynaq.experiments.driver import Options
    from dynaq.experiments.outputs import Reporter


@dataclass(frozen=True)
class Preset(ABC):
    """A named reproduction."""

    name: str
    description: str
    default_seeds: int
    reporter: Reporter
    """Draws the plots and returns the notes of ``summary.md``."""

    @abstractmethod
    def reproduce(self, seeds: int, out: Path, options: Options) -> None:
        """Produce the results for ``seeds`` seeds and write them, the plots and
        ``summary.md`` into ``out``."""


@dataclass(frozen=True)
class LearningPreset(Preset):
    """A reproduction made of learning runs."""

    experiment: Callable[[int], Experiment]
    """Builds the experiment for a number of seeds."""
    backend: str = "serial"
    """The backend used unless the command names one: ``process`` for runs that do not
    share a compiled call (the deep agents), so that both cores work."""

    def reproduce(self, seeds: int, out: Path, options: Options) -> None:
        """Run (or resume) the experiment in ``out`` through the driver."""
        from dynaq.experiments.driver import execute

        if options.backend == "serial" and self.backend != "serial":
            options = replace(options, backend=self.backend)
        execute(self.experiment(seeds), out, reporter=self.reporter, options=options)


@dataclass(frozen=True)
class ComputedPreset(Preset):
    """A reproduction that computes its results table instead of running learners."""

    compute: Callable[[int, bool], pd.DataFrame]
    """``compute(seeds, quiet)``: the results table, which is written as ``results.csv``
    and handed to the reporter as both frames."""

    def reproduce(self, seeds: int, out: Path, options: Options) -> None:
        """Compute the table and write it with the reporter's outputs."""
        from dynaq.experiments.outputs import execute_table

        execute_table(self.name, self.compute(seeds, options.quiet), out, self.reporter)
