"""Hyperparameters of DQN and Dyna-DQN: one frozen, validated dataclass (no torch needed).

The defaults solve CartPole-v1 fast on a CPU. They are the rl-baselines3-zoo ``dqn.yml``
entry for CartPole-v1 (Raffin 2020: 256×256 ReLU MLP, batch 64, learning_starts 1000, γ
0.99, ε 1 → 0.04 over the first 8000 steps, Huber loss, gradient norm clipped at 10),
changed for a learner that trains a little after every real step instead of 128 gradient
steps every 256: one gradient step every 2 real steps (zoo's ratio, ``updates_per_step``
0.5), lr 1e-3 instead of 2.3e-3, and the target network synced every 50 gradient steps
(every 100 real steps of DQN) instead of once per 128-step burst; the buffer keeps 50 000
steps, a whole default run. On seeds 0–2 this DQN first reached a mean return of 475 over 10
episodes after 22–29k real steps. What did worse on the seeds tried: 64×64 and 128×128
networks, batch 32 and γ = 0.95 (none reached 475 in 40–50k steps on seed 1), lr 5e-4 (35k),
zoo's own bursts (38k on seed 1, never in 50k on seed 0). The model defaults (one 128×128
member fitted 25 steps every 250) reach a one-step RMSE of about 0.002 on CartPole.
``benchmarks/bench_deep.py`` times them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from typing import Any, ClassVar

from dynaq.checks import check_choice, check_count, check_number
from dynaq.errors import ConfigError
from dynaq.limits import MAX_BUFFER, MAX_COUNT, MAX_PLANNING_STEPS, MAX_STEPS, MAX_WIDTH

DEVICES = ("cpu", "cuda")
DEEP_AGENT_NAMES = ("dqn", "dyna-dqn")
"""The deep agents' names (``dynaq.deep.run.DEEP_AGENTS`` maps them to classes)."""

TERMINATIONS = ("learned", "known")
"""How imagined transitions end (:attr:`DeepConfig.termination`)."""
WORLD_MODELS = ("neural", "categorical", "simulator")
"""What Dyna-DQN imagines with (:attr:`DeepConfig.world_model`)."""
MAX_UPDATES_PER_STEP = 1000
"""Most gradient steps on real data per real step, and the largest denominator of U."""

RUN_NAME = "run_name"
"""Metadata key of a :class:`DeepConfig` field that ``RunConfig``, ``dynaq run`` and sweep
files expose by name (and results tables show as a column): the value is that name."""


def _exposed(default: Any, run_name: str) -> Any:
    return field(default=default, metadata={RUN_NAME: run_name})


@dataclass(frozen=True)
class DeepConfig:
    """Hyperparameters of :class:`~dynaq.deep.dqn.DQN` and :class:`~dynaq.deep.dyna_dqn.DynaDQN`.

    Every field is checked when the config is built (counts within the bounds of
    :mod:`dynaq.limits`); a bad one raises ConfigError naming the field and what is
    allowed. Sequences given for the layer sizes are stored as tuples. A ``RunConfig`` takes
    every field by its RunConfig name (:data:`RUN_CONFIG_FIELDS`); the fields made with a
    :data:`RUN_NAME` are also flags of ``dynaq run``, keys of sweep files and columns of
    the results tables.
    """

    model: ClassVar[str] = "neural"
    """What results tables show in the ``model`` column: the one-step model of Dyna-DQN is
    neural (not a setting; DQN, which has none, shows the same)."""

    lr: float = _exposed(1e-3, "alpha")
    """Adam step size of the Q-network, in (0, 1]."""
    gamma: float = _exposed(0.99, "gamma")
    """Discount γ, in [0, 1]."""
    buffer_capacity: int = _exposed(50_000, "buffer_size")
    """Real transitions the replay buffer keeps (a ring: the oldest is overwritten)."""
    batch_size: int = 64
    """Transitions per gradient step (real and imagined together)."""
    hidden: tuple[int, ...] = _exposed((256, 256), "hidden")
    """Hidden layer widths of the Q-network (ReLU)."""
    learning_starts: int = _exposed(1000, "learning_starts")
    """Real steps before the first gradient step (and the first model fit)."""
    updates_per_step: float = _exposed(0.5, "updates_per_step")
    """U, the replay ratio: gradient steps on replayed real data per real step after
    ``learning_starts`` (0.5: one every second step; 4: four after every step), a fraction
    p/q with q <= 1000 in (0, 1000]."""
    target_period: int = 50
    """Gradient steps between target-network updates (Mnih et al. 2015's C)."""
    tau: float = 1.0
    """Target update weight in (0, 1]: 1 copies the Q-network, less is a Polyak average."""
    max_grad_norm: float = 10.0
    """Clip the gradient's global norm to this (> 0), as Stable-Baselines3's DQN does."""
    epsilon_start: float = 1.0
    """ε of the ε-greedy behaviour at the first step, in [0, 1]."""
    epsilon_end: float = _exposed(0.04, "epsilon")
    """ε after ``epsilon_decay_steps`` real steps (linear in between), in [0, 1]."""
    epsilon_decay_steps: int = _exposed(8000, "epsilon_decay_steps")
    """Real steps over which ε falls from ``epsilon_start`` to ``epsilon_end`` (>= 1)."""
    planning_steps: int = _exposed(0, "planning_steps")
    """k: gradient steps of planning after each gradient step on real data (0: plain DQN),
    once ``learning_starts`` real steps are in: a real step does U (1 + k) gradient steps.
    A planning step's minibatch is imagined in part (:meth:`imagined_share`), real for the
    rest: all real while the model is not trusted (the buffer as experience replay's model)."""
    world_model: str = _exposed("neural", "world_model")
    """What imagination steps: ``neural``, the learned regression model
    (:mod:`dynaq.deep.model`); ``categorical``, a learned softmax over the next states, for
    worlds with Discrete observations (:mod:`dynaq.deep.categorical`: it imagines real
    states, where a regression imagines blends of one-hot vectors); or ``simulator``, the
    env's true dynamics stepped from the buffer's states, where dynaq knows them
    (:mod:`dynaq.deep.simulator`): the perfect-model control of Holland et al. 2018 and van
    Hasselt et al. 2019."""
    termination: str = _exposed("learned", "termination")
    """How an imagined transition ends: ``learned`` (a draw from the model's termination
    head) or ``known`` (the env's own rule on the predicted next state, where dynaq knows
    it: :mod:`dynaq.deep.termination`; MBPO's termination functions)."""
    rollout_length: int = _exposed(1, "rollout_length")
    """H: model steps of each branched rollout from a state of the real buffer (Janner et al.
    2019, MBPO); 1 is one-step Dyna, as in §8.2."""
    rollout_growth: int = _exposed(0, "rollout_growth")
    """Real steps after ``learning_starts`` over which rollouts grow from 1 model step to H
    (MBPO's schedule; 0: H from the start)."""
    disagreement: float = _exposed(float("inf"), "disagreement")
    """Rollouts stop before a step where the elites' predicted Δs spread more than this (the
    members' standard deviation, in units of each coordinate's Δs deviation, averaged over
    the coordinates; > 0; inf: never): where the models disagree, none is to be trusted."""
    imagined_ratio: float = _exposed(0.5, "imagined_ratio")
    """Fraction of a planning minibatch drawn from the imagined buffer once the model is
    trusted, the rest real (MBPO's 1 − real_ratio), in [0, 1]."""
    model_gate: float = _exposed(float("inf"), "model_gate")
    """Imagination starts once the elites' next-state error on fresh transitions (relative to
    the spread of Δs, :class:`dynaq.deep.model.ModelErrors`; "no change" scores 1) is below
    this (> 0; inf: after the first fit). In a stochastic world even the true model's draws
    miss the real next state, so the error stays high there and a finite gate may never
    open: the planning steps then replay real data throughout."""
    imagined_ramp: int = _exposed(0, "imagined_ramp")
    """Real steps over which the imagined share of a planning minibatch grows linearly from 0
    to ``imagined_ratio`` once imagination starts (0: at once)."""
    imagined_capacity: int = 10_000
    """Imagined transitions kept (a ring, refilled before each run of k imagined updates)."""
    model_hidden: tuple[int, ...] = (128, 128)
    """Hidden layer widths of each model member (ReLU)."""
    ensemble: int = _exposed(1, "ensemble")
    """Model members N per seed, each trained on its own minibatches (Chua et al. 2018)."""
    elites: int = _exposed(1, "elites")
    """Members imagination draws from, the best on the held-out transitions (MBPO: 5 of 7;
    at most ``ensemble``)."""
    model_lr: float = 1e-3
    """Adam step size of the model, in (0, 1]."""
    model_train_period: int = _exposed(250, "model_period")
    """Real steps between model fits; the newest of them are its fresh error set."""
    model_gradient_steps: int = _exposed(25, "model_steps")
    """Most gradient steps per model fit (with a holdout, early stopping may take fewer)."""
    model_holdout: float = _exposed(0.0, "model_holdout")
    """Share of the buffer held out at each fit, in [0, 0.5]: each member keeps its weights
    of least held-out loss and stops when none improves (MBPO: 0.2); 0: no holdout, exactly
    ``model_steps`` steps on all of it."""
    model_batch_size: int = 256
    """Transitions per model gradient step, per member."""
    eval_period: int = _exposed(0, "eval_period")
    """Real steps between greedy evaluations (0: none): ``eval_episodes`` episodes with ε = 0
    on an env of their own, so that training draws nothing for them; their mean return is
    the ``eval_return`` of the training episode in which they fell due."""
    eval_episodes: int = _exposed(5, "eval_episodes")
    """Episodes per greedy evaluation."""
    device: str = _exposed("cpu", "device")
    """Where tensors live: ``cpu`` or ``cuda``."""

    def __post_init__(self) -> None:
        for name in ("hidden", "model_hidden"):
            _check_widths(self, name)
        for name in ("lr", "model_lr", "tau"):
            check_number(name, getattr(self, name), 0.0, 1.0, "(0, 1]", low_open=True)
        for name in ("gamma", "epsilon_start", "epsilon_end", "imagined_ratio"):
            check_number(name, getattr(self, name), 0.0, 1.0, "[0, 1]")
        check_number("model_holdout", self.model_holdout, 0.0, 0.5, "[0, 0.5]")
        for name in ("disagreement", "model_gate"):
            check_number(name, getattr(self, name), 0.0, float("inf"), "(0, inf]",
                         low_open=True)
        check_number("max_grad_norm", self.max_grad_norm, 0.0, float("inf"), "(0, inf)",
                     low_open=True)
        check_number("updates_per_step", self.updates_per_step, 0.0, MAX_UPDATES_PER_STEP,
                     f"(0, {MAX_UPDATES_PER_STEP}]", low_open=True)
        if abs(float(_ratio(self.updates_per_step)) - self.updates_per_step) > 1e-12:
            raise ConfigError(f"updates_per_step must be a fraction p/q with q <= "
                              f"{MAX_UPDATES_PER_STEP} (0.5, 0.25, 2, 4), got "
                              f"{self.updates_per_step!r}")
        for f in fields(self):
            if f.type == "int":
                low = 0 if f.name in ("planning_steps", "learning_starts", "rollout_growth",
                                      "imagined_ramp", "eval_period") else 1
                check_count(f.name, getattr(self, f.name), low, _COUNT_BOUNDS.get(f.name,
                                                                                  MAX_COUNT))
        check_choice("termination", self.termination, TERMINATIONS)
        check_choice("world_model", self.world_model, WORLD_MODELS)
        if self.world_model != "neural" and not math.isinf(self.disagreement):
            raise ConfigError(f"disagreement must be inf for world_model {self.world_model} "
                              "(it compares the regression model's members), got "
                              f"{self.disagreement!r}")
        if self.elites > self.ensemble:
            raise ConfigError(f"elites must be at most ensemble ({self.ensemble}), got "
                              f"{self.elites}")
        _check_device(self.device)

    @classmethod
    def from_run_fields(cls, base: DeepConfig | None = None, **values: Any) -> DeepConfig:
        """Build from ``RunConfig`` names (see :data:`RUN_CONFIG_FIELDS`); None keeps a default.

        Args:
            base: The config whose other fields are kept (default: ``DeepConfig()``).
            **values: Fields by their RunConfig names.

        Raises:
            ConfigError: For an unknown name, or a bad value (named as the RunConfig field).
        """
        kwargs = {}
        for name, value in values.items():
            if name not in RUN_CONFIG_FIELDS:
                raise ConfigError(f"{name} is not a deep-agent setting; allowed: "
                                  f"{', '.join(RUN_CONFIG_FIELDS)}")
            if value is not None:
                kwargs[RUN_CONFIG_FIELDS[name]] = value
        try:
            return cls(**kwargs) if base is None else replace(base, **kwargs)
        except ConfigError as err:
            run_name = {v: k for k, v in RUN_CONFIG_FIELDS.items()}
            name, _, rest = str(err).partition(" ")
            if run_name.get(name, name) != name:
                raise ConfigError(f"{run_name[name]} ({name}) {rest}") from None
            raise

    def memory_bytes(self, obs_dim: int, n_actions: int) -> int:
        """About how many bytes an agent with this config needs, for observations of
        ``obs_dim`` numbers and ``n_actions`` actions: its buffers and its networks (float32,
        each parameter with its gradient and Adam's two moments, the Q-network's target copy
        too), so that a run that cannot fit is refused before it starts."""
        row = 4 * (2 * obs_dim + 3)
        buffers = row * (self.buffer_capacity + (self.imagined_capacity if self.planning_steps
                                                 else 0))
        q_net, model = self.layer_sizes(obs_dim, n_actions)
        params = 5 * _parameters(q_net) + 4 * self.ensemble * (_parameters(model) if model else 0)
        return buffers + 4 * params

    def layer_sizes(self, obs_dim: int, n_actions: int
                    ) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
        """The layer sizes, inputs to outputs, of the Q-network and of each model member
        (None without planning steps: no model is built), counted without building them
        (see :mod:`dynaq.deep.dqn` and :mod:`dynaq.deep.model`)."""
        model = (obs_dim + n_actions, *self.model_hidden, obs_dim + 2)
        return (obs_dim, *self.hidden, n_actions), model if self.planning_steps else None

    def updates_due(self, step: int) -> int:
        """Gradient steps on real data due at real step ``step`` (counted from 1), before
        ``learning_starts`` too: ⌊U·step⌋ − ⌊U·(step − 1)⌋, in exact integer arithmetic, so
        that over any T steps they add up to U·T within one."""
        ratio = _ratio(self.updates_per_step)
        p, q = ratio.numerator, ratio.denominator
        return p * step // q - p * (step - 1) // q

    def epsilon_at(self, step: int) -> float:
        """ε after ``step`` real steps: linear from start to end, then constant."""
        frac = min(step / self.epsilon_decay_steps, 1.0)
        return self.epsilon_start + frac * (self.epsilon_end - self.epsilon_start)


RUN_CONFIG_FIELDS = {f.metadata.get(RUN_NAME, f.name): f.name for f in fields(DeepConfig)}
"""``RunConfig`` name → :class:`DeepConfig` field, for :meth:`DeepConfig.from_run_fields`."""
EXPOSED_FIELDS = tuple(f.metadata[RUN_NAME] for f in fields(DeepConfig) if RUN_NAME in f.metadata)
"""The RunConfig names of the fields that ``dynaq run``, sweep files and results tables have."""


_COUNT_BOUNDS = {"buffer_capacity": MAX_BUFFER, "imagined_capacity": MAX_BUFFER,
                 "planning_steps": MAX_PLANNING_STEPS, "learning_starts": MAX_STEPS,
                 "epsilon_decay_steps": MAX_STEPS, "rollout_growth": MAX_STEPS,
                 "imagined_ramp": MAX_STEPS, "eval_period": MAX_STEPS}
"""Bounds of the counts (:mod:`dynaq.limits`); the others are at most ``MAX_COUNT``."""


def check_agent(agent: str, config: DeepConfig) -> None:
    """Check, without torch, that ``agent`` names a deep agent that ``config`` suits.

    Raises:
        ConfigError: For an unknown name, or ``dqn`` with planning steps.
    """
    if agent not in DEEP_AGENT_NAMES:
        raise ConfigError(f"agent must be one of {', '.join(DEEP_AGENT_NAMES)}; got {agent!r}")
    if agent == "dqn" and config.planning_steps != 0:
        raise ConfigError(f"planning_steps must be 0 for dqn, got {config.planning_steps}; "
                          "use agent dyna-dqn to plan")


@functools.lru_cache(maxsize=256)
def _ratio(updates_per_step: float) -> Fraction:
    """U as the fraction p/q (q <= 1000) that :meth:`DeepConfig.updates_due` counts with,
    found once per value: the agents ask at every real step."""
    return Fraction(updates_per_step).limit_denominator(MAX_UPDATES_PER_STEP)


def _parameters(sizes: tuple[int, ...]) -> int:
    """Weights and biases of an MLP with these layer sizes."""
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def _check_widths(config: DeepConfig, name: str) -> None:
    value = getattr(config, name)
    try:
        widths = tuple(value)
    except TypeError:
        widths = None
    if not widths or any(isinstance(w, bool) or not isinstance(w, int) or not 1 <= w <= MAX_WIDTH
                         for w in widths):
        raise ConfigError(f"{name} must be a non-empty sequence of integers in [1, {MAX_WIDTH}], "
                          f"got {value!r}")
    object.__setattr__(config, name, widths)


def _check_device(device: Any) -> None:
    if device not in DEVICES:
        raise ConfigError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "cuda":
        from dynaq.deep import require_torch

        if not require_torch("device cuda").cuda.is_available():
            raise ConfigError("device must be cpu here: cuda is not available (no GPU visible "
                              "to torch, or a CPU-only torch build)")
