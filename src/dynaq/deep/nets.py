"""Seeded random streams and MLPs for the deep agents (no global RNG).

Each agent owns several independent streams of its seed, derived like :mod:`dynaq.rng`'s
with :class:`numpy.random.SeedSequence` (entropy = the seed, spawn key = (``rng.AGENT``,
stream)). Dyna-DQN's model and imagination have streams of their own, so with k = 0 it
consumes exactly DQN's numbers. Weights are initialised on the CPU from a CPU generator,
so one seed starts from the same weights on every device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from dynaq import rng

Q_INIT, REPLAY, EXPLORE, MODEL_INIT, MODEL_REPLAY, IMAGINE = range(6)
"""Stream ids of one agent's seed."""


def seed_sequence(seed: int, stream: int) -> np.random.SeedSequence:
    """The SeedSequence of ``stream`` of the run seeded ``seed``."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(rng.AGENT, stream))


def torch_generator(seed: int, stream: int) -> torch.Generator:
    """A CPU torch.Generator for ``(seed, stream)``."""
    word = seed_sequence(seed, stream).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(word))


def numpy_generator(seed: int, stream: int) -> np.random.Generator:
    """A numpy Generator (PCG64) for ``(seed, stream)``."""
    return np.random.default_rng(seed_sequence(seed, stream))


def init_uniform_(layer: nn.Linear, generator: torch.Generator) -> nn.Linear:
    """PyTorch's default ``nn.Linear`` init, U(±1/√fan_in) for weight and bias, from
    ``generator`` instead of the global RNG."""
    bound = 1.0 / math.sqrt(layer.in_features)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


def mlp(n_in: int, hidden: Sequence[int], n_out: int, generator: torch.Generator) -> nn.Sequential:
    """A ReLU MLP ``n_in → hidden… → n_out``, initialised from ``generator``."""
    sizes = [n_in, *hidden, n_out]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        # skip_init: nn.Linear's own init would draw from the global RNG
        layers.append(init_uniform_(nn.utils.skip_init(nn.Linear, a, b), generator))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)
