"""Numba's on-disk cache, invalidated by any change to the code a cached kernel contains.

Numba checks a cached function only against its own source file, so a cached kernel that
calls (and so contains) a kernel of another file keeps running the old callee after that
file changes: a stale result, or a slow one (this hid a 5x faster policy evaluation behind
the run loop's cached copy). Here each dynaq file is stamped instead with a hash of the
sources its kernels can contain, its *dependencies* (:func:`dependencies`), read with
:mod:`ast`:

- the file and every dynaq module it imports, transitively: absolute and relative
  imports, at any depth of the file; ``from a import b`` reads ``a.b`` when that is a
  module that ``a`` does not rebind, else ``a``; ``import a.b`` (unaliased) reads ``a`` too.
  Every imported module counts, whether it uses numba or not: numba freezes the globals a
  kernel reads (the column numbers of :mod:`dynaq.records`, say) into its machine code,
  and a module without numba can re-export another's kernels;
- every module that registers an ``@overload`` of a function defined in one of those
  modules: numba compiles the overload into that function's callers, which need not
  import the module registering it (Dyna-Q's ``backup`` of the counts model). A module
  registers one by calling ``overload`` or by naming a *helper*: a top-level function (or
  name assigned one) whose code calls ``overload`` or names a helper (as
  :func:`dynaq.kernels.dyna_q.register_backup`);
- every module that uses any other part of numba beyond :data:`_LOCAL_API` (its
  extension API, an ``@overload`` of a function not defined in dynaq, or of one it cannot
  trace to its ``def``): what that reaches cannot be read from imports, so it is in
  every stamp.

Editing a module thus recompiles the kernels of the modules depending on it, and no
others. Kernels of other modules can also be compiled for a caller's types: numba's index
key holds a type's class and field types, so the cache key of a dynaq kernel here also
holds the field names of the named tuples in its signature (:func:`_field_names`).
Imports made by name at run time (``importlib``) are not seen. Imported by
``dynaq/__init__.py`` before any kernel is defined.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from numba.core import caching, config, sigutils, types

_SELF = Path(__file__).resolve()
_PACKAGE = _SELF.parent

_LOCAL_API = ("numba.njit", "numba.jit", "numba.prange", "numba.types", "numba.core.types",
              "numba.typeof", "numba.literally", "numba.literal_unroll", "numba.objmode",
              "numba.typed", "numba.config", "numba.get_num_threads",
              "numba.set_num_threads", "numba.get_thread_id", "numba.extending.intrinsic",
              "numba.core.extending.intrinsic", "numba.extending.register_jitable",
              "numba.core.extending.register_jitable", "numba.core.cgutils",
              "numba.experimental.structref.register",
              "numba.experimental.structref.define_proxy",
              "numba.experimental.structref.StructRefProxy",
              "numba.experimental.structref.new", "numba.core.event")
"""The parts of numba whose effect stays in the code that names them, so in its importers'
stamps: compiling, types, intrinsics (called by name), structrefs (their field types
are in the signature of every kernel they reach; boxing and field access are numba's
own code) and compile-event listeners (they watch compiling and change no code). A
module using any other part of numba is in every stamp."""
_OVERLOAD = {"numba.extending.overload", "numba.core.extending.overload"}
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _numba(name: str) -> Any:
    """A class of ``numba.core.caching``, public since numba 0.61, private before."""
    return getattr(caching, name, None) or getattr(caching, "_" + name)


def _read(path: Path) -> bytes:
    """A source file's bytes (the one place the stamps read a file)."""
    return path.read_bytes()


@dataclass
class _Module:
    """What the stamps need to know of one file of the package."""

    nodes: list[tuple[tuple[str, ...], ast.AST]] = field(default_factory=list)
    """Every node of its syntax tree, with the names the top-level statement holding it
    binds (see :func:`_nodes`)."""
    names: set[str] = field(default_factory=set)
    """Every name its top level binds, by any statement."""
    bindings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Top-level names: ``("def",)`` (a ``def`` or ``class``), ``("assigned",)`` (any other
    statement), ``("module", dotted name)``, ``("from", module, name)`` or ``("numba",
    dotted path)`` (imports); the last statement binding a name wins."""
    numba_names: dict[str, set[str]] = field(default_factory=dict)
    """The numba paths each name is imported as, at any depth of the file."""


class _Graph:
    """The dependencies of the modules of a package, from their sources by dotted name."""

    def __init__(self, root: Path, sources: dict[str, bytes], packages: set[str]) -> None:
        self.root = root
        self.sources = sources
        self.packages = packages
        self._modules: dict[str, _Module] = {}
        self._imports: dict[str, set[str]] = {}
        self.overloads: dict[str, set[str]] = {}
        """The modules defining the functions each module overloads, itself or through a
        helper (a function that registers an overload, as Dyna-Q's ``register_backup``)."""
        self.helpers: dict[tuple[str, str], set[str]] = {}
        """The modules whose functions each helper ``(module, function)`` overloads."""
        self.everywhere: set[str] = set()
        """The modules using numba's extension API beyond :data:`_LOCAL_API` and overloads
        of the package's functions."""
        self._read_extensions()
        self.overloaded_by: dict[str, set[str]] = {}
        for name, targets in self.overloads.items():
            for target in targets:
                self.overloaded_by.setdefault(target, set()).add(name)

    def module(self, name: str) -> _Module:
        """Module ``name`` parsed (once); empty if it does not parse, since then it cannot
        be imported either."""
        if name not in self._modules:
            module = _Module()
            try:
                tree = ast.parse(self.sources[name])
            except SyntaxError:
                tree = None
            if tree is not None:
                module.nodes = _nodes(tree)
                self._read_bindings(name, module, tree)
            self._modules[name] = module
        return self._modules[name]

    def imports(self, name: str) -> set[str]:
        """The package's modules that module ``name`` imports."""
        if name not in self._imports:
            self._imports[name] = self.imported(self.module(name).nodes, name)
        return self._imports[name]

    def _absolute(self, name: str | None, node: ast.ImportFrom) -> str | None:
        """The module a ``from … import`` reads, relative to module ``name``."""
        if not node.level:
            return node.module
        if name is None:
            return None
        base = name.split(".")
        if name not in self.packages:
            base = base[:-1]
        base = base[:len(base) - node.level + 1]
        return ".".join([*base, node.module] if node.module else base)

    def _read_bindings(self, name: str, module: _Module, tree: ast.Module) -> None:
        for _, node in module.nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                for bound, target in self._bound_by(name, node):
                    if _is_numba(target):
                        module.numba_names.setdefault(bound, set()).add(target)
        for node in _top_level(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for bound, target in self._bound_by(name, node):
                    module.names.add(bound)
                    if _is_numba(target):
                        module.bindings[bound] = ("numba", target)
                    elif isinstance(node, ast.Import) or target in self.sources:
                        module.bindings[bound] = ("module", target)
                    else:
                        source, _, attr = target.rpartition(".")
                        module.bindings[bound] = ("from", source, attr)
            elif isinstance(node, _DEFS):
                module.names.add(node.name)
                module.bindings[node.name] = ("def",)
            else:
                for bound in _stored(node):
                    module.names.add(bound)
                    module.bindings[bound] = ("assigned",)

    def _bound_by(self, name: str | None, node: ast.Import | ast.ImportFrom) -> list:
        """``(name bound, dotted path it stands for)`` for each name an import binds."""
        if isinstance(node, ast.Import):
            return [(a.asname, a.name) if a.asname else (a.name.partition(".")[0],
                                                          a.name.partition(".")[0])
                    for a in node.names]
        source = self._absolute(name, node)
        if source is None:
            return []
        return [(a.asname or a.name, f"{source}.{a.name}") for a in node.names]

    def imported(self, nodes: list, name: str | None = None) -> set[str]:
        """The package's modules that the imports among ``nodes`` (see :func:`_nodes`) of
        module ``name`` (None: a file outside the package) can reach."""
        found: set[str] = set()
        for _, node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    # ``import a.b`` binds ``a``, through which all of ``a``'s names reach
                    first = len(parts) if alias.asname else 1
                    found.update(".".join(parts[:n]) for n in range(first, len(parts) + 1))
            elif isinstance(node, ast.ImportFrom):
                source = self._absolute(name, node)
                for alias in node.names if source is not None else ():
                    sub = f"{source}.{alias.name}"
                    found.add(sub)
                    if sub not in self.sources or self._rebinds(source, alias.name):
                        found.add(source)
        return {m for m in found if m in self.sources and m != name}

    def _rebinds(self, package: str, attr: str) -> bool:
        """Whether ``package`` binds ``attr`` to something else than its submodule."""
        if package not in self.sources:
            return False
        module = self.module(package)
        return attr in module.names and (
            module.bindings.get(attr) != ("module", f"{package}.{attr}"))

    def _read_extensions(self) -> None:
        """Finds the overloads, overload helpers and other extensions of numba."""
        references = {name: self._read_uses(name) for name in self.sources}
        self._follow_helpers(references)

    def _read_uses(self, name: str) -> set[tuple[tuple[str, ...], tuple[str, str]]]:
        """Records the overloads module ``name`` registers and whether it extends numba
        otherwise; returns ``(names, (module, name))`` for each top-level object of the
        package its code names, with the names its top-level statement there binds."""
        nodes = self.module(name).nodes
        chained = {id(node.value) for _, node in nodes if isinstance(node, ast.Attribute)}
        overloads = set()
        references = set()
        for owners, node in nodes:
            if isinstance(node, ast.Call) and self._numba_paths(name, node.func) & _OVERLOAD:
                overloads.add(id(node.func))
                target = (self._definition(name, node.args[0], ("def",)) if node.args
                          else None)
                if target is None:
                    self.everywhere.add(name)
                    continue
                self.overloads.setdefault(name, set()).add(target[0])
                for owner in owners:
                    self.helpers.setdefault((name, owner), set()).add(target[0])
        for owners, node in nodes:
            if (not isinstance(node, ast.Name | ast.Attribute) or id(node) in chained
                    or id(node) in overloads):
                continue
            paths = self._numba_paths(name, node)
            if any(not _local(path) for path in paths):
                self.everywhere.add(name)
            elif not paths and (named := self._definition(name, node)) is not None:
                references.add((owners, named))
        return references

    def _follow_helpers(self, references: dict[str, set]) -> None:
        """Makes a module that names an overload helper an overloader of the helper's
        targets, and what a top-level statement naming one binds (a function that calls
        it, a name assigned it) a helper itself."""
        changed = True
        while changed:
            changed = False
            for name, named in references.items():
                overloads = self.overloads.setdefault(name, set())
                for owners, helper in named:
                    targets = self.helpers.get(helper, set())
                    if not targets <= overloads:
                        overloads |= targets
                        changed = True
                    for owner in owners if targets else ():
                        mine = self.helpers.setdefault((name, owner), set())
                        if not targets <= mine:
                            mine |= targets
                            changed = True

    def _numba_paths(self, name: str, node: ast.expr) -> set[str]:
        """The dotted paths in numba that ``node`` (a name or a chain of attributes) can
        stand for in module ``name``, re-exports through the package followed."""
        chain: list[str] = []
        while isinstance(node, ast.Attribute):
            chain.insert(0, node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return set()
        roots = set(self.module(name).numba_names.get(node.id, ()))
        binding = self._resolve(name, node.id, set())
        if binding is not None and binding[0] == "numba":
            roots.add(binding[1])
        return {".".join([root, *chain]) for root in roots}

    def _resolve(self, name: str, bound: str, seen: set) -> tuple[str, ...] | None:
        """What ``bound`` is in module ``name``: ``("def" or "assigned", module, name)``,
        ``("module", m)``, ``("numba", path)``, ``("outside",)``, or None where that cannot
        be read."""
        if name not in self.sources:
            return ("outside",) if name.split(".")[0] != self.root.name else None
        if (name, bound) in seen:
            return None
        seen.add((name, bound))
        binding = self.module(name).bindings.get(bound)
        if binding is None:
            return None
        if binding[0] in ("def", "assigned"):
            return (binding[0], name, bound)
        if binding[0] == "from":
            return self._resolve(binding[1], binding[2], seen)
        return binding

    def _definition(self, name: str, node: ast.expr,
                    kinds: tuple[str, ...] = ("def", "assigned")) -> tuple[str, str] | None:
        """``(module, name)`` of the package's top-level object that ``node`` (a name or a
        chain of attributes) names in module ``name``, or None; ``kinds``: how that may be
        bound (an overload's target must be a ``def``, not a name assigned another's)."""
        chain: list[str] = []
        while isinstance(node, ast.Attribute):
            chain.insert(0, node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        found = self._resolve(name, node.id, set())
        for attr in chain:  # an attribute of an object found names that object
            if found is None or found[0] != "module":
                break
            inner = f"{found[1]}.{attr}"
            found = (("module", inner) if inner in self.sources and not self._rebinds(
                found[1], attr) else self._resolve(found[1], attr, set()))
        return (found[1], found[2]) if found is not None and found[0] in kinds else None

    def dependencies(self, seeds: set[str]) -> set[str]:
        """The modules whose code the kernels of ``seeds`` can contain (see the module
        docstring), the seeds included."""
        found: set[str] = set()
        todo = [*seeds, *self.everywhere]
        while todo:
            name = todo.pop()
            if name not in found and name in self.sources:
                found.add(name)
                todo += self.imports(name) | self.overloaded_by.get(name, set())
        return found


def _nodes(tree: ast.Module) -> list[tuple[tuple[str, ...], ast.AST]]:
    """Every node of ``tree``, with the names bound by the top-level statement holding it
    (a function's or class's, an assignment's targets; none for the rest)."""
    owners = {id(s): (s.name,) if isinstance(s, _DEFS) else _stored(s)
              for s in _top_level(tree) if not isinstance(s, ast.Import | ast.ImportFrom)}
    found: list[tuple[tuple[str, ...], ast.AST]] = []
    todo: list[tuple[tuple[str, ...], ast.AST]] = [((), tree)]
    while todo:
        names, node = todo.pop()
        names = owners.get(id(node), names)
        found.append((names, node))
        todo += ((names, child) for child in ast.iter_child_nodes(node))
    return found


def _stored(statement: ast.stmt) -> tuple[str, ...]:
    """The names a statement (not a ``def``) assigns."""
    return tuple(node.id for node in ast.walk(statement)
                 if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store))


def _top_level(tree: ast.Module) -> list[ast.stmt]:
    """The statements that bind a module's names: its body, inside ``if``/``try``/``with``."""
    found: list[ast.stmt] = []
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, ast.If | ast.Try | ast.With):
            todo[:0] = [*node.body, *getattr(node, "orelse", []),
                        *(s for h in getattr(node, "handlers", []) for s in h.body),
                        *getattr(node, "finalbody", [])]
        else:
            found.append(node)
    return found


def _local(path: str) -> bool:
    return any(path == api or path.startswith(api + ".") for api in _LOCAL_API)


def _is_numba(module: str) -> bool:
    return module == "numba" or module.startswith("numba.")


def _name(path: Path, root: Path) -> str:
    """The dotted name of a file of the package at ``root``."""
    parts = (root.name, *path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _package(root: Path) -> tuple[dict[str, bytes], set[str]]:
    """The sources of the package at ``root`` by dotted name, read once per process, and
    the names of its packages."""
    sources, packages = {}, set()
    for path in sorted(root.rglob("*.py")):
        if path != _SELF:  # the stamping code is never compiled
            sources[_name(path, root)] = _read(path)
            if path.name == "__init__.py":
                packages.add(_name(path, root))
    return sources, packages


@functools.cache
def _graph(root: Path) -> _Graph:
    return _Graph(root, *_package(root))


@functools.cache
def dependencies(root: Path = _PACKAGE) -> dict[str, list[str]]:
    """Each module of the package at ``root`` with the modules it depends on (itself
    included), once per process.

    Parsing the package costs half a second, so the result is kept in a file beside
    numba's cache, under a hash of every source and of this file: a process that finds it
    reads no syntax tree.
    """
    sources, _ = _package(root)
    key = hashlib.sha256(f"{sys.version_info[:2]}".encode() + _read(_SELF))
    for name, source in sources.items():
        key.update(f"\0{name}\0{len(source)}\0".encode() + source)
    memo = Path(config.CACHE_DIR or root / "__pycache__") / (
        f"{root.name}-dependencies-{hashlib.sha256(str(root).encode()).hexdigest()[:12]}"
        ".json")
    try:
        kept = json.loads(memo.read_bytes())
        if kept["key"] == key.hexdigest():
            return kept["dependencies"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    graph = _graph(root)
    found = {name: sorted(graph.dependencies({name})) for name in sources}
    partial = memo.with_name(f"{memo.name}.{os.getpid()}")
    try:  # renamed into place whole, since other processes may read it meanwhile
        memo.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps({"key": key.hexdigest(), "dependencies": found}))
        os.replace(partial, memo)
    except OSError:
        pass  # an unwritable place: the next process parses again
    return found


def _hash(names: list[str] | set[str], sources: dict[str, bytes], *extra: bytes) -> bytes:
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(f"{name}\0{len(sources[name])}\0".encode() + sources[name])
    for part in extra:
        digest.update(f"\0{len(part)}\0".encode() + part)
    return digest.digest()


@functools.cache
def module_stamp(py_file: str | Path, root: Path = _PACKAGE) -> bytes:
    """The stamp of a source file, read once per process: for a file of the package at
    ``root`` a hash of its dependencies' sources (see the module docstring); for a file
    outside it a hash of its own source and of the dependencies of the package's modules
    it imports (its imports from elsewhere are not followed).

    :func:`dynaq.kernels.run.agent_id` hashes an agent's kernel files with it, so that the
    run loop's copy compiled for that agent, which calls the agent's kernels without
    importing their modules, is recompiled when any code those kernels contain changes.
    """
    path = Path(py_file).resolve()
    sources, _ = _package(root)
    if path.is_relative_to(root):
        return _hash(dependencies(root).get(_name(path, root), []), sources)
    source, graph = _read(path), _graph(root)
    try:
        imported = graph.imported(_nodes(ast.parse(source)))
    except SyntaxError:  # it cannot be imported, so it holds no kernels
        imported = set()
    return _hash(graph.dependencies(imported), sources, source)


@functools.cache
def _in_package(py_file: str) -> bool:
    # asked of each kernel by each locator as the package is imported: resolving the path
    # afresh each time cost 7 ms of every process's start
    return Path(py_file).resolve().is_relative_to(_PACKAGE)


class _PackageStamp:
    """Mixin: a dynaq file is stamped by :func:`module_stamp`; others are left to numba."""

    _py_file: str

    def get_source_stamp(self) -> bytes:
        return module_stamp(self._py_file)

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        return super().from_function(py_func, py_file) if _in_package(py_file) else None


class _UserDirLocator(_PackageStamp, _numba("UserProvidedCacheLocator")):
    """``NUMBA_CACHE_DIR``, when set."""


class _InTreeLocator(_PackageStamp, _numba("InTreeCacheLocator")):
    """``__pycache__`` beside the source."""


class _UserWideLocator(_PackageStamp, _numba("UserWideCacheLocator")):
    """The user's cache directory, when the package's own is not writable."""


def _field_names(typ: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    """The field names of the named tuples in a numba type, nested ones included."""
    found = []
    if isinstance(typ, types.BaseNamedTuple):
        cls = typ.instance_class
        found.append((cls.__module__, cls.__qualname__, tuple(cls._fields)))
    inner = [getattr(typ, attr, None) for attr in ("dtype", "item_type", "key_type",
                                                   "value_type")]
    inner += getattr(typ, "types", ()) if isinstance(typ, types.BaseTuple) else ()
    inner += (t for _, t in typ._fields) if isinstance(typ, types.StructRef) else ()
    for part in inner:
        if isinstance(part, types.Type):
            found += _field_names(part)
    return found


_FUNCTION_CACHE = caching.FunctionCache
_plain_key = getattr(_FUNCTION_CACHE._index_key, "plain", _FUNCTION_CACHE._index_key)


def _index_key(self: Any, sig: Any, codegen: Any) -> tuple:
    """Numba's key of a cached signature, for dynaq's kernels with the field names of the
    named tuples in it: the type's own key holds its class and field types only, so a
    kernel compiled before two like-typed fields of a class it does not depend on (a state
    passed in by its caller) swapped places would read each at the other's place."""
    key = _plain_key(self, sig, codegen)
    if not isinstance(self._impl.locator, _PackageStamp):
        return key
    args, _ = sigutils.normalize_signature(sig)
    return (*key, tuple(field for arg in args for field in _field_names(arg)))


_index_key.plain = _plain_key  # type: ignore[attr-defined]
_FUNCTION_CACHE._index_key = _index_key

_INDEX_FILE = _numba("IndexDataCacheFile")
_plain_load = getattr(_INDEX_FILE._load_index, "plain", _INDEX_FILE._load_index)


def _load_index(self: Any) -> dict:
    """Numba's cache index of a function, or none if it cannot be read here: numba reads an
    index whole, and a dynaq kernel called with a user's own types (a user agent's state
    class, in a script, a notebook or a test file) keeps them in its index, which another
    process that cannot import them would otherwise fail to read, whatever it runs. Read
    as empty, the kernel compiles afresh."""
    try:
        return _plain_load(self)
    except (ImportError, AttributeError, EOFError, pickle.UnpicklingError):
        return {}


_load_index.plain = _plain_load  # type: ignore[attr-defined]
_INDEX_FILE._load_index = _load_index

# Numba lists its locators on a private class attribute; the first that accepts a file
# wins, so ours go in front (once, however often this module is reloaded).
_IMPL = _numba("CacheImpl")
_IMPL._locator_classes = [
    _UserDirLocator, _InTreeLocator, _UserWideLocator,
    *(c for c in _IMPL._locator_classes if c.__module__ != __name__)]
