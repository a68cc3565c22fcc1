"""What a Dyna agent learns about its world."""

from __future__ import annotations

from dynaq.models.counts import CountsModel
from dynaq.models.deterministic import DeterministicModel

MODELS = {"deterministic": DeterministicModel, "counts": CountsModel}
"""Model names accepted by ``--model``."""

__all__ = ["MODELS", "CountsModel", "DeterministicModel"]
