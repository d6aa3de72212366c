"""Linear prediction analysis: window, autocorrelation, Levinson-Durbin, order choice, integer coefficients.

What the encoder decides per block (the decoder only applies it, see ``quantsig.kernels.lpc``):
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

__all__ = ["Predictor", "analyze", "tukey", "MAX_ORDER", "PRECISION"]

MAX_ORDER = 32
PRECISION = 15
_MAX_SHIFT = 20


@dataclass(frozen=True)
class Predictor:
    """Integer predictor of one block: ``pred = (sum coefs[j] * y[i-1-j]) >> shift``.

    Attributes
    ----------
    coefs : ndarray of int64
        The integer coefficients, ``coefs[j]`` weighing the sample ``j + 1`` steps back.
    shift : int
        The right shift applied to the sum (the coefficients' fixed-point scale).

    Examples
    --------
    Linear extrapolation, ``2 y[i-1] - y[i-2]``, predicts the next point of a line:

    >>> import numpy as np
    >>> from quantsig.predictors import Predictor
    >>> p = Predictor(np.array([2, -1]), shift=0)
    >>> p.order, p.float_coefs()
    (2, array([ 2., -1.]))
    >>> y = np.array([1, 3, 5, 7])
    >>> int((p.coefs * y[::-1][: p.order]).sum() >> p.shift)
    9

    With a shift the coefficients are fixed-point fractions:

    >>> Predictor(np.array([3, -1]), shift=1).float_coefs()
    array([ 1.5, -0.5])
    """

    coefs: np.ndarray  # int64, length = order
    shift: int

    @property
    def order(self) -> int:
        """Number of coefficients: how many past samples the prediction uses (0: none)."""
        return int(self.coefs.size)

    def float_coefs(self) -> np.ndarray:
        """The coefficients as exact float64 values (``coefs * 2**-shift``)."""
        return np.ldexp(self.coefs.astype(np.float64), -self.shift)

    def int_kernel_args(self) -> tuple[np.ndarray, int, int]:
        """``(crev, order, shift)`` for the integer kernels of ``quantsig.kernels.lpc``."""
        return np.ascontiguousarray(self.coefs[::-1]), self.order, self.shift

    def float_kernel_args(self) -> tuple[np.ndarray, int]:
        """``(crev, order)`` for the float kernels: the exact coefficients, reversed."""
        return np.ascontiguousarray(self.float_coefs()[::-1]), self.order


ZERO = Predictor(np.zeros(0, np.int64), 0)


@lru_cache(maxsize=32)
def tukey(n: int, alpha: float = 0.5) -> np.ndarray:
    """Tukey (tapered cosine) window of length ``n``."""
    if n <= 2 or alpha <= 0:
        return np.ones(n)
    w = np.ones(n)
    m = math.floor(alpha * (n - 1) / 2.0)
    if m > 0:
        k = np.arange(m + 1)
        ramp = 0.5 * (1 - np.cos(np.pi * k / m))
        w[: m + 1] = ramp
        w[n - m - 1 :] = ramp[::-1]
    w.flags.writeable = False
    return w


def _windows(n: int) -> list[np.ndarray]:
    """The apodizations tried on a block of ``n`` samples: Tukey(0.5) over the block, and over
    each half (FLAC's ``partial_tukey(2)``): a block holding an onset is predicted best by
    coefficients fitted to one side of it."""
    out = [tukey(n)]
    if n >= 64:
        h = n // 2
        for a, b in ((0, h), (h, n)):
            w = np.zeros(n)
            w[a:b] = tukey(b - a)
            out.append(w)
    return out


@lru_cache(maxsize=16)
def _window_stack(n: int) -> np.ndarray:
    w = np.ascontiguousarray(np.stack(_windows(n)))
    w.flags.writeable = False
    return w


def analyze(
    x: np.ndarray,
    start: int,
    end: int,
    max_order: int = MAX_ORDER,
    precision: int = PRECISION,
    step: float | None = None,
    candidates: int = 2,
) -> tuple[Predictor, float]:
    """Choose a predictor for ``x[start:end]`` (``x`` float64; samples before ``start`` are the
    history the predictor sees).

    For each window of ``_windows``, one Levinson-Durbin recursion on the windowed
    autocorrelation gives every order up to ``max_order``; the ``candidates`` orders with the
    lowest estimated cost (Gaussian entropy of the Levinson error plus ``precision + 2`` bits
    per coefficient) are quantized and priced on the actual residual (partitioned Laplacian
    estimate, ``quantsig.kernels.lpc.residual_cost``; with a residual ``step`` on a simulated
    closed loop, ``quantsig.kernels.lpc.closed_loop_cost``); the cheapest predictor,
    order 0 included, wins.

    Returns
    -------
    (Predictor, float)
        The predictor and its estimated cost in bits (residual plus coefficients).

    Examples
    --------
    A sampled sinusoid obeys ``y[i] = 2 cos(w) y[i-1] - y[i-2]``, which an order-2
    predictor finds (here ``w = 1/8``, ``2 cos(w) = 1.984``):

    >>> import numpy as np
    >>> from quantsig.predictors import analyze
    >>> x = np.round(1000 * np.sin(np.arange(400) / 8))
    >>> p, bits = analyze(x, 0, 400, max_order=2)
    >>> p.order, p.float_coefs().round(2)
    (2, array([ 1.98, -1.  ]))
    >>> bool(bits < 400 * 4)  # under 4 bits per sample, where the samples span 11 bits
    True

    White noise has nothing to predict: order 0.

    >>> noise = np.random.default_rng(0).normal(0, 100, 400).round()
    >>> analyze(noise, 0, 400)[0].order
    0
    """
    n = end - start
    out = np.empty(max(max_order, 1), np.int64)
    scratch = np.empty(x.size) if step is not None else np.empty(0)
    cost, order, shift = _k.best_predictor(
        x,
        start,
        end,
        _window_stack(n),
        np.int64(max_order),
        np.int64(precision),
        np.int64(_MAX_SHIFT),
        float(step) if step is not None else -1.0,
        np.int64(candidates),
        scratch,
        out,
    )
    if order == 0:
        return ZERO, float(cost)
    return Predictor(out[:order].copy(), int(shift)), float(cost)
