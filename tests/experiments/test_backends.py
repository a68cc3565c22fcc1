"""Backends give bitwise the same results; failures, locks, kill -9 and Ctrl-C are safe."""

import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from dynaq import ConfigError, Experiment, RunConfig, execute, load_results
from dynaq.experiments import backends
from dynaq.experiments.driver import TEST_SIGNAL_ENV, FailedCells, Options
from dynaq.experiments.store import DB_NAME, Store, describe, export

NUMBERS = ["steps", "return", "env_steps", "backups", "value_error", "policy_value",
           "model_error", "model_coverage"]


def small(seeds=5):
    return Experiment("small", (RunConfig(planning_steps=0, episodes=6),
                                RunConfig(planning_steps=5, episodes=6)), seeds)


def numbers(out):
    return load_results(out).sort_values(["planning_steps", "seed", "episode"])[
        ["planning_steps", "seed", "episode", *NUMBERS]].reset_index(drop=True)


def test_process_pool_equals_serial_bitwise(tmp_path):
    execute(small(), tmp_path / "serial", options=Options(quiet=True))
    execute(small(), tmp_path / "process",
            options=Options(backend="process", workers=2, chunk=2, quiet=True))
    assert numbers(tmp_path / "serial").equals(numbers(tmp_path / "process"))


def test_ray_equals_serial_bitwise(tmp_path):
    pytest.importorskip("ray")
    execute(small(3), tmp_path / "serial", options=Options(quiet=True))
    execute(small(3), tmp_path / "ray", options=Options(backend="ray", workers=2, chunk=2,
                                                        quiet=True))
    assert numbers(tmp_path / "serial").equals(numbers(tmp_path / "ray"))


def test_bad_options_are_refused_before_anything_is_written(tmp_path):
    for opts, message in ((Options(backend="mpi"), "backend must be one of serial"),
                          (Options(workers=0), "workers must be an integer >= 1"),
                          (Options(chunk=0), "chunk must be an integer >= 1"),
                          (Options(ray_address="auto"), "ray_address needs backend ray")):
        with pytest.raises(ConfigError, match=message):
            execute(small(), tmp_path / "out", options=opts)
    assert not (tmp_path / "out").exists()


def test_failed_cells_are_recorded_the_rest_stored_and_retried(tmp_path, monkeypatch):
    real = backends.run_cells

    def flaky(run, seeds, progress=None):
        if run.planning_steps == 5 and 3 in seeds:
            raise RuntimeError("boom")
        return real(run, seeds, progress)

    monkeypatch.setattr(backends, "run_cells", flaky)
    out = tmp_path / "out"
    with pytest.raises(FailedCells) as err:
        execute(small(), out, options=Options(quiet=True, chunk=2))
    (key, (seed, message)), = err.value.failures.items()
    assert seed == 3 and message == "RuntimeError: boom"
    with sqlite3.connect(out / DB_NAME) as conn:
        (tb,) = conn.execute("SELECT traceback FROM failures").fetchone()
    assert "RuntimeError: boom" in tb and "Traceback" in tb
    assert len(load_results(out)) == (2 * 5 - 1) * 6
    assert "| 4 | 1 | 0 |" in describe(out)
    with pytest.raises(FailedCells):  # a plain rerun skips the failed cell
        execute(small(), out, options=Options(quiet=True))
    monkeypatch.setattr(backends, "run_cells", real)
    execute(small(), out, options=Options(quiet=True, retry_failed=True))
    assert len(load_results(out)) == 2 * 5 * 6
    assert "| 5 | 0 | 0 |" in describe(out)


def test_a_second_writer_is_refused(tmp_path):
    out = tmp_path / "out"
    first = Store(out, small())
    try:
        with pytest.raises(ConfigError, match="being written by another dynaq process"):
            execute(small(), out, options=Options(quiet=True))
    finally:
        first.close()
    execute(small(), out, options=Options(quiet=True))  # released: now it runs


def test_different_config_is_refused_unless_force_new(tmp_path):
    out = tmp_path / "out"
    execute(small(), out, options=Options(quiet=True))
    other = Experiment("small", (RunConfig(planning_steps=0, episodes=6),
                                 RunConfig(planning_steps=50, episodes=6)), 5)
    with pytest.raises(ConfigError, match="1 run config.* only there, 1 only here, differing "
                                          "in planning_steps.*--force-new"):
        execute(other, out, options=Options(quiet=True))
    execute(other, out, options=Options(quiet=True, force_new=True))
    assert sorted(load_results(out)["planning_steps"].unique()) == [0, 50]


def test_export_csv_and_parquet(tmp_path):
    out = tmp_path / "out"
    execute(small(2), out, options=Options(quiet=True))
    csv = export(out, "csv")
    assert csv.read_text().startswith("env,agent,")
    pytest.importorskip("pyarrow")
    import pandas as pd

    assert len(pd.read_parquet(export(out, "parquet"))) == 2 * 2 * 6
    with pytest.raises(ConfigError, match="format must be csv or parquet"):
        export(out, "xlsx")


def _cli(out, *extra):
    return [sys.executable, "-m", "dynaq", "run", "--env", "dynaq/SinglePath9x9-v0",
            "--planning-steps", "0", "--seeds", "24", "--episodes", "60", "--chunk", "1",
            "--quiet", "--out", str(out), *extra]


def _signalled(spec):
    """The environment for a run that signals itself once cells are stored (the driver's
    test hook), so that where the run stops does not depend on timing."""
    return {**os.environ, TEST_SIGNAL_ENV: spec}


def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path):
    out, ref = tmp_path / "out", tmp_path / "ref"
    proc = subprocess.run(_cli(out), env=_signalled("3:SIGKILL"), capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(out / DB_NAME) as conn:
        before = conn.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
    assert before == 3
    subprocess.run(_cli(out), check=True, capture_output=True)
    subprocess.run(_cli(ref), check=True, capture_output=True)
    with sqlite3.connect(out / DB_NAME) as conn:
        assert conn.execute("SELECT COUNT(*) FROM cells").fetchone()[0] == 24
        # one episode block per cell (both tables are keyed by the cell): none repeated
        assert conn.execute("SELECT COUNT(*) FROM episode_blocks").fetchone()[0] == 24
    assert numbers(out).equals(numbers(ref))


def test_ctrl_c_exits_130_with_finished_cells_saved(tmp_path, sigint_default):
    out = tmp_path / "out"
    proc = subprocess.run(_cli(out, "--backend", "process", "--workers", "2"),
                          env=_signalled("2:SIGINT"), capture_output=True, text=True,
                          preexec_fn=sigint_default)
    assert proc.returncode == 130, proc.stderr
    assert "interrupted; finished cells are saved" in proc.stderr
    assert "Traceback" not in proc.stderr
    done = len(load_results(out)[["seed"]].drop_duplicates())
    assert done == 2
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]


def test_when_every_cell_fails_nothing_but_the_failures_is_written(tmp_path, monkeypatch):
    def broken(run, seeds, progress=None):
        raise ValueError("no")

    monkeypatch.setattr(backends, "run_cells", broken)
    with pytest.raises(FailedCells) as err:
        execute(small(2), tmp_path / "out", options=Options(quiet=True))
    assert len(err.value.failures) == 4
    assert "| 0 | 2 | 0 |" in describe(tmp_path / "out")
    assert not (tmp_path / "out" / "summary.md").exists()
