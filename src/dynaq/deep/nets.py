"""Seeded random streams and batched MLPs for the deep agents (no global RNG).

Each agent owns several independent streams of each of its seeds, derived like
:mod:`dynaq.rng`'s with :class:`numpy.random.SeedSequence` (entropy = the seed, spawn key =
(``rng.AGENT``, stream)). Dyna-DQN's model and imagination have streams of their own, so with
k = 0 it consumes exactly DQN's numbers. Weights are initialised on the CPU from a CPU
generator, so one seed starts from the same weights on every device.

Lockstep seeds: an agent may train S seeds at once (:mod:`dynaq.deep.run`), each with its
own streams, weights and buffers. Every network is a :class:`BatchedMLP`, one matrix per
member stacked along a leading dimension and applied with :func:`torch.baddbmm`, the way an
ensemble of models is usually batched (Chua et al. 2018). On the CPU a batched product
computes each slice exactly as it would alone, and every reduction the agents make is per
member, so a seed trained beside others gets bitwise the numbers it gets alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from dynaq import rng

Q_INIT, REPLAY, EXPLORE, MODEL_INIT, MODEL_REPLAY, IMAGINE, EVAL = range(7)
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


ALIGN = 16
"""Every dimension of a :class:`BatchedMLP`'s products is padded to a multiple of this many
float32 (64 bytes): see :class:`BatchedMLP`."""


def _padded(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


class BatchedMLP(nn.Module):
    """M ReLU MLPs of the same sizes, applied at once: ``[M, B, n_in] → [M, B, n_out]``.

    Members come in groups, one group per generator (a seed's Q-network is a group of one,
    its model ensemble a group of E): group g's members are initialised from
    ``generators[g]`` alone, each layer's weights ``[E, n_in, n_out]`` then biases, U(±1/√n_in)
    as ``nn.Linear`` does by default, so a group's initial weights do not depend on the
    others.

    Why the padding: a batched matrix product on the CPU (MKL) computes a member's slice
    exactly as it would alone only where the slice starts on the same 64-byte boundary as a
    tensor of its own; a slice of 37 × 3 floats does not, and its sums come out in another
    order. So every width, and the rows of every input, are padded with zeros to a multiple
    of :data:`ALIGN` floats: the padding's weights start at 0 and get no gradient (nothing
    flows into a padded input or out of a padded output, and ReLU passes no gradient at 0),
    so they stay 0 and change nothing.

    Args:
        sizes: Layer widths, inputs to outputs.
        generators: One CPU generator per group.
        group_size: Members per group (E).
    """

    def __init__(self, sizes: Sequence[int], generators: Sequence[torch.Generator],
                 group_size: int = 1) -> None:
        super().__init__()
        self.sizes = tuple(sizes)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        members = group_size * len(generators)
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            bound = 1.0 / math.sqrt(n_in)
            w = torch.zeros(members, _padded(n_in), _padded(n_out))
            b = torch.zeros(members, 1, _padded(n_out))
            for i, g in enumerate(generators):
                group = slice(i * group_size, (i + 1) * group_size)
                w[group, :n_in, :n_out].uniform_(-bound, bound, generator=g)
                b[group, :, :n_out].uniform_(-bound, bound, generator=g)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))

    def padding_in_use(self) -> str | None:
        """The name of the first parameter with a nonzero entry outside :attr:`sizes` (weights
        loaded for other layer sizes), or None."""
        for name, p in self.named_parameters():
            layer = int(name.rsplit(".", 1)[1])
            n_in, n_out = self.sizes[layer], self.sizes[layer + 1]
            outside = p.detach().clone()
            outside[..., :n_out] = 0 if name.startswith("biases") else outside[..., :n_out]
            if name.startswith("weights"):
                outside[:, :n_in, :n_out] = 0
            if bool(outside.any()):
                return name
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [M, B, n_in]`` → ``[M, B, n_out]``, member m's network on ``x[m]``."""
        m, rows, n_in = x.shape
        if rows % ALIGN or n_in % ALIGN:
            x = nn.functional.pad(x, (0, _padded(n_in) - n_in, 0, _padded(rows) - rows))
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = torch.relu(x)
        return x[:, :rows, :self.sizes[-1]]


def clip_grad_norm_per_member_(parameters: Iterable[torch.Tensor], max_norm: float) -> None:
    """:func:`torch.nn.utils.clip_grad_norm_` for each member alone: the global norm of
    member m's gradients (slice m of every parameter) is clipped to ``max_norm``, with
    torch's own formula (scale ``min(1, max_norm / (norm + 1e-6))``)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    norms = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads])
    scale = (max_norm / (torch.linalg.vector_norm(norms, dim=0) + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.view(-1, *([1] * (g.dim() - 1))))


class MemberAdam:
    """Adam (Kingma & Ba 2015, torch's defaults and update order) for stacked members, with
    one correctly rounded operation per kernel (multiply, add, divide, square root).

    torch's fused and foreach Adams compute most of a tensor in vector code and its last
    elements in scalar code, which may round differently (multiply-adds), so a member's
    slice of a stacked parameter would get numbers that depend on where the slice lies, and
    a seed trained beside others would drift from the seed alone by the last bit. One
    correctly rounded operation at a time gives each element the same number wherever it
    lies.

    Args:
        params: The parameters (leaf tensors).
        lr: Step size.
        betas: Decay rates of the first and second moments.
        eps: Added to the root of the second moment.
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.steps = 0

    def zero_grad(self) -> None:
        """Forget the gradients (set to None, as ``zero_grad(set_to_none=True)`` does)."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One Adam step of every parameter with a gradient."""
        self.steps += 1
        b1, b2 = self.betas
        step_size = self.lr / (1 - b1 ** self.steps)
        root_correction = math.sqrt(1 - b2 ** self.steps)
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        params = [self.params[i] for i in live]
        grads = [p.grad for p in params]
        m, v = [self.m[i] for i in live], [self.v[i] for i in live]
        # torch's CPU foreach ops apply the single-tensor op to each tensor: the same
        # numbers as one op at a time, in fewer Python calls
        torch._foreach_mul_(m, b1)
        torch._foreach_add_(m, torch._foreach_mul(grads, 1 - b1))
        torch._foreach_mul_(v, b2)
        squares = torch._foreach_mul(grads, grads)
        torch._foreach_mul_(squares, 1 - b2)
        torch._foreach_add_(v, squares)
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, root_correction)
        torch._foreach_add_(denom, self.eps)
        steps = torch._foreach_div(m, denom)
        torch._foreach_mul_(steps, step_size)
        torch._foreach_sub_(params, steps)
