"""dynaq: model-based reinforcement learning in the Dyna family (Sutton & Barto ch. 8).

Importing dynaq registers its Gymnasium ids: ``dynaq/DynaMaze-v0`` (and its scaled copies
``dynaq/DynaMaze-x2-v0`` … ``-x128-v0``), ``dynaq/SinglePath9x9-v0``,
``dynaq/BlockingMaze-v0``, ``dynaq/ShortcutMaze-v0`` and ``dynaq/SlipperyCliff-v0``. It never
imports torch: the deep agents (:mod:`dynaq.deep`) load it when used.
"""

from __future__ import annotations

from importlib import metadata

from dynaq import (
    _cache,  # noqa: F401  (first: it stamps numba's cache for every kernel)
    envs,
)
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
from dynaq.errors import ConfigError, StochasticWorldWarning
from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.driver import execute
from dynaq.experiments.evaluate import evaluate_agent
from dynaq.experiments.runner import run_cells
from dynaq.experiments.store import load_results
from dynaq.mdp import TabularMDP, greedy_policy
from dynaq.metrics import GroundTruth
from dynaq.models import MODELS, CountsModel, DeterministicModel
from dynaq.saving import load_agent, save_agent

try:
    __version__ = metadata.version("dynaq")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

__all__ = ["AGENTS", "DOWN", "LEFT", "MODELS", "RIGHT", "UP", "ConfigError", "CountsModel",
           "DeterministicModel", "DynaQ", "DynaQConfig", "DynaQPlus", "DynaQPlusConfig",
           "Experiment", "GridWorld", "GroundTruth", "PrioritizedSweeping",
           "PrioritizedSweepingConfig", "QLearning", "Replay", "ReplayConfig", "RunConfig",
           "StochasticWorldWarning", "TabularEnv", "TabularMDP", "__version__", "envs",
           "evaluate_agent", "execute", "greedy_policy", "load_agent", "load_results",
           "run_cells", "save_agent", "summarize"]
