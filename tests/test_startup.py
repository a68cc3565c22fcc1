"""What starting dynaq imports: ``import dynaq``, ``dynaq --help`` and ``dynaq reproduce
--list`` none of the heavy libraries, ``dynaq ls`` none of those it does not use, a run
config and the agents' configs no kernels; the public names, the kernels, the numba cache
stamp and the Gymnasium ids still arrive when first needed.

Each check runs in a fresh interpreter, since this one has imported everything already.
Speed is measured in ``benchmarks/bench_startup.py``, never here.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import dynaq
from dynaq.cli import main

HEAVY = ("pandas", "matplotlib", "torch", "scipy.stats", "tqdm", "pyarrow")
"""Libraries no start-up path imports."""
LATER = ("numba", "gymnasium", "numpy")
"""Libraries ``import dynaq`` and ``dynaq --help`` leave to the commands and names needing them."""


def _imported(code: str) -> list[str]:
    """The modules among HEAVY and LATER that ``code`` leaves imported, in a fresh process."""
    script = (f"import json, sys\n{code}\n"
              f"print(json.dumps([m for m in {[*HEAVY, *LATER]!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_import_dynaq_imports_no_heavy_library_and_no_numba():
    assert _imported("import dynaq") == []


def test_dynaq_help_imports_no_heavy_library_and_no_numba():
    code = ("from dynaq.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0")
    assert _imported(code) == []


def test_the_driver_leaves_pandas_and_plotting_to_its_outputs():
    """The driver imports its outputs (pandas, the analysis, matplotlib) once the cells are
    stored, not before they run."""
    imported = _imported("import dynaq.experiments.driver")
    assert not set(imported) & {"pandas", "matplotlib"}


def test_dynaq_ls_imports_no_heavy_library_kernels_or_gymnasium(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", "--env", "dynaq/DynaMaze-v0", "--planning-steps", "0", "--seeds", "1",
                 "--episodes", "2", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    code = f"from dynaq.cli import main\nassert main(['ls', {str(out)!r}]) == 0"
    assert not set(_imported(code)) & {*HEAVY, "numba", "gymnasium"}


LIGHT = {
    # what dynaq ls reads besides the store: run configs, their keys, rows and settings
    "run configs": (
        "from dynaq.experiments.config import RunConfig, cell_key, known_settings, uses\n"
        "run = RunConfig(env='dynaq/DynaMaze-v0', agent='dyna-q', planning_steps=5, "
        "episodes=3, env_kwargs={'slip': 0.1})\n"
        "cell_key(run, 0), run.row(), known_settings()['kappa'].help()\n"
        "assert not uses('dyna-q', 'kappa')"),
    "agent and model configs and registries": (
        "from dynaq.agents import AGENTS, DynaQConfig, PrioritizedSweepingConfig, "
        "resolve_agent\n"
        "from dynaq.agents.registry import default_planning_steps\n"
        "from dynaq.models import MODELS\n"
        "DynaQConfig(model='counts', backup='expected', sampling='latest')\n"
        "PrioritizedSweepingConfig(model='counts')\n"
        "assert resolve_agent('replay') is AGENTS['replay']\n"
        "assert default_planning_steps('dyna-q+') == 50\n"
        "assert MODELS['counts'].BACKUPS == ('sample', 'expected')"),
}
"""Code that needs no kernels, Gymnasium nor pandas, by what it exercises."""


@pytest.mark.parametrize("code", LIGHT.values(), ids=LIGHT.keys())
def test_configs_and_registries_import_no_kernels_gymnasium_or_pandas(code):
    assert not set(_imported(code)) & {*HEAVY, "numba", "gymnasium"}


def test_building_an_agent_loads_its_kernels_then():
    code = ("import sys\nfrom dynaq.agents import DynaQ, DynaQConfig\n"
            "assert 'numba' not in sys.modules\n"
            "agent = DynaQ(3, 2, DynaQConfig(planning_steps=2))\n"
            "from dynaq.agents import AgentKernels\n"
            "from dynaq.agents.base import AgentKernels as same\n"
            "assert isinstance(DynaQ.kernels(agent.config), AgentKernels) and same is AgentKernels")
    assert "numba" in _imported(code)


def test_the_sampling_indices_the_kernels_read_name_the_configs_samplings():
    from dynaq.kernels import SAMPLINGS, dyna_q

    assert [SAMPLINGS[i] for i in (dyna_q.UNIFORM, dyna_q.LATEST, dyna_q.TRAJECTORY)] == [
        "uniform", "latest", "trajectory"]


def test_dynaq_reproduce_list_imports_no_preset_nor_anything_heavy():
    code = ("import contextlib, io, sys\nfrom dynaq.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main(['reproduce', '--list']) == 0\n"
            "assert not [m for m in sys.modules if m.startswith('dynaq.experiments.presets.')"
            " and m != 'dynaq.experiments.presets.base']")
    assert _imported(code) == []


@pytest.mark.parametrize("name", dynaq.__all__)
def test_every_public_name_loads_on_first_use_and_is_listed(name):
    assert name in dir(dynaq)
    assert getattr(dynaq, name) is not None


def test_the_names_type_checkers_see_are_those_loaded_on_first_use():
    tree = ast.parse(Path(dynaq.__file__).read_text(encoding="utf-8"))
    block, = (node for node in tree.body if isinstance(node, ast.If)
              and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    seen = {alias.name: stmt.module for stmt in block.body
            if isinstance(stmt, ast.ImportFrom) for alias in stmt.names}
    assert seen.pop("envs") == "dynaq"
    assert seen == dynaq._EXPORTS
    assert set(dynaq.__all__) == {*seen, "envs", "__version__", "ConfigError",
                                  "StochasticWorldWarning"}


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        dynaq.Nope  # noqa: B018


@pytest.mark.parametrize("order", ["import dynaq\nimport gymnasium as gym",
                                   "import gymnasium as gym\nimport dynaq"])
def test_the_gymnasium_ids_are_registered_whichever_is_imported_first(order):
    # the script's own asserts fail the subprocess, so the run
    assert "gymnasium" in _imported(f"{order}\nassert 'dynaq/DynaMaze-v0' in gym.registry\n"
                                    "assert 'dynaq/GridWorld-v0' in gym.registry")


STAMPED = """
from dynaq import _cache
from numba.core.registry import CPUDispatcher
kernels = [v for v in vars(module).values() if isinstance(v, CPUDispatcher)]
assert kernels and all(isinstance(k._cache._impl._locator, _cache._PackageStamp)
                       for k in kernels)
"""


@pytest.mark.parametrize("first", ["import dynaq.kernels.heap as module",
                                   "import numba\nimport dynaq.kernels.values as module",
                                   "import dynaq.rng as module"])
def test_kernels_are_stamped_by_dynaq_whatever_is_imported_first(first):
    assert "numba" in _imported(first + STAMPED)


def test_failed_cells_still_exit_1_though_main_imports_the_driver_late(tmp_path, monkeypatch,
                                                                         capsys):
    from dynaq.experiments import backends

    real = backends.run_cells

    def flaky(run, seeds, progress=None):
        if 1 in seeds:
            raise RuntimeError("boom")
        return real(run, seeds, progress)

    monkeypatch.setattr(backends, "run_cells", flaky)
    assert main(["run", "--env", "dynaq/DynaMaze-v0", "--planning-steps", "0", "--seeds", "2",
                 "--episodes", "2", "--chunk", "1", "--out", str(tmp_path / "res"),
                 "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "dynaq: 1 cell(s) failed" in err and "(seed 1): RuntimeError: boom" in err


def test_a_run_listens_for_compiling_and_ls_and_listing_do_not(tmp_path, monkeypatch, capsys):
    import contextlib

    from numba.core import event

    from dynaq import cli

    installed = []
    monkeypatch.setattr(event, "install_listener", lambda kind, listener: (
        installed.append((kind, listener)), contextlib.nullcontext())[1])
    out = str(tmp_path / "res")
    assert main(["run", "--env", "dynaq/DynaMaze-v0", "--planning-steps", "0", "--seeds", "1",
                 "--episodes", "2", "--out", out]) == 0
    notices = [kind for kind, listener in installed if isinstance(listener, cli.CompileNotice)]
    assert notices == ["numba:compile"]
    installed.clear()
    assert main(["ls", out]) == 0
    assert main(["reproduce", "--list"]) == 0
    assert installed == []
