"""The results database of an output directory: one SQLite file, written by the driver only.

Each finished batch of cells is committed in one transaction; a cell's key is unique, so a
re-run skips finished cells and never duplicates a row. A cell that raised is kept in the
``failures`` table with its traceback until a retry succeeds. While a driver writes, it
holds an exclusive ``flock`` on ``.dynaq.lock``: a second writer is refused, and a crashed
one leaves nothing stuck, since the system releases the lock with the process.

Cell keys are :func:`~dynaq.experiments.config.cell_key`: a hash of the settings that differ
from their defaults (:data:`KEY_SCHEME`). A database written before that (by a dynaq whose
keys hashed every field, which ``meta`` records no scheme for) is read as it is, its keys
translated in memory, and migrated when a driver opens it to write: every stored key, in
``cells``, ``episodes`` and ``failures``, is rewritten from the cell's stored config in one
transaction, rows and failures otherwise untouched, so the directory resumes.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dynaq.errors import ConfigError
from dynaq.experiments.config import Experiment, RunConfig, cell_key
from dynaq.experiments.runner import CellResult
from dynaq.metrics import policy_is_optimal
from dynaq.records import NULLABLE, POLICY_VALUE, RECORD_NAMES, STORED, STORED_NAMES

if TYPE_CHECKING:
    from dynaq.experiments.backends import Failure

DB_NAME = "results.sqlite"
LOCK_NAME = ".dynaq.lock"
KEY_SCHEME = "non-default settings"
"""``meta.keys``: how this dynaq makes cell keys (absent: every field hashed, migrated on open)."""
OUTPUTS = ("summary.csv", "summary.md", "config.toml", "report.html")
"""Files the driver writes beside the database (and plots: ``*.png``, ``*.gif``)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    cell_key TEXT PRIMARY KEY, config TEXT NOT NULL, seed INTEGER NOT NULL,
    episodes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS episodes (
    cell_key TEXT NOT NULL REFERENCES cells(cell_key), {episode columns},
    PRIMARY KEY (cell_key, episode)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS failures (
    cell_key TEXT PRIMARY KEY, config TEXT NOT NULL, seed INTEGER NOT NULL,
    error TEXT NOT NULL, traceback TEXT NOT NULL);
""".replace("{episode columns}", ", ".join(f"{c.name} {c.sql}" for c in STORED))

EPISODE_COLUMNS = list(STORED_NAMES)
_INSERT_EPISODES = f"INSERT INTO episodes VALUES ({', '.join('?' * (len(STORED) + 1))})"


class Store:
    """The results database of one output directory, bound to one experiment.

    Args:
        out: The output directory (created when missing).
        experiment: The experiment this directory holds.

    Raises:
        ConfigError: If the directory already holds a different experiment.
    """

    def __init__(self, out: str | Path, experiment: Experiment, force_new: bool = False
                 ) -> None:
        out = Path(out)
        self.path = out / DB_NAME
        check_compatible(out, experiment, force_new)
        make_output_dir(out)
        self._lock = _acquire_lock(out)
        if force_new:
            discard_results(out)
        self.conn = sqlite3.connect(self.path)
        try:
            _check_layout(self.conn, self.path)
            _migrate_keys(self.conn, self.path)
        except ConfigError:
            os.close(self._lock)
            raise
        self.conn.execute("PRAGMA journal_mode=WAL")
        with self.conn:
            self.conn.executescript(_SCHEMA)
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('experiment', ?)",
                              (json.dumps(experiment.to_dict()),))
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('keys', ?)", (KEY_SCHEME,))

    def done_keys(self) -> set[str]:
        """Keys of the cells already stored."""
        return {k for (k,) in self.conn.execute("SELECT cell_key FROM cells")}

    def failed(self) -> dict[str, tuple[int, str]]:
        """Failed cells: key → (seed, error line)."""
        return {k: (seed, err) for k, seed, err in
                self.conn.execute("SELECT cell_key, seed, error FROM failures")}

    def write(self, cells: Iterable[CellResult], failures: Iterable[Failure] = ()) -> None:
        """Store finished cells and failed ones, all in one transaction."""
        with self.conn:
            for f in failures:
                self.conn.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?)",
                                  (f.key, json.dumps(f.run.row()), f.seed, f.error,
                                   f.traceback))
            for cell in cells:
                self.conn.execute("DELETE FROM failures WHERE cell_key = ?", (cell.key,))
                self.conn.execute("INSERT INTO cells VALUES (?, ?, ?, ?)", (
                    cell.key, json.dumps(cell.run.row()), cell.seed, len(cell.records)))
                self.conn.executemany(_INSERT_EPISODES, _episode_rows(cell))

    def close(self) -> None:
        """Close the database connection and release the directory."""
        self.conn.close()
        os.close(self._lock)


def _check_layout(conn: sqlite3.Connection, db: Path) -> None:
    """Refuse a database of an older dynaq, whose tables lack what this one writes and
    reads (an empty or new database passes: the schema is created where missing).

    Raises:
        ConfigError: Naming what is missing and what to do.
    """
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master "
                                               "WHERE type = 'table'")}
    if "episodes" not in tables:
        return
    columns = {row[1] for row in conn.execute("PRAGMA table_info(episodes)")}
    missing = [c for c in EPISODE_COLUMNS if c not in columns]
    missing += [t for t in ("cells", "meta", "failures") if t not in tables]
    if missing:
        conn.close()
        raise ConfigError(f"out: {db} was written by an older dynaq (it lacks "
                          f"{', '.join(missing)}); rerun with --force-new to discard it, or "
                          "choose another directory")


def _is_legacy(conn: sqlite3.Connection) -> bool:
    """Whether the database holds an experiment but no key scheme (keys of every field)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
        return False
    keys = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('experiment', 'keys')"))
    return "experiment" in keys and "keys" not in keys


def _renamed_keys(conn: sqlite3.Connection, db: Path) -> dict[str, str]:
    """For a legacy database: each stored cell and failure key → its key now, from the
    cell's stored config.

    Raises:
        ConfigError: If a stored config no longer makes a valid run config.
    """
    renamed = {}
    for table in ("cells", "failures"):
        for key, config, seed in conn.execute(f"SELECT cell_key, config, seed FROM {table}"):
            renamed[key] = cell_key(_stored_run(json.loads(config), db), seed)
    return renamed


def _stored_run(config: dict, db: Path) -> RunConfig:
    try:
        return RunConfig(**config)
    except ConfigError as err:
        raise ConfigError(f"out: {db} holds a run config this dynaq cannot read ({err}); rerun "
                          "with --force-new to discard it, or choose another directory"
                          ) from None


def _migrate_keys(conn: sqlite3.Connection, db: Path) -> None:
    """Rewrite a legacy database's keys and stored experiment to this scheme, in one
    transaction (nothing else changes)."""
    if not _is_legacy(conn):
        return
    renamed = _renamed_keys(conn, db)
    (value,) = conn.execute("SELECT value FROM meta WHERE key = 'experiment'").fetchone()
    with conn:
        for old, new in renamed.items():
            for table in ("cells", "episodes", "failures"):
                conn.execute(f"UPDATE {table} SET cell_key = ? WHERE cell_key = ?", (new, old))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'experiment'",
                     (json.dumps(_current(json.loads(value), db)),))
        conn.execute("INSERT INTO meta VALUES ('keys', ?)", (KEY_SCHEME,))


def _current(experiment: dict, db: Path) -> dict:
    """A legacy stored experiment with its runs as :meth:`RunConfig.to_dict` gives them."""
    return {**experiment, "runs": [_stored_run(r, db).to_dict() for r in experiment["runs"]]}


def _acquire_lock(out: Path) -> int:
    fd = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise ConfigError(f"out: {out} is being written by another dynaq process ({holder}); "
                          "wait for it to finish or choose another directory") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()}".encode())
    return fd


def discard_results(out: Path) -> None:
    """Delete the results and outputs of ``out`` (``--force-new``), nothing else."""
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", *OUTPUTS):
        (out / name).unlink(missing_ok=True)
    for pattern in ("*.png", "*.gif"):
        for path in out.glob(pattern):
            path.unlink()


def _episode_rows(cell: CellResult) -> list[tuple]:
    """The ``episodes`` rows of a cell, built column by column (a sweep stores 10^5 rows)."""
    rec = cell.records
    n = len(rec)
    optimal = policy_is_optimal(rec[:, POLICY_VALUE], cell.v_star_start).astype(np.int64)
    values = {name: rec[:, i] for i, name in enumerate(RECORD_NAMES)}
    values.update(episode=np.arange(1, n + 1),
                  policy_optimal=np.where(np.isnan(rec[:, POLICY_VALUE]), np.nan, optimal),
                  v_star_start=np.asarray(cell.v_star_start, dtype=float))
    columns = [[cell.key] * n, *(_sql_values(values[c.name], c.sql) for c in STORED)]
    return list(zip(*columns, strict=True))


def _sql_values(values: np.ndarray, sql: str) -> list:
    """A column's values as Python numbers for sqlite3; NaN as NULL where ``sql`` allows."""
    integer = sql.startswith("INTEGER")
    if "NOT NULL" in sql:
        return values.astype(np.int64).tolist() if integer else values.tolist()
    return _nullable(values, int if integer else float)


def _nullable(values: np.ndarray, kind: type = float) -> list:
    """Values as Python numbers, NaN as None (SQL NULL)."""
    out = values.astype(object)
    out[np.isnan(values)] = None
    return out.tolist() if kind is float else [None if v is None else int(v) for v in out]


def check_compatible(out: str | Path, experiment: Experiment, force_new: bool = False
                     ) -> None:
    """Refuse an output directory that holds another experiment's results (unless
    ``force_new``, which discards them) or anything that is not dynaq's.

    Raises:
        ConfigError: Naming the directory, what differs and what to do.
    """
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"out must be a directory, but {path} is a file")
    db = path / DB_NAME
    if not db.exists():
        if path.is_dir() and any(p.name != LOCK_NAME for p in path.iterdir()):
            raise ConfigError(f"out: {path} is not empty and holds no dynaq results; "
                              "choose a new or empty directory")
        return
    stored = stored_experiment(path)
    if stored is not None and stored == experiment.to_dict() or force_new:
        return
    raise ConfigError(f"out: {path} holds another experiment's results "
                      f"({_difference(stored, experiment.to_dict())}); rerun with --force-new "
                      "to discard them, or choose another directory")


def stored_experiment(out: str | Path) -> dict | None:
    """The experiment (as :meth:`Experiment.to_dict`) a results database was made for (a
    legacy database's, as it reads now).

    Raises:
        ConfigError: If the database cannot be read.
    """
    db = Path(out) / DB_NAME
    try:
        with closing(sqlite3.connect(db)) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'experiment'").fetchone()
            legacy = _is_legacy(conn)
    except sqlite3.DatabaseError as err:
        raise ConfigError(f"out: {db} is not a dynaq results database ({err})") from None
    if row is None:
        return None
    return _current(json.loads(row[0]), db) if legacy else json.loads(row[0])


def _difference(old: dict | None, new: dict) -> str:
    if old is None:
        return "of an unknown experiment"
    parts = [f"{k} {old.get(k)!r} → {new[k]!r}" for k in ("name", "seeds")
             if old.get(k) != new[k]]
    old_runs = [json.dumps(r, sort_keys=True) for r in old.get("runs", [])]
    new_runs = [json.dumps(r, sort_keys=True) for r in new["runs"]]
    gone = [json.loads(r) for r in old_runs if r not in new_runs]
    added = [json.loads(r) for r in new_runs if r not in old_runs]
    if gone or added:
        fields_differ = sorted({k for a in gone for b in added for k in {*a, *b}
                                if a.get(k) != b.get(k)})
        parts.append(f"{len(gone)} run config(s) only there, {len(added)} only here"
                     + (f", differing in {', '.join(fields_differ)}" if fields_differ else ""))
    return "; ".join(parts) or "different settings"


def load_results(out: str | Path) -> pd.DataFrame:
    """Every stored episode as a DataFrame, one row per (config, seed, episode).

    Columns: the run config's (:meth:`RunConfig.columns`: env, agent, alpha, …), seed,
    then episode, steps, return, env_steps, backups, value_error, policy_value,
    policy_optimal, truncated, wall_s, v_star_start (of the dynamics in force),
    model_error, reward_error, model_coverage.

    Raises:
        ConfigError: If ``out`` holds no results database, or one of an older layout.
    """
    db = Path(out) / DB_NAME
    if not db.exists():
        raise ConfigError(f"out: no dynaq results in {out} (no {DB_NAME})")
    with closing(sqlite3.connect(db)) as conn:
        _check_layout(conn, db)
        cells = pd.read_sql_query("SELECT cell_key, config, seed FROM cells", conn)
        eps = pd.read_sql_query("SELECT * FROM episodes ORDER BY cell_key, episode", conn)
    rows = {c: _row(c) for c in cells["config"].unique()}
    config = pd.DataFrame([rows[c] for c in cells.pop("config")], index=cells.index)
    cells = pd.concat([config, cells], axis=1)
    df = cells.merge(eps, on="cell_key").drop(columns="cell_key")
    df[list(NULLABLE)] = df[list(NULLABLE)].astype(float)  # a column of NULLs only reads as objects
    df["policy_optimal"] = df["policy_optimal"].astype("boolean")
    df["truncated"] = df["truncated"].astype(bool)
    return df.sort_values([*config.columns, "seed", "episode"], kind="stable",
                          ignore_index=True)


def _row(config: str) -> dict:
    """A stored config as a row of today's columns, so that cells stored before a setting
    was added show its default as the cells stored after do (as stored, if it no longer
    makes a run config: an agent that cannot be imported here, a removed setting)."""
    stored = json.loads(config)
    try:
        return RunConfig(**stored).row()
    except ConfigError:
        return stored


def describe(out: str | Path) -> str:
    """What ``out`` holds, as text: the experiment, then per run config the seeds done,
    failed and missing.

    Raises:
        ConfigError: If ``out`` holds no results database, or one of an older layout.
    """
    db = Path(out) / DB_NAME
    if not db.exists():
        raise ConfigError(f"dir: no dynaq results in {out} (no {DB_NAME})")
    exp = stored_experiment(out)
    with closing(sqlite3.connect(db)) as conn:
        _check_layout(conn, db)
        current = _renamed_keys(conn, db) if _is_legacy(conn) else {}
        done = {current.get(k, k) for (k,) in conn.execute("SELECT cell_key FROM cells")}
        failed = {current.get(k, k) for (k,) in conn.execute("SELECT cell_key FROM failures")}
    if exp is None:
        return f"{out}: {len(done)} cells, no experiment recorded"
    runs = [_stored_run(r, db) for r in exp["runs"]]
    rows = [run.row() for run in runs]
    varying = [k for k in rows[0] if len({json.dumps(row[k]) for row in rows}) > 1]
    lines = [f"{out}: experiment {exp['name']!r}, {len(runs)} run config(s) × "
             f"{exp['seeds']} seeds", "",
             "| run | env | " + " | ".join(varying) + " | done | failed | missing |",
             "|---|---|" + "---|" * (len(varying) + 3)]
    for i, (run, row) in enumerate(zip(runs, rows, strict=True)):
        keys = {cell_key(run, s) for s in range(exp["seeds"])}
        n_done, n_failed = len(keys & done), len(keys & failed)
        cells = [str(i), run.env, *(str(row[k]) for k in varying), str(n_done),
                 str(n_failed), str(exp["seeds"] - n_done - n_failed)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def make_output_dir(out: Path, field: str = "out") -> None:
    """Create the output directory ``out`` (and its parents) if missing.

    Raises:
        ConfigError: If it cannot be created or written to, e.g. under a regular file or
            in a read-only directory.
    """
    if out.is_dir():  # one this process creates is writable by it
        if not os.access(out, os.W_OK | os.X_OK):
            raise ConfigError(f"{field}: the directory {out} is not writable")
        return
    try:
        out.mkdir(parents=True)
    except OSError as err:
        raise ConfigError(f"{field}: cannot create the directory {out}: "
                          f"{err.strerror or err}") from None


def export(out: str | Path, fmt: str = "csv", path: str | Path | None = None) -> Path:
    """Write every stored episode (:func:`load_results`) as CSV or Parquet; returns the path.

    Raises:
        ConfigError: For an unknown format, no results, Parquet without pyarrow, or an
            output path that is a directory or in a directory that does not exist or cannot
            be written (nothing is left behind).
    """
    if fmt not in ("csv", "parquet"):
        raise ConfigError(f"format must be csv or parquet, got {fmt!r}")
    df = load_results(out)
    target = Path(path) if path is not None else Path(out) / f"results.{fmt}"
    if target.is_dir():
        raise ConfigError(f"output: {target} is a directory; give a file path")
    if not target.parent.is_dir():
        raise ConfigError(f"output: the directory {target.parent} does not exist")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError("format parquet needs pyarrow: pip install 'dynaq[parquet]'"
                              ) from None
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if fmt == "csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
        os.replace(tmp, target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"output: cannot write {target}: {err.strerror or err}") from None
    return target
