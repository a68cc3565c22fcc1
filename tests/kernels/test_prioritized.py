"""Prioritized sweeping's kernels (Sutton & Barto §8.4): priorities, queue order and the
predecessor index, worked out by hand."""

import numpy as np
import pytest

from dynaq import RunConfig, run_cells
from dynaq.agents import PrioritizedSweeping, PrioritizedSweepingConfig
from dynaq.kernels import prioritized as kp
from dynaq.kernels import run as K
from dynaq.kernels.dyna_q import N_SEEN, PAIR


def chain_agent(theta=0.1, k=10):
    """A chain 0 → 1 → 2 → end (reward 1), one action; α = 0.5, γ = 0.9."""
    return PrioritizedSweeping(4, 1, PrioritizedSweepingConfig(
        alpha=0.5, gamma=0.9, planning_steps=k, theta=theta))


def test_chain_priorities_and_queue_order_by_hand():
    agent = chain_agent()
    agent.observe(0, 0, 0.0, 1, False)
    agent.observe(1, 0, 0.0, 2, False)
    assert agent.queue() == []  # nothing has an error yet
    agent.observe(2, 0, 1.0, 3, True)
    # direct backup: Q(2) = 0.5, its remaining error 1 - 0.5 = 0.5; its predecessor (1, 0)
    # now has error 0 + 0.9 * 0.5 - 0 = 0.45
    assert agent.Q[2, 0] == 0.5
    assert agent.queue() == [((2, 0), 0.5), ((1, 0), pytest.approx(0.45))]
    assert agent.plan(1) == 1  # pops (2, 0): Q(2) = 0.75, which raises (1, 0) to 0.675
    assert agent.Q[2, 0] == 0.75
    assert agent.queue() == [((1, 0), pytest.approx(0.675))]
    assert agent.plan(1) == 1  # pops (1, 0): Q(1) = 0.3375, queues (0, 0) at 0.30375
    assert agent.Q[1, 0] == pytest.approx(0.3375)
    assert agent.queue() == [((0, 0), pytest.approx(0.30375))]
    assert agent.plan() == 1  # pops (0, 0); state 0 has no predecessor: the queue empties
    assert agent.Q[0, 0] == pytest.approx(0.151875)
    assert agent.queue() == [] and agent.backups == 6
    # a real step whose remaining error is below θ queues nothing
    agent.observe(0, 0, 0.0, 1, False)
    assert agent.Q[0, 0] == pytest.approx(0.2278125) and agent.queue() == []


def test_threshold_keeps_small_errors_out_of_the_queue():
    agent = chain_agent(theta=0.5)
    for s in range(2):
        agent.observe(s, 0, 0.0, s + 1, False)
    agent.observe(2, 0, 1.0, 3, True)
    assert agent.queue() == []  # 0.5 and 0.45 are not above θ = 0.5
    assert agent.plan() == 0


def predecessors(state, s, counts=False):
    """The pairs (s*A + a) the index lists as leading to ``s``."""
    pred_slot, pred_next = ((state.index.slot, state.index.next) if counts
                            else (state.pred_slot, state.pred_next))
    m_int, pred_head = state.m_int, state.pred_head
    out, j = [], pred_head[s]
    while j >= 0:
        out.append(int(m_int[PAIR, pred_slot[j]]))
        j = pred_next[j]
    return sorted(out)


def test_predecessor_index_follows_the_model_when_the_world_changes():
    S, A = 4, 2
    state = kp.init(S, A, kp.SweepingParams(0.1, 0.9, 0.0, 5, 1e-4))
    for s, a, s2 in [(0, 0, 1), (0, 1, 1), (2, 0, 1), (1, 1, 3)]:
        kp.remember(state, s, a, 0.0, s2, False, A)
    assert predecessors(state, 1) == [0, 1, 4]
    kp.remember(state, 0, 1, 0.0, 3, False, A)  # (0, 1) now leads to 3
    assert predecessors(state, 1) == [0, 4]
    assert predecessors(state, 3) == [1, 3]
    kp.remember(state, 0, 0, 0.0, 3, False, A)  # the head of 1's list moves too
    assert predecessors(state, 1) == [4] and predecessors(state, 3) == [0, 1, 3]
    kp.remember(state, 0, 0, 1.0, 3, False, A)  # same successor: no duplicate entry
    assert predecessors(state, 3) == [0, 1, 3]
    assert state.count[N_SEEN] == 4  # pairs seen
    assert sum(len(predecessors(state, s)) for s in range(S)) == 4  # one entry per pair


def counts_agent(**kw):
    return PrioritizedSweeping(4, 1, PrioritizedSweepingConfig(
        alpha=1.0, gamma=0.9, planning_steps=5, theta=0.0, model="counts", backup="expected",
        **kw))


def test_counts_model_priorities_are_expected_errors_by_hand():
    agent = counts_agent()
    for s2 in (1, 1, 2):  # P̂(1 | 0) = 2/3, P̂(2 | 0) = 1/3
        agent.observe(0, 0, 0.0, s2, False)
    assert agent.queue() == []
    agent.observe(1, 0, 1.0, 3, True)  # Q(1) = 1: (0, 0)'s expected error is 2/3 · 0.9
    assert agent.queue() == [((0, 0), pytest.approx(0.6))]
    assert agent.plan() == 1 and agent.Q[0, 0] == pytest.approx(0.6)
    agent.observe(2, 0, -1.0, 3, True)  # Q(2) = -1: error 0.6 - 0.3 - 0.6
    assert agent.queue() == [((0, 0), pytest.approx(0.3))]
    agent.plan()
    assert agent.Q[0, 0] == pytest.approx(0.3)
    assert predecessors(agent.state, 1, True) == predecessors(agent.state, 2, True) == [0]


def test_counts_index_grows_with_the_outcomes_seen():
    agent = counts_agent()
    capacity = len(agent.state.index.slot)  # the pool starts at S·A + min(1024, S·A) = 8 records
    for s2 in range(4):
        for s in range(3):
            agent.observe(s, 0, 0.0, s2, False)
    assert len(agent.state.index.slot) >= 12 > capacity
    assert all(predecessors(agent.state, s2, True) == [0, 1, 2] for s2 in range(4))


@pytest.mark.parametrize("seed", [0, 1])
def test_counts_model_equals_the_deterministic_one_in_a_deterministic_world(seed):
    """One outcome per pair: the expected update is the box's update, bit for bit."""
    base = RunConfig(agent="prioritized-sweeping", planning_steps=5, episodes=10)
    (det,) = run_cells(base, [seed])
    (cnt,) = run_cells(RunConfig(agent="prioritized-sweeping", planning_steps=5, episodes=10,
                                 model="counts", backup="expected"), [seed])
    assert np.array_equal(det.Q, cnt.Q)
    assert np.array_equal(np.delete(det.records, K.WALL_S, axis=1),
                          np.delete(cnt.records, K.WALL_S, axis=1), equal_nan=True)


def test_sweep_backs_up_the_largest_change_first():
    """Two predecessors of the goal side: the one with the larger error is popped first."""
    agent = PrioritizedSweeping(5, 2, PrioritizedSweepingConfig(
        alpha=1.0, gamma=0.5, planning_steps=1, theta=0.0))
    agent.observe(0, 0, 0.0, 2, False)  # 0 -a0-> 2
    agent.observe(1, 1, 0.0, 3, False)  # 1 -a1-> 3
    agent.observe(2, 0, 2.0, 4, True)  # 2 pays 2
    agent.observe(3, 0, 8.0, 4, True)  # 3 pays 8
    assert agent.queue() == [((1, 1), 4.0), ((0, 0), 1.0)]
    agent.plan()
    assert agent.Q[1, 1] == 4.0 and agent.Q[0, 0] == 0.0
    assert agent.queue() == [((0, 0), 1.0)]
    assert np.array_equal(agent.Q[[2, 3], 0], [2.0, 8.0])
