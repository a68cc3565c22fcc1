"""Upper bounds of the counts a user gives, and the memory check of a run before it starts.

Every count is bounded so that it, and the products the runner forms from it, fit the
integer types they meet: kernels count steps and backups in int64, results store them in
float64 (exact up to 2**53). Backups are the largest:
``steps × (k + 1) <= MAX_STEPS × (MAX_PLANNING_STEPS + 1) ≈ 10**15 < 2**53``. The bounds
leave room for real use (a ten-thousand-seed sweep, k in the hundreds of thousands, runs
of a billion steps); what they do not stop is a run whose memory cannot fit, which
:func:`check_memory` refuses before anything is written, with its estimate and the limit.

=====================  ==========  =============================================
count                  bound       where
=====================  ==========  =============================================
seeds                  10**5       ``Experiment.seeds``, ``--seeds``
planning steps k       10**6       every agent's ``planning_steps``
episodes               10**9       ``RunConfig.episodes``, ``evaluate --episodes``
steps                  10**9       ``total_steps``, ``max_episode_steps``
buffer sizes           10**9       ``buffer_size`` (tabular replay and deep agents)
layer widths           65 536      a deep agent's ``hidden``, ``model_hidden``
other deep counts      10**9       batch sizes, periods, ensemble members, …
run configs            10**4       an experiment's runs, a sweep's combinations
=====================  ==========  =============================================

A sweep or experiment file is at most 16 MiB. Bounds that belong to one module stay there:
a generated maze's rooms (:data:`dynaq.envs.maps.MAX_MAZE_ROOMS`) and a saved agent's sizes
and files (:data:`dynaq.saving.MAX_CELLS`, ``MAX_OBS_DIM``, ``MAX_META_BYTES``,
``MAX_DATA_BYTES``).
"""

from __future__ import annotations

import os

from dynaq.errors import ConfigError

MAX_SEEDS = 10**5
"""Most seeds per run config of an experiment."""
MAX_PLANNING_STEPS = 10**6
"""Most planning steps k per real step."""
MAX_EPISODES = 10**9
"""Most episodes of one run."""
MAX_STEPS = 10**9
"""Most real steps of one run (``total_steps``) or of one episode (``max_episode_steps``)."""
MAX_BUFFER = 10**9
"""Most transitions a replay buffer holds."""
MAX_WIDTH = 2**16
"""Widest hidden layer of a network."""
MAX_COUNT = 10**9
"""Any other count (batch sizes, periods, gradient steps, ensemble members)."""
MAX_RUNS = 10**4
"""Most run configs in one experiment (a sweep file's combinations)."""
MAX_TOML_BYTES = 16 * 2**20
"""Largest sweep or experiment file read."""

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def memory_limit() -> int:
    """The bytes a run may plan to use: this machine's physical memory, or the process's
    address-space limit (``ulimit -v``) where that is lower."""
    limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError):  # not on every platform
        return limit
    return limit if soft == resource.RLIM_INFINITY else min(limit, soft)


def human_bytes(n: float) -> str:
    """``n`` bytes in binary units, e.g. ``"7.5 GiB"``."""
    unit = 0
    while n >= 1024 and unit < len(_UNITS) - 1:
        n, unit = n / 1024, unit + 1
    return f"{n:.0f} {_UNITS[unit]}" if unit == 0 else f"{n:.1f} {_UNITS[unit]}"


def check_memory(need: int, what: str) -> None:
    """Raise ConfigError if ``what`` needs more than :func:`memory_limit` bytes.

    Args:
        need: The estimate, in bytes: an upper bound where the episodes a run records are
            not known before it runs (those of ``total_steps`` are counted as if every
            episode were as short as the world allows).
        what: What needs it, for the message (e.g. ``"this run (2 seeds × 10**12 episodes)"``).
    """
    limit = memory_limit()
    if need > limit:
        raise ConfigError(f"{what} may need up to about {human_bytes(need)} of memory, more "
                          f"than the {human_bytes(limit)} this machine has; give fewer seeds, "
                          "episodes or steps, or a smaller buffer")
