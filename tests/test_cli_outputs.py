"""What the commands show: dynaq plot, heatmap and animate, and the terminal summary."""

import re
import sqlite3

import numpy as np
import pytest
from PIL import Image

from dynaq import load_results
from dynaq.analysis.plots import step_axis
from dynaq.analysis.values import stored_run_q
from dynaq.cli import main
from dynaq.experiments.config import RunConfig
from dynaq.experiments.runner import run_cells
from dynaq.experiments.store import BLOCK_COLUMNS

PNG = b"\x89PNG\r\n\x1a\n"
RUN = ["run", "--episodes", "4", "--seeds", "2", "--quiet"]


@pytest.fixture(scope="module")
def maze(tmp_path_factory):
    """A Dyna maze run of k = 0 and 5, 2 seeds."""
    out = tmp_path_factory.mktemp("maze") / "out"
    assert main([*RUN, "--env", "dynaq/DynaMaze-v0", "--planning-steps", "0", "5",
                 "--out", str(out)]) == 0
    return out


def one_error_line(capsys, message):
    err = capsys.readouterr().err
    assert err.startswith("dynaq: error: ") and message in err and err.count("\n") == 1


def test_plot_writes_the_metric_and_prints_where(maze, capsys):
    assert main(["plot", str(maze), "--metric", "value_error"]) == 0
    assert capsys.readouterr().out == f"wrote {maze / 'value_error.png'}\n"
    assert (maze / "value_error.png").read_bytes().startswith(PNG)
    target = maze.parent / "r.png"
    assert main(["plot", str(maze), "--metric", "return", "--output", str(target)]) == 0
    assert target.read_bytes().startswith(PNG)


def test_plot_refuses_a_bad_metric_naming_the_allowed(maze, capsys):
    assert main(["plot", str(maze), "--metric", "nope"]) == 2
    one_error_line(capsys, "metric must be one of steps, return, env_steps")
    assert not (maze / "nope.png").exists()
    assert main(["plot", str(maze), "--output", str(maze / "no" / "x.png")]) == 2
    one_error_line(capsys, "output: ")


def test_steps_runs_are_plotted_against_real_steps(tmp_path, capsys):
    out = tmp_path / "steps"
    assert main(["run", "--env", "dynaq/DynaMaze-v0", "--steps", "300", "--seeds", "2",
                 "--planning-steps", "5", "--quiet", "--out", str(out)]) == 0
    assert "cumulative reward" in capsys.readouterr().out
    assert step_axis(load_results(out)) == "env_steps"
    assert main(["plot", str(out), "--metric", "steps"]) == 0
    from dynaq.analysis.plots import plot_metric  # the same, config by config

    whole = plot_metric(load_results(out), "steps", tmp_path / "whole.png")
    assert (out / "steps.png").read_bytes() == whole.read_bytes()


def test_heatmap_draws_the_stored_runs_final_q(maze, capsys):
    assert main(["heatmap", str(maze), "--config", "1", "--seed", "1"]) == 0
    path = maze / "values_config1_seed1.png"
    assert capsys.readouterr().out == f"wrote {path}\n" and path.read_bytes().startswith(PNG)
    run, Q = stored_run_q(maze, config=1, seed=1)
    assert run.planning_steps == 5
    (again,) = run_cells(RunConfig(env="dynaq/DynaMaze-v0", agent="dyna-q",
                                   planning_steps=5, episodes=4), [1])
    assert np.array_equal(Q, again.Q) and Q.max() > 0


@pytest.mark.parametrize("args, message", [
    (["--config", "2"], "config must be in [0, 1]"),
    (["--seed", "7"], "holds no episodes of seed 7"),
])
def test_heatmap_refuses_a_missing_cell(maze, capsys, args, message):
    assert main(["heatmap", str(maze), *args]) == 2
    one_error_line(capsys, message)


def test_heatmap_refuses_a_rerun_that_differs_from_the_store(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*RUN, "--env", "dynaq/DynaMaze-v0", "--planning-steps", "5",
                 "--out", str(out)]) == 0
    with sqlite3.connect(out / "results.sqlite") as conn:  # one more step in episode 2
        for key, blob in conn.execute("SELECT cell_key, records FROM episode_blocks").fetchall():
            values = np.frombuffer(blob).reshape(-1, len(BLOCK_COLUMNS)).copy()
            values[1, [c.name for c in BLOCK_COLUMNS].index("steps")] += 1
            conn.execute("UPDATE episode_blocks SET records = ? WHERE cell_key = ?",
                         (values.tobytes(), key))
    assert main(["heatmap", str(out)]) == 2
    one_error_line(capsys, "does not reproduce the stored episodes")


def test_heatmap_needs_a_gridworld(tmp_path, capsys):
    out = tmp_path / "lake"
    assert main([*RUN, "--env", "FrozenLake-v1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["heatmap", str(out)]) == 2
    one_error_line(capsys, "env must be a dynaq gridworld")
    assert not list(out.glob("values*"))


def test_animate_an_env_and_a_directory(maze, tmp_path, capsys):
    gif = tmp_path / "flood.gif"
    assert main(["animate", "dynaq/DynaMaze-v0", "--k", "0", "5", "--episodes", "2",
                 "--frames", "4", "--output", str(gif)]) == 0
    with Image.open(gif) as image:
        assert image.n_frames >= 2 and image.size[0] > 2 * image.size[1]
    assert main(["animate", str(maze), "--episodes", "1", "--frames", "2"]) == 0
    assert capsys.readouterr().out.endswith(f"wrote {maze / 'flood.gif'}\n")


@pytest.mark.parametrize("args, message", [
    (["FrozenLake-v1"], "env must be a dynaq gridworld"),
    (["dynaq/DynaMaze-v0", "--k", "-1"], "k must be an integer in [0, "),
    (["dynaq/DynaMaze-v0", "--episodes", "0"], "episodes must be an integer in [1, "),
])
def test_animate_refuses_in_one_line(tmp_path, capsys, args, message):
    assert main(["animate", *args, "--output", str(tmp_path / "x.gif")]) == 2
    one_error_line(capsys, message)
    assert not list(tmp_path.iterdir())


def test_the_terminal_summary_is_plain_text(maze, tmp_path, capsys):
    out = tmp_path / "again"
    assert main(["run", "--config", str(maze), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "![" not in printed and "|" not in printed and "##" not in printed
    assert f"plot: {out / 'steps_per_episode.png'} (steps per episode)" in printed
    header, rule, *rows = [line for line in printed.splitlines() if line.startswith(
        ("env ", "---", "dynaq/"))]
    starts = [m.start() for m in re.finditer(r"(?<=  )\S", header)]
    for row in rows:  # every cell starts under its header
        assert all(row[i - 2:i] == "  " and row[i] != " " for i in starts)


def test_stochastic_worlds_summarize_return_and_success(tmp_path, capsys):
    assert main([*RUN, "--env", "FrozenLake-v1", "--out", str(tmp_path / "lake")]) == 0
    header = next(line for line in capsys.readouterr().out.splitlines()
                  if line.startswith("env "))
    assert "mean return" in header and "success rate" in header
    assert main([*RUN, "--env", "dynaq/DynaMaze-v0", "--out", str(tmp_path / "maze")]) == 0
    assert "success rate" not in capsys.readouterr().out


@pytest.mark.parametrize("metric", ["steps", "value_error", "policy_optimal", "model_error"])
def test_plot_reads_the_results_config_by_config(mixed_results, tmp_path, capsys, metric,
                                                 forbid_whole_frame):
    """dynaq plot draws plot_metric of load_results(DIR) to the byte, without that frame."""
    from dynaq.analysis.plots import plot_metric

    whole = plot_metric(load_results(mixed_results), metric, tmp_path / "whole.png")
    forbid_whole_frame()
    target = tmp_path / "plot.png"
    assert main(["plot", str(mixed_results), "--metric", metric, "--output", str(target)]) == 0
    assert target.read_bytes() == whole.read_bytes()
