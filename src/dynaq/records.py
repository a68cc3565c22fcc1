"""The per-episode record schema, written once: the columns the runners fill (the compiled
numba loop and the step-by-step and deep runners alike), the columns of the episode blocks
the results database stores (and of the ``episodes`` table of an older one's), and the
columns the analysis reads.

A runner returns one ``float64`` row per episode with the :data:`RECORD` columns in order
(indexed by :data:`STEPS`, :data:`RETURN`, …); the store adds the columns derived from
them (:data:`STORED`), in the database's own order.
"""

from __future__ import annotations

from typing import NamedTuple


class Column(NamedTuple):
    """One per-episode column."""

    name: str
    sql: str
    """Its SQL type in an older database's ``episodes`` table (nullable columns hold NULL,
    NaN in a block): an INTEGER holds whole numbers, a NOT NULL never NaN."""
    doc: str


RECORD = (
    Column("steps", "INTEGER NOT NULL", "real steps of the episode"),
    Column("return", "REAL NOT NULL", "undiscounted sum of the episode's rewards"),
    Column("env_steps", "INTEGER NOT NULL", "cumulative real steps of the run"),
    Column("backups", "INTEGER NOT NULL",
           "cumulative value backups of the run, real and simulated (deep agents: gradient "
           "steps, on real and imagined minibatches)"),
    Column("value_error", "REAL",
           "max over reachable states of |max_a Q(s, a) − V*(s)| (NaN without an exact model)"),
    Column("policy_value", "REAL",
           "exact value from the start of the greedy policy, ties split evenly"),
    Column("wall_s", "REAL NOT NULL", "cumulative seconds of the run"),
    Column("truncated", "INTEGER NOT NULL", "1 when a step limit cut the episode"),
    Column("model_error", "REAL",
           "mean total variation between the learned and the true next-state distributions"),
    Column("reward_error", "REAL", "mean |learned − true expected reward| over seen pairs"),
    Column("model_coverage", "REAL", "fraction of the reachable (s, a) the model has seen"),
    Column("eval_return", "REAL",
           "deep agents: mean return of the greedy evaluation episodes that fell due during "
           "the episode (NaN if none)"),
    Column("term_recall", "REAL",
           "deep models: share of the fresh real terminations the model's imagination ends"),
    Column("term_precision", "REAL",
           "deep models: share of the model's imagined endings that are real terminations"),
    Column("rollout_error", "REAL",
           "deep models: error after rollout_length model steps with the real actions, "
           "relative to how far the real state moved"),
)
"""The columns of a runner's record array, in order."""

(STEPS, RETURN, ENV_STEPS, BACKUPS, VALUE_ERROR, POLICY_VALUE, WALL_S, TRUNCATED, MODEL_ERROR,
 REWARD_ERROR, MODEL_COVERAGE, EVAL_RETURN, TERM_RECALL, TERM_PRECISION,
 ROLLOUT_ERROR) = range(len(RECORD))
N_FIELDS = len(RECORD)
RECORD_NAMES = tuple(c.name for c in RECORD)

ADDED = ("eval_return", "term_recall", "term_precision", "rollout_error")
"""Nullable columns added after the first layout: an older database's ``episodes`` table
may lack them, and they read as NaN (as they are in its blocks once a driver converts it)."""
DEEP_ONLY = (EVAL_RETURN, TERM_RECALL, TERM_PRECISION, ROLLOUT_ERROR)
"""Record columns only the deep runner fills (NaN elsewhere)."""

_BY_NAME = {c.name: c for c in RECORD}
STORED = (
    Column("episode", "INTEGER NOT NULL", "episode number, from 1"),
    *(_BY_NAME[n] for n in ("steps", "return", "env_steps", "backups", "value_error",
                            "policy_value")),
    Column("policy_optimal", "INTEGER",
           "whether policy_value is within tolerance of V*(start) of the dynamics in force"),
    *(_BY_NAME[n] for n in ("truncated", "wall_s")),
    Column("v_star_start", "REAL", "V*(start) of the dynamics in force after the episode"),
    *(_BY_NAME[n] for n in ("model_error", "reward_error", "model_coverage")),
    *(_BY_NAME[n] for n in ADDED),
)
"""The stored columns: ``episode``, then those of an episode block in its order
(:data:`dynaq.experiments.store.BLOCK_COLUMNS`); also the ``episodes`` table's columns
after ``cell_key``, in the table's order (which older
databases fix: new columns go at the end)."""
STORED_NAMES = tuple(c.name for c in STORED)
NULLABLE = tuple(c.name for c in STORED if c.sql == "REAL")
"""Real columns that may hold NULL (read back as NaN)."""

DIAGNOSTICS = ("value_error", "model_error", "reward_error", "model_coverage")
"""Per-episode diagnostics whose last value per seed a summary reports (``final_*``)."""
