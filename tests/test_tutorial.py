"""docs/tutorial.ipynb runs from top to bottom in a fresh kernel, and its findings hold.

The notebook is executed with nbclient (the ``python3`` kernel of ipykernel, started with
this interpreter), so a change to the library that breaks it fails here rather than in a
reader's hands. One cell is appended that reports the notebook's own computed results as
JSON; the assertions are on those, with margins that 10 seeds keep.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"
CELL_TIMEOUT_S = 120

REPORT = """
import json
print(json.dumps({
    "identical": [bool(np.array_equal(compiled[k], by_hand[k])) for k in by_hand],
    "episode_2": {str(k): v for k, v in episode_2.items()},
    "valued": {str(k): v for k, v in valued.items()},
    "cliff": {f"{m} {k}": v for (m, k), v in err.items()},
    "reward": cumulative.to_dict(),
    "replay_closer": closer,
    "out_removed": not OUT.exists(),
}))
"""


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    cwd = tmp_path_factory.mktemp("tutorial")
    NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    assert not any(cwd.iterdir()), "the notebook wrote into its working directory"
    (text,) = [o["text"] for o in nb.cells[-1].outputs if o.get("name") == "stdout"]
    return json.loads(text)


def test_committed_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_step_api_is_the_compiled_runner(findings: dict) -> None:
    assert findings["identical"] == [True, True]


def test_planning_shortens_the_second_episode(findings: dict) -> None:
    steps = {int(k): v for k, v in findings["episode_2"].items()}
    assert steps[50] < steps[5] < steps[0]
    assert steps[50] < 0.2 * steps[0]


def test_planning_spreads_value(findings: dict) -> None:
    assert findings["valued"]["50"] > 3 * findings["valued"]["0"]


def test_wrong_model_plans_worse(findings: dict) -> None:
    cliff = findings["cliff"]
    assert cliff["deterministic 50"] > 1.5 * cliff["counts 50"]
    assert cliff["deterministic 50"] > cliff["deterministic 5"]


def test_dyna_q_plus_adapts(findings: dict) -> None:
    assert findings["reward"]["dyna-q+"] > 1.3 * findings["reward"]["dyna-q"]


def test_replay_tracks_counts_in_a_stochastic_world(findings: dict) -> None:
    assert findings["replay_closer"] == "dyna-q, counts model"


def test_cleans_up(findings: dict) -> None:
    assert findings["out_removed"]
