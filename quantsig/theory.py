"""What theory allows: rate-distortion bounds and classical quantizer asymptotes (MSE distortion).

Rates are in bits per sample, distortions are mean squared errors in the data's units.

* ``gaussian_rate`` / ``gaussian_distortion``: the Gaussian rate-distortion function
  ``R(D) = max(0, 1/2 log2(sigma**2 / D))`` and its inverse ``D(R) = sigma**2 2**(-2R)``.
* ``shannon_lower_bound`` / ``shannon_lower_bound_distortion``: ``R(D) >=
  h(X) - 1/2 log2(2 pi e D)`` for any source with a differential entropy ``h`` (any frozen
  ``scipy.stats`` distribution); tight for the Gaussian.
* ``ECSQ_GAP_BITS`` / ``ECSQ_GAP_DB``: at high rate a uniform scalar quantizer with
  ideal entropy coding sits ``1/2 log2(pi e / 6) = 0.2546`` bit (1.533 dB) above the Shannon
  lower bound; ``ecsq_high_rate_distortion`` gives that distortion.
* ``lloyd_max_distortion``: the MSE of the optimal fixed-rate scalar quantizer with ``N``
  levels (``quantsig.LloydMaxQuantizer.fit_distribution``).
* ``panter_dite_distortion``: its high-resolution asymptote
  ``(1 / (12 N**2)) (integral of f**(1/3))**3``.

Examples
--------
>>> from scipy import stats
>>> round(gaussian_distortion(1.0), 4)                       # 6.02 dB per bit
0.25
>>> round(ECSQ_GAP_DB, 3), round(ECSQ_GAP_BITS, 4)
(1.533, 0.2546)
>>> round(lloyd_max_distortion(stats.norm(), 4), 4)          # Max (1960): 0.1175
0.1175
>>> round(panter_dite_distortion(stats.norm(), 1) * 2 / (3 ** 0.5 * 3.141592653589793), 6)
1.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "gaussian_rate",
    "gaussian_distortion",
    "differential_entropy_bits",
    "shannon_lower_bound",
    "shannon_lower_bound_distortion",
    "ECSQ_GAP_BITS",
    "ECSQ_GAP_DB",
    "ecsq_high_rate_distortion",
    "lloyd_max_distortion",
    "panter_dite_distortion",
]

#: High-rate gap of entropy-coded uniform scalar quantization above the Shannon lower bound.
ECSQ_GAP_BITS = 0.5 * math.log2(math.pi * math.e / 6.0)
#: The same gap in distortion, dB (the "1.53 dB" of the space-filling loss of a cube).
ECSQ_GAP_DB = 10.0 * math.log10(math.pi * math.e / 6.0)


def _positive(value: Any, name: str) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return a


def _rate(value: Any) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"rate must be finite and >= 0, got {value!r}")
    return a


def _out(a: np.ndarray) -> Any:
    return float(a) if a.ndim == 0 else a


def gaussian_rate(distortion: Any, variance: float = 1.0) -> Any:
    """``R(D)`` of a Gaussian source of ``variance``, in bits per sample (0 for ``D >= variance``).

    Examples
    --------
    >>> gaussian_rate(0.25)
    1.0
    """
    d = _positive(distortion, "distortion")
    v = float(_positive(variance, "variance"))
    return _out(np.maximum(0.0, 0.5 * np.log2(v / d)))


def gaussian_distortion(rate: Any, variance: float = 1.0) -> Any:
    """``D(R) = variance * 2**(-2R)`` of a Gaussian source.

    Examples
    --------
    >>> gaussian_distortion([0.0, 2.0])
    array([1.    , 0.0625])
    """
    r = _rate(rate)
    v = float(_positive(variance, "variance"))
    return _out(v * np.exp2(-2.0 * r))


def differential_entropy_bits(dist: Any) -> float:
    """Differential entropy of a frozen ``scipy.stats`` distribution, in bits.

    Examples
    --------
    >>> from scipy import stats
    >>> round(differential_entropy_bits(stats.norm()), 6)   # 1/2 log2(2 pi e)
    2.047096
    """
    if not hasattr(dist, "entropy"):
        raise TypeError(f"dist must be a frozen scipy.stats distribution, got {type(dist).__name__}")
    h = float(dist.entropy()) / math.log(2.0)
    if not math.isfinite(h):
        raise ValueError(f"{dist!r} has no finite differential entropy")
    return h


def shannon_lower_bound(distortion: Any, dist: Any) -> Any:
    """``max(0, h(X) - 1/2 log2(2 pi e D))``: a lower bound on ``R(D)`` for any source.

    Examples
    --------
    >>> from scipy import stats
    >>> round(shannon_lower_bound(0.25, stats.norm()), 12)   # tight for the Gaussian
    1.0
    >>> lap = stats.laplace(scale=2 ** -0.5)                  # unit variance
    >>> round(shannon_lower_bound(0.25, lap), 4)              # below the Gaussian's 1 bit
    0.8956
    """
    d = _positive(distortion, "distortion")
    h = differential_entropy_bits(dist)
    return _out(np.maximum(0.0, h - 0.5 * np.log2(2.0 * math.pi * math.e * d)))


def shannon_lower_bound_distortion(rate: Any, dist: Any) -> Any:
    """The distortion at which ``shannon_lower_bound`` equals ``rate``:
    ``2**(2 (h - R)) / (2 pi e)`` (a lower bound on ``D(R)``, tight at high rate).

    Parameters
    ----------
    rate : float or array_like
        Bits per sample (finite, >= 0).
    dist : frozen scipy.stats distribution
        The source; it needs a finite differential entropy.

    Returns
    -------
    float or ndarray
        Mean squared error, in the data's units squared (an array for an array of rates).

    Examples
    --------
    For a Gaussian source the bound is its ``D(R) = sigma**2 2**(-2R)`` exactly:

    >>> import numpy as np
    >>> from scipy import stats
    >>> round(shannon_lower_bound_distortion(2.0, stats.norm()), 12)       # 2**-4
    0.0625
    >>> rates = np.array([0.5, 1.0, 2.0, 3.0])
    >>> bool(np.allclose(shannon_lower_bound_distortion(rates, stats.norm()), 2.0 ** (-2 * rates)))
    True
    >>> round(shannon_lower_bound_distortion(2.0, stats.norm(scale=3.0)), 12)   # sigma**2 = 9
    0.5625

    Any other law of the same variance has less differential entropy, so its bound lies
    below the Gaussian's (``gaussian_distortion`` is an upper bound on ``D(R)`` at that variance):

    >>> lap = stats.laplace(scale=2**-0.5)                                  # unit variance
    >>> round(shannon_lower_bound_distortion(2.0, lap) / gaussian_distortion(2.0), 4)
    0.8653
    """
    r = _rate(rate)
    h = differential_entropy_bits(dist)
    return _out(np.exp2(2.0 * (h - r)) / (2.0 * math.pi * math.e))


def ecsq_high_rate_distortion(rate: Any, dist: Any) -> Any:
    """High-rate MSE of a uniform quantizer with ideal entropy coding at ``rate``:
    ``2**(2 (h - R)) / 12``, i.e. ``ECSQ_GAP_DB`` above the Shannon lower bound.

    Examples
    --------
    >>> from scipy import stats
    >>> import math
    >>> ratio = ecsq_high_rate_distortion(6.0, stats.norm()) / shannon_lower_bound_distortion(6.0, stats.norm())
    >>> round(10 * math.log10(ratio), 4)
    1.5329
    """
    r = _rate(rate)
    h = differential_entropy_bits(dist)
    return _out(np.exp2(2.0 * (h - r)) / 12.0)


def lloyd_max_distortion(dist: Any, levels: int) -> float:
    """MSE of the optimal ``levels``-level scalar quantizer for ``dist`` (Lloyd-Max).

    Examples
    --------
    >>> from scipy import stats
    >>> round(lloyd_max_distortion(stats.norm(), 2), 4)   # 1 - 2/pi
    0.3634
    """
    from .quantizers.lloydmax import LloydMaxQuantizer

    q = LloydMaxQuantizer(levels).fit_distribution(dist)
    return float(q.distortion_)


def panter_dite_distortion(dist: Any, levels: Any) -> Any:
    """Panter-Dite high-resolution MSE of the optimal fixed-rate quantizer:
    ``(integral of f(x)**(1/3) dx)**3 / (12 N**2)``.

    Examples
    --------
    >>> from scipy import stats
    >>> round(panter_dite_distortion(stats.norm(), 8), 5)   # sqrt(3) pi / 2 / 64
    0.04251
    """
    from scipy import integrate

    n = _positive(levels, "levels")
    lo, hi = (float(v) for v in dist.support())  # infinite limits are fine: f**(1/3) decays
    mid = float(dist.median())
    parts = [
        integrate.quad(lambda t: float(dist.pdf(t)) ** (1.0 / 3.0), a, b, limit=200, epsabs=0, epsrel=1e-12)[0]
        for a, b in ((lo, mid), (mid, hi))
    ]
    c = sum(parts) ** 3 / 12.0
    return _out(c / n**2)
