"""Tests for dynaq.rng: seeded xoshiro256** streams."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynaq import ConfigError, DynaQ, rng

MASK = (1 << 64) - 1
EDGE_SEEDS = [0, 1, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1]


def reference_xoshiro256ss(words: list[int], n: int) -> list[int]:
    """Pure-Python xoshiro256** (Blackman & Vigna), the published reference algorithm."""

    def rotl(x: int, k: int) -> int:
        return ((x << k) | (x >> (64 - k))) & MASK

    s = [int(w) for w in words]
    out = []
    for _ in range(n):
        out.append(rotl((s[1] * 5) & MASK, 7) * 9 & MASK)
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out


def draws(state: np.ndarray, n: int) -> np.ndarray:
    return np.array([rng.uniform(state) for _ in range(n)])


def test_make_state_shape_dtype_and_nonzero():
    state = rng.make_state(0)
    assert state.shape == (4,) and state.dtype == np.uint64
    assert state.any()


def test_same_seed_gives_identical_state_and_draws():
    a, b = rng.make_state(123), rng.make_state(123)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(draws(a, 1000), draws(b, 1000))
    np.testing.assert_array_equal(a, b)  # both advanced identically


def test_different_seeds_give_different_states_and_draws():
    states = [rng.make_state(seed) for seed in range(50)]
    assert len({tuple(int(w) for w in s) for s in states}) == 50
    a, b = rng.make_state(1), rng.make_state(2)
    assert not np.array_equal(draws(a, 100), draws(b, 100))


def test_agent_and_env_streams_differ():
    assert rng.AGENT != rng.ENV
    agent, env = rng.make_state(7, rng.AGENT), rng.make_state(7, rng.ENV)
    assert not np.array_equal(agent, env)
    a, e = draws(agent, 100), draws(env, 100)
    assert not np.array_equal(a, e)
    # Independent streams: no detectable correlation.
    a, e = draws(agent, 20_000), draws(env, 20_000)
    assert abs(np.corrcoef(a, e)[0, 1]) < 0.03


def test_default_stream_is_agent():
    np.testing.assert_array_equal(rng.make_state(5), rng.make_state(5, rng.AGENT))


def test_stream_derivation_is_the_documented_seed_sequence():
    # Results saved by one version must be reproducible by the next: pin the derivation.
    expected = np.random.SeedSequence(entropy=42, spawn_key=(rng.ENV,)).generate_state(
        4, np.uint64)
    np.testing.assert_array_equal(rng.make_state(42, rng.ENV), expected)


def test_make_states_stacks_per_seed_states():
    seeds = [3, 1, 4]
    stacked = rng.make_states(seeds, rng.ENV)
    assert stacked.shape == (3, 4) and stacked.dtype == np.uint64
    for row, seed in zip(stacked, seeds, strict=True):
        np.testing.assert_array_equal(row, rng.make_state(seed, rng.ENV))
    empty = rng.make_states([])
    assert empty.shape == (0, 4) and empty.dtype == np.uint64


def seed_sequence_states(seeds, stream: int) -> np.ndarray:
    """The derivation make_state documents, one SeedSequence per seed."""
    return np.array([np.random.SeedSequence(entropy=int(seed), spawn_key=(stream,))
                     .generate_state(4, np.uint64) for seed in seeds], np.uint64).reshape(-1, 4)


@pytest.fixture
def batch_calls(monkeypatch):
    """How many times make_states took the batched path."""
    calls = []
    batched = rng._seed_sequence_states

    def spy(seeds, stream):
        calls.append(len(seeds))
        return batched(seeds, stream)

    monkeypatch.setattr(rng, "_seed_sequence_states", spy)
    return calls


@settings(max_examples=200, deadline=None)
@given(seeds=st.lists(st.sampled_from(EDGE_SEEDS) | st.integers(0, 2**64 - 1), min_size=1,
                      max_size=40),
       stream=st.sampled_from([rng.AGENT, rng.ENV]) | st.integers(0, 2**32 - 1))
def test_batched_states_are_the_seed_sequence_words(seeds, stream):
    expected = seed_sequence_states(seeds, stream)
    batched = rng._seed_sequence_states(np.array(seeds, np.uint64), stream)
    assert batched.dtype == np.uint64 and batched.flags.c_contiguous
    np.testing.assert_array_equal(batched, expected)
    np.testing.assert_array_equal(rng.make_states(seeds, stream), expected)


@pytest.mark.parametrize("stream", [rng.AGENT, rng.ENV])
def test_make_states_batches_every_kind_of_seed_list_exactly(stream, batch_calls):
    seeds = EDGE_SEEDS + list(range(2, 300))
    expected = seed_sequence_states(seeds, stream)
    for given_seeds in (seeds, np.array(seeds, np.uint64), [np.uint64(s) for s in seeds]):
        np.testing.assert_array_equal(rng.make_states(given_seeds, stream), expected)
    for given_seeds in (range(300), np.arange(300)):
        np.testing.assert_array_equal(rng.make_states(given_seeds, stream),
                                      seed_sequence_states(range(300), stream))
    assert batch_calls == [len(seeds)] * 3 + [300] * 2


@pytest.mark.parametrize(("seeds", "stream"), [
    ([2**64], rng.AGENT), ([3, 2**64 + 5, 2**64 - 1], rng.ENV), ([2**96, 2**128 + 1], rng.AGENT),
    ([0, 7, 2**64 - 1], 2**32), ([5], 2**40)])
def test_make_states_beyond_the_batched_range_uses_seed_sequence(seeds, stream, batch_calls):
    np.testing.assert_array_equal(rng.make_states(seeds, stream),
                                  seed_sequence_states(seeds, stream))
    assert batch_calls == []


@pytest.mark.parametrize("seeds", [[1, -1], [0, True], [2, 1.5], [2**64, -3]])
def test_make_states_refuses_a_bad_seed_in_one_line(seeds):
    with pytest.raises(ConfigError, match="seed must be an integer >= 0"):
        rng.make_states(seeds)


def test_next_u64_matches_reference_xoshiro256ss():
    state = rng.make_state(2024)
    expected = reference_xoshiro256ss(list(state), 200)
    got = [int(rng.next_u64(state)) for _ in range(200)]
    assert got == expected
    # Known-answer test from a hand-picked state.
    state = np.array([1, 2, 3, 4], dtype=np.uint64)
    assert [int(rng.next_u64(state)) for _ in range(3)] == reference_xoshiro256ss(
        [1, 2, 3, 4], 3)
    # The first output of xoshiro256** from state (1, 2, 3, 4) is rotl(2*5, 7)*9 = 11520.
    assert reference_xoshiro256ss([1, 2, 3, 4], 1) == [11520]


def test_uniform_is_top_53_bits_of_next_u64():
    a, b = rng.make_state(9), rng.make_state(9)
    for _ in range(100):
        assert rng.uniform(a) == (int(rng.next_u64(b)) >> 11) / 2.0**53


def test_uniform_in_unit_interval_with_mean_one_half():
    n = 100_000
    u = draws(rng.make_state(11), n)
    assert u.min() >= 0.0 and u.max() < 1.0
    # Mean of U[0, 1) has standard error sqrt(1/12 / n) ≈ 0.00091; allow 5 of them.
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 0.002
    # Ten equal bins each get about a tenth.
    counts = np.bincount((u * 10).astype(int), minlength=10)
    np.testing.assert_allclose(counts / n, 0.1, atol=0.005)


@pytest.mark.parametrize("n", [1, 2, 7, 10])
def test_randint_covers_range_uniformly(n):
    state = rng.make_state(100 + n)
    draws_n = 7_000 * n
    x = np.array([rng.randint(state, n) for _ in range(draws_n)])
    assert x.min() == 0 and x.max() == n - 1
    counts = np.bincount(x, minlength=n)
    assert counts.shape == (n,)
    expected = draws_n / n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    # chi-square with n - 1 degrees of freedom: mean n - 1, sd sqrt(2(n - 1)).
    assert chi2 <= (n - 1) + 6 * np.sqrt(2 * max(n - 1, 1))


def test_randint_state_is_advanced_in_place():
    state = rng.make_state(3)
    before = state.copy()
    rng.randint(state, 5)
    assert not np.array_equal(state, before)
    replay = before.copy()
    rng.uniform(replay)
    np.testing.assert_array_equal(state, replay)  # one randint consumes one draw


def test_normal_is_box_muller_on_the_uniform_stream():
    state = rng.make_state(3)
    u = draws(state.copy(), 2000).reshape(-1, 2)
    z = np.array([rng.normal(state) for _ in range(1000)])
    box_muller = np.sqrt(-2.0 * np.log(1.0 - u[:, 0])) * np.cos(2.0 * np.pi * u[:, 1])
    assert np.allclose(z, box_muller, rtol=0, atol=1e-12)  # numpy's libm may differ by an ulp
    assert abs(z.mean()) < 0.1 and abs(z.std() - 1.0) < 0.1


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3", None])
def test_a_seed_that_is_not_an_integer_from_0_is_refused_in_one_line(seed):
    with pytest.raises(ConfigError, match="seed must be an integer >= 0"):
        rng.make_state(seed)
    with pytest.raises(ConfigError, match="seed must be an integer >= 0"):
        DynaQ(47, 4, seed=seed)
