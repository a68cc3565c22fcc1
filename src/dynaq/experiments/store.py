"""The results database of an output directory: one SQLite file, written by the driver only.

Each finished batch of cells is committed in one transaction; a cell's key is unique, so a
re-run skips finished cells and never duplicates a row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from dynaq.errors import ConfigError
from dynaq.experiments.config import Experiment
from dynaq.experiments.runner import CellResult
from dynaq.kernels import run as K
from dynaq.metrics import policy_is_optimal

DB_NAME = "results.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    cell_key TEXT PRIMARY KEY, config TEXT NOT NULL, seed INTEGER NOT NULL,
    episodes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS episodes (
    cell_key TEXT NOT NULL REFERENCES cells(cell_key), episode INTEGER NOT NULL,
    steps INTEGER NOT NULL, return REAL NOT NULL, env_steps INTEGER NOT NULL,
    backups INTEGER NOT NULL, value_error REAL, policy_value REAL, policy_optimal INTEGER,
    truncated INTEGER NOT NULL, wall_s REAL NOT NULL, v_star_start REAL, model_error REAL,
    reward_error REAL, model_coverage REAL,
    PRIMARY KEY (cell_key, episode)) WITHOUT ROWID;
"""

EPISODE_COLUMNS = ["episode", "steps", "return", "env_steps", "backups", "value_error",
                   "policy_value", "policy_optimal", "truncated", "wall_s", "v_star_start",
                   "model_error", "reward_error", "model_coverage"]


class Store:
    """The results database of one output directory, bound to one experiment.

    Args:
        out: The output directory (created when missing).
        experiment: The experiment this directory holds.

    Raises:
        ConfigError: If the directory already holds a different experiment.
    """

    def __init__(self, out: str | Path, experiment: Experiment) -> None:
        self.path = Path(out) / DB_NAME
        check_compatible(out, experiment)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path)
        self.conn.execute("PRAGMA journal_mode=WAL")
        with self.conn:
            self.conn.executescript(_SCHEMA)
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('fingerprint', ?)",
                              (experiment.fingerprint(),))
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('experiment', ?)",
                              (json.dumps(experiment.to_dict()),))

    def done_keys(self) -> set[str]:
        """Keys of the cells already stored."""
        return {k for (k,) in self.conn.execute("SELECT cell_key FROM cells")}

    def write(self, cells: Iterable[CellResult]) -> None:
        """Store finished cells, all in one transaction."""
        with self.conn:
            for cell in cells:
                self.conn.execute("INSERT INTO cells VALUES (?, ?, ?, ?)", (
                    cell.key, json.dumps(asdict(cell.run)), cell.seed, len(cell.records)))
                self.conn.executemany(
                    f"INSERT INTO episodes VALUES ({', '.join('?' * 15)})", _episode_rows(cell))

    def close(self) -> None:
        """Close the database connection."""
        self.conn.close()


def _episode_rows(cell: CellResult) -> list[tuple]:
    rec = cell.records
    optimal = policy_is_optimal(rec[:, K.POLICY_VALUE], cell.v_star_start)

    def opt(x: float) -> float | None:
        return None if np.isnan(x) else float(x)

    return [(cell.key, i + 1, int(r[K.STEPS]), float(r[K.RETURN]), int(r[K.ENV_STEPS]),
             int(r[K.BACKUPS]), opt(r[K.VALUE_ERROR]), opt(r[K.POLICY_VALUE]),
             None if np.isnan(r[K.POLICY_VALUE]) else int(optimal[i]), int(r[K.TRUNCATED]),
             float(r[K.WALL_S]), opt(cell.v_star_start[i]), opt(r[K.MODEL_ERROR]),
             opt(r[K.REWARD_ERROR]), opt(r[K.MODEL_COVERAGE])) for i, r in enumerate(rec)]


def check_compatible(out: str | Path, experiment: Experiment) -> None:
    """Refuse an output directory that holds another experiment's results.

    Raises:
        ConfigError: Naming the directory and what to do.
    """
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"out must be a directory, but {path} is a file")
    db = path / DB_NAME
    if not db.exists():
        if path.is_dir() and any(path.iterdir()):
            raise ConfigError(f"out: {path} is not empty and holds no dynaq results; "
                              "choose a new or empty directory")
        return
    try:
        with closing(sqlite3.connect(db)) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
    except sqlite3.DatabaseError as err:
        raise ConfigError(f"out: {db} is not a dynaq results database ({err})") from None
    if row is None or row[0] != experiment.fingerprint():
        raise ConfigError(f"out: {path} holds another experiment's results; choose another "
                          "directory (or the exact same command to resume)")


def load_results(out: str | Path) -> pd.DataFrame:
    """Every stored episode as a DataFrame, one row per (config, seed, episode).

    Columns: the run config's fields (env, agent, model, planning_steps, alpha, …), seed,
    then episode, steps, return, env_steps, backups, value_error, policy_value,
    policy_optimal, truncated, wall_s, v_star_start (of the dynamics in force),
    model_error, reward_error, model_coverage.

    Raises:
        ConfigError: If ``out`` holds no results database.
    """
    db = Path(out) / DB_NAME
    if not db.exists():
        raise ConfigError(f"out: no dynaq results in {out} (no {DB_NAME})")
    with closing(sqlite3.connect(db)) as conn:
        cells = pd.read_sql_query("SELECT cell_key, config, seed FROM cells", conn)
        eps = pd.read_sql_query("SELECT * FROM episodes ORDER BY cell_key, episode", conn)
    config = pd.DataFrame([json.loads(c) for c in cells.pop("config")], index=cells.index)
    cells = pd.concat([config, cells], axis=1)
    df = cells.merge(eps, on="cell_key").drop(columns="cell_key")
    df["policy_optimal"] = df["policy_optimal"].astype("boolean")
    df["truncated"] = df["truncated"].astype(bool)
    return df.sort_values([*config.columns, "seed", "episode"], kind="stable",
                          ignore_index=True)
