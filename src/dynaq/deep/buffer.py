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

from typing import NamedTuple

import numpy as np
import torch


class Batch(NamedTuple):
    """Transitions ``(s_tm1, a_tm1, r_t, s_t, terminated_t)``, one per row."""

    obs: torch.Tensor
    """``float32[n, obs_dim]`` states acted in."""
    action: torch.Tensor
    """``int64[n]`` actions taken."""
    reward: torch.Tensor
    """``float32[n]`` rewards received."""
    next_obs: torch.Tensor
    """``float32[n, obs_dim]`` states reached."""
    terminated: torch.Tensor
    """``float32[n]``: 1 where the episode truly ended there (no bootstrap), else 0."""

    @staticmethod
    def cat(parts: list[Batch]) -> Batch:
        """Stack batches row-wise."""
        return Batch(*(torch.cat(column) for column in zip(*parts, strict=True)))


class ReplayBuffer:
    """A ring of the last ``capacity`` transitions, sampled uniformly with replacement.

    Args:
        capacity: Transitions kept; the oldest is overwritten when full.
        obs_dim: Length of an observation vector.
        device: Where the rows live.
    """

    def __init__(self, capacity: int, obs_dim: int, device: str | torch.device = "cpu") -> None:
        self.capacity, self.obs_dim = capacity, obs_dim
        self.rows = torch.zeros((capacity, 2 * obs_dim + 3), dtype=torch.float32, device=device)
        self.pos = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray,
            terminated: bool) -> None:
        """Store one real transition."""
        row = np.concatenate([np.asarray(obs, np.float32).ravel(), (action, reward),
                              np.asarray(next_obs, np.float32).ravel(), (terminated,)],
                             dtype=np.float32)
        self.rows[self.pos].copy_(torch.from_numpy(row))
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def add_batch(self, batch: Batch) -> None:
        """Store many transitions at once (the newest last), e.g. imagined ones."""
        n = int(batch.obs.shape[0])
        rows = torch.cat([batch.obs, batch.action[:, None].float(), batch.reward[:, None],
                          batch.next_obs, batch.terminated[:, None]], dim=1)
        if n > self.capacity:
            rows, n = rows[-self.capacity:], self.capacity
        where = (self.pos + torch.arange(n)) % self.capacity
        self.rows.index_copy_(0, where.to(self.rows.device), rows.to(self.rows.device))
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """``n`` transitions drawn uniformly with replacement.

        Args:
            n: How many.
            generator: A CPU generator; indices are drawn there, so one seed samples the
                same transitions on every device.

        Raises:
            ValueError: If the buffer is empty.
        """
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = torch.randint(self.size, (n,), generator=generator)
        return self._batch(self.rows[idx.to(self.rows.device)])

    def recent(self, n: int) -> Batch:
        """The newest ``min(n, len(self))`` transitions, oldest first."""
        n = min(n, self.size)
        idx = (self.pos - n + torch.arange(n)) % self.capacity
        return self._batch(self.rows[idx.to(self.rows.device)])

    def all(self) -> Batch:
        """Every stored transition (in storage order)."""
        return self._batch(self.rows[: self.size])

    def _batch(self, rows: torch.Tensor) -> Batch:
        d = self.obs_dim
        return Batch(rows[:, :d], rows[:, d].long(), rows[:, d + 1], rows[:, d + 2: 2 * d + 2],
                     rows[:, 2 * d + 2])
