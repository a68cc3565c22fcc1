"""The dynaq command: bad input exits 2 with one clear line, no traceback, nothing written."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dynaq import load_results
from dynaq.cli import main

BASE = ["run", "--env", "dynaq/DynaMaze-v0", "--episodes", "3", "--seeds", "2", "--quiet"]


@pytest.mark.parametrize("args, message", [
    (["--env", "Nope-v0"], "env must be a registered Gymnasium id; got 'Nope-v0'"),
    (["--agent", "sarsa"], "agent must be one of q-learning, dyna-q"),
    (["--planning-steps", "-1"], "planning_steps must be an integer in [0, "),
    (["--alpha", "0"], "alpha must be in (0, 1]"),
    (["--alpha", "1.5"], "alpha must be in (0, 1]"),
    (["--gamma", "1.2"], "gamma must be in [0, 1]"),
    (["--epsilon", "-0.1"], "epsilon must be in [0, 1]"),
    (["--seeds", "0"], "seeds must be an integer in [1, "),
    (["--episodes", "0"], "episodes must be an integer in [1, "),
    (["--episodes", "None", "--steps", "0"], "total_steps must be an integer in [1, "),
    (["--steps", "100"], "give exactly one of --episodes E or --steps T"),
    (["--episodes", "None"], "give exactly one of --episodes E or --steps T"),
    (["--env", "CartPole-v1"], "Discrete observation and action spaces"),
    (["--model", "counts-ish"], "model must be one of deterministic"),
    (["--agent", "q-learning", "--planning-steps", "5"], "planning_steps must be 0"),
    (["--planning-steps", "5", "0", "5"], "planning_steps lists 5 more than once"),
    (["--env", "nosuchmodule:Foo-v0"], "got 'nosuchmodule:Foo-v0'"),
    (["--env", "FrozenLake-v0"], "is deprecated"),
    (["--agent", "nosuch_mod:Agent"], "agent nosuch_mod:Agent: cannot import module nosuch_mod"),
    (["--theta", "0.5"], "theta does not apply to agent dyna-q; it is used by: prioritized-"),
    (["--env", "bad\nid"], "got 'bad\\nid'"),
    (["--planning-steps"], "--planning-steps needs at least one value"),
    (["--agent", "dyna-dqn", "--planning-steps", "1", "--termination", "known"],
     "termination known needs an env whose rule dynaq knows"),
    (["--agent", "dyna-dqn", "--termination", "sometimes"], "termination must be one of"),
    (["--agent", "dyna-dqn", "--planning-steps", "1", "--world-model", "simulator"],
     "world_model simulator needs an env whose dynamics dynaq knows"),
    (["--agent", "dyna-dqn", "--planning-steps", "1", "--world-model", "categorical",
      "--env", "CartPole-v1"], "world_model categorical needs an env with Discrete"),
    (["--agent", "dyna-dqn", "--ensemble", "2", "--elites", "3"],
     "elites must be at most ensemble (2)"),
    (["--agent", "dyna-dqn", "--model-holdout", "0.7"],
     "model_holdout must be in [0, 0.5], got 0.7"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert main([*BASE, "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dynaq: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_foreign_output_directory_exits_2_untouched(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*BASE, "--out", str(out)]) == 0
    before = sorted(p.name for p in out.iterdir())
    assert main([*BASE, "--out", str(out), "--episodes", "4"]) == 2
    assert "holds another experiment's results" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == before


def test_run_writes_the_outputs_and_prints_where(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*BASE, "--planning-steps", "0", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"\ndynaq/DynaMaze-v0 +dyna-q +5 +2 ", printed)  # a plain-text table
    assert f"plot: {out / 'steps_per_episode.png'}" in printed and "![" not in printed
    for name in ("results.sqlite", "summary.csv", "summary.md", "steps_per_episode.png",
                 "config.toml"):
        assert (out / name).exists()


def test_flags_and_their_help_come_from_the_agents_configs(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for flag in ("--kappa", "--theta", "--buffer-size", "--imagined-ratio", "--sampling"):
        assert flag in text
    assert "Queue threshold θ >= 0" in text and "Adam step size of the Q-network" in text


def test_a_user_agent_by_import_path(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "data" / "user_agents"))
    out = tmp_path / "out"
    assert main([*BASE, "--agent", "user_agents:DynaQExtra", "--kappa", "0.2",
                 "--planning-steps", "5", "--out", str(out)]) == 0
    df = load_results(out)
    assert set(df["agent"]) == {"user_agents:DynaQExtra"} and set(df["kappa"]) == {0.2}


def test_steps_mode(tmp_path):
    out = tmp_path / "out"
    assert main(["run", "--env", "dynaq/DynaMaze-v0", "--steps", "300", "--seeds", "2",
                 "--planning-steps", "5", "--out", str(out), "--quiet"]) == 0
    import dynaq

    df = dynaq.load_results(out)
    assert df.groupby("seed")["env_steps"].max().eq(300).all()


def test_reproduce_list_and_unknown_name(capsys):
    assert main(["reproduce", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "fig8.2" in listed and "seed-table" in listed
    assert main(["reproduce", "fig9.9"]) == 2
    assert "reproduction must be one of fig8.2, seed-table" in capsys.readouterr().err


def test_command_line_entry_point_exit_status(tmp_path):
    """As a process: parse errors and config errors exit 2 with no traceback."""
    for args in (["run", "--env", "x", "--out", str(tmp_path / "o"), "--seeds", "abc"],
                 ["run", "--env", "Nope-v1", "--out", str(tmp_path / "o"), "--episodes", "2"]):
        proc = subprocess.run([sys.executable, "-m", "dynaq", *args], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_compiling_a_dynaq_kernel_is_announced_once(capsys):
    import numba
    from numba.core import event

    from dynaq.cli import CompileNotice

    def kernel(x):
        return x + 1

    def other(x):
        return x - 1

    kernel.__module__ = other.__module__ = "dynaq.kernels.notice_test"
    notice = CompileNotice()
    with event.install_listener("numba:compile", notice):
        assert numba.njit(kernel)(1) == 2 and numba.njit(other)(1) == 0
    assert capsys.readouterr().err.count("compiling kernels (first run only") == 1


def test_compiling_other_code_is_not_announced(capsys):
    import numba
    from numba.core import event

    from dynaq.cli import CompileNotice

    def user_code(x):
        return 2 * x

    with event.install_listener("numba:compile", CompileNotice()):
        assert numba.njit(user_code)(2) == 4
    assert capsys.readouterr().err == ""


def test_version(capsys):
    from importlib import metadata

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"dynaq {metadata.version('dynaq')}\n"


@pytest.mark.parametrize("command", ["run", "compare", "evaluate"])
def test_help_ends_with_the_commands_examples(capsys, command):
    from dynaq.cli import EXAMPLES

    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    printed = capsys.readouterr().out
    assert printed.rstrip().endswith(EXAMPLES[command][-1])


def test_a_planning_agent_without_k_plans(tmp_path):
    # the course's common mistake, "k=0 and expecting Dyna gains", is not the default
    from dynaq.agents.registry import default_planning_steps

    assert main([*BASE, "--out", str(tmp_path / "o")]) == 0
    assert set(load_results(tmp_path / "o")["planning_steps"]) == {
        default_planning_steps("dyna-q")}


def test_run_without_out_writes_under_results(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*BASE, "--agent", "q-learning"]) == 0
    assert (tmp_path / "results" / "DynaMaze-v0-q-learning" / "summary.md").exists()


def test_help_lists_the_choices_of_string_settings(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    printed = capsys.readouterr().out
    for flag in ("--model {deterministic,counts}", "--sampling {uniform,latest,trajectory}",
                 "--bonus {planning,action}", "--backup {sample,expected}"):
        assert flag in printed
    assert "(default: None)" not in printed


def test_env_kwargs_values_are_read_as_toml():
    from dynaq.cli import _env_kwargs

    assert _env_kwargs(("is_slippery=false", "slip=0.2", "map_name=8x8", "rows=[1, 2]")) == {
        "is_slippery": False, "slip": 0.2, "map_name": "8x8", "rows": [1, 2]}


@pytest.mark.parametrize("pair", ["is_slippery", "=1", "a b=1"])
def test_bad_env_kwargs_exit_2(tmp_path, capsys, pair):
    assert main([*BASE, "--out", str(tmp_path / "o"), "--env-kwargs", pair]) == 2
    assert "env_kwargs must be KEY=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_config_refuses_flags_that_change_the_experiment(tmp_path, capsys):
    assert main([*BASE, "--out", str(tmp_path / "o")]) == 0
    assert main(["run", "--config", str(tmp_path / "o"), "--episodes", "9"]) == 2
    assert "give no --episodes" in capsys.readouterr().err


def test_config_reruns_what_a_directory_holds(tmp_path):
    out = tmp_path / "o"
    assert main([*BASE, "--out", str(out)]) == 0
    before = load_results(out).drop(columns="wall_s")
    assert main(["run", "--config", str(out / "config.toml"), "--quiet"]) == 0
    assert load_results(out).drop(columns="wall_s").equals(before)


def test_config_grows_a_directory_by_seeds_bitwise(tmp_path):
    out, fresh = tmp_path / "o", tmp_path / "fresh"
    assert main([*BASE, "--out", str(out)]) == 0
    assert main(["run", "--config", str(out), "--seeds", "4", "--quiet"]) == 0
    assert main([*BASE[:-3], "--seeds", "4", "--quiet", "--out", str(fresh)]) == 0
    grown = load_results(out)
    assert grown["seed"].nunique() == 4
    assert grown.drop(columns="wall_s").equals(load_results(fresh).drop(columns="wall_s"))


def test_adding_a_k_to_a_run_runs_only_the_new_configs(tmp_path, capsys):
    out = tmp_path / "o"
    assert main([*BASE, "--planning-steps", "0", "5", "--out", str(out)]) == 0
    before = load_results(out)
    assert main([*BASE, "--planning-steps", "0", "5", "50", "--out", str(out)]) == 0
    after = load_results(out)
    assert sorted(after["planning_steps"].unique()) == [0, 5, 50]
    old = after[after["planning_steps"] < 50].reset_index(drop=True)
    assert old.equals(before)  # wall times included: the stored cells did not run again


def test_map_file_runs_from_the_cli(tmp_path, capsys):
    room = Path(__file__).parents[1] / "examples" / "maps" / "room.txt"
    out = tmp_path / "o"
    assert main(["run", "--map", str(room), "--episodes", "3", "--seeds", "2", "--quiet",
                 "--out", str(out)]) == 0
    assert re.search(r"\ndynaq/GridWorld-v0 +dyna-q +50 +2 ", capsys.readouterr().out)
    toml = (out / "config.toml").read_text()
    assert 'env = "dynaq/GridWorld-v0"' in toml and "env_kwargs = {\"desc\" = [" in toml
    df = load_results(out)
    assert df["env_kwargs"].str.startswith('{"desc": ["#####').all()
    assert df["value_error"].notna().all()  # the map's exact model gives the ground truth


def test_env_kwargs_reach_the_env(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", "--env", "FrozenLake-v1", "--env-kwargs", "is_slippery=false",
                 "--agent", "q-learning", "--episodes", "3", "--seeds", "1", "--quiet",
                 "--out", str(out)]) == 0
    assert main(["run", "--env", "FrozenLake-v1", "--env-kwargs", "slip=0.1", "--episodes",
                 "3", "--quiet", "--out", str(tmp_path / "bad")]) == 2
    assert "FrozenLake-v1 takes no keyword 'slip'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
    assert load_results(out)["env_kwargs"].eq('{"is_slippery": false}').all()


def test_a_deterministic_model_in_a_stochastic_world_is_one_warning_line(tmp_path, capsys):
    assert main(["run", "--env", "FrozenLake-v1", "--episodes", "3", "--seeds", "1",
                 "--planning-steps", "0", "5", "--quiet", "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err.splitlines()
    warned = [line for line in err if "deterministic model" in line]
    assert warned == [next(line for line in err if line.startswith("dynaq: warning: dyna-q "
                                                                    "plans with"))]


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path):
    from dynaq import DynaQ, save_agent

    agent = save_agent(DynaQ(16, 4), tmp_path / "a", env="FrozenLake-v1")
    # far more rows than a pipe holds, so the writes go on after head has left
    proc = subprocess.run(f"{sys.executable} -m dynaq evaluate {agent} --episodes 30000 "
                          "| head -c 10; exit ${PIPESTATUS[0]}", shell=True,
                          executable="/bin/bash", capture_output=True, text=True, timeout=300)
    assert proc.stderr == "" and len(proc.stdout) == 10 and proc.returncode == 141


def test_warm_compiles_named_reproductions_and_refuses_unknown_ones(capsys):
    assert main(["warm", "fig8.2"]) == 0
    assert "kernels of fig8.2 in numba's cache" in capsys.readouterr().out
    assert main(["warm", "fig9.9"]) == 2
    assert "reproduction must be one of" in capsys.readouterr().err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="numpy madvises on Linux")
@pytest.mark.parametrize(("preset", "huge"), [(None, "False"), ("1", "True")])
def test_the_command_turns_numpys_huge_pages_off_unless_the_user_set_them(preset, huge):
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if preset is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = preset
    script = ("from dynaq.cli import _without_huge_pages; _without_huge_pages(); "
              "from numpy._core.multiarray import _get_madvise_hugepage as huge; print(huge())")
    out = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                         capture_output=True, text=True).stdout
    assert out.split() == [huge]


def test_a_library_callers_numpy_is_left_as_it_is(monkeypatch):
    from dynaq.cli import _without_huge_pages

    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    _without_huge_pages()  # numpy is imported here: its setting was made at its import
    assert "NUMPY_MADVISE_HUGEPAGE" not in os.environ
