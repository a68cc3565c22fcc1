"""A neural one-step model: the course's third model type, "weights θ, large / continuous".

An ensemble of N ReLU MLPs maps (s, one-hot a) to (Δs, r, termination logit), the tabular
model's (s, a) → (s′, r) with function approximation (Sutton & Barto §8.1–8.2). Inputs and
the Δs and r targets are standardised with the statistics of the replay buffer at each fit.
Each member trains on its own random minibatches, so the members differ by their data as
well as by their initial weights (Chua et al. 2018, PETS).

Terminal steps are rare (a few percent of CartPole's transitions, fewer as the policy
improves), and a plain cross-entropy head learns "never terminal" first: a missed failure is
imagined as "reward, keep going", erasing the only value signal such a task has. The
termination loss therefore weights the terminal class by negatives / positives in the buffer
(clamped to :data:`POS_WEIGHT_RANGE`): the cross-entropy of a class-balanced sample, up to
the clamp (King & Zeng 2001; the ``pos_weight`` of
:func:`torch.nn.functional.binary_cross_entropy_with_logits`).
Its minimiser is not the calibrated P(terminated) but its odds times the weight: the model
errs on the side of ending episodes, trading precision for recall where it is unsure. Where
the rule is known exactly, :mod:`dynaq.deep.termination` gives it and no model is needed.

Two uses, two rules:
- imagining (:meth:`OneStepModel.sample`) draws one member at random per transition (PETS's
  "TS1", as MBPO does) and ends the episode with that member's P(terminated), a Bernoulli
  draw: a state the model is unsure of sometimes ends and sometimes goes on, where a cut-off
  at 1/2 would never end it;
- error (:func:`one_step_error`) averages the members' predictions.

An expected backup uses ``1 − P(terminated)`` from :meth:`OneStepModel.predict` as the weight
of the bootstrap instead of a draw.

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

POS_WEIGHT_RANGE = (1.0, 10.0)
"""Bounds of the terminal class's loss weight: never below the other class's, and at most
10. The cap trades recall for false endings, each a bias of imagined values: on CartPole
transitions 0.65% terminal (a model fitted 2000 steps, 20k fresh transitions), no weight
recalled 27–45% of the terminations, a cap of 100 92–96% while ending 2.4–3.7% of the
others (40–49% after only 25 steps of fitting), a cap of 10 77–81% while ending 1.1–1.7%.
Where the rule is known (:mod:`dynaq.deep.termination`), no learned head is needed."""


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
        # a buffer, not a number: a saved agent's state_dict restores the weight it trained with
        self.register_buffer("term_pos_weight", torch.ones(1))

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
        """Every member's ``(next_obs [N, B, d], reward [N, B], P(terminated) [N, B])``.

        ``1 − P(terminated)`` is the expected continuation: the weight of the bootstrap
        ``γ max_a Q(s′, a)`` in an expected backup. P is that of the class-weighted loss (see
        the module's docstring), so it leans towards termination where the model is unsure.
        """
        out = self(obs, action)
        d = self.obs_dim
        next_obs = obs + out[..., :d] * self.delta_std + self.delta_mean
        reward = out[..., d] * self.reward_std + self.reward_mean
        return next_obs, reward, torch.sigmoid(out[..., d + 1])

    def sample(self, obs: torch.Tensor, action: torch.Tensor, generator: torch.Generator
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Imagined ``(next_obs, reward, terminated)`` for ``[B]`` pairs, one random member
        each; terminated (0/1) drawn as Bernoulli(P(terminated)) of that member.

        Args:
            obs: ``[B, obs_dim]`` states.
            action: ``[B]`` action indices.
            generator: A CPU generator. It draws ``B`` member indices first, then ``B``
                uniforms ``u`` (terminated where ``u < P``); both on the CPU, so one seed
                imagines the same transitions on every device.
        """
        with torch.no_grad():
            next_obs, reward, p_term = self.predict(obs, action)
        n = obs.shape[0]
        member = torch.randint(self.ensemble, (n,), generator=generator).to(obs.device)
        u = torch.rand(n, generator=generator).to(obs.device)
        rows = torch.arange(n, device=obs.device)
        return (next_obs[member, rows], reward[member, rows],
                (u < p_term[member, rows]).to(obs.dtype))

    def fit_statistics(self, data: Batch) -> None:
        """Set the standardisation (mean and deviation) and the terminal class's loss weight
        (non-terminal / terminal transitions, within :data:`POS_WEIGHT_RANGE`) from ``data``,
        the whole replay buffer."""
        delta = data.next_obs - data.obs
        for name, x in (("obs", data.obs), ("delta", delta), ("reward", data.reward[:, None])):
            getattr(self, f"{name}_mean").copy_(x.mean(dim=0))
            getattr(self, f"{name}_std").copy_(x.std(dim=0, correction=0).clamp_min(STD_FLOOR))
        positives = data.terminated.sum()
        # no terminal transition yet: the ratio is inf, clamped to the top (it weights nothing)
        weight = (data.terminated.numel() - positives) / positives
        self.term_pos_weight.copy_(weight.clamp(*POS_WEIGHT_RANGE))

    def loss(self, batch: Batch) -> torch.Tensor:
        """MSE of standardised Δs and r plus the class-weighted termination cross-entropy, on
        a batch whose fields are ``[N, B, ...]`` (one minibatch per member)."""
        out = self(batch.obs, batch.action)
        d = self.obs_dim
        delta = (batch.next_obs - batch.obs - self.delta_mean) / self.delta_std
        reward = (batch.reward - self.reward_mean) / self.reward_std
        return (nn.functional.mse_loss(out[..., :d], delta)
                + nn.functional.mse_loss(out[..., d], reward)
                + nn.functional.binary_cross_entropy_with_logits(
                    out[..., d + 1], batch.terminated, pos_weight=self.term_pos_weight))


def fit(model: OneStepModel, optimizer: torch.optim.Optimizer, buffer: ReplayBuffer,
        steps: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """Fit the model to the real replay buffer: refit its statistics (standardisation and
    termination weight), then ``steps`` Adam steps, each member on its own ``batch_size``
    transitions.

    Returns:
        The last loss (a 0-d tensor).
    """
    model.fit_statistics(buffer.all())
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
