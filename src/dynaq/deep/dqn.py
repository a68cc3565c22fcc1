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

One agent may hold S seeds in lockstep (``seed`` a sequence): S independent DQNs, each
with its own streams, buffer and networks, whose networks are slices of one batched
network (:class:`~dynaq.deep.nets.BatchedMLP`), so that one forward and one backward pass
serve them all. Each seed's numbers are bitwise those it gets alone
(``tests/deep/test_lockstep.py``). The step API (``act``, ``observe``, ``greedy``,
``q_values``) is that of one seed; :meth:`DQN.act_all` and :meth:`DQN.observe_all` take
one value per seed.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import ClassVar, Self

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from dynaq.deep.buffer import Batch, ReplayBuffer
from dynaq.deep.config import DeepConfig, check_agent
from dynaq.deep.nets import (
    EXPLORE,
    Q_INIT,
    REPLAY,
    BatchedMLP,
    MemberAdam,
    clip_grad_norm_per_member_,
    numpy_generator,
    torch_generator,
)
from dynaq.errors import ConfigError


def q_learning_target(r_t: torch.Tensor, terminated_t: torch.Tensor, q_t: torch.Tensor,
                      gamma: float) -> torch.Tensor:
    """The one-step Q-learning target r_t + γ (1 − terminated_t) max_a q_t[a].

    Args:
        r_t: ``[..., B]`` rewards.
        terminated_t: ``[..., B]`` 1 where s_t ended the episode (its value is 0), else 0.
        q_t: ``[..., B, A]`` target-network values of s_t.
        gamma: Discount γ.
    """
    return r_t + gamma * (1.0 - terminated_t) * q_t.max(dim=-1).values


def td_loss(q_tm1: torch.Tensor, a_tm1: torch.Tensor, target_t: torch.Tensor) -> torch.Tensor:
    """Huber loss (δ = 1) of ``q_tm1[a_tm1] − target_t``, Mnih et al.'s error clipping,
    averaged over each seed's minibatch.

    Args:
        q_tm1: ``[S, B, A]`` values of s_tm1.
        a_tm1: ``[S, B]`` actions taken.
        target_t: ``[S, B]`` targets.

    Returns:
        ``[S]``, one loss per seed.
    """
    q_a = q_tm1.gather(-1, a_tm1[..., None]).squeeze(-1)
    return nn.functional.smooth_l1_loss(q_a, target_t, reduction="none").mean(dim=-1)


class DQN:
    """Deep Q-network with experience replay and a target network (Mnih et al. 2015).

    Args:
        obs_dim: Length of an observation vector.
        n_actions: Number of actions of a Discrete action space.
        config: Hyperparameters (``planning_steps`` must be 0).
        seed: Seeds the agent's streams: initial weights, replay sampling, exploration; a
            sequence of S seeds trains S agents in lockstep.
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

    def __init__(self, obs_dim: int, n_actions: int, config: DeepConfig | None = None,
                 seed: int | Sequence[int] = 0, env_id: str | None = None) -> None:
        self.config = config if config is not None else DeepConfig()
        self.check_config(self.config)
        self.obs_dim, self.n_actions = int(obs_dim), int(n_actions)
        self.seeds = (int(seed),) if isinstance(seed, int | np.integer) else tuple(map(int, seed))
        if not self.seeds:
            raise ConfigError("seed must be an integer or a non-empty sequence of them")
        self.env_id = env_id
        self.device = torch.device(self.config.device)
        self.q = BatchedMLP((self.obs_dim, *self.config.hidden, self.n_actions),
                            [torch_generator(s, Q_INIT) for s in self.seeds]).to(self.device)
        self.target = copy.deepcopy(self.q).requires_grad_(False)
        self.optimizer = MemberAdam(self.q.parameters(), lr=self.config.lr)
        self.buffer = ReplayBuffer(self.config.buffer_capacity, self.obs_dim, self.device,
                                   len(self.seeds))
        self.replay_rngs = [torch_generator(s, REPLAY) for s in self.seeds]
        self.explore_rngs = [numpy_generator(s, EXPLORE) for s in self.seeds]
        self.env_steps = self.grad_steps = 0

    @property
    def seed(self) -> int:
        """The seed of a one-seed agent.

        Raises:
            ConfigError: For an agent of several seeds.
        """
        self._one_seed("seed")
        return self.seeds[0]

    @classmethod
    def check_config(cls, config: DeepConfig) -> None:
        """Raise ConfigError unless ``config`` suits this agent (DQN: no planning steps)."""
        check_agent(cls.name, config)

    @classmethod
    def for_env(cls, env: gym.Env, config: DeepConfig | None = None,
                seed: int | Sequence[int] = 0) -> Self:
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
        gradient steps (on real and on imagined data), per seed."""
        return self.grad_steps

    @property
    def epsilon(self) -> float:
        """ε of the behaviour now (after ``env_steps`` real steps)."""
        return self.config.epsilon_at(self.env_steps)

    def act(self, obs: np.ndarray) -> int:
        """Choose an action ε-greedily (one seed); one uniform draw per call, whatever ε is."""
        self._one_seed("act")
        return int(self.act_all(np.asarray(obs)[None])[0])

    def act_all(self, obs: np.ndarray) -> np.ndarray:
        """One ε-greedy action per seed for ``obs [S, obs_dim]``, each seed drawing from its
        own exploration stream as :meth:`act` does."""
        eps = self.epsilon
        explore = [g.random() < eps for g in self.explore_rngs]
        actions = np.array([g.integers(self.n_actions) if e else -1
                            for g, e in zip(self.explore_rngs, explore, strict=True)])
        if not all(explore):
            greedy = self.q_values_all(np.asarray(obs)[:, None])[:, 0].argmax(axis=-1)
            actions = np.where(explore, actions, greedy)
        return actions

    def greedy(self, obs: np.ndarray) -> int:
        """The action of highest Q (the first on ties), for one seed."""
        return int(self.q_values(np.asarray(obs)[None])[0].argmax())

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Q(s, ·) of a batch of observations ``[n, obs_dim]`` of one seed, float64 ``[n, A]``."""
        self._one_seed("q_values")
        return self.q_values_all(np.asarray(obs)[None])[0]

    def q_values_all(self, obs: np.ndarray) -> np.ndarray:
        """Each seed's Q of its observations ``[S, n, obs_dim]``, as float64 ``[S, n, A]``."""
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(obs, np.float32), device=self.device)
            return self.q(x).cpu().double().numpy()

    def observe(self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray,
                terminated: bool) -> None:
        """Store one real step (one seed). Pass ``terminated``, not ``truncated``: a time limit
        still bootstraps from s′."""
        self._one_seed("observe")
        self.observe_all(obs, action, reward, next_obs, terminated)

    def observe_all(self, obs: np.ndarray, action: np.ndarray | int, reward: np.ndarray | float,
                    next_obs: np.ndarray, terminated: np.ndarray | bool) -> None:
        """Store one real step of every seed (``obs [S, obs_dim]``, ``action [S]``, …)."""
        self.buffer.add(obs, action, reward, next_obs, terminated)
        self.env_steps += 1

    def plan(self) -> int:
        """Replay (the buffer as Dyna's model): the gradient steps due after this real step.

        Returns:
            Gradient steps done (per seed): 0 before ``learning_starts`` and at steps with
            none due.
        """
        cfg = self.config
        if self.env_steps < cfg.learning_starts or len(self.buffer) == 0:
            return 0
        return sum(self.train_step() for _ in range(cfg.updates_due(self.env_steps)))

    def train_step(self) -> int:
        """One gradient step on a minibatch of replayed real transitions (per seed).

        Returns:
            Gradient steps done (1; Dyna-DQN adds its imagined ones).
        """
        self.update(self.buffer.sample(self.config.batch_size, self.replay_rngs))
        return 1

    def update(self, batch: Batch) -> torch.Tensor:
        """One gradient step of every seed on its slice of ``batch`` (Mnih et al. 2015,
        Algorithm 1), each seed's gradient norm clipped alone; syncs the target every
        ``target_period`` steps.

        Returns:
            ``[S]``, each seed's loss before the step (not synced to the host).
        """
        cfg = self.config
        with torch.no_grad():
            target = q_learning_target(batch.reward, batch.terminated,
                                       self.target(batch.next_obs), cfg.gamma)
        loss = td_loss(self.q(batch.obs), batch.action, target)
        self.optimizer.zero_grad()
        loss.sum().backward()  # seeds share no weight: the sum's gradient is each seed's own
        clip_grad_norm_per_member_(self.q.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        self.grad_steps += 1
        if self.grad_steps % cfg.target_period == 0:
            self.sync_target()
        return loss.detach()

    def sync_target(self) -> None:
        """θ⁻ ← τ θ + (1 − τ) θ⁻; a copy when τ = 1 (exact, unlike a lerp by 1), else one
        correctly rounded operation at a time (see :class:`~dynaq.deep.nets.MemberAdam`)."""
        tau = self.config.tau
        with torch.no_grad():
            for p_target, p in zip(self.target.parameters(), self.q.parameters(), strict=True):
                if tau == 1.0:
                    p_target.copy_(p)
                else:
                    p_target.mul_(1 - tau).add_(p * tau)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The learned tensors by name (CPU copies), as :mod:`dynaq.saving` stores them."""
        return {f"{prefix}.{k}": v.detach().cpu().contiguous().clone()
                for prefix, module in self._modules_by_prefix().items()
                for k, v in module.state_dict().items()}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Load what :meth:`state_tensors` gave (names and shapes must match exactly).

        Raises:
            ConfigError: Where a network's padding is not zero: its weights were saved for
                other layer sizes than this agent's config (see
                :class:`~dynaq.deep.nets.BatchedMLP`).
        """
        for prefix, module in self._modules_by_prefix().items():
            part = {k[len(prefix) + 1:]: v for k, v in tensors.items()
                    if k.startswith(prefix + ".")}
            module.load_state_dict(part, strict=True)
            for name, net in module.named_modules():
                used = net.padding_in_use() if isinstance(net, BatchedMLP) else None
                if used is not None:
                    where = ".".join(x for x in (prefix, name, used) if x)
                    raise ConfigError(f"{where} has weights outside the layer sizes "
                                      f"{net.sizes} of this agent's config: saved for "
                                      "another network")

    def _modules_by_prefix(self) -> dict[str, nn.Module]:
        """The modules whose tensors a saved agent holds, by name prefix."""
        return {"q": self.q, "target": self.target}

    def _one_seed(self, what: str) -> None:
        if len(self.seeds) != 1:
            raise ConfigError(f"{what} is the API of one seed; this agent trains "
                              f"{len(self.seeds)} in lockstep (use the *_all methods)")
