"""Uniform (scalar) quantizer kernels.

Level index ``i`` reconstructs to ``base + i * step``. Encode works on the offset
``u = (x - center) * inv_step`` from a reconstruction level ``center`` (index ``i_center``):

* mid-tread: ``i = i_center + sign(u) * floor(|u| + rounding)``; ``rounding = 0.5`` rounds half
  away from zero, a smaller value widens the dead zone around ``center``;
* mid-rise: ``i = floor((x - lo) * inv_step)`` (cells closed on the left).

Bounded encoders clip ``i`` to ``[0, n_levels - 1]`` and return how many inputs lay outside
``[lo, hi]`` and how many were NaN/Inf, in the same pass. Unbounded encoders return how many
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
def encode_bounded_midtread(x, lo, hi, center, inv_step, i_center, rounding, top, out):
    """Mid-tread encode with clipping; returns ``(n_out_of_range, n_nonfinite)``."""
    n_out = 0
    n_bad = 0
    ftop = float(top)
    fic = float(i_center)
    for j in range(x.size):
        v = x[j]
        n_bad += not (np.abs(v) < np.inf)
        n_out += (v < lo) | (v > hi)
        u = (v - center) * inv_step
        k = np.floor(np.abs(u) + rounding)
        f = fic + (k if u >= 0 else -k)
        f = min(max(f, 0.0), ftop)
        out[j] = int(f) if f == f else 0
    return n_out, n_bad


@jit
def encode_bounded_midrise(x, lo, hi, inv_step, top, out):
    """Mid-rise encode with clipping; returns ``(n_out_of_range, n_nonfinite)``."""
    n_out = 0
    n_bad = 0
    ftop = float(top)
    for j in range(x.size):
        v = x[j]
        n_bad += not (np.abs(v) < np.inf)
        n_out += (v < lo) | (v > hi)
        f = np.floor((v - lo) * inv_step)
        f = min(max(f, 0.0), ftop)
        out[j] = int(f) if f == f else 0
    return n_out, n_bad


@jit
def encode_unbounded_midtread(x, inv_step, rounding, out):
    """Mid-tread encode to int32 around zero; returns ``(n_overflow, n_nonfinite)``."""
    n_out = 0
    n_bad = 0
    big = 2147483647.0
    for j in range(x.size):
        v = x[j]
        n_bad += not (np.abs(v) < np.inf)
        u = v * inv_step
        k = np.floor(np.abs(u) + rounding)
        f = k if u >= 0 else -k
        n_out += (f > big) | (f < -big - 1.0)
        f = min(max(f, -big - 1.0), big)
        out[j] = int(f) if f == f else 0
    return n_out, n_bad


@jit
def encode_unbounded_midrise(x, inv_step, out):
    """Mid-rise encode to int32 (``floor(x / step)``); returns ``(n_overflow, n_nonfinite)``."""
    n_out = 0
    n_bad = 0
    big = 2147483647.0
    for j in range(x.size):
        v = x[j]
        n_bad += not (np.abs(v) < np.inf)
        f = np.floor(v * inv_step)
        n_out += (f > big) | (f < -big - 1.0)
        f = min(max(f, -big - 1.0), big)
        out[j] = int(f) if f == f else 0
    return n_out, n_bad


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
