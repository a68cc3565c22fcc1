"""Dyna-DQN: DQN whose k planning backups per real one are gradient steps on imagined data.

The Dyna loop of Sutton & Barto §8.2 with the course's deep substitutions ("deep Dyna
variants learn a neural model and push imagined transitions into ... a separate buffer"),
where a backup of the table becomes a gradient step on a minibatch:

  1. direct RL: DQN's gradient steps on replayed real transitions, ``updates_per_step`` U
     per real step                                                -> :meth:`DQN.plan`
  2. model learning: every ``model_period`` real steps, measure the model on the real
     transitions that arrived since the last fit (it has not trained on them), then fit it
     to the real buffer (MBPO's holdout, early stopping and elites: :func:`model.fit`)
                                                                  -> :meth:`DynaDQN.learn_model`
  3. planning: after each gradient step on real data, k gradient steps whose minibatches
     are a share imagined and the rest real. The imagined transitions are made k · B' at a
     time (B' = ``imagined_ratio`` · B): rollouts of H model steps branched from states
     drawn from the real buffer (the course's "sample a seen (ŝ, â)"; MBPO), actions
     ε-greedy under the current Q, (r̂, ŝ′, terminated) from one elite member each; a
     rollout stops where the model ends its episode or the elites disagree too much
                                                                  -> :meth:`DynaDQN.train_step`

When the model is used: not before it is trusted. Until its next-state error on fresh
transitions falls below ``model_gate``, the k planning minibatches are all real (the buffer
as experience replay's model); then the imagined share grows to ``imagined_ratio`` over
``imagined_ramp`` real steps. Each seed opens its own gate.

What k costs: a real step does U (1 + k) gradient steps, U of them on real data, so
``dqn`` at U (1 + k) is the control with the same compute and only real data ("k extra
updates on replayed real data" beside "k extra updates on imagined data"). The ``backups``
a run records count every gradient step. With k = 0 nothing of steps 2–3 exists: no model
is built, no random number is drawn, and the agent is DQN exactly (same seed → same
weights and returns).

``world_model simulator`` imagines with the env's own dynamics instead
(:mod:`dynaq.deep.simulator`): no model to learn, trusted from the start, the control that
separates "the model is wrong" from "imagined one-step transitions add little over replay".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from dynaq.deep import model as model_mod
from dynaq.deep.buffer import Batch, ReplayBuffer
from dynaq.deep.categorical import CategoricalModel
from dynaq.deep.config import DeepConfig
from dynaq.deep.dqn import DQN
from dynaq.deep.nets import IMAGINE, MODEL_INIT, MODEL_REPLAY, torch_generator
from dynaq.deep.termination import KNOWN_TERMINATION, TerminationFn, known_termination
from dynaq.errors import ConfigError

if TYPE_CHECKING:
    from dynaq.deep.simulator import TrueDynamics


def known_rule(env_id: str | None) -> TerminationFn:
    """The termination rule of ``env_id`` for ``termination known``.

    Raises:
        ConfigError: Where dynaq does not know it.
    """
    return _known(known_termination(env_id), KNOWN_TERMINATION, "termination known",
                  "rule", env_id, "termination learned")


def known_dynamics(env_id: str | None) -> TrueDynamics:
    """The true dynamics of ``env_id`` for ``world_model simulator``.

    Raises:
        ConfigError: Where dynaq does not know them.
    """
    from dynaq.deep.simulator import TRUE_DYNAMICS, true_dynamics

    return _known(true_dynamics(env_id), TRUE_DYNAMICS, "world_model simulator", "dynamics",
                  env_id, "world_model neural")


def _known(found: Any, table: dict[str, Any], setting: str, what: str, env_id: str | None,
           instead: str) -> Any:
    """``found``, unless it is None: then one line saying which envs ``setting`` needs."""
    if found is None:
        raise ConfigError(f"{setting} needs an env whose {what} dynaq knows "
                          f"({', '.join(table)}), got {env_id!r}; use {instead}")
    return found


def check_world_model(config: DeepConfig, env_id: str | None, discrete: bool) -> None:
    """Check that the world model and termination rule of ``config`` suit the env.

    Args:
        config: The agent's config (with planning steps).
        env_id: The env's Gymnasium id.
        discrete: Whether the env's observations are Discrete (one-hot for the network).

    Raises:
        ConfigError: For a known rule or true dynamics dynaq does not know, or a
            categorical model of a world whose observations are not Discrete.
    """
    if config.termination == "known":
        known_rule(env_id)
    if config.world_model == "simulator":
        known_dynamics(env_id)
    if config.world_model == "categorical" and not discrete:
        raise ConfigError(f"world_model categorical needs an env with Discrete observations "
                          f"(its states, one-hot), got {env_id!r}; use world_model neural")


class DynaDQN(DQN):
    """DQN plus a learned one-step model that imagines k transitions per real step.

    Args:
        obs_dim: Length of an observation vector.
        n_actions: Number of actions of a Discrete action space.
        config: Hyperparameters; ``planning_steps`` is k.
        seed: Seeds DQN's streams and, separately, the model's and imagination's; a
            sequence of S seeds trains S agents in lockstep.
        env_id: The Gymnasium id of the env (for a known termination rule or dynamics).

    Attributes:
        errors: Each seed's :class:`~dynaq.deep.model.ModelErrors` on the real transitions
            of the last ``model_period`` steps, measured before the model trained on them
            (NaN until the second fit).
        rollout_errors: ``[S]``, the regression model's error after H model steps on the
            same transitions (:func:`~dynaq.deep.model.rollout_error`; NaN for the others).
        trusted_at: Per seed, the real step at which imagination started (None before).
    """

    name = "dyna-dqn"
    COUNTERS: ClassVar[tuple[str, ...]] = (*DQN.COUNTERS, "model_fits")

    def __init__(self, obs_dim: int, n_actions: int, config: DeepConfig | None = None,
                 seed: int | Sequence[int] = 0, env_id: str | None = None) -> None:
        super().__init__(obs_dim, n_actions, config, seed, env_id)
        self.model_fits = 0
        self.model: model_mod.OneStepModel | CategoricalModel | None = None
        self.simulator: TrueDynamics | None = None
        n = len(self.seeds)
        nan = torch.full((n,), math.nan)
        self.errors = model_mod.ModelErrors(nan, nan, nan, nan)
        self.rollout_errors = nan
        self.trusted_at: list[int | None] = [None] * n
        if self.config.planning_steps == 0:  # exactly DQN: build nothing, draw nothing
            return
        cfg = self.config
        self.termination_rule = known_rule(env_id) if cfg.termination == "known" else None
        self.imagine_rngs = [torch_generator(s, IMAGINE) for s in self.seeds]
        self.imagined = ReplayBuffer(cfg.imagined_capacity, self.obs_dim, self.device, n)
        if cfg.world_model == "simulator":
            self.simulator = known_dynamics(env_id)
            self.trusted_at = [0] * n
            return
        model_class = CategoricalModel if cfg.world_model == "categorical" else \
            model_mod.OneStepModel
        self.model = model_class(
            self.obs_dim, self.n_actions, cfg.model_hidden, cfg.ensemble,
            [torch_generator(s, MODEL_INIT) for s in self.seeds], cfg.elites).to(self.device)
        self.model_rngs = [torch_generator(s, MODEL_REPLAY) for s in self.seeds]

    def plan(self) -> int:
        """Model learning when due (k > 0), then DQN's gradient steps, each on real data
        followed by k planning steps (:meth:`train_step`).

        Returns:
            Gradient steps done (per seed), real and planning.
        """
        cfg = self.config
        if self.model is not None and self.env_steps >= max(cfg.learning_starts, 1) \
                and (self.env_steps - cfg.learning_starts) % cfg.model_train_period == 0:
            self.learn_model()
        return super().plan()

    def imagined_share(self) -> list[float]:
        """Per seed, the share of a planning minibatch imagined now: 0 until the model is
        trusted, then ``imagined_ratio``, reached linearly over ``imagined_ramp`` real
        steps."""
        cfg = self.config
        return [0.0 if t is None else cfg.imagined_ratio * (
            1.0 if cfg.imagined_ramp == 0 else min(1.0, (self.env_steps - t) / cfg.imagined_ramp))
            for t in self.trusted_at]

    def rollout_length(self) -> int:
        """H now: 1 growing to ``rollout_length`` over ``rollout_growth`` real steps after
        ``learning_starts``."""
        cfg = self.config
        if cfg.rollout_growth == 0:
            return cfg.rollout_length
        frac = min(1.0, max(0, self.env_steps - cfg.learning_starts) / cfg.rollout_growth)
        return 1 + int((cfg.rollout_length - 1) * frac)

    def train_step(self) -> int:
        """One gradient step on replayed real data, then k planning steps (§8.2, step (f)).

        The k · B' imagined transitions (B' = ``imagined_ratio`` · B) are made in one
        batched call under the Q of the real step just taken, which the k steps then
        change; a seed whose model is not trusted yet imagines them all the same (so that
        its random streams do not depend on when it starts to trust) and uses none.

        Returns:
            Gradient steps done: 1 + k.
        """
        done = super().train_step()
        if self.model is None and self.simulator is None:
            return done
        cfg = self.config
        most = round(cfg.imagined_ratio * cfg.batch_size)
        used = [min(most, round(share * cfg.batch_size)) for share in self.imagined_share()]
        if most:
            self.imagine(cfg.planning_steps * most, keep=[u > 0 for u in used])
        for batch in self.planning_batches(used, cfg.planning_steps):
            self.update(batch)
        return done + cfg.planning_steps

    def learn_model(self) -> None:
        """Measure the model on the real transitions it has not trained on, open the gate of
        each seed whose error is below ``model_gate``, then fit the model."""
        cfg = self.config
        if self.model_fits:
            fresh = self.buffer.recent(cfg.model_train_period)
            self.errors = self.model.errors(fresh, self.termination_rule)
            if isinstance(self.model, model_mod.OneStepModel):
                self.rollout_errors = model_mod.rollout_error(self.model, fresh,
                                                              cfg.rollout_length)
        model_mod.fit(self.model, self.buffer, cfg.model_lr, cfg.model_gradient_steps,
                      cfg.model_batch_size, cfg.model_holdout, self.model_rngs)
        self.model_fits += 1
        for s, t in enumerate(self.trusted_at):
            # inf trusts once fitted; a finite gate needs an error measured below it
            if t is None and (math.isinf(cfg.model_gate)
                              or float(self.errors.state[s]) < cfg.model_gate):
                self.trusted_at[s] = self.env_steps

    def imagine(self, n: int, keep: Sequence[bool] | None = None) -> Batch:
        """Add about ``n`` imagined transitions per seed to the imagined buffer (§8.2 step
        (f), with the model's prediction in place of the table lookup): ⌈n / H⌉ branched
        rollouts of H model steps from states drawn from the real buffer (MBPO), each step
        ε-greedy under the current Q; a rollout stops where the model ends its episode, or
        before a step where the elites disagree beyond ``disagreement``.

        Args:
            n: Transitions wanted per seed.
            keep: Per seed, whether to store them (None: every seed).

        Returns:
            Every imagined step ``[S, m, ...]``, step by step (the first step's rows first),
            stored or not, and dead rollouts' too.
        """
        H = self.rollout_length()
        obs = self.buffer.sample(-(-n // H), self.imagine_rngs).obs
        alive = torch.ones(obs.shape[:2], dtype=torch.bool, device=obs.device)
        steps, kept = [], []
        for _ in range(H):
            step, trusted = self._imagine_step(obs)
            alive = alive & trusted
            steps.append(step)
            kept.append(alive)
            # never stop early: how many draws a seed makes must not depend on the others
            alive = alive & (step.terminated == 0)
            obs = step.next_obs
        batch = Batch.cat(steps)
        mask = torch.cat(kept, dim=1)
        if keep is not None:
            mask = mask & torch.tensor(keep, device=mask.device)[:, None]
        self.imagined.add_batch(batch, mask)
        return batch

    def _imagine_step(self, obs: torch.Tensor) -> tuple[Batch, torch.Tensor]:
        """One model step from each of ``obs`` ``[S, m, d]``, the action ε-greedy under the
        current Q, and whether the elites agree on it."""
        n = obs.shape[1]
        with torch.no_grad():
            greedy = self.q(obs).argmax(dim=-1)
        explore = torch.stack([torch.rand(n, generator=g) for g in self.imagine_rngs]) \
            < self.epsilon
        random = torch.stack([torch.randint(self.n_actions, (n,), generator=g)
                              for g in self.imagine_rngs])
        action = torch.where(explore.to(self.device), random.to(self.device), greedy)
        if self.simulator is not None:
            next_obs, reward, terminated = self.simulator(obs, action)
            agree = torch.ones_like(terminated, dtype=torch.bool)
        else:
            elites = self.model.elites
            pick = torch.stack([torch.randint(elites.shape[1], (n,), generator=g)
                                for g in self.imagine_rngs]).to(self.device)
            member = elites.gather(1, pick)
            predicted = None
            if isinstance(self.model, model_mod.OneStepModel):  # one forward for both uses
                with torch.no_grad():
                    predicted = self.model.predict(obs, action)
                next_obs, reward, terminated = self.model.sample(
                    obs, action, member, self.imagine_rngs, predicted)
            else:
                next_obs, reward, terminated = self.model.sample(obs, action, member,
                                                                 self.imagine_rngs)
            agree = self._agree(obs, predicted)
        if self.termination_rule is not None:  # the draws above happen either way
            terminated = self.termination_rule(next_obs).to(obs.dtype)
        return Batch(obs, action, reward, next_obs, terminated), agree

    def _agree(self, obs: torch.Tensor, predicted: tuple[torch.Tensor, ...] | None
               ) -> torch.Tensor:
        """``bool [S, m]``: where the elites' predicted Δs (of the regression model's
        ``predicted``) spread within ``disagreement``."""
        limit = self.config.disagreement
        elites = self.model.elites
        if math.isinf(limit) or elites.shape[1] < 2 or predicted is None:
            return torch.ones(obs.shape[:2], dtype=torch.bool, device=obs.device)
        next_obs = predicted[0]
        mine = next_obs.gather(1, elites[..., None, None].expand(-1, -1, *next_obs.shape[2:]))
        spread = (mine.std(dim=1, correction=0) / self.model.delta_std[:, 0]).mean(dim=-1)
        return spread <= limit

    def planning_batches(self, imagined: Sequence[int], k: int) -> list[Batch]:
        """The minibatches of k planning steps: per seed, ``imagined[s]`` rows of each from
        its imagined buffer (drawn with its imagination stream) and the rest of the batch
        size real (drawn with its replay stream), real rows first; all real while a seed
        has imagined nothing it kept (every rollout cut at its first step). Each seed draws
        the indices of all k at once (neither buffer changes in between)."""
        size = self.config.batch_size
        rows = []
        for s, n_imagined in enumerate(imagined):
            n_imagined = n_imagined if self.imagined.sizes[s] else 0
            real = torch.randint(self.buffer.sizes[s], (k, size - n_imagined),
                                 generator=self.replay_rngs[s])
            mine = self.buffer.rows[s, real.to(self.buffer.rows.device)]
            if n_imagined:
                idx = torch.randint(self.imagined.sizes[s], (k, n_imagined),
                                    generator=self.imagine_rngs[s])
                mine = torch.cat([mine, self.imagined.rows[s, idx.to(mine.device)]], dim=1)
            rows.append(mine)
        stacked = torch.stack(rows)  # [S, k, B, row]
        return [self.buffer.batch_of(stacked[:, j]) for j in range(k)]

    def _modules_by_prefix(self) -> dict[str, nn.Module]:
        modules = super()._modules_by_prefix()
        return modules if self.model is None else {**modules, "model": self.model}
