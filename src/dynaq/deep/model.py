"""A neural one-step model: the course's third model type, "weights θ, large / continuous".

An ensemble of N ReLU MLPs maps (s, one-hot a) to (Δs, r, termination logit), the tabular
model's (s, a) → (s′, r) with function approximation (Sutton & Barto §8.1–8.2). Inputs and
the Δs and r targets are standardised with the statistics of the replay buffer at each fit.
Each member trains on its own random minibatches, so the members differ by their data as
well as by their initial weights (Chua et al. 2018, PETS).

Two uses, two rules:
- imagining (:meth:`OneStepModel.sample`) draws one member at random per transition (PETS's
  "TS1", as MBPO does) and ends the episode where P(terminated) > 1/2;
- error (:func:`one_step_error`) averages the members' predictions.

Its outputs are means, so in a stochastic world it predicts the average next state, not a
draw: the "false certainty" the course warns of (FrozenLake's slippery ice, for instance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from dynaq.deep.buffer import Batch, ReplayBuffer

STD_FLOOR = 1e-2
"""Smallest standard deviation used to standardise (a constant feature stays finite)."""


class OneStepModel(nn.Module):
    """An ensemble of N MLPs predicting (Δs, r, termination logit) from (s, a).

    Args:
        obs_dim: Length of an observation vector.
        n_actions: Number of actions (one-hot encoded as input).
        hidden: Hidden layer widths of each member.
        ensemble: Number of members N.
        generator: CPU generator for the initial weights.
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden: Sequence[int], ensemble: int,
                 generator: torch.Generator) -> None:
        super().__init__()
        self.obs_dim, self.n_actions, self.ensemble = obs_dim, n_actions, ensemble
        sizes = [obs_dim + n_actions, *hidden, obs_dim + 2]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            bound = 1.0 / math.sqrt(n_in)  # nn.Linear's default init, per member
            w = torch.empty(ensemble, n_in, n_out).uniform_(-bound, bound, generator=generator)
            b = torch.empty(ensemble, 1, n_out).uniform_(-bound, bound, generator=generator)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))
        for name, size in (("obs", obs_dim), ("delta", obs_dim), ("reward", 1)):
            self.register_buffer(f"{name}_mean", torch.zeros(size))
            self.register_buffer(f"{name}_std", torch.ones(size))

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Standardised outputs ``[N, B, obs_dim + 2]`` (Δs, r, logit) of every member.

        Args:
            obs: ``[B, obs_dim]`` (all members see it) or ``[N, B, obs_dim]``.
            action: ``[B]`` or ``[N, B]`` action indices.
        """
        x = torch.cat([(obs - self.obs_mean) / self.obs_std,
                       nn.functional.one_hot(action, self.n_actions).to(obs.dtype)], dim=-1)
        if x.dim() == 2:
            x = x.expand(self.ensemble, *x.shape)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = torch.relu(x)
        return x

    def predict(self, obs: torch.Tensor, action: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every member's ``(next_obs [N, B, d], reward [N, B], P(terminated) [N, B])``."""
        out = self(obs, action)
        d = self.obs_dim
        next_obs = obs + out[..., :d] * self.delta_std + self.delta_mean
        reward = out[..., d] * self.reward_std + self.reward_mean
        return next_obs, reward, torch.sigmoid(out[..., d + 1])

    def sample(self, obs: torch.Tensor, action: torch.Tensor, generator: torch.Generator
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Imagined ``(next_obs, reward, terminated)`` for ``[B]`` pairs, one random member
        each; terminated (0/1) where the member gives it probability above 1/2."""
        with torch.no_grad():
            next_obs, reward, p_term = self.predict(obs, action)
        member = torch.randint(self.ensemble, (obs.shape[0],), generator=generator)
        rows = torch.arange(obs.shape[0])
        member, rows = member.to(obs.device), rows.to(obs.device)
        return (next_obs[member, rows], reward[member, rows],
                (p_term[member, rows] > 0.5).to(obs.dtype))

    def fit_normalizer(self, data: Batch) -> None:
        """Standardise with the mean and deviation of ``data`` (the whole replay buffer)."""
        delta = data.next_obs - data.obs
        for name, x in (("obs", data.obs), ("delta", delta), ("reward", data.reward[:, None])):
            getattr(self, f"{name}_mean").copy_(x.mean(dim=0))
            getattr(self, f"{name}_std").copy_(x.std(dim=0, correction=0).clamp_min(STD_FLOOR))

    def loss(self, batch: Batch) -> torch.Tensor:
        """MSE of standardised Δs and r plus the termination cross-entropy, on a batch whose
        fields are ``[N, B, ...]`` (one minibatch per member)."""
        out = self(batch.obs, batch.action)
        d = self.obs_dim
        delta = (batch.next_obs - batch.obs - self.delta_mean) / self.delta_std
        reward = (batch.reward - self.reward_mean) / self.reward_std
        return (nn.functional.mse_loss(out[..., :d], delta)
                + nn.functional.mse_loss(out[..., d], reward)
                + nn.functional.binary_cross_entropy_with_logits(out[..., d + 1],
                                                                 batch.terminated))


def fit(model: OneStepModel, optimizer: torch.optim.Optimizer, buffer: ReplayBuffer,
        steps: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """Fit the model to the real replay buffer: refit the standardisation, then ``steps``
    Adam steps, each member on its own ``batch_size`` transitions.

    Returns:
        The last loss (a 0-d tensor).
    """
    model.fit_normalizer(buffer.all())
    n = model.ensemble
    loss = torch.zeros(())
    for _ in range(steps):
        flat = buffer.sample(n * batch_size, generator)
        loss = model.loss(Batch(*(x.reshape(n, batch_size, *x.shape[1:]) for x in flat)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return loss.detach()


def one_step_error(model: OneStepModel, data: Batch) -> tuple[float, float]:
    """Root-mean-square error of the members' mean prediction of s′ (over all coordinates)
    and of r, in the env's own units, on ``data``.

    Returns:
        ``(state_rmse, reward_rmse)``; NaN for empty data.
    """
    if data.obs.shape[0] == 0:
        return float("nan"), float("nan")
    with torch.no_grad():
        next_obs, reward, _ = model.predict(data.obs, data.action)
        state = (next_obs.mean(dim=0) - data.next_obs).square().mean().sqrt()
        rew = (reward.mean(dim=0) - data.reward).square().mean().sqrt()
    return float(state), float(rew)
