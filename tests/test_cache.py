"""Numba's cache of a dynaq kernel is stamped with the sources of the modules its code can
contain, so a change to a callee's file recompiles its cached callers (numba alone would
not) and leaves the kernels of unrelated files cached."""

import os
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
from numba import njit, typeof

from dynaq import _cache, rng
from dynaq.kernels import run, values

KERNELS = Path(_cache.__file__).resolve().parent / "kernels"


def locator(dispatcher):
    return dispatcher._cache._impl._locator


def forget():
    for cached in (_cache._package, _cache._graph, _cache.dependencies, _cache.module_stamp):
        cached.cache_clear()


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """Stamps computed afresh, their dependency memo kept in ``tmp_path``."""
    monkeypatch.setattr(_cache.config, "CACHE_DIR", str(tmp_path / "memo"))
    forget()
    yield
    forget()


def stamps(root):
    forget()
    return {path.relative_to(root).as_posix(): _cache.module_stamp(path, root)
            for path in root.rglob("*.py")}


def changed(root, edit, text):
    before = stamps(root)
    path = root / edit
    path.write_text(path.read_text() + text)
    after = stamps(root)
    return {name for name in before if before[name] != after[name]}


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_every_dynaq_kernel_is_stamped_by_its_own_module():
    for kernel in (values.evaluate_on_policy, run.episode_metrics, rng.randint):
        assert isinstance(locator(kernel), _cache._PackageStamp)
        py_file = kernel.py_func.__code__.co_filename
        assert locator(kernel).get_source_stamp() == _cache.module_stamp(py_file)
    assert (_cache.module_stamp(KERNELS / "values.py")
            != _cache.module_stamp(KERNELS / "heap.py"))


def test_a_stamp_covers_the_modules_imported_transitively_and_only_those(tmp_path, fresh):
    root = tmp_path / "pkg"
    write(root, {
        "__init__.py": "from pkg import top\n",
        "leaf.py": "COLUMN = 3\n",  # no numba: a kernel still freezes the constant
        "mid.py": "import numpy as np\nfrom pkg.leaf import COLUMN\n",
        "top.py": "from . import mid\n",
        "lazy.py": "def f():\n    import pkg.sub.deep as d\n    return d\n",
        "sub/__init__.py": "",
        "sub/deep.py": "from ..leaf import COLUMN\n",
        "other.py": "from pkg import sub\n",
    })
    assert changed(root, "leaf.py", "# edited\n") == {
        "leaf.py", "mid.py", "top.py", "lazy.py", "sub/deep.py", "__init__.py"}
    assert changed(root, "top.py", "# edited\n") == {"top.py", "__init__.py"}


def test_an_import_through_a_package_follows_what_the_package_binds(tmp_path, fresh):
    root = tmp_path / "pkg"
    write(root, {
        "__init__.py": "",
        "kernels/__init__.py": "from pkg.kernels.impl import kernel\n",
        "kernels/impl.py": "def kernel(): pass\n",
        "kernels/plain.py": "",
        "user.py": "from pkg.kernels import kernel\n",
        "sibling.py": "from pkg.kernels import plain\n",
    })
    assert changed(root, "kernels/impl.py", "# edited\n") == {
        "kernels/impl.py", "kernels/__init__.py", "user.py"}


def test_an_overload_stamps_the_callers_of_the_function_it_overloads(tmp_path, fresh):
    root = tmp_path / "pkg"
    write(root, {
        "__init__.py": "",
        "base.py": "def backup(model):\n    pass\n",
        "caller.py": "from pkg.base import backup\n",
        "model.py": ("from numba.extending import overload\nimport pkg.base as b\n\n"
                     "@overload(b.backup)\ndef _backup(model):\n    return None\n"),
        "helper.py": ("from numba import extending\nfrom pkg.base import backup\n\n"
                      "def register(fn):\n    extending.overload(backup)(fn)\n"),
        "registers.py": "from pkg.helper import register\n\nregister(len)\n",
        "alias.py": "from pkg import helper\n\nREGISTER = helper.register\n",
        "via_alias.py": "from pkg.alias import REGISTER\n\nREGISTER(len)\n",
        "unrelated.py": "import numpy\n",
    })
    overloaders = {"base.py", "caller.py", "model.py", "helper.py", "registers.py",
                   "alias.py", "via_alias.py"}
    assert changed(root, "model.py", "# edited\n") == overloaders
    assert changed(root, "registers.py", "# edited\n") == overloaders
    assert changed(root, "via_alias.py", "# edited\n") == overloaders
    assert changed(root, "unrelated.py", "# edited\n") == {"unrelated.py"}


def test_other_extensions_of_numba_stamp_every_module(tmp_path, fresh):
    root = tmp_path / "pkg"
    write(root, {
        "__init__.py": "",
        "a.py": "from numba import njit, types\n",
        "b.py": "from numba.extending import overload\n\n@overload(len)\ndef f(x):\n    pass\n",
        "c.py": ("from numba import types\nfrom numba.extending import overload_method\n\n"
                 "@overload_method(types.Array, 'total')\ndef _total(arr):\n    pass\n"),
    })
    assert changed(root, "b.py", "# edited\n") == {"__init__.py", "a.py", "b.py", "c.py"}
    assert changed(root, "c.py", "# edited\n") == {"__init__.py", "a.py", "b.py", "c.py"}
    assert changed(root, "a.py", "# edited\n") == {"a.py"}


def test_a_file_outside_the_package_is_stamped_with_its_dynaq_imports(tmp_path, fresh):
    root = tmp_path / "pkg"
    write(root, {"__init__.py": "", "leaf.py": "", "other.py": ""})
    outside = tmp_path / "agent.py"
    outside.write_text("import numpy\nfrom pkg import leaf\n")
    before = _cache.module_stamp(outside, root)
    (root / "other.py").write_text("# edited\n")
    forget()
    assert _cache.module_stamp(outside, root) == before
    (root / "leaf.py").write_text("# edited\n")
    forget()
    assert _cache.module_stamp(outside, root) != before


def test_editing_the_heap_restamps_prioritized_sweeping_only(monkeypatch, fresh):
    before = {path.stem: _cache.module_stamp(path) for path in KERNELS.glob("*.py")}
    read = _cache._read
    monkeypatch.setattr(_cache, "_read", lambda path: read(path) + (
        b"# edited\n" if path == KERNELS / "heap.py" else b""))
    forget()
    after = {path.stem: _cache.module_stamp(path) for path in KERNELS.glob("*.py")}
    assert {name for name in before if before[name] != after[name]} == {
        "heap", "prioritized"}


def test_a_kernel_is_stamped_with_the_modules_overloading_its_callees():
    dependencies = _cache.dependencies()
    assert "dynaq.kernels.counts" in dependencies["dynaq.kernels.dyna_q"]  # its backup
    assert "dynaq.kernels.heap" not in dependencies["dynaq.kernels.dyna_q"]
    assert "dynaq.records" in dependencies["dynaq.kernels.run"]  # the column constants


def test_the_stamp_is_the_same_in_every_process(tmp_path):
    path = KERNELS / "prioritized.py"
    script = f"from dynaq import _cache; print(_cache.module_stamp({str(path)!r}).hex())"
    # a fresh memo place, so that the other process parses the package itself
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.strip() == _cache.module_stamp(path).hex()


def test_the_cache_key_of_a_kernel_holds_the_field_names_of_its_named_tuples():
    Pair = namedtuple("Pair", ["a", "b"])
    nested = typeof((Pair(np.zeros(1), np.zeros(1)), 1))
    fields = _cache._field_names(nested)
    assert [(name, names) for _, name, names in fields] == [("Pair", ("a", "b"))]
    key = rng.randint._cache._index_key((nested,), rng.randint.targetctx.codegen())
    assert key[-1] == tuple(fields)


def test_code_outside_dynaq_keeps_numba_s_own_locator_and_key(tmp_path):
    outside = njit(cache=True)(lambda x: x + 1)  # defined in this test file
    assert outside(1) == 2
    assert not isinstance(locator(outside), _cache._PackageStamp)
    sig = (typeof(1),)
    codegen = outside.targetctx.codegen()
    assert outside._cache._index_key(sig, codegen) == _cache._plain_key(
        outside._cache, sig, codegen)
