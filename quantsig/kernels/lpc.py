"""Linear-prediction kernels: windowed autocorrelation, Levinson-Durbin, closed-loop coding.

Closed loop: every prediction is made from the *reconstructed* past (what the decoder will
have), so the decoder reproduces the encoder's reconstruction exactly. Coefficients are
integers ``c[j]`` with a right shift ``shift``; on integer data the prediction is
``(sum c[j] * y[i-1-j]) >> shift`` in int64 (bit exact everywhere), on float data
``sum (c[j] * 2**-shift) * y[i-1-j]`` in float64, evaluated in the same order by the encoder
and the decoder (one shared inline function). Samples before the start of the array count as 0.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit

__all__ = [
    "autocorr",
    "levinson",
    "encode_int",
    "decode_int",
    "encode_float",
    "decode_float",
]


@jit
def autocorr(x, window, max_lag, out):
    """``out[k] = sum_i w[i]x[i] * w[i+k]x[i+k]`` for ``k <= max_lag`` (``x``, ``window`` float64)."""
    n = x.size
    y = np.empty(n)
    for i in range(n):
        y[i] = x[i] * window[i]
    for k in range(max_lag + 1):
        s = 0.0
        for i in range(k, n):
            s += y[i] * y[i - k]
        out[k] = s


@jit
def levinson(r, max_order, coefs, err):
    """Levinson-Durbin: ``coefs[p-1, :p]`` predicts ``x[i]`` as ``sum_j coefs[p-1, j] x[i-1-j]``;
    ``err[p]`` is the prediction error energy of order ``p``. Returns the highest usable order."""
    a = np.zeros(max_order + 1)
    tmp = np.zeros(max_order + 1)
    e = r[0]
    err[0] = e
    if e <= 0.0:
        return 0
    for p in range(1, max_order + 1):
        acc = r[p]
        for j in range(1, p):
            acc -= a[j] * r[p - j]
        k = acc / e
        if not (abs(k) < 1.0):
            return p - 1
        for j in range(1, p):
            tmp[j] = a[j] - k * a[p - j]
        for j in range(1, p):
            a[j] = tmp[j]
        a[p] = k
        e *= 1.0 - k * k
        err[p] = e
        for j in range(p):
            coefs[p - 1, j] = a[j + 1]
        if e <= 0.0:
            return p
    return max_order


@jit(inline="always")
def _pred_int(coefs, order, shift, y, i):
    acc = np.int64(0)
    for j in range(order):
        k = i - 1 - j
        if k < 0:
            break
        acc += coefs[j] * y[k]
    return acc >> shift


@jit
def encode_int(x, start, end, coefs, order, shift, step, lo, hi, y, q):
    """Closed-loop coding of integer samples ``x[start:end]`` (int64) with an odd integer ``step``.

    ``q[i] = round((x[i] - pred) / step)``, ``y[i] = clip(pred + step*q[i], lo, hi)``: so
    ``|y - x| <= step // 2`` (0 when ``step == 1``: lossless).
    """
    half = step // 2
    for i in range(start, end):
        pred = _pred_int(coefs, order, shift, y, i)
        d = x[i] - pred
        if step == 1:
            qi = d
        else:
            qi = (d + half) // step
        r = pred + qi * step
        if r < lo:
            r = lo
        elif r > hi:
            r = hi
        q[i] = qi
        y[i] = r


@jit
def decode_int(q, start, end, coefs, order, shift, step, lo, hi, y):
    """Inverse of :func:`encode_int`: fills ``y[start:end]``."""
    for i in range(start, end):
        pred = _pred_int(coefs, order, shift, y, i)
        r = pred + q[i] * step
        if r < lo:
            r = lo
        elif r > hi:
            r = hi
        y[i] = r


@jit(inline="always")
def _pred_float(coefs, order, y, i):
    acc = 0.0
    for j in range(order):
        k = i - 1 - j
        if k < 0:
            break
        acc += coefs[j] * y[k]
    return acc


@jit(inline="always")
def _round_out(v, f32):
    if f32:
        return np.float64(np.float32(v))
    return v


_QMAX = float(1 << 52)


@jit
def encode_float(x, start, end, coefs, order, step, bound, f32, y, q, exc):
    """Closed-loop coding of float samples with a uniform residual step.

    The reconstruction is rounded to the output dtype (float32 when ``f32``) before it is
    checked: a sample whose rounded reconstruction would miss ``|y - x| <= bound`` (or whose
    code would exceed 2**52) is an *exception*: ``exc[i] = 1``, ``q[i] = 0`` and ``y[i] = x[i]``
    (the caller stores ``x[i]`` verbatim). Returns the number of exceptions.
    """
    n_exc = 0
    for i in range(start, end):
        pred = _pred_float(coefs, order, y, i)
        t = (x[i] - pred) / step
        exc[i] = 0
        ok = False
        qi = 0
        if abs(t) < _QMAX:
            qf = math.floor(t + 0.5)
            for delta in (0.0, -1.0, 1.0):
                cand = qf + delta
                r = _round_out(pred + cand * step, f32)
                if abs(r - x[i]) <= bound:
                    qi = np.int64(cand)
                    y[i] = r
                    ok = True
                    break
        if not ok:
            exc[i] = 1
            q[i] = 0
            y[i] = x[i]
            n_exc += 1
        else:
            q[i] = qi
    return n_exc


@jit
def decode_float(q, start, end, coefs, order, step, f32, exc_pos, exc_val, y):
    """Inverse of :func:`encode_float`; ``exc_pos`` (ascending, within ``[start, end)``) and
    ``exc_val`` give the verbatim samples. Returns -1 if the exceptions are inconsistent."""
    e = 0
    ne = exc_pos.size
    for i in range(start, end):
        if e < ne and exc_pos[e] == i:
            y[i] = exc_val[e]
            e += 1
            continue
        pred = _pred_float(coefs, order, y, i)
        y[i] = _round_out(pred + np.float64(q[i]) * step, f32)
    if e != ne:
        return -1
    return 0
