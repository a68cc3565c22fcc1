"""Small mutable structures of arrays (numba structrefs) that a compiled kernel can point at
bigger arrays as a model grows, since a compiled ``learn`` cannot hand new arrays back.

:func:`new_struct` makes one inside compiled code; run as plain Python
(``NUMBA_DISABLE_JIT=1``, for a debugger), it makes a plain namespace with the same fields.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from numba import config
from numba.experimental import structref

if config.DISABLE_JIT:
    def new_struct(struct_type: Any) -> Any:
        """A namespace standing for a new structure of ``struct_type``; its fields are set
        by the caller."""
        return SimpleNamespace()
else:
    new_struct = structref.new
