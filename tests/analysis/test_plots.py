"""Every plot writes a real image file, atomically, and refuses what it cannot draw."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dynaq import RIGHT, UP, ConfigError
from dynaq.analysis.animate import animate_value_flood, value_trace
from dynaq.analysis.plots import (
    plot_cumulative_reward,
    plot_curves,
    plot_metric_vs_k,
    plot_performance_profile,
)
from dynaq.analysis.values import plot_value_heatmap
from dynaq.envs.maps import DYNA_MAZE

PNG = b"\x89PNG\r\n\x1a\n"


def written(path, magic=PNG):
    assert path.read_bytes().startswith(magic) and path.stat().st_size > 1000
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left over
    return path


@pytest.mark.parametrize("kwargs", [{}, {"x": "env_steps", "logy": True},
                                    {"y": "value_error", "hline": (0.05, "threshold")}])
def test_plot_curves(sweep, tmp_path, kwargs):
    written(plot_curves(sweep, tmp_path / "curves.png", **kwargs))


def test_plot_cumulative_reward(sweep, tmp_path):
    written(plot_cumulative_reward(sweep, tmp_path / "cumulative.png", change_at=60))
    with pytest.raises(ConfigError, match="cumulative needs x='env_steps'"):
        plot_curves(sweep, tmp_path / "no.png", cumulative=True)


def test_plot_metric_vs_k(sweep, tmp_path):
    written(plot_metric_vs_k(sweep, tmp_path / "vs_k.png"))
    with pytest.raises(ConfigError, match="numeric"):
        plot_metric_vs_k(sweep.assign(agent=sweep["planning_steps"].map(str)), tmp_path / "x.png",
                         by="agent")


def test_plot_performance_profile(sweep, tmp_path):
    written(plot_performance_profile(sweep, tmp_path / "profile.png",
                                     metric="episodes_to_optimal_policy"))


def test_plot_value_heatmap(tmp_path):
    Q = np.zeros((47, 4))
    Q[7, UP] = 1.0
    Q[0, [UP, RIGHT]] = 0.5  # a tie: two arrows
    written(plot_value_heatmap(Q, DYNA_MAZE, tmp_path / "values.png"))
    with pytest.raises(ConfigError, match=r"Q must have shape \(47, 4\)"):
        plot_value_heatmap(np.zeros((5, 4)), DYNA_MAZE, tmp_path / "x.png")


def test_value_trace_keeps_q_after_every_real_step():
    Q, episode = value_trace("dynaq/DynaMaze-v0", k=5, episodes=2, seed=3)
    assert len(Q) == len(episode) and not Q[0].any()
    assert episode[0] == 1 and episode[-1] == 2 and np.all(np.diff(episode) >= 0)
    assert Q[-1].max() > 0  # the goal was reached at least once


def test_animate_value_flood_writes_a_small_gif(tmp_path):
    path = written(animate_value_flood(tmp_path / "flood.gif", episodes=2, frames=6),
                   magic=b"GIF8")
    assert path.stat().st_size < 2_000_000
    with Image.open(path) as gif:
        assert gif.n_frames >= 2 and gif.size[0] > 2 * gif.size[1]  # two panels side by side


def test_plot_metric_draws_any_stored_column_and_names_the_allowed(sweep, tmp_path):
    from dynaq.analysis.plots import plot_metric, plottable_metrics, step_axis

    assert plottable_metrics(sweep)[:3] == ["steps", "return", "env_steps"]
    assert "model_error" not in plottable_metrics(sweep)  # no values in these results
    written(plot_metric(sweep, "policy_optimal", tmp_path / "optimal.png"))
    with pytest.raises(ConfigError, match=r"metric must be one of steps, return, .*; got 'x'"):
        plot_metric(sweep, "x", tmp_path / "x.png")
    assert step_axis(sweep) == "episode" and step_axis(sweep.assign(total_steps=60)) == \
        "env_steps"


def test_legends_leave_out_settings_the_agent_does_not_have():
    from dynaq.analysis.plots import config_label

    varying = ["agent", "planning_steps", "kappa"]
    assert config_label({"agent": "dyna-q", "planning_steps": 5, "kappa": 0.001},
                        varying) == "dyna-q, k = 5"
    assert config_label({"agent": "dyna-q+", "planning_steps": 5, "kappa": 0.01},
                        varying) == "dyna-q+, k = 5, kappa = 0.01"


def test_value_heatmap_scales_colours_over_negative_values_too():
    from dynaq.analysis.plots import figures
    from dynaq.analysis.values import ValueView, as_world

    Q = -np.arange(47 * 4, dtype=float).reshape(47, 4) / 100  # a world with a step cost
    _, ax = figures.subplots()
    view = ValueView.draw(ax, as_world(DYNA_MAZE), Q)
    assert view.image.norm.vmin == Q.max(axis=1).min() < 0 and view.image.norm.vmax > -1e-6


def pixels(path):
    with Image.open(path) as image:
        return np.asarray(image)


@pytest.mark.parametrize("kwargs", [{"first": 2, "ylabel": "steps per episode"},
                                    {"x": "env_steps", "y": "return", "cumulative": True,
                                     "first": 0, "vline": (60, "the world changes")}])
def test_plot_bands_of_curves_computed_config_by_config_draws_what_plot_curves_does(
        sweep, tmp_path, kwargs):
    from dynaq.analysis.plots import curve_title, plot_bands
    from dynaq.analysis.stats import config_groups, curve, step_curve, varying_columns

    df = sweep.sample(frac=1, random_state=0)  # the configs' rows interleaved
    plot_curves(df, tmp_path / "whole.png", **kwargs)
    x, y = kwargs.get("x", "episode"), kwargs.get("y", "steps")
    parts = [df.iloc[rows] for _, rows in config_groups(df)]
    data = pd.concat([step_curve(p, y, cumulative=True, points=400) if x == "env_steps"
                      else curve(p, y) for p in reversed(parts)], ignore_index=True)
    plot_bands(data, tmp_path / "bands.png", x=x, varying=varying_columns(df),
               first=kwargs["first"], ylabel=kwargs.get("ylabel", y), vline=kwargs.get("vline"),
               title=curve_title(df["env"].unique(), df["seed"].nunique()))
    np.testing.assert_array_equal(pixels(tmp_path / "bands.png"), pixels(tmp_path / "whole.png"))
