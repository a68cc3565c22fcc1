"""The driver writes every output of a directory, and only after validating everything."""

import pandas as pd
import pytest

from dynaq import ConfigError, Experiment, RunConfig, execute
from dynaq.experiments.driver import Options


def test_outputs_are_written(tmp_path):
    exp = Experiment("demo", (RunConfig(planning_steps=0, episodes=12),
                              RunConfig(planning_steps=50, episodes=12)), 4)
    summary = execute(exp, tmp_path / "out", quiet=True)
    out = tmp_path / "out"
    for name in ("results.sqlite", "summary.csv", "summary.md", "steps_per_episode.png",
                 "config.toml"):
        assert (out / name).stat().st_size > 0, name
    assert Experiment.from_toml(out / "config.toml") == exp
    assert (out / "steps_per_episode.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv = pd.read_csv(out / "summary.csv")
    assert list(csv["planning_steps"]) == [0, 50] and list(summary["seeds"]) == [4, 4]
    md = (out / "summary.md").read_text()
    assert "| dynaq/DynaMaze-v0 | dyna-q | 50 | 4 |" in md
    assert not list(out.glob(".*.tmp"))


def test_invalid_run_writes_nothing(tmp_path):
    exp = Experiment("bad", (RunConfig(episodes=3), RunConfig(env="CartPole-v1", episodes=3)),
                     2)
    with pytest.raises(ConfigError):
        execute(exp, tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("run", "plots", "book"), [
    (RunConfig(planning_steps=5, episodes=12), {"steps_per_episode.png"}, True),
    (RunConfig(env="dynaq/ShortcutMaze-v0", planning_steps=5, total_steps=400, episodes=None),
     {"steps_per_episode.png", "cumulative_reward.png"}, False),
    (RunConfig(env="FrozenLake-v1", planning_steps=5, model="counts", episodes=12),
     {"steps_per_episode.png", "return.png"}, False),
])
def test_the_plots_fit_the_task_and_figure_8_2_is_named_only_for_its_maze(tmp_path, run,
                                                                           plots, book):
    execute(Experiment("run", (run,), 2), tmp_path, quiet=True)
    assert {p.name for p in tmp_path.glob("*.png")} == plots
    md = (tmp_path / "summary.md").read_text()
    for name in plots:
        assert f"]({name})" in md
    assert ("Figure 8.2" in md) == book


@pytest.mark.parametrize("runs", [
    (RunConfig(planning_steps=0, episodes=12), RunConfig(planning_steps=5, episodes=12)),
    (RunConfig(env="dynaq/ShortcutMaze-v0", planning_steps=5, total_steps=300, episodes=None),),
    (RunConfig(env="FrozenLake-v1", planning_steps=5, model="counts", episodes=8),
     RunConfig(env="CliffWalking-v1", agent="q-learning", episodes=3)),
])
def test_outputs_computed_config_by_config_are_those_of_the_whole_frame(tmp_path, runs):
    """The driver summarises and plots the stored results one run config at a time: the
    summary is summarize's of load_results, value for value and dtype for dtype, and each
    plot is, byte for byte, the one plots draws from the whole frame; fresh, grown by
    seeds, grown by a run config and run again with nothing new."""
    from dynaq.analysis.plots import plot_cumulative_reward, plot_curves, plot_metric
    from dynaq.analysis.stats import summarize
    from dynaq.experiments.store import load_results

    out, whole = tmp_path / "out", tmp_path / "whole"
    whole.mkdir()
    for exp in (Experiment("grow", runs[:1], 3), Experiment("grow", runs[:1], 5),
                Experiment("grow", runs, 5), Experiment("grow", runs, 5)):
        summary = execute(exp, out, quiet=True)
        df = load_results(out)
        pd.testing.assert_frame_equal(summary, summarize(df), check_exact=True)
        plot_curves(df, whole / "steps_per_episode.png", y="steps",
                    first=2 if df["episode"].max() >= 10 else 1, ylabel="steps per episode")
        plot_cumulative_reward(df, whole / "cumulative_reward.png")
        plot_metric(df, "return", whole / "return.png")
        drawn = sorted(p.name for p in out.glob("*.png"))
        assert "steps_per_episode.png" in drawn
        for name in drawn:
            assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def test_ctrl_c_of_a_serial_run_keeps_the_stored_cells_and_resumes(tmp_path, sigint_default):
    """Ctrl-C of a serial run (its cells in the driver's own process) exits 130 with
    exactly the stored cells kept, and a rerun completes it as one uninterrupted run
    computes it: the cells kept in memory for the outputs change nothing of that."""
    import os
    import subprocess
    import sys

    from dynaq.experiments.driver import TEST_SIGNAL_ENV
    from dynaq.experiments.store import load_results

    def cli(out):
        return [sys.executable, "-m", "dynaq", "run", "--env", "dynaq/DynaMaze-v0",
                "--planning-steps", "5", "--seeds", "12", "--episodes", "10", "--chunk", "2",
                "--quiet", "--out", str(out)]

    out, ref = tmp_path / "out", tmp_path / "ref"
    proc = subprocess.run(cli(out), env={**os.environ, TEST_SIGNAL_ENV: "4:SIGINT"},
                          capture_output=True, text=True, preexec_fn=sigint_default)
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(load_results(out)["seed"].unique()) == [0, 1, 2, 3]
    subprocess.run(cli(out), check=True, capture_output=True)
    subprocess.run(cli(ref), check=True, capture_output=True)
    pd.testing.assert_frame_equal(load_results(out).drop(columns="wall_s"),
                                  load_results(ref).drop(columns="wall_s"), check_exact=True)


def test_a_unit_that_cannot_be_stored_stops_the_run_with_the_units_before_it_kept(
        tmp_path, monkeypatch):
    """Units are written in a thread of the store's own while the next one computes: an
    error writing one is raised by execute all the same, and what was committed before
    it stays, for a rerun to resume from."""
    import threading

    from dynaq import load_results
    from dynaq.experiments.store import Store

    write, threads = Store.write, set()

    def full_after_four(store, cells, failures=()):
        threads.add(threading.current_thread().name)
        if len(store.done_keys()) >= 4:
            raise OSError("disk full")
        write(store, cells, failures)

    monkeypatch.setattr(Store, "write", full_after_four)
    exp = Experiment("demo", (RunConfig(planning_steps=5, episodes=5),), 12)
    with pytest.raises(OSError, match="disk full"):
        execute(exp, tmp_path, options=Options(quiet=True, chunk=2))
    assert sorted(load_results(tmp_path)["seed"].unique()) == [0, 1, 2, 3]
    assert threads and threading.current_thread().name not in threads
    monkeypatch.setattr(Store, "write", write)
    execute(exp, tmp_path, options=Options(quiet=True, chunk=2))
    assert sorted(load_results(tmp_path)["seed"].unique()) == list(range(12))
