"""The compiled Dyna-Q pieces: model table and planning."""

import numpy as np
import pytest

from dynaq import rng
from dynaq.models import DeterministicModel


def test_model_update_records_last_outcome_and_seen_pairs_once():
    model = DeterministicModel(3, 2)
    model.update(0, 1, 0.5, 2, False)
    model.update(0, 1, -1.0, 1, True)
    model.update(2, 0, 1.0, 0, False)
    assert len(model) == 2
    assert model.predict(0, 1) == (1, -1.0, True)  # last outcome wins
    assert model.predict(2, 0) == (0, 1.0, False)
    assert (0, 1) in model and (1, 0) not in model


def test_no_planning_before_the_model_has_an_entry():
    Q = np.zeros((2, 2))
    assert DeterministicModel(2, 2).plan(Q, 50, 0.1, 0.9, rng.make_state(0)) == 0
    assert not Q.any()


def test_planning_samples_seen_pairs_uniformly():
    S, A = 4, 2
    model = DeterministicModel(S, A)
    for s in range(S):  # every pair terminates with reward 1, so Q[s, a] counts its backups
        model.update(s, 0, 1.0, 0, True)
    Q = np.zeros((S, A))
    # m backups of a terminal reward-1 transition give Q = 1 - (1 - α)^m
    assert model.plan(Q, 40_000, 1e-3, 0.9, rng.make_state(5)) == 40_000
    counts = np.log1p(-Q[:, 0]) / np.log1p(-1e-3)
    assert counts.sum() == pytest.approx(40_000, rel=1e-3)
    assert np.allclose(counts / 40_000, 0.25, atol=0.01)
    assert not Q[:, 1].any()  # never-tried actions are never planned


def test_planning_consumes_the_stream_like_randint():
    """The hot loop inlines the generator; it must draw exactly what randint would."""
    model = DeterministicModel(5, 3)
    for s in range(5):
        model.update(s, s % 3, 1.0, s, True)
    planned, reference = rng.make_state(11), rng.make_state(11)
    Q = np.zeros((5, 3))
    model.plan(Q, 1000, 1e-3, 0.9, planned)
    picks = [rng.randint(reference, 5) for _ in range(1000)]
    assert np.array_equal(planned, reference)
    counts = np.log1p(-Q[np.arange(5), np.arange(5) % 3]) / np.log1p(-1e-3)
    assert np.allclose(counts, np.bincount(picks, minlength=5))


@pytest.mark.parametrize("n_actions", [2, 4, 5])
def test_planning_backup_by_hand(n_actions):
    model = DeterministicModel(2, n_actions)
    model.update(0, 0, 1.0, 1, False)
    Q = np.zeros((2, n_actions))
    Q[1, n_actions - 1] = 2.0
    model.plan(Q, 1, 0.5, 0.9, rng.make_state(0))
    # only (0, 0) is seen: Q = 0 + 0.5 * (1 + 0.9 * max_a Q[1, a] - 0) = 0.5 * 2.8 = 1.4
    assert Q[0, 0] == pytest.approx(1.4)
