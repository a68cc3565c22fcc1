"""A categorical next-state model for Discrete worlds: the neural counts model.

The tabular counts model (:class:`dynaq.models.CountsModel`) is a *distribution model*: it
keeps P̂(s′|s, a) = n(s, a, s′) / n(s, a) and planning draws s′ from it (Sutton & Barto
§8.1, distribution vs sample models; §8.2, Dyna-Q with a model of the world's outcomes).
:class:`~dynaq.deep.model.OneStepModel` regresses the mean next observation instead, so on
one-hot observations it imagines blends of states that are no state at all. This model is
the counts model with function approximation: an ensemble of ReLU MLPs maps (one-hot s,
one-hot a) to a softmax over the ``n_states`` next states, and imagining draws s′ from that
softmax, so every imagined state is a real one.

Design:

- **Next state**: logits over the states, trained by the cross-entropy of the observed s′.
  Its minimiser over one pair's data is the empirical distribution n(s, a, ·) / n(s, a),
  exactly the counts model's P̂; the network adds generalisation across pairs and a fixed
  memory. Imagining is a sample model on top of it: one uniform per row, inverted through
  the member's cumulative softmax.
- **Reward**: one regression head for E[r | s, a] (MSE on the reward standardised per seed).
  A Q-learning target r + γ(1 − term) max_a′ Q(s′, a′) is linear in r, so replacing r by
  E[r | s, a] leaves the target's expectation unchanged: r need not be drawn jointly with
  s′, and a mean suffices (the counts model keeps a mean reward too).
- **Termination**: a function of the state reached, P(term | s′), drawn for the drawn s′.
  In Gymnasium's discrete worlds ``terminated`` is a property of s′ (FrozenLake's holes and
  goal, Taxi's delivered passenger, dynaq's goal and cliff cells,
  :mod:`dynaq.envs.gridworld`), so this keeps s′ and termination consistent, where an
  independent P(term | s, a) would imagine "reached the goal, not terminal" and "ended on
  the ice" from a pair that reaches the goal one time in three. Where a world's termination
  also depends on (s, a), this learns its average over the arrivals at s′
  (:func:`true_tables` refuses such a world).
- **Termination by counts, no class weight**: P(term | s′) is one number per state, so
  :meth:`CategoricalModel.fit_statistics` counts it from the whole buffer, the counts
  model's estimate (§8.1): terminal arrivals at s′ / arrivals at s′, and for a state never
  reached the buffer's terminal fraction. It is the maximum-likelihood estimate a learned
  head would converge to, exact from the first fit, and a count does not care how rare the
  terminal rows are, so :data:`dynaq.deep.model.POS_WEIGHT_RANGE`'s weight has nothing to
  correct. A learned head tried first (one logit w[s′] + b per state; Adam at Dyna-DQN's
  ``model_lr`` 1e-3, batches of 256, on the test's world, 2% of whose rows are terminal)
  still gave the terminal states P 0.51–0.56 and the others 0.26–0.35 after 500 steps,
  20 fits at the default 25 steps a fit: each logit moves about lr per Adam step. Weighting
  the terminal rows by 10 changed those P by under 0.01, as it must: Adam's step does not
  change when all of a parameter's gradients are scaled by one constant. The E members of
  a seed share the table; they differ where the uncertainty is, in P(s′|s, a) and r.

Conventions (lockstep seeds): S seeds, each with an ensemble of E members, are M = S·E
members, member m = s·E + e, of one :class:`~dynaq.deep.nets.BatchedMLP` (whose padding
makes each member's products those it would get alone). Seed s's members are initialised
from ``generators[s]`` only, and every reduction and random draw is per seed, so what seed s
computes is bitwise the same alone or beside others.

Inputs are not standardised: one-hot columns are already in {0, 1}, and dividing a rarely
visited state's column by its deviation would make its input large.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from dynaq.deep.buffer import Batch
from dynaq.deep.model import STD_FLOOR, ModelErrors
from dynaq.deep.nets import BatchedMLP
from dynaq.mdp import TabularMDP


class CategoricalModel(nn.Module):
    """S seeds × E members of MLPs predicting P(s′|s, a) and E[r|s, a], and per seed a
    counted P(term|s′).

    Args:
        n_states: Number of states (length of a one-hot observation).
        n_actions: Number of actions.
        hidden: Hidden layer widths of each member.
        ensemble: Members per seed, E.
        generators: One CPU generator per seed (S = ``len(generators)``); seed s's initial
            weights are drawn from ``generators[s]`` alone: per layer, its E members' weight
            ``[E, n_in, n_out]`` then bias ``[E, 1, n_out]``, U(±1/√n_in) as in
            :class:`torch.nn.Linear`.

    Raises:
        ValueError: If a size is not a positive integer or a generator is not a CPU
            ``torch.Generator``.
    """

    def __init__(self, n_states: int, n_actions: int, hidden: Sequence[int], ensemble: int,
                 generators: Sequence[torch.Generator], elites: int = 1) -> None:
        super().__init__()
        for name, value in (("n_states", n_states), ("n_actions", n_actions),
                            ("ensemble", ensemble)):
            _check_positive(name, value)
        hidden = tuple(hidden)
        for width in hidden:
            _check_positive("hidden", width)
        generators = _check_generators(generators, None)
        self.n_states, self.n_actions, self.ensemble = n_states, n_actions, ensemble
        self.seeds = len(generators)
        # logits of s′, then r
        self.net = BatchedMLP((n_states + n_actions, *hidden, n_states + 1), generators,
                              ensemble)
        self.register_buffer("reward_mean", torch.zeros(self.seeds))
        self.register_buffer("reward_std", torch.ones(self.seeds))
        # P(term | s′) per seed, counted by fit_statistics; never terminal before a fit
        self.register_buffer("term_prob", torch.zeros(self.seeds, n_states))
        # the members imagination uses, ranked by dynaq.deep.model.fit
        self.register_buffer("elites", torch.arange(elites).expand(self.seeds, elites).clone())

    # -- the network ----------------------------------------------------------------------
    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Raw outputs ``[S, E, B, n_states + 1]``: the next-state logits, then the
        standardised reward.

        Args:
            obs: One-hot states ``[S, B, n_states]`` (every member of seed s sees seed s's
                rows) or ``[S, E, B, n_states]`` (a minibatch per member).
            action: ``int64`` actions ``[S, B]`` or ``[S, E, B]``, as ``obs``.

        Raises:
            ValueError: For a bad shape, an action out of range or a non-one-hot ``obs``.
        """
        if obs.dim() not in (3, 4):
            raise ValueError(f"obs must have shape [S, B, {self.n_states}] or [S, E, B, "
                             f"{self.n_states}] (S = {self.seeds}, E = {self.ensemble}); "
                             f"got {list(obs.shape)}")
        lead = (self.seeds, self.ensemble) if obs.dim() == 4 else (self.seeds,)
        self._check_states("obs", obs, lead)
        self._check_pairs_of(obs, action=action)
        return self._forward(obs, action)

    def _forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        x = torch.cat([obs, nn.functional.one_hot(action, self.n_actions).to(obs.dtype)],
                      dim=-1)
        if x.dim() == 3:
            x = x[:, None].expand(-1, self.ensemble, -1, -1)
        s, e, b = x.shape[:3]
        return self.net(x.reshape(s * e, b, -1)).reshape(s, e, b, -1)

    # -- fitting --------------------------------------------------------------------------
    def fit_statistics(self, data: Batch) -> None:
        """Fit, per seed, from ``data``, its whole replay buffer (fields ``[S, n, ...]``):
        the reward standardisation (mean and deviation, the deviation at least
        :data:`~dynaq.deep.model.STD_FLOOR`) and P(term | s′), terminal arrivals at s′ /
        arrivals at s′ (the buffer's terminal fraction for a state it never reached).

        Raises:
            ValueError: For a bad shape or an empty buffer, a non-one-hot ``next_obs``, a
                ``terminated`` other than 0 or 1, or a reward that is not finite.
        """
        S = self.seeds
        self._check_states("data.next_obs", data.next_obs, (S,))
        self._check_pairs_of(data.next_obs, reward=data.reward, terminated=data.terminated,
                             prefix="data.")
        n = data.next_obs.shape[1]
        if n == 0:
            raise ValueError("data must hold at least one transition per seed; got none")
        _check_binary("data.terminated", data.terminated)
        if not bool(torch.isfinite(data.reward).all()):
            raise ValueError("data.reward must hold finite numbers; got inf or nan")
        for s in range(S):  # per seed, on its own copy: what S = 1 computes
            reward = data.reward[s].clone()
            self.reward_mean[s] = reward.mean()
            self.reward_std[s] = reward.std(correction=0).clamp_min(STD_FLOOR)
        # sums of 0/1 are exact integers in float32 (below 2^24 rows), whatever the order
        arrivals = data.next_obs.sum(dim=1)
        ends = (data.next_obs * data.terminated[..., None]).sum(dim=1)
        fraction = ends.sum(dim=1, keepdim=True) / n
        self.term_prob.copy_(torch.where(arrivals > 0, ends / arrivals.clamp_min(1),
                                         fraction))

    def member_losses(self, batch: Batch) -> torch.Tensor:
        """Each member's loss ``[S, E]`` on its own minibatch: the cross-entropy of the
        observed s′ plus the squared error of the standardised r, averaged over the rows.
        (``terminated`` is not used: :meth:`fit_statistics` counts P(term | s′).)

        Args:
            batch: Fields ``[S, E, B, ...]``: one-hot ``obs`` and ``next_obs``, ``int64``
                ``action``, ``reward``; or ``[S, B, ...]``, the same rows for every member
                (a held-out set).

        Raises:
            ValueError: For a bad shape, an action out of range, or a non-one-hot ``obs``
                or ``next_obs``.
        """
        if batch.obs.dim() == 3:
            batch = Batch(*(x[:, None].expand(-1, self.ensemble, *x.shape[1:]) for x in batch))
        lead = (self.seeds, self.ensemble)
        self._check_states("batch.obs", batch.obs, lead)
        self._check_states("batch.next_obs", batch.next_obs, lead, batch.obs.shape[2])
        self._check_pairs_of(batch.obs, action=batch.action, reward=batch.reward,
                             prefix="batch.")
        n = self.n_states
        out = self._forward(batch.obs, batch.action)
        target = batch.next_obs.argmax(dim=-1, keepdim=True)
        cross_entropy = -torch.log_softmax(out[..., :n], dim=-1).gather(-1, target)
        reward = (batch.reward - self.reward_mean[:, None, None]) / self.reward_std[:, None, None]
        squared = (out[..., n] - reward).square()
        return (cross_entropy.squeeze(-1) + squared).mean(dim=-1)

    # -- imagining ------------------------------------------------------------------------
    def sample(self, obs: torch.Tensor, action: torch.Tensor, member: torch.Tensor,
               generators: Sequence[torch.Generator]
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Imagined ``(next_obs, reward, terminated)`` of each row by the given member.

        s′ is drawn from the member's softmax, so it is always a real state; the reward is
        the member's E[r | s, a]; terminated is drawn as Bernoulli(P(term | s′)) at the drawn
        s′ (its seed's counted table).

        Args:
            obs: One-hot states ``[S, n, n_states]``.
            action: ``int64`` actions ``[S, n]``.
            member: ``int64`` member of each row ``[S, n]``, in ``[0, E)``.
            generators: One CPU generator per seed. Seed s's draws come from
                ``generators[s]``: ``n`` uniforms for s′ (inverse CDF), then ``n`` for
                terminated (ended where the uniform is below P); on the CPU, so one seed
                imagines the same transitions on every device and beside any other seeds.

        Returns:
            ``next_obs`` one-hot ``[S, n, n_states]``, ``reward [S, n]``, ``terminated``
            ``[S, n]`` (0 or 1), in the dtype of ``obs``.

        Raises:
            ValueError: For a bad shape, an action or member out of range, a non-one-hot
                ``obs``, or not S CPU generators.
        """
        self._check_states("obs", obs, (self.seeds,))
        self._check_pairs_of(obs, action=action, member=member)
        generators = _check_generators(generators, self.seeds)
        n, ns = obs.shape[1], self.n_states
        uv = torch.stack([torch.rand(2, n, generator=g) for g in generators])
        u, v = (x.to(obs.device, obs.dtype) for x in uv.unbind(1))
        with torch.no_grad():
            out = self._forward(obs, action)
            chosen = out.gather(1, member[:, None, :, None].expand(-1, 1, n, ns + 1))[:, 0]
            cdf = torch.softmax(chosen[..., :ns], dim=-1).cumsum(dim=-1)
            # the first state whose cumulative mass exceeds u × total: never a massless
            # one; the clamp only guards against rounding
            nxt = torch.searchsorted(cdf, (u * cdf[..., -1])[..., None], right=True)
            nxt = nxt[..., 0].clamp_max(ns - 1)
            reward = chosen[..., ns] * self.reward_std[:, None] + self.reward_mean[:, None]
            ends = self.term_prob.gather(1, nxt)
        return (nn.functional.one_hot(nxt, ns).to(obs.dtype), reward,
                (v < ends).to(obs.dtype))

    def errors(self, data: Batch, rule: object = None) -> ModelErrors:
        """The elites' errors on fresh real transitions ``[S, n, ...]``, per seed, averaged
        over the elites (the member imagination uses), as
        :func:`dynaq.deep.model.model_errors` measures them for a regression model:

        - ``state``: a drawn one-hot s′ is √2 from the true one or on it, so the expected
          squared error is 2 (1 − P̂(s′)); relative to the spread of Δs (2 per move), the
          error is sqrt(Σ (1 − P̂(s′)) / moves), and "no change" again scores 1;
        - ``reward``: RMSE of E[r | s, a] against the rewards seen;
        - ``recall`` and ``precision``: of the expected imagined endings,
          Σ_s′ P̂(s′) P(term | s′), as for the regression model.

        Args:
            data: Fresh transitions (one-hot states).
            rule: Unused: dynaq knows no termination rule of a Discrete world.
        """
        del rule
        n_seeds = self.seeds
        if data.obs.shape[1] == 0:
            nan = torch.full((n_seeds,), float("nan"))
            return ModelErrors(nan, nan, nan, nan)
        ns = self.n_states
        with torch.no_grad():
            out = self._forward(data.obs, data.action)
            pick = self.elites[:, :, None, None].expand(-1, -1, *out.shape[2:])
            out = out.gather(1, pick)
            probs = torch.softmax(out[..., :ns], dim=-1)
            p_true = (probs * data.next_obs[:, None]).sum(dim=-1)
            moves = (data.next_obs != data.obs).any(dim=-1).sum(dim=-1, keepdim=True)
            state = ((1 - p_true).sum(dim=-1) / moves.clamp_min(1)).sqrt().mean(dim=1)
            reward = out[..., ns] * self.reward_std[:, None, None] + \
                self.reward_mean[:, None, None]
            rew = (reward - data.reward[:, None]).square().mean(dim=-1).sqrt().mean(dim=1)
            p_end = (probs * self.term_prob[:, None, None]).sum(dim=-1)
            ended = data.terminated[:, None]
            recall = ((p_end * ended).sum(dim=-1) / ended.sum(dim=-1)).mean(dim=1)
            precision = ((p_end * ended).sum(dim=-1) / p_end.sum(dim=-1)).mean(dim=1)
        return ModelErrors(state.cpu(), rew.cpu(), recall.cpu(), precision.cpu())

    # -- the model as tables --------------------------------------------------------------
    def transition_probs(self) -> torch.Tensor:
        """P̂(s′|s, a) of every member, ``[S, E, n_states, n_actions, n_states]``."""
        ns = self.n_states
        return torch.softmax(self._all_pairs()[..., :ns], dim=-1).reshape(
            self.seeds, self.ensemble, ns, self.n_actions, ns)

    def expected_reward(self) -> torch.Tensor:
        """E[r | s, a] of every member, ``[S, E, n_states, n_actions]``."""
        ns = self.n_states
        out = self._all_pairs()[..., ns]
        return (out * self.reward_std[:, None, None] + self.reward_mean[:, None, None]).reshape(
            self.seeds, self.ensemble, ns, self.n_actions)

    def termination_probs(self) -> torch.Tensor:
        """P(term | s′) of every member, ``[S, E, n_states]``: the probability that the
        episode ends on reaching s′ (the members of a seed share it)."""
        return self.term_prob[:, None].expand(self.seeds, self.ensemble, self.n_states).clone()

    def _all_pairs(self) -> torch.Tensor:
        """Raw outputs ``[S, E, n_states · n_actions, n_states + 1]`` of every (s, a), s
        major."""
        ns, na = self.n_states, self.n_actions
        device, dtype = self.term_prob.device, self.term_prob.dtype
        obs = torch.eye(ns, device=device, dtype=dtype).repeat_interleave(na, dim=0)
        action = torch.arange(na, device=device).repeat(ns)
        with torch.no_grad():
            return self._forward(obs.expand(self.seeds, *obs.shape),
                                 action.expand(self.seeds, *action.shape))

    # -- checks ---------------------------------------------------------------------------
    def _check_states(self, name: str, x: torch.Tensor, lead: tuple[int, ...],
                      rows: int | None = None) -> None:
        """``x`` is ``[*lead, B, n_states]`` (B = ``rows`` when given) of one-hot rows."""
        shape = tuple(x.shape)
        want = f"[{', '.join(map(str, lead))}, {'B' if rows is None else rows}, {self.n_states}]"
        if (len(shape) != len(lead) + 2 or shape[:len(lead)] != lead
                or shape[-1] != self.n_states or (rows is not None and shape[-2] != rows)):
            raise ValueError(f"{name} must have shape {want} (S = {self.seeds}, "
                             f"E = {self.ensemble}); got {list(shape)}")
        if x.dtype != self.term_prob.dtype:
            raise ValueError(f"{name} must be a {self.term_prob.dtype} tensor; got {x.dtype}")
        one_hot = ((x == 0) | (x == 1)).all(dim=-1) & (x.sum(dim=-1) == 1)
        if not bool(one_hot.all()):
            bad = int((~one_hot).sum())
            raise ValueError(f"{name} must be one-hot rows (a single 1, the rest 0) of length "
                             f"{self.n_states}; {bad} of {one_hot.numel()} rows are not")

    def _check_pairs_of(self, states: torch.Tensor, prefix: str = "",
                        **fields: torch.Tensor) -> None:
        """Each field is ``states``'s shape less its last dim; ``action`` and ``member``
        hold int64 indices in range."""
        lead = tuple(states.shape[:-1])
        for name, x in fields.items():
            if tuple(x.shape) != lead:
                raise ValueError(f"{prefix}{name} must have shape {list(lead)}, as the "
                                 f"states; got {list(x.shape)}")
            limit = {"action": self.n_actions, "member": self.ensemble}.get(name)
            if limit is None:
                continue
            if x.dtype != torch.int64:
                raise ValueError(f"{prefix}{name} must be an int64 tensor; got {x.dtype}")
            bad = (x < 0) | (x >= limit)
            if bool(bad.any()):
                raise ValueError(f"{prefix}{name} must hold integers in [0, {limit}); got "
                                 f"{int(x[bad][0])}")


def true_tables(mdp: TabularMDP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The dynamics of ``mdp`` (before any change) in :class:`CategoricalModel`'s terms.

    Only the outcomes of the states an agent can act in (:meth:`TabularMDP.reachable`)
    count: a state is terminal when one of them reaching it ends the episode. (Taxi's table,
    for one, moves the taxi on from a delivered passenger without ending, from states no
    episode acts in.)

    Returns:
        ``(P [n_states, n_actions, n_states], E[r] [n_states, n_actions], terminal
        [n_states])``: the transition probabilities, the expected rewards, and whether
        reaching each state ends the episode (False for a state no outcome reaches).

    Raises:
        ValueError: If some of those outcomes reaching a state end the episode and others
            do not: termination is then no function of s′, and the model cannot represent
            it.
    """
    ns, na = mdp.n_states, mdp.n_actions
    pair = np.repeat(np.arange(ns * na), np.diff(mdp.offsets))
    reward = np.bincount(pair, mdp.prob * mdp.reward, minlength=ns * na)
    acted = mdp.reachable()[pair // na]
    terminal = np.bincount(mdp.next_state, acted & mdp.terminated, minlength=ns) > 0
    mixed = acted & (mdp.terminated != terminal[mdp.next_state])
    if mixed.any():
        s = int(mdp.next_state[np.flatnonzero(mixed)[0]])
        raise ValueError(f"mdp must end episodes as a function of the state reached; "
                         f"state {s} is reached both terminally and not")
    return _transitions(mdp), reward.reshape(ns, na), terminal


def total_variation(model: CategoricalModel, mdp: TabularMDP) -> torch.Tensor:
    """½ Σ_s′ |P̂(s′|s, a) − P(s′|s, a)| of every member and pair, ``[S, E, n_states,
    n_actions]`` (float64): the tabular models' ``model_error`` per pair, before its mean.
    Average it over the pairs of interest: those of the states an agent can act in
    (:meth:`TabularMDP.reachable`); no data ever trains a terminal state's rows.

    Raises:
        ValueError: If ``mdp``'s sizes are not the model's.
    """
    if (mdp.n_states, mdp.n_actions) != (model.n_states, model.n_actions):
        raise ValueError(f"mdp must have {model.n_states} states and {model.n_actions} "
                         f"actions, as the model; got {mdp.n_states} and {mdp.n_actions}")
    true = torch.from_numpy(_transitions(mdp))
    return 0.5 * (model.transition_probs().cpu().double() - true).abs().sum(dim=-1)


def _transitions(mdp: TabularMDP) -> np.ndarray:
    """The dense P(s′|s, a) ``[n_states, n_actions, n_states]`` of ``mdp``."""
    ns, na = mdp.n_states, mdp.n_actions
    pair = np.repeat(np.arange(ns * na), np.diff(mdp.offsets))
    P = np.zeros((ns * na, ns))
    np.add.at(P, (pair, mdp.next_state), mdp.prob)
    return P.reshape(ns, na, ns)


def _check_binary(name: str, x: torch.Tensor) -> None:
    if not bool(((x == 0) | (x == 1)).all()):
        raise ValueError(f"{name} must hold 0 or 1 only")


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")


def _check_generators(generators: Sequence[torch.Generator], seeds: int | None
                      ) -> list[torch.Generator]:
    generators = list(generators)
    if seeds is not None and len(generators) != seeds:
        raise ValueError(f"generators must hold one CPU generator per seed (S = {seeds}); "
                         f"got {len(generators)}")
    if not generators or not all(isinstance(g, torch.Generator) and g.device.type == "cpu"
                                 for g in generators):
        got = [g.device.type if isinstance(g, torch.Generator) else type(g).__name__
               for g in generators]
        raise ValueError(f"generators must be a non-empty sequence of CPU torch.Generator; "
                         f"got {got}")
    return generators
