"""Group-wise scaling of weight matrices: per-group statistics, scale searches, normalisation.

A matrix ``w`` of shape ``(rows, cols)`` is cut along each row into groups of ``gs``
consecutive values (the last group of a row may be shorter); group ``(r, g)`` covers
``w[r, g*gs : min((g+1)*gs, cols)]``. Per-group arrays have shape ``(rows, ceil(cols/gs))``.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["group_stats", "symmetric_scales", "affine_scales", "normalize", "denormalize", "error_stats"]


@jit
def group_stats(w: np.ndarray, gs: int, absmax: np.ndarray, rms: np.ndarray) -> None:
    """Largest absolute value and root mean square of each group."""
    rows, cols = w.shape
    ng = absmax.shape[1]
    for r in range(rows):
        for g in range(ng):
            a = 0.0
            s = 0.0
            c1 = min((g + 1) * gs, cols)
            for c in range(g * gs, c1):
                v = float(w[r, c])
                s += v * v
                if abs(v) > a:
                    a = abs(v)
            absmax[r, g] = a
            rms[r, g] = np.sqrt(s / (c1 - g * gs))


@jit
def symmetric_scales(w: np.ndarray, gs: int, qmax: int, deltas: np.ndarray, out: np.ndarray) -> None:
    """Least-squares scales of symmetric integer grids ``k in [-qmax, qmax - 1]``.

    For each group and each candidate ``iscale = +-(qmax + delta) / absmax``: codes
    ``k = clamp(round(w * iscale))``, then the scale minimising ``sum (w - s k)**2`` for those
    codes, ``s = sum(w k) / sum(k k)``; the candidate with the least squared error wins. Both
    signs are tried so the extra negative level serves whichever side holds the extreme value
    (as in GGUF's Q4_0). Groups of zeros get scale 0.
    """
    rows, cols = w.shape
    ng = out.shape[1]
    buf = np.empty(gs)
    lo = -float(qmax)
    hi = float(qmax - 1)
    for r in range(rows):
        row = w[r]
        for g in range(ng):
            c0 = g * gs
            n = min(c0 + gs, cols) - c0
            a = 0.0
            sww = 0.0
            for j in range(n):
                v = float(row[c0 + j])
                buf[j] = v
                a = max(a, abs(v))
                sww += v * v
            if a == 0.0:
                out[r, g] = 0.0
                continue
            best_err = np.inf
            best = 0.0
            for t in range(2 * deltas.size):
                sign = 1.0 if t % 2 else -1.0
                iscale = sign * (qmax + deltas[t // 2]) / a
                swk = 0.0
                skk = 0.0
                for j in range(n):
                    k = min(max(np.floor(buf[j] * iscale + 0.5), lo), hi)
                    swk += buf[j] * k
                    skk += k * k
                if skk > 0.0:
                    err = sww - swk * swk / skk  # sum (w - s k)^2 at the least-squares s
                    if err < best_err:
                        best_err = err
                        best = swk / skk
            out[r, g] = best


@jit
def affine_scales(w: np.ndarray, gs: int, levels: int, iters: int, scale: np.ndarray, offset: np.ndarray) -> None:
    """Scale and offset of affine grids ``offset + scale * k``, ``k in [0, levels - 1]``.

    Starts from the group's min/max (as GGUF's Q4_1) and alternates rounding with the
    least-squares fit of ``(offset, scale)`` to the codes, keeping the best fit seen.
    """
    rows, cols = w.shape
    ng = scale.shape[1]
    top = levels - 1
    for r in range(rows):
        for g in range(ng):
            c0 = g * gs
            c1 = min(c0 + gs, cols)
            n = c1 - c0
            lo = np.inf
            hi = -np.inf
            for c in range(c0, c1):
                v = float(w[r, c])
                lo = min(lo, v)
                hi = max(hi, v)
            if hi == lo:
                scale[r, g] = 0.0
                offset[r, g] = lo
                continue
            s = (hi - lo) / top
            m = lo
            best_err = np.inf
            best_s = s
            best_m = m
            for _ in range(iters):
                sk = 0.0
                skk = 0.0
                sw = 0.0
                swk = 0.0
                sww = 0.0
                for c in range(c0, c1):
                    v = float(w[r, c])
                    k = np.floor((v - m) / s + 0.5)
                    if k < 0:
                        k = 0.0
                    elif k > top:
                        k = float(top)
                    sk += k
                    skk += k * k
                    sw += v
                    swk += v * k
                    sww += v * v
                det = n * skk - sk * sk
                if det <= 0:
                    break
                s_new = (n * swk - sk * sw) / det
                m_new = (sw - s_new * sk) / n
                err = (
                    sww
                    + n * m_new * m_new
                    + s_new * s_new * skk
                    - 2 * m_new * sw
                    - 2 * s_new * swk
                    + 2 * m_new * s_new * sk
                )
                if err < best_err:
                    best_err = err
                    best_s = s_new
                    best_m = m_new
                if s_new <= 0:
                    break
                s = s_new
                m = m_new
            scale[r, g] = best_s
            offset[r, g] = best_m


@jit
def normalize(w: np.ndarray, gs: int, scale: np.ndarray, offset: np.ndarray, out: np.ndarray) -> None:
    """``out = (w - offset) / scale`` per group (0 where the scale is 0); ``offset`` may be
    empty (no offsets)."""
    rows, cols = w.shape
    ng = scale.shape[1]
    has_off = offset.size > 0
    for r in range(rows):
        for g in range(ng):
            s = scale[r, g]
            o = offset[r, g] if has_off else 0.0
            c1 = min((g + 1) * gs, cols)
            if s == 0:
                for c in range(g * gs, c1):
                    out[r, c] = 0.0
            else:
                for c in range(g * gs, c1):
                    out[r, c] = (w[r, c] - o) / s


@jit
def denormalize(u: np.ndarray, gs: int, scale: np.ndarray, offset: np.ndarray, out: np.ndarray) -> None:
    """``out = u * scale + offset`` per group (the inverse of ``normalize``)."""
    rows, cols = u.shape
    ng = scale.shape[1]
    has_off = offset.size > 0
    for r in range(rows):
        for g in range(ng):
            s = scale[r, g]
            o = offset[r, g] if has_off else 0.0
            for c in range(g * gs, min((g + 1) * gs, cols)):
                out[r, c] = u[r, c] * s + o


@jit
def error_stats(w: np.ndarray, w_hat: np.ndarray, out: np.ndarray) -> None:
    """``out = [sum (w - w_hat)**2, sum w**2, max |w - w_hat|]`` over flat arrays, in float64."""
    sse = 0.0
    ss = 0.0
    mx = 0.0
    for i in range(w.size):
        v = float(w[i])
        d = v - float(w_hat[i])
        sse += d * d
        ss += v * v
        mx = max(mx, abs(d))
    out[0] = sse
    out[1] = ss
    out[2] = mx
