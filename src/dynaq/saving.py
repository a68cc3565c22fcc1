"""Save agents to a directory and load them back; never with pickle.

A saved agent is a directory of two files:

- ``agent.json``: format and version, the agent's name, its config dataclass as a dict, its
  sizes, integer counters, the package versions, the SHA-256 of the data file, and the env
  it learned in (``env``, its Gymnasium id, and ``env_kwargs``; null where unknown);
- the data: ``arrays.npz`` (tabular agents; ``numpy.load(allow_pickle=False)``) or
  ``weights.safetensors`` (deep agents; torch tensors through safetensors).

The data file is written first and ``agent.json`` last, each atomically, so a reader never
sees half an agent. Loading checks the checksum, then every array's name, shape and dtype
against a freshly built agent of the saved config, so a truncated, corrupted or mismatched
save fails with one :class:`~dynaq.errors.ConfigError` line instead of a bad agent.

Tabular agents plug in through :class:`TabularCodec` (their config dataclass and how to get
and put back their arrays); :func:`register_tabular` adds one. Deep agents save their
networks (``state_tensors``) and counters, not their replay buffers, optimizer moments or
random streams: a loaded deep agent acts exactly as saved and can train on, from a fresh
buffer.

Loading sizes everything before it reads or builds it, so a damaged save fails with one
ConfigError line instead of a hang, a huge allocation or a traceback:

1. both files must be regular files (a device such as ``/dev/zero`` or a FIFO could be read
   forever), of at most :data:`MAX_META_BYTES` and :data:`MAX_DATA_BYTES`; ``agent.json``
   must parse without exhausting the recursion limit;
2. the sizes in ``agent.json`` must be within their bounds: at most :data:`MAX_CELLS`
   states × actions for a tabular agent, :data:`MAX_OBS_DIM` for a deep agent's
   ``obs_dim`` and ``n_actions``;
3. every array must be backed by the data file's bytes: the npz members stored
   uncompressed (as ``numpy.savez`` writes them), each ``.npy`` header's shape × itemsize
   equal to its member's size and all members together within the file; a safetensors
   header is checked against its buffer by safetensors itself. Reading the data then
   allocates no more than the file holds;
4. the sizes in ``agent.json`` must match the data before an agent is built: a tabular
   agent's ``Q`` is ``[n_states, n_actions]``; a deep agent's networks of the saved
   ``obs_dim``, ``n_actions`` and layer widths have no more weights than the file holds
   values. Building an agent then allocates about what the file holds.

=====================  ===========  ==============================================
bound                  value        why
=====================  ===========  ==============================================
``MAX_META_BYTES``     1 MiB        an ``agent.json`` is about 1 KiB
``MAX_DATA_BYTES``     64 GiB       above the data of a fresh tabular agent of
                                    ``MAX_CELLS`` (16 to 160 bytes a cell)
``MAX_CELLS``          2**28        ``Q`` alone is then 2 GiB of float64; state-action
                                    indices ``s·A + a`` stay far inside the int64 of
                                    the kernels (and inside int32)
``MAX_OBS_DIM``        2**20        a flattened 1024 × 1024 image; ``n_actions`` too
=====================  ===========  ==============================================
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import stat
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, is_dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np
from numba.experimental.structref import StructRefProxy
from numba.typed import List

from dynaq.agents import AGENTS, AgentKernels
from dynaq.checks import check_count, check_number
from dynaq.envs.make import canonical_kwargs
from dynaq.errors import ConfigError
from dynaq.limits import check_memory

FORMAT = "dynaq-agent"
FORMAT_VERSION = 1
META_FILE = "agent.json"
TABULAR_FILE = "arrays.npz"
DEEP_FILE = "weights.safetensors"
MAX_META_BYTES = 2**20
"""Largest ``agent.json`` read."""
MAX_DATA_BYTES = 2**36
"""Largest data file read."""
MAX_CELLS = 2**28
"""Most states × actions of a saved tabular agent."""
MAX_OBS_DIM = 2**20
"""Largest ``obs_dim``, and most actions, of a saved deep agent."""


class _Leaf(NamedTuple):
    """One saved piece of an agent's state: ``owner.attr`` (or its ``index``-th item)."""

    key: str
    owner: Any
    attr: str
    index: int | None
    kind: str
    """``array`` (copied in place); ``scalar`` (int, float or bool); ``ints`` (None or a
    tuple of ints: an int64 vector, empty for None); ``numbers`` (a tuple of numbers: a
    float64 vector); ``list`` (a list of arrays or of tuples of arrays, e.g. a numba typed
    List that a kernel regrows: one array per item part, ``key.i.j``); ``struct`` (a numba
    structref proxy of arrays that a kernel regrows, e.g. a counts model's outcome pool: one
    array per field, ``key.field``, restored as a new proxy of the saved sizes)."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number)  # bool is an int


def _kind(value: Any) -> str | None:
    """How a value is saved (None: it is not part of the learned state)."""
    if isinstance(value, np.ndarray):
        return "array"
    if isinstance(value, tuple) and hasattr(value, "_fields") and all(map(_is_number, value)):
        return None  # an agent's hyperparameters (hp), rebuilt from the config
    if _is_number(value):
        return "scalar"
    if value is None or (isinstance(value, tuple) and value and all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) for v in value)):
        return "ints"
    if isinstance(value, tuple) and value and all(_is_number(v) for v in value):
        return "numbers"
    if isinstance(value, tuple) and value and all(isinstance(v, np.ndarray | StructRefProxy)
                                                  for v in value):
        return "arrays"
    if isinstance(value, list | List):
        return "list"
    if isinstance(value, StructRefProxy):
        return "struct"
    if isinstance(value, str | AgentKernels) or callable(value) or is_dataclass(value):
        return None  # rebuilt from the config
    return "object" if hasattr(value, "__dict__") else "unknown"


def _leaves(obj: Any, prefix: str = "") -> Iterator[_Leaf]:
    """The learned state among ``obj``'s attributes, recursing into objects (models).

    Raises:
        ConfigError: For an attribute of a kind this format cannot hold.
    """
    for attr, value in vars(obj).items():
        key, kind = prefix + attr, _kind(value)
        if kind == "arrays":
            yield from (_Leaf(f"{key}.{i}", obj, attr, i, _kind(v)) for i, v in enumerate(value))
        elif kind == "object":
            yield from _leaves(value, f"{key}.")
        elif kind == "unknown":
            raise ConfigError(f"cannot save {key} ({type(value).__name__}): not an array, a "
                              "number, or a tuple or list of them; register a TabularCodec")
        elif kind is not None:
            yield _Leaf(key, obj, attr, None, kind)


def _value(leaf: _Leaf) -> Any:
    value = getattr(leaf.owner, leaf.attr)
    return value if leaf.index is None else value[leaf.index]


def _encode(leaf: _Leaf) -> dict[str, np.ndarray]:
    value = _value(leaf)
    if leaf.kind == "ints":
        return {leaf.key: np.array(value or (), np.int64)}
    if leaf.kind == "numbers":
        return {leaf.key: np.array(value, np.float64)}
    if leaf.kind == "struct":
        return {f"{leaf.key}.{name}": np.asarray(getattr(value, name))
                for name in _struct_fields(value)}
    if leaf.kind == "list":
        return {f"{leaf.key}.{i}" + (f".{j}" if isinstance(item, tuple) else ""): np.asarray(part)
                for i, item in enumerate(value)
                for j, part in enumerate(item if isinstance(item, tuple) else (item,))}
    return {leaf.key: np.asarray(value)}


def state_arrays(agent: Any) -> dict[str, np.ndarray]:
    """An agent's learned state as named arrays: every attribute that is an array, a number,
    a tuple or list of them, or an object holding such (its model), but not its config."""
    return {k: v for leaf in _leaves(agent) for k, v in _encode(leaf).items()}


def state_spec(agent: Any) -> dict[str, tuple[tuple[int, ...] | None, Any]]:
    """``(shape, dtype)`` per name of :func:`state_arrays` (shape None: any); a list is one
    entry ``key.*`` of ``(None, None)``: any items of any shape."""
    spec: dict[str, tuple[tuple[int, ...] | None, Any]] = {}
    for leaf in _leaves(agent):
        if leaf.kind == "list":
            spec[f"{leaf.key}.*"] = (None, None)
            continue
        for key, array in _encode(leaf).items():
            spec[key] = (None if leaf.kind in ("ints", "struct") else array.shape, array.dtype)
    return spec


def restore_state(agent: Any, arrays: dict[str, np.ndarray]) -> None:
    """Put arrays from :func:`state_arrays` back into a fresh agent of the same config."""
    for leaf in _leaves(agent):
        value = _value(leaf)
        saved = arrays.get(leaf.key)
        if leaf.kind == "array":
            value[...] = saved
        elif leaf.kind == "scalar":
            setattr(leaf.owner, leaf.attr, type(value)(saved.item()))
        elif leaf.kind == "ints":
            setattr(leaf.owner, leaf.attr, tuple(int(x) for x in saved) or None)
        elif leaf.kind == "numbers":
            setattr(leaf.owner, leaf.attr, tuple(type(v)(x) for v, x in zip(
                value, saved.tolist(), strict=True)))
        elif leaf.kind == "struct" and leaf.index is None:
            setattr(leaf.owner, leaf.attr, _restore_struct(value, leaf.key, arrays))
        elif leaf.kind == "struct":  # an item of a tuple (a kernel's agent state)
            items = list(getattr(leaf.owner, leaf.attr))
            items[leaf.index] = _restore_struct(value, leaf.key, arrays)
            # a named tuple stays one: the kernels read its fields by name
            setattr(leaf.owner, leaf.attr, type(getattr(leaf.owner, leaf.attr))(*items))
        else:
            _restore_list(value, leaf.key, arrays)


def _struct_fields(proxy: StructRefProxy) -> list[str]:
    return list(proxy._type.field_dict)


def _restore_struct(fresh: StructRefProxy, key: str,
                    arrays: dict[str, np.ndarray]) -> StructRefProxy:
    """A new proxy like ``fresh`` holding the arrays saved under ``key.field``; each may be
    longer than the fresh one's (the kernel regrew it), never shorter nor of another
    row shape.

    Raises:
        ConfigError: If a saved field does not have that form.
    """
    fields = []
    for name in _struct_fields(fresh):
        want, got = getattr(fresh, name), arrays[f"{key}.{name}"]
        if got.ndim != want.ndim or got.shape[1:] != want.shape[1:] or len(got) < len(want):
            rows = "".join(f", {d}" for d in want.shape[1:])
            raise ConfigError(f"{key}.{name} has shape {got.shape}, the agent needs "
                              f"({len(want)} or more rows{rows})")
        fields.append(np.ascontiguousarray(got))
    return type(fresh)(*fields)


def _restore_list(target: Any, key: str, arrays: dict[str, np.ndarray]) -> None:
    """Refill ``target`` in place with the items saved under ``key.i[.j]``, each shaped
    like the fresh list's first item (array or tuple, same dtypes and dimensions).

    Raises:
        ConfigError: If the saved items do not have that form.
    """
    items: dict[int, dict[int, np.ndarray]] = {}
    for name, array in arrays.items():
        if name.startswith(key + "."):
            i, _, j = name[len(key) + 1:].partition(".")
            items.setdefault(int(i), {})[int(j or -1)] = array
    first = target[0] if len(target) else None
    form = [(p.dtype, p.ndim) for p in (first if isinstance(first, tuple) else (first,))
            if p is not None]
    rebuilt = [parts[-1] if -1 in parts else tuple(parts[j] for j in sorted(parts))
               for _, parts in sorted(items.items())]
    for item in rebuilt:
        got = [(p.dtype, p.ndim) for p in (item if isinstance(item, tuple) else (item,))]
        if form and got != form:
            raise ConfigError(f"{key} items have (dtype, ndim) {got}, the agent needs {form}")
    if form and not rebuilt:
        raise ConfigError(f"{key} has no items; the agent needs at least one")
    target.clear()
    for item in rebuilt:
        target.append(item)


@dataclass(frozen=True)
class TabularCodec:
    """How to save one tabular agent class; the defaults fit any agent whose learned state
    is arrays, scalars and tuples of them (see :func:`state_arrays`).

    Attributes:
        agent_cls: Built as ``agent_cls(n_states, n_actions, config)``.
        config_cls: The frozen config dataclass, rebuilt from its fields.
        arrays: The agent's learned state as named numpy arrays; ``Q`` (``[S, A]``) among
            them, the sizes are read from it.
        restore: Puts such arrays back into a fresh agent.
        spec: ``(shape, dtype)`` per name that a fresh agent expects (shape None: any).
    """

    agent_cls: type
    config_cls: type
    arrays: Callable[[Any], dict[str, np.ndarray]] = state_arrays
    restore: Callable[[Any, dict[str, np.ndarray]], None] = restore_state
    spec: Callable[[Any], dict[str, tuple[Any, Any]]] = state_spec


TABULAR: dict[str, TabularCodec] = {
    name: TabularCodec(cls, cls.Config) for name, cls in AGENTS.items()
    if hasattr(cls, "Config") and not hasattr(cls, "state_tensors")}
"""Tabular agents that can be saved, by agent name: every agent of ``dynaq.AGENTS`` that
names its config class (``Config``)."""


def register_tabular(name: str, codec: TabularCodec) -> None:
    """Make the tabular agent called ``name`` savable (e.g. ``dyna-q+``)."""
    TABULAR[name] = codec


def save_agent(agent: Any, path: str | Path, env: str | None = None,
               env_kwargs: Mapping[str, Any] | None = None) -> Path:
    """Save ``agent`` (a tabular agent of :data:`TABULAR` or a deep agent) into ``path``.

    Args:
        agent: The agent; its ``name`` picks how it is saved.
        path: A directory, created if missing; an agent saved there before is replaced.
        env: The Gymnasium id of the env it learned in, recorded so that
            :func:`~dynaq.experiments.evaluate.evaluate_agent` can make it (default: a
            deep agent's own ``env_id``; a tabular agent's none).
        env_kwargs: The keyword arguments that env was made with.

    Returns:
        The directory.

    Raises:
        ConfigError: For an agent of no known kind, or an ``env_kwargs`` too large to
            record (more than :data:`MAX_META_BYTES` with the rest of ``agent.json``).
    """
    path = Path(path)
    env = env if env is not None else getattr(agent, "env_id", None)
    if env is not None and not isinstance(env, str):
        raise ConfigError(f"env must be a Gymnasium id or None, got {env!r:.40}")
    kwargs = json.loads(canonical_kwargs(env_kwargs)) if env_kwargs else None
    name = getattr(agent, "name", type(agent).__name__)
    if name in TABULAR:
        arrays = {k: np.asarray(v) for k, v in TABULAR[name].arrays(agent).items()}
        data_file, shape = TABULAR_FILE, dict(zip(("n_states", "n_actions"), arrays["Q"].shape,
                                                  strict=True))
        counters: dict[str, int] = {}
        writer = _npz_writer(arrays)
    elif hasattr(agent, "state_tensors"):
        data_file, shape = DEEP_FILE, {"obs_dim": agent.obs_dim, "n_actions": agent.n_actions}
        counters = {c: int(getattr(agent, c)) for c in agent.COUNTERS}
        writer = _safetensors_writer(agent.state_tensors())
    else:
        raise ConfigError(f"cannot save agent {name!r}: savable agents are "
                          f"{', '.join([*TABULAR, 'dqn', 'dyna-dqn'])}")
    path.mkdir(parents=True, exist_ok=True)
    digest = _write_atomic(path / data_file, writer)
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "agent": name,
            "config": dataclasses.asdict(agent.config), "shape": shape,
            "seed": int(getattr(agent, "seed", 0)), "counters": counters,
            "data": {"file": data_file, "sha256": digest}, "versions": _versions(data_file)}
    meta["env"] = env  # a deep agent's known termination rule is the env's
    meta["env_kwargs"] = kwargs
    text = json.dumps(meta, indent=2).encode()
    if len(text) > MAX_META_BYTES:
        raise ConfigError(f"env_kwargs: too large to record with the agent ({len(text):_} "
                          f"bytes of {META_FILE}, at most {MAX_META_BYTES:_})")
    _write_atomic(path / META_FILE, lambda f: f.write(text))
    stale = path / (DEEP_FILE if data_file == TABULAR_FILE else TABULAR_FILE)
    stale.unlink(missing_ok=True)
    return path


def load_agent(path: str | Path, device: str | None = None) -> Any:
    """Load an agent saved by :func:`save_agent`, sizing it before anything is read or
    built (see the module's docstring).

    Args:
        path: The directory.
        device: For a deep agent, put it on this device instead of the saved one (tabular
            agents ignore it).

    Raises:
        ConfigError: One line naming the file, when the directory holds no agent or a
            truncated, corrupted, mismatched or oversized one.
    """
    path = Path(path)
    try:
        meta = _read_meta(path)
        data = path / meta["data"]["file"]
        with _open_regular(data, MAX_DATA_BYTES, "dynaq.saving.MAX_DATA_BYTES") as f:
            if _sha256(f) != meta["data"]["sha256"]:
                raise ConfigError(f"{data.name} does not match its checksum in {META_FILE} "
                                  "(truncated, corrupted or replaced); save the agent again")
            f.seek(0)
            if meta["agent"] in TABULAR:
                return _load_tabular(meta, f, data.name)
            return _load_deep(meta, f, data.name, device)
    except ConfigError as err:
        raise ConfigError(f"saved agent {path}: {err}") from None


def saved_env(path: str | Path) -> tuple[str | None, dict[str, Any] | None]:
    """The env a saved agent learned in, as :func:`save_agent` recorded it: its Gymnasium
    id (None if none was recorded) and keyword arguments (None for none).

    Raises:
        ConfigError: If the directory holds no agent, or records them in a wrong form.
    """
    path = Path(path)
    try:
        return _saved_env(_read_meta(path))
    except ConfigError as err:
        raise ConfigError(f"saved agent {path}: {err}") from None


def _saved_env(meta: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    env, kwargs = meta.get("env"), meta.get("env_kwargs")
    if env is not None and not isinstance(env, str):
        raise ConfigError(f"{META_FILE} env must be a Gymnasium id or null, got {env!r:.40}")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise ConfigError(f"{META_FILE} env_kwargs must be an object or null, got "
                          f"{kwargs!r:.40}")
    return env, kwargs


# -- loading ----------------------------------------------------------------------------
_FILE_KINDS = {"d": "a directory", "c": "a character device", "b": "a block device",
               "p": "a FIFO", "s": "a socket"}
"""What a non-regular file is, by the first letter of :func:`stat.filemode`."""


def _open_regular(path: Path, most: int, bound: str) -> BinaryIO:
    """``path`` open for reading, once it is known to be a regular file of at most ``most``
    bytes (the bound called ``bound``).

    Raises:
        FileNotFoundError: If there is no such file.
        ConfigError: If it cannot be opened, is not a regular file, or is larger.
    """
    try:
        # O_NONBLOCK: opening a FIFO would otherwise wait for a writer before it is refused
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ConfigError(f"cannot read {path.name}: {err.strerror}") from None
    f = os.fdopen(fd, "rb")
    info = os.fstat(fd)  # of what was opened, so a file swapped in since cannot slip by
    if not stat.S_ISREG(info.st_mode):
        f.close()
        kind = _FILE_KINDS.get(stat.filemode(info.st_mode)[0], "something else")
        raise ConfigError(f"{path.name} is not a regular file but {kind}")
    if info.st_size > most:
        f.close()
        raise ConfigError(f"{path.name} has {info.st_size:_} bytes, more than the {most:_} "
                          f"a saved agent's may have ({bound})")
    return f


def _sha256(f: BinaryIO) -> str:
    return hashlib.file_digest(f, "sha256").hexdigest()


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        with _open_regular(path / META_FILE, MAX_META_BYTES,
                           "dynaq.saving.MAX_META_BYTES") as f:
            text = f.read(MAX_META_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"no {META_FILE} (not a saved agent)") from None
    if len(text) > MAX_META_BYTES:  # it grew since it was sized
        raise ConfigError(f"{META_FILE} has more than the {MAX_META_BYTES:_} bytes a saved "
                          "agent's may have (dynaq.saving.MAX_META_BYTES)")
    try:
        meta = json.loads(text)
    except (UnicodeDecodeError, ValueError) as err:
        raise ConfigError(f"{META_FILE} is unreadable or not JSON ({type(err).__name__})") \
            from None
    except RecursionError:
        raise ConfigError(f"{META_FILE} nests too deep to be a saved agent's") from None
    expected = {"format": str, "version": int, "agent": str, "config": dict, "shape": dict,
                "seed": int, "counters": dict, "data": dict}
    for key, kind in expected.items():
        if not isinstance(meta, dict) or not isinstance(meta.get(key), kind):
            raise ConfigError(f"{META_FILE} lacks a valid {key!r}")
    if meta["format"] != FORMAT or meta["version"] != FORMAT_VERSION:
        raise ConfigError(f"format {meta['format']} v{meta['version']}, "
                          f"this dynaq reads {FORMAT} v{FORMAT_VERSION}")
    if meta["data"].get("file") not in (TABULAR_FILE, DEEP_FILE) or not isinstance(
            meta["data"].get("sha256"), str):
        raise ConfigError(f"{META_FILE} names no valid data file")
    return meta


def _build_config(config_cls: type, values: dict[str, Any]) -> Any:
    try:
        return config_cls(**values)
    except TypeError:
        allowed = ", ".join(f.name for f in dataclasses.fields(config_cls))
        raise ConfigError(f"{META_FILE} config has fields {', '.join(sorted(values))}; "
                          f"{config_cls.__name__} has {allowed}") from None
    except ConfigError as err:
        raise ConfigError(f"{META_FILE} config: {err}") from None


def _sizes(meta: dict[str, Any], names: tuple[str, str], most: int,
           bound: str) -> tuple[int, int]:
    """The sizes ``names`` of ``agent.json``'s shape: integers in ``[1, most]`` (the bound
    called ``bound``)."""
    sizes = tuple(meta["shape"].get(n) for n in names)
    for name, size in zip(names, sizes, strict=True):
        check_count(f"{META_FILE} shape {name}", size, 1)
        check_number(f"{META_FILE} shape {name}", size, 1, most, f"[1, {most:_}] ({bound})")
    return sizes


def _load_tabular(meta: dict[str, Any], f: BinaryIO, name: str) -> Any:
    codec = TABULAR[meta["agent"]]
    n_states, n_actions = _sizes(meta, ("n_states", "n_actions"), MAX_CELLS,
                                 "dynaq.saving.MAX_CELLS")
    check_number(f"{META_FILE} shape n_states × n_actions", n_states * n_actions, 1,
                 MAX_CELLS, f"[1, {MAX_CELLS:_}] (dynaq.saving.MAX_CELLS)")
    config = _build_config(codec.config_cls, meta["config"])
    arrays = _read_npz(f, name)
    q = arrays.get("Q")
    if q is None or q.shape != (n_states, n_actions):  # before the agent is built that size
        found = None if q is None else (q.shape, q.dtype)
        raise ConfigError(f"{name}: 'Q' has shape and dtype {found}, {META_FILE}'s n_states "
                          f"and n_actions need shape ({n_states}, {n_actions})")
    # Its buffers are sized by the config, which the arrays are checked against only after
    # it is built. A codec's class need not be a TabularAgent: one without an estimate has
    # Q's size only.
    estimate = getattr(codec.agent_cls, "memory_bytes", None)
    check_memory(estimate(config, n_states, n_actions) if estimate else 8 * n_states * n_actions,
                 f"loading {name}")
    agent = codec.agent_cls(n_states, n_actions, config)
    if "model.table" in arrays and "state.0" not in arrays:
        arrays = _dyna_q_model_arrays(arrays, agent)
    _check_same({k: (v.shape, v.dtype) for k, v in arrays.items()}, codec.spec(agent), name)
    codec.restore(agent, arrays)
    return agent


def _read_npz(f: BinaryIO, name: str) -> dict[str, np.ndarray]:
    """The arrays of an npz file, each read once its header is known to fit the bytes its
    member holds (so no header can make it allocate more than the file's size).

    Raises:
        ConfigError: If it is not a zip of ``.npy`` members that numpy.savez could have
            written, or a header does not fit.
    """
    size = os.fstat(f.fileno()).st_size
    arrays, claimed = {}, 0
    try:
        with zipfile.ZipFile(f) as zf:
            for info in zf.infolist():
                claimed += info.file_size
                if claimed > size:  # members that overlap, or a directory that lies
                    raise ValueError(f"its members claim more than its {size:_} bytes")
                with zf.open(info) as member:
                    _check_npy_header(info, member)
                with zf.open(info) as member:
                    arrays[info.filename.removesuffix(".npy")] = np.lib.format.read_array(
                        member, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ConfigError(f"{name} is not a readable npz ({err})") from None
    return arrays


_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0}
"""The ``.npy`` versions numpy.savez writes, and how to read their headers."""


def _check_npy_header(info: zipfile.ZipInfo, member: BinaryIO) -> None:
    """Raise ValueError unless ``member`` is a stored ``.npy`` whose header's shape and
    dtype make up exactly the bytes it holds (read from the header only)."""
    if not info.filename.endswith(".npy") or info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"{info.filename} is not an uncompressed .npy member")
    read_header = _NPY_HEADERS.get(np.lib.format.read_magic(member))
    if read_header is None:
        raise ValueError(f"{info.filename} is not a .npy of version 1.0 or 2.0")
    shape, _, dtype = read_header(member)
    if dtype.hasobject:
        raise ValueError(f"{info.filename} holds Python objects, which need allow_pickle")
    if any(d < 0 for d in shape) or member.tell() + math.prod(shape) * dtype.itemsize \
            != info.file_size:
        raise ValueError(f"{info.filename}'s header claims shape {shape} of {dtype}, "
                         f"which its {info.file_size:_} bytes do not hold")


def _dyna_q_model_arrays(arrays: dict[str, np.ndarray], agent: Any) -> dict[str, np.ndarray]:
    """A Dyna-Q agent saved while it kept its model as an object (``model.*`` and
    ``_latest``) in the layout of its state now (``state.*``, ``t``): the same table, pool
    and counts; the diagnosis starts afresh, and ``t`` (which Dyna-Q's kernels do not read)
    at 0.

    Raises:
        ConfigError: If the arrays are not such an agent's.
    """
    from dynaq.kernels import counts as kc
    from dynaq.kernels import dyna_q as dq

    try:
        fresh = dict(state_arrays(agent))
        latest = arrays["_latest"]
        count = fresh["state.2"].copy()
        if "model.count" in arrays:  # the counts model: its counters, then the latest pair
            count[:kc.LATEST_PAIR] = arrays["model.count"]
            count[kc.DIAG_BASE] = -1
            fresh["state.1.p_int"] = arrays["model.pool.p_int"]
            fresh["state.1.p_reward"] = arrays["model.pool.p_reward"]
        else:
            count[dq.N_SEEN] = arrays["model.n_seen"]
            fresh["state.1"] = arrays["model.reward"]
        if latest.size:
            count[dq.LATEST_PAIR], count[dq.LATEST_STATE] = latest
        fresh.update({"Q": arrays["Q"], "rng": arrays["rng"], "backups": arrays["backups"],
                      "state.0": arrays["model.table"], "state.2": count})
    except (KeyError, ValueError) as err:
        raise ConfigError(f"arrays of an older Dyna-Q agent lack or misshape {err}") from None
    return fresh


def _load_deep(meta: dict[str, Any], f: BinaryIO, name: str, device: str | None) -> Any:
    from dynaq.deep import require_torch
    from dynaq.deep.config import DEEP_AGENT_NAMES, DeepConfig

    if meta["agent"] not in DEEP_AGENT_NAMES:
        raise ConfigError(f"unknown agent {meta['agent']!r}; known: "
                          f"{', '.join([*TABULAR, *DEEP_AGENT_NAMES])}")
    values = {**meta["config"], **({"device": device} if device is not None else {})}
    obs_dim, n_actions = _sizes(meta, ("obs_dim", "n_actions"), MAX_OBS_DIM,
                              "dynaq.saving.MAX_OBS_DIM")
    config = _build_config(DeepConfig, values)
    require_torch(f"loading agent {meta['agent']}")
    from safetensors import SafetensorError
    from safetensors.torch import load

    from dynaq.deep.run import DEEP_AGENTS

    try:
        # safetensors checks every header entry against the buffer: no more than the file
        tensors = load(f.read())
    except (SafetensorError, OSError, ValueError) as err:
        raise ConfigError(f"{name} is not a readable safetensors file ({err})") from None
    held, needed = sum(t.numel() for t in tensors.values()), _deep_weights(
        obs_dim, n_actions, config)
    if needed > held:  # before the networks are built at the saved sizes
        model = (f", model_hidden {config.model_hidden} and ensemble {config.ensemble}"
                 if config.planning_steps else "")
        raise ConfigError(f"{name} holds {held:_} values, fewer than the {needed:_} weights "
                          f"of the networks of {META_FILE}'s obs_dim {obs_dim}, n_actions "
                          f"{n_actions}, hidden {config.hidden}{model}")
    check_memory(config.memory_bytes(obs_dim, n_actions), f"loading {name}")  # its buffers
    env_id = _saved_env(meta)[0]
    agent = DEEP_AGENTS[meta["agent"]](obs_dim, n_actions, config, meta["seed"], env_id)
    _check_same({k: (tuple(v.shape), v.dtype) for k, v in tensors.items()},
                {k: (tuple(v.shape), v.dtype) for k, v in agent.state_tensors().items()},
                name)
    agent.load_state_tensors(tensors)
    for counter in agent.COUNTERS:
        value = meta["counters"].get(counter)
        if not isinstance(value, int) or value < 0:
            raise ConfigError(f"{META_FILE} counter {counter!r} must be an integer >= 0, got "
                              f"{value!r}")
        setattr(agent, counter, value)
    return agent


def _deep_weights(obs_dim: int, n_actions: int, config: Any) -> int:
    """The weights (biases aside) of the networks a deep agent of these sizes builds
    (:meth:`~dynaq.deep.config.DeepConfig.layer_sizes`): the Q-network and its target, and
    with planning steps the model's ensemble. A saved agent's file holds all of them and
    more."""
    def weights(sizes: tuple[int, ...]) -> int:
        return sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    q_net, model = config.layer_sizes(obs_dim, n_actions)
    return 2 * weights(q_net) + (config.ensemble * weights(model) if model else 0)


def _check_same(found: dict[str, tuple[Any, Any]], expected: dict[str, tuple[Any, Any]],
                where: str) -> None:
    """Raise ConfigError naming the first array whose presence, shape or dtype differs."""
    families = [k[:-1] for k in expected if k.endswith(".*")]
    found = {k: v for k, v in found.items() if not k.startswith(tuple(families))}
    expected = {k: v for k, v in expected.items() if not k.endswith(".*")}
    for key in sorted(expected.keys() | found.keys()):
        if key not in found:
            raise ConfigError(f"{where} lacks {key!r}, which this agent's config needs")
        if key not in expected:
            raise ConfigError(f"{where} has {key!r}, which this agent's config does not have")
        shape, dtype = expected[key]
        if found[key] != (found[key][0] if shape is None else shape, dtype):
            raise ConfigError(f"{where}: {key!r} has shape and dtype {found[key]}, the saved "
                              f"config needs {expected[key]}")


# -- writing ----------------------------------------------------------------------------
def _npz_writer(arrays: dict[str, np.ndarray]) -> Callable[[Any], None]:
    return lambda f: np.savez(f, **arrays)


def _safetensors_writer(tensors: dict[str, Any]) -> Callable[[Any], None]:
    from safetensors.torch import save

    return lambda f: f.write(save(tensors))


def _write_atomic(path: Path, write: Callable[[Any], None]) -> str:
    """Write ``path`` through a temporary file and a rename; returns its SHA-256."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    with open(path, "rb") as f:
        return _sha256(f)


def _versions(data_file: str) -> dict[str, str]:
    packages = ["dynaq", "numpy"] + (["torch", "safetensors"] if data_file == DEEP_FILE else [])
    out = {}
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out
