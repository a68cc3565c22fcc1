"""A Gymnasium env over any TabularMDP, and the registered dynaq gridworlds."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from dynaq.envs import maps
from dynaq.envs.gridworld import GridWorld
from dynaq.errors import ConfigError
from dynaq.mdp import Outcome, TabularMDP

_COLOURS = {maps.WALL: (40, 40, 40), maps.FREE: (245, 245, 245), maps.START: (150, 190, 250),
            maps.GOAL: (120, 200, 120), maps.CLIFF: (230, 120, 120)}
_AGENT = (220, 60, 40)
_CELL_PX = 16

DYNA_MAZE_IDS: dict[int, str] = {
    f: "dynaq/DynaMaze-v0" if f == 1 else f"dynaq/DynaMaze-x{f}-v0" for f in maps.DYNA_MAZE_SCALES}
"""The Dyna maze at the sizes of Sutton & Barto Example 8.4: states factor → env id
(``47 · factor`` states, see :data:`~dynaq.envs.maps.DYNA_MAZE_SCALES`)."""


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

    ## Worlds that change
    When the MDP has a layout schedule (``mdp.changes``, Sutton & Barto §8.3), the env
    counts its real steps in ``real_steps`` *across episodes*: ``reset()`` does not set
    it back, exactly as the book's blocking maze changes after 1000 steps of the whole
    run, not of one episode. The step after ``t`` real steps already follows the
    dynamics that change at ``t``; ``P`` (and ``dynamics``) show the dynamics in force
    for the next step. A fresh world needs a fresh env. ``mdp`` keeps the whole
    schedule, which is what :meth:`TabularMDP.from_gymnasium` reads back.
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
        self.initial_state_distrib = np.array(mdp.initial)
        self.s = int(np.argmax(mdp.initial))
        self.lastaction: int | None = None
        self.real_steps = 0
        """Real steps taken since the env was made, across episodes."""
        self._phases = mdp.phases()
        self._tables: dict[int, dict[int, dict[int, list[Outcome]]]] = {}

    def _phase(self) -> int:
        return sum(t <= self.real_steps for t, _ in self._phases) - 1

    @property
    def dynamics(self) -> TabularMDP:
        """The dynamics in force for the next step (the MDP itself unless it changes)."""
        return self._phases[self._phase()][1]

    @property
    def P(self) -> dict[int, dict[int, list[Outcome]]]:
        """The toy-text table ``P[s][a] = [(p, s', r, terminated)]`` of :attr:`dynamics`
        (built when first asked for, once per phase)."""
        phase = self._phase()
        if phase not in self._tables:
            self._tables[phase] = self._phases[phase][1].to_transitions()
        return self._tables[phase]

    def _sample(self, probs: np.ndarray) -> int:
        return min(int(np.searchsorted(np.cumsum(probs), self.np_random.random(),
                                       side="right")), len(probs) - 1)

    def _start(self) -> int:
        """A start state, drawn from the start distribution."""
        return self._sample(self.mdp.initial)

    def _outcome(self, dyn: TabularMDP, sa: int) -> int:
        """The index (into ``dyn``'s outcome arrays) of an outcome of the pair ``sa``
        (``s * n_actions + a``), drawn by its probability."""
        lo, hi = dyn.offsets[sa], dyn.offsets[sa + 1]
        return int(lo + self._sample(dyn.prob[lo:hi]))

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self.s = self._start()
        self.lastaction = None
        return self.s, {"prob": float(self.mdp.initial[self.s])}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ConfigError(f"action must be in [0, {self.mdp.n_actions}), got {action!r}")
        dyn = self.dynamics
        i = self._outcome(dyn, self.s * dyn.n_actions + int(action))
        self.s, self.lastaction = int(dyn.next_state[i]), int(action)
        self.real_steps += 1
        return self.s, float(dyn.reward[i]), bool(dyn.terminated[i]), False, {
            "prob": float(dyn.prob[i])}

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
    ``Discrete(n)``: the index of the agent's cell among the cells that are free in some
    layout, row by row.

    ## Rewards
    ``goal_reward`` on entering a goal, ``cliff_reward`` on entering a cliff, else
    ``step_reward``.

    ## Episode End
    Terminated on entering a goal or a cliff. No time limit.

    ## Worlds that change
    A world with a layout schedule switches layouts after so many real steps counted
    across episodes (see :class:`TabularEnv`); ``render()`` draws the layout in force.
    """

    def __init__(self, world: GridWorld, render_mode: str | None = None) -> None:
        self.world = world
        super().__init__(world.to_mdp(), render_mode)

    def render(self) -> str | np.ndarray | None:
        row, col = self.world.cells[self.s]
        grid = self.world.grid_at(self.real_steps)
        if self.render_mode == "ansi":
            grid = grid.copy()
            grid[row, col] = "A"
            return "\n".join("".join(r) for r in grid) + "\n"
        if self.render_mode == "rgb_array":
            colours = np.array([_COLOURS[ch] for ch in maps.ALLOWED], np.uint8)
            img = colours[maps.kinds(grid)]
            img[row, col] = _AGENT
            return np.kron(img, np.ones((_CELL_PX, _CELL_PX, 1), np.uint8))
        return None


class DynaMazeEnv(GridWorldEnv):
    """Sutton & Barto Example 8.1, the Dyna maze of Figure 8.2 (``dynaq/DynaMaze-v0``), and
    the same maze at the finer resolutions of Example 8.4 (``dynaq/DynaMaze-x{f}-v0``).

    ```
    .......#G
    ..#....#.
    S.#....#.
    ..#......
    .....#...
    .........
    ```
    6×9 cells, 7 walls, 47 states; start S at (2, 0), goal G at (0, 8).

    ``scale = f`` blows every cell up into a block (:func:`~dynaq.envs.maps.scale_map`;
    S and G become the top-left cell of theirs), columns and rows doubled in turn:

    | id | blocks | map | states | shortest path |
    |---|---|---|---|---|
    | ``dynaq/DynaMaze-v0`` | 1×1 | 6×9 | 47 | 14 |
    | ``dynaq/DynaMaze-x2-v0`` | 1×2 | 6×18 | 94 | 22 |
    | ``dynaq/DynaMaze-x4-v0`` | 2×2 | 12×18 | 188 | 28 |
    | ``dynaq/DynaMaze-x8-v0`` | 2×4 | 12×36 | 376 | 44 |
    | ``dynaq/DynaMaze-x16-v0`` | 4×4 | 24×36 | 752 | 56 |
    | ``dynaq/DynaMaze-x32-v0`` | 4×8 | 24×72 | 1504 | 88 |
    | ``dynaq/DynaMaze-x64-v0`` | 8×8 | 48×72 | 3008 | 112 |
    | ``dynaq/DynaMaze-x128-v0`` | 8×16 | 48×144 | 6016 | 176 |

    ## Action Space
    ``Discrete(4)``: 0 up, 1 down, 2 left, 3 right; a move into a wall or the edge leaves
    the agent in place.

    ## Observation Space
    ``Discrete(47 · scale)``: the non-wall cells numbered row by row.

    ## Reward
    +1 on reaching the goal, 0 otherwise.

    ## Episode End
    Terminated on reaching the goal; no time limit. At scale 1 the shortest path is 14
    steps, so with γ = 0.95 the optimal value of the start is 0.95**13.
    """

    def __init__(self, render_mode: str | None = None, scale: int = 1) -> None:
        if scale not in maps.DYNA_MAZE_SCALES:
            raise ConfigError(f"scale must be one of {', '.join(map(str, DYNA_MAZE_IDS))}, "
                              f"got {scale!r}")
        layout = (maps.DYNA_MAZE if scale == 1
                  else maps.scale_map(maps.DYNA_MAZE, *maps.DYNA_MAZE_SCALES[scale]))
        super().__init__(GridWorld(layout, name=DYNA_MAZE_IDS[scale]), render_mode)


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


BLOCKING_SWITCH = 1000
"""Real steps after which the blocking maze changes (Sutton & Barto Figure 8.4)."""
SHORTCUT_SWITCH = 3000
"""Real steps after which the shortcut maze changes (Sutton & Barto Figure 8.5)."""


class BlockingMazeEnv(GridWorldEnv):
    """Sutton & Barto Example 8.2, the blocking maze of Figure 8.4
    (``dynaq/BlockingMaze-v0``): the short path is blocked after 1000 real steps.

    ```
    first 1000 steps      afterwards
    ........G             ........G
    .........             .........
    .........             .........
    ########.             .########
    .........             .........
    ...S.....             ...S.....
    ```
    6×9 cells; start S at (5, 3), goal G at (0, 8). The barrier on row 3 is open at its
    right end (shortest path 10 steps), then only at its left end (16 steps). 47 states:
    the cells free in either layout, so (3, 0) and (3, 8) are states in both phases.

    ## Action Space
    ``Discrete(4)``: 0 up, 1 down, 2 left, 3 right; a move into a wall (of the layout in
    force) or the edge leaves the agent in place.

    ## Observation Space
    ``Discrete(47)``: the cells free in either layout, numbered row by row.

    ## Reward
    +1 on reaching the goal, 0 otherwise (γ = 0.95 in the book).

    ## Episode End
    Terminated on reaching the goal; no time limit. The layout changes after exactly 1000
    real steps counted across episodes (``reset()`` does not restart the count): step 1001
    meets the new layout, and an agent standing in the closing gap at (3, 8) can still
    step out of it.
    """

    def __init__(self, render_mode: str | None = None) -> None:
        world = GridWorld(maps.BLOCKING_MAZE[0], name="dynaq/BlockingMaze-v0",
                          changes=((BLOCKING_SWITCH, maps.BLOCKING_MAZE[1]),))
        super().__init__(world, render_mode)


class ShortcutMazeEnv(GridWorldEnv):
    """Sutton & Barto Example 8.3, the shortcut maze of Figure 8.5
    (``dynaq/ShortcutMaze-v0``): a shorter path opens after 3000 real steps.

    ```
    first 3000 steps      afterwards
    ........G             ........G
    .........             .........
    .........             .........
    .########             .#######.
    .........             .........
    ...S.....             ...S.....
    ```
    6×9 cells; start S at (5, 3), goal G at (0, 8). The barrier on row 3 is open at its
    left end (shortest path 16 steps); then its right end opens too (10 steps), while the
    long path stays open. 47 states: the cells free in either layout.

    ## Action Space
    ``Discrete(4)``: 0 up, 1 down, 2 left, 3 right; a move into a wall (of the layout in
    force) or the edge leaves the agent in place.

    ## Observation Space
    ``Discrete(47)``: the cells free in either layout, numbered row by row.

    ## Reward
    +1 on reaching the goal, 0 otherwise (γ = 0.95 in the book).

    ## Episode End
    Terminated on reaching the goal; no time limit. The layout changes after exactly 3000
    real steps counted across episodes (``reset()`` does not restart the count).
    """

    def __init__(self, render_mode: str | None = None) -> None:
        world = GridWorld(maps.SHORTCUT_MAZE[0], name="dynaq/ShortcutMaze-v0",
                          changes=((SHORTCUT_SWITCH, maps.SHORTCUT_MAZE[1]),))
        super().__init__(world, render_mode)


class SlipperyCliffEnv(GridWorldEnv):
    """A slippery cliff walk (``dynaq/SlipperyCliff-v0``): Sutton & Barto's cliff (Example
    6.6, Gymnasium's CliffWalking) where moves slip sideways, so that the deterministic
    model of Dyna-Q "invents false certainty" (the course's common mistakes).

    ```
    ............
    ............
    ............
    SCCCCCCCCCCG
    ```
    4×12 cells; start S at (3, 0), goal G at (3, 11), the cliff C between them.

    ## Action Space
    ``Discrete(4)``: 0 up, 1 down, 2 left, 3 right. With probability ``1 − slip`` the
    agent moves as chosen; with ``slip / 2`` each it moves to one of the two perpendicular
    directions instead (default ``slip = 0.2``: with it the deterministic model's error
    grows with planning, see the ``planning-hurts`` reproduction). A move into the edge
    leaves it in place.

    ## Observation Space
    ``Discrete(48)``: the cells numbered row by row.

    ## Reward
    −1 per step, the step into the goal included; −100 for stepping into the cliff.

    ## Episode End
    Terminated on entering the goal or the cliff (unlike CliffWalking, which sends the
    agent back to the start); no time limit. The shortest path is 13 steps along the cliff
    edge, where every step risks a slip into the cliff; the safe path along the top row
    is 17 steps.
    """

    def __init__(self, render_mode: str | None = None, slip: float = 0.2) -> None:
        world = GridWorld(maps.SLIPPERY_CLIFF, step_reward=-1.0, goal_reward=-1.0,
                          cliff_reward=-100.0, slip=slip, name="dynaq/SlipperyCliff-v0")
        super().__init__(world, render_mode)
