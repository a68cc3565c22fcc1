"""What a Dyna agent learns about its world."""

from __future__ import annotations

from dynaq.models.counts import CountsModel
from dynaq.models.deterministic import DeterministicModel

MODELS = {"deterministic": DeterministicModel, "counts": CountsModel}
"""Model names accepted by ``--model``. A model is a class with a ``name``, its planning
``BACKUPS``, Dyna-Q's compiled functions with it (``DYNA_Q``, an
:class:`~dynaq.agents.AgentKernels`) and ``of_state``, the view of it inside an agent's
state; its planning view (a named tuple) registers its backup with
:func:`dynaq.kernels.dyna_q.register_backup`. A new model is one such module and one line
here."""

__all__ = ["MODELS", "CountsModel", "DeterministicModel"]
