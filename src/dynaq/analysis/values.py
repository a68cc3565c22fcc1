"""Value functions of gridworlds drawn on their map: max_a Q(s, a) as a heatmap with the
greedy actions as arrows (every action that ties for the maximum; none where all do)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaq.analysis.plots import figures, save_figure
from dynaq.envs import maps
from dynaq.envs.gridworld import GridWorld
from dynaq.errors import ConfigError
from dynaq.records import RECORD_NAMES

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
             colorbar: bool = False, power: float = 1.0,
             vmin: float | None = None) -> ValueView:
        """Draw ``Q`` (``(n_states, 4)``) on ``ax`` over the map of ``world``; colours scale
        as (value − ``vmin``) ** ``power`` (below 1 makes small values visible) from
        ``vmin`` (default: 0, or the lowest value where values are negative, as in a
        world with a step cost) to ``vmax`` (default: the highest)."""
        import matplotlib

        if Q.shape != (len(world.cells), len(maps.MOVES)):
            raise ConfigError(f"Q must have shape ({len(world.cells)}, {len(maps.MOVES)}) for "
                              f"this map, got {Q.shape}")
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.2")
        low = vmin if vmin is not None else min(0.0, float(Q.max(axis=1).min()))
        top = vmax if vmax is not None else max(float(Q.max()), low + 1e-9)
        image = ax.imshow(np.full(world.grid.shape, np.nan), cmap=cmap,
                          norm=matplotlib.colors.PowerNorm(power, vmin=low, vmax=top))
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


_DETERMINISTIC = ("steps", "return", "env_steps", "backups", "value_error", "policy_value",
                  "truncated", "model_error", "reward_error", "model_coverage")
"""The stored columns a rerun of a cell must reproduce exactly (all but the wall time)."""


def stored_run(out: str | Path, config: int = 0) -> Any:
    """Run config number ``config`` (from 0, as ``dynaq ls`` lists them) of a results
    directory, as a :class:`~dynaq.experiments.config.RunConfig`.

    Raises:
        ConfigError: If the directory holds no results or no such config.
    """
    from dynaq.experiments.config import RunConfig
    from dynaq.experiments.store import stored_experiment

    experiment = stored_experiment(out)
    if experiment is None:
        raise ConfigError(f"dir: {out} records no experiment to rerun a cell of")
    runs = experiment["runs"]
    if not 0 <= config < len(runs):
        raise ConfigError(f"config must be in [0, {len(runs) - 1}] (the run configs dynaq ls "
                          f"lists), got {config}")
    return RunConfig(**runs[config])


def stored_run_q(out: str | Path, config: int = 0, seed: int = 0) -> tuple[Any, np.ndarray]:
    """The final Q of one stored cell of a results directory, and its run config.

    The store keeps records, not Q tables, so the cell is run again: a cell is a
    deterministic function of its config and seed, and the rerun's records are checked
    against the stored ones, so the Q returned is the stored run's.

    Args:
        out: A results directory.
        config: The run config's number, as ``dynaq ls`` lists them (from 0).
        seed: The seed.

    Returns:
        ``(run, Q)``.

    Raises:
        ConfigError: If the directory holds no such config or stored seed, or the rerun
            does not reproduce the stored records.
    """
    from dynaq.experiments.runner import run_cells
    from dynaq.experiments.store import load_results

    run = stored_run(out, config)
    stored = _stored_records(load_results(out), run, seed)
    if stored.empty:
        raise ConfigError(f"seed: {out} holds no episodes of seed {seed} for config {config} "
                          f"({run.label()})")
    (cell,) = run_cells(run, [seed])
    again = pd.DataFrame(cell.records, columns=RECORD_NAMES)[list(_DETERMINISTIC)]
    if not again.astype(float).equals(stored[list(_DETERMINISTIC)].astype(float)
                                      .reset_index(drop=True)):
        raise ConfigError(f"config {config} seed {seed}: running it again does not reproduce "
                          "the stored episodes (were they stored by another dynaq version?)")
    return run, cell.Q


def _stored_records(df: pd.DataFrame, run: Any, seed: int) -> pd.DataFrame:
    """The stored episodes of ``run`` and ``seed``, in order (matched on the run's scalar
    config values)."""
    match = df["seed"] == seed
    for column, value in run.row().items():
        if column in df and not isinstance(value, list | tuple | dict):
            match &= df[column].isna() if value is None else df[column] == value
    return df[match].sort_values("episode")


def world_of(env_id: str, env_kwargs: dict | None = None) -> GridWorld:
    """The :class:`GridWorld` behind a dynaq gridworld env.

    Raises:
        ConfigError: If the env is not one.
    """
    from dynaq.envs.make import make_env

    env = make_env(env_id, env_kwargs)
    world = getattr(env.unwrapped, "world", None)
    env.close()
    if not isinstance(world, GridWorld):
        raise ConfigError(f"env must be a dynaq gridworld (dynaq/DynaMaze-v0, "
                          f"dynaq/GridWorld-v0, ...) to draw its values on a map; got {env_id!r}")
    return world


def plot_stored_run(out: str | Path, path: str | Path | None = None, config: int = 0,
                    seed: int = 0) -> Path:
    """:func:`plot_value_heatmap` of the final Q of a stored cell (see :func:`stored_run_q`).

    Args:
        out: A results directory of a gridworld run.
        path: Where to write the PNG (default: ``OUT/values_config<N>_seed<S>.png``).
        config: The run config's number, as ``dynaq ls`` lists them.
        seed: The seed.

    Returns:
        The path written.

    Raises:
        ConfigError: If the run's env is not a dynaq gridworld, or as
            :func:`stored_run_q`.
    """
    run = stored_run(out, config)
    world = world_of(run.env, run.env_kwargs or None)  # before the rerun, which may be long
    _, Q = stored_run_q(out, config, seed)
    path = Path(out) / f"values_config{config}_seed{seed}.png" if path is None else path
    return plot_value_heatmap(Q, world, path,
                              title=f"{run.env} {run.label()}, seed {seed}: max_a Q(s, a)")
