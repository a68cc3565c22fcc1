"""What a Dyna agent learns about its world."""

from __future__ import annotations

from dynaq.models.base import Model
from dynaq.models.counts import CountsModel
from dynaq.models.deterministic import DeterministicModel

MODELS = {"deterministic": DeterministicModel, "counts": CountsModel}
"""Model names accepted by ``--model``. A model is a :class:`~dynaq.models.base.Model`
subclass (its ``name``, planning ``BACKUPS``, Dyna-Q's compiled functions with it,
``DYNA_Q``, and ``of_state``, its view inside an agent's state) over kernels whose planning
view, a named tuple, registers its backup with :func:`dynaq.kernels.dyna_q.register_backup`.
A new model is one such module and one line here."""

__all__ = ["MODELS", "CountsModel", "DeterministicModel", "Model"]
