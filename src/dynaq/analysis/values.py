"""Value functions of gridworlds drawn on their map: max_a Q(s, a) as a heatmap with the
greedy actions as arrows (every action that ties for the maximum; none where all do)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dynaq.analysis.plots import figures, save_figure
from dynaq.envs import maps
from dynaq.envs.gridworld import GridWorld
from dynaq.errors import ConfigError

_ARROW = 0.38
"""Arrow length in cells, from the cell centre."""


def as_world(world: GridWorld | Sequence[str] | str) -> GridWorld:
    """A :class:`GridWorld` from itself or from its ASCII map."""
    return world if isinstance(world, GridWorld) else GridWorld(world)


def _greedy_arrows(Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arrow components per (state, action): the move of each greedy action, zero for the
    others and for states whose actions all tie (nothing learned, or terminal)."""
    best = np.isclose(Q, Q.max(axis=1, keepdims=True)) & ~np.all(
        np.isclose(Q, Q[:, :1]), axis=1, keepdims=True)
    moves = np.array(maps.MOVES, dtype=float) * _ARROW  # (action, (row change, col change))
    return best * moves[:, 1], best * moves[:, 0]


@dataclass
class ValueView:
    """A gridworld's value function drawn on one axes, redrawn with :meth:`update`."""

    world: GridWorld
    image: Any
    arrows: Any

    @classmethod
    def draw(cls, ax: Any, world: GridWorld, Q: np.ndarray, vmax: float | None = None,
             colorbar: bool = False, power: float = 1.0) -> ValueView:
        """Draw ``Q`` (``(n_states, 4)``) on ``ax`` over the map of ``world``; colours scale
        as value ** ``power`` (below 1 makes small values visible)."""
        import matplotlib

        if Q.shape != (len(world.cells), len(maps.MOVES)):
            raise ConfigError(f"Q must have shape ({len(world.cells)}, {len(maps.MOVES)}) for "
                              f"this map, got {Q.shape}")
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.2")
        top = vmax if vmax is not None else max(float(Q.max()), 1e-9)
        image = ax.imshow(np.full(world.grid.shape, np.nan), cmap=cmap,
                          norm=matplotlib.colors.PowerNorm(power, vmin=0.0, vmax=top))
        rows, cols = np.repeat(world.cells, len(maps.MOVES), axis=0).T
        arrows = ax.quiver(cols, rows, np.zeros(rows.size), np.zeros(rows.size),
                           angles="xy", scale_units="xy", scale=1, pivot="tail", width=0.006,
                           color="white", minlength=0)
        for ch in (maps.START, maps.GOAL):
            for r, c in np.argwhere(world.grid == ch):
                ax.text(c - 0.45, r - 0.45, ch, ha="left", va="top", color="red",
                        weight="bold", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        if colorbar:
            ax.figure.colorbar(image, ax=ax, fraction=0.046, label="max_a Q(s, a)")
        view = cls(world, image, arrows)
        view.update(Q)
        return view

    def update(self, Q: np.ndarray) -> None:
        """Show ``Q`` instead."""
        values = np.full(self.world.grid.shape, np.nan)
        values[tuple(self.world.cells.T)] = Q.max(axis=1)
        self.image.set_data(np.ma.masked_invalid(values))
        u, v = _greedy_arrows(Q)
        self.arrows.set_UVC(u.ravel(), v.ravel())


def plot_value_heatmap(Q: np.ndarray, world: GridWorld | Sequence[str] | str,
                       path: str | Path, title: str | None = None) -> Path:
    """max_a Q(s, a) on the map of a gridworld, with arrows for the greedy actions.

    Args:
        Q: ``(n_states, 4)`` action values, states numbered as in
            :class:`~dynaq.envs.gridworld.GridWorld` (non-wall cells, row by row), actions
            up, down, left, right.
        world: The gridworld, or its ASCII map (walls drawn dark grey).
        path: Where to write the PNG (atomically).
        title: Figure title.

    Returns:
        The path written.
    """
    world = as_world(world)
    height, width = world.grid.shape
    fig, ax = figures.subplots(figsize=(0.55 * width + 1.6, 0.55 * height + 0.8))
    ValueView.draw(ax, world, np.asarray(Q, dtype=float), colorbar=True)
    ax.set_title(title or "max_a Q(s, a) and greedy actions")
    fig.tight_layout()
    return save_figure(fig, path)
