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

Fitting (:func:`fit`) follows MBPO (Janner et al. 2019): each fit holds out a random
``model_holdout`` share of the buffer, trains every member on the rest, measures each member's
held-out loss every :data:`EVAL_PERIOD` steps, stops when no member has improved by 1% for
:data:`PATIENCE` measurements (or after ``model_gradient_steps``), and restores each member's
best weights; the ``model_elites`` members of lowest held-out loss are the ones imagination
uses. Each fit starts a fresh Adam from the last fit's weights, so that a fit is the same
whatever the other seeds of a lockstep batch did.

Imagining (:meth:`OneStepModel.sample`) uses one elite member per transition, drawn at random
(PETS's "TS1", as MBPO does), and ends the episode with that member's P(terminated), a
Bernoulli draw: a state the model is unsure of sometimes ends and sometimes goes on, where a
cut-off at 1/2 would never end it. Its errors (:func:`model_errors`) are those of the member
used: each elite's, averaged, not the error of the members' mean.

An expected backup uses ``1 − P(terminated)`` from :meth:`OneStepModel.predict` as the weight
of the bootstrap instead of a draw.

Its outputs are means, so in a stochastic world it predicts the average next state, not a
draw: the "false certainty" the course warns of (FrozenLake's slippery ice, for instance).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from dynaq.deep.buffer import Batch, ReplayBuffer
from dynaq.deep.nets import BatchedMLP, MemberAdam
from dynaq.deep.termination import TerminationFn

STD_FLOOR = 1e-2
"""Smallest standard deviation used to standardise (a constant feature stays finite)."""

POS_WEIGHT_RANGE = (1.0, 10.0)
"""Bounds of the terminal class's loss weight: never below the other class's, and at most
10. The cap trades recall for false endings, each a bias of imagined values: on CartPole
transitions 0.65% terminal (a model fitted 2000 steps, 20k fresh transitions), no weight
recalled 27–45% of the terminations, a cap of 100 92–96% while ending 2.4–3.7% of the
others (40–49% after only 25 steps of fitting), a cap of 10 77–81% while ending 1.1–1.7%.
Where the rule is known (:mod:`dynaq.deep.termination`), no learned head is needed."""

EVAL_PERIOD = 25
"""Gradient steps between two measurements of the held-out loss during a fit."""
PATIENCE = 4
"""Measurements without a 1% gain of any member of a seed before its fit stops (MBPO: 5
epochs)."""
MAX_HOLDOUT = 5000
"""Most held-out transitions per fit (MBPO's cap)."""


class OneStepModel(nn.Module):
    """Ensembles of E MLPs predicting (Δs, r, termination logit) from (s, a), one ensemble
    per seed of a lockstep batch.

    Args:
        obs_dim: Length of an observation vector.
        n_actions: Number of actions (one-hot encoded as input).
        hidden: Hidden layer widths of each member.
        ensemble: Members E per seed.
        generators: One CPU generator per seed, for its members' initial weights.
        elites: Members per seed that imagination uses (the first ones until a fit with a
            holdout ranks them).
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden: Sequence[int], ensemble: int,
                 generators: Sequence[torch.Generator], elites: int = 1) -> None:
        super().__init__()
        self.obs_dim, self.n_actions, self.ensemble = obs_dim, n_actions, ensemble
        self.seeds = len(generators)
        self.net = BatchedMLP((obs_dim + n_actions, *hidden, obs_dim + 2), generators, ensemble)
        # per seed, shaped to broadcast over [S, E, B, ·]
        for name, size in (("obs", obs_dim), ("delta", obs_dim), ("reward", 1)):
            self.register_buffer(f"{name}_mean", torch.zeros(self.seeds, 1, 1, size))
            self.register_buffer(f"{name}_std", torch.ones(self.seeds, 1, 1, size))
        # buffers, not numbers: a saved agent's state_dict restores what it trained with
        self.register_buffer("term_pos_weight", torch.ones(self.seeds, 1, 1))
        self.register_buffer("elites", torch.arange(elites).expand(self.seeds, elites).clone())

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Standardised outputs ``[S, E, B, obs_dim + 2]`` (Δs, r, logit) of every member.

        Args:
            obs: ``[S, B, obs_dim]`` (every member of a seed sees it) or ``[S, E, B, obs_dim]``.
            action: ``[S, B]`` or ``[S, E, B]`` action indices.
        """
        if obs.dim() == 3:
            obs = obs[:, None].expand(-1, self.ensemble, -1, -1)
            action = action[:, None].expand(-1, self.ensemble, -1)
        x = torch.cat([(obs - self.obs_mean) / self.obs_std,
                       nn.functional.one_hot(action, self.n_actions).to(obs.dtype)], dim=-1)
        s, e, b = x.shape[:3]
        return self.net(x.reshape(s * e, b, -1)).reshape(s, e, b, -1)

    def predict(self, obs: torch.Tensor, action: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every member's ``(next_obs [S, E, B, d], reward [S, E, B], P(terminated) [S, E, B])``.

        ``1 − P(terminated)`` is the expected continuation: the weight of the bootstrap
        ``γ max_a Q(s′, a)`` in an expected backup. P is that of the class-weighted loss (see
        the module's docstring), so it leans towards termination where the model is unsure.
        """
        out = self(obs, action)
        d = self.obs_dim
        base = obs if obs.dim() == 4 else obs[:, None]
        next_obs = base + out[..., :d] * self.delta_std + self.delta_mean
        reward = out[..., d] * self.reward_std[..., 0] + self.reward_mean[..., 0]
        return next_obs, reward, torch.sigmoid(out[..., d + 1])

    def sample(self, obs: torch.Tensor, action: torch.Tensor, member: torch.Tensor,
               generators: Sequence[torch.Generator],
               predicted: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Imagined ``(next_obs, reward, terminated)`` for ``[S, n]`` pairs, each from the
        given member; terminated (0/1) drawn as Bernoulli(P(terminated)) of that member.

        Args:
            obs: ``[S, n, obs_dim]`` states.
            action: ``[S, n]`` action indices.
            member: ``[S, n]`` member of each pair, in [0, E).
            generators: One CPU generator per seed; seed s draws ``n`` uniforms ``u``
                (terminated where ``u < P``) on the CPU, so one seed imagines the same
                transitions on every device.
            predicted: :meth:`predict` of these pairs, where the caller has it already.
        """
        if predicted is None:
            with torch.no_grad():
                predicted = self.predict(obs, action)
        next_obs, reward, p_term = predicted
        pick = member[:, None, :]
        u = torch.stack([torch.rand(obs.shape[1], generator=g) for g in generators])
        return (next_obs.gather(1, pick[..., None].expand(-1, -1, -1, self.obs_dim))[:, 0],
                reward.gather(1, pick)[:, 0],
                (u.to(obs.device) < p_term.gather(1, pick)[:, 0]).to(obs.dtype))

    def errors(self, data: Batch, rule: TerminationFn | None = None) -> ModelErrors:
        """:func:`model_errors` of this model."""
        return model_errors(self, data, rule)

    def fit_statistics(self, data: Batch) -> None:
        """Set each seed's standardisation (mean and deviation) and its terminal class's loss
        weight (non-terminal / terminal transitions, within :data:`POS_WEIGHT_RANGE`) from
        ``data`` ``[S, n, ...]``, the whole replay buffer."""
        delta = data.next_obs - data.obs
        for name, x in (("obs", data.obs), ("delta", delta), ("reward", data.reward[..., None])):
            getattr(self, f"{name}_mean").copy_(x.mean(dim=1)[:, None, None])
            getattr(self, f"{name}_std").copy_(
                x.std(dim=1, correction=0).clamp_min(STD_FLOOR)[:, None, None])
        positives = data.terminated.sum(dim=1)
        # no terminal transition yet: the ratio is inf, clamped to the top (it weights nothing)
        weight = (data.terminated.shape[1] - positives) / positives
        self.term_pos_weight.copy_(weight.clamp(*POS_WEIGHT_RANGE)[:, None, None])

    def member_losses(self, batch: Batch) -> torch.Tensor:
        """``[S, E]``: each member's MSE of standardised Δs and r plus its class-weighted
        termination cross-entropy, on a batch whose fields are ``[S, E, B, ...]`` (or
        ``[S, B, ...]``, the same rows for every member)."""
        out = self(batch.obs, batch.action)
        d = self.obs_dim
        obs, next_obs = batch.obs, batch.next_obs
        if obs.dim() == 3:
            obs, next_obs = obs[:, None], next_obs[:, None]
        reward, terminated = (batch.reward, batch.terminated) if batch.reward.dim() == 3 else (
            batch.reward[:, None], batch.terminated[:, None])
        delta = (next_obs - obs - self.delta_mean) / self.delta_std
        reward = (reward - self.reward_mean[..., 0]) / self.reward_std[..., 0]
        term = nn.functional.binary_cross_entropy_with_logits(
            out[..., d + 1], terminated.expand_as(out[..., d + 1]),
            pos_weight=self.term_pos_weight, reduction="none")
        return ((out[..., :d] - delta).square().mean(dim=(-2, -1))
                + (out[..., d] - reward).square().mean(dim=-1) + term.mean(dim=-1))


class FitReport(NamedTuple):
    """What one :func:`fit` did, per seed."""

    steps: list[int]
    """Gradient steps each seed's members took."""
    holdout_loss: torch.Tensor
    """``[S, E]`` each member's best held-out loss (NaN without a holdout)."""


def fit(model: OneStepModel, buffer: ReplayBuffer, lr: float, max_steps: int, batch_size: int,
        holdout: float, generators: Sequence[torch.Generator]) -> FitReport:
    """Fit each seed's ensemble to its real replay buffer (MBPO's training; see the module's
    docstring) and choose its elites.

    Refits the statistics, then: with ``holdout`` > 0, holds out that share of each seed's
    buffer (at most :data:`MAX_HOLDOUT`, at least one transition), trains on the rest with
    early stopping, restores each member's best weights and ranks the elites (the members of
    least held-out loss); with ``holdout`` 0, takes ``max_steps`` steps on the whole buffer
    and keeps the first members as elites. Seed s's draws all come from ``generators[s]``
    and a seed that has stopped draws nothing more, so its fit is the one it gets alone.

    Args:
        model: The model.
        buffer: The real replay buffer, one ring per seed.
        lr: Adam's step size (a fresh Adam per fit).
        max_steps: Most gradient steps.
        batch_size: Transitions per member per step.
        holdout: Share of the buffer held out, in [0, 1).
        generators: One CPU generator per seed.
    """
    data = buffer.all()
    model.fit_statistics(data)
    n_seeds, n_members, n = model.seeds, model.ensemble, data.obs.shape[1]
    n_hold = min(max(round(holdout * n), 1), MAX_HOLDOUT, n - 1) if holdout > 0 and n > 1 else 0
    perm = torch.stack([torch.randperm(n, generator=g) for g in generators]) if n_hold else None
    seeds_arange = torch.arange(n_seeds)[:, None]
    held = _rows(data, seeds_arange, perm[:, :n_hold]) if n_hold else None
    train_idx = perm[:, n_hold:] if n_hold else None
    optimizer = MemberAdam(model.parameters(), lr)
    params = list(model.net.parameters())
    active = [True] * n_seeds
    steps = [0] * n_seeds
    best = best_params = None
    stale = torch.zeros(n_seeds, dtype=torch.long)
    if held is not None:
        best = _held_losses(model, held)
        best_params = [p.detach().clone() for p in params]
    for step in range(1, max_steps + 1):
        idx = torch.stack([
            (torch.randint(n - n_hold, (n_members * batch_size,), generator=g) if on
             else torch.zeros(n_members * batch_size, dtype=torch.long))
            for g, on in zip(generators, active, strict=True)])
        if train_idx is not None:
            idx = train_idx.gather(1, idx)
        batch = _rows(data, seeds_arange, idx).split(n_members)
        weight = torch.tensor(active, dtype=torch.float32, device=data.obs.device)
        loss = (model.member_losses(batch).mean(dim=1) * weight).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps = [k + on for k, on in zip(steps, active, strict=True)]
        if held is None or step % EVAL_PERIOD:
            continue
        losses = _held_losses(model, held)
        # a stopped seed's weights drift on Adam's momentum: never its best
        better = (losses < best * 0.99) & torch.tensor(active, device=losses.device)[:, None]
        with torch.no_grad():
            for p, b in zip(params, best_params, strict=True):
                keep = better.reshape(-1).view(-1, *([1] * (p.dim() - 1)))
                b.copy_(torch.where(keep, p, b))
        best = torch.where(better, losses, best)
        stale = torch.where(better.any(dim=1), 0, stale + 1)
        active = [on and int(k) < PATIENCE for on, k in zip(active, stale, strict=True)]
        if not any(active):
            break
    if held is not None:
        with torch.no_grad():
            for p, b in zip(params, best_params, strict=True):
                p.copy_(b)
        model.elites.copy_(best.argsort(dim=1, stable=True)[:, :model.elites.shape[1]])
    return FitReport(steps, best if best is not None
                     else torch.full((n_seeds, n_members), float("nan")))


def _rows(data: Batch, seeds: torch.Tensor, idx: torch.Tensor) -> Batch:
    """Rows ``idx [S, m]`` of each seed's ``data``."""
    idx = idx.to(data.obs.device)
    return Batch(*(x[seeds.to(idx.device), idx] for x in data))


def _held_losses(model: OneStepModel, held: Batch) -> torch.Tensor:
    with torch.no_grad():
        return model.member_losses(held)


class ModelErrors(NamedTuple):
    """A model's errors on fresh real transitions, per seed (``[S]`` each), those of the
    member imagination uses: each elite's alone, averaged over the elites."""

    state: torch.Tensor
    """Next-state error relative to the spread of Δs: sqrt(Σ‖Δ̂ − Δ‖² / Σ‖Δ‖²) over the
    transitions, each coordinate in units of the buffer's deviation of its Δs (so that no
    coordinate dominates by its units), so that predicting "no change" scores 1 and a
    perfect model 0."""
    reward: torch.Tensor
    """Root-mean-square error of r."""
    recall: torch.Tensor
    """Of the terminal transitions, the share imagination ends: its expected share, the mean
    P(terminated) over them (the rule's verdict on the predicted s′ with a known rule); NaN
    without a terminal transition."""
    precision: torch.Tensor
    """Of the transitions imagination ends, the share that truly ended (expected); NaN
    where it ends none."""


def model_errors(model: OneStepModel, data: Batch, rule: TerminationFn | None = None
                 ) -> ModelErrors:
    """The errors of the elites on ``data`` ``[S, n, ...]`` (:class:`ModelErrors`); NaN for
    empty data.

    Args:
        model: The model.
        data: Fresh real transitions, not yet trained on.
        rule: The known termination rule, where imagination uses one.
    """
    n_seeds = model.seeds
    if data.obs.shape[1] == 0:
        nan = torch.full((n_seeds,), float("nan"))
        return ModelErrors(nan, nan, nan, nan)
    with torch.no_grad():
        next_obs, reward, p_term = model.predict(data.obs, data.action)
        pick = model.elites[..., None]
        next_obs = next_obs.gather(1, pick[..., None].expand(-1, -1, *next_obs.shape[2:]))
        reward, p_term = reward.gather(1, pick.expand(-1, -1, reward.shape[2])), p_term.gather(
            1, pick.expand(-1, -1, p_term.shape[2]))
        if rule is not None:
            p_term = rule(next_obs).to(reward.dtype)
        scale = model.delta_std  # [S, 1, 1, d]: each coordinate in its own units
        delta = (data.next_obs - data.obs)[:, None] / scale
        err = ((next_obs - data.next_obs[:, None]) / scale).square().sum(dim=(2, 3))
        spread = delta.square().sum(dim=(2, 3)).clamp_min(torch.finfo(torch.float32).tiny)
        state = (err / spread).sqrt().mean(dim=1)
        rew = (reward - data.reward[:, None]).square().mean(dim=-1).sqrt().mean(dim=1)
        ended = data.terminated[:, None]
        recall = ((p_term * ended).sum(dim=-1) / ended.sum(dim=-1)).mean(dim=1)
        precision = ((p_term * ended).sum(dim=-1) / p_term.sum(dim=-1)).mean(dim=1)
    return ModelErrors(state.cpu(), rew.cpu(), recall.cpu(), precision.cpu())


def rollout_error(model: OneStepModel, data: Batch, horizon: int) -> torch.Tensor:
    """``[S]``: each seed's H-step error on fresh real transitions: every elite rolled out
    alone for ``horizon`` model steps from a real state with the real actions that followed
    it, its state after H steps against the real one, relative to how far the real state
    moved (in units of each coordinate's Δs deviation, as :class:`ModelErrors`' state error:
    predicting "no change" scores 1), averaged over the elites. Only windows of H steps that
    are one stretch of an episode count (each step starting where the last arrived, no
    ending before the last). NaN without such a window.

    Args:
        model: The model.
        data: Consecutive real transitions ``[S, n, ...]``, oldest first.
        horizon: H.
    """
    n_seeds, n = model.seeds, data.obs.shape[1]
    windows = n - horizon + 1
    if windows < 1:
        return torch.full((n_seeds,), float("nan"))
    joined = (data.obs[:, 1:] == data.next_obs[:, :-1]).all(dim=-1) & (
        data.terminated[:, :-1] == 0)
    valid = torch.ones(n_seeds, windows, dtype=torch.bool, device=data.obs.device)
    for j in range(horizon - 1):
        valid &= joined[:, j:j + windows]
    state = data.obs[:, None, :windows].expand(-1, model.ensemble, -1, -1)
    with torch.no_grad():
        for j in range(horizon):
            action = data.action[:, None, j:j + windows].expand(-1, model.ensemble, -1)
            state = model.predict(state, action)[0]
        pick = model.elites[..., None, None].expand(-1, -1, *state.shape[2:])
        state = state.gather(1, pick)
        scale = model.delta_std
        target = data.next_obs[:, None, horizon - 1:horizon - 1 + windows]
        err = ((state - target) / scale).square().sum(dim=-1)
        moved = ((target - data.obs[:, None, :windows]) / scale).square().sum(dim=-1)
        mask = valid[:, None].to(err.dtype)
        ratio = (err * mask).sum(dim=-1) / (moved * mask).sum(dim=-1)
    return ratio.sqrt().mean(dim=1).cpu()
