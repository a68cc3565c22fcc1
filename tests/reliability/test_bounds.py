"""Class 2 of the battery: unbounded work.

Every count has an upper bound (:mod:`dynaq.limits`) that fits the integer types it meets,
and a run whose memory can be estimated is refused before it starts when it cannot fit:
one line with the estimate and the limit, and no output directory.
"""

import pytest
from battery import assert_cli_error, assert_config_error, assert_main_error, cli

from dynaq import ConfigError, load_results
from dynaq.agents.replay import ReplayConfig
from dynaq.cli import main
from dynaq.deep.config import DeepConfig
from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.driver import Options, execute, memory_need
from dynaq.limits import MAX_PLANNING_STEPS, check_memory, human_bytes, memory_limit

RUN = ["run", "--env", "dynaq/DynaMaze-v0", "--episodes", "3", "--seeds", "2", "--quiet"]
MEMORY = "of memory, more than the"

CLI_CASES = [
    (["--seeds", str(10**12)], "seeds must be an integer <= 100_000"),
    (["--planning-steps", str(10**12)], "planning_steps must be an integer <= 1_000_000"),
    (["--planning-steps", str(2**63)], "planning_steps must be an integer <= 1_000_000"),
    (["--episodes", str(10**12)], "episodes must be an integer <= 1_000_000_000"),
    (["--episodes", "None", "--steps", str(10**15)], "total_steps must be an integer <= "),
    (["--max-episode-steps", str(10**30)], "max_episode_steps must be an integer <= "),
    (["--agent", "replay", "--buffer-size", str(10**12)], "buffer_size must be an integer <="),
    # within the bounds, but more memory than any machine here has
    (["--episodes", str(10**9)], MEMORY),
    (["--episodes", str(10**8), "--seeds", "64"], MEMORY),
    (["--episodes", "None", "--steps", str(10**9)], MEMORY),
    (["--agent", "replay", "--buffer-size", str(10**9)], MEMORY),
    (["--env", "FrozenLake-v1", "--episodes", "None", "--steps", str(10**9)], MEMORY),
]


@pytest.mark.parametrize("args, message", CLI_CASES)
def test_counts_beyond_their_bound_or_the_memory_exit_2(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    line = assert_main_error(capsys, main([*RUN, "--out", str(out), *args]), message)
    if message == MEMORY:
        assert f"the {human_bytes(memory_limit())} this machine has" in line
    assert not out.exists()


def test_a_deep_buffer_that_cannot_fit(tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "out"
    rc = main(["run", "--env", "CartPole-v1", "--agent", "dqn", "--episodes", "2", "--seeds",
               "1", "--quiet", "--buffer-size", str(10**9), "--out", str(out)])
    assert_main_error(capsys, rc, MEMORY)
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["reproduce", "fig8.2", "--seeds", str(10**12)], "seeds must be an integer <= 100_000"),
    (["evaluate", ".", "--env", "dynaq/DynaMaze-v0", "--episodes", str(10**12)],
     "episodes must be an integer <= "),
])
def test_other_commands(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    extra = ["--out", str(out)] if args[0] == "reproduce" else []
    assert_main_error(capsys, main([*args, *extra]), message)
    assert not out.exists()


def test_the_real_command_refuses_before_creating_the_directory(tmp_path):
    for args, message in (CLI_CASES[1], CLI_CASES[8]):
        outcome = cli(*RUN, "--out", tmp_path / "out", *args, cwd=tmp_path)
        assert_cli_error(outcome, message)
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("build, message", [
    (lambda: RunConfig(planning_steps=2**63), "planning_steps must be an integer <= 1_000_000"),
    (lambda: RunConfig(episodes=10**10), "episodes must be an integer <= 1_000_000_000"),
    (lambda: Experiment("x", (RunConfig(),), 10**12), "seeds must be an integer <= 100_000"),
    (lambda: ReplayConfig(buffer_size=10**12), "buffer_size must be an integer <= "),
    (lambda: DeepConfig(hidden=(10**9,)), "hidden must be a non-empty sequence of integers in"),
    (lambda: DeepConfig(batch_size=10**12), "batch_size must be an integer <= "),
    (lambda: DeepConfig(learning_starts=2**64), "learning_starts must be an integer <= "),
    (lambda: check_memory(memory_limit() + 1, "this run"), "this run may need up to about"),
])
def test_library_bounds(build, message):
    with pytest.raises(ConfigError) as err:
        build()
    assert_config_error(err, message)


def test_execute_refuses_what_cannot_fit_before_touching_the_directory(tmp_path):
    exp = Experiment("big", (RunConfig(episodes=10**9),), 4)
    assert memory_need(exp) > memory_limit()
    with pytest.raises(ConfigError) as err:
        execute(exp, tmp_path / "out", quiet=True)
    assert_config_error(err, "this experiment (1 run config(s) × 4 seed(s), on 1 worker(s))")
    assert not (tmp_path / "out").exists()


def test_the_estimate_grows_with_the_workers_in_flight():
    exp = Experiment("x", (RunConfig(episodes=10**5),), 256)
    serial = memory_need(exp, Options())
    assert memory_need(exp, Options(backend="process", workers=2)) > serial


def test_the_estimate_counts_the_results_of_the_largest_config_alone():
    """The default outputs read one run config at a time: more configs need no more
    memory."""
    one = Experiment("x", (RunConfig(planning_steps=0, episodes=10**5),), 256)
    ten = Experiment("x", tuple(RunConfig(planning_steps=k, episodes=10**5)
                                for k in range(10)), 256)
    assert memory_need(ten) == memory_need(one)
    # a reporter of its own reads every row at once: then all ten configs count
    assert memory_need(ten, whole=True) > memory_need(ten)


def test_the_largest_k_counts_exactly(tmp_path):
    # backups = steps × (k + 1) at the bound stays an exact integer in the results
    run = RunConfig(planning_steps=MAX_PLANNING_STEPS, episodes=1, max_episode_steps=3)
    execute(Experiment("k-max", (run,), 1), tmp_path / "out", quiet=True)
    (backups,) = load_results(tmp_path / "out")["backups"]
    assert backups == 3 * (MAX_PLANNING_STEPS + 1)
