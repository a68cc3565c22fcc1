"""Cell keys hash only what differs from the defaults: a new defaulted field keeps every key,
and a directory written by the dynaq whose keys hashed every field resumes.

``tests/data/legacy_run`` was written by that dynaq (commit a5e59bd) with
``dynaq run --env dynaq/DynaMaze-v0 --agent dyna-q --planning-steps 0 5 --seeds 2
--episodes 3`` (its ``steps_per_episode.png`` and ``summary.md`` left out).
"""

import json
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dynaq import ConfigError, DynaQ, DynaQConfig, Experiment, RunConfig, load_results, summarize
from dynaq.agents import AGENTS
from dynaq.analysis.stats import OUTCOME_METRICS
from dynaq.cli import main
from dynaq.experiments.config import cell_key
from dynaq.experiments.store import (
    BLOCK_COLUMNS,
    DB_NAME,
    KEY_SCHEME,
    Store,
    describe,
    stored_experiment,
)
from dynaq.records import ADDED

LEGACY = Path(__file__).parents[1] / "data" / "legacy_run"
ARGS = ["run", "--env", "dynaq/DynaMaze-v0", "--agent", "dyna-q", "--planning-steps", "0", "5",
        "--seeds", "2", "--episodes", "3", "--quiet"]
RUNS = [RunConfig(env="dynaq/DynaMaze-v0", planning_steps=k, episodes=3) for k in (0, 5)]


@dataclass(frozen=True)
class WiderConfig(DynaQConfig):
    """Dyna-Q's config as it might grow."""

    temperature: float = 1.0
    """A setting added later, at a default that does what the code did before."""


class WiderDynaQ(DynaQ):
    name = "dyna-q"
    Config = WiderConfig


@pytest.fixture
def wider(monkeypatch):
    """Dyna-Q registered with one more defaulted field."""
    monkeypatch.setitem(AGENTS, "dyna-q", WiderDynaQ)


def legacy_copy(tmp_path: Path) -> Path:
    out = tmp_path / "legacy"
    shutil.copytree(LEGACY, out)
    return out


def stored(out: Path) -> tuple[set[str], list[tuple], dict[str, str]]:
    """The cell keys, every episode row with its cell's config and seed instead of its key
    (from the episodes rows of the older layout, or the episode blocks, NaN as None), and
    the meta table."""
    with sqlite3.connect(out / DB_NAME) as conn:
        keys = {k for (k,) in conn.execute("SELECT cell_key FROM cells")}
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'episodes'").fetchone():
            rows = sorted(r[:2] + r[3:] for r in conn.execute(
                "SELECT c.config, c.seed, e.* FROM episodes e JOIN cells c USING (cell_key)"))
        else:
            rows = sorted((config, seed, episode, *_row_values(values))
                          for config, seed, blob in conn.execute(
                              "SELECT c.config, c.seed, b.records FROM episode_blocks b "
                              "JOIN cells c USING (cell_key)")
                          for episode, values in enumerate(
                              np.frombuffer(blob).reshape(-1, len(BLOCK_COLUMNS)), 1))
        meta = dict(conn.execute("SELECT key, value FROM meta"))
    return keys, rows, meta


def _row_values(values: np.ndarray) -> tuple:
    """An episode's block values as SQLite gives the episodes row: NULL as None, an
    INTEGER column as int."""
    return tuple(None if np.isnan(v) else int(v) if c.sql.startswith("INTEGER") else float(v)
                 for c, v in zip(BLOCK_COLUMNS, values, strict=True))


def test_keys_hash_only_what_differs_from_the_defaults():
    run = RunConfig(planning_steps=5, episodes=3, alpha=0.1)  # alpha at its default
    assert run.to_dict() == {"env": "dynaq/DynaMaze-v0", "agent": "dyna-q", "episodes": 3,
                             "planning_steps": 5}
    assert run.key() == RunConfig(planning_steps=5, episodes=3).key()
    assert RunConfig(**run.to_dict()) == run


def test_a_new_defaulted_field_keeps_every_key(request):
    before = [(r.key(), cell_key(r, 1)) for r in RUNS]
    experiment = Experiment("run", tuple(RUNS), 2)
    fingerprint = experiment.fingerprint()
    request.getfixturevalue("wider")
    wider = [RunConfig(env="dynaq/DynaMaze-v0", planning_steps=k, episodes=3) for k in (0, 5)]
    assert isinstance(wider[0].config, WiderConfig) and "temperature" in RunConfig.columns()
    assert [(r.key(), cell_key(r, 1)) for r in wider] == before
    assert Experiment("run", tuple(wider), 2).fingerprint() == fingerprint
    assert RunConfig(planning_steps=5, episodes=3, temperature=2.0).key() != before[1][0]


def test_a_directory_written_before_resumes_without_rerunning_a_cell(tmp_path, capsys):
    out = legacy_copy(tmp_path)
    keys, rows, meta = stored(out)
    assert "keys" not in meta and len(keys) == 4
    assert main([*ARGS, "--out", str(out)]) == 0
    assert re.search(r"\ndynaq/DynaMaze-v0 +dyna-q +5 +2 ", capsys.readouterr().out)
    new_keys, new_rows, new_meta = stored(out)
    # the very episodes (wall times included): nothing ran again; the columns added since
    # (records.ADDED) were added, empty
    width = len(rows[0])
    assert [r[:width] for r in new_rows] == rows
    assert {r[width:] for r in new_rows} == {(None,) * len(ADDED)}
    assert new_keys == {cell_key(r, s) for r in RUNS for s in range(2)} != keys
    assert new_meta["keys"] == KEY_SCHEME
    assert json.loads(new_meta["experiment"]) == Experiment("run", tuple(RUNS), 2).to_dict()
    # the summary has the old columns and values (in today's column order), and a column
    # for each setting and summary metric added since
    old = pd.read_csv(LEGACY / "summary.csv")
    new = pd.read_csv(out / "summary.csv")
    assert set(old.columns) <= set(new.columns)
    outcomes = {f"{m}{end}" for m in OUTCOME_METRICS for end in ("", "_lo", "_hi")}
    assert set(new.columns) - set(old.columns) <= set(RunConfig.columns()) | outcomes
    config = [c for c in RunConfig.columns() if c in old.columns]
    pd.testing.assert_frame_equal(new[config], old[config])
    assert main([*ARGS, "--out", str(out)]) == 0  # migrated once: a second run is a no-op
    assert stored(out)[:2] == (new_keys, new_rows)


def test_ls_and_compare_read_a_directory_written_before_without_writing_it(tmp_path, capsys):
    out = legacy_copy(tmp_path)
    before = (out / DB_NAME).read_bytes()
    text = describe(out)
    assert text.count("| 2 | 0 | 0 |") == 2 and "planning_steps" in text
    assert stored_experiment(out) == Experiment("run", tuple(RUNS), 2).to_dict()
    df = load_results(out)
    assert len(df) == 2 * 2 * 3 and set(RunConfig.columns()) <= set(df.columns)
    assert summarize(df)["planning_steps"].tolist() == [0, 5]
    assert main(["compare", str(out), "--by", "planning_steps"]) == 0
    assert "planning_steps" in capsys.readouterr().out
    assert main(["ls", str(out)]) == 0
    assert (out / DB_NAME).read_bytes() == before


def test_cells_stored_before_a_field_was_added_read_as_its_default(tmp_path, wider):
    """Old and new cells of one config stay one row of the summary."""
    out = legacy_copy(tmp_path)
    with sqlite3.connect(out / DB_NAME) as conn:  # lose a cell, to be run with the new field
        (key,) = conn.execute("SELECT cell_key FROM cells LIMIT 1").fetchone()
        conn.execute("DELETE FROM episodes WHERE cell_key = ?", (key,))
        conn.execute("DELETE FROM cells WHERE cell_key = ?", (key,))
    assert main([*ARGS, "--out", str(out)]) == 0
    summary = summarize(load_results(out))
    assert summary["temperature"].tolist() == [1.0, 1.0] and summary["seeds"].tolist() == [2, 2]


def test_a_stored_config_that_no_longer_loads_is_one_line(tmp_path):
    out = legacy_copy(tmp_path)
    with sqlite3.connect(out / DB_NAME) as conn:
        conn.execute("UPDATE cells SET config = json_set(config, '$.agent', 'sarsa')")
    with pytest.raises(ConfigError, match="holds a run config this dynaq cannot read .*sarsa"):
        describe(out)


def test_failures_of_a_directory_written_before_are_migrated_too(tmp_path):
    out = legacy_copy(tmp_path)
    with sqlite3.connect(out / DB_NAME) as conn:  # one finished cell becomes a failed one
        key, config, seed = conn.execute(
            "SELECT cell_key, config, seed FROM cells ORDER BY cell_key LIMIT 1").fetchone()
        conn.execute("DELETE FROM episodes WHERE cell_key = ?", (key,))
        conn.execute("DELETE FROM cells WHERE cell_key = ?", (key,))
        conn.execute("INSERT INTO failures VALUES (?, ?, ?, 'boom', 'Traceback …')",
                     (key, config, seed))
    assert "| 1 | 1 | 0 |" in describe(out)
    failed = cell_key(RunConfig(**json.loads(config)), seed)
    store = Store(out, Experiment("run", tuple(RUNS), 2))
    try:
        assert store.failed() == {failed: (seed, "boom")}
        assert store.done_keys() == {cell_key(r, s) for r in RUNS for s in range(2)} - {failed}
    finally:
        store.close()
