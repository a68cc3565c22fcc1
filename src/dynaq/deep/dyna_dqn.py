"""Dyna-DQN: DQN whose k planning backups per real one are gradient steps on imagined data.

The Dyna loop of Sutton & Barto §8.2 with the course's deep substitutions ("deep Dyna
variants learn a neural model and push imagined transitions into ... a separate buffer"),
where a backup of the table becomes a gradient step on a minibatch:

  1. direct RL: DQN's gradient steps on replayed real transitions, ``updates_per_step`` U
     per real step                                                -> :meth:`DQN.plan`
  2. model learning: every ``model_train_period`` real steps, fit the neural one-step model
     to the real replay buffer (after measuring its error on the transitions that arrived
     since the last fit, which it has not trained on yet)         -> :meth:`DynaDQN.learn_model`
  3. planning: after each gradient step on real data, once the model is fitted, k gradient
     steps on imagined minibatches: k · B transitions imagined at once (rollouts of
     ``rollout_length`` model steps branched from states drawn from the real buffer, the
     course's "sample a seen (ŝ, â)"; actions ε-greedy under the current Q; (r̂, ŝ′,
     terminated) from the model) into the imagined buffer, then k minibatches drawn from
     it, each ``imagined_ratio`` imagined and the rest real
                                                                  -> :meth:`DynaDQN.train_step`

What k costs: a real step does U (1 + k) gradient steps, U of them on real data, so
``dqn`` at U (1 + k) is the control with the same compute and only real data ("k extra
updates on replayed real data" beside "k extra updates on imagined data"). The ``backups``
a run records count every gradient step. With k = 0 nothing of steps 2–3 exists: no model
is built, no random number is drawn, and the agent is DQN exactly (same seed → same
weights and returns).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from dynaq.deep import model as model_mod
from dynaq.deep.buffer import Batch, ReplayBuffer
from dynaq.deep.config import DeepConfig
from dynaq.deep.dqn import DQN
from dynaq.deep.nets import IMAGINE, MODEL_INIT, MODEL_REPLAY, torch_generator
from dynaq.deep.termination import KNOWN_TERMINATION, TerminationFn, known_termination
from dynaq.errors import ConfigError


def known_rule(env_id: str | None) -> TerminationFn:
    """The termination rule of ``env_id`` for ``termination known``.

    Raises:
        ConfigError: Where dynaq does not know it.
    """
    rule = known_termination(env_id)
    if rule is None:
        raise ConfigError(f"termination known needs an env whose rule dynaq knows "
                          f"({', '.join(KNOWN_TERMINATION)}), got {env_id!r}; use termination "
                          "learned")
    return rule


class DynaDQN(DQN):
    """DQN plus a learned one-step model that imagines k transitions per real step.

    Args:
        obs_dim: Length of an observation vector.
        n_actions: Number of actions of a Discrete action space.
        config: Hyperparameters; ``planning_steps`` is k.
        seed: Seeds DQN's streams and, separately, the model's and imagination's.

    Attributes:
        model_error: RMSE of the model's s′ on the real transitions of the last
            ``model_train_period`` steps, measured before it trained on them (NaN until the
            second fit).
        reward_error: The same for r.
    """

    name = "dyna-dqn"
    COUNTERS: ClassVar[tuple[str, ...]] = (*DQN.COUNTERS, "model_fits")

    def __init__(self, obs_dim: int, n_actions: int, config: DeepConfig | None = None,
                 seed: int = 0, env_id: str | None = None) -> None:
        super().__init__(obs_dim, n_actions, config, seed, env_id)
        self.model_fits = 0
        self.model: model_mod.OneStepModel | None = None
        if self.config.planning_steps == 0:  # exactly DQN: build nothing, draw nothing
            return
        cfg = self.config
        self.termination_rule = known_rule(env_id) if cfg.termination == "known" else None
        self.model = model_mod.OneStepModel(
            self.obs_dim, self.n_actions, cfg.model_hidden, cfg.ensemble,
            torch_generator(seed, MODEL_INIT)).to(self.device)
        self.model_optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.model_lr)
        self.model_rng = torch_generator(seed, MODEL_REPLAY)
        self.imagine_rng = torch_generator(seed, IMAGINE)
        self.imagined = ReplayBuffer(cfg.imagined_capacity, self.obs_dim, self.device)

    def plan(self) -> int:
        """Model learning when due (k > 0), then DQN's gradient steps, each on real data
        followed by k on imagined data (:meth:`train_step`).

        Returns:
            Gradient steps done, real and imagined.
        """
        cfg = self.config
        if self.model is not None and self.env_steps >= max(cfg.learning_starts, 1) \
                and (self.env_steps - cfg.learning_starts) % cfg.model_train_period == 0:
            self.learn_model()
        return super().plan()

    def train_step(self) -> int:
        """One gradient step on replayed real data, then k on imagined minibatches (§8.2,
        step (f)), once the model is fitted: the course has no planning before the model
        knows anything. The k · B' imagined transitions (B' = ``imagined_ratio`` · B) are
        made in one batched model call, under the Q of the real step just taken, which the
        k steps then change.

        Returns:
            Gradient steps done: 1, or 1 + k.
        """
        done = super().train_step()
        if self.model is None or not self.model_fits:
            return done
        cfg = self.config
        n_imagined = round(cfg.imagined_ratio * cfg.batch_size)
        if n_imagined:
            self.imagine(cfg.planning_steps * n_imagined)
        for _ in range(cfg.planning_steps):
            self.update(self.imagined_batch(n_imagined))
        return done + cfg.planning_steps

    def learn_model(self) -> None:
        """Measure the model on the real transitions it has not trained on, then fit it."""
        cfg = self.config
        if self.model_fits:
            self.model_error, self.reward_error = model_mod.one_step_error(
                self.model, self.buffer.recent(cfg.model_train_period))
        model_mod.fit(self.model, self.model_optimizer, self.buffer, cfg.model_gradient_steps,
                      cfg.model_batch_size, self.model_rng)
        self.model_fits += 1

    def imagine(self, n: int) -> Batch:
        """Add about ``n`` imagined transitions to the imagined buffer (§8.2 step (f), with
        the model's prediction in place of the table lookup): ⌈n / H⌉ branched rollouts of
        ``rollout_length`` H model steps from states drawn from the real buffer (MBPO), each
        step ε-greedy under the current Q; a rollout stops where the model ends its episode.

        Returns:
            The imagined transitions, step by step (the first step's rows first).
        """
        H = self.config.rollout_length
        obs = self.buffer.sample(-(-n // H), self.imagine_rng).obs
        steps = []
        for _ in range(H):
            steps.append(self._imagine_step(obs))
            alive = steps[-1].terminated == 0
            obs = steps[-1].next_obs[alive]
            if obs.shape[0] == 0:
                break
        batch = steps[0] if len(steps) == 1 else Batch.cat(steps)
        self.imagined.add_batch(batch)
        return batch

    def _imagine_step(self, obs: torch.Tensor) -> Batch:
        """One model step from each of ``obs``, the action ε-greedy under the current Q."""
        n = obs.shape[0]
        with torch.no_grad():
            greedy = self.q(obs).argmax(dim=1)
        explore = torch.rand(n, generator=self.imagine_rng) < self.epsilon
        random = torch.randint(self.n_actions, (n,), generator=self.imagine_rng)
        action = torch.where(explore.to(self.device), random.to(self.device), greedy)
        next_obs, reward, terminated = self.model.sample(obs, action, self.imagine_rng)
        if self.termination_rule is not None:  # the draws above happen either way
            terminated = self.termination_rule(next_obs).to(obs.dtype)
        return Batch(obs, action, reward, next_obs, terminated)

    def imagined_batch(self, n_imagined: int) -> Batch:
        """A minibatch for an imagined update: ``n_imagined`` from the imagined buffer
        (drawn with the imagination stream), the rest of the batch size real (drawn with the
        replay stream), real rows first."""
        parts = []
        if n_imagined < self.config.batch_size:
            parts.append(self.buffer.sample(self.config.batch_size - n_imagined,
                                            self.replay_rng))
        if n_imagined:
            parts.append(self.imagined.sample(n_imagined, self.imagine_rng))
        return parts[0] if len(parts) == 1 else Batch.cat(parts)

    def _modules_by_prefix(self) -> dict[str, nn.Module]:
        modules = super()._modules_by_prefix()
        return modules if self.model is None else {**modules, "model": self.model}

