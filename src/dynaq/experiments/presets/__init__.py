"""Reproductions: one command per experiment of the course and of Sutton & Barto ch. 8.

Each preset is a :class:`LearningPreset` (an :class:`~dynaq.experiments.config.Experiment`
of learning runs) or a :class:`ComputedPreset` (a results table computed directly), with a
reporter that draws its plots and writes, beside our measurements, what the source claims.
Every module of this package that defines ``PRESET`` (or a list ``PRESETS``) is one (or
several), listed in :data:`LISTED` with its one-line description: ``dynaq reproduce
--list`` reads that and imports no preset (they import pandas, the runner's kernels and
the plotting), and :func:`get_preset` imports only the module of the preset asked for.
Adding a reproduction is its module and one line there. Helpers that several presets
share live in :mod:`.common`.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from types import ModuleType

from dynaq.errors import ConfigError
from dynaq.experiments.presets.base import ComputedPreset, LearningPreset, Preset

LISTED: dict[str, tuple[str, str]] = {
    "fig8.2": ("fig8_2", "Sutton & Barto Figure 8.2: Dyna maze, k ∈ {0, 5, 50}, 50 episodes"),
    "seed-table": ("seed_table", "the course's worked example: 9×9 single-path maze, "
                   "k ∈ {0, 5, 50, 200}, until near-optimal"),
    "fig8.4": ("fig8_4", "Sutton & Barto Figure 8.4: blocking maze, Dyna-Q vs Dyna-Q+ (and the "
               "action bonus), cumulative reward over 3000 steps"),
    "fig8.5": ("fig8_5", "Sutton & Barto Figure 8.5: shortcut maze, Dyna-Q vs Dyna-Q+ (and the "
               "action bonus), cumulative reward over 6000 steps"),
    "example8.4": ("example8_4", "Sutton & Barto Example 8.4: prioritized sweeping vs Dyna-Q, "
                   "updates until the path is found, Dyna maze at 47 … 6016 states"),
    "fig8.7": ("fig8_7", "Sutton & Barto Figure 8.7: expected vs sample updates, RMS error vs "
               "max_a′ Q computations, b ∈ {2, 10, 100, 1000, 10000}"),
    "fig8.8": ("fig8_8", "Sutton & Barto Figure 8.8: trajectory sampling vs uniform expected "
               "updates, 1000 states (b = 1, 3, 10) and 10000 states (b = 1)"),
    "sampling": ("sampling", "the course's checkpoint: plan from uniform, latest, on-policy "
                 "trajectories or prioritized (ŝ, â), k = 10, Dyna maze and 9×9 single path"),
    "slippery": ("slippery", "deterministic vs counts model (sample, expected), k ∈ {0, 5, 50}, "
                 "on the slippery cliff and FrozenLake-v1"),
    "planning-hurts": ("planning_hurts", "the course's 'When Dyna-Q fails': a stale model "
                       "(blocking, shortcut maze) and a deterministic model in a slippery "
                       "world, k ∈ {0, 5, 50}"),
    "common-mistakes": ("common_mistakes", "the course's common-mistakes table: each mistake "
                        "made on purpose and measured, beside dynaq's default"),
    "replay-vs-dyna": ("replay_vs_dyna", "tabular replay vs Dyna-Q: the same on a "
                       "deterministic maze, different in stochastic worlds"),
    "deep-replay-vs-dyna": ("deep_replay_vs_dyna", "DQN replay vs Dyna-DQN (learned, "
                            "known-termination, true-simulator and ensemble-rollout models) at "
                            "matched gradient steps, CartPole-v1 and Acrobot-v1"),
    "deep-vs-tabular": ("deep_vs_tabular", "DQN and Dyna-DQN (categorical and regression "
                        "models) beside Q-learning, Dyna-Q and tabular replay at equal backups, "
                        "against the exact MDP: Dyna maze, FrozenLake with and without "
                        "slipping"),
    "deep-small-buffer": ("deep_small_buffer", "Where a model should beat replay: DQN and "
                          "Dyna-DQN with a replay buffer of 1,000 against 50,000, CartPole-v1"),
}
"""Every preset, in the order ``dynaq reproduce --list`` shows them: name → (the module of
this package defining it, its one-line description, which the preset takes from here)."""

ORDER = tuple(LISTED)
"""How ``dynaq reproduce --list`` orders the presets (others follow by name)."""


def description(name: str) -> str:
    """The one-line description of the listed preset ``name`` (what its module gives it)."""
    return LISTED[name][1]


def descriptions() -> dict[str, str]:
    """Every listed preset's one-line description by name, in :data:`ORDER`, without
    importing any preset."""
    return {name: text for name, (_, text) in LISTED.items()}


def _presets_of(module: ModuleType) -> list[Preset]:
    """The presets that a module of this package defines (none for a helper module)."""
    return [p for p in getattr(module, "PRESETS", [getattr(module, "PRESET", None)])
            if p is not None]


@functools.cache
def all_presets() -> dict[str, Preset]:
    """Every preset by name, in :data:`ORDER` (imports every module of this package)."""
    found: dict[str, Preset] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in ("base", "common"):
            continue
        for preset in _presets_of(importlib.import_module(f"{__name__}.{info.name}")):
            found[preset.name] = preset
    rank = {name: i for i, name in enumerate(ORDER)}
    return dict(sorted(found.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def get_preset(name: str) -> Preset:
    """The preset called ``name``, importing only its module when it is listed. Raises
    ConfigError listing the valid names."""
    if name in LISTED:
        module = importlib.import_module(f"{__name__}.{LISTED[name][0]}")
        for preset in _presets_of(module):
            if preset.name == name:
                return preset
    presets = all_presets()
    if name not in presets:
        raise ConfigError(f"reproduction must be one of {', '.join(presets)}; got {name!r}")
    return presets[name]


__all__ = ["LISTED", "ORDER", "ComputedPreset", "LearningPreset", "Preset", "all_presets",
           "description", "descriptions", "get_preset"]
