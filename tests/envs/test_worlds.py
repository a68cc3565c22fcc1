"""Worlds that change (§8.3, Figures 8.4 and 8.5) and stochastic worlds, through the Gymnasium
env and the compiled runner: both switch the dynamics after exactly t real steps."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from dynaq import AGENTS, RunConfig, TabularEnv, TabularMDP, run_cells
from dynaq.agents import run_episodes
from dynaq.envs import DOWN, LEFT, RIGHT, UP, BlockingMazeEnv
from dynaq.envs.maps import BLOCKING_MAZE, SHORTCUT_MAZE
from dynaq.kernels import run as K
from dynaq.mdp import greedy_policy
from dynaq.metrics import GroundTruth

SWITCH = 7


def toy_schedule(switch: int = SWITCH) -> TabularMDP:
    """One state, two actions, every step ends the episode: reward 0, then 1 after
    ``switch`` real steps."""
    def phase(reward: float) -> TabularMDP:
        return TabularMDP.from_transitions({0: {a: [(1.0, 0, reward, True)] for a in (0, 1)}},
                                           [1.0], "toy")
    before = phase(0.0)
    return TabularMDP(1, 2, *before.arrays, before.initial, "toy", ((switch, phase(1.0)),))


def chain_schedule() -> TabularMDP:
    """Episodes of 3 steps (a chain), then of 1 step after 15 real steps."""
    chain = {s: {0: [(1.0, s + 1, 0.0, False)] if s < 2 else [(1.0, 2, 1.0, True)]}
             for s in range(3)}
    short = {s: {0: [(1.0, s, 1.0, True)]} for s in range(3)}
    before = TabularMDP.from_transitions(chain, [1, 0, 0], "chain")
    after = TabularMDP.from_transitions(short, [1, 0, 0], "chain")
    return TabularMDP(3, 1, *before.arrays, before.initial, "chain", ((15, after),))


gym.register("dynaq_tests/Switch-v0", entry_point=lambda: TabularEnv(toy_schedule()))
gym.register("dynaq_tests/ChainSwitch-v0", entry_point=lambda: TabularEnv(chain_schedule()))


# -- the Gymnasium env -----------------------------------------------------------------------
def test_env_switches_after_exactly_t_steps_counted_across_resets():
    env = TabularEnv(toy_schedule())
    rewards = []
    for episode in range(10):
        env.reset(seed=episode)  # neither reset nor reseeding restarts the count
        assert env.real_steps == episode
        assert env.P[0][0] == [(1.0, 0, float(episode >= SWITCH), True)]
        rewards.append(env.step(episode % 2)[1])
    assert rewards == [0.0] * SWITCH + [1.0] * (10 - SWITCH)
    assert env.dynamics is env.mdp.changes[0][1]


def test_blocking_maze_env_blocks_the_short_path_at_step_1000():
    env = gym.make("dynaq/BlockingMaze-v0", render_mode="ansi")
    base = env.unwrapped
    world = base.world
    gap, below = world.state(3, 8), world.state(4, 8)
    env.reset(seed=0)
    for _ in range(995):
        env.step(DOWN)  # bumps the bottom edge: stays at the start
    assert base.P[below][UP] == [(1.0, gap, 0.0, False)]
    for _ in range(4):
        env.step(RIGHT)
    env.step(UP)  # step 1000, still in the first layout: (4, 7)
    assert base.real_steps == 1000 and base.s == world.state(4, 7)
    assert env.render().splitlines()[3] == ".########"  # the layout in force now
    assert base.P[below][UP] == [(1.0, below, 0.0, False)]
    env.step(RIGHT)
    obs, *_ = env.step(UP)  # the gap is closed: bump
    assert obs == below


def test_blocking_maze_before_the_change_and_across_an_episode():
    env = BlockingMazeEnv(render_mode="ansi")
    env.reset(seed=0)
    assert env.render().splitlines()[3] == "########."
    rewards = [env.step(a)[1] for a in [UP] + [RIGHT] * 5 + [UP] * 4]  # the 10-step path
    assert rewards == [0.0] * 9 + [1.0] and env.s == env.world.state(0, 8)
    env.reset()
    assert env.real_steps == 10


def test_agent_standing_in_the_closing_gap_can_leave_it():
    env = BlockingMazeEnv()
    env.reset(seed=0)
    for a in [UP] + [RIGHT] * 5 + [UP]:
        env.step(a)
    assert env.s == env.world.state(3, 8)
    while env.real_steps < 1000:
        env.step(RIGHT)  # bump the edge in the gap
    assert env.render() is None
    obs, *_ = env.step(UP)
    assert obs == env.world.state(2, 8)


@pytest.mark.parametrize(("env_id", "layouts", "switch"), [
    ("dynaq/BlockingMaze-v0", BLOCKING_MAZE, 1000), ("dynaq/ShortcutMaze-v0", SHORTCUT_MAZE, 3000)])
def test_from_gymnasium_recovers_the_schedule(env_id, layouts, switch):
    env = gym.make(env_id)
    mdp = TabularMDP.from_gymnasium(env)
    assert mdp is env.unwrapped.mdp and mdp.name == env_id and mdp.n_states == 47
    (t, after), = mdp.changes
    assert t == switch
    assert mdp.phases()[0][1].to_transitions() == env.unwrapped.P
    env.unwrapped.real_steps = switch
    assert after.to_transitions() == env.unwrapped.P
    world = env.unwrapped.world
    assert [["".join(r) for r in world.grid_at(s)] for s in (0, switch)] == [
        list(layout) for layout in layouts]


def test_book_shortest_paths_before_and_after():
    gamma = 0.95
    for env_id, lengths in (("dynaq/BlockingMaze-v0", (10, 16)),
                            ("dynaq/ShortcutMaze-v0", (16, 10))):
        phases = TabularMDP.from_gymnasium(gym.make(env_id)).phases()
        starts = [GroundTruth.of(m, gamma).v_star_start for _, m in phases]
        assert starts == pytest.approx([gamma ** (n - 1) for n in lengths])


# -- the compiled runner ---------------------------------------------------------------------
def test_runner_switches_after_exactly_t_steps():
    cell, = run_cells(RunConfig(env="dynaq_tests/Switch-v0", planning_steps=3, episodes=12), [0])
    rec = cell.records
    np.testing.assert_array_equal(rec[:, K.ENV_STEPS], np.arange(1, 13))
    np.testing.assert_array_equal(rec[:, K.RETURN], [0.0] * SWITCH + [1.0] * (12 - SWITCH))
    # metrics judge Q against the dynamics the next step meets: from the 7th episode's end
    np.testing.assert_array_equal(cell.v_star_start, [0.0] * (SWITCH - 1) + [1.0] * 6)


def test_runner_on_the_blocking_maze_uses_the_layout_in_force():
    run = RunConfig(env="dynaq/BlockingMaze-v0", planning_steps=5, episodes=None,
                    total_steps=1500)
    for cell in run_cells(run, [0, 1]):
        steps = cell.records[:, K.ENV_STEPS]
        assert steps[-1] == 1500
        assert cell.v_star_start[steps < 1000] == pytest.approx(0.95 ** 9)
        assert cell.v_star_start[steps >= 1000] == pytest.approx(0.95 ** 15)
        assert (steps < 1000).any() and (steps >= 1000).any()
        # the last episode's value error is that of the final Q against the new layout
        truth = GroundTruth.of(TabularMDP.from_gymnasium(gym.make(run.env)).changes[0][1],
                               0.95)
        assert cell.records[-1, K.VALUE_ERROR] == pytest.approx(truth.value_error(cell.Q))


def step_api_run(run: RunConfig, seed: int) -> tuple[list[int], np.ndarray]:
    """Episode lengths and final Q of ``run`` driven through the Gymnasium env and the
    agent's step API, for ``run.total_steps`` real steps (the last episode cut short)."""
    env = gym.make(run.env)
    agent = AGENTS[run.agent].for_env(env, run.agent_config(), seed=seed)
    episodes = run_episodes(agent, env, total_steps=run.total_steps, seed=seed)
    return [e.steps for e in episodes], agent.Q


@pytest.mark.parametrize("agent", ["dyna-q", "dyna-q+"])
def test_step_api_and_runner_agree_across_the_change(agent):
    run = RunConfig(env="dynaq/BlockingMaze-v0", agent=agent, planning_steps=5, alpha=1.0,
                    episodes=None, total_steps=1300)
    for cell in run_cells(run, [0, 1]):
        lengths, Q = step_api_run(run, cell.seed)
        assert lengths == list(cell.records[:, K.STEPS].astype(int))
        np.testing.assert_array_equal(Q, cell.Q)


def test_total_steps_runs_reach_their_steps_when_episodes_get_shorter():
    cell, = run_cells(RunConfig(env="dynaq_tests/ChainSwitch-v0", episodes=None,
                                total_steps=30), [0])
    assert cell.records[-1, K.ENV_STEPS] == 30
    assert len(cell.records) == 5 + 15


# -- stochastic worlds -----------------------------------------------------------------------
def test_slippery_cliff_slips_sideways():
    env = gym.make("dynaq/SlipperyCliff-v0")
    base = env.unwrapped
    st = base.world.state
    assert base.observation_space.n == 48 and base.world.slip == 0.2
    assert base.P[st(2, 5)][RIGHT] == [(pytest.approx(0.8), st(2, 6), -1.0, False),
                                       (pytest.approx(0.1), st(1, 5), -1.0, False),
                                       (pytest.approx(0.1), st(3, 5), -100.0, True)]
    assert base.P[st(3, 0)][UP] == [(pytest.approx(0.8), st(2, 0), -1.0, False),
                                    (pytest.approx(0.1), st(3, 0), -1.0, False),
                                    (pytest.approx(0.1), st(3, 1), -100.0, True)]
    assert base.P[st(2, 11)][DOWN] == [(pytest.approx(0.8), st(3, 11), -1.0, True),
                                       (pytest.approx(0.1), st(2, 10), -1.0, False),
                                       (pytest.approx(0.1), st(2, 11), -1.0, False)]
    slippier = gym.make("dynaq/SlipperyCliff-v0", slip=0.3).unwrapped
    assert slippier.P[st(1, 1)][LEFT][0][0] == pytest.approx(0.7)


def test_slippery_cliff_optimal_policy_keeps_away_from_the_edge():
    mdp = TabularMDP.from_gymnasium(gym.make("dynaq/SlipperyCliff-v0"))
    Q, V = mdp.value_iteration(0.95)
    env = gym.make("dynaq/SlipperyCliff-v0").unwrapped
    st = env.world.state
    # Up from the start slips into the cliff w.p. 0.1; pushing left into the edge only ever
    # stays or slips up, so the optimal policy leaves the start by slipping.
    assert np.argmax(Q[st(3, 0)]) == LEFT
    # walking along the edge risks the cliff: from (2, 1) the optimal move is up, not right
    assert np.argmax(Q[st(2, 1)]) == UP
    assert all(np.argmax(Q[st(1, c)]) == RIGHT for c in range(11))  # one row away is safe
    assert V[st(3, 0)] < -(1 - 0.95 ** 13) / (1 - 0.95)  # worse than the 13-step path


@pytest.mark.parametrize("agent", ["q-learning", "dyna-q"])
def test_tabular_agents_on_frozen_lake_get_exact_metrics(agent):
    run = RunConfig(env="FrozenLake-v1", agent=agent, planning_steps=5 if agent == "dyna-q"
                    else 0, episodes=40)
    cell, = run_cells(run, [3])
    mdp = TabularMDP.from_gymnasium(gym.make("FrozenLake-v1"))
    truth = GroundTruth.of(mdp, run.gamma)
    last = cell.records[-1]
    assert last[K.VALUE_ERROR] == pytest.approx(truth.value_error(cell.Q), abs=1e-12)
    start = mdp.start_value(mdp.evaluate_policy(greedy_policy(cell.Q), run.gamma))
    assert last[K.POLICY_VALUE] == pytest.approx(start, abs=1e-8)
    assert np.all(cell.v_star_start == pytest.approx(truth.v_star_start))
    assert np.isfinite(cell.records[:, K.MODEL_ERROR]).all()
