"""Linear prediction analysis: window, autocorrelation, Levinson-Durbin, order choice, integer coefficients.

What the encoder decides per block (the decoder only applies it, see :mod:`quantsig.kernels.lpc`):
a Tukey(0.5) window before the autocorrelation (a rectangular window leaks spectral energy and
costs about a bit per sample on band-limited audio), every order up to ``max_order`` from one
Levinson-Durbin recursion, the order whose estimated residual bits plus coefficient bits are
lowest, and coefficients rounded to ``precision``-bit integers with error feedback and a shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..kernels import lpc as _k

__all__ = ["Predictor", "analyze", "quantize_coefficients", "tukey", "MAX_ORDER", "PRECISION"]

MAX_ORDER = 32
PRECISION = 15
_MAX_SHIFT = 20


@dataclass(frozen=True)
class Predictor:
    """Integer predictor of one block: ``pred = (sum coefs[j] * y[i-1-j]) >> shift``."""

    coefs: np.ndarray  # int64, length = order
    shift: int

    @property
    def order(self) -> int:
        return int(self.coefs.size)

    def float_coefs(self) -> np.ndarray:
        """The coefficients as exact float64 values (``coefs * 2**-shift``)."""
        return np.ldexp(self.coefs.astype(np.float64), -self.shift)


ZERO = Predictor(np.zeros(0, np.int64), 0)


@lru_cache(maxsize=32)
def tukey(n: int, alpha: float = 0.5) -> np.ndarray:
    """Tukey (tapered cosine) window of length ``n``."""
    if n <= 2 or alpha <= 0:
        return np.ones(n)
    w = np.ones(n)
    m = int(math.floor(alpha * (n - 1) / 2.0))
    if m > 0:
        k = np.arange(m + 1)
        ramp = 0.5 * (1 - np.cos(np.pi * k / m))
        w[: m + 1] = ramp
        w[n - m - 1 :] = ramp[::-1]
    w.flags.writeable = False
    return w


def quantize_coefficients(a: np.ndarray, precision: int = PRECISION) -> Predictor:
    """Round real coefficients to ``precision``-bit signed integers with a shift (error feedback)."""
    if a.size == 0:
        return ZERO
    cmax = float(np.max(np.abs(a)))
    if not np.isfinite(cmax) or cmax == 0.0:
        return ZERO
    _, exp = math.frexp(cmax)  # cmax = m * 2**exp, 0.5 <= m < 1
    shift = min(max(precision - 1 - exp, 0), _MAX_SHIFT)
    qmax = (1 << (precision - 1)) - 1
    out = np.empty(a.size, np.int64)
    err = 0.0
    for j in range(a.size):
        err += a[j] * (1 << shift)
        q = int(round(err))
        q = max(-qmax - 1, min(qmax, q))
        out[j] = q
        err -= q
    return Predictor(out, shift)


def analyze(x: np.ndarray, max_order: int = MAX_ORDER, precision: int = PRECISION, step: float = 1.0) -> Predictor:
    """Choose a predictor for the block ``x`` (float64).

    The order minimises the estimated residual bits plus coefficient bits,
    ``N * max(h(E_p / N) - log2(step), 0) + p * (precision + 2)``, where ``E_p`` is the
    Levinson prediction error of order ``p`` on the windowed block and ``h`` the differential
    entropy of a Gaussian of that variance. ``step`` is the residual quantizer's step (1 for
    lossless integer coding): where coarse quantization leaves nothing to gain, coefficients
    are not paid for.
    """
    n = x.size
    max_order = min(max_order, n - 1)
    if max_order < 1:
        return ZERO
    r = np.empty(max_order + 1)
    _k.autocorr(np.ascontiguousarray(x, dtype=np.float64), tukey(n), np.int64(max_order), r)
    if r[0] <= 0.0:
        return ZERO
    r[0] *= 1.0 + 1e-9  # a touch of white noise: conditioning for pure tones
    coefs = np.zeros((max_order, max_order))
    err = np.zeros(max_order + 1)
    top = _k.levinson(r, np.int64(max_order), coefs, err)
    if top < 1:
        return ZERO
    w = tukey(n)
    norm = float(np.sum(w * w))
    log2_step = math.log2(step)
    best_p, best_cost = 0, None
    for p in range(0, top + 1):
        var = max(err[p] / norm, 1e-30)
        bits = max(0.5 * math.log2(2 * math.pi * math.e * var) - log2_step, 0.0)
        cost = n * bits + p * (precision + 2)
        if best_cost is None or cost < best_cost - 1e-9:
            best_p, best_cost = p, cost
    if best_p == 0:
        return ZERO
    return quantize_coefficients(coefs[best_p - 1, :best_p], precision)
