"""Distortion metrics between a signal and its reconstruction."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["mse", "snr_db", "max_abs_error"]


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
