"""The true simulators of CartPole, Acrobot and MountainCar as batched torch functions.

A "perfect model" control for Dyna: imagine transitions with the env's own dynamics, stepped
from states taken from the replay buffer, instead of with a learned model. Whatever Dyna
then gains over replay alone is what one-step imagination from buffer states can give at
all; whatever a learned model loses against this is the model's error. The control separates
"the model is wrong" from "one-step imagination adds little over replay" (Holland, Talvitie
& Bowling 2018, "The Effect of Planning Shape on Dyna-style Planning in High-dimensional
State Spaces"; van Hasselt, Hessel & Aslanides 2019, "When to use parametric models in
reinforcement learning?").

Each step function maps ``obs [..., obs_dim]`` (as the env reports it) and ``action [...]``
to ``(next_obs, reward, terminated)``: the env's ``step`` from the float64 state that gives
that observation. The steps are transcribed from gymnasium 1.4.0's
``gymnasium/envs/classic_control/cartpole.py`` (``CartPoleEnv.step``: Euler integration,
``sutton_barto_reward=False``), ``acrobot.py`` (``AcrobotEnv.step`` and ``_dsdt``, ``rk4``,
``wrap``, ``bound``: the "book" dynamics, no torque noise, ``dt = 0.2``) and
``mountain_car.py`` (``MountainCarEnv.step``, ``goal_velocity=0``), for the envs' default
parameters, operation by operation in float64 so that the rounding is the env's too. The
``terminated`` flag comes from :mod:`dynaq.deep.termination` applied to ``next_obs``.

Where they differ from the env:

- The env keeps a float64 state and reports it rounded to float32. From a float32
  observation the state is known only to that rounding (about 6e-8 relative), so the step
  is the env's from the rounded state, not from the state the env actually had. CartPole's
  and MountainCar's observation is the state itself; Acrobot's is ``(cos θ1, sin θ1, cos θ2,
  sin θ2, ω1, ω2)``, and θ is recovered with ``atan2`` (:func:`acrobot_state`), within about
  6e-8 rad of the env's angle (|ω2| up to 9π is rounded to within 1e-6). One RK4 step of
  0.2 s carries that to within 1e-6 in cos/sin and 5e-6 in ω on states of episodes, but up
  to about 1e-3 in ω near the velocity bounds, where the step's Jacobian reaches ~7000.
- ``terminated`` is tested on the float32 ``next_obs``, so it differs from the env's test of
  its float64 state only within the rounding of a threshold (see
  :mod:`dynaq.deep.termination`).
- torch's float64 ``sin``/``cos`` (SLEEF, within 1 ULP) differ from glibc's, which numpy and
  :mod:`math` use, in the last bit for about 0.1% of arguments, and the env's ``x**2`` on
  numpy scalars calls ``pow``, which differs from ``x * x`` in the last bit for about 0.1%.
  These are 1e-16 relative, below the float32 rounding of the output except at a rounding
  boundary (none in the tests, which compare some 100,000 values bit for bit).

A non-unit ``(cos, sin)`` pair, such as a learned model may predict, still gives an angle
(``atan2`` uses only its direction). The Acrobot step synchronises with the host (its angle
wrap loops as the env's does, until every angle is in range); all three check their
arguments with one reduction each.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from dynaq.deep.termination import (
    acrobot_terminated,
    cartpole_terminated,
    mountain_car_terminated,
)

TrueDynamics = Callable[
    [torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]
]
"""``step(obs [..., obs_dim], action [...]) -> (next_obs float32 [..., obs_dim],
reward float32 [...], terminated float32 [...])``, terminated 0 or 1."""

# The constants are written as the envs write them (attributes combined in the same order),
# so each float64 constant is bit for bit the env's.

# CartPoleEnv.__init__
_CP_GRAVITY = 9.8
_CP_MASSCART = 1.0
_CP_MASSPOLE = 0.1
_CP_TOTAL_MASS = _CP_MASSPOLE + _CP_MASSCART
_CP_LENGTH = 0.5  # half the pole's length
_CP_POLEMASS_LENGTH = _CP_MASSPOLE * _CP_LENGTH
_CP_FORCE_MAG = 10.0
_CP_TAU = 0.02
_CP_FORCES = (-_CP_FORCE_MAG, _CP_FORCE_MAG)  # action 1 pushes right, any other left

# AcrobotEnv class attributes and _dsdt's locals
_AB_DT = 0.2
_AB_M1 = 1.0
_AB_M2 = 1.0
_AB_L1 = 1.0
_AB_LC1 = 0.5
_AB_LC2 = 0.5
_AB_I1 = 1.0
_AB_I2 = 1.0
_AB_G = 9.8
_AB_MAX_VEL_1 = 4 * math.pi
_AB_MAX_VEL_2 = 9 * math.pi
_AB_TORQUES = (-1.0, 0.0, 1.0)

# MountainCarEnv.__init__
_MC_MIN_POSITION = -1.2
_MC_MAX_POSITION = 0.6
_MC_MAX_SPEED = 0.07
_MC_FORCE = 0.001
_MC_GRAVITY = 0.0025
_MC_PUSHES = tuple((a - 1) * _MC_FORCE for a in range(3))  # the env's (action - 1) * force


def _check(name: str, obs: torch.Tensor, action: torch.Tensor, obs_dim: int,
           n_actions: int) -> None:
    """Raise ValueError unless ``obs`` is float ``[..., obs_dim]`` and ``action`` integer
    ``[...]`` in ``[0, n_actions)``: the actions index tables, where a wrong one would
    silently read a neighbour or fail deep inside a compiled graph."""
    if not (isinstance(obs, torch.Tensor) and obs.is_floating_point() and obs.dim() >= 1
            and obs.shape[-1] == obs_dim):
        got = (f"{tuple(obs.shape)} {obs.dtype}" if isinstance(obs, torch.Tensor)
               else type(obs).__name__)
        raise ValueError(f"{name}: obs must be a floating-point tensor [..., {obs_dim}], "
                         f"got {got}")
    if not (isinstance(action, torch.Tensor) and not action.is_floating_point()
            and not action.is_complex() and action.dtype != torch.bool):
        got = action.dtype if isinstance(action, torch.Tensor) else type(action).__name__
        raise ValueError(f"{name}: action must be an integer tensor, got {got}")
    if action.shape != obs.shape[:-1]:
        raise ValueError(f"{name}: action must have obs's leading shape "
                         f"{tuple(obs.shape[:-1])}, got {tuple(action.shape)}")
    if bool(((action < 0) | (action >= n_actions)).any()):
        raise ValueError(f"{name}: action must be in [0, {n_actions}), got values in "
                         f"[{int(action.min())}, {int(action.max())}]")


def _table(values: tuple[float, ...], action: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``values[action]`` as float64 on ``like``'s device (the action already checked)."""
    return torch.tensor(values, dtype=torch.float64, device=like.device)[action.long()]


def cartpole_step(obs: torch.Tensor, action: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CartPole-v1's ``step`` from the state ``obs`` (x, ẋ, θ, θ̇).

    Args:
        obs: ``[..., 4]`` floating-point observations; the state is ``obs`` in float64.
        action: ``[...]`` integers, 0 (push left) or 1 (push right).

    Returns:
        ``(next_obs float32 [..., 4], reward float32 [...], terminated float32 [...])``.
        The reward is 1 on every step, the terminating one included: with
        ``sutton_barto_reward=False`` the env gives 0 only on steps after the episode ended,
        which a buffer of real transitions never starts from.

    Raises:
        ValueError: ``obs`` is not ``[..., 4]`` floating point, or ``action`` is not integer
            of shape ``obs.shape[:-1]`` with values in [0, 2).
    """
    _check("cartpole_step", obs, action, 4, 2)
    x, x_dot, theta, theta_dot = obs.double().unbind(-1)
    force = _table(_CP_FORCES, action, obs)
    costheta = torch.cos(theta)
    sintheta = torch.sin(theta)
    # The env's expressions in its order of operations: float64 rounding is not associative.
    temp = (force + _CP_POLEMASS_LENGTH * torch.square(theta_dot) * sintheta) / _CP_TOTAL_MASS
    thetaacc = (_CP_GRAVITY * sintheta - costheta * temp) / (
        _CP_LENGTH * (4.0 / 3.0 - _CP_MASSPOLE * torch.square(costheta) / _CP_TOTAL_MASS)
    )
    xacc = temp - _CP_POLEMASS_LENGTH * thetaacc * costheta / _CP_TOTAL_MASS
    # Euler: every update uses the old state
    x, x_dot, theta, theta_dot = (x + _CP_TAU * x_dot, x_dot + _CP_TAU * xacc,
                                  theta + _CP_TAU * theta_dot, theta_dot + _CP_TAU * thetaacc)
    next_obs = torch.stack((x, x_dot, theta, theta_dot), dim=-1).float()
    terminated = cartpole_terminated(next_obs).float()
    return next_obs, torch.ones_like(terminated), terminated


def acrobot_state(obs: torch.Tensor) -> torch.Tensor:
    """Acrobot's state (θ1, θ2, ω1, ω2), float64, from its observation.

    The angles come from ``atan2(sin θ, cos θ)``, in [-π, π] as the env keeps them.

    Args:
        obs: ``[..., 6]`` floating-point observations (cos θ1, sin θ1, cos θ2, sin θ2, ω1, ω2).

    Returns:
        ``float64 [..., 4]``.

    Raises:
        ValueError: ``obs`` is not ``[..., 6]`` floating point.
    """
    if not (isinstance(obs, torch.Tensor) and obs.is_floating_point() and obs.dim() >= 1
            and obs.shape[-1] == 6):
        got = (f"{tuple(obs.shape)} {obs.dtype}" if isinstance(obs, torch.Tensor)
               else type(obs).__name__)
        raise ValueError(f"acrobot_state: obs must be a floating-point tensor [..., 6], "
                         f"got {got}")
    o = obs.double()
    return torch.stack((torch.atan2(o[..., 1], o[..., 0]), torch.atan2(o[..., 3], o[..., 2]),
                        o[..., 4], o[..., 5]), dim=-1)


def _acrobot_dsdt(s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """``AcrobotEnv._dsdt`` ("book") for states ``s [..., 4]`` and torques ``a [...]``.

    The torque's own derivative (0) is left out: the env's rk4 carries it as a fifth
    component that stays exactly ``a``.
    """
    m1, m2, l1, lc1, lc2, I1, I2, g = (  # noqa: N806 (the env's names)
        _AB_M1, _AB_M2, _AB_L1, _AB_LC1, _AB_LC2, _AB_I1, _AB_I2, _AB_G)
    pi = math.pi
    theta1, theta2, dtheta1, dtheta2 = s.unbind(-1)
    # Written as the env writes it, for its order of operations; x**2 on a tensor is x * x.
    d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * torch.cos(theta2)) + I1 + I2
    d2 = m2 * (lc2**2 + l1 * lc2 * torch.cos(theta2)) + I2
    phi2 = m2 * lc2 * g * torch.cos(theta1 + theta2 - pi / 2.0)
    phi1 = (
        -m2 * l1 * lc2 * dtheta2**2 * torch.sin(theta2)
        - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * torch.sin(theta2)
        + (m1 * lc1 + m2 * l1) * g * torch.cos(theta1 - pi / 2)
        + phi2
    )
    ddtheta2 = (
        a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**2 * torch.sin(theta2) - phi2
    ) / (m2 * lc2**2 + I2 - d2**2 / d1)
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return torch.stack((dtheta1, dtheta2, ddtheta1, ddtheta2), dim=-1)


def _wrap(x: torch.Tensor, m: float, M: float) -> torch.Tensor:  # noqa: N803 (the env's)
    """The env's ``wrap``: subtract, then add, ``M - m`` one at a time until in range.

    One step at a time, not a ``remainder``, because repeated subtraction rounds
    differently. The observation's cos and sin hardly see the wrap, but the state behind it
    does. Infinities are left alone (the env's loop would never end on them).
    """
    diff = M - m
    while bool((over := (x > M) & torch.isfinite(x)).any()):
        x = torch.where(over, x - diff, x)
    while bool((under := (x < m) & torch.isfinite(x)).any()):
        x = torch.where(under, x + diff, x)
    return x


def _acrobot_next_state(y0: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """The env's state after ``AcrobotEnv.step`` from ``y0 [..., 4]`` with torques ``a [...]``:
    one rk4 step over ``t = [0, dt]``, the angles wrapped and the velocities bounded."""
    dt = _AB_DT  # rk4's t[1] - t[0], 0.2 - 0 exactly
    dt2 = dt / 2.0
    k1 = _acrobot_dsdt(y0, a)
    k2 = _acrobot_dsdt(y0 + dt2 * k1, a)
    k3 = _acrobot_dsdt(y0 + dt2 * k2, a)
    k4 = _acrobot_dsdt(y0 + dt * k3, a)
    ns = y0 + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return torch.stack((_wrap(ns[..., 0], -math.pi, math.pi),
                        _wrap(ns[..., 1], -math.pi, math.pi),
                        ns[..., 2].clamp(-_AB_MAX_VEL_1, _AB_MAX_VEL_1),
                        ns[..., 3].clamp(-_AB_MAX_VEL_2, _AB_MAX_VEL_2)), dim=-1)


def acrobot_step(obs: torch.Tensor, action: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Acrobot-v1's ``step`` from the state :func:`acrobot_state` recovers from ``obs``.

    Args:
        obs: ``[..., 6]`` floating-point observations (cos θ1, sin θ1, cos θ2, sin θ2, ω1, ω2).
        action: ``[...]`` integers: 0, 1, 2 for torque -1, 0, +1.

    Returns:
        ``(next_obs float32 [..., 6], reward float32 [...], terminated float32 [...])``,
        the reward -1, or 0 where the step ends the episode.

    Raises:
        ValueError: ``obs`` is not ``[..., 6]`` floating point, or ``action`` is not integer
            of shape ``obs.shape[:-1]`` with values in [0, 3).
    """
    _check("acrobot_step", obs, action, 6, 3)
    theta1, theta2, dtheta1, dtheta2 = _acrobot_next_state(
        acrobot_state(obs), _table(_AB_TORQUES, action, obs)).unbind(-1)
    next_obs = torch.stack((torch.cos(theta1), torch.sin(theta1), torch.cos(theta2),
                            torch.sin(theta2), dtheta1, dtheta2), dim=-1).float()
    terminated = acrobot_terminated(next_obs).float()
    return next_obs, terminated - 1.0, terminated


def mountain_car_step(obs: torch.Tensor, action: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """MountainCar-v0's ``step`` from the state ``obs`` (position, velocity).

    Args:
        obs: ``[..., 2]`` floating-point observations; the state is ``obs`` in float64.
        action: ``[...]`` integers: 0, 1, 2 for accelerating left, not at all, right.

    Returns:
        ``(next_obs float32 [..., 2], reward float32 [...], terminated float32 [...])``, the
        reward -1 on every step.

    Raises:
        ValueError: ``obs`` is not ``[..., 2]`` floating point, or ``action`` is not integer
            of shape ``obs.shape[:-1]`` with values in [0, 3).
    """
    _check("mountain_car_step", obs, action, 2, 3)
    position, velocity = obs.double().unbind(-1)
    velocity = velocity + (_table(_MC_PUSHES, action, obs)
                           + torch.cos(3 * position) * (-_MC_GRAVITY))
    velocity = velocity.clamp(-_MC_MAX_SPEED, _MC_MAX_SPEED)
    position = (position + velocity).clamp(_MC_MIN_POSITION, _MC_MAX_POSITION)
    # the left wall is inelastic: the car stops there
    velocity = velocity.masked_fill((position == _MC_MIN_POSITION) & (velocity < 0), 0.0)
    next_obs = torch.stack((position, velocity), dim=-1).float()
    terminated = mountain_car_terminated(next_obs).float()
    return next_obs, -torch.ones_like(terminated), terminated


TRUE_DYNAMICS: dict[str, TrueDynamics] = {
    "CartPole-v1": cartpole_step,
    "Acrobot-v1": acrobot_step,
    "MountainCar-v0": mountain_car_step,
}
"""The true one-step dynamics of each env id dynaq can simulate."""


def true_dynamics(env_id: str) -> TrueDynamics | None:
    """The true one-step dynamics of ``env_id``, or None where dynaq has none.

    Args:
        env_id: A gymnasium env id, e.g. ``"CartPole-v1"``.

    Returns:
        A :data:`TrueDynamics`, or None (for anything not in :data:`TRUE_DYNAMICS`, a
        non-string included: this never raises).
    """
    return TRUE_DYNAMICS.get(env_id) if isinstance(env_id, str) else None
