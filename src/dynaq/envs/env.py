"""A Gymnasium env over any TabularMDP, and the registered dynaq gridworlds."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from dynaq.envs import maps
from dynaq.envs.gridworld import GridWorld
from dynaq.errors import ConfigError
from dynaq.mdp import TabularMDP

_COLOURS = {maps.WALL: (40, 40, 40), maps.FREE: (245, 245, 245), maps.START: (150, 190, 250),
            maps.GOAL: (120, 200, 120), maps.CLIFF: (230, 120, 120)}
_AGENT = (220, 60, 40)
_CELL_PX = 16


class TabularEnv(gym.Env[int, int]):
    """A Gymnasium env that samples from a :class:`~dynaq.mdp.TabularMDP`.

    ## Action Space
    ``Discrete(mdp.n_actions)``.

    ## Observation Space
    ``Discrete(mdp.n_states)``: the state index.

    ## Rewards and Episode End
    As the MDP's outcomes say; an outcome flagged terminated ends the episode. Like the
    toy-text envs, the exact model is exposed as ``P[s][a] = [(p, s', r, terminated)]``
    and the start distribution as ``initial_state_distrib``.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, mdp: TabularMDP, render_mode: str | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"render_mode must be one of {self.metadata['render_modes']} "
                              f"or None, got {render_mode!r}")
        self.mdp = mdp
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Discrete(mdp.n_states)
        self.action_space = gym.spaces.Discrete(mdp.n_actions)
        self.P = mdp.to_transitions()
        self.initial_state_distrib = np.array(mdp.initial)
        self.s = int(np.argmax(mdp.initial))
        self.lastaction: int | None = None

    def _sample(self, probs: np.ndarray) -> int:
        return int(np.searchsorted(np.cumsum(probs), self.np_random.random(), side="right"))

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self.s = min(self._sample(self.mdp.initial), self.mdp.n_states - 1)
        self.lastaction = None
        return self.s, {"prob": float(self.mdp.initial[self.s])}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be in [0, {self.mdp.n_actions}), got {action!r}")
        outs = self.P[self.s][int(action)]
        i = min(self._sample(np.array([o[0] for o in outs])), len(outs) - 1)
        p, s2, r, term = outs[i]
        self.s, self.lastaction = s2, int(action)
        return s2, r, term, False, {"prob": p}

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return f"state {self.s} of {self.mdp.n_states}\n"
        if self.render_mode == "rgb_array":
            # No geometry: one row of cells with the agent's cell marked.
            img = np.full((_CELL_PX, _CELL_PX * self.mdp.n_states, 3), 245, np.uint8)
            img[:, self.s * _CELL_PX:(self.s + 1) * _CELL_PX] = _AGENT
            return img
        return None


class GridWorldEnv(TabularEnv):
    """A gridworld from an ASCII map (see :mod:`dynaq.envs.gridworld`).

    ## Action Space
    ``Discrete(4)``: 0 up, 1 down, 2 left, 3 right (``dynaq.envs.UP`` …).

    ## Observation Space
    ``Discrete(n)``: the index of the agent's cell among the non-wall cells, row by row.

    ## Rewards
    ``goal_reward`` on entering a goal, ``cliff_reward`` on entering a cliff, else
    ``step_reward``.

    ## Episode End
    Terminated on entering a goal or a cliff. No time limit.
    """

    def __init__(self, world: GridWorld, render_mode: str | None = None) -> None:
        self.world = world
        super().__init__(world.to_mdp(), render_mode)

    def render(self) -> str | np.ndarray | None:
        row, col = self.world.cells[self.s]
        if self.render_mode == "ansi":
            grid = self.world.grid.copy()
            grid[row, col] = "A"
            return "\n".join("".join(r) for r in grid) + "\n"
        if self.render_mode == "rgb_array":
            colours = [_COLOURS[str(ch)] for ch in self.world.grid.ravel()]
            img = np.array(colours, np.uint8).reshape(*self.world.grid.shape, 3)
            img[row, col] = _AGENT
            return np.kron(img, np.ones((_CELL_PX, _CELL_PX, 1), np.uint8))
        return None


class DynaMazeEnv(GridWorldEnv):
    """Sutton & Barto Example 8.1, the Dyna maze of Figure 8.2 (``dynaq/DynaMaze-v0``).

    ```
    .......#G
    ..#....#.
    S.#....#.
    ..#......
    .....#...
    .........
    ```
    6×9 cells, 7 walls, 47 states; start S at (2, 0), goal G at (0, 8).

    ## Action Space
    ``Discrete(4)``: 0 up, 1 down, 2 left, 3 right; a move into a wall or the edge leaves
    the agent in place.

    ## Observation Space
    ``Discrete(47)``: the non-wall cells numbered row by row.

    ## Reward
    +1 on reaching the goal, 0 otherwise.

    ## Episode End
    Terminated on reaching the goal; no time limit. The shortest path is 14 steps, so with
    γ = 0.95 the optimal value of the start is 0.95**13.
    """

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(GridWorld(maps.DYNA_MAZE, name="dynaq/DynaMaze-v0"), render_mode)


class SinglePath9x9Env(GridWorldEnv):
    """The course's worked example: a 9×9 grid with a single path to the goal
    (``dynaq/SinglePath9x9-v0``).

    ```
    S........
    ########.
    .........
    .########
    .........
    ########.
    .........
    .########
    ........G
    ```
    A serpentine corridor: rows 0, 2, 4, 6, 8 are open, rows 1, 3, 5, 7 are walls but for
    one gap, alternately at the right and the left end. 49 states; start S at (0, 0), goal
    G at (8, 8).

    ## Action Space
    ``Discrete(4)``: 0 up, 1 down, 2 left, 3 right; a move into a wall or the edge leaves
    the agent in place.

    ## Observation Space
    ``Discrete(49)``: the corridor cells numbered row by row.

    ## Reward
    +1 on reaching the goal, 0 otherwise.

    ## Episode End
    Terminated on reaching the goal; no time limit. The only path is 48 steps long, so
    with γ = 0.95 the optimal value of the start is 0.95**47.
    """

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(GridWorld(maps.SINGLE_PATH_9X9, name="dynaq/SinglePath9x9-v0"),
                         render_mode)
