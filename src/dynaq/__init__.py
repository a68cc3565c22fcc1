"""dynaq: model-based reinforcement learning in the Dyna family (Sutton & Barto ch. 8).

Importing dynaq registers its Gymnasium ids (``dynaq/DynaMaze-v0``,
``dynaq/SinglePath9x9-v0``).
"""

from __future__ import annotations

from importlib import metadata

from dynaq import envs
from dynaq.agents import AGENTS, DynaQ, DynaQConfig, QLearning
from dynaq.analysis.stats import summarize
from dynaq.envs import DOWN, LEFT, RIGHT, UP, GridWorld, TabularEnv
from dynaq.errors import ConfigError
from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.driver import execute
from dynaq.experiments.runner import run_cells
from dynaq.experiments.store import load_results
from dynaq.mdp import TabularMDP, greedy_policy
from dynaq.metrics import GroundTruth
from dynaq.models import MODELS, DeterministicModel

try:
    __version__ = metadata.version("dynaq")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

__all__ = ["AGENTS", "DOWN", "LEFT", "MODELS", "RIGHT", "UP", "ConfigError",
           "DeterministicModel", "DynaQ", "DynaQConfig", "Experiment", "GridWorld",
           "GroundTruth", "QLearning", "RunConfig", "TabularEnv", "TabularMDP", "__version__",
           "envs", "execute", "greedy_policy", "load_results", "run_cells", "summarize"]
