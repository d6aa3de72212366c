"""Scalar quantizers defined by sorted decision thresholds and reconstruction levels.

Code ``i`` covers ``[t[i-1], t[i])`` (cells closed on the left; ``t[-1] = -inf``,
``t[L-1] = +inf``) and reconstructs to ``levels[i]``. Encoding is the exact count of
thresholds ``<= x``, found by the bucket-table search kernel; decoding is a range-checked
gather. Subclasses only say where their tables come from.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from .._validation import as_code_array, as_float_array, as_float_dtype, check_invalid_count, smallest_uint
from ..errors import CodeRangeError
from ..kernels import search as _k
from .base import Quantizer

__all__ = ["ThresholdQuantizer"]


class ThresholdQuantizer(Quantizer):
    """Base of table-driven scalar quantizers (companding laws, Lloyd-Max).

    Code ``i`` covers ``[thresholds[i-1], thresholds[i])`` and decodes to
    ``reconstruction_levels[i]``; a subclass only supplies the two tables.

    Examples
    --------
    A Lloyd-Max quantizer fitted to three clusters of values has its levels at the cluster
    values and its thresholds half way between:

    >>> import numpy as np, quantsig
    >>> from quantsig.quantizers import ThresholdQuantizer
    >>> q = quantsig.LloydMaxQuantizer(3).fit(np.array([0.0, 0.0, 1.0, 1.0, 4.0, 4.0]))
    >>> isinstance(q, ThresholdQuantizer)
    True
    >>> q.thresholds, q.reconstruction_levels
    (array([0.5, 2.5]), array([0., 1., 4.]))

    Cells are closed on the left: a value on a threshold takes the code above it.

    >>> codes = q.encode(np.array([0.49, 0.5, 2.5, 10.0]))
    >>> codes, q.decode(codes)
    (array([0, 1, 2, 2], dtype=uint8), array([0., 1., 4., 4.]))
    """

    #: Whether input outside ``_input_range`` is clipped rather than refused.
    clip: bool = True

    @abc.abstractmethod
    def _tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(thresholds, levels)``: float64, sorted, lengths ``L - 1`` and ``L``."""

    def _input_range(self) -> tuple[float, float]:
        """The range outside which input is refused unless ``clip`` (default: none)."""
        return -np.inf, np.inf

    def _install_tables(self, thresholds: Any, levels: Any, n_levels: int | None = None) -> None:
        """Check learned tables (from a fit or a config) and install them read-only as
        ``thresholds_`` and ``levels_``: finite, sorted, ``n - 1`` thresholds for ``n``
        levels (``n_levels`` when the quantizer fixes it)."""
        t = np.ascontiguousarray(thresholds, dtype=np.float64).reshape(-1)
        y = np.ascontiguousarray(levels, dtype=np.float64).reshape(-1)
        want = y.size if n_levels is None else n_levels
        if y.size != want or t.size != want - 1 or want < 1:
            raise ValueError(
                f"levels_ has {y.size} values and thresholds_ {t.size}; "
                f"{type(self).__name__} needs {want} and {want - 1}"
            )
        if not (np.isfinite(t).all() and np.isfinite(y).all()):
            raise ValueError("thresholds_ and levels_ must be finite")
        if (np.diff(t) < 0).any() or (np.diff(y) < 0).any():
            raise ValueError("thresholds_ and levels_ must be sorted in increasing order")
        t.setflags(write=False)
        y.setflags(write=False)
        self.thresholds_ = t
        self.levels_ = y

    def _search_table(self, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, bool]:
        cache = self.__dict__.get("_search_cache")
        if cache is None or cache[0] is not thresholds:
            cache = (thresholds, _k.search_tables(thresholds))
            self.__dict__["_search_cache"] = cache
        return cache[1]

    @property
    def thresholds(self) -> np.ndarray:
        """Decision thresholds (sorted, ``n_levels - 1`` values)."""
        self._check_fitted()
        return self._tables()[0].copy()

    @property
    def reconstruction_levels(self) -> np.ndarray:
        """Reconstruction levels (sorted, ``n_levels`` values)."""
        self._check_fitted()
        return self._tables()[1].copy()

    def encode(self, x: Any) -> np.ndarray:
        """Quantize ``x`` to codes: the number of thresholds ``<= x`` (shape kept).

        Raises
        ------
        OutOfRangeError
            Input outside the quantizer's range (companding laws: ``[-1, 1]``) without clipping.
        ValueError
            NaN or Inf in ``x``.
        """
        arr = as_float_array(x)
        self._check_fitted()
        thresholds, levels = self._tables()
        start, probe, shift, simple = self._search_table(thresholds)
        flat = np.ascontiguousarray(arr).reshape(-1)
        out = np.empty(flat.size, dtype=smallest_uint(levels.size))
        lo, hi = self._input_range()
        big = float(np.finfo(np.float64).max)
        ux = flat.view(np.uint32) if flat.dtype == np.float32 else np.empty(0, np.uint32)
        n_invalid = _k.encode_thresholds(
            flat, ux, thresholds, start, probe, shift, simple, np.float64(max(lo, -big)), np.float64(min(hi, big)), out
        )
        self.n_clipped_ = check_invalid_count(int(n_invalid), flat, lo, hi, self.clip)
        return out.reshape(arr.shape)

    def decode(self, codes: Any, dtype: Any = np.float64) -> np.ndarray:
        """Reconstruction levels of ``codes`` as ``dtype`` (float32 or float64).

        Raises
        ------
        CodeRangeError
            A code outside ``[0, n_levels)``.
        """
        arr = as_code_array(codes)
        out_dtype = as_float_dtype(dtype)
        self._check_fitted()
        levels = self._tables()[1]
        flat = np.ascontiguousarray(arr).reshape(-1)
        out = np.empty(flat.size, dtype=out_dtype)
        n_bad = _k.gather(flat, levels.astype(out_dtype, copy=False), out)
        if n_bad:
            bad = flat[(flat < 0) | (flat >= levels.size)]
            raise CodeRangeError(f"{n_bad} code(s) outside [0, {levels.size - 1}] (e.g. {bad[0]})")
        return out.reshape(arr.shape)

    @property
    def n_levels(self) -> int:
        """Number of reconstruction levels."""
        self._check_fitted()
        return int(self._tables()[1].size)
