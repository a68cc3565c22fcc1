"""Explicit, seeded randomness.

Every random draw in dynaq comes from a xoshiro256** generator whose 256-bit state lives in
a small ``uint64`` array owned by one run. The compiled kernels advance that array in
place, so there is no global generator anywhere and a result depends only on the seed.

A run's streams are derived with :class:`numpy.random.SeedSequence` from the root seed and
a stream id (``AGENT`` draws exploration and planning samples, ``ENV`` draws start states
and stochastic outcomes). Keeping the environment's draws in their own stream means the
agent consumes identical numbers whether the world is simulated by the compiled runner or by
a Gymnasium env, which is what makes the step API and the runner agree episode for episode.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dynaq.checks import check_count

AGENT = 0
ENV = 1

_UNIT = 1.0 / 9007199254740992.0  # 2**-53


def make_state(seed: int, stream: int = AGENT) -> np.ndarray:
    """Return a fresh xoshiro256** state for ``(seed, stream)``.

    Args:
        seed: The run's seed (any non-negative integer).
        stream: Which independent stream of that seed (``AGENT`` or ``ENV``).

    Returns:
        A ``uint64`` array of shape ``(4,)``, never all zero.

    Raises:
        ConfigError: If ``seed`` is not an integer >= 0.
    """
    check_count("seed", seed, 0)
    words = np.random.SeedSequence(entropy=int(seed), spawn_key=(stream,)).generate_state(
        4, np.uint64
    )
    if not words.any():  # xoshiro's one forbidden state; SeedSequence makes it ~impossible
        words[0] = np.uint64(1)
    return words


def make_states(seeds: np.ndarray | list[int], stream: int = AGENT) -> np.ndarray:
    """Stack :func:`make_state` for many seeds into a ``(len(seeds), 4)`` array."""
    if len(seeds) == 0:
        return np.zeros((0, 4), np.uint64)
    return np.stack([make_state(s, stream) for s in seeds])


def gym_seed(seed: int) -> int:
    """A seed for a Gymnasium env's own generator, drawn from the run's ``ENV`` stream."""
    return int(make_state(seed, ENV)[0] >> np.uint64(1))


@njit(cache=True, inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(cache=True, inline="always")
def step_words(s0, s1, s2, s3):
    """One xoshiro256** step on a state held in four words: ``(bits, s0, s1, s2, s3)``.

    A hot loop keeps the state in registers this way and writes it back once, instead of
    loading and storing the array on every draw; the numbers are those of :func:`next_u64`.
    """
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@njit(cache=True, inline="always")
def next_u64(state: np.ndarray) -> np.uint64:
    """Advance ``state`` in place and return 64 random bits (xoshiro256**)."""
    result, state[0], state[1], state[2], state[3] = step_words(state[0], state[1], state[2],
                                                                state[3])
    return result


@njit(cache=True, inline="always")
def uniform(state: np.ndarray) -> float:
    """A float in [0, 1) with 53 random bits."""
    # via int64: 53 bits fit, and a signed conversion is one instruction, unsigned several
    return float(np.int64(next_u64(state) >> np.uint64(11))) * _UNIT


@njit(cache=True, inline="always")
def randint(state: np.ndarray, n: int) -> int:
    """An integer in [0, n); the bias of the float scaling is below n / 2**53."""
    return int(uniform(state) * n)


@njit(cache=True, inline="always")
def normal(state: np.ndarray) -> float:
    """A standard normal draw: Box–Muller on two uniforms (its cosine half)."""
    # 1 − u lies in (0, 1], so the logarithm is finite
    return np.sqrt(-2.0 * np.log(1.0 - uniform(state))) * np.cos(2.0 * np.pi * uniform(state))
