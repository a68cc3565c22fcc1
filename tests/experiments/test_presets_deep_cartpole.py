"""The deep CartPole reporter: plots written, numbers and conclusions from the data."""

import numpy as np
import pandas as pd

from dynaq.experiments.presets.deep_cartpole import deep_cartpole_report, per_config, per_seed


def fake_results():
    """At U = 0.5, dqn and dyna-dqn k = 0 identical and k = 5 faster; dqn at U = 3 (k = 5's
    compute) as fast as k = 5; 3 seeds, 60 episodes."""
    rows = []
    for agent, k, updates, speed in (("dqn", 0, 0.5, 10.0), ("dyna-dqn", 0, 0.5, 10.0),
                                     ("dyna-dqn", 5, 0.5, 20.0), ("dqn", 0, 3, 20.0)):
        for seed in range(3):
            returns = np.minimum(500.0, 20 + speed * np.arange(60) + seed)
            env_steps = np.cumsum(returns)
            for e, (ret, total) in enumerate(zip(returns, env_steps, strict=True), 1):
                rows.append({"env": "CartPole-v1", "agent": agent, "model": "neural",
                             "planning_steps": k, "updates_per_step": updates, "seed": seed,
                             "episode": e, "steps": ret, "return": ret, "env_steps": total,
                             "backups": updates * (1 + k) * total,
                             "value_error": np.nan, "policy_value": np.nan,
                             "policy_optimal": False, "truncated": ret == 500,
                             "wall_s": total / (1000.0 if k == 0 else 500.0),
                             "model_error": 1.0 / e if k else np.nan,
                             "reward_error": np.nan, "model_coverage": np.nan})
    return pd.DataFrame(rows)


def test_per_seed_finds_the_first_solved_window():
    seeds = per_seed(fake_results())
    row = seeds[(seeds["config"] == "dyna-dqn, U = 0.5, k = 5") & (seeds["seed"] == 0)].iloc[0]
    returns = np.minimum(500.0, 20 + 20.0 * np.arange(60))
    first = next(i for i in range(9, 60) if returns[i - 9:i + 1].mean() >= 475)
    assert row["steps_to_solve"] == np.cumsum(returns)[first]
    assert row["final_return"] == 500.0 and row["model_error"] == 1 / 60
    assert row["updates"] == 3.0  # U (1 + k) gradient steps per real step
    table = per_config(seeds)
    assert list(table["solved"]) == [3, 3, 3, 3]


def test_a_seed_that_never_solves_counts_its_budget():
    df = fake_results()
    slow = (df["agent"] == "dqn") & (df["updates_per_step"] == 0.5) & (df["seed"] == 2)
    df.loc[slow, "return"] = 100.0
    seeds = per_seed(df)
    row = seeds[(seeds["config"] == "dqn, U = 0.5") & (seeds["seed"] == 2)].iloc[0]
    assert not row["solved"] and row["steps_to_solve"] == df.loc[slow, "env_steps"].max()
    table = per_config(seeds).set_index("config")
    assert table.loc["dqn, U = 0.5", "solved"] == 2
    assert table.loc["dqn, U = 0.5", "steps_to_solve"] == seeds[
        seeds["config"] == "dqn, U = 0.5"]["steps_to_solve"].mean()  # over all 3 seeds


def test_report_writes_plots_and_data_driven_notes(tmp_path):
    df = fake_results()
    notes = deep_cartpole_report(df, pd.DataFrame(), tmp_path)
    assert (tmp_path / "returns.png").stat().st_size > 0
    assert (tmp_path / "model_error.png").stat().st_size > 0
    assert not list(tmp_path.glob(".*.tmp"))
    assert "| dyna-dqn, U = 0.5, k = 5 | 3.00 | 3/3 |" in notes
    assert "gave exactly DQN's returns on all 3 shared seeds" in notes
    assert "better (the 95% CIs do not overlap)" in notes  # k = 5 solves in fewer steps
    # beside DQN at the same compute (U = 3) there is no difference
    equal = next(line for line in notes.splitlines() if line.startswith("- At equal compute"))
    assert "(dqn, U = 3: 3/3)" in equal and "no clear difference" in equal
    assert "at 2.0× the wall time per real step" in notes
    assert "fell from 1 at its first measurement to 0.0167" in notes
