"""DQN (Mnih et al. 2015, "Human-level control through deep reinforcement learning").

Q-learning (Sutton & Barto §6.5) with a neural Q-function, for vector observations and
Discrete actions, driven step by step like the tabular agents:

  1. ``act``: ε-greedy on Q, ε falling linearly (Mnih et al.: 1 → 0.1 over 1M frames);
  2. ``observe``: store (s, a, r, s′, terminated) in the replay buffer;
  3. ``plan``: after ``learning_starts``, ``updates_per_step`` U minibatch steps per real
     step on average (:meth:`DeepConfig.updates_due`) on the Huber loss of the TD error
     against a target network that is synced every ``target_period`` gradient steps.

Step 3 is the course's "relation to experience replay": the buffer is Dyna's model and
each minibatch step is a planning backup on remembered transitions, so U is the replay
ratio and the ``backups`` a run records are its gradient steps.
"""

from __future__ import annotations

import copy
from typing import ClassVar, Self

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from dynaq.deep.buffer import Batch, ReplayBuffer
from dynaq.deep.config import DeepConfig, check_agent
from dynaq.deep.nets import EXPLORE, Q_INIT, REPLAY, mlp, numpy_generator, torch_generator
from dynaq.errors import ConfigError


def q_learning_target(r_t: torch.Tensor, terminated_t: torch.Tensor, q_t: torch.Tensor,
                      gamma: float) -> torch.Tensor:
    """The one-step Q-learning target r_t + γ (1 − terminated_t) max_a q_t[a].

    Args:
        r_t: ``[B]`` rewards.
        terminated_t: ``[B]`` 1 where s_t ended the episode (its value is 0), else 0.
        q_t: ``[B, A]`` target-network values of s_t.
        gamma: Discount γ.
    """
    return r_t + gamma * (1.0 - terminated_t) * q_t.max(dim=1).values


def td_loss(q_tm1: torch.Tensor, a_tm1: torch.Tensor, target_t: torch.Tensor) -> torch.Tensor:
    """Mean Huber loss (δ = 1) of ``q_tm1[a_tm1] − target_t``: Mnih et al.'s error clipping."""
    q_a = q_tm1.gather(1, a_tm1[:, None]).squeeze(1)
    return nn.functional.smooth_l1_loss(q_a, target_t)


class DQN:
    """Deep Q-network with experience replay and a target network (Mnih et al. 2015).

    Args:
        obs_dim: Length of an observation vector.
        n_actions: Number of actions of a Discrete action space.
        config: Hyperparameters (``planning_steps`` must be 0).
        seed: Seeds the agent's streams: initial weights, replay sampling, exploration.
        env_id: The Gymnasium id of the env it learns in, where known (:meth:`for_env` sets
            it; a Dyna-DQN with ``termination known`` needs it).

    Example:
        >>> import gymnasium as gym
        >>> env = gym.make("CartPole-v1")
        >>> agent = DQN.for_env(env, DeepConfig(learning_starts=10), seed=0)
        >>> s, _ = env.reset(seed=0)
        >>> a = agent.act(s)
        >>> s2, r, terminated, truncated, _ = env.step(a)
        >>> agent.observe(s, a, r, s2, terminated)
        >>> agent.plan()
        0
    """

    name = "dqn"
    COUNTERS: ClassVar[tuple[str, ...]] = ("env_steps", "grad_steps")
    """Integer state that a saved agent keeps beside its weights."""
    model_error = float("nan")
    """DQN learns no model, so it has no model error (Dyna-DQN sets these)."""
    reward_error = float("nan")

    def __init__(self, obs_dim: int, n_actions: int, config: DeepConfig | None = None,
                 seed: int = 0, env_id: str | None = None) -> None:
        self.config = config if config is not None else DeepConfig()
        self.check_config(self.config)
        self.obs_dim, self.n_actions, self.seed = int(obs_dim), int(n_actions), int(seed)
        self.env_id = env_id
        self.device = torch.device(self.config.device)
        self.q = mlp(self.obs_dim, self.config.hidden, self.n_actions,
                     torch_generator(seed, Q_INIT)).to(self.device)
        self.target = copy.deepcopy(self.q).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.q.parameters(), lr=self.config.lr, fused=True)
        self.buffer = ReplayBuffer(self.config.buffer_capacity, self.obs_dim, self.device)
        self.replay_rng = torch_generator(seed, REPLAY)
        self.explore_rng = numpy_generator(seed, EXPLORE)
        self.env_steps = self.grad_steps = 0

    @classmethod
    def check_config(cls, config: DeepConfig) -> None:
        """Raise ConfigError unless ``config`` suits this agent (DQN: no planning steps)."""
        check_agent(cls.name, config)

    @classmethod
    def for_env(cls, env: gym.Env, config: DeepConfig | None = None, seed: int = 0) -> Self:
        """Size the agent for an env with a 1-D Box observation and a Discrete action space.

        Raises:
            ConfigError: For other spaces (wrap Discrete observations with
                :class:`dynaq.deep.run.OneHot` first).
        """
        obs, act = env.observation_space, env.action_space
        if not (isinstance(obs, gym.spaces.Box) and len(obs.shape) == 1
                and isinstance(act, gym.spaces.Discrete)):
            name = env.spec.id if env.spec is not None else type(env).__name__
            raise ConfigError(f"env {name!r}: agent {cls.name} needs a 1-D Box observation and "
                              f"a Discrete action space, got {obs} and {act}")
        return cls(obs.shape[0], int(act.n), config, seed,
                   env.spec.id if env.spec is not None else None)

    @property
    def backups(self) -> int:
        """The backups so far, as the tabular agents count them: for a neural Q, its
        gradient steps (on real and on imagined data)."""
        return self.grad_steps

    @property
    def epsilon(self) -> float:
        """ε of the behaviour now (after ``env_steps`` real steps)."""
        return self.config.epsilon_at(self.env_steps)

    def act(self, obs: np.ndarray) -> int:
        """Choose an action ε-greedily; one uniform draw per call, whatever ε is."""
        if self.explore_rng.random() < self.epsilon:
            return int(self.explore_rng.integers(self.n_actions))
        return self.greedy(obs)

    def greedy(self, obs: np.ndarray) -> int:
        """The action of highest Q (the first on ties)."""
        return int(self.q_values(np.asarray(obs)[None])[0].argmax())

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Q(s, ·) of a batch of observations ``[n, obs_dim]``, as float64 ``[n, A]``."""
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(obs, np.float32), device=self.device)
            return self.q(x).cpu().double().numpy()

    def observe(self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray,
                terminated: bool) -> None:
        """Store one real step. Pass ``terminated``, not ``truncated``: a time limit still
        bootstraps from s′."""
        self.buffer.add(obs, action, reward, next_obs, terminated)
        self.env_steps += 1

    def plan(self) -> int:
        """Replay (the buffer as Dyna's model): the gradient steps due after this real step.

        Returns:
            Gradient steps done: 0 before ``learning_starts`` and at steps with none due.
        """
        cfg = self.config
        if self.env_steps < cfg.learning_starts or len(self.buffer) == 0:
            return 0
        return sum(self.train_step() for _ in range(cfg.updates_due(self.env_steps)))

    def train_step(self) -> int:
        """One gradient step on a minibatch of replayed real transitions.

        Returns:
            Gradient steps done (1; Dyna-DQN adds its imagined ones).
        """
        self.update(self.buffer.sample(self.config.batch_size, self.replay_rng))
        return 1

    def update(self, batch: Batch) -> torch.Tensor:
        """One gradient step on ``batch`` (Mnih et al. 2015, Algorithm 1); syncs the target
        every ``target_period`` steps.

        Returns:
            The loss before the step (a 0-d tensor; not synced to the host).
        """
        cfg = self.config
        with torch.no_grad():
            target = q_learning_target(batch.reward, batch.terminated,
                                       self.target(batch.next_obs), cfg.gamma)
        loss = td_loss(self.q(batch.obs), batch.action, target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.q.parameters(), cfg.max_grad_norm, foreach=True)
        self.optimizer.step()
        self.grad_steps += 1
        if self.grad_steps % cfg.target_period == 0:
            self.sync_target()
        return loss.detach()

    def sync_target(self) -> None:
        """θ⁻ ← τ θ + (1 − τ) θ⁻; a copy when τ = 1 (exact, unlike a lerp by 1)."""
        with torch.no_grad():
            for p_target, p in zip(self.target.parameters(), self.q.parameters(), strict=True):
                if self.config.tau == 1.0:
                    p_target.copy_(p)
                else:
                    p_target.lerp_(p, self.config.tau)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The learned tensors by name (CPU copies), as :mod:`dynaq.saving` stores them."""
        return {f"{prefix}.{k}": v.detach().cpu().contiguous().clone()
                for prefix, module in self._modules_by_prefix().items()
                for k, v in module.state_dict().items()}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Load what :meth:`state_tensors` gave (names and shapes must match exactly)."""
        for prefix, module in self._modules_by_prefix().items():
            part = {k[len(prefix) + 1:]: v for k, v in tensors.items()
                    if k.startswith(prefix + ".")}
            module.load_state_dict(part, strict=True)

    def _modules_by_prefix(self) -> dict[str, nn.Module]:
        """The modules whose tensors a saved agent holds, by name prefix."""
        return {"q": self.q, "target": self.target}
