"""Distortion and rate metrics: a signal against its reconstruction, and what was written.

Distortions: ``mse``, ``rmse``, ``snr_db``, ``psnr_db``, ``max_abs_error``,
``relative_error``. Rates: ``code_entropy`` (the order-0 entropy of codes, an
*estimate*) beside ``bits_per_sample`` (the bytes a file or blob *actually* holds, headers,
tables and index included), so a report can show both.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["mse", "rmse", "snr_db", "psnr_db", "max_abs_error", "relative_error", "code_entropy", "bits_per_sample"]


def _pair(x: Any, x_hat: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(x_hat, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"x has shape {a.shape} but x_hat has shape {b.shape}")
    if a.size == 0:
        raise ValueError("x is empty")
    return a, b


def mse(x: Any, x_hat: Any) -> float:
    """Mean squared error.

    Examples
    --------
    >>> mse([0.0, 1.0], [0.0, 0.5])
    0.125
    """
    a, b = _pair(x, x_hat)
    return float(np.mean((a - b) ** 2))


def snr_db(x: Any, x_hat: Any) -> float:
    """Signal-to-noise ratio ``10 log10(sum x^2 / sum (x - x_hat)^2)`` in dB (inf if exact).

    Examples
    --------
    >>> round(snr_db([1.0, -1.0], [0.9, -0.9]), 2)
    20.0
    """
    a, b = _pair(x, x_hat)
    noise = float(np.sum((a - b) ** 2))
    power = float(np.sum(a**2))
    if noise == 0:
        return float("inf")
    if power == 0:
        return float("-inf")
    return float(10.0 * np.log10(power / noise))


def max_abs_error(x: Any, x_hat: Any) -> float:
    """Largest absolute difference.

    Examples
    --------
    >>> max_abs_error([0.0, 1.0], [0.25, 1.0])
    0.25
    """
    a, b = _pair(x, x_hat)
    return float(np.max(np.abs(a - b)))


def rmse(x: Any, x_hat: Any) -> float:
    """Root mean squared error.

    Examples
    --------
    >>> rmse([0.0, 0.0], [3.0, -3.0])
    3.0
    """
    return float(np.sqrt(mse(x, x_hat)))


def psnr_db(x: Any, x_hat: Any, peak: float | None = None) -> float:
    """Peak signal-to-noise ratio ``10 log10(peak^2 / MSE)`` in dB (inf if exact).

    ``peak`` defaults to the largest absolute value of ``x`` (for integer PCM pass the
    dtype's full scale, e.g. 32768, to match the usual convention).

    Examples
    --------
    >>> round(psnr_db([1.0, -1.0], [0.9, -0.9]), 2)
    20.0
    >>> round(psnr_db([100, -100], [101, -99], peak=32768), 2)
    90.31
    """
    a, _ = _pair(x, x_hat)
    p = float(np.max(np.abs(a))) if peak is None else float(peak)
    if not (math.isfinite(p) and p > 0):
        raise ValueError(
            f"peak must be finite and > 0, got {peak!r}" if peak is not None else "x is all zeros: give peak="
        )
    e = mse(x, x_hat)
    return float("inf") if e == 0 else float(10.0 * np.log10(p * p / e))


def relative_error(x: Any, x_hat: Any) -> float:
    """``||x - x_hat|| / ||x||`` (Euclidean norms; inf for a zero ``x`` with any error).

    Examples
    --------
    >>> relative_error([3.0, 4.0], [3.0, 3.5])
    0.1
    """
    a, b = _pair(x, x_hat)
    num = float(np.linalg.norm((a - b).ravel()))
    den = float(np.linalg.norm(a.ravel()))
    if num == 0:
        return 0.0
    return float("inf") if den == 0 else num / den


def code_entropy(codes: Any) -> float:
    """Empirical order-0 entropy of integer codes, bits per code: what an ideal static coder
    with a free model would spend (compare ``bits_per_sample``).

    Examples
    --------
    >>> code_entropy([0, 1, 0, 1])
    1.0
    """
    from .entropy import order0_entropy

    arr = np.asarray(codes)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"codes must be integers, got dtype={arr.dtype}")
    if arr.size == 0:
        raise ValueError("codes is empty")
    return float(order0_entropy(arr.reshape(-1)))


def bits_per_sample(written: Any, n_samples: int) -> float:
    """Bits per sample actually written: ``8 * size / n_samples`` where ``written`` is a
    ``bytes``-like blob, a path to a file, or a byte count.

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> x = np.random.default_rng(0).standard_normal(10_000)
    >>> blob = quantsig.compress(x, quantsig.UniformQuantizer(step=0.1))
    >>> round(bits_per_sample(blob, x.size), 2) >= round(code_entropy(quantsig.UniformQuantizer(step=0.1).encode(x)), 2)
    True
    """
    import os

    if isinstance(written, (bytes, bytearray, memoryview)):
        size = memoryview(written).nbytes
    elif isinstance(written, (str, os.PathLike)):
        size = os.path.getsize(written)
    elif isinstance(written, (int, np.integer)) and not isinstance(written, bool) and written >= 0:
        size = int(written)
    else:
        raise TypeError(f"written must be bytes, a path or a byte count, got {written!r}")
    if not isinstance(n_samples, (int, np.integer)) or isinstance(n_samples, bool) or n_samples <= 0:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    return 8.0 * size / int(n_samples)
