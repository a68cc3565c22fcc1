"""A replay buffer of preallocated torch tensors: the "model" of experience replay.

The course's table "Dyna-Q (tabular) vs DQN replay buffer": storing real transitions and
sampling a random minibatch is Dyna's "sample a seen (s, a), predict s′" with the buffer as
a (non-generalising) model (Lin 1992; Mnih et al. 2015).

One transition is one row of a single ``float32`` tensor ``[s | a | r | s′ | terminated]``,
so adding is one row copy and sampling one gather, whatever the device; the fields of a
:class:`Batch` are views into the gathered rows. Actions are small integers, exact in
float32.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch


class Batch(NamedTuple):
    """Transitions ``(s_tm1, a_tm1, r_t, s_t, terminated_t)``, one per row, for each of S
    seeds: every field has the seed as its first dimension (``[S, n, ...]``)."""

    obs: torch.Tensor
    """``float32[S, n, obs_dim]`` states acted in."""
    action: torch.Tensor
    """``int64[S, n]`` actions taken."""
    reward: torch.Tensor
    """``float32[S, n]`` rewards received."""
    next_obs: torch.Tensor
    """``float32[S, n, obs_dim]`` states reached."""
    terminated: torch.Tensor
    """``float32[S, n]``: 1 where the episode truly ended there (no bootstrap), else 0."""

    @staticmethod
    def cat(parts: Sequence[Batch]) -> Batch:
        """Stack batches row-wise, seed by seed."""
        return Batch(*(torch.cat(column, dim=1) for column in zip(*parts, strict=True)))

    def split(self, groups: int) -> Batch:
        """``[S, G·B, ...]`` → ``[S, G, B, ...]``: one minibatch per member of a group of G."""
        return Batch(*(x.reshape(x.shape[0], groups, x.shape[1] // groups, *x.shape[2:])
                       for x in self))


class ReplayBuffer:
    """A ring of the last ``capacity`` transitions of each of S seeds, sampled uniformly
    with replacement.

    Each seed has its own ring (``rows[s]``) and its own fill; real steps arrive one per seed
    at a time (:meth:`add`), imagined ones in batches that may differ in size between seeds
    (:meth:`add_batch`).

    Args:
        capacity: Transitions kept per seed; the oldest is overwritten when full.
        obs_dim: Length of an observation vector.
        device: Where the rows live.
        seeds: S, the seeds held side by side.
    """

    def __init__(self, capacity: int, obs_dim: int, device: str | torch.device = "cpu",
                 seeds: int = 1) -> None:
        self.capacity, self.obs_dim = capacity, obs_dim
        self.rows = torch.zeros((seeds, capacity, 2 * obs_dim + 3), dtype=torch.float32,
                                device=device)
        self.pos = [0] * seeds
        self.sizes = [0] * seeds

    def __len__(self) -> int:
        """Transitions held by the emptiest seed."""
        return min(self.sizes)

    def add(self, obs: np.ndarray, action: np.ndarray | int, reward: np.ndarray | float,
            next_obs: np.ndarray, terminated: np.ndarray | bool) -> None:
        """Store one real transition per seed (``obs [S, obs_dim]``, ``action [S]``, …; with
        one seed, unbatched values too)."""
        seeds = self.rows.shape[0]
        row = np.concatenate([np.asarray(obs, np.float32).reshape(seeds, -1),
                              np.asarray(action, np.float32).reshape(seeds, 1),
                              np.asarray(reward, np.float32).reshape(seeds, 1),
                              np.asarray(next_obs, np.float32).reshape(seeds, -1),
                              np.asarray(terminated, np.float32).reshape(seeds, 1)], axis=1)
        if row.shape[1] != self.rows.shape[2]:
            raise ValueError(f"obs must have {self.obs_dim} numbers per seed, got "
                             f"{(row.shape[1] - 3) // 2}")
        if len(set(self.pos)) == 1:  # lockstep: every seed writes the same slot
            self.rows[:, self.pos[0]].copy_(torch.from_numpy(row))
        else:
            for s, p in enumerate(self.pos):
                self.rows[s, p].copy_(torch.from_numpy(row[s]))
        self.pos = [(p + 1) % self.capacity for p in self.pos]
        self.sizes = [min(n + 1, self.capacity) for n in self.sizes]

    def add_batch(self, batch: Batch, keep: torch.Tensor | None = None) -> None:
        """Store many transitions per seed at once (the newest last), e.g. imagined ones.

        Args:
            batch: ``[S, n, ...]`` transitions.
            keep: ``bool[S, n]``: store only these rows (None: all).
        """
        rows = torch.cat([batch.obs, batch.action[..., None].float(), batch.reward[..., None],
                          batch.next_obs, batch.terminated[..., None]], dim=-1)
        for s in range(rows.shape[0]):
            mine = rows[s] if keep is None else rows[s][keep[s]]
            n = int(mine.shape[0])
            if n > self.capacity:
                mine, n = mine[-self.capacity:], self.capacity
            where = (self.pos[s] + torch.arange(n)) % self.capacity
            self.rows[s].index_copy_(0, where.to(self.rows.device), mine.to(self.rows.device))
            self.pos[s] = (self.pos[s] + n) % self.capacity
            self.sizes[s] = min(self.sizes[s] + n, self.capacity)

    def sample(self, n: int, generators: Sequence[torch.Generator]) -> Batch:
        """``n`` transitions per seed drawn uniformly with replacement, seed s's indices with
        ``generators[s]`` (on the CPU, so one seed samples the same transitions on every
        device and beside any other seeds).

        Raises:
            ValueError: If a seed's buffer is empty.
        """
        if min(self.sizes) == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = torch.stack([torch.randint(size, (n,), generator=g)
                           for size, g in zip(self.sizes, generators, strict=True)])
        return self._gather(idx)

    def recent(self, n: int) -> Batch:
        """The newest ``min(n, len(self))`` transitions of each seed, oldest first."""
        n = min(n, len(self))
        return self._gather(torch.stack([(p - n + torch.arange(n)) % self.capacity
                                         for p in self.pos]))

    def all(self) -> Batch:
        """Every stored transition, in storage order (seeds of equal fill, as real ones are).

        Raises:
            ValueError: If the seeds hold different numbers of transitions.
        """
        if len(set(self.sizes)) != 1:
            raise ValueError(f"the seeds hold different numbers of transitions: {self.sizes}")
        return self.batch_of(self.rows[:, : self.sizes[0]])

    def _gather(self, idx: torch.Tensor) -> Batch:
        idx = idx.to(self.rows.device)
        return self.batch_of(self.rows[torch.arange(idx.shape[0], device=idx.device)[:, None],
                                     idx])

    def batch_of(self, rows: torch.Tensor) -> Batch:
        """The :class:`Batch` whose fields are views into ``rows [..., row width]``."""
        d = self.obs_dim
        return Batch(rows[..., :d], rows[..., d].long(), rows[..., d + 1],
                     rows[..., d + 2: 2 * d + 2], rows[..., 2 * d + 2])
