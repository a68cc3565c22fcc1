"""No import cycles in dynaq: every module can be imported first, on its own.

The graph: one node per module under ``src/dynaq`` (a package is its ``__init__``), built by
parsing the source with :mod:`ast` (nothing is imported). An import of module ``M`` by
module ``X`` is an edge from ``X`` to ``M`` and to every package above ``M``, which Python
runs first. Precisely:

- every ``import`` statement counts, at module level and inside functions (a lazy import
  that closes a cycle only moves the failure to run time), except those under
  ``if TYPE_CHECKING:``, which never run; ``importlib.import_module`` calls (the preset
  finder, ``dynaq.deep``'s lazy names) are not statements and do not count;
- ``import dynaq.a.b`` is an import of ``dynaq.a.b``; ``from dynaq.a import b`` of
  ``dynaq.a.b`` when ``b`` is a submodule, else of ``dynaq.a``; relative imports are
  resolved first;
- re-exports are allowed: an edge from a module to a package above it is left out. That
  package's ``__init__`` started before the module did, so importing a name it re-exports
  (``from dynaq import ConfigError``, or from the module's own package) starts nothing,
  while the ``__init__``'s own edges to the modules it re-exports stay in the graph.

Any cycle in that graph fails the test, which names the modules along it.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "dynaq"


def module_names() -> dict[str, Path]:
    """Every dynaq module by dotted name."""
    names = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = ("dynaq", *path.relative_to(SRC).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(nodes: Iterable[ast.AST]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements in ``nodes`` that can run (not under ``if TYPE_CHECKING:``)."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports(node.orelse)
        else:
            yield from _imports(ast.iter_child_nodes(node))


def imported(source: str, name: str, is_package: bool, modules: Collection[str]) -> set[str]:
    """The dynaq modules that the import statements of module ``name`` name."""
    found = set()
    for stmt in _imports([ast.parse(source)]):
        if isinstance(stmt, ast.Import):
            found.update(alias.name for alias in stmt.names if alias.name in modules)
            continue
        base = stmt.module or ""
        if stmt.level:
            package = name.split(".") if is_package else name.split(".")[:-1]
            anchor = package[:len(package) - stmt.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in stmt.names:
            sub = f"{base}.{alias.name}"
            found.update([sub] if sub in modules else [base] if base in modules else [])
    return found


def _above(name: str) -> set[str]:
    """The packages above a module: ``dynaq.a.b`` → ``{dynaq, dynaq.a}``."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each module → the modules importing it starts (see the module docstring)."""
    graph = {}
    for name, path in modules.items():
        targets = imported(path.read_text(encoding="utf-8"), name, path.name == "__init__.py",
                           modules)
        graph[name] = set().union(*({t} | _above(t) for t in targets)) - _above(name) - {name}
    return graph


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A shortest cycle from ``start`` back to itself, as its modules, or None."""
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node]):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if nxt not in parents:
                    parents[nxt] = node
                    following.append(nxt)
        frontier = following
    return None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """A shortest cycle through each module that lies on one, each cycle listed once."""
    found: dict[frozenset[str], list[str]] = {}
    for start in sorted(graph):
        cycle = _cycle_through(graph, start)
        if cycle is not None:
            found.setdefault(frozenset(cycle), cycle)
    return list(found.values())


SAMPLE = """
from typing import TYPE_CHECKING

import numpy
from dynaq import rng, ConfigError
from . import sibling
from .sibling import helper
if TYPE_CHECKING:
    from dynaq.hints import Hint
else:
    import dynaq.c


def later():
    from dynaq.d.e import thing
"""
SAMPLE_MODULES = {"dynaq", "dynaq.rng", "dynaq.a", "dynaq.a.m", "dynaq.a.sibling",
                  "dynaq.hints", "dynaq.c", "dynaq.d", "dynaq.d.e"}


def test_imports_are_resolved_to_modules_lazy_ones_included_type_hints_not():
    assert imported(SAMPLE, "dynaq.a.m", False, SAMPLE_MODULES) == {
        "dynaq.rng", "dynaq", "dynaq.a.sibling", "dynaq.c", "dynaq.d.e"}
    assert imported("from . import m", "dynaq.a", True, SAMPLE_MODULES) == {"dynaq.a.m"}


def test_edges_start_the_packages_above_except_the_importer_s_own(tmp_path):
    (tmp_path / "m.py").write_text(SAMPLE)
    (tmp_path / "empty.py").write_text("")
    graph = import_graph({"dynaq.a.m": tmp_path / "m.py"} | {
        name: tmp_path / "empty.py" for name in SAMPLE_MODULES - {"dynaq.a.m"}})
    # dynaq (above the importer) is left out; dynaq.d is started before dynaq.d.e
    assert graph["dynaq.a.m"] == {"dynaq.rng", "dynaq.a.sibling", "dynaq.c", "dynaq.d",
                                  "dynaq.d.e"}


def test_cycles_are_found_and_named():
    assert cycles({"x": {"y"}, "y": {"z"}, "z": {"x"}, "w": {"x"}}) == [["x", "y", "z", "x"]]
    assert cycles({"x": {"y"}, "y": set()}) == []


def test_no_import_cycles():
    found = [" -> ".join(cycle) for cycle in cycles(import_graph(module_names()))]
    assert not found, "import cycles:\n" + "\n".join(found)
