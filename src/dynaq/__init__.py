"""dynaq: model-based reinforcement learning in the Dyna family (Sutton & Barto ch. 8).

Importing dynaq registers its Gymnasium ids: ``dynaq/DynaMaze-v0`` (and its scaled copies
``dynaq/DynaMaze-x2-v0`` … ``-x128-v0``), ``dynaq/SinglePath9x9-v0``,
``dynaq/BlockingMaze-v0``, ``dynaq/ShortcutMaze-v0`` and ``dynaq/SlipperyCliff-v0``: at
once if Gymnasium is imported already, else as soon as it is. The names below load on first
use, so that ``import dynaq`` (and the ``dynaq`` command's ``--help``) costs no numba,
Gymnasium, pandas, SciPy or matplotlib import; it never imports torch: the deep agents
(:mod:`dynaq.deep`) load it when used.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from dynaq.errors import ConfigError, StochasticWorldWarning

if TYPE_CHECKING:  # what _EXPORTS loads, for type checkers (a test keeps the two equal)
    from dynaq import envs
    from dynaq.agents import (
        AGENTS,
        DynaQ,
        DynaQConfig,
        DynaQPlus,
        DynaQPlusConfig,
        PrioritizedSweeping,
        PrioritizedSweepingConfig,
        QLearning,
        Replay,
        ReplayConfig,
    )
    from dynaq.analysis.stats import summarize
    from dynaq.envs import DOWN, LEFT, RIGHT, UP, GridWorld, TabularEnv
    from dynaq.experiments.config import Experiment, RunConfig
    from dynaq.experiments.driver import execute
    from dynaq.experiments.evaluate import evaluate_agent
    from dynaq.experiments.runner import run_cells
    from dynaq.experiments.store import load_results
    from dynaq.mdp import TabularMDP, greedy_policy
    from dynaq.metrics import GroundTruth
    from dynaq.models import MODELS, CountsModel, DeterministicModel
    from dynaq.saving import load_agent, save_agent

    __version__: str

_EXPORTS = {
    **dict.fromkeys(["AGENTS", "DynaQ", "DynaQConfig", "DynaQPlus", "DynaQPlusConfig",
                     "PrioritizedSweeping", "PrioritizedSweepingConfig", "QLearning", "Replay",
                     "ReplayConfig"], "dynaq.agents"),
    "summarize": "dynaq.analysis.stats",
    **dict.fromkeys(["DOWN", "LEFT", "RIGHT", "UP", "GridWorld", "TabularEnv"], "dynaq.envs"),
    **dict.fromkeys(["Experiment", "RunConfig"], "dynaq.experiments.config"),
    "execute": "dynaq.experiments.driver",
    "evaluate_agent": "dynaq.experiments.evaluate",
    "run_cells": "dynaq.experiments.runner",
    "load_results": "dynaq.experiments.store",
    **dict.fromkeys(["TabularMDP", "greedy_policy"], "dynaq.mdp"),
    "GroundTruth": "dynaq.metrics",
    **dict.fromkeys(["MODELS", "CountsModel", "DeterministicModel"], "dynaq.models"),
    **dict.fromkeys(["load_agent", "save_agent"], "dynaq.saving"),
}
"""The public names that load on first use: name → the module defining it."""

__all__ = ["AGENTS", "DOWN", "LEFT", "MODELS", "RIGHT", "UP", "ConfigError", "CountsModel",
           "DeterministicModel", "DynaQ", "DynaQConfig", "DynaQPlus", "DynaQPlusConfig",
           "Experiment", "GridWorld", "GroundTruth", "PrioritizedSweeping",
           "PrioritizedSweepingConfig", "QLearning", "Replay", "ReplayConfig", "RunConfig",
           "StochasticWorldWarning", "TabularEnv", "TabularMDP", "__version__", "envs",
           "evaluate_agent", "execute", "greedy_policy", "load_agent", "load_results",
           "run_cells", "save_agent", "summarize"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib import metadata

        try:
            value: Any = metadata.version("dynaq")
        except metadata.PackageNotFoundError:  # running from a source tree
            value = "0.0.0"
    elif name == "envs":
        value = importlib.import_module("dynaq.envs")
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module 'dynaq' has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value


def __dir__() -> Sequence[str]:
    return sorted({*globals(), *__all__})


class _AfterImport:
    """A finder (on ``sys.meta_path``) that runs ``then`` right after module ``name`` first
    executes, whoever imports it."""

    def __init__(self, name: str, then: Callable[[], object]) -> None:
        self.name, self.then = name, then

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        """The spec the other finders give ``name``, its loader running ``then`` after it."""
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        # a copy: one loader can serve several modules (a zip's), and only this one waits
        spec.loader = loader = copy.copy(spec.loader)
        execute = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            self.then()

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _after_import(name: str, then: Callable[[], object]) -> None:
    """``then()`` now if module ``name`` is imported already, else right after it is."""
    if name in sys.modules:
        then()
    else:
        sys.meta_path.insert(0, _AfterImport(name, then))


# numba must be patched (dynaq._cache stamps its cache) before any kernel is defined, and a
# kernel can only be defined once numba is imported.
_after_import("numba", lambda: importlib.import_module("dynaq._cache"))
# dynaq.envs registers the ids as it is imported: a Gymnasium import in the middle of
# importing it (as it starts) only finds it begun, and lets it finish.
_after_import("gymnasium", lambda: importlib.import_module("dynaq.envs"))
