"""The categorical model recovers a small stochastic table and its rare terminal states, draws
real states at its softmax's frequencies, and computes per seed bitwise as it would alone."""

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

from dynaq.deep.buffer import Batch  # noqa: E402
from dynaq.deep.categorical import CategoricalModel, total_variation, true_tables  # noqa: E402
from dynaq.mdp import TabularMDP  # noqa: E402

# -- a world of 4 live states, a goal and a hole, reached by 2% of the transitions -----------
N_STATES, N_ACTIONS, LIVE = 6, 2, 4
GOAL, HOLE = 4, 5
ROWS = {
    (0, 0): [(0.5, 1), (0.3, 2), (0.2, 0)], (0, 1): [(1.0, 3)],
    (1, 0): [(1.0, 0)], (1, 1): [(0.5, 2), (0.3, 3), (0.2, 1)],
    (2, 0): [(0.5, 3), (0.3, 1), (0.2, 2)], (2, 1): [(0.94, 0), (0.06, HOLE)],
    (3, 0): [(1.0, 2)], (3, 1): [(0.9, 0), (0.1, GOAL)],
}


def reward_of(s2):
    return 1.0 if s2 == GOAL else -1.0 if s2 == HOLE else -0.1


WORLD = TabularMDP.from_transitions(
    {s: {a: [(p, s2, reward_of(s2), s2 in (GOAL, HOLE)) for p, s2 in ROWS[s, a]]
         if s < LIVE else [(1.0, s, 0.0, True)] for a in range(N_ACTIONS)}
     for s in range(N_STATES)}, np.eye(N_STATES)[0], "toy")


def transitions(n, seed, reward_scale=1.0):
    """``n`` transitions of WORLD from pairs (live s, a) drawn uniformly, as a Batch ``[n]``."""
    g = np.random.default_rng(seed)
    s, a = g.integers(LIVE, size=n), g.integers(N_ACTIONS, size=n)
    s2 = np.empty(n, dtype=np.int64)
    for (state, action), outcomes in ROWS.items():
        here = (s == state) & (a == action)
        p, nxt = zip(*outcomes, strict=True)
        s2[here] = g.choice(nxt, size=int(here.sum()), p=p)
    eye = np.eye(N_STATES, dtype=np.float32)
    reward = reward_scale * np.array([reward_of(x) for x in s2], dtype=np.float32)
    return Batch(torch.from_numpy(eye[s]), torch.from_numpy(a), torch.from_numpy(reward),
                 torch.from_numpy(eye[s2]),
                 torch.from_numpy(np.isin(s2, (GOAL, HOLE)).astype(np.float32)))


def stacked(batches):
    """Seeds' batches ``[n, ...]`` stacked as one ``[S, n, ...]``."""
    return Batch(*(torch.stack(column) for column in zip(*batches, strict=True)))


def generators(*seeds):
    return [torch.Generator().manual_seed(s) for s in seeds]


def train(model, data, gens, schedule, batch_size):
    """Adam on ``member_losses(batch).mean(dim=1).sum()``, each member on its own minibatch
    of its seed's data, drawn from that seed's generator; ``schedule`` is (steps, lr)s."""
    model.fit_statistics(data)
    optimizer = torch.optim.Adam(model.parameters())
    S, n, E = data.obs.shape[0], data.obs.shape[1], model.ensemble
    seed = torch.arange(S)[:, None, None]
    for steps, lr in schedule:
        for group in optimizer.param_groups:
            group["lr"] = lr
        for _ in range(steps):
            rows = torch.stack([torch.randint(n, (E, batch_size), generator=g) for g in gens])
            loss = model.member_losses(Batch(*(x[seed, rows] for x in data)))
            optimizer.zero_grad(set_to_none=True)
            loss.mean(dim=1).sum().backward()
            optimizer.step()


def counts_tv(data):
    """Max over the live pairs of the tabular counts model's total variation from the truth:
    P̂(s′|s, a) = n(s, a, s′) / n(s, a) on the same data (seed 0)."""
    s, a = data.obs[0].argmax(-1).numpy(), data.action[0].numpy()
    counts = np.zeros((N_STATES, N_ACTIONS, N_STATES))
    np.add.at(counts, (s, a, data.next_obs[0].argmax(-1).numpy()), 1)
    live = counts[:LIVE] / counts[:LIVE].sum(-1, keepdims=True)
    return 0.5 * np.abs(live - true_tables(WORLD)[0][:LIVE]).sum(-1).max()


@pytest.fixture(scope="module")
def fitted():
    """Three members fitted to 8000 transitions, the learning rate decayed in three steps
    (constant-rate Adam jitters around the cross-entropy minimiser)."""
    data = stacked([transitions(8000, 0)])
    model = CategoricalModel(N_STATES, N_ACTIONS, (32, 32), 3, generators(0))
    train(model, data, generators(1), [(200, 1e-2), (200, 1e-3), (100, 1e-4)], 512)
    return model, data


def test_recovers_a_stochastic_transition_table(fitted):
    model, data = fitted
    tv = total_variation(model, WORLD)[:, :, :LIVE].numpy()  # the pairs the data has
    untrained = total_variation(CategoricalModel(N_STATES, N_ACTIONS, (32, 32), 3,
                                                 generators(0)), WORLD)[:, :, :LIVE]
    # The cross-entropy's minimiser is the counts model's P̂, whose own sampling error is
    # 0.02–0.03 (max over pairs) with ~1000 transitions a pair; Adam stops near it, not at
    # it: on 3 data seeds × 3 members the max exceeded the counts model's by at most 0.011,
    # the mean was 0.007–0.011.
    assert tv.max() < counts_tv(data) + 0.04
    assert tv.mean() < 0.02
    assert untrained.max() > 0.3
    P = model.transition_probs()
    assert P.shape == (1, 3, N_STATES, N_ACTIONS, N_STATES)
    torch.testing.assert_close(P.sum(-1), torch.ones(P.shape[:-1]))


def test_learns_the_expected_reward(fitted):
    model, _ = fitted
    error = model.expected_reward()[0, :, :LIVE] - torch.from_numpy(
        true_tables(WORLD)[1][:LIVE]).float()
    assert error.abs().max() < 0.05  # rewards in [-1, 1], E[r | s, a] in [-0.16, 0.01]


def recall_precision(predicted, actual):
    hits = float((predicted & actual).sum())
    return hits / max(float(actual.sum()), 1.0), hits / max(float(predicted.sum()), 1.0)


def test_rare_terminal_states_are_recalled_precisely(fitted):
    model, _ = fitted
    held_out = transitions(20000, 99)
    reached = held_out.next_obs.argmax(-1)
    actual = held_out.terminated.bool()
    assert 0.01 < float(actual.float().mean()) < 0.03
    term = model.termination_probs()
    assert term.shape == (1, 3, N_STATES)
    recall, precision = recall_precision(term[0, 0, reached] > 0.5, actual)
    assert recall > 0.99 and precision > 0.99
    never = recall_precision(torch.zeros_like(actual), actual)  # a "never terminal" model
    assert never[0] < 0.5
    # imagined: every imagined ending is at the goal or the hole and every arrival there ends
    n = held_out.obs.shape[0]
    member = torch.randint(3, (1, n), generator=torch.Generator().manual_seed(5))
    next_obs, _, terminated = model.sample(held_out.obs[None], held_out.action[None], member,
                                           generators(6))
    at_end = torch.isin(next_obs[0].argmax(-1), torch.tensor([GOAL, HOLE]))
    assert torch.equal(terminated[0].bool(), at_end)
    # ... as often as the member's tables say (binomial, 4.5 σ), which say as the world does
    ends = (model.transition_probs()[0] * term[0, :, None, None]).sum(-1)  # [E, s, a]
    true_ends = true_tables(WORLD)[0][:, :, [GOAL, HOLE]].sum(-1)
    assert np.abs(ends[:, :LIVE].numpy() - true_ends[:LIVE]).max() < 0.02
    s, a = held_out.obs.argmax(-1), held_out.action
    p = ends[member[0], s, a].double()
    assert abs(float(terminated.sum()) - float(p.sum())) <= 4.5 * float(
        (p * (1 - p)).sum().sqrt()) + 1
    for state, action in ROWS:
        here = (s == state) & (a == action)
        q = p[here]
        assert abs(float(terminated[0, here].sum()) - float(q.sum())) <= 4.5 * float(
            (q * (1 - q)).sum().sqrt()) + 1


def test_termination_is_counted_and_unreached_states_get_the_buffer_fraction():
    states = [0, 1, 1, 2, 2, 2, 2]  # never reaches 3
    eye = torch.eye(4)
    data = Batch(eye[[0] * 7][None], torch.zeros(1, 7, dtype=torch.long), torch.zeros(1, 7),
                 eye[states][None], torch.tensor([[0, 1, 0, 1, 1, 0, 0]], dtype=torch.float32))
    model = CategoricalModel(4, 1, (4,), 2, generators(0))
    model.fit_statistics(data)
    expected = torch.tensor([0.0, 0.5, 0.5, 3 / 7])
    assert torch.equal(model.termination_probs(), expected.expand(1, 2, 4))


def test_samples_are_real_states_at_the_softmax_frequencies():
    model = CategoricalModel(N_STATES, N_ACTIONS, (16,), 2, generators(3, 4))
    n = 40000
    obs = torch.eye(N_STATES)[2].expand(2, n, N_STATES)
    action = torch.zeros(2, n, dtype=torch.long)
    member = torch.arange(n).remainder(2).expand(2, n)
    next_obs, reward, terminated = model.sample(obs, action, member, generators(7, 8))
    assert next_obs.shape == (2, n, N_STATES) and next_obs.dtype == torch.float32
    assert bool(((next_obs == 0) | (next_obs == 1)).all()) and bool((next_obs.sum(-1) == 1).all())
    P, r = model.transition_probs(), model.expected_reward()
    for s in range(2):
        for m in range(2):
            rows = member[s] == m
            observed = next_obs[s, rows].sum(0).double().numpy()
            expected = P[s, m, 2, 0].double().numpy() * int(rows.sum())
            assert stats.chisquare(observed, expected * observed.sum() / expected.sum()
                                   ).pvalue > 1e-4
            assert torch.allclose(reward[s, rows], r[s, m, 2, 0].expand(int(rows.sum())))
    assert not bool(terminated.any())  # never terminal before the first fit


def test_lockstep_seeds_compute_bitwise_as_each_seed_alone():
    # odd sizes on purpose: one baddbmm over all S·E members differs from S = 1 at these
    seeds, E, hidden = (10, 11, 12), 3, (5, 3)
    data = [transitions(500, s, reward_scale=1.0 + s) for s in range(3)]
    together = CategoricalModel(N_STATES, N_ACTIONS, hidden, E, generators(*seeds))
    alone = [CategoricalModel(N_STATES, N_ACTIONS, hidden, E, generators(s)) for s in seeds]
    for name, p in together.named_parameters():
        for s, model in enumerate(alone):
            assert torch.equal(p[s * E:(s + 1) * E], dict(model.named_parameters())[name])
    train(together, stacked(data), generators(20, 21, 22), [(30, 1e-2)], 37)
    for s, model in enumerate(alone):
        train(model, stacked([data[s]]), generators(20 + s), [(30, 1e-2)], 37)
    obs = torch.eye(N_STATES)[torch.arange(60) % LIVE]
    action = torch.arange(60) % N_ACTIONS
    member = (torch.arange(60) // 7) % E
    drawn = together.sample(obs.expand(3, 60, N_STATES), action.expand(3, 60),
                            member.expand(3, 60), generators(30, 31, 32))
    tables = (together.transition_probs(), together.expected_reward(),
              together.termination_probs())
    for s, model in enumerate(alone):
        for name, p in together.named_parameters():
            assert torch.equal(p[s * E:(s + 1) * E], dict(model.named_parameters())[name])
        for name, b in together.named_buffers():
            assert torch.equal(b[s:s + 1], dict(model.named_buffers())[name])
        own = model.sample(obs[None], action[None], member[None], generators(30 + s))
        assert all(torch.equal(x[s:s + 1], y) for x, y in zip(drawn, own, strict=True))
        own_tables = (model.transition_probs(), model.expected_reward(),
                      model.termination_probs())
        assert all(torch.equal(x[s:s + 1], y) for x, y in zip(tables, own_tables, strict=True))
    assert not torch.equal(drawn[0][0], drawn[0][1])  # the seeds differ from each other


def test_same_generators_repeat_and_other_seeds_vary():
    def run(init, draw):
        model = CategoricalModel(N_STATES, N_ACTIONS, (8,), 2, generators(init))
        model.fit_statistics(stacked([transitions(100, 0)]))
        obs = torch.eye(N_STATES)[torch.arange(200) % LIVE][None]
        action = (torch.arange(200) % N_ACTIONS)[None]
        member = (torch.arange(200) % 2)[None]
        return model.net.weights[0].detach().clone(), model.sample(obs, action, member,
                                                               generators(draw))

    w, drawn = run(0, 1)
    w_again, again = run(0, 1)
    assert torch.equal(w, w_again) and all(torch.equal(x, y) for x, y in zip(drawn, again,
                                                                          strict=True))
    assert not torch.equal(w, run(2, 1)[0])  # another initialisation
    assert not torch.equal(drawn[0], run(0, 3)[1][0])  # other draws, same weights


# -- bad inputs ------------------------------------------------------------------------------
def _model():
    model = CategoricalModel(4, 2, (4,), 3, generators(0, 1))
    return model


def _batch(S=2, E=3, B=5, **changes):
    eye = torch.eye(4)
    fields = dict(obs=eye[torch.arange(S * E * B) % 4].reshape(S, E, B, 4),
                  action=torch.zeros(S, E, B, dtype=torch.long), reward=torch.zeros(S, E, B),
                  next_obs=eye[torch.arange(S * E * B) % 3].reshape(S, E, B, 4),
                  terminated=torch.zeros(S, E, B))
    fields.update(changes)
    return Batch(**fields)


def _sample(obs=None, action=None, member=None, gens=None):
    obs = torch.eye(4)[[0, 1, 2]].expand(2, 3, 4) if obs is None else obs
    action = torch.zeros(2, 3, dtype=torch.long) if action is None else action
    member = torch.zeros(2, 3, dtype=torch.long) if member is None else member
    return _model().sample(obs, action, member, generators(5, 6) if gens is None else gens)


BLEND = torch.tensor([0.5, 0.5, 0.0, 0.0])
BAD = {
    "action out of range (sample)": (lambda: _sample(action=torch.full((2, 3), 2)), "action"),
    "negative action (forward)": (
        lambda: _model()(torch.eye(4)[[0]].expand(2, 1, 4), torch.full((2, 1), -1)), "action"),
    "float action": (lambda: _sample(action=torch.zeros(2, 3)), "action"),
    "member out of range": (lambda: _sample(member=torch.full((2, 3), 3)), "member"),
    "member shape": (lambda: _sample(member=torch.zeros(2, 4, dtype=torch.long)), "member"),
    "blended obs (sample)": (lambda: _sample(obs=BLEND.expand(2, 3, 4)), "obs"),
    "obs of a wrong size": (lambda: _sample(obs=torch.eye(5)[[0, 1, 2]].expand(2, 3, 5)),
                            "obs"),
    "obs of a wrong rank": (lambda: _model()(torch.eye(4), torch.zeros(4, dtype=torch.long)),
                            "obs"),
    "one generator for two seeds": (lambda: _sample(gens=generators(5)), "generators"),
    "blended next_obs": (
        lambda: _model().member_losses(_batch(next_obs=BLEND.expand(2, 3, 5, 4))), "next_obs"),
    "action out of range (losses)": (
        lambda: _model().member_losses(_batch(action=torch.full((2, 3, 5), 9))), "action"),
    "batch of the wrong seeds": (
        lambda: _model().member_losses(Batch(*(x[:1, 0] for x in _batch()))), "batch.obs"),
    "terminated 2": (
        lambda: _model().fit_statistics(Batch(*(x[:, 0] for x in _batch(
            terminated=torch.full((2, 3, 5), 2.0))))), "terminated"),
    "empty buffer": (
        lambda: _model().fit_statistics(Batch(*(x[:, 0, :0] for x in _batch()))), "data"),
    "infinite reward": (
        lambda: _model().fit_statistics(Batch(*(x[:, 0] for x in _batch(
            reward=torch.full((2, 3, 5), float("inf")))))), "reward"),
    "ensemble 0": (lambda: CategoricalModel(4, 2, (4,), 0, generators(0)), "ensemble"),
    "hidden width 0": (lambda: CategoricalModel(4, 2, (4, 0), 1, generators(0)), "hidden"),
    "no generators": (lambda: CategoricalModel(4, 2, (4,), 1, []), "generators"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_inputs_raise_one_line_naming_the_argument(case):
    call, name = BAD[case]
    with pytest.raises(ValueError, match=name) as caught:
        call()
    assert "\n" not in str(caught.value)


def test_true_tables_read_terminal_states_of_a_gymnasium_world():
    gym = pytest.importorskip("gymnasium")
    lake = gym.make("FrozenLake-v1")
    _, _, terminal = true_tables(TabularMDP.from_gymnasium(lake))
    assert np.array_equal(terminal, np.isin(lake.unwrapped.desc.ravel(), [b"H", b"G"]))


def test_true_tables_refuse_termination_that_is_not_a_function_of_the_state():
    mdp = TabularMDP.from_transitions({0: {0: [(0.5, 1, 0.0, True), (0.5, 2, 0.0, False)]},
                                       1: {0: [(1.0, 1, 0.0, False)]},
                                       2: {0: [(1.0, 1, 0.0, False)]}}, [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="state 1"):
        true_tables(mdp)
    with pytest.raises(ValueError, match="mdp"):
        total_variation(_model(), mdp)
