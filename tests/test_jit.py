"""The kernel decorator: caching never makes an import fail."""

import types

import numba
import pytest

from quantsig.kernels import _jit


def test_falls_back_to_no_cache_when_caching_is_impossible(monkeypatch):
    real = numba.njit
    calls = []

    def fake_njit(**opts):
        calls.append(opts)
        if opts.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x.py'")
        return real(**opts)

    monkeypatch.setattr(_jit, "numba", types.SimpleNamespace(njit=fake_njit))
    with pytest.warns(RuntimeWarning, match="NUMBA_CACHE_DIR"):

        @_jit.jit
        def add_one(a):
            return a + 1

    assert add_one(41) == 42
    assert [c["cache"] for c in calls] == [True, False]


def test_options_pass_through():
    @_jit.jit(error_model="numpy")
    def div(a, b):
        return a / b

    assert div(1.0, 4.0) == 0.25
