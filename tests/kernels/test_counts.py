"""The compiled counts model: records, sample and expected backups worked by hand on a
3-state MDP, the random numbers a draw consumes, and the diagnostics against a reference."""

import gymnasium as gym
import numpy as np
import pytest

from dynaq import RunConfig, rng, run_cells
from dynaq.kernels import counts as C
from dynaq.kernels import dyna_q as dq
from dynaq.kernels import run as K
from dynaq.mdp import TabularMDP
from dynaq.models import CountsModel

ALPHA, GAMMA = 0.5, 0.9


def three_state_model(backup="sample"):
    """(0, 0) led 3 times to state 1 with rewards 1, 1, 4 and once to the terminal 2 with
    reward -2: P̂(1) = 3/4, r̄(0, 0, 1) = 2, P̂(2) = 1/4, r̄(0, 0, 2) = -2."""
    model = CountsModel(3, 2, backup)
    for r, s2 in ((1.0, 1), (-2.0, 2), (1.0, 1), (4.0, 1)):
        model.update(0, 0, r, s2, s2 == 2)
    return model


def q_table():
    Q = np.zeros((3, 2))
    Q[1] = [2.0, 0.5]  # max_a Q(1, a) = 2
    Q[0, 0] = 1.0
    return Q


def test_expected_backup_by_hand():
    model, Q = three_state_model("expected"), q_table()
    assert model.plan(Q, 1, ALPHA, GAMMA, rng.make_state(0)) == 1
    # target = 3/4 (2 + 0.9 * 2) + 1/4 (-2) = 2.85 - 0.5 = 2.35; Q = 1 + 0.5 (2.35 - 1)
    assert Q[0, 0] == pytest.approx(1.675)


def test_sample_backup_by_hand_and_its_random_number():
    model, Q = three_state_model("sample"), q_table()
    state, reference = rng.make_state(7), rng.make_state(7)
    planned_pair = rng.randint(reference, 1)  # the one seen pair
    u = rng.randint(reference, 4)  # the count drawn: 0..2 → state 1, 3 → state 2
    assert planned_pair == 0
    model.plan(Q, 1, ALPHA, GAMMA, state)
    target = 2.0 + GAMMA * 2.0 if u < 3 else -2.0
    assert Q[0, 0] == pytest.approx(1.0 + ALPHA * (target - 1.0))
    assert np.array_equal(state, reference)


def test_sample_backups_follow_the_counts():
    model = three_state_model("sample")
    state = rng.make_state(3)
    p_int = model.pool.p_int
    slot = model.table[C.SLOT, 0]
    draws = [C.draw(p_int, slot, model.table[C.TOTAL, slot], state) for _ in range(40_000)]
    rows = p_int[draws, C.NEXT_ROW] // 2
    assert np.mean(rows == 1) == pytest.approx(0.75, abs=0.01)


def test_many_sample_backups_approach_the_expected_one():
    sample, expected = three_state_model("sample"), three_state_model("expected")
    Q_s, Q_e = q_table(), q_table()
    sample.plan(Q_s, 20_000, 0.001, GAMMA, rng.make_state(1))
    expected.plan(Q_e, 20_000, 0.001, GAMMA, rng.make_state(1))
    assert Q_s[0, 0] == pytest.approx(2.35, abs=0.2)  # sd of the noise: about 0.06
    assert Q_e[0, 0] == pytest.approx(2.35, abs=1e-6)


def test_one_outcome_draws_no_random_number_and_matches_the_deterministic_model():
    """In a deterministic world the counts model plans with the deterministic model's
    numbers exactly: the same pair draws, no extra draw for s′, the same arithmetic."""
    model_c, model_e = CountsModel(5, 3), CountsModel(5, 3, "expected")
    model_d = dq.new_model(5, 3)
    n_seen = 0
    for s in range(5):
        for model in (model_c, model_e):
            model.update(s, s % 3, 0.1 * s, (s + 2) % 5, s == 4)
            model.update(s, s % 3, 0.1 * s, (s + 2) % 5, s == 4)
        n_seen = dq.model_update(*model_d, n_seen, 3, s, s % 3, 0.1 * s, (s + 2) % 5, s == 4)
    Qs = [np.arange(15.0).reshape(5, 3) / 10 for _ in range(3)]
    states = [rng.make_state(5) for _ in range(3)]
    model_c.plan(Qs[0], 500, 0.3, GAMMA, states[0])
    model_e.plan(Qs[1], 500, 0.3, GAMMA, states[1])
    dq.plan_uniform(Qs[2], *model_d, n_seen, 500, 0.3, GAMMA, states[2])
    assert np.array_equal(Qs[0], Qs[2]) and np.array_equal(Qs[1], Qs[2])
    assert np.array_equal(states[0], states[2]) and np.array_equal(states[1], states[2])


def test_records_grow_past_the_first_pool():
    model = CountsModel(40, 2)  # room for 80 first outcomes and 80 more
    gen = np.random.default_rng(0)
    truth: dict = {}
    for _ in range(3000):
        s, a, s2 = int(gen.integers(40)), int(gen.integers(2)), int(gen.integers(40))
        r = float(gen.integers(3))
        model.update(s, a, r, s2, False)
        truth.setdefault((s, a), {}).setdefault(s2, []).append(r)
    assert model.pool.p_int.shape[0] >= 80 + model.count[C.N_EXTRA] > 160
    for (s, a), outcomes in truth.items():
        n = sum(len(rs) for rs in outcomes.values())
        got = {s2: (p, r) for p, s2, r, _ in model.distribution(s, a)}
        assert got.keys() == outcomes.keys()
        for s2, rs in outcomes.items():
            assert got[s2][0] == pytest.approx(len(rs) / n)
            assert got[s2][1] == pytest.approx(np.mean(rs))


def _reference_errors(model, mdp):
    """Mean total variation and reward error over the seen pairs, from scratch."""
    tv, rew = [], []
    for sa in range(mdp.n_states * mdp.n_actions):
        s, a = divmod(sa, mdp.n_actions)
        if (s, a) not in model:
            continue
        learned = model.distribution(s, a)
        true = mdp.outcomes(s, a)
        states = {o[1] for o in learned} | {o[1] for o in true}
        tv.append(0.5 * sum(abs(sum(p for p, s2, *_ in learned if s2 == x)
                                - sum(p for p, s2, *_ in true if s2 == x)) for x in states))
        rew.append(abs(sum(p * r for p, _, r, _ in learned) - sum(p * r for p, _, r, _ in true)))
    return np.mean(tv), np.mean(rew)


def test_incremental_diagnosis_matches_a_reference_each_episode():
    """The compiled diagnosis re-checks only the pairs tried since the last one; it must
    agree with a diagnosis from scratch after every episode."""
    env = gym.make("FrozenLake-v1")
    mdp = TabularMDP.from_gymnasium(env)
    run = RunConfig(env="FrozenLake-v1", model="counts", planning_steps=3, episodes=40)
    (cell,) = run_cells(run, [2])
    model = CountsModel(mdp.n_states, mdp.n_actions)
    agent_rng, env_rng = rng.make_state(2, rng.AGENT), rng.make_state(2, rng.ENV)
    Q = np.zeros((mdp.n_states, mdp.n_actions))
    state = C.init(mdp.n_states, mdp.n_actions, ())
    state = state._replace(m_int=model.table, pool=model.pool, count=model.count)
    hp = dq.DynaQParams(run.alpha, run.gamma, run.epsilon, run.planning_steps)
    world, _ = mdp.stacked()
    for episode in range(40):
        s, steps = int(K.sample_start(np.cumsum(mdp.initial), env_rng)), 0
        while True:
            a = int(dq.act(Q, state, s, 0, hp, agent_rng))
            i = int(K.sample_outcome(mdp.offsets, mdp.prob, s * mdp.n_actions + a, env_rng))
            s2, term = int(mdp.next_state[i]), bool(mdp.terminated[i])
            C.learn(Q, state, s, a, float(mdp.reward[i]), s2, term, 0, hp, agent_rng)
            s, steps = s2, steps + 1
            if term or steps == 100:
                break
        got = C.diagnose(state, world, 0, mdp.reachable(), mdp.n_actions)
        assert got[0] == pytest.approx(cell.records[episode, K.MODEL_ERROR], abs=1e-12)
        assert got[:2] == pytest.approx(_reference_errors(model, mdp), abs=1e-12)
    assert np.array_equal(Q, cell.Q)


@pytest.mark.parametrize("expected", [False, True])
def test_the_fast_uniform_loop_has_the_numbers_of_the_generic_one(expected):
    """``plan_uniform`` (the loop runs use) against ``plan_with`` with the counts backup,
    on a model where some pairs have one outcome and some several."""
    model = CountsModel(6, 2)
    gen = np.random.default_rng(1)
    for _ in range(200):
        s, a = int(gen.integers(6)), int(gen.integers(2))
        s2 = (s + 1) % 6 if a == 0 else int(gen.integers(6))  # action 0 is deterministic
        model.update(s, a, float(s2), s2, s2 == 5)
    p_int, p_reward = model.pool.p_int, model.pool.p_reward
    Qs = [np.arange(12.0).reshape(6, 2) / 7 for _ in range(2)]
    states = [rng.make_state(3) for _ in range(2)]
    C.plan_uniform(Qs[0], model.table, p_int, p_reward, model.n_seen, expected, 3000, 0.2,
                   GAMMA, states[0])
    dq.plan_with(Qs[1], C.CountsArrays(model.table, p_int, p_reward, expected), dq.UNIFORM,
                 model.n_seen, -1, -1, 3000, 0.2, GAMMA, 0.0, states[1])
    assert np.array_equal(Qs[0], Qs[1]) and np.array_equal(states[0], states[1])
