"""Explicit, seeded randomness.

Every random draw in dynaq comes from a xoshiro256** generator whose 256-bit state lives in
a small ``uint64`` array owned by one run. The compiled kernels advance that array in
place, so there is no global generator anywhere and a result depends only on the seed.

A run's streams are derived with :class:`numpy.random.SeedSequence` from the root seed and
a stream id (``AGENT`` draws exploration and planning samples, ``ENV`` draws start states
and stochastic outcomes). Keeping the environment's draws in their own stream means the
agent consumes identical numbers whether the world is simulated by the compiled runner or by
a Gymnasium env, which is what makes the step API and the runner agree episode for episode.
:func:`make_states` computes the same SeedSequence words for a whole batch of seeds at once.
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
    """Stack :func:`make_state` for many seeds into a ``(len(seeds), 4)`` array.

    Seeds below 2**64 on a stream id below 2**32 (every run's) are hashed together by
    :func:`_seed_sequence_states`, about 35 times faster than a SeedSequence per seed
    for a thousand seeds; any other call builds each row with :func:`make_state`. The words
    are the same either way.

    Raises:
        ConfigError: If a seed is not an integer >= 0.
    """
    for seed in seeds:
        check_count("seed", seed, 0)
    if len(seeds) == 0:
        return np.zeros((0, 4), np.uint64)
    if isinstance(stream, int | np.integer) and 0 <= stream <= _WORD \
            and max(seeds) < _SEED_END:
        return _seed_sequence_states(np.array(seeds, np.uint64), stream)
    return np.stack([make_state(s, stream) for s in seeds])


# numpy.random.SeedSequence's constants (numpy/random/bit_generator.pyx)
_POOL_SIZE = 4
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R = np.uint32(0xCA01F9DD), np.uint32(0x4973F715)
_XSHIFT = np.uint32(16)
_WORD = 0xFFFFFFFF
_SEED_END = 1 << 64  # a seed below it is at most two 32-bit words of entropy


def _hash_constants(init: int, mult: int, calls: int) -> np.ndarray:
    """The values a SeedSequence hash constant takes over ``calls`` hashes, as a column:
    ``init * mult**i mod 2**32`` for i in ``0 .. calls``."""
    return np.array([init * pow(mult, i, 1 << 32) & _WORD for i in range(calls + 1)],
                    np.uint32)[:, None]


# mix_entropy hashes 4 pool words, 4 x 3 pool words into the others, then the spawn key's
# one word into each of the 4; generate_state hashes 8 words for 4 uint64
_HASH_A = _hash_constants(_INIT_A, _MULT_A, _POOL_SIZE * (1 + (_POOL_SIZE - 1) + 1))
_HASH_B = _hash_constants(_INIT_B, _MULT_B, 2 * 4)


def _hashmix(values: np.ndarray, table: np.ndarray, first: int, calls: int) -> np.ndarray:
    """Hashes ``first .. first + calls - 1`` of a hash constant's ``table``, the i-th on row i
    of ``values`` (a row broadcasts): numpy's ``hashmix``, or ``generate_state``'s step."""
    value = (values ^ table[first:first + calls]) * table[first + 1:first + calls + 1]
    return value ^ (value >> _XSHIFT)


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result = _MIX_MULT_L * x - _MIX_MULT_R * y
    return result ^ (result >> _XSHIFT)


def _seed_sequence_states(seeds: np.ndarray, stream: int) -> np.ndarray:
    """``SeedSequence(entropy=seed, spawn_key=(stream,)).generate_state(4, np.uint64)`` for
    every ``uint64`` seed at once, zero states replaced as :func:`make_state` does.

    This is numpy's SeedSequence, M. E. O'Neill's ``seed_seq`` hashing as numpy implements
    it in ``numpy/random/bit_generator.pyx`` (``mix_entropy`` and ``generate_state``), with
    each 32-bit word of the pool a row over all seeds; uint32 arithmetic wraps as the C
    code's does. It covers one layout of the assembled entropy: a seed below 2**64 is one or
    two 32-bit words, which SeedSequence pads with zeros to the pool size of 4 because there
    is a spawn key, then the stream id below 2**32 as one word. The hashes of one pool word
    into the three others are independent of each other, so they are made in one operation,
    with the three constants in the order numpy uses them.
    """
    n = len(seeds)
    entropy = np.zeros((_POOL_SIZE + 1, n), np.uint32)
    entropy[0] = (seeds & np.uint64(_WORD)).astype(np.uint32)
    entropy[1] = (seeds >> np.uint64(32)).astype(np.uint32)
    entropy[_POOL_SIZE] = stream
    pool = _hashmix(entropy[:_POOL_SIZE], _HASH_A, 0, _POOL_SIZE)
    call = _POOL_SIZE
    for src in range(_POOL_SIZE):
        others = [dst for dst in range(_POOL_SIZE) if dst != src]
        pool[others] = _mix(pool[others], _hashmix(pool[src], _HASH_A, call, len(others)))
        call += len(others)
    pool = _mix(pool, _hashmix(entropy[_POOL_SIZE], _HASH_A, call, _POOL_SIZE))
    words = _hashmix(np.tile(pool, (2, 1)), _HASH_B, 0, 2 * _POOL_SIZE)
    # little-endian word pairs, as generate_state reads them on any machine
    states = np.ascontiguousarray(words.T, "<u4").view("<u8").astype(np.uint64)
    states[~states.any(axis=1), 0] = 1
    return states


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
