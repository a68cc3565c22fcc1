"""DQN vs Dyna-DQN on CartPole-v1 (the course's "Dyna + deep learning"; Mnih et al. 2015)."""

from __future__ import annotations

from dynaq.deep.cartpole import deep_cartpole_report
from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.presets.base import Preset

STEPS = 50_000
"""Real steps per run: DQN with these defaults reached a mean return of 475 over 10
episodes by 22–29k steps in our measurements, so this leaves room to see it hold."""


def _experiment(seeds: int) -> Experiment:
    # Dyna-DQN with k = 0 is DQN bit for bit (tests/deep check it), so DQN stands for k = 0.
    runs = (RunConfig(env="CartPole-v1", agent="dqn", episodes=None, total_steps=STEPS),
            *(RunConfig(env="CartPole-v1", agent="dyna-dqn", planning_steps=k, episodes=None,
                        total_steps=STEPS) for k in (1, 5, 10)))
    return Experiment("deep-cartpole", runs, seeds)


PRESET = Preset("deep-cartpole", "DQN vs Dyna-DQN (neural one-step model), k ∈ {1, 5, 10}, "
                "CartPole-v1, 50k real steps", _experiment, 5, deep_cartpole_report,
                backend="process")
