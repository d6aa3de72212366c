"""The one ``@njit`` wrapper every kernel uses.

``cache=True`` writes compiled code next to the source, or under ``NUMBA_CACHE_DIR`` / the
user cache when the install is read-only. Where no cache location is writable at all, Numba
refuses ``cache=True`` at decoration time; we then compile without a cache instead of
failing the import. ``NUMBA_DISABLE_JIT=1`` turns every kernel into plain Python.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numba

__all__ = ["jit", "NUMBA_VERSION"]

NUMBA_VERSION = numba.__version__


def jit(func: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``numba.njit(cache=True, nogil=True, **options)``, never fatal when caching is impossible."""

    def wrap(f: Callable[..., Any]) -> Any:
        opts = {"cache": True, "nogil": True, **options}
        try:
            return numba.njit(**opts)(f)
        except RuntimeError as exc:  # "cannot cache function ...: no locator available"
            warnings.warn(
                f"quantsig: cannot cache compiled kernel {f.__name__} ({exc}); "
                "set NUMBA_CACHE_DIR to a writable folder to avoid recompiling each run",
                RuntimeWarning,
                stacklevel=3,
            )
            opts["cache"] = False
            return numba.njit(**opts)(f)

    return wrap(func) if func is not None else wrap
