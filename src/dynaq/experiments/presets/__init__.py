"""Reproductions: one command per experiment of the course and of Sutton & Barto ch. 8.

Each preset is a :class:`LearningPreset` (an :class:`~dynaq.experiments.config.Experiment`
of learning runs) or a :class:`ComputedPreset` (a results table computed directly), with a
reporter that draws its plots and writes, beside our measurements, what the source claims.
Every module of this package that defines ``PRESET`` (or a list ``PRESETS``) is one (or
several); they are found when first asked for, so adding a reproduction touches no other
file. Helpers that several presets share live in :mod:`.common`.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from dynaq.errors import ConfigError
from dynaq.experiments.presets.base import ComputedPreset, LearningPreset, Preset

ORDER = ("fig8.2", "seed-table", "fig8.4", "fig8.5", "example8.4", "fig8.7", "fig8.8",
         "sampling", "slippery", "planning-hurts", "common-mistakes", "replay-vs-dyna",
         "deep-replay-vs-dyna", "deep-vs-tabular", "deep-small-buffer")
"""How ``dynaq reproduce --list`` orders the presets (others follow by name)."""


@functools.cache
def all_presets() -> dict[str, Preset]:
    """Every preset by name, in :data:`ORDER`."""
    found: dict[str, Preset] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in ("base", "common"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for preset in getattr(module, "PRESETS", [getattr(module, "PRESET", None)]):
            if preset is not None:
                found[preset.name] = preset
    rank = {name: i for i, name in enumerate(ORDER)}
    return dict(sorted(found.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def get_preset(name: str) -> Preset:
    """The preset called ``name``. Raises ConfigError listing the valid names."""
    presets = all_presets()
    if name not in presets:
        raise ConfigError(f"reproduction must be one of {', '.join(presets)}; got {name!r}")
    return presets[name]


__all__ = ["ORDER", "ComputedPreset", "LearningPreset", "Preset", "all_presets", "get_preset"]
