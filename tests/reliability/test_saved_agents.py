"""Class 6 of the battery: a saved agent is sized before it is read or built.

One good agent of each kind is saved once (a tabular Dyna-Q on FrozenLake, a deep DQN when
torch is installed); each case copies it, damages one thing, and loads it in a subprocess
whose address space is capped a little above what its imports took, so that a loader that
trusts a size fails the test with a MemoryError (or a timeout) instead of exhausting the
machine. Every damage must raise one ConfigError line naming the file, fast and without
growing the process. A representative subset goes through the real ``dynaq evaluate``.
"""

import hashlib
import io
import json
import os
import shutil
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from battery import assert_cli_error, cli, python

from dynaq import DynaQ, DynaQConfig
from dynaq.agents import run_episodes
from dynaq.saving import (
    DEEP_FILE,
    MAX_DATA_BYTES,
    META_FILE,
    TABULAR_FILE,
    save_agent,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="caps memory through /proc and RLIMIT_AS")

HEADROOM = 2**30
"""Address space a load may add to what its process had after the imports: a good load
needs far less, and no damaged save may get near it."""
MAX_GROWTH = 2**27
"""Most a refused load may grow the process's peak resident memory."""
MAX_SECONDS = 5.0
"""Longest a refused load may take (it reads headers only)."""


@dataclass(frozen=True)
class Damage:
    """One way to damage a saved agent, and the words its one-line error must contain."""

    kind: str
    """``tabular`` or ``deep``: which good save it damages."""
    damage: Callable[[Path], None]
    """Changes the copied save's directory in place."""
    named: tuple[str, ...]
    torch: bool = False
    """Whether the load gets as far as torch, which the subprocess then imports before it
    is capped (torch's import alone maps about half a GiB)."""


# -- damages ------------------------------------------------------------------------------
def change_meta(**changes: Any) -> Callable[[Path], None]:
    """A damage that updates agent.json: ``shape`` and ``config`` keys are merged into
    those dicts, the others replace top-level keys."""
    def damage(path: Path) -> None:
        meta = json.loads((path / META_FILE).read_text())
        for key, value in changes.items():
            if key in ("shape", "config"):
                meta[key].update(value)
            else:
                meta[key] = value
        (path / META_FILE).write_text(json.dumps(meta))
    return damage


def replace_data(write: Callable[[Path], None]) -> Callable[[Path], None]:
    """A damage that rewrites the data file with ``write(path_of_data)`` and then updates
    the checksum, so that the load gets past it to the damage itself."""
    def damage(path: Path) -> None:
        meta = json.loads((path / META_FILE).read_text())
        data = path / meta["data"]["file"]
        write(data)
        meta["data"]["sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
        (path / META_FILE).write_text(json.dumps(meta))
    return damage


def npy_in_place(data: Path) -> None:
    with open(data, "wb") as f:
        np.save(f, np.zeros((16, 4)))


def npz_header_claims(shape: tuple[int, ...]) -> Callable[[Path], None]:
    """An npz of one tiny ``Q.npy`` member whose header claims ``shape`` of float64."""
    def write(data: Path) -> None:
        member = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            member, {"descr": "<f8", "fortran_order": False, "shape": shape})
        member.write(bytes(16))
        with zipfile.ZipFile(data, "w") as zf:
            zf.writestr("Q.npy", member.getvalue())
    return write


def compressed(data: Path) -> None:
    with np.load(data) as npz:
        arrays = dict(npz)
    with open(data, "wb") as f:
        np.savez_compressed(f, **arrays)


def safetensors_header_claims(shape: list[int]) -> Callable[[Path], None]:
    """The same weights under a header whose first tensor claims ``shape``."""
    def write(data: Path) -> None:
        raw = data.read_bytes()
        n = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8:8 + n])
        header[next(k for k in header if k != "__metadata__")]["shape"] = shape
        text = json.dumps(header).encode()
        data.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + n:])
    return write


def on_file(name: str, change: Callable[[Path], None]) -> Callable[[Path], None]:
    """A damage that does ``change(path_of_file)`` to the file called ``name``, or to the
    data file for ``data``."""
    def damage(path: Path) -> None:
        meta = json.loads((path / META_FILE).read_text())
        change(path / (meta["data"]["file"] if name == "data" else name))
    return damage


def link_to_dev_zero(file: Path) -> None:
    file.unlink()
    file.symlink_to("/dev/zero")


def fifo(file: Path) -> None:
    file.unlink()
    os.mkfifo(file)


def sparse(size: int) -> Callable[[Path], None]:
    def grow(file: Path) -> None:
        os.truncate(file, size)
    return grow


def nested_json(file: Path) -> None:
    file.write_text("[" * 100_000 + "]" * 100_000)


DAMAGES = {
    "npy-in-place-of-npz": Damage("tabular", replace_data(npy_in_place),
                                  (TABULAR_FILE, "not a readable npz")),
    "npz-header-claims-10**12x4": Damage("tabular", replace_data(npz_header_claims((10**12, 4))),
                                         (TABULAR_FILE, "Q.npy", "(1000000000000, 4)")),
    "npz-compressed": Damage("tabular", replace_data(compressed), (TABULAR_FILE, "uncompressed")),
    "n_states-10**15": Damage("tabular", change_meta(shape={"n_states": 10**15}),
                              (META_FILE, "n_states", "MAX_CELLS")),
    "states-x-actions-over-bound": Damage("tabular", change_meta(shape={"n_states": 2**27}),
                                          (META_FILE, "n_states × n_actions", "MAX_CELLS")),
    "n_states-more-than-the-file": Damage("tabular", change_meta(shape={"n_states": 10**7}),
                                          (TABULAR_FILE, "'Q'", "(10000000, 4)")),
    "json-nested-100000-deep": Damage("tabular", on_file(META_FILE, nested_json),
                                      (META_FILE, "nests too deep")),
    "json-of-10-GiB": Damage("tabular", on_file(META_FILE, sparse(10 * 2**30)),
                             (META_FILE, "10_737_418_240 bytes")),
    "json-links-to-dev-zero": Damage("tabular", on_file(META_FILE, link_to_dev_zero),
                                     (META_FILE, "not a regular file but a character device")),
    "npz-links-to-dev-zero": Damage("tabular", on_file("data", link_to_dev_zero),
                                    (TABULAR_FILE, "not a regular file but a character device")),
    "npz-is-a-fifo": Damage("tabular", on_file("data", fifo),
                            (TABULAR_FILE, "not a regular file but a FIFO")),
    "npz-over-the-bound": Damage("tabular", on_file("data", sparse(MAX_DATA_BYTES + 1)),
                                 (TABULAR_FILE, f"{MAX_DATA_BYTES + 1:_} bytes")),
    "hidden-10**9": Damage("deep", change_meta(config={"hidden": [10**9]}),
                           (META_FILE, "hidden")),
    "hidden-60000x60000": Damage("deep", change_meta(config={"hidden": [60_000, 60_000]}),
                                 (DEEP_FILE, "hidden (60000, 60000)"), torch=True),
    "obs_dim-10**9": Damage("deep", change_meta(shape={"obs_dim": 10**9}),
                            (META_FILE, "obs_dim", "MAX_OBS_DIM")),
    "obs_dim-more-than-the-file": Damage("deep", change_meta(shape={"obs_dim": 10**6}),
                                         (DEEP_FILE, "obs_dim 1000000"), torch=True),
    "dyna-dqn-model-60000x60000": Damage(
        "deep", change_meta(agent="dyna-dqn", config={"planning_steps": 2,
                                                      "model_hidden": [60_000, 60_000]}),
        (DEEP_FILE, "model_hidden (60000, 60000)"), torch=True),
    "safetensors-header-claims-10**12x4": Damage(
        "deep", replace_data(safetensors_header_claims([10**12, 4])),
        (DEEP_FILE, "not a readable safetensors file"), torch=True),
    "buffer-of-10**9": Damage("deep", change_meta(config={"buffer_capacity": 10**9}),
                              (DEEP_FILE, "may need up to about", "of memory"), torch=True),
    "safetensors-links-to-dev-zero": Damage("deep", on_file("data", link_to_dev_zero),
                                            (DEEP_FILE, "not a regular file")),
}
CLI_DAMAGES = ["npy-in-place-of-npz", "npz-header-claims-10**12x4", "n_states-10**15",
               "json-nested-100000-deep"]
"""Damages that fail fast even where a check is missing (no unbounded read, an allocation
too large to be attempted), so that the real command needs no memory cap."""


# -- good saves and the capped loader -------------------------------------------------------
@pytest.fixture(scope="module")
def saves(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One good save of each kind, by kind (deep only when torch is installed)."""
    root = tmp_path_factory.mktemp("good")
    env = gym.make("FrozenLake-v1")
    agent = DynaQ.for_env(env, DynaQConfig(planning_steps=5), seed=0)
    list(run_episodes(agent, env, total_steps=200, seed=0))
    out = {"tabular": save_agent(agent, root / "tabular")}
    try:
        import torch
    except ImportError:
        return out
    from dynaq.deep import DQN, DeepConfig

    torch.set_num_threads(1)
    deep = DQN(4, 2, DeepConfig(hidden=(16,), buffer_capacity=500), seed=0)
    out["deep"] = save_agent(deep, root / "deep")
    return out


def saved(saves: dict[str, Path], kind: str, tmp_path: Path) -> Path:
    """A copy of the good save of ``kind`` to damage."""
    if kind not in saves:
        pytest.importorskip("torch")
    return Path(shutil.copytree(saves[kind], tmp_path / kind))


def capped_load(path: Path, torch: bool) -> dict[str, Any]:
    """``load_agent(path)`` in a subprocess capped at its imports' address space plus
    :data:`HEADROOM`.

    Args:
        path: The saved agent.
        torch: Import torch before the cap (see :attr:`Damage.torch`).

    Returns:
        ``error`` (the name of what it raised, None if nothing), ``message``, ``seconds``
        and ``growth`` (bytes it added to the peak resident memory).
    """
    imports = ("import torch; torch.set_num_threads(1); import safetensors.torch, "
               "dynaq.deep.run" if torch else "")
    outcome = python(f"""
        import json, resource, time
        {imports}
        from dynaq.saving import load_agent

        with open("/proc/self/status") as status:
            vm = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = vm * 1024 + {HEADROOM}
        resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY
                                                else min(cap, hard), hard))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        try:
            load_agent({str(path)!r}, device="cpu")
            error, message = None, ""
        except BaseException as err:
            error, message = type(err).__name__, str(err)
        print(json.dumps({{"error": error, "message": message,
                          "seconds": time.perf_counter() - start,
                          "growth": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                     - rss) * 1024}}))
    """, cwd=path.parent, timeout=60)
    assert outcome.rc == 0, (outcome.rc, outcome.err[-2000:])
    return json.loads(outcome.out.splitlines()[-1])


# -- tests ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["tabular", "deep"])
def test_good_saves_load_under_the_cap(saves, tmp_path, kind):
    result = capped_load(saved(saves, kind, tmp_path), torch=kind == "deep")
    assert result["error"] is None, result


@pytest.mark.parametrize("case", DAMAGES)
def test_a_damaged_save_is_refused_before_it_is_sized_up(saves, tmp_path, case):
    damage = DAMAGES[case]
    path = saved(saves, damage.kind, tmp_path)
    damage.damage(path)
    result = capped_load(path, damage.torch)
    assert result["error"] == "ConfigError", result
    message = result["message"]
    assert "\n" not in message, message
    assert message.startswith(f"saved agent {path}: "), message
    for text in damage.named:
        assert text in message, (text, message)
    assert result["seconds"] < MAX_SECONDS, result
    assert result["growth"] < MAX_GROWTH, result


@pytest.mark.parametrize("case", CLI_DAMAGES)
def test_dynaq_evaluate_refuses_a_damaged_save_in_one_line(saves, tmp_path, case):
    damage = DAMAGES[case]
    path = saved(saves, damage.kind, tmp_path)
    damage.damage(path)
    outcome = cli("evaluate", path, "--env", "FrozenLake-v1", "--episodes", "1",
                  cwd=tmp_path, timeout=60)
    assert_cli_error(outcome, str(path), *damage.named)
