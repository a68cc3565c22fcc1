"""The neural one-step model learns a linear toy system; its ensemble draws are seeded."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dynaq.deep.buffer import Batch, ReplayBuffer  # noqa: E402
from dynaq.deep.model import OneStepModel, fit, one_step_error  # noqa: E402

A = np.array([[0.9, 0.1, 0.0], [0.0, 0.8, 0.2], [-0.1, 0.0, 0.95]])
B = np.array([[0.1, 0.0, -0.1], [-0.1, 0.2, 0.0]])
C = np.array([0.5, -1.0, 0.25])


def toy_transitions(n, seed):
    """s′ = A s + B[a], r = c·s + a/2, terminated when s′₀ > 0.8."""
    g = np.random.default_rng(seed)
    s = g.uniform(-1, 1, (n, 3))
    a = g.integers(2, size=n)
    s2 = s @ A.T + B[a]
    return s, a, s @ C + 0.5 * a, s2, s2[:, 0] > 0.8


def toy_buffer(n, seed):
    buf = ReplayBuffer(n, 3)
    for row in zip(*toy_transitions(n, seed), strict=True):
        buf.add(*row)
    return buf


def fitted_model(ensemble=1, seed=0):
    model = OneStepModel(3, 2, (64, 64), ensemble, torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    fit(model, optimizer, toy_buffer(2000, 0), steps=400, batch_size=128,
        generator=torch.Generator().manual_seed(1))
    return model


def test_learns_a_linear_system_to_low_held_out_error():
    model = fitted_model()
    held_out = toy_buffer(500, 99).all()
    state_rmse, reward_rmse = one_step_error(model, held_out)
    untrained = one_step_error(OneStepModel(3, 2, (64, 64), 1, torch.Generator()), held_out)
    assert state_rmse < 0.03 and reward_rmse < 0.03  # states and rewards have std ~0.6
    assert untrained[0] > 10 * state_rmse
    _, _, p_term = model.predict(held_out.obs, held_out.action)
    accuracy = ((p_term[0] > 0.5).float() == held_out.terminated).float().mean()
    assert accuracy > 0.95


def test_ensemble_shapes_and_seeded_member_draws():
    model = fitted_model(ensemble=3)
    batch = toy_buffer(50, 5).all()
    next_obs, reward, p_term = model.predict(batch.obs, batch.action)
    assert next_obs.shape == (3, 50, 3) and reward.shape == (3, 50) and p_term.shape == (3, 50)
    assert not torch.equal(next_obs[0], next_obs[1])  # members differ
    draws = [model.sample(batch.obs, batch.action, torch.Generator().manual_seed(s))
             for s in (7, 7, 8)]
    assert all(torch.equal(x, y) for x, y in zip(draws[0], draws[1], strict=True))
    assert not torch.equal(draws[0][0], draws[2][0])
    # every imagined row is one member's prediction, and several members are used
    same = torch.stack([(draws[0][0] == next_obs[m]).all(dim=1) for m in range(3)])
    assert same.any(dim=0).all() and int(same.any(dim=1).sum()) >= 2
    assert set(draws[0][2].unique().tolist()) <= {0.0, 1.0}


def test_error_of_no_data_is_nan():
    empty = Batch(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), torch.zeros(0),
                  torch.zeros(0, 3), torch.zeros(0))
    model = OneStepModel(3, 2, (4,), 1, torch.Generator())
    assert all(np.isnan(x) for x in one_step_error(model, empty))
