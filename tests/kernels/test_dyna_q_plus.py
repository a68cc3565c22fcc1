"""Dyna-Q+'s kernels (Sutton & Barto §8.3): the bonus backup with a known τ by hand, the
footnote's model of untried actions, and stability over 10^7 real steps."""

import numpy as np
import pytest

from dynaq import RunConfig, rng, run_cells
from dynaq.agents import DynaQPlus, DynaQPlusConfig
from dynaq.kernels import dyna_q_plus as kq
from dynaq.kernels import run as K
from dynaq.kernels.dyna_q import NEXT_ROW, SLOT, TERM
from dynaq.records import DEEP_ONLY


def hp(alpha=0.5, gamma=0.9, epsilon=0.0, k=1, kappa=0.01, in_planning=True):
    return kq.DynaQPlusParams(alpha, gamma, epsilon, k, kappa, in_planning)


def test_planning_backup_with_a_known_tau_by_hand():
    Q = np.zeros((2, 1))
    state = kq.init(2, 1, hp())
    kq.observe(Q, state, 0, 0, 1.0, 1, True, 1, hp())  # tried at real step 1
    assert Q[0, 0] == 0.5
    # 100 real steps later: τ = 100, bonus κ√τ = 0.01 * 10, target 1.1 (terminal)
    assert kq.plan(Q, state, 1, 101, hp(), rng.make_state(0)) == 1
    assert Q[0, 0] == pytest.approx(0.5 + 0.5 * (1.1 - 0.5))
    # right after trying it τ = 0: no bonus
    kq.observe(Q, state, 0, 0, 1.0, 1, True, 102, hp())
    before = Q[0, 0]
    kq.plan(Q, state, 1, 102, hp(), rng.make_state(0))
    assert Q[0, 0] == pytest.approx(before + 0.5 * (1.0 - before))


def test_untried_actions_lead_back_with_reward_zero_and_earn_the_bonus():
    Q = np.zeros((3, 2))
    state = kq.init(3, 2, hp())
    kq.observe(Q, state, 0, 0, 0.0, 1, False, 1, hp())
    m_int, m_reward, count = state.m_int, state.m_reward, state.count
    assert count[0] == 2  # both actions of state 0, none of the states only reached
    untried = m_int[SLOT, 1]
    assert (m_int[NEXT_ROW, untried], m_reward[untried], m_int[TERM, untried]) == (0, 0.0, 0)
    # many backups at real step 401: (0, 0), tried at step 1, has τ = 400 and leads to
    # state 1 (Q = 0), so Q(0, 0) → 0.01 √400 = 0.2; (0, 1), never tried, has τ = 401 and
    # leads back to 0, so Q(0, 1) → 0.01 √401 + 0.9 Q(0, 1), i.e. 0.01 √401 / 0.1
    kq.plan(Q, state, 2000, 401, hp(), rng.make_state(1))
    assert Q[0, 0] == pytest.approx(0.2, rel=1e-9)
    assert Q[0, 1] == pytest.approx(0.1 * np.sqrt(401), rel=1e-9)


def test_action_bonus_plans_only_tried_pairs_and_picks_the_stale_action():
    agent = DynaQPlus(2, 2, DynaQPlusConfig(alpha=0.5, epsilon=0.0, planning_steps=50,
                                            kappa=0.1, bonus="action"))
    agent.observe(0, 0, 1.0, 1, True)
    agent.plan()
    assert agent.Q[0, 1] == 0.0 and agent.Q[0, 0] > 0.9  # no bonus in backups
    assert agent.tau(0, 0) == 0 and agent.tau(0, 1) == 1
    assert agent.act(0) == 0  # Q(0, 0) ≈ 1 beats 0 + 0.1 √1
    for _ in range(150):  # 150 real steps elsewhere
        agent.observe(1, 0, 0.0, 1, False)
    assert agent.tau(0, 1) == 151 and agent.tau(0, 0) == 150
    assert agent.act(0) == 0  # 1 + 0.1 √150 beats 0 + 0.1 √151
    agent.observe(0, 0, 1.0, 1, True)  # refresh (0, 0) only
    assert agent.act(0) == 1  # 0 + 0.1 √152 ≈ 1.23 beats Q(0, 0) + 0 ≈ 1


def test_ten_million_steps_with_a_large_bonus_stay_finite():
    """τ up to 10^7 and κ = 10^6, undiscounted: no overflow, no NaN."""
    run = RunConfig(env="dynaq/DynaMaze-v0", agent="dyna-q+", planning_steps=1, kappa=1e6,
                    gamma=1.0, total_steps=10_000_000, episodes=None)
    (cell,) = run_cells(run, [0])
    assert cell.records[-1, K.ENV_STEPS] == 10_000_000
    assert np.isfinite(cell.Q).all() and cell.Q.max() > 1e6
    assert np.isfinite(np.delete(cell.records, [K.POLICY_VALUE, *DEEP_ONLY], axis=1)).all()
