"""The results database: resume without duplicates, refusal of foreign directories."""

import json
import sqlite3

import pytest

from dynaq import ConfigError, Experiment, RunConfig, execute, load_results
from dynaq.experiments.driver import Options
from dynaq.experiments.runner import run_cells
from dynaq.experiments.store import DB_NAME, Store, describe, stored_experiment

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
            conn.execute("DELETE FROM episode_blocks WHERE cell_key = ?", (k,))
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
        execute(small(seeds=2), out, quiet=True)
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


def _without_wall(df):
    return df.drop(columns="wall_s").reset_index(drop=True)


@pytest.mark.parametrize("grown", ["seeds", "configs", "both"])
def test_a_directory_grows_by_seeds_and_configs_bitwise(tmp_path, grown):
    """Growing runs only the new cells, and the directory then holds exactly what running
    the grown experiment from scratch gives (bit for bit, wall time aside)."""
    runs = (RunConfig(planning_steps=0, episodes=5), RunConfig(planning_steps=5, episodes=5))
    extra = (RunConfig(planning_steps=50, episodes=5),)
    seeds = 5 if grown != "configs" else 3
    bigger = Experiment("small", runs + (extra if grown != "seeds" else ()), seeds)
    out = tmp_path / "grown"
    execute(Experiment("small", runs, 3), out, quiet=True)
    before = load_results(out)
    execute(bigger, out, quiet=True)
    grown_df = load_results(out)
    execute(bigger, tmp_path / "fresh", quiet=True)
    assert _without_wall(grown_df).equals(_without_wall(load_results(tmp_path / "fresh")))
    old = grown_df.merge(before[["planning_steps", "seed", "episode", "wall_s"]],
                         on=["planning_steps", "seed", "episode"], suffixes=("", "_before"))
    assert len(old) == len(before)
    assert (old["wall_s"] == old["wall_s_before"]).all()  # the old cells were not rerun
    assert stored_experiment(out) == bigger.to_dict()


def test_a_directory_does_not_shrink_nor_change_its_name(tmp_path):
    out = tmp_path / "out"
    execute(small(seeds=3), out, quiet=True)
    before = (out / DB_NAME).read_bytes()
    for other in (small(seeds=2), small(seeds=5, name="other"),
                  Experiment("small", small().runs[:1], 3)):
        with pytest.raises(ConfigError, match="holds another experiment's results.*grows by "
                                              "seeds and run configs"):
            execute(other, out, quiet=True)
    assert (out / DB_NAME).read_bytes() == before


@pytest.mark.parametrize("runs", [
    (RunConfig(planning_steps=5, episodes=3),),
    (RunConfig(planning_steps=5, episodes=3), RunConfig(planning_steps=0, episodes=3)),
    (RunConfig(episodes=3), RunConfig(env="dynaq/SinglePath9x9-v0", episodes=3)),
])
def test_describe_prints_a_table_with_one_cell_per_column(tmp_path, runs):
    execute(Experiment("t", runs, 1), tmp_path, quiet=True)
    text = describe(tmp_path)
    assert "1 seed\n" in text and ("1 run config ×" in text) == (len(runs) == 1)
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(runs)
    widths = {line.count("|") for line in table}
    assert len(widths) == 1, table
    header = [c.strip() for c in table[0].strip("|").split("|")]
    assert header.count("env") == 1 and "" not in header


def test_describe_leaves_blank_a_setting_the_agent_lacks(tmp_path):
    runs = (RunConfig(agent="dyna-q", planning_steps=2, episodes=2),
            RunConfig(agent="dyna-q+", planning_steps=2, episodes=2, kappa=0.01))
    execute(Experiment("t", runs, 1), tmp_path, quiet=True)
    rows = [line for line in describe(tmp_path).splitlines() if line.startswith("| ")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    kappa = header.index("kappa")
    assert [[c.strip() for c in r.strip("|").split("|")][kappa] for r in rows[1:]] == ["",
                                                                                     "0.01"]


def test_results_come_sorted_and_config_by_config_as_one_frame(tmp_path):
    """load_results is sorted by the config columns, seed and episode (a config column
    with NaN in some rows, kappa, included); results_by_config gives it one config at a
    time, the same rows and dtypes once put end to end."""
    import pandas as pd

    from dynaq.analysis.stats import config_columns
    from dynaq.experiments.store import results_by_config

    runs = tuple(RunConfig(agent=agent, planning_steps=k, episodes=3)
                 for agent in ("dyna-q+", "dyna-q") for k in (5, 0))
    execute(Experiment("mixed", runs, 3), tmp_path, quiet=True)
    df = load_results(tmp_path)
    order = [*config_columns(df), "seed", "episode"]
    pd.testing.assert_frame_equal(df, df.sort_values(order, kind="stable", ignore_index=True),
                                  check_exact=True)
    parts = list(results_by_config(tmp_path))
    assert len(parts) == 4
    assert all(len(part.drop_duplicates(config_columns(df))) == 1 for part in parts)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), df, check_exact=True)


def test_export_writes_config_by_config_what_one_frame_of_every_row_writes(
        mixed_results, tmp_path, forbid_whole_frame):
    """CSV to the byte, and Parquet read back to the bit and dtype, with its schema (the
    columns of a config that holds None where another holds integers typed as the whole
    frame's), are those of load_results' frame; which is never made."""
    import pandas as pd
    import pyarrow.parquet as pq

    from dynaq.experiments.store import export

    whole = load_results(mixed_results)
    assert "object" in set(whole.dtypes.astype(str))  # a column whose type its values set
    whole.to_parquet(tmp_path / "whole.parquet", index=False)
    forbid_whole_frame()
    csv = export(mixed_results, "csv", tmp_path / "rows.csv")
    assert csv.read_bytes() == whole.to_csv(index=False).encode()
    parquet = export(mixed_results, "parquet", tmp_path / "rows.parquet")
    assert pq.ParquetFile(parquet).num_row_groups == 6  # a config each
    assert pq.read_schema(parquet).equals(pq.read_schema(tmp_path / "whole.parquet"),
                                          check_metadata=True)
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), whole, check_exact=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv", "rows.parquet",
                                                          "whole.parquet"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_of_no_episode_writes_the_columns(tmp_path, fmt):
    """A store of no cell (every one failed) has no config to give one at a time, and
    exports as load_results' empty frame."""
    import pandas as pd

    from dynaq.experiments.store import export, results_by_config

    Store(tmp_path, Experiment("t", (RunConfig(episodes=2),), 1)).close()
    assert list(results_by_config(tmp_path)) == []
    path = export(tmp_path, fmt)
    whole = load_results(tmp_path)
    if fmt == "csv":
        assert path.read_text() == whole.to_csv(index=False)
    else:
        pd.testing.assert_frame_equal(pd.read_parquet(path), whole)


def test_export_leaves_nothing_when_the_episodes_are_damaged(mixed_results, tmp_path):
    """Damaged episodes met while writing (past the first config) are refused, and the file
    being written is removed."""
    import shutil

    from dynaq.experiments.store import export

    out = tmp_path / "out"
    shutil.copytree(mixed_results, out)
    with sqlite3.connect(out / DB_NAME) as conn:
        key = conn.execute("SELECT cell_key FROM cells ORDER BY config DESC LIMIT 1").fetchone()
        conn.execute("UPDATE episode_blocks SET records = x'00' WHERE cell_key = ?", key)
    conn.close()
    with pytest.raises(ConfigError, match="not a dynaq results database"):
        export(out, "csv", tmp_path / "rows.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
