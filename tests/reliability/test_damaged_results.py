"""Class 5 of the battery: a damaged results directory.

Every reader of a results directory (``dynaq ls``, ``compare``, ``report``, ``export``, a
``run`` resuming into it, and :func:`dynaq.load_results`) refuses a damaged
``results.sqlite`` with one ConfigError line naming it, and writes nothing: no lock file,
no journal, not a byte changed. The damage is done to a directory of this dynaq (episode
blocks) or, for the episodes rows of the older layout, to ``tests/data/legacy_run``.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from battery import assert_cli_error, assert_config_error, assert_main_error, cli, snapshot

from dynaq import load_results
from dynaq.cli import main
from dynaq.experiments.store import BLOCK_COLUMNS, DB_NAME
from dynaq.records import ADDED, STORED

RUN = ["run", "--env", "dynaq/DynaMaze-v0", "--episodes", "3", "--seeds", "2", "--quiet"]
LEGACY = Path(__file__).parents[1] / "data" / "legacy_run"
LEGACY_RUN = ["run", "--env", "dynaq/DynaMaze-v0", "--planning-steps", "0", "5", "--episodes",
              "3", "--seeds", "2", "--quiet"]
"""The run that wrote ``LEGACY`` (resuming it)."""

Damage = Callable[[Path], object]


def _sql(*statements: str) -> Damage:
    """A damage made by SQL statements run on the database, in one transaction."""
    def damage(db: Path) -> None:
        with closing(sqlite3.connect(db)) as conn, conn:
            for statement in statements:
                conn.execute(statement)
    return damage


def _recreated(*then: str, steps: str = "INTEGER NOT NULL",
               key: str = ", PRIMARY KEY (cell_key, episode)") -> Damage:
    """The episodes table of ``LEGACY`` (written before the columns ``ADDED``) made again by
    another tool, with ``steps`` declared as given and ``key`` as its primary key clause,
    then the statements ``then``."""
    columns = ", ".join(f"{c.name} {steps if c.name == 'steps' else c.sql}" for c in STORED
                        if c.name not in ADDED)
    return _sql("ALTER TABLE episodes RENAME TO old",
                f"CREATE TABLE episodes (cell_key TEXT NOT NULL, {columns}{key})",
                "INSERT INTO episodes SELECT * FROM old", "DROP TABLE old", *then)


def _block(edit: Callable[[np.ndarray], object]) -> Damage:
    """A damage to the values of one cell's episode block: ``edit`` changes them in place
    (rows are episodes, columns :data:`BLOCK_COLUMNS`)."""
    def damage(db: Path) -> None:
        with closing(sqlite3.connect(db)) as conn, conn:
            key, blob = conn.execute("SELECT cell_key, records FROM episode_blocks "
                                     "ORDER BY cell_key LIMIT 1").fetchone()
            values = np.frombuffer(blob).reshape(-1, len(BLOCK_COLUMNS)).copy()
            edit(values)
            conn.execute("UPDATE episode_blocks SET records = ? WHERE cell_key = ?",
                         (values.tobytes(), key))
    return damage


def _set(column: str, value: float) -> Damage:
    """Episode 2's ``column`` set to ``value`` in one block."""
    return _block(lambda values: values.__setitem__(
        (1, [c.name for c in BLOCK_COLUMNS].index(column)), value))


def _foreign(db: Path) -> None:
    db.unlink()
    _sql("CREATE TABLE notes (text TEXT)", "INSERT INTO notes VALUES ('mine')")(db)


def _directory(db: Path) -> None:
    db.unlink()
    db.mkdir()
    (db / "inside").write_text("")


DAMAGES: dict[str, tuple[Damage, str]] = {
    "truncated": (lambda db: db.write_bytes(db.read_bytes()[:db.stat().st_size // 2]),
                  "truncated"),
    "empty": (lambda db: db.write_bytes(b""), "empty"),
    "random bytes": (lambda db: db.write_bytes(random.Random(5).randbytes(8192)),
                     "not an SQLite database"),
    "foreign database": (_foreign, "no episodes table"),
    "meta not JSON": (_sql("UPDATE meta SET value = '{run' WHERE key = 'experiment'"),
                      "meta"),
    "meta not an experiment": (_sql("""UPDATE meta SET value = '{"name": "run"}' WHERE key = """
                                    "'experiment'"), "meta.experiment has no name, seeds"),
    "config not JSON": (_sql("UPDATE cells SET config = 'dyna-q' WHERE seed = 1"),
                        "cells.config"),
    "text for a seed": (_sql("UPDATE cells SET seed = 'one' WHERE seed = 1"), "cells.seed"),
    "a short block": (_sql("UPDATE episode_blocks SET records = substr(records, 1, 100)"),
                      "episode block of cell"),
    "text for a block": (_sql("UPDATE episode_blocks SET records = 'many'"),
                         "holds str, not 3 episodes"),
    "a cell without its block": (_sql("DELETE FROM episode_blocks WHERE rowid = 1"),
                                 "has no episode block"),
    "NaN for steps": (_set("steps", np.nan), "episodes.steps holds NULL, not a number"),
    "a fraction for steps": (_set("steps", 2.5), "episodes.steps holds 2.5, not an integer"),
    "infinite backups": (_set("backups", np.inf), "episodes.backups holds inf, not an integer"),
    "a 2 for a flag": (_set("policy_optimal", 2.0), "episodes.policy_optimal holds 2.0, not 0 "
                                                     "or 1"),
    "a directory": (_directory, "not a file"),
}

ROW_DAMAGES: dict[str, tuple[Damage, str]] = {
    "text for steps": (_sql("UPDATE episodes SET steps = 'many' WHERE episode = 2"),
                       "episodes.steps"),
    "text for a nullable number": (_sql("UPDATE episodes SET value_error = 'n/a' WHERE "
                                        "episode = 1"), "episodes.value_error"),
    "a fraction for a nullable flag": (_sql("UPDATE episodes SET policy_optimal = 0.5 WHERE "
                                            "episode = 1"), "episodes.policy_optimal"),
    "a 2 for a flag in a row": (_sql("UPDATE episodes SET policy_optimal = 2 WHERE episode = 1"),
                       "episodes.policy_optimal holds 2, not 0 or 1"),
    "NULL for steps": (_recreated("UPDATE episodes SET steps = NULL WHERE episode = 1",
                                  steps="INTEGER"), "episodes.steps"),
    "duplicated rows": (_recreated("INSERT INTO episodes SELECT * FROM episodes LIMIT 1",
                                   key=""), "episodes"),
    "a missing row": (_sql("DELETE FROM episodes WHERE episode = 2 AND cell_key = "
                           "(SELECT MIN(cell_key) FROM cells)"), "are not its episodes 1 to 3"),
}
"""Damages to the episodes rows of an older dynaq's database (``LEGACY``)."""
DAMAGES.update(ROW_DAMAGES)

READERS: dict[str, list[str] | None] = {
    "ls": ["ls"], "compare": ["compare"], "report": ["report"], "export": ["export"],
    "run": RUN, "load_results": None,
}
"""Each reader's command line before the directory (``run`` resumes: ``--out DIR``);
None: :func:`dynaq.load_results`."""

# ls lists cells, not episodes: damaged episode values leave what it prints right, and
# finding them would cost a scan of every row.
LS_READS_FINE = {"text for steps", "text for a nullable number",
                 "a fraction for a nullable flag", "a 2 for a flag in a row", "a missing row",
                 "a short block", "text for a block", "a cell without its block",
                 "NaN for steps", "a fraction for steps", "infinite backups", "a 2 for a flag"}


def _args(reader: str, out: Path, damage: str = "") -> list[str]:
    args = READERS[reader]
    assert args is not None
    if reader == "run":
        return [*(LEGACY_RUN if damage in ROW_DAMAGES else args), "--out", str(out)]
    return [*args, str(out)]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One results directory of a tiny finished run, to copy."""
    out = tmp_path_factory.mktemp("good") / "out"
    assert main([*RUN, "--out", str(out)]) == 0
    return out


def damaged(good: Path, tmp_path: Path, damage: str) -> Path:
    out = tmp_path / "out"
    shutil.copytree(LEGACY if damage in ROW_DAMAGES else good, out)
    DAMAGES[damage][0](out / DB_NAME)
    return out


@pytest.mark.parametrize("damage, reader", [
    pytest.param(d, r, id=f"{d}-{r}") for d in DAMAGES for r in READERS])
def test_a_damaged_database_is_one_line_and_nothing_changes(good, tmp_path, capsys, damage,
                                                              reader):
    out = damaged(good, tmp_path, damage)
    before = snapshot(out)
    named = (DB_NAME, str(out), DAMAGES[damage][1])
    if reader == "load_results":
        with pytest.raises(Exception) as excinfo:
            load_results(out)
        assert_config_error(excinfo, *named)
    elif reader == "ls" and damage in LS_READS_FINE:
        assert main(_args(reader, out)) == 0
        assert "| 2 | 0 | 0 |" in capsys.readouterr().out
    else:
        assert_main_error(capsys, main(_args(reader, out, damage)), *named)
    assert snapshot(out) == before


@pytest.mark.parametrize("damage, reader", [("truncated", "ls"), ("duplicated rows", "compare"),
                                            ("a fraction for steps", "report"),
                                            ("meta not JSON", "run")])
def test_the_real_command_refuses_a_damaged_database(good, tmp_path, damage, reader):
    out = damaged(good, tmp_path, damage)
    before = snapshot(out)
    assert_cli_error(cli(*_args(reader, out, damage), cwd=tmp_path), DB_NAME, str(out),
                     DAMAGES[damage][1])
    assert snapshot(out) == before


@pytest.mark.parametrize("damage, rc", [("a short block", 0), ("random bytes", 2)])
def test_force_new_discards_only_a_database_that_is_dynaqs(good, tmp_path, capsys, damage,
                                                           rc):
    """One with dynaq's episodes table, however damaged, not a file it cannot tell."""
    out = damaged(good, tmp_path, damage)
    before = snapshot(out)
    assert main([*_args("run", out), "--force-new"]) == rc
    if rc == 0:
        assert len(load_results(out)) == 2 * 3
    else:
        assert_main_error(capsys, rc, DB_NAME, str(out), DAMAGES[damage][1])
        assert snapshot(out) == before


@pytest.mark.parametrize("source", ["good", "legacy"])
def test_reading_a_sound_directory_writes_nothing(good, tmp_path, capsys, source):
    """Not even the journal files SQLite makes for a reader of a WAL database."""
    out = tmp_path / "out"
    shutil.copytree(good if source == "good" else LEGACY, out)
    before = snapshot(out)
    assert len(load_results(out)) == 2 * 3 * (2 if source == "legacy" else 1)
    for reader in ("ls", "compare"):
        assert main(_args(reader, out)) == 0
    capsys.readouterr()
    assert snapshot(out) == before


def test_a_report_into_a_read_only_directory_is_one_line(good, tmp_path, capsys,
                                                         monkeypatch):
    out = tmp_path / "out"
    shutil.copytree(good, out)
    before = snapshot(out)
    monkeypatch.setattr("os.access", lambda *_: False)  # a read-only directory, even as root
    assert_main_error(capsys, main(["report", str(out)]), str(out), "not writable")
    assert snapshot(out) == before
