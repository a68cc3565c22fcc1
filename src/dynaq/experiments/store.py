"""The results database of an output directory: one SQLite file, written by the driver only.

Each finished batch of cells is committed in one transaction; a cell's key is unique, so a
re-run skips finished cells and never duplicates a row. A cell that raised is kept in the
``failures`` table with its traceback until a retry succeeds. While a driver writes, it
holds an exclusive ``flock`` on ``.dynaq.lock``: a second writer is refused, and a crashed
one leaves nothing stuck, since the system releases the lock with the process.

A cell's episodes are stored as one block (``episode_blocks.records``): its
:data:`BLOCK_COLUMNS` as little-endian float64, one row per episode (NaN for a missing
value), so a unit of 64 cells is 64 rows to write rather than some 10^4, and a summary
reads a config's cells at the speed of memory. :func:`load_results` and
:func:`~dynaq.experiments.store.export` (CSV, Parquet) turn them into one row per
episode. A database of an older dynaq, one SQL row per episode in an ``episodes`` table,
is read as it is and converted to blocks, in one transaction, when a driver opens it to
write.

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from functools import cache
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dynaq.errors import ConfigError
from dynaq.experiments.config import Experiment, RunConfig, cell_key, uses
from dynaq.records import ADDED, POLICY_VALUE, RECORD_NAMES, STORED

if TYPE_CHECKING:
    import pandas as pd

    from dynaq.experiments.backends import Failure
    from dynaq.experiments.runner import CellResult

DB_NAME = "results.sqlite"
LOCK_NAME = ".dynaq.lock"
KEY_SCHEME = "non-default settings"
"""``meta.keys``: how this dynaq makes cell keys (absent: every field hashed, migrated on open)."""
OUTPUTS = ("summary.csv", "summary.md", "config.toml", "report.html")
"""Files the driver writes beside the database (and plots: ``*.png``, ``*.gif``)."""

FLAGS = ("policy_optimal", "truncated")
"""Episode columns of yes/no values, stored as 0 and 1 (``policy_optimal`` NULL if unknown)."""

BLOCK_COLUMNS = STORED[1:]
"""The columns of a cell's episode block, in order: every stored column but ``episode``,
which is the row's place in the block, from 1. A column added later goes at the end, so a
stored block's width (its length over its episodes) tells which columns it holds."""
_WIDTH = len(BLOCK_COLUMNS)
_BLOCK_DTYPE = np.dtype("<f8")
_READ_BATCH = 4096
"""Blocks checked at a time when a resumed run checks them all (bounded memory)."""

_TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS cells (
        cell_key TEXT PRIMARY KEY, config TEXT NOT NULL, seed INTEGER NOT NULL,
        episodes INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS episode_blocks (
        cell_key TEXT PRIMARY KEY REFERENCES cells(cell_key), records BLOB NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS failures (
        cell_key TEXT PRIMARY KEY, config TEXT NOT NULL, seed INTEGER NOT NULL,
        error TEXT NOT NULL, traceback TEXT NOT NULL)""",
)
_SCHEMA = ";\n".join(_TABLES) + ";\n"

_ROWS_SCHEMA = """
CREATE TABLE episodes (
    cell_key TEXT NOT NULL REFERENCES cells(cell_key), {episode columns},
    PRIMARY KEY (cell_key, episode)) WITHOUT ROWID;
""".replace("{episode columns}", ", ".join(f"{c.name} {c.sql}" for c in STORED))
"""The ``episodes`` table of an older dynaq (one row per episode), read and converted."""

_SQLITE_MAGIC = b"SQLite format 3\x00"


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
        # check_compatible has checked what it holds; the driver writes from a thread of
        # its own, never while this one uses the connection
        self.conn = sqlite3.connect(self.path, check_same_thread=False)
        try:
            _migrate_keys(self.conn, self.path)
            _migrate_rows(self.conn, self.path)
        except ConfigError:
            self.close()
            raise
        self.conn.execute("PRAGMA journal_mode=WAL")
        # A commit in WAL mode is in the file once written, whatever kills the process
        # after it (SIGKILL included); syncing each one to the disk too would only guard
        # against the machine losing power, at a few milliseconds per unit of work.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        with self.conn:
            self.conn.executescript(_SCHEMA)
            # check_compatible let in only this experiment or one it grows into
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('experiment', ?)",
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
        """Store finished cells and failed ones, all in one transaction (a row per cell in
        each table: a cell's episodes are one block)."""
        cells = list(cells)
        config = _config_json()
        keys = [cell.key for cell in cells]
        with self.conn:
            self.conn.executemany("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?)",
                                  [(f.key, config(f.run), f.seed, f.error, f.traceback)
                                   for f in failures])
            self.conn.executemany("DELETE FROM failures WHERE cell_key = ?",
                                  [(key,) for key in keys])
            self.conn.executemany("INSERT INTO cells VALUES (?, ?, ?, ?)", [
                (key, config(cell.run), cell.seed, len(cell.records))
                for key, cell in zip(keys, cells, strict=True)])
            self.conn.executemany("INSERT INTO episode_blocks VALUES (?, ?)",
                                  zip(keys, _blocks(cells), strict=True))

    def close(self) -> None:
        """Close the database connection and release the directory."""
        self.conn.close()
        os.close(self._lock)


def _config_json() -> Callable[[RunConfig], str]:
    """The stored JSON of a run config (:meth:`RunConfig.row`), made once per config: the
    cells of a unit, or of a whole run config, share one."""
    made: dict[int, str] = {}

    def config(run: RunConfig) -> str:
        if id(run) not in made:
            made[id(run)] = json.dumps(run.row())
        return made[id(run)]

    return config


@cache
def _layout(rows: bool = False) -> dict[str, dict[str, tuple[str, bool, int]]]:
    """The tables this dynaq writes, as :func:`_columns` reads them from :data:`_SCHEMA`;
    with ``rows``, those of the older layout (``episodes`` for ``episode_blocks``)."""
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.executescript(_SCHEMA + _ROWS_SCHEMA)
        episodes = "episodes" if rows else "episode_blocks"
        return {table: _columns(conn, table) for table in ("meta", "cells", episodes,
                                                           "failures")}


def _columns(conn: sqlite3.Connection, table: str) -> dict[str, tuple[str, bool, int]]:
    """A table's columns → (declared type, NOT NULL, place in the primary key or 0); none if
    the table is missing."""
    return {name: (kind.upper(), bool(notnull), key)
            for _, name, kind, notnull, _, key in conn.execute(f"PRAGMA table_info({table})")}


def _primary_key(columns: dict[str, tuple[str, bool, int]]) -> tuple[str, ...]:
    return tuple(sorted((c for c in columns if columns[c][2]), key=lambda c: columns[c][2]))


def _declared(column: tuple[str, bool, int]) -> str:
    return (column[0] or "without a type") + (" NOT NULL" if column[1] else "")


def _not_results(db: Path, reason: str) -> ConfigError:
    return ConfigError(f"{DB_NAME} in {db.parent} is not a dynaq results database ({reason})")


def _is_rows(conn: sqlite3.Connection) -> bool:
    """Whether the database has the older layout: one ``episodes`` row per episode."""
    tables = {name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE name IN ('episodes', 'episode_blocks')")}
    return tables == {"episodes"}


def _check_layout(conn: sqlite3.Connection, db: Path, discard: bool = False) -> None:
    """Refuse a database whose tables are not the ones this dynaq writes, or an older
    dynaq wrote (with ``discard``, for ``--force-new``, only one that is not dynaq's:
    without episodes).

    The schema says much at no cost per row: SQLite keeps a declared NOT NULL, so no NULL
    is stored where a number or a block belongs, and a primary key, so no cell and no
    episode is stored twice.

    Raises:
        ConfigError: Naming what is missing (a database of an older dynaq) or what differs.
    """
    layout = _layout(_is_rows(conn))
    found = {table: _columns(conn, table) for table in layout}
    if not found.get("episode_blocks", found.get("episodes")):
        raise _not_results(db, "it has no episodes table")
    if discard:
        return
    missing = [c for table, columns in layout.items() if found[table]
               for c in columns if c not in found[table]
               and not (table == "episodes" and c in ADDED)]
    missing += [table for table, columns in found.items() if not columns]
    if missing:
        raise ConfigError(f"out: {db} was written by an older dynaq (it lacks "
                          f"{', '.join(missing)}); rerun with --force-new to discard it, or "
                          "choose another directory")
    for table, columns in layout.items():
        key = _primary_key(columns)
        if _primary_key(found[table]) != key:
            raise _not_results(db, f"its {table} table is not keyed by ({', '.join(key)}), "
                                   "so rows may repeat")
        for name, column in columns.items():
            if name in found[table] and found[table][name][:2] != column[:2]:
                raise _not_results(db, f"{table}.{name} is declared "
                                       f"{_declared(found[table][name])}, not "
                                       f"{_declared(column)}")


def _check_file(db: Path, field: str) -> None:
    """Refuse a missing ``results.sqlite``, or one that is not an SQLite file in full.

    Raises:
        ConfigError: Saying which.
    """
    if not db.exists():
        raise ConfigError(f"{field}: no dynaq results in {db.parent} (no {DB_NAME})")
    if not db.is_file():
        raise ConfigError(f"{DB_NAME} in {db.parent} is not a file")
    try:
        with db.open("rb") as file:
            header = file.read(100)
        size = db.stat().st_size
    except OSError as err:
        raise ConfigError(f"{DB_NAME} in {db.parent} cannot be read: "
                          f"{err.strerror or err}") from None
    if not header:
        raise _not_results(db, "the file is empty")
    if not header.startswith(_SQLITE_MAGIC):
        raise _not_results(db, "the file is not an SQLite database")
    expected = _expected_size(header)
    if size < expected:
        # SQLite reads what is left and fails only on a missing page, if it reads one
        raise _not_results(db, f"the file is truncated: {size} of {expected} bytes")


def _expected_size(header: bytes) -> int:
    """The size an SQLite file's header gives it in bytes (0 if it does not say: the page
    count is valid only while the change counter matches, https://sqlite.org/fileformat.html)."""
    if len(header) < 100:
        return 100
    if header[24:28] != header[92:96]:
        return 0
    page_size = int.from_bytes(header[16:18], "big")
    return (65536 if page_size == 1 else page_size) * int.from_bytes(header[28:32], "big")


def _stamp(db: Path) -> tuple[int, int, int] | None:
    try:
        stat = db.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


@contextmanager
def _reading(out: str | Path, field: str = "out", discard: bool = False
             ) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the results database of ``out``, once it is checked to be
    one (:func:`_check_file`, :func:`_check_layout`, the experiment in ``meta``), that
    writes nothing to the directory; with ``discard``, checked only to be dynaq's.

    SQLite opens a WAL database for reading by creating its ``-wal`` and ``-shm`` files,
    and leaves them when the reader cannot write. With no writer (no ``-wal`` or
    ``-journal``), the file is opened immutable, which needs neither; a writer that starts
    meanwhile and changes the file is caught by its stat.

    Raises:
        ConfigError: One line for whatever is wrong with the database, when it is opened or
            while it is read.
    """
    db = Path(out) / DB_NAME
    _check_file(db, field)
    live = any(Path(f"{db}{suffix}").exists() for suffix in ("-wal", "-journal"))
    stamp = _stamp(db)
    uri = f"{db.absolute().as_uri()}?mode=ro" + ("" if live else "&immutable=1")
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            _check_layout(conn, db, discard)
            if not discard:
                _stored(conn, db)
            yield conn
    except sqlite3.DatabaseError as err:
        if live or _stamp(db) == stamp:
            raise _not_results(db, str(err.__cause__ or err)) from None
    if not live and _stamp(db) != stamp:
        raise ConfigError(f"{DB_NAME} in {db.parent} changed while it was read (a dynaq run "
                          "is writing it); try again")


def _json_object(text: object, where: str, db: Path) -> dict:
    """A stored JSON object.

    Raises:
        ConfigError: If ``text`` is not one.
    """
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, dict):
        raise _not_results(db, f"{where} holds {text!r:.60}, not a JSON object")
    return value


def _stored(conn: sqlite3.Connection, db: Path) -> dict | None:
    """The experiment in ``meta`` as written (None if none is recorded).

    Raises:
        ConfigError: If it is not an experiment's JSON.
    """
    row = conn.execute("SELECT value FROM meta WHERE key = 'experiment'").fetchone()
    if row is None:
        return None
    experiment = _json_object(row[0], "meta.experiment", db)
    runs = experiment.get("runs")
    if not (isinstance(experiment.get("name"), str) and type(experiment.get("seeds")) is int
            and isinstance(runs, list) and all(isinstance(r, dict) for r in runs)):
        raise _not_results(db, "meta.experiment has no name, seeds and runs")
    return experiment


def _not_a_number(db: Path, table: str, name: str, value: object, integer: bool
                  ) -> ConfigError:
    return _not_results(db, f"{table}.{name} holds {value!r:.40}, not "
                            f"{'an integer' if integer else 'a number'}")


def _check_stored_numbers(conn: sqlite3.Connection, table: str, db: Path) -> None:
    """Refuse text (or a fraction where an integer belongs) in a numeric column of
    ``cells`` or of an older database's ``episodes``, in one pass of SQL over its rows:
    SQLite stores whatever it is given, whatever the declared type. Text and blobs sort
    after every number, so ``x >= ''`` finds them by comparison: a call of ``typeof`` per
    value would cost twice as much.

    Raises:
        ConfigError: Naming the column and the first such value.
    """
    layout = _layout(table == "episodes")[table]
    present = _columns(conn, table)  # an older database lacks the columns added since
    wrong = {name: f"{name} >= ''" + (f" OR typeof({name}) = 'real'" if kind == "INTEGER" else "")
             + (f" OR {name} NOT IN (0, 1)" if name in FLAGS else "")
             for name, (kind, _, _) in layout.items() if kind in ("INTEGER", "REAL")
             and name in present}
    row = conn.execute(f"SELECT {', '.join(f'({w}), {n}' for n, w in wrong.items())} "
                       f"FROM {table} WHERE {' OR '.join(wrong.values())} LIMIT 1").fetchone()
    if row is not None:
        name, value = next((name, value) for name, flag, value
                           in zip(wrong, row[::2], row[1::2], strict=True) if flag)
        if name in FLAGS and isinstance(value, int):
            raise _not_results(db, f"{table}.{name} holds {value!r}, not 0 or 1")
        raise _not_a_number(db, table, name, value, layout[name][0] == "INTEGER")


def _check_values(values: np.ndarray, db: Path) -> None:
    """Refuse episode values (rows of :data:`BLOCK_COLUMNS`) that their columns cannot
    hold: NaN (NULL) where a number belongs, a fraction or an infinity where an integer
    does, a flag other than 0 and 1; one whole-column operation each, no Python per row.

    Raises:
        ConfigError: Naming the column and the first such value.
    """
    for j, column in enumerate(BLOCK_COLUMNS):
        x = values[:, j]
        known = ~np.isnan(x)
        if "NOT NULL" in column.sql and not known.all():
            raise _not_results(db, f"episodes.{column.name} holds NULL, not a number")
        if column.name in FLAGS:
            bad = known & (x != 0) & (x != 1)
        elif column.sql.startswith("INTEGER"):
            bad = known & ~(np.isfinite(x) & (x == np.floor(x)))
        else:
            continue
        if bad.any():
            value = x[np.argmax(bad)].item()
            if column.name in FLAGS:
                raise _not_results(db, f"episodes.{column.name} holds {value!r}, not 0 or 1")
            raise _not_a_number(db, "episodes", column.name, value, True)


def _blocks(cells: Sequence[CellResult]) -> list[bytes]:
    """The episode block of each cell: its :data:`BLOCK_COLUMNS` as rows of float64, built
    column by column over all the cells at once."""
    if not cells:
        return []
    from dynaq.metrics import policy_is_optimal

    rec = np.concatenate([cell.records for cell in cells])
    v_star = np.concatenate([np.asarray(cell.v_star_start, dtype=float) for cell in cells])
    optimal = policy_is_optimal(rec[:, POLICY_VALUE], v_star).astype(float)
    values = {name: rec[:, i] for i, name in enumerate(RECORD_NAMES)}
    values.update(policy_optimal=np.where(np.isnan(rec[:, POLICY_VALUE]), np.nan, optimal),
                  v_star_start=v_star)
    table = np.column_stack([values[c.name] for c in BLOCK_COLUMNS]).astype(_BLOCK_DTYPE)
    ends = np.cumsum([len(cell.records) for cell in cells]).tolist()
    return [table[start:end].tobytes()
            for start, end in zip([0, *ends[:-1]], ends, strict=True)]


def _decode(key: str, blob: object, episodes: int, db: Path) -> np.ndarray:
    """A stored episode block as ``(episodes, len(BLOCK_COLUMNS))`` values.

    Raises:
        ConfigError: If it is not a block of that many episodes.
    """
    if not isinstance(blob, bytes) or len(blob) != episodes * _WIDTH * _BLOCK_DTYPE.itemsize:
        held = f"{len(blob)} bytes" if isinstance(blob, bytes) else type(blob).__name__
        raise _not_results(db, f"the episode block of cell {key} holds {held}, not "
                               f"{episodes} episodes of {_WIDTH} float64 values")
    return np.frombuffer(blob, _BLOCK_DTYPE).reshape(episodes, _WIDTH)


def _read_blocks(conn: sqlite3.Connection, db: Path, cells: Sequence[StoredCell]
                 ) -> list[np.ndarray]:
    """The checked episode blocks of ``cells``, in their order, in one query."""
    found = dict(conn.execute(
        "SELECT cell_key, records FROM episode_blocks WHERE cell_key IN "
        "(SELECT value FROM json_each(?))", (json.dumps([cell[0] for cell in cells]),)))
    missing = next((cell[0] for cell in cells if cell[0] not in found), None)
    if missing is not None:
        raise _not_results(db, f"cell {missing} has no episode block")
    blocks = [_decode(key, found[key], episodes, db) for key, _, _, episodes in cells]
    if blocks:
        _check_values(np.concatenate(blocks), db)
    return blocks


def _row_blocks(conn: sqlite3.Connection, db: Path, cells: Sequence[StoredCell]
                ) -> dict[str, np.ndarray]:
    """The episode blocks of the cells of an older database, from its ``episodes`` rows
    (checked as that layout is: :func:`_check_stored_numbers`; a column it lacks is NaN).

    Raises:
        ConfigError: If the rows are damaged, or a cell's are not its episodes 1 to n.
    """
    _check_stored_numbers(conn, "episodes", db)
    present = _columns(conn, "episodes")
    columns = ", ".join(c.name if c.name in present else "NULL" for c in BLOCK_COLUMNS)
    rows = conn.execute(f"SELECT cell_key, episode, {columns} FROM episodes "
                        "ORDER BY cell_key, episode")
    # NULL reads as None, which float64 holds as NaN
    found = {key: np.array([row[1:] for row in part], dtype=float)
             for key, part in groupby(rows, key=lambda row: row[0])}
    blocks = {}
    for key, _, _, episodes in cells:
        values = found.get(key, np.empty((0, _WIDTH + 1)))
        if not np.array_equal(values[:, 0], np.arange(1, episodes + 1)):
            raise _not_results(db, f"the episodes of cell {key} are not its episodes 1 to "
                                   f"{episodes}")
        blocks[key] = values[:, 1:]
    return blocks


StoredCell = tuple[str, str, int, int]
"""A stored cell: (cell_key, config JSON, seed, episodes)."""


def _stored_cells(conn: sqlite3.Connection, db: Path) -> list[StoredCell]:
    """The stored cells, their seeds and episodes checked to be integers and their configs
    JSON objects.

    Raises:
        ConfigError: Naming what is damaged.
    """
    _check_stored_numbers(conn, "cells", db)
    cells = conn.execute("SELECT cell_key, config, seed, episodes FROM cells").fetchall()
    for config in {cell[1] for cell in cells}:
        _json_object(config, "cells.config", db)
    return cells


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
            renamed[key] = cell_key(_stored_run(_json_object(config, f"{table}.config", db),
                                                db), seed)
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
            for table in ("cells", "episodes" if _is_rows(conn) else "episode_blocks",
                          "failures"):
                conn.execute(f"UPDATE {table} SET cell_key = ? WHERE cell_key = ?", (new, old))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'experiment'",
                     (json.dumps(_current(json.loads(value), db)),))
        conn.execute("INSERT INTO meta VALUES ('keys', ?)", (KEY_SCHEME,))


def _migrate_rows(conn: sqlite3.Connection, db: Path) -> None:
    """Convert an older database's ``episodes`` rows to episode blocks, in one transaction
    (nothing else changes; its damage is refused first, as when it is read)."""
    if not _is_rows(conn):
        return
    blocks = _row_blocks(conn, db, _stored_cells(conn, db))
    with conn:
        conn.execute("BEGIN")  # sqlite3 opens a transaction itself only for a change of rows
        for table in _TABLES:
            conn.execute(table)
        conn.executemany("INSERT INTO episode_blocks VALUES (?, ?)", (
            (key, np.ascontiguousarray(values, _BLOCK_DTYPE).tobytes())
            for key, values in blocks.items()))
        conn.execute("DROP TABLE episodes")


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


def check_compatible(out: str | Path, experiment: Experiment, force_new: bool = False
                     ) -> None:
    """Refuse an output directory that holds another experiment's results (unless
    ``force_new``, which discards them), a damaged results database (see :func:`describe`;
    to be resumed, its episodes too), or anything that is not dynaq's.

    An experiment that :func:`grows` the stored one (more seeds, more run configs) is let
    in: its cells already stored are kept, and only the new ones run.

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
    with _reading(path, discard=force_new) as conn:
        if force_new:
            return
        stored = _experiment(conn, db)
        if stored is not None and grows(stored, experiment.to_dict()):
            # the run adds to these rows: refuse them damaged now, not once its cells have run
            _check_stored(conn, db)
            return
    raise ConfigError(f"out: {path} holds another experiment's results "
                      f"({_difference(stored, experiment.to_dict())}; a directory grows by "
                      "seeds and run configs but keeps all it holds); rerun with --force-new "
                      "to discard them, or choose another directory")


def grows(stored: dict, new: dict) -> bool:
    """Whether experiment ``new`` holds all of ``stored`` (both as
    :meth:`~dynaq.experiments.config.Experiment.to_dict`): the same name, at least as many
    seeds, and every stored run config. A cell's key and numbers depend on its run config
    and seed alone, so the stored cells are those ``new`` would compute."""
    def runs(exp: dict) -> set[str]:
        return {json.dumps(r, sort_keys=True) for r in exp.get("runs", [])}

    return (stored.get("name") == new["name"] and isinstance(stored.get("seeds"), int)
            and stored["seeds"] <= new["seeds"] and runs(stored) <= runs(new))


def stored_experiment(out: str | Path) -> dict | None:
    """The experiment (as :meth:`Experiment.to_dict`) a results database was made for (a
    legacy database's, as it reads now).

    Raises:
        ConfigError: If there is no database, or a damaged one (see :func:`describe`).
    """
    with _reading(out) as conn:
        return _experiment(conn, Path(out) / DB_NAME)


def _experiment(conn: sqlite3.Connection, db: Path) -> dict | None:
    """:func:`stored_experiment` of an open database."""
    stored = _stored(conn, db)
    return _current(stored, db) if stored is not None and _is_legacy(conn) else stored


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
    model_error, reward_error, model_coverage, eval_return, term_recall, term_precision,
    rollout_error; sorted by the config columns, seed and episode.

    Raises:
        ConfigError: If ``out`` holds no results database, one of an older layout, or one
            that is damaged (see :func:`describe`; the episodes' values too).
    """
    (frame,) = _frames(out, by_config=False)
    return frame


def results_by_config(out: str | Path) -> Iterator[pd.DataFrame]:
    """:func:`load_results` one run config at a time, in its order: the frames, put end
    to end, are :func:`load_results`'s (the same columns and dtypes), but only one
    config's episodes are in memory at once, so a sweep of 10^7 episodes is summarised
    in the memory of its largest config.

    Raises:
        ConfigError: As :func:`load_results`, when the config whose episodes are damaged is
            reached.
    """
    return _frames(out, by_config=True)


def _frames(out: str | Path, by_config: bool, blocks: bool = True
            ) -> Iterator[pd.DataFrame]:
    """The stored episodes as frames of :func:`load_results`: one per run config, or one.
    Without ``blocks``, none is read: a config's frame is one row, its first cell's, with
    every episode value zero (the columns, dtypes and config values a schema is inferred
    from, as from all the rows)."""
    db = Path(out) / DB_NAME
    with _reading(out) as conn:
        cells = _stored_cells(conn, db)
        frame = _cell_frame(cells, db)
        config = list(frame.columns.drop("seed"))
        order = frame.sort_values([*config, "seed"], kind="stable").index.to_numpy()
        rows = _row_blocks(conn, db, cells) if _is_rows(conn) and blocks else None
        for part in _runs_of(frame[config].iloc[order]) if by_config else [slice(None)]:
            if not blocks:
                yield _episode_frame(frame, order[part][:1], [np.zeros((1, _WIDTH))])
                continue
            wanted = [cells[i] for i in order[part]]
            blocks = (_read_blocks(conn, db, wanted) if rows is None
                      else [rows[cell[0]] for cell in wanted])
            yield _episode_frame(frame, order[part], blocks)


def _runs_of(configs: pd.DataFrame) -> Iterator[slice]:
    """The runs of equal rows (NaN equal to NaN) of sorted ``configs``, as slices."""
    shifted = configs.shift()
    changed = (configs.ne(shifted) & ~(configs.isna() & shifted.isna())).any(axis=1)
    if not len(configs):  # a store of no cell: no run config
        return
    starts = np.flatnonzero(changed.to_numpy())
    starts = [0, *starts[starts > 0].tolist()]
    yield from (slice(start, end) for start, end
                in zip(starts, [*starts[1:], len(configs)], strict=True))


def _episode_frame(cells: pd.DataFrame, positions: np.ndarray, blocks: Sequence[np.ndarray]
                   ) -> pd.DataFrame:
    """The episodes of the cells at ``positions`` of ``cells`` (config columns and seed),
    whose ``blocks`` these are, as :func:`load_results` gives them."""
    import pandas as pd

    lengths = [len(block) for block in blocks]
    values = np.concatenate(blocks) if blocks else np.empty((0, _WIDTH))
    columns = {"episode": np.concatenate([np.arange(1, n + 1) for n in lengths])
               if blocks else np.empty(0, np.int64)}
    for j, column in enumerate(BLOCK_COLUMNS):
        columns[column.name] = (values[:, j].astype(np.int64)
                                if column.sql == "INTEGER NOT NULL" else values[:, j])
    episodes = pd.DataFrame(columns)
    episodes["policy_optimal"] = episodes["policy_optimal"].astype("boolean")
    episodes["truncated"] = episodes["truncated"].astype(bool)
    config = cells.iloc[np.repeat(positions, lengths)].reset_index(drop=True)
    return pd.concat([config, episodes], axis=1)


def _cell_frame(cells: Sequence[StoredCell], db: Path) -> pd.DataFrame:
    """Stored cells as the run config's columns (:func:`_row`), then seed: a frame of the
    distinct configs, taken once per cell, so that each column's type is inferred from
    the values it holds as if it had been built row by row."""
    import pandas as pd

    texts = list(dict.fromkeys(cell[1] for cell in cells))
    rows = [_row(_json_object(text, "cells.config", db)) for text in texts]
    # a sequence setting (hidden widths) as text, "64×64": a table cell holds one value
    rows = [{k: "×".join(map(str, v)) if isinstance(v, list) else v for k, v in row.items()}
            for row in rows]
    place = {text: i for i, text in enumerate(texts)}
    frame = pd.DataFrame(rows).iloc[[place[cell[1]] for cell in cells]].reset_index(drop=True)
    frame["seed"] = np.array([cell[2] for cell in cells], dtype=np.int64)
    return frame


def _check_stored(conn: sqlite3.Connection, db: Path) -> None:
    """Refuse damaged stored cells and episodes, reading the blocks a batch at a time (a
    resumed run must refuse them before it runs a cell, and keeps little in memory).

    Raises:
        ConfigError: Naming what is damaged.
    """
    cells = _stored_cells(conn, db)
    if _is_rows(conn):
        _row_blocks(conn, db, cells)
        return
    for start in range(0, len(cells), _READ_BATCH):
        _read_blocks(conn, db, cells[start:start + _READ_BATCH])


def _row(stored: dict) -> dict:
    """A stored config as a row of today's columns, so that cells stored before a setting
    was added show its default as the cells stored after do (as stored, if it no longer
    makes a run config: an agent that cannot be imported here, a removed setting)."""
    try:
        return RunConfig(**stored).row()
    except ConfigError:
        return stored


def describe(out: str | Path) -> str:
    """What ``out`` holds, as text: the experiment, then per run config the seeds done,
    failed and missing.

    Raises:
        ConfigError: If ``out`` holds no results database, one of an older layout, or one
            that is damaged: not a whole SQLite file, tables other than this dynaq writes,
            an experiment or config that is not JSON, a seed that is not an integer (the
            episodes' values are checked by :func:`load_results`, which reads them).
    """
    db = Path(out) / DB_NAME
    with _reading(out, "dir") as conn:
        exp = _experiment(conn, db)
        current = _renamed_keys(conn, db) if _is_legacy(conn) else {}
        done = {current.get(cell[0], cell[0]) for cell in _stored_cells(conn, db)}
        failed = {current.get(k, k) for (k,) in conn.execute("SELECT cell_key FROM failures")}
    if exp is None:
        return f"{out}: {len(done)} cells, no experiment recorded"
    runs = [_stored_run(r, db) for r in exp["runs"]]
    rows = [run.row() for run in runs]
    varying = [k for k in rows[0] if k != "env"
               and len({json.dumps(row[k]) for row in rows}) > 1]
    header = ["run", "env", *varying, "done", "failed", "missing"]
    lines = [f"{out}: experiment {exp['name']!r}, {_count(len(runs), 'run config')} × "
             f"{_count(exp['seeds'], 'seed')}", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for i, (run, row) in enumerate(zip(runs, rows, strict=True)):
        keys = {cell_key(run, s) for s in range(exp["seeds"])}
        n_done, n_failed = len(keys & done), len(keys & failed)
        cells = [str(i), run.env, *(str(row[k]) if uses(run.agent, k) else ""
                                    for k in varying), str(n_done),
                 str(n_failed), str(exp["seeds"] - n_done - n_failed)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


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


EXPORT_FORMATS = ("csv", "parquet")
"""What :func:`export` writes, each named by the output's extension (``.csv``, ``.parquet``)."""


def export(out: str | Path, fmt: str | None = None, path: str | Path | None = None) -> Path:
    """Write every stored episode (:func:`load_results`) as CSV or Parquet; returns the path.

    The file is written one run config at a time (:func:`results_by_config`), so a sweep
    of 10^7 episodes is exported in the memory of its largest config; it is the file of
    :func:`load_results`'s frame: the same CSV bytes, the same Parquet frame read back.

    Args:
        out: The results directory.
        fmt: ``"csv"`` or ``"parquet"``; None: the extension of ``path`` says which (CSV
            when there is no ``path``). A format that contradicts the extension is refused,
            so a ``.parquet`` file never holds CSV text.
        path: Where to write (default: ``out/results.csv`` or ``out/results.parquet``).

    Raises:
        ConfigError: For an unknown format, a path whose extension names neither format
            when ``fmt`` is None, a format contradicting the extension, no results, Parquet
            without pyarrow, or an output path that is a directory or in a directory that
            does not exist or cannot be written (nothing is left behind).
    """
    if fmt is not None and fmt not in EXPORT_FORMATS:
        raise ConfigError(f"format must be csv or parquet, got {fmt!r}")
    target = None if path is None else Path(path)
    if target is not None and target.is_dir():
        raise ConfigError(f"output: {target} is a directory; give a file path")
    fmt = _export_format(fmt, target)
    # one row per config, no block read: refuses a missing or damaged database now
    heads = list(_frames(out, by_config=True, blocks=False))
    target = target if target is not None else Path(out) / f"results.{fmt}"
    if not target.parent.is_dir():
        raise ConfigError(f"output: the directory {target.parent} does not exist")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError("format parquet needs pyarrow: pip install 'dynaq[parquet]'"
                              ) from None
    # config by config (a sweep of 10^7 episodes in the memory of its largest config): a
    # config's frame has the columns and dtypes of the whole (results_by_config), so its
    # CSV lines are the whole frame's; an empty store has no config to write the header
    parts = results_by_config(out) if heads else [load_results(out)]
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if fmt == "csv":
            for i, part in enumerate(parts):
                part.to_csv(tmp, mode="a" if i else "w", header=not i, index=False)
        elif heads:
            _write_parquet(heads, parts, tmp)
        else:
            parts[0].to_parquet(tmp, index=False)
        os.replace(tmp, target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"output: cannot write {target}: {err.strerror or err}") from None
    except BaseException:  # damaged episodes met while writing, or Ctrl-C: leave nothing
        tmp.unlink(missing_ok=True)
        raise
    return target


def _write_parquet(heads: Sequence[pd.DataFrame], parts: Iterable[pd.DataFrame], path: Path
                   ) -> None:
    """Write ``parts`` (frames of :func:`load_results`) to ``path`` as one Parquet file of
    a row group or more each, which reads back as ``DataFrame.to_parquet(index=False)``
    of them all in one frame does.

    The schema, pandas' metadata in it included, is what pyarrow infers from ``heads``, a
    row of each config: a column is typed by the whole frame's dtype, or by the values it
    holds where that is object (None beside integers: integers with nulls), and every
    config's values are there.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(pd.concat(heads, ignore_index=True), preserve_index=False)
    with pq.ParquetWriter(path, schema) as writer:
        for part in parts:
            writer.write_table(pa.Table.from_pandas(part, schema=schema, preserve_index=False))


def _export_format(fmt: str | None, target: Path | None) -> str:
    """The format to write: ``fmt``, or the one the output's extension names."""
    suffix = target.suffix.lower().lstrip(".") if target is not None else ""
    if suffix in EXPORT_FORMATS and fmt not in (None, suffix):
        raise ConfigError(f"format {fmt} contradicts the output's extension .{suffix}: give "
                          f"--format {suffix} or an output ending in .{fmt}")
    if fmt is not None:
        return fmt
    if target is None:
        return "csv"
    if suffix not in EXPORT_FORMATS:
        raise ConfigError(f"output must end in .csv or .parquet (or give --format csv or "
                          f"parquet); got {target.name!r}")
    return suffix
