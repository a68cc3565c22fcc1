"""A user's own agent, defined outside the package, run end to end by its import path."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pytest
from numba import njit

from dynaq.agents import AgentKernels, TabularAgent, TabularConfig
from dynaq.checks import check_count
from dynaq.errors import ConfigError
from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.driver import execute
from dynaq.experiments.store import load_results
from dynaq.kernels import dyna_q as dq
from dynaq.rng import randint

# -- the agent: Dyna-Q whose model forgets what it has not seen for `memory` real steps ----


@dataclass(frozen=True)
class ForgetfulConfig(TabularConfig):
    memory: int = 1_000_000
    """Real steps a model entry stays trusted after its pair was last tried."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_count("memory", self.memory, 1)


class Params(NamedTuple):
    alpha: float
    gamma: float
    epsilon: float
    k: int
    memory: int


class State(NamedTuple):  # Dyna-Q's fields, so its kernels read it, and when each was seen
    m_int: np.ndarray
    m_reward: np.ndarray
    count: np.ndarray
    sums: np.ndarray
    seen_at: np.ndarray


@njit(cache=True)
def init(n_states, n_actions, hp):
    base = dq.init(n_states, n_actions, hp)
    return State(base.m_int, base.m_reward, base.count, base.sums,
                 np.zeros(n_states * n_actions, np.int64))


@njit(cache=True)
def learn(Q, state, s, a, r, s2, terminated, t, hp, rng):
    dq.observe(Q, state, s, a, r, s2, terminated, t, hp)  # direct RL and model learning
    state.seen_at[state.m_int[dq.SLOT, s * Q.shape[1] + a]] = t
    done = 0
    for _ in range(hp.k):  # planning: forgotten entries are drawn but not backed up
        i = randint(rng, state.count[dq.N_SEEN])
        if t - state.seen_at[i] < hp.memory:
            dq.backup_last(Q.reshape(-1), Q.shape[1], dq.TableModel(state.m_int, state.m_reward),
                           i, hp.alpha, hp.gamma, rng)
            done += 1
    return 1 + done


class ForgetfulDynaQ(TabularAgent):
    name = "forgetful-dyna-q"
    Config = ForgetfulConfig

    @classmethod
    def kernels(cls, config):
        return AgentKernels(init, dq.act, learn, dq.diagnose)

    @classmethod
    def hyperparameters(cls, c):
        return Params(c.alpha, c.gamma, c.epsilon, c.planning_steps, c.memory)


# -- the tests ----------------------------------------------------------------------------

AGENT = f"{__name__}:ForgetfulDynaQ"


def _results(out, agent, **settings):
    run = RunConfig(agent=agent, planning_steps=10, episodes=15, **settings)
    execute(Experiment("run", (run,), seeds=3), out, quiet=True)
    return load_results(out)


def test_a_user_agent_runs_by_import_path_with_every_exact_metric(tmp_path):
    """Never forgetting, it is Dyna-Q number for number; forgetting fast, it plans less.
    The compiled runner gives it every exact metric (value error, policy value, model
    error)."""
    dyna_q = _results(tmp_path / "dyna-q", "dyna-q")
    never = _results(tmp_path / "never", AGENT)
    fast = _results(tmp_path / "fast", AGENT, memory=20)
    assert set(never["agent"]) == {AGENT}
    for col in ("steps", "backups", "value_error", "policy_value", "model_error"):
        assert np.array_equal(never[col].to_numpy(), dyna_q[col].to_numpy()), col
    assert fast["backups"].sum() < never["backups"].sum()
    metrics = ["value_error", "policy_value", "model_error", "reward_error", "model_coverage"]
    assert fast[metrics].notna().all().all()


def test_a_process_that_cannot_import_the_user_agent_still_runs_the_others(tmp_path):
    """Its compiled loop is cached apart, and dynaq's kernels it called (Dyna-Q's observe,
    with its own state class) are read afresh where their cache names a type of this file."""
    _results(tmp_path / "user", AGENT)
    script = ("from dynaq import DynaQ, RunConfig, run_cells; "
              "print(run_cells(RunConfig(planning_steps=10, episodes=15), [0])[0].Q.sum()); "
              "print(DynaQ(47, 4).observe(0, 1, 0.0, 1, False))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


def test_without_step_kernels_the_step_api_says_so():
    agent = ForgetfulDynaQ(3, 2)
    with pytest.raises(ConfigError, match="forgetful-dyna-q has no step API: .* no observe"):
        agent.observe(0, 1, 0.0, 1, False)
