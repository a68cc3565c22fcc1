"""Numba's on-disk cache, invalidated by any change to dynaq's compiled code.

Numba checks a cached function only against its own source file, so a cached kernel that
calls (and so contains) a kernel of another file keeps running the old callee after that
file changes: a stale result, or a slow one (this hid a 5x faster policy evaluation behind
the run loop's cached copy). Here every dynaq file that holds numba code is stamped with
one hash of all of them: change one and every dynaq kernel compiles afresh once. Imported
by ``dynaq/__init__.py`` before any kernel is defined.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from numba.core import caching

_PACKAGE = Path(__file__).resolve().parent


def _numba(name: str) -> Any:
    """A class of ``numba.core.caching``, public since numba 0.61, private before."""
    return getattr(caching, name, None) or getattr(caching, "_" + name)


@functools.cache
def package_digest() -> bytes:
    """A hash of every dynaq source file that uses numba, read once per process."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        source = path.read_bytes()
        if b"numba" in source:
            digest.update(path.relative_to(_PACKAGE).as_posix().encode() + source)
    return digest.digest()


def _in_package(py_file: str) -> bool:
    return Path(py_file).resolve().is_relative_to(_PACKAGE)


class _PackageStamp:
    """Mixin: dynaq's files share one source stamp; other files are left to numba."""

    def get_source_stamp(self) -> bytes:
        return package_digest()

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        return super().from_function(py_func, py_file) if _in_package(py_file) else None


class _UserDirLocator(_PackageStamp, _numba("UserProvidedCacheLocator")):
    """``NUMBA_CACHE_DIR``, when set."""


class _InTreeLocator(_PackageStamp, _numba("InTreeCacheLocator")):
    """``__pycache__`` beside the source."""


class _UserWideLocator(_PackageStamp, _numba("UserWideCacheLocator")):
    """The user's cache directory, when the package's own is not writable."""


# Numba lists its locators on a private class attribute; the first that accepts a file
# wins, so ours go in front (once, however often this module is reloaded).
_IMPL = _numba("CacheImpl")
_IMPL._locator_classes = [
    _UserDirLocator, _InTreeLocator, _UserWideLocator,
    *(c for c in _IMPL._locator_classes if c.__module__ != __name__)]
