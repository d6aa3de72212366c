"""Input checks shared by every quantizer (the layer above the kernels validates)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(x: Any, name: str = "x", *, allow_empty: bool = False) -> np.ndarray:
    """Return ``x`` as a float32/float64 ndarray, refusing every other dtype.

    Finiteness is *not* checked here: kernels count non-finite values in the same pass
    as their real work, so large arrays are read once.
    """
    if isinstance(x, (bytes, bytearray, memoryview, str)):
        raise TypeError(f"{name} must be an array of float32 or float64 values, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype not in FLOAT_DTYPES:
        if arr.dtype.kind in "iub":
            hint = f"; convert it explicitly, e.g. {name}.astype(np.float32) (scaled as you intend)"
        else:
            hint = ""
        raise TypeError(f"{name} must have dtype float32 or float64, got dtype={arr.dtype}{hint}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape={arr.shape}); nothing to quantize")
    return arr


def check_finite(arr: np.ndarray, name: str = "x") -> None:
    """Raise ``ValueError`` naming how many NaN/Inf values ``arr`` holds."""
    finite = np.isfinite(arr)
    if not finite.all():
        report_nonfinite(int(arr.size - np.count_nonzero(finite)), name)


def report_nonfinite(count: int, name: str = "x") -> None:
    """Raise the standard NaN/Inf error when ``count`` is positive."""
    if count:
        raise ValueError(f"{name} contains {count} NaN or Inf value(s); quantizers need finite input")


def as_float_dtype(dtype: Any) -> np.dtype:
    """Check a requested output dtype: float32 or float64 (``None`` means float64)."""
    dt = np.dtype(np.float64 if dtype is None else dtype)
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def check_invalid_count(n_invalid: int, flat: np.ndarray, lo: float, hi: float, clip: bool) -> int:
    """Act on a kernel's count of samples outside ``[lo, hi]`` (NaN and Inf included).

    Raises ``ValueError`` for NaN/Inf, ``OutOfRangeError`` for out-of-range samples unless
    ``clip``; returns the number of clipped samples.
    """
    if not n_invalid:
        return 0
    report_nonfinite(int(flat.size - np.count_nonzero(np.isfinite(flat))))
    if not clip:
        from .errors import OutOfRangeError

        raise OutOfRangeError(
            f"{n_invalid} sample(s) of x lie outside [lo, hi] = [{lo!r}, {hi!r}] (x ranges over "
            f"[{float(flat.min())!r}, {float(flat.max())!r}]); scale the input or pass clip=True"
        )
    return int(n_invalid)


def as_code_array(codes: Any, name: str = "codes") -> np.ndarray:
    """Return ``codes`` as an integer ndarray (any signed or unsigned width).

    uint64 codes are converted to int64 (kernels compare codes with signed limits); a value
    beyond the int64 range cannot be a valid code and raises ``CodeRangeError``.
    """
    from .errors import CodeRangeError

    arr = np.asarray(codes)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype={arr.dtype}")
    if arr.dtype == np.uint64:
        big = arr > np.uint64(np.iinfo(np.int64).max)
        if big.any():
            raise CodeRangeError(f"{int(big.sum())} code(s) outside the int64 range (e.g. {arr[big][0]})")
        arr = arr.astype(np.int64)
    return arr


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Check that ``value`` is an integer within ``[low, high]`` and return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name}={value} should be >= {low}")
    if high is not None and value > high:
        raise ValueError(f"{name}={value} should be <= {high}")
    return value


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Check that ``value`` is a finite real number within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name}={value} must be finite")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name}={value} should be {'>' if low_open else '>='} {low}")
    if high is not None and (value >= high if high_open else value > high):
        raise ValueError(f"{name}={value} should be {'<' if high_open else '<='} {high}")
    return value


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """Check that ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name}={value!r} should be one of {', '.join(repr(c) for c in choices)}")
    return str(value)


def as_sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
    """Validate ``sample_weight`` (non-negative, finite, one per sample, positive total)."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "iuf":
        raise TypeError(f"sample_weight must be numeric, got dtype={w.dtype}")
    w = np.ascontiguousarray(w, dtype=np.float64).reshape(-1)
    if w.size != n:
        raise ValueError(f"sample_weight has {w.size} values but there are {n} samples")
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or Inf values")
    if (w < 0).any():
        raise ValueError(f"sample_weight must be non-negative; min is {w.min()}")
    if not w.sum() > 0:
        raise ValueError("sample_weight sums to zero; at least one sample needs positive weight")
    return w


def as_int_vector(values: Any, name: str = "values") -> np.ndarray:
    """A 1-D, native-order, C-contiguous integer array (uint64 made int64 by ``as_code_array``)."""
    if isinstance(values, (bytes, bytearray, memoryview, str)):
        raise TypeError(f"{name} must be a 1-D integer array, got {type(values).__name__}")
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be a 1-D integer array, got dtype={arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return np.ascontiguousarray(as_code_array(arr, name))


def smallest_uint(n_levels: int) -> np.dtype:
    """The smallest unsigned dtype that holds codes ``0 .. n_levels - 1``."""
    top = n_levels - 1
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        if top <= np.iinfo(dt).max:
            return np.dtype(dt)
    raise ValueError(f"n_levels={n_levels} does not fit in 64-bit codes")
