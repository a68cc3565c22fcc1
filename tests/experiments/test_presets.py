"""The reproductions run end to end and report beside their source."""

import pandas as pd

from dynaq import execute, load_results
from dynaq.experiments.presets import all_presets, get_preset
from dynaq.metrics import q_is_near_optimal


def test_fig82_with_few_seeds(tmp_path):
    preset = get_preset("fig8.2")
    exp = preset.experiment(4)
    assert [r.planning_steps for r in exp.runs] == [0, 5, 50]
    assert {(r.alpha, r.gamma, r.epsilon, r.episodes) for r in exp.runs} == {
        (0.1, 0.95, 0.1, 50)}
    execute(exp, tmp_path, quiet=True, reporter=preset.reporter)
    md = (tmp_path / "summary.md").read_text()
    assert "Beside the book" in md and "about 1700 steps" in md and "ε-greedy optimum" in md
    assert "## Mean steps per episode over 4 seeds" in md and "average 4 seeds" in md
    assert preset.default_seeds == 300  # the book's 30 leave the early episodes to chance
    assert (tmp_path / "steps_per_episode.png").exists()
    df = load_results(tmp_path)
    for k in (0, 5, 50):  # the table's episode-2 cell is the mean over seeds of that episode
        mean = df[(df["planning_steps"] == k) & (df["episode"] == 2)]["steps"].mean()
        row = next(line for line in md.splitlines() if line.startswith(f"| {k} | "))
        assert row.split(" | ")[2].startswith(f"{mean:,.0f}" if mean >= 100 else f"{mean:.3g}")


def test_seed_table_runs_every_seed_to_near_optimal(tmp_path):
    preset = get_preset("seed-table")
    exp = preset.experiment(3)
    assert [r.planning_steps for r in exp.runs] == [0, 5, 50, 200]
    summary = execute(exp, tmp_path, quiet=True, reporter=preset.reporter)
    df = load_results(tmp_path)
    last = df.sort_values("episode").groupby(["planning_steps", "seed"]).tail(1)
    assert q_is_near_optimal(last["value_error"], last["v_star_start"]).all()
    assert (summary["episodes_to_near_optimal_q_reached"] == 3).all()
    # more planning, fewer episodes to near-optimal Q (the course's claim, measured)
    eps = summary.set_index("planning_steps")["episodes_to_near_optimal_q"]
    assert eps[0] > eps[5] > eps[50] > eps[200]
    md = (tmp_path / "summary.md").read_text()
    assert "~800" in md and "Beside the course" in md
    # each row says the episodes its seeds ran, as the results have them
    ran = df.groupby(["planning_steps", "seed"])["episode"].max().groupby(level=0).max()
    assert f"| Q-learning, k=0 | {ran[0]} | ~800 |" in md and f"| Dyna-Q, k=5 | {ran[5]} |" in md
    assert "dynaq: episodes until Q is near-optimal |" in md
    assert "dynaq: episodes until the greedy policy is optimal |" in md
    assert (tmp_path / "value_error.png").exists()
    assert isinstance(pd.read_csv(tmp_path / "summary.csv"), pd.DataFrame)


def test_every_preset_has_a_description():
    assert all(p.description and p.default_seeds >= 10
               for p in all_presets().values())
