"""``dynaq compare`` and ``dynaq export`` on a real k × α sweep of the Dyna maze."""

import warnings

import numpy as np
import pandas as pd
import pytest

from dynaq import Experiment, RunConfig, execute, load_results
from dynaq.analysis.compare import compare
from dynaq.cli import main

KS, ALPHAS, SEEDS, EPISODES = (0, 5), (0.1, 0.5), 4, 6


def _runs(episodes=EPISODES, ks=KS):
    return tuple(RunConfig(env="dynaq/DynaMaze-v0", agent="dyna-q", planning_steps=k,
                           alpha=alpha, episodes=episodes) for k in ks for alpha in ALPHAS)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A results directory: k ∈ {0, 5} × α ∈ {0.1, 0.5}, 4 seeds, 6 episodes."""
    out = tmp_path_factory.mktemp("sweep")
    execute(Experiment("k-and-alpha", _runs(), SEEDS), out, quiet=True)
    return out


def _table(capsys):
    """The rows of the Markdown table that compare printed, as lists of cells."""
    lines = capsys.readouterr().out.splitlines()
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines
            if line.startswith("| ")][1:]


def test_compare_tests_k_within_each_alpha(sweep, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning on the way
        assert main(["compare", str(sweep), "--by", "planning_steps"]) == 0
    rows = _table(capsys)
    backups = rows[[r[0] for r in rows].index("backups"):][:4]
    assert [(r[1], r[2], r[-1] == "baseline") for r in backups] == [
        ("0", "0.1", True), ("5", "0.1", False), ("0", "0.5", True), ("5", "0.5", False)]
    df = load_results(sweep)
    t = compare(df, "planning_steps")
    alone = compare(df[df["alpha"] == 0.5], "planning_steps")
    mine = t[t["alpha"] == 0.5].drop(columns="alpha").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, alone)  # α = 0.5 against its own k = 0 only


def test_compare_by_k_is_by_planning_steps(sweep, capsys):
    assert main(["compare", str(sweep), "--by", "planning_steps"]) == 0
    expected = capsys.readouterr().out
    assert main(["compare", str(sweep), "--by", "k", "--baseline", "0"]) == 0
    assert capsys.readouterr().out == expected


def test_a_bad_baseline_lists_each_value_once(sweep, capsys):
    assert main(["compare", str(sweep), "--by", "k", "--baseline", "3"]) == 2
    err = capsys.readouterr().err
    assert err == "dynaq: error: baseline must be a value of planning_steps (0, 5); got '3'\n"


def test_wall_time_has_no_verdict(sweep, capsys):
    assert main(["compare", str(sweep)]) == 0
    rows = _table(capsys)
    wall = rows[[r[0] for r in rows].index("wall s / seed"):][:4]
    assert [r[-1] for r in wall] == ["baseline", "not tested", "baseline", "not tested"]
    assert all("the baseline's" in r[-2] and "[" not in r[-3] for r in wall[1::2])


def test_envs_are_never_pooled(tmp_path, capsys):
    runs = tuple(RunConfig(env=env, agent="dyna-q", planning_steps=k, episodes=4)
                 for env in ("dynaq/DynaMaze-v0", "dynaq/SinglePath9x9-v0") for k in KS)
    execute(Experiment("two-mazes", runs, 3), tmp_path, quiet=True)
    assert main(["compare", str(tmp_path), "--by", "k"]) == 0
    rows = _table(capsys)[:4]
    assert [(r[2], r[1]) for r in rows] == [
        ("dynaq/DynaMaze-v0", "0"), ("dynaq/DynaMaze-v0", "5"),
        ("dynaq/SinglePath9x9-v0", "0"), ("dynaq/SinglePath9x9-v0", "5")]
    assert [r[-1] for r in rows][::2] == ["baseline", "baseline"]


def test_a_grown_directory_is_compared_over_the_common_horizon(tmp_path, capsys):
    execute(Experiment("k-and-alpha", _runs(ks=(0,)), SEEDS), tmp_path, quiet=True)
    execute(Experiment("k-and-alpha", _runs(ks=(0,)) + _runs(episodes=3, ks=(5,)), SEEDS),
            tmp_path, quiet=True)
    assert main(["compare", str(tmp_path), "--by", "k"]) == 0
    out = capsys.readouterr().out
    assert "| measured over |" in out and "| first 3 episodes |" in out
    assert "Runs of different lengths" in out
    t = compare(load_results(tmp_path), "k", metrics=("backups",))
    cut = load_results(tmp_path).query("episode <= 3")
    means = cut.groupby(["planning_steps", "alpha", "seed"])["backups"].max().groupby(
        ["alpha", "planning_steps"]).mean()
    assert np.allclose(t["mean"], means.to_numpy())


@pytest.mark.parametrize("args, fmt", [
    (["--output", "rows.parquet"], "parquet"), (["--output", "rows.CSV"], "csv"),
    (["--output", "rows.txt", "--format", "csv"], "csv"),
    (["--output", "rows.dat", "--format", "parquet"], "parquet"),
])
def test_export_takes_the_format_from_the_extension(sweep, tmp_path, capsys, args, fmt):
    pytest.importorskip("pyarrow")
    target = tmp_path / args[1]
    assert main(["export", str(sweep), "--output", str(target), *args[2:]]) == 0
    assert capsys.readouterr().out == f"wrote {target}\n"
    read = pd.read_parquet if fmt == "parquet" else pd.read_csv
    assert len(read(target)) == len(KS) * len(ALPHAS) * SEEDS * EPISODES
    assert target.read_bytes().startswith(b"PAR1") == (fmt == "parquet")


@pytest.mark.parametrize("args, message", [
    (["--output", "rows.txt"], "output must end in .csv or .parquet (or give --format csv "
     "or parquet); got 'rows.txt'"),
    (["--output", "rows.csv", "--format", "parquet"],
     "format parquet contradicts the output's extension .csv"),
    (["--output", "rows.parquet", "--format", "csv"],
     "format csv contradicts the output's extension .parquet"),
])
def test_export_refuses_a_format_the_output_does_not_name(sweep, tmp_path, capsys, args,
                                                          message):
    args = [args[0], str(tmp_path / args[1]), *args[2:]]
    assert main(["export", str(sweep), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dynaq: error: ") and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_export_without_output_writes_into_the_directory(sweep, capsys):
    pytest.importorskip("pyarrow")
    assert main(["export", str(sweep), "--format", "parquet"]) == 0
    assert (sweep / "results.parquet").read_bytes().startswith(b"PAR1")
    assert main(["export", str(sweep)]) == 0
    assert (sweep / "results.csv").read_text().startswith("env,agent,")


def test_compare_and_export_read_the_results_config_by_config(mixed_results, tmp_path, capsys,
                                                              forbid_whole_frame):
    """dynaq compare prints the table of compare(load_results(DIR)), and dynaq export
    writes its CSV, without a frame of every row."""
    from dynaq.analysis.compare import compare_markdown

    whole = load_results(mixed_results)
    table = compare_markdown(compare(whole, "k", baseline=1))
    forbid_whole_frame()
    assert main(["compare", str(mixed_results), "--by", "k", "--baseline", "1"]) == 0
    assert capsys.readouterr().out == table + "\n"
    assert main(["export", str(mixed_results), "--output", str(tmp_path / "rows.csv")]) == 0
    assert (tmp_path / "rows.csv").read_bytes() == whole.to_csv(index=False).encode()
