"""The reproductions' summary sentences are computed from the results and the configs: each
is checked on a small synthetic frame (or a monkeypatched config) whose answer is known."""

from __future__ import annotations

import pandas as pd

from dynaq.envs import BLOCKING_SWITCH, SHORTCUT_SWITCH
from dynaq.experiments.presets import common, example8_4, fig8_4, planning_hurts, seed_table
from dynaq.experiments.presets.common import DQ_PLUS, KAPPA, first_layout_value, seed_scores

BLOCKING, SHORTCUT = "dynaq/BlockingMaze-v0", "dynaq/ShortcutMaze-v0"


def _episodes(ends: list[int], goal: list[bool], **config) -> pd.DataFrame:
    """One seed's episodes ending at real steps ``ends`` (a goal where ``goal``)."""
    return pd.DataFrame({"episode": range(1, len(ends) + 1), "env_steps": ends,
                         "return": [float(g) for g in goal], "policy_value": 0.5,
                         "v_star_start": 0.6, "policy_optimal": False, **config})


def test_a_goal_at_the_switch_step_is_not_a_goal_after_the_change():
    # the episode ending at exactly step 1000 ran in the old layout (step 1001 meets the
    # new one), so the first goal after the change is the one at step 1040
    df = _episodes([990, BLOCKING_SWITCH, 1040, 1100], [True, True, True, False],
                   agent="dyna-q+", bonus="planning", seed=0)
    scores = seed_scores(df, BLOCKING_SWITCH, first_layout_value(BLOCKING))
    assert scores.set_index("label").loc[DQ_PLUS, "steps_to_next_goal"] == 40


def test_fig84_names_the_companion_settings_and_reads_ours_from_the_config(monkeypatch):
    source, k, kappa = fig8_4.COMPANION
    monkeypatch.setattr(common, "PLANNING_STEPS", 7)
    claim, ours = fig8_4._settings_row(fig8_4.BLOCKING)
    assert f"k = {k} planning steps and κ = {kappa:g}" in claim and "not the book" in claim
    assert f"k = 7 for every agent and κ = {KAPPA:g} for Dyna-Q+" in ours


def test_seed_table_labels_the_episodes_each_seed_ran():
    # k = 0 configured 500 episodes; one seed ran them, the other was doubled to 1000
    df = pd.concat([pd.DataFrame({"planning_steps": k, "seed": seed, "episodes": budget,
                                  "episode": range(1, run + 1)})
                    for k, seed, budget, run in ((0, 0, 500, 500), (0, 1, 500, 1000),
                                                 (5, 0, 400, 400), (5, 1, 400, 400))])
    assert seed_table.episodes_run(df) == {0: "500–1000", 5: "400"}


def _hurt_scores(goals_at_k0: float) -> pd.DataFrame:
    """A planning-hurts scores frame of two seeds: the shortcut maze's Dyna-Q reached the
    goal ``goals_at_k0`` times at k = 0 by the change, 100 + k at k > 0."""
    rows = []
    for env in (SHORTCUT, BLOCKING, planning_hurts.CLIFF):
        labels = ((planning_hurts.STALE, planning_hurts.PLUS) if env != planning_hurts.CLIFF
                  else (planning_hurts.STALE,))
        for label in labels:
            for k in planning_hurts.KS:
                for seed in (0, 1):
                    rows.append({"env": env, "label": label, "k": k, "seed": seed,
                                 "value_error": 0.1 * (1 + k), "policy_value": 1 - 0.01 * k,
                                 "v_star": 1.0, "reward": 10.0 + k, "optimal": False,
                                 "beats_old": k == 0, "alpha": 1.0,
                                 "goals_before": (goals_at_k0 if k == 0 else 100 + k)
                                 + seed})
    return pd.DataFrame(rows)


def test_planning_hurts_states_the_goals_reached_before_the_shortcut_opens():
    text = " ".join(planning_hurts._conclusions(_hurt_scores(4.5)))
    assert (f"reached by step {SHORTCUT_SWITCH}, when the shortcut opens (mean over seeds): "
            "5.0 at k = 0, 105.5 at k = 5, 150.5 at k = 50") in text
    assert "(α = 1) has barely learned the first layout and is still exploring" in text


def test_planning_hurts_says_when_k0_is_not_still_exploring():
    text = " ".join(planning_hurts._conclusions(_hurt_scores(300)))
    assert "300.5 at k = 0" in text and "not confounded by unfinished exploration" in text
    assert "still exploring" not in text


def test_planning_hurts_counts_the_goals_of_the_first_layout_only():
    # goals at steps 1500 and 3000 are in the first layout; 3010 is after the change
    df = _episodes([1500, SHORTCUT_SWITCH, 3010, 6000], [True, True, True, False],
                   env=SHORTCUT, agent="dyna-q", model="deterministic", backup="sample",
                   planning_steps=0, seed=0, alpha=1.0, value_error=0.0)
    scores = planning_hurts.seed_scores(df)
    assert scores["goals_before"].tolist() == [2] and scores["alpha"].tolist() == [1.0]
    assert scores["reward"].tolist() == [1.0]


def test_example84_names_the_companion_settings_and_reads_ours_from_the_results():
    source, alpha, theta = example8_4.COMPANION
    df = pd.DataFrame({"agent": ["prioritized-sweeping", "dyna-q"], "alpha": [0.25, 0.25],
                       "theta": [1e-7, 1e-4]})  # Dyna-Q's θ is unused: not reported
    text = example8_4.settings_text(df)
    assert f"uses α = {alpha:g} for both agents and θ = {theta:g}" in text
    assert "this run uses α = 0.25 and θ = 1e-07." in text
