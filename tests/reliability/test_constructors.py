"""Class 7 of the battery: bad arguments to the library's constructors and builders (worlds,
maps, agents, the runner, the summaries) raise one ConfigError line naming the field."""

import math

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from battery import assert_config_error

from dynaq.agents import AGENTS
from dynaq.agents.dyna_q import DynaQConfig
from dynaq.agents.replay import ReplayConfig
from dynaq.analysis.stats import summarize
from dynaq.envs import (
    DynaMazeEnv,
    GridWorld,
    SlipperyCliffEnv,
    TabularEnv,
    generate_maze,
    make_env,
    parse_map,
    scale_map,
    shortest_path,
)
from dynaq.envs.maps import MAX_MAZE_ROOMS
from dynaq.experiments.config import RunConfig
from dynaq.experiments.runner import run_cells

MAP = ("S.",
       ".G")
LAYOUT_ALLOWED = "one string per row or one string with a row per line"


def case(build, *named, id):
    """A table row: ``build()`` must raise a ConfigError naming each of ``named``."""
    return pytest.param(build, named, id=id)


def check(build, named):
    with pytest.raises(Exception) as excinfo:
        build()
    assert_config_error(excinfo, *named)


LAYOUTS = [
    case(lambda: GridWorld([1, 2]), "layout", LAYOUT_ALLOWED, id="ints"),
    case(lambda: GridWorld(None), "layout", LAYOUT_ALLOWED, id="None"),
    case(lambda: GridWorld([["S", "G"]]), "layout", LAYOUT_ALLOWED, id="rows-as-lists"),
    case(lambda: GridWorld(("S.", 5)), "layout", LAYOUT_ALLOWED, id="a-row-not-a-string"),
    case(lambda: GridWorld(b"SG"), "layout", LAYOUT_ALLOWED, id="bytes"),
    case(lambda: GridWorld({"SG": 1}), "layout", LAYOUT_ALLOWED, id="dict"),
    case(lambda: GridWorld(3.5), "layout", LAYOUT_ALLOWED, id="number"),
    case(lambda: GridWorld([]), "layout: empty", id="empty"),
    case(lambda: GridWorld(("Sx", ".G")), "layout: unknown character 'x'", "# . S G C",
         id="unknown-character"),
    case(lambda: GridWorld(("S.", ".")), "layout: row 1 has 1 columns, expected 2",
         id="ragged"),
]

SCALARS = [
    *(case(lambda v=v: GridWorld(MAP, slip=v), "slip must be in [0, 1)", f"got {v!r}",
           id=f"slip={v!r}")
      for v in ("0.1", None, -0.1, 1.0, 1, np.float32(1.0), math.nan, True, [0.1])),
    *(case(lambda f=f, v=v: GridWorld(MAP, **{f: v}), f"{f} must be a finite number",
           id=f"{f}={label}")
      for f in ("step_reward", "goal_reward", "cliff_reward")
      for label, v in (("'x'", "x"), ("None", None), ("inf", math.inf), ("-inf", -math.inf),
                       ("nan", math.nan), ("10**400", 10**400), ("False", False),
                       ("float32-inf", np.float32(math.inf)))),
    *(case(lambda v=v: GridWorld(MAP, name=v), "name must be a non-empty string of one line",
           id=f"name={v!r}")
      for v in (3, None, "", "two\nlines", b"grid")),
]

CHANGES = [
    case(lambda: GridWorld(MAP, changes=5), "changes must be a sequence of (step, layout)",
         id="a-number"),
    case(lambda: GridWorld(MAP, changes="S.\n.G"), "changes must be a sequence",
         id="a-string"),
    case(lambda: GridWorld(MAP, changes={5: MAP}), "changes must be a sequence", id="dict"),
    case(lambda: GridWorld(MAP, changes=(5, MAP)), "changes[0] must be a pair (step, layout)",
         id="not-pairs"),
    case(lambda: GridWorld(MAP, changes=((5, MAP, 1),)), "changes[0] must be a pair",
         id="a-triple"),
    case(lambda: GridWorld(MAP, changes=("S.",)), "changes[0] must be a pair", id="a-row"),
    case(lambda: GridWorld(MAP, changes=((5, None),)), "changes[0] layout", LAYOUT_ALLOWED,
         id="layout-None"),
    case(lambda: GridWorld(MAP, changes=((5, [["S", "."], [".", "G"]]),)),
         "changes[0] layout", LAYOUT_ALLOWED, id="layout-rows-as-lists"),
    case(lambda: GridWorld(MAP, changes=((5, MAP), (9, 7))), "changes[1] layout",
         LAYOUT_ALLOWED, id="second-layout"),
    *(case(lambda t=t: GridWorld(MAP, changes=((t, MAP),)),
           "changes: steps must be increasing integers >= 1", f"got {t!r} after 0",
           id=f"step={t!r}")
      for t in (-1, 0, 5.0, "5", None, True)),
    case(lambda: GridWorld(MAP, changes=((5, MAP), (5, MAP))), "got 5 after 5",
         id="steps-not-increasing"),
    case(lambda: GridWorld(MAP, changes=((5, ("S.G",)),)), "changes", "shape (2, 2)",
         id="another-shape"),
    case(lambda: GridWorld(MAP, changes=((5, (".S", ".G")),)), "changes",
         "the start of the first layout", id="another-start"),
    case(lambda: GridWorld(MAP, changes=((5, ("Sx", ".G")),)),
         "changes[0] layout: unknown character 'x'", id="unknown-character"),
]

MAPS = [
    *(case(lambda f=f, v=v: f(v), "map", LAYOUT_ALLOWED, id=f"{f.__name__}({v!r})")
      for f in (parse_map, shortest_path) for v in (5, None, [["S", "G"]], ("S.", None))),
    case(lambda: parse_map(""), "map: empty", id="parse_map-empty"),
    case(lambda: scale_map(None, 2, 2), "map", LAYOUT_ALLOWED, id="scale_map-None"),
    case(lambda: scale_map(MAP, 0, 1), "ry must be an integer >= 1", id="scale_map-ry"),
    case(lambda: scale_map(MAP, 1, "2"), "rx must be an integer >= 1", id="scale_map-rx"),
    *(case(lambda v=v: generate_maze(2, 2, seed=v), "seed must be an integer >= 0",
           id=f"generate_maze-seed={v!r}")
      for v in (-1, 1.5, "3", None)),
    case(lambda: generate_maze(0, 2), "rows must be an integer >= 1", id="generate_maze-rows"),
    case(lambda: generate_maze(2, 2.5), "cols must be an integer >= 1", id="generate_maze-cols"),
    *(case(lambda r=r, c=c: generate_maze(r, c), "rows * cols",
           f"must be in [2, {MAX_MAZE_ROOMS:_}]", id=f"generate_maze-{r}x{c}")
      for r, c in ((1, 1), (10**6, 10**6), (10**20, 2))),
]

ENVS = [
    case(lambda: DynaMazeEnv(scale=3), "scale must be one of 1, 2, 4", id="dyna-maze-scale"),
    case(lambda: SlipperyCliffEnv(slip="0.1"), "slip must be in [0, 1)", id="cliff-slip"),
    case(lambda: TabularEnv(GridWorld(MAP).to_mdp(), render_mode="human"),
         "render_mode must be one of", id="render-mode"),
    case(lambda: make_env("Nope-v0"), "env must be a registered Gymnasium id", id="env-id"),
    case(lambda: GridWorld(MAP).state(2, 0), "row must be an integer in [0, 1]",
         id="state-row"),
    case(lambda: GridWorld(MAP).state(0, -1), "col must be an integer in [0, 1]",
         id="state-col"),
]


@pytest.mark.parametrize("build, named", [*LAYOUTS, *SCALARS, *CHANGES, *MAPS, *ENVS])
def test_worlds_and_maps_refuse_bad_input(build, named):
    check(build, named)


def foreign_config(cls):
    """Another agent's config, which ``cls`` must refuse."""
    return DynaQConfig() if isinstance(ReplayConfig(), cls.Config) else ReplayConfig()


AGENT_CASES = [
    case(lambda cls: cls(-1, 4), "n_states must be an integer >= 1", id="n_states=-1"),
    case(lambda cls: cls(2.5, 4), "n_states must be an integer >= 1", id="n_states=2.5"),
    case(lambda cls: cls(0, 4), "n_states must be an integer >= 1", id="n_states=0"),
    case(lambda cls: cls("47", 4), "n_states must be an integer >= 1", id="n_states='47'"),
    case(lambda cls: cls(47, 0), "n_actions must be an integer >= 1", id="n_actions=0"),
    case(lambda cls: cls(47, True), "n_actions must be an integer >= 1", id="n_actions=True"),
    case(lambda cls: cls(47, 4, seed=-1), "seed must be an integer >= 0", id="seed=-1"),
    case(lambda cls: cls(47, 4, seed=None), "seed must be an integer >= 0", id="seed=None"),
    case(lambda cls: cls(47, 4, config=foreign_config(cls)), "needs a", id="foreign-config"),
    case(lambda cls: cls(47, 4, config={"alpha": 0.1}), "needs a", id="config-dict"),
    case(lambda cls: cls.for_env(gym.make("CartPole-v1")), "Discrete", id="for_env-CartPole"),
]


@pytest.mark.parametrize("name", list(AGENTS))
@pytest.mark.parametrize("build, named", AGENT_CASES)
def test_tabular_agents(name, build, named):
    check(lambda: build(AGENTS[name]), named)


def test_the_runner_refuses_a_negative_seed():
    check(lambda: run_cells(RunConfig(episodes=1), [-1]), ["seed must be an integer >= 0"])


RESULT_COLUMNS = ["env", "agent", "seed", "episode", "env_steps", "backups", "wall_s",
                  "return", "value_error", "policy_optimal", "v_star_start"]


@pytest.mark.parametrize("df, named", [
    (pd.DataFrame(), ["results lack the column(s) seed"]),
    (pd.DataFrame({"steps": [1], "seed": [0]}), ["results lack the column(s) episode"]),
    (pd.DataFrame(columns=RESULT_COLUMNS), ["results are empty"]),
    ([{"seed": 0}], ["results must be a DataFrame", "got list"]),
], ids=["empty", "foreign", "no-rows", "not-a-frame"])
def test_summaries_refuse_what_is_not_a_results_frame(df, named):
    check(lambda: summarize(df), named)
