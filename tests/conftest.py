"""Fixtures shared by the tests of every package."""

import pytest


@pytest.fixture(scope="session")
def mixed_results(tmp_path_factory):
    """A results directory of configs that differ in every way a frame of them all unifies:
    Dyna-Q, Q-learning (no k), Dyna-Q+ (κ), a counts model of two budgets (a common
    horizon) and a run of real steps (no episode count); 3 seeds, a few episodes."""
    from dynaq import Experiment, RunConfig, execute

    runs = (RunConfig(agent="dyna-q", planning_steps=3, episodes=4),
            RunConfig(agent="q-learning", episodes=4),
            RunConfig(agent="dyna-q+", planning_steps=3, episodes=4, kappa=0.01),
            RunConfig(agent="dyna-q", planning_steps=1, episodes=5, model="counts"),
            RunConfig(agent="dyna-q", planning_steps=4, episodes=4, model="counts"),
            RunConfig(agent="dyna-q", planning_steps=2, total_steps=300, episodes=None))
    out = tmp_path_factory.mktemp("mixed")
    execute(Experiment("mixed", runs, 3), out, quiet=True)
    return out


@pytest.fixture
def forbid_whole_frame(monkeypatch):
    """A function that makes a read of every stored row in one frame (load_results) fail
    from then on, wherever it is looked up: for a test that a command reads the results
    config by config (after it has read them whole, to compare)."""
    from dynaq.analysis import compare, html
    from dynaq.experiments import store

    def whole(_):
        raise AssertionError("load_results read every row at once")

    def forbid():
        for module in (store, compare, html):
            monkeypatch.setattr(module, "load_results", whole)

    return forbid
