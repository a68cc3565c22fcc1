"""CountsModel, the Python face of the transition-count model."""

import numpy as np
import pytest

from dynaq import ConfigError, rng
from dynaq.models import MODELS, CountsModel


def test_registered_by_name():
    assert MODELS["counts"] is CountsModel


def test_distribution_counts_and_mean_rewards_in_order_first_seen():
    model = CountsModel(4, 2)
    for r, s2, term in ((0.0, 2, False), (1.0, 3, True), (2.0, 2, False), (0.0, 2, False)):
        model.update(1, 1, r, s2, term)
    assert len(model) == 1 and (1, 1) in model and (1, 0) not in model
    assert model.distribution(1, 1) == [(0.75, 2, pytest.approx(2 / 3), False),
                                        (0.25, 3, 1.0, True)]


def test_the_same_next_state_ending_or_not_are_two_outcomes():
    model = CountsModel(2, 1)
    model.update(0, 0, 0.0, 1, False)
    model.update(0, 0, 0.0, 1, True)
    assert [o[3] for o in model.distribution(0, 0)] == [False, True]


def test_a_constant_reward_stays_exact():
    model = CountsModel(2, 1)
    for _ in range(7):
        model.update(0, 0, 0.1, 1, False)
    assert model.distribution(0, 0) == [(1.0, 1, 0.1, False)]


def test_predict_gives_the_mode_or_a_draw():
    model = CountsModel(4, 1)
    for s2 in (2, 3, 3):
        model.update(0, 0, float(s2), s2, False)
    assert model.predict(0, 0) == (3, 3.0, False)
    state = rng.make_state(0)
    draws = [model.predict(0, 0, state)[0] for _ in range(3000)]
    assert np.mean(np.array(draws) == 3) == pytest.approx(2 / 3, abs=0.03)


def test_unseen_pairs_raise_and_an_empty_model_plans_nothing():
    model = CountsModel(3, 2)
    with pytest.raises(KeyError):
        model.distribution(0, 0)
    with pytest.raises(KeyError):
        model.predict(0, 0, rng.make_state(0))
    Q = np.zeros((3, 2))
    assert model.plan(Q, 10, 0.1, 0.9, rng.make_state(0)) == 0 and not Q.any()


def test_rejects_an_unknown_backup():
    with pytest.raises(ConfigError, match="backup must be one of sample, expected"):
        CountsModel(2, 2, "mean")


def test_memory_grows_with_the_outcomes_seen_not_with_states_squared():
    model = CountsModel(100_000, 4)
    model.update(0, 0, 0.0, 1, False)
    p_int = model.pool.p_int
    # a table of S·A columns and each pair's first outcome, like the deterministic model,
    # and room for 1024 more outcomes, grown as they come
    assert model.table.shape == (5, 400_000) and p_int.shape == (400_000 + 1024, 4)
