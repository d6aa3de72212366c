"""Uniform (scalar) quantizer kernels.

Level index ``i`` reconstructs to ``base + i * step``. Encode works on the offset
``u = (x - center) * inv_step`` from a reconstruction level ``center`` (index ``i_center``):

* mid-tread: ``i = i_center + sign(u) * floor(|u| + rounding)``; ``rounding = 0.5`` rounds half
  away from zero, a smaller value widens the dead zone around ``center``;
* mid-rise: ``i = floor((x - lo) * inv_step)`` (cells closed on the left).

Bounded encoders clip the input to ``[lo, hi]`` and return how many inputs lay outside it
(NaN and infinities included), in the same pass. Unbounded encoders return how many
results fall outside int32.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = [
    "encode_bounded_midtread",
    "encode_bounded_midrise",
    "encode_unbounded_midtread",
    "encode_unbounded_midrise",
    "decode_affine",
]


@jit
def encode_bounded_midtread(x, lo, hi, center, inv_step, i_center, half, out):
    """Mid-tread encode with clipping; returns how many ``x`` are not in ``[lo, hi]``.

    ``k = trunc(|u|) + (frac(|u|) >= half)`` with ``u = (x - center) * inv_step`` and
    ``half = 1 - rounding``: exact round-half-away-from-zero for ``half = 1/2`` (no
    ``floor(|u| + 1/2)`` double rounding). Arithmetic is in the type of the scalars: the caller
    passes float32 scalars only when float32 is provably exact (centre 0, power-of-two step).
    NaN and infinities are never in ``[lo, hi]`` (finite bounds), so they are counted too;
    the caller tells the kinds apart on that rare path. Samples are clipped to ``[lo, hi]``
    first, so the level index stays in range by construction and the loop needs no clamp.
    """
    n_out = 0
    for j in range(x.size):
        v = x[j]
        n_out += not ((v >= lo) & (v <= hi))
        v = min(hi, max(lo, v))  # lo first: max(lo, NaN) is lo (NaN is counted above)
        u = (v - center) * inv_step
        a = np.abs(u)
        t = np.trunc(a)
        k = t + (a - t >= half)
        out[j] = i_center + np.int64(np.copysign(k, u))
    return n_out


@jit
def encode_bounded_midrise(x, lo, hi, inv_step, top, out):
    """Mid-rise encode with clipping; returns how many ``x`` are not in ``[lo, hi]``."""
    n_out = 0
    ftop = float(top)
    for j in range(x.size):
        v = np.float64(x[j])
        n_out += not ((v >= lo) & (v <= hi))
        v = min(hi, max(lo, v))  # lo first: max(lo, NaN) is lo (NaN is counted above)
        out[j] = np.int64(min(np.floor((v - lo) * inv_step), ftop))
    return n_out


@jit
def encode_unbounded_midtread(x, inv_step, half, limit, out):
    """Mid-tread encode to int32 around zero; returns how many codes would leave int32.

    Rounding as in ``encode_bounded_midtread`` (``half = 1 - rounding``); ``limit`` (of
    the scalars' type) bounds ``|x / step|``: 2**31 - 1 in float64, 2**31 in float32 (whose
    values at that size are integers at most 2**31 - 128). NaN and infinities are counted
    too (the caller tells the kinds apart).
    """
    n_out = 0
    for j in range(x.size):
        u = x[j] * inv_step
        n_out += not (np.abs(u) < limit)
        u = min(limit, max(-limit, u))  # -limit first: NaN becomes -limit (counted above)
        a = np.abs(u)
        t = np.trunc(a)
        out[j] = np.int64(np.copysign(t + (a - t >= half), u))
    return n_out


@jit
def encode_unbounded_midrise(x, inv_step, out):
    """Mid-rise encode to int32 (``floor(x / step)``); returns how many codes would leave int32."""
    n_out = 0
    limit = 2147483647.0
    for j in range(x.size):
        u = np.float64(x[j]) * inv_step
        n_out += not (np.abs(u) < limit)
        u = min(limit, max(-limit, u))  # -limit first: NaN becomes -limit (counted above)
        out[j] = np.int64(np.floor(u))
    return n_out


@jit
def decode_affine(codes, base, step, low, high, out):
    """``out = base + codes * step`` for codes in ``[low, high]``; returns the count outside.

    Out-of-range codes are written as ``base + low * step`` and counted; the caller raises.
    """
    n_bad = 0
    for j in range(codes.size):
        c = codes[j]
        ok = (c >= low) & (c <= high)
        n_bad += not ok
        c = c if ok else low
        out[j] = base + float(c) * step
    return n_bad
