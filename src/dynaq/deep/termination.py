"""Known termination rules: ``terminated`` as a function of the observation reached.

Where the rule that ends an episode is known, an imagined transition need not learn it: the
model predicts s′ and the rule decides whether the episode ended there, as MBPO does with
its hand-written termination functions for MuJoCo (Janner et al. 2019, "When to Trust Your
Model"). A learned termination head (:mod:`dynaq.deep.model`) is then needed only where
dynaq does not know the rule (:func:`known_termination` gives None).

Each rule is transcribed from the env's own ``step`` in gymnasium
(``gymnasium/envs/classic_control/cartpole.py``, ``acrobot.py``, ``mountain_car.py``), for
the envs' default parameters, and takes ``obs_next`` ``[..., obs_dim]`` as the env reports
it (float32). The envs compare their float64 state; the rules compare in float64 too, so they
differ from the env only where rounding the state to float32 moved it across a threshold
(within about 1e-7 of it).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

TerminationFn = Callable[[torch.Tensor], torch.Tensor]
"""``terminated(obs_next [..., obs_dim]) -> bool [...]``."""

CARTPOLE_X_THRESHOLD = 2.4
"""|x| beyond which CartPole's cart is off the track (``CartPoleEnv.x_threshold``)."""
CARTPOLE_THETA_THRESHOLD = 12 * 2 * math.pi / 360
"""|θ| (radians) beyond which CartPole's pole has fallen (``theta_threshold_radians``,
written as the env writes it, so the float64 constant is the same)."""
ACROBOT_TIP_HEIGHT = 1.0
"""Height of Acrobot's tip above its pivot, in link lengths, that ends the episode."""
MOUNTAIN_CAR_GOAL_POSITION = 0.5
"""MountainCar's flag (``MountainCarEnv.goal_position``)."""
MOUNTAIN_CAR_GOAL_VELOCITY = 0.0
"""Least velocity at the flag that ends MountainCar (``goal_velocity``, 0 by default)."""


def cartpole_terminated(obs_next: torch.Tensor) -> torch.Tensor:
    """CartPole-v1: the cart is beyond ±2.4 or the pole beyond ±12°.

    Args:
        obs_next: ``[..., 4]`` observations (x, ẋ, θ, θ̇).

    Returns:
        ``bool [...]``, as ``CartPoleEnv.step`` computes ``terminated``.
    """
    obs = obs_next.double()
    return ((obs[..., 0].abs() > CARTPOLE_X_THRESHOLD)
            | (obs[..., 2].abs() > CARTPOLE_THETA_THRESHOLD))


def acrobot_terminated(obs_next: torch.Tensor) -> torch.Tensor:
    """Acrobot-v1: the tip is more than one link length above the pivot.

    The env tests ``-cos(θ1) - cos(θ1 + θ2) > 1`` on its state after wrapping the angles to
    [-π, π], and reports ``(cos θ1, sin θ1, cos θ2, sin θ2, ω1, ω2)`` of that same state.
    Cosine is periodic, so wrapping changes nothing, and ``cos(θ1 + θ2) = cos θ1 cos θ2 −
    sin θ1 sin θ2`` gives the test from the observation alone.

    Args:
        obs_next: ``[..., 6]`` observations.

    Returns:
        ``bool [...]``, as ``AcrobotEnv._terminal`` computes it.
    """
    obs = obs_next.double()
    cos1, sin1, cos2, sin2 = obs[..., 0], obs[..., 1], obs[..., 2], obs[..., 3]
    return -cos1 - (cos1 * cos2 - sin1 * sin2) > ACROBOT_TIP_HEIGHT


def mountain_car_terminated(obs_next: torch.Tensor) -> torch.Tensor:
    """MountainCar-v0: the car is at the flag (position >= 0.5) and not rolling back.

    The env clips the position and velocity before this test and reports the clipped ones.

    Args:
        obs_next: ``[..., 2]`` observations (position, velocity).

    Returns:
        ``bool [...]``, as ``MountainCarEnv.step`` computes ``terminated``.
    """
    obs = obs_next.double()
    return ((obs[..., 0] >= MOUNTAIN_CAR_GOAL_POSITION)
            & (obs[..., 1] >= MOUNTAIN_CAR_GOAL_VELOCITY))


KNOWN_TERMINATION: dict[str, TerminationFn] = {
    "CartPole-v1": cartpole_terminated,
    "Acrobot-v1": acrobot_terminated,
    "MountainCar-v0": mountain_car_terminated,
}
"""The termination rule of each env id whose rule dynaq knows."""


def known_termination(env_id: str) -> TerminationFn | None:
    """The termination rule of ``env_id``, or None where dynaq does not know it.

    Args:
        env_id: A gymnasium env id, e.g. ``"CartPole-v1"``.

    Returns:
        A :data:`TerminationFn`, or None (for anything not in :data:`KNOWN_TERMINATION`,
        a non-string included: this never raises).
    """
    return KNOWN_TERMINATION.get(env_id) if isinstance(env_id, str) else None
