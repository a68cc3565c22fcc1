"""Numba's cache of dynaq kernels is stamped with all of dynaq's numba sources, so a
change to a callee's file recompiles its cached callers (numba alone would not)."""

from numba import njit

from dynaq import _cache, rng
from dynaq.kernels import run, values


def locator(dispatcher):
    return dispatcher._cache._impl._locator


def test_every_dynaq_kernel_shares_the_package_stamp():
    for kernel in (values.evaluate_on_policy, run.episode_metrics, rng.randint):
        assert isinstance(locator(kernel), _cache._PackageStamp)
        assert locator(kernel).get_source_stamp() == _cache.package_digest()


def test_the_stamp_covers_every_numba_file_and_only_those(tmp_path, monkeypatch):
    monkeypatch.setattr(_cache, "_PACKAGE", tmp_path)
    (tmp_path / "a.py").write_text("from numba import njit\n")
    (tmp_path / "plain.py").write_text("x = 1\n")
    _cache.package_digest.cache_clear()
    try:
        before = _cache.package_digest()
        (tmp_path / "plain.py").write_text("x = 2\n")
        _cache.package_digest.cache_clear()
        assert _cache.package_digest() == before
        (tmp_path / "a.py").write_text("from numba import njit  # changed\n")
        _cache.package_digest.cache_clear()
        assert _cache.package_digest() != before
    finally:
        _cache.package_digest.cache_clear()


def test_code_outside_dynaq_keeps_numba_s_own_locator(tmp_path):
    outside = njit(cache=True)(lambda x: x + 1)  # defined in this test file
    assert outside(1) == 2
    assert not isinstance(locator(outside), _cache._PackageStamp)
