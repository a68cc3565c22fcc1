"""The results database: resume without duplicates, refusal of foreign directories."""

import json
import sqlite3

import pytest

from dynaq import ConfigError, Experiment, RunConfig, execute, load_results
from dynaq.experiments.driver import Options
from dynaq.experiments.runner import run_cells
from dynaq.experiments.store import DB_NAME, Store

CONTRACT_COLUMNS = ["env", "agent", "model", "planning_steps", "seed", "episode", "steps",
                    "return", "env_steps", "backups", "value_error", "policy_value",
                    "policy_optimal", "wall_s"]


def small(seeds=3, name="small"):
    return Experiment(name, (RunConfig(planning_steps=0, episodes=5),
                             RunConfig(planning_steps=5, episodes=5)), seeds)


def test_load_results_has_the_contract_columns(tmp_path):
    execute(small(), tmp_path / "out", quiet=True)
    df = load_results(tmp_path / "out")
    assert set(CONTRACT_COLUMNS) <= set(df.columns)
    assert len(df) == 2 * 3 * 5
    assert df.groupby(["planning_steps", "seed"]).size().eq(5).all()
    assert df["policy_optimal"].dtype == "boolean"


def test_rerun_resumes_without_duplicates(tmp_path):
    out = tmp_path / "out"
    execute(small(), out, quiet=True)
    full = load_results(out)
    with sqlite3.connect(out / DB_NAME) as conn:  # lose two cells, as a killed run would
        keys = [k for (k,) in conn.execute("SELECT cell_key FROM cells LIMIT 2")]
        for k in keys:
            conn.execute("DELETE FROM episodes WHERE cell_key = ?", (k,))
            conn.execute("DELETE FROM cells WHERE cell_key = ?", (k,))
    assert len(load_results(out)) == len(full) - 10
    execute(small(), out, quiet=True)
    again = load_results(out)
    execute(small(), out, quiet=True)  # nothing left to do: nothing added
    assert len(load_results(out)) == len(full)
    cols = [c for c in full.columns if c != "wall_s"]
    assert again[cols].equals(full[cols])


def test_a_cell_is_stored_once(tmp_path):
    exp = small(seeds=1)
    store = Store(tmp_path, exp)
    cells = run_cells(exp.runs[0], [0])
    store.write(cells)
    with pytest.raises(sqlite3.IntegrityError):
        store.write(cells)
    store.close()


def test_another_experiment_is_refused_and_nothing_changes(tmp_path):
    out = tmp_path / "out"
    execute(small(), out, quiet=True)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    with pytest.raises(ConfigError, match="holds another experiment's results"):
        execute(small(seeds=4), out, quiet=True)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_non_dynaq_directory_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty and holds no dynaq results"):
        execute(small(), tmp_path, quiet=True)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_load_results_of_nothing(tmp_path):
    with pytest.raises(ConfigError, match="no dynaq results"):
        load_results(tmp_path)


def test_a_database_of_an_older_layout_is_refused_unless_force_new(tmp_path):
    """An older dynaq wrote no failures table and fewer episode columns: reading it gives
    one line saying so, and --force-new starts afresh."""
    from dynaq.experiments.store import describe

    exp = small()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE cells (cell_key TEXT PRIMARY KEY, config TEXT, seed INTEGER, "
            "episodes INTEGER);"
            "CREATE TABLE episodes (cell_key TEXT, episode INTEGER, steps INTEGER);")
        conn.execute("INSERT INTO meta VALUES ('experiment', ?)",
                     (json.dumps(exp.to_dict()),))
    for read in (load_results, describe, lambda out: Store(out, exp)):
        with pytest.raises(ConfigError, match="older dynaq .*lacks .*v_star_start.*failures.*"
                                              "--force-new") as err:
            read(tmp_path)
        assert "\n" not in str(err.value)
    execute(exp, tmp_path, quiet=True, options=Options(force_new=True))
    assert len(load_results(tmp_path)) == 2 * 3 * 5
