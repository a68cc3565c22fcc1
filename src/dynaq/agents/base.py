"""The one protocol every tabular agent follows, and the step-by-step shell derived from it.

An agent is two pieces:

1. **Compiled functions** (numba ``@njit`` on plain arrays), gathered in an
   :class:`AgentKernels`. ``Q`` is the ``[S, A]`` action-value table; ``state`` the
   agent's own named tuple of arrays (its model, counters, queue…, e.g.
   :class:`dynaq.kernels.dyna_q.DynaQState`); ``hp`` its named tuple of hyperparameters,
   whose first fields are ``alpha, gamma, epsilon, k`` (e.g.
   :class:`dynaq.kernels.dyna_q.DynaQParams`); ``t`` the number of real steps taken so far
   (counted across episodes); ``rng`` the agent's random state (:mod:`dynaq.rng`):

   - ``init(n_states, n_actions, hp) -> state``: an empty model;
   - ``act(Q, state, s, t, hp, rng) -> a``: the behaviour policy;
   - ``learn(Q, state, s, a, r, s2, terminated, t, hp, rng) -> backups``: everything the
     agent does with real step ``t``: direct RL, model learning and k planning backups
     (Sutton & Barto §8.2, steps (d)–(f)), ``1 + planned``;
   - ``end_episode(Q, state, s, terminated, t, hp, rng) -> backups``: the episode ended in
     ``s`` after real step ``t``, ``terminated`` or else truncated (what an n-step method
     flushes, traces reset); one-step agents keep the default,
     :func:`dynaq.kernels.tabular.end_episode`, which does nothing;
   - ``diagnose(state, world, base, reachable, n_actions) -> (model_error, reward_error,
     coverage)``: the model against the true dynamics, built from
     :mod:`dynaq.kernels.diagnostics`;
   - ``observe(Q, state, s, a, r, s2, terminated, t, hp) -> td``: the first part of
     ``learn``, direct RL and model learning (steps (d), (e));
   - ``plan(Q, state, k, t, hp, rng) -> backups``: its last part, up to k simulated
     backups (step (f)). ``learn`` must equal ``observe`` then ``plan``, number for number.

   The compiled runner (:mod:`dynaq.kernels.run`) runs every seed of an agent through
   ``init``, ``act``, ``learn``, ``end_episode`` and ``diagnose``, with exact per-episode
   metrics. The functions change ``Q`` and ``state`` in place: returning a new state, so
   that a model could grow into new arrays, made Dyna-Q's real step a quarter slower; a
   model that grows keeps its arrays in a structure it can repoint
   (:mod:`dynaq.kernels.structs`).
2. **A Python class**: a :class:`TabularAgent` subclass with a ``name``, a frozen ``Config``
   dataclass (a :class:`TabularConfig`), :meth:`~TabularAgent.kernels` and
   :meth:`~TabularAgent.hyperparameters`. The step API (:meth:`~TabularAgent.act`,
   :meth:`~TabularAgent.observe`, :meth:`~TabularAgent.plan`,
   :meth:`~TabularAgent.end_episode`) is derived from the kernels, so for one seed a
   Gymnasium loop (:func:`dynaq.agents.run_episode`) and the compiled runner give the same
   episodes. The registered agents import their kernels inside ``kernels``,
   ``hyperparameters`` and the methods that read an agent's state, never at module level:
   a run config, ``dynaq ls`` and ``dynaq --help`` read the classes' names and configs
   without waiting on numba.

Registering it is one line in :data:`dynaq.agents.AGENTS`; an agent outside the package
runs by its import path instead (``--agent my_pkg.my_module:MyAgent``). A model that
Dyna-Q's planning loop backs up is a named tuple class of its own with its backup
registered for it (:func:`dynaq.kernels.dyna_q.register_backup`): numba picks the backup by
the model's type.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from dynaq.checks import check_count, check_index, check_number, check_real
from dynaq.errors import ConfigError, StochasticWorldWarning
from dynaq.limits import MAX_PLANNING_STEPS

if TYPE_CHECKING:
    import gymnasium as gym

    from dynaq.kernels.agent import AgentKernels


def __getattr__(name: str) -> Any:
    # AgentKernels' module imports numba: configs and names import this one without it
    if name == "AgentKernels":
        from dynaq.kernels.agent import AgentKernels

        return AgentKernels
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warn_deterministic_model(agent: type[TabularAgent], config: Any, env: str,
                             stacklevel: int = 2) -> None:
    """Warn (:class:`~dynaq.errors.StochasticWorldWarning`) if ``agent`` with ``config``
    plans with a deterministic model; call it for a world whose outcomes are random.
    ``stacklevel`` as :func:`warnings.warn`'s, counted from the function calling this."""
    if not agent.learns_deterministic_model(config):
        return
    fix = ('give model="counts" (P̂ from counts)' if "model" in {f.name for f in fields(config)}
           else 'dyna-q with model="counts" learns the outcomes\' distribution')
    warnings.warn(StochasticWorldWarning(
        f"{agent.name} plans with a deterministic model in {env}, whose outcomes are random: "
        f"it takes the last outcome of each (s, a) for certain, so its planning is biased; "
        f"{fix}"), stacklevel=stacklevel + 1)


@dataclass(frozen=True)
class TabularConfig:
    """What every tabular agent shares: Q-learning's step size, discount and ε-greedy
    exploration, and k backups on remembered experience per real step."""

    alpha: float = 0.1
    """Step size α, in (0, 1]."""
    gamma: float = 0.95
    """Discount γ, in [0, 1]."""
    epsilon: float = 0.1
    """Exploration rate ε of the ε-greedy behaviour, in [0, 1]."""
    planning_steps: int = 0
    """Planning backups k after each real step; 0 is plain Q-learning."""

    def __post_init__(self) -> None:
        check_number("alpha", self.alpha, 0.0, 1.0, "(0, 1]", low_open=True)
        check_number("gamma", self.gamma, 0.0, 1.0, "[0, 1]")
        check_number("epsilon", self.epsilon, 0.0, 1.0, "[0, 1]")
        check_count("planning_steps", self.planning_steps, 0, MAX_PLANNING_STEPS)


class TabularAgent:
    """A tabular agent's step-by-step API over its compiled :class:`AgentKernels`.

    Args:
        n_states: Number of states of a Discrete observation space.
        n_actions: Number of actions of a Discrete action space.
        config: Hyperparameters (default: the agent's ``Config()``).
        seed: Seeds the agent's own random stream (exploration, tie-breaking, planning).
    """

    name: ClassVar[str]
    """The agent's name (``--agent``)."""
    Config: ClassVar[type[TabularConfig]] = TabularConfig
    """Its frozen config dataclass."""

    def __init__(self, n_states: int, n_actions: int, config: TabularConfig | None = None,
                 seed: int = 0) -> None:
        check_count("n_states", n_states, 1)
        check_count("n_actions", n_actions, 1)
        self.config = self.Config() if config is None else config
        self.check_config(self.config)
        from dynaq import rng as rng_mod

        self.hp = self.hyperparameters(self.config)
        self._fns = self.kernels(self.config)
        self.Q = np.zeros((int(n_states), int(n_actions)))
        self.state = self._fns.init(int(n_states), int(n_actions), self.hp)
        self.rng = rng_mod.make_state(seed, rng_mod.AGENT)
        self.backups = 0
        """Value backups so far, real and simulated."""
        self.t = 0
        """Real steps observed so far."""

    @classmethod
    def check_config(cls, config: Any) -> None:
        """Raise ConfigError unless ``config`` suits this agent (an instance of its
        ``Config``; values are checked when a config is built)."""
        if not isinstance(config, cls.Config):
            raise ConfigError(f"agent {cls.name} needs a {cls.Config.__name__}, got "
                              f"{type(config).__name__}")

    @classmethod
    def memory_bytes(cls, config: Any, n_states: int, n_actions: int) -> int:
        """About how many bytes one agent with ``config`` needs in a world of this size, so
        that a run that cannot fit is refused before it starts. The default counts ``Q`` and
        eight more arrays of one 8-byte number per (state, action): a table model and its
        counters. An agent whose memory grows with a setting (a buffer) adds it."""
        return 9 * 8 * n_states * n_actions

    @classmethod
    def kernels(cls, config: Any) -> AgentKernels:
        """The compiled functions that run this agent with ``config``."""
        raise NotImplementedError(f"{cls.__name__} must define kernels(config)")

    @classmethod
    def hyperparameters(cls, config: Any) -> tuple:
        """``hp``: the named tuple of numbers the kernels read, ``(alpha, gamma, epsilon, k,
        …)``."""
        raise NotImplementedError(f"{cls.__name__} must define hyperparameters(config)")

    @classmethod
    def for_env(cls, env: gym.Env, config: TabularConfig | None = None,
                seed: int = 0) -> TabularAgent:
        """Size the agent for a Gymnasium env with Discrete observation and action spaces.

        Raises:
            ConfigError: If either space is not Discrete.
        """
        from dynaq.mdp import has_random_outcomes, require_discrete

        require_discrete(env, f"agent {cls.name}")
        agent = cls(int(env.observation_space.n), int(env.action_space.n), config, seed)
        if has_random_outcomes(env):
            warn_deterministic_model(cls, agent.config, getattr(env.spec, "id", "this env"),
                                     stacklevel=2)
        return agent

    def act(self, state: int) -> int:
        """Choose an action with the agent's behaviour policy (ε-greedy, §2.2, greedy ties
        broken uniformly at random, unless the agent says otherwise).

        Args:
            state: The current state.

        Returns:
            The action to take.

        Raises:
            ConfigError: If ``state`` is not an integer in ``[0, n_states)``.
        """
        s = check_index("state", state, self.Q.shape[0])
        return int(self._fns.act(self.Q, self.state, s, self.t, self.hp, self.rng))

    def greedy(self, state: int) -> int:
        """The greedy action argmax_a Q(state, a), the first on ties; it draws no random
        number, so it leaves the agent's stream (and so its learning) as it was.

        Raises:
            ConfigError: If ``state`` is not an integer in ``[0, n_states)``.
        """
        s = check_index("state", state, self.Q.shape[0])
        return int(np.argmax(self.Q[s]))

    def predict(self, state: int, deterministic: bool = True) -> tuple[int, None]:
        """Stable-Baselines3's convention: ``(action, None)``, the action :meth:`greedy`
        when ``deterministic``, else the behaviour policy's (:meth:`act`, which draws from
        the agent's stream); the second item stands for a recurrent state, which tabular
        agents have none of.

        Raises:
            ConfigError: If ``state`` is not an integer in ``[0, n_states)``.
        """
        return (self.greedy(state) if deterministic else self.act(state)), None

    @classmethod
    def learns_deterministic_model(cls, config: Any) -> bool:
        """Whether the agent plans (k > 0) with a model that keeps one outcome per
        (s, a), the last one seen (Sutton & Barto §8.2's table model): in a stochastic
        world it plans as if that outcome were certain (§8.3)."""
        return (getattr(config, "planning_steps", 0) > 0
                and getattr(config, "model", None) == "deterministic")

    def observe(self, state: int, action: int, reward: float, next_state: int,
                terminated: bool) -> float:
        """Learn from one real step (§8.2, steps (d) and (e)): direct RL, then model learning.

        Args:
            state: The state acted in.
            action: The action taken.
            reward: The reward received.
            next_state: The state reached.
            terminated: Whether the episode ended there. Pass ``terminated``, not
                ``truncated``: only a true end of the episode bootstraps 0.

        Returns:
            The TD error of the direct-RL backup.

        Raises:
            ConfigError: If a state or the action is out of range, or the reward is not a
                finite number (nothing is learned).
        """
        observe = self._step_kernel("observe")
        S, A = self.Q.shape
        s, a = check_index("state", state, S), check_index("action", action, A)
        s2 = check_index("next_state", next_state, S)
        check_real("reward", reward)
        self.t += 1
        td = observe(self.Q, self.state, s, a, float(reward), s2, bool(terminated), self.t,
                     self.hp)
        self.backups += 1
        return float(td)

    def plan(self, steps: int | None = None) -> int:
        """Plan (§8.2, step (f)): backups on experience simulated from what was learned.

        Args:
            steps: How many; default the configured k.

        Returns:
            How many backups were done (0 while nothing has been learned).
        """
        if steps is not None:  # the configured k was checked with the config
            check_count("steps", steps, 0)
        k = self.config.planning_steps if steps is None else steps
        done = int(self._step_kernel("plan")(self.Q, self.state, int(k), self.t, self.hp,
                                             self.rng))
        self.backups += done
        return done

    def end_episode(self, state: int, terminated: bool) -> int:
        """The episode ended in ``state``: ``terminated``, or else truncated (a time limit),
        after which the next observation starts a new episode.

        Args:
            state: The last state of the episode.
            terminated: Whether it ended by termination rather than truncation.

        Returns:
            The backups the agent did on it (0 for one-step agents).
        """
        s = check_index("state", state, self.Q.shape[0])
        done = int(self._fns.end_episode(self.Q, self.state, s, bool(terminated),
                                         self.t, self.hp, self.rng))
        self.backups += done
        return done

    def _step_kernel(self, name: str) -> Any:
        """The kernel behind a step-API call.

        Raises:
            ConfigError: If the agent's kernels leave it out (it runs in the compiled runner
                only).
        """
        fn = getattr(self._fns, name)
        if fn is None:
            raise ConfigError(f"agent {self.name} has no step API: its kernels give no "
                              f"{name} function, so it runs only in the compiled runner "
                              "(on envs with an exact model)")
        return fn
