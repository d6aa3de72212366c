"""Vector-quantization kernels: exact nearest-codeword search and codebook gather.

Plain, validated, C-contiguous arrays in, plain arrays out (see ``quantsig.kernels``).

Nearest codeword
----------------
The distance is the squared Euclidean distance summed directly,
``((x_0 - c_0)**2 + (x_1 - c_1)**2) + ...`` in dimension order, in the dtype of the input
(float32 or float64), never the expanded ``|x|^2 - 2 x.c + |c|^2`` form: no cancellation, and
with no fused multiply-add or reassociation the result is bit-for-bit the same on every
machine, compiled or under ``NUMBA_DISABLE_JIT=1``. Ties go to the lowest codeword index.

Layout for speed: vectors are processed in tiles of ``_TILE``; each tile is transposed to
dimension-major (``xt[d, i]``) so that, for one codeword at a time, the loop over the tile's
vectors is a straight vectorizable pass that keeps a running (best distance, best index) per
vector with a branch-free select. Codewords are visited in increasing index order and only a
strictly smaller distance replaces the best, which gives lowest-index tie breaking for free.
Dimensions 1, 2, 4 and 8 have fused loops; other dimensions are zero-padded to the next of
4 or 8 (or a multiple of 4 above 8): a padded term adds ``(0 - 0)**2 = +0`` to a
non-negative sum, which leaves it unchanged, so padding is exact.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["nearest_codeword", "gather_codewords"]

#: Vectors per tile: the transposed tile, running minima and indices stay in L1 cache.
_TILE = 512


@jit
def _padded_dim(dim):
    if dim == 1 or dim == 2 or dim == 4 or dim == 8:
        return dim
    if dim < 8:
        return 4 if dim < 4 else 8
    return (dim + 3) // 4 * 4


@jit
def _scan1(x0, cb, nb, best, idx):
    for j in range(cb.shape[0]):
        c0 = cb[j, 0]
        for i in range(nb):
            t0 = x0[i] - c0
            s = t0 * t0
            b = best[i]
            m = s < b
            best[i] = s if m else b
            idx[i] = j if m else idx[i]


@jit
def _scan2(x0, x1, cb, nb, best, idx):
    for j in range(cb.shape[0]):
        c0 = cb[j, 0]
        c1 = cb[j, 1]
        for i in range(nb):
            t0 = x0[i] - c0
            t1 = x1[i] - c1
            s = t0 * t0 + t1 * t1
            b = best[i]
            m = s < b
            best[i] = s if m else b
            idx[i] = j if m else idx[i]


@jit
def _scan4(x0, x1, x2, x3, cb, nb, best, idx):
    for j in range(cb.shape[0]):
        c0 = cb[j, 0]
        c1 = cb[j, 1]
        c2 = cb[j, 2]
        c3 = cb[j, 3]
        for i in range(nb):
            t0 = x0[i] - c0
            t1 = x1[i] - c1
            t2 = x2[i] - c2
            t3 = x3[i] - c3
            s = t0 * t0 + t1 * t1 + t2 * t2 + t3 * t3
            b = best[i]
            m = s < b
            best[i] = s if m else b
            idx[i] = j if m else idx[i]


@jit
def _scan8(xt, cb, nb, best, idx):
    x0 = xt[0]
    x1 = xt[1]
    x2 = xt[2]
    x3 = xt[3]
    x4 = xt[4]
    x5 = xt[5]
    x6 = xt[6]
    x7 = xt[7]
    for j in range(cb.shape[0]):
        c0 = cb[j, 0]
        c1 = cb[j, 1]
        c2 = cb[j, 2]
        c3 = cb[j, 3]
        c4 = cb[j, 4]
        c5 = cb[j, 5]
        c6 = cb[j, 6]
        c7 = cb[j, 7]
        for i in range(nb):
            t0 = x0[i] - c0
            t1 = x1[i] - c1
            t2 = x2[i] - c2
            t3 = x3[i] - c3
            t4 = x4[i] - c4
            t5 = x5[i] - c5
            t6 = x6[i] - c6
            t7 = x7[i] - c7
            s = t0 * t0 + t1 * t1 + t2 * t2 + t3 * t3 + t4 * t4 + t5 * t5 + t6 * t6 + t7 * t7
            b = best[i]
            m = s < b
            best[i] = s if m else b
            idx[i] = j if m else idx[i]


@jit
def _scan_wide(xt, cb, nb, best, idx, dist):
    # Padded dimension, a multiple of 4 above 8: accumulate four terms per pass into
    # ``dist`` (still in dimension order), then one compare-and-select pass.
    dpad = cb.shape[1]
    for j in range(cb.shape[0]):
        for g in range(0, dpad, 4):
            x0 = xt[g]
            x1 = xt[g + 1]
            x2 = xt[g + 2]
            x3 = xt[g + 3]
            c0 = cb[j, g]
            c1 = cb[j, g + 1]
            c2 = cb[j, g + 2]
            c3 = cb[j, g + 3]
            if g == 0:
                for i in range(nb):
                    t0 = x0[i] - c0
                    t1 = x1[i] - c1
                    t2 = x2[i] - c2
                    t3 = x3[i] - c3
                    dist[i] = t0 * t0 + t1 * t1 + t2 * t2 + t3 * t3
            else:
                for i in range(nb):
                    t0 = x0[i] - c0
                    t1 = x1[i] - c1
                    t2 = x2[i] - c2
                    t3 = x3[i] - c3
                    dist[i] = dist[i] + t0 * t0 + t1 * t1 + t2 * t2 + t3 * t3
        for i in range(nb):
            s = dist[i]
            b = best[i]
            m = s < b
            best[i] = s if m else b
            idx[i] = j if m else idx[i]


@jit
def nearest_codeword(x, codebook, codes):
    """Write the index of the nearest codeword of each row of ``x`` into ``codes``.

    Parameters
    ----------
    x : ndarray, shape (n, dim), float32 or float64, C-contiguous
        The vectors.
    codebook : ndarray, shape (levels, dim), same dtype as ``x``, C-contiguous, finite
        The codewords; ``1 <= levels < 2**31``.
    codes : ndarray, shape (n,), unsigned integer wide enough for ``levels - 1``
        Output.

    Returns
    -------
    int
        How many values of ``x`` are NaN or +-Inf (their codes are meaningless; the caller
        raises). Counted in the same pass that reads ``x``.
    """
    n = x.shape[0]
    dim = x.shape[1]
    levels = codebook.shape[0]
    dpad = _padded_dim(dim)
    cb = np.zeros((levels, dpad), dtype=x.dtype)
    for j in range(levels):
        for d in range(dim):
            cb[j, d] = codebook[j, d]
    xt = np.zeros((dpad, _TILE), dtype=x.dtype)  # padded rows stay zero
    best = np.empty(_TILE, dtype=x.dtype)
    idx = np.empty(_TILE, dtype=np.int32)
    dist = np.empty(_TILE, dtype=x.dtype)
    n_bad = 0
    for start in range(0, n, _TILE):
        nb = min(_TILE, n - start)
        for i in range(nb):
            for d in range(dim):
                v = x[start + i, d]
                xt[d, i] = v
                if not abs(v) < np.inf:  # NaN compares False too
                    n_bad += 1
        for i in range(nb):
            best[i] = np.inf
            idx[i] = 0
        if dpad == 1:
            _scan1(xt[0], cb, nb, best, idx)
        elif dpad == 2:
            _scan2(xt[0], xt[1], cb, nb, best, idx)
        elif dpad == 4:
            _scan4(xt[0], xt[1], xt[2], xt[3], cb, nb, best, idx)
        elif dpad == 8:
            _scan8(xt, cb, nb, best, idx)
        else:
            _scan_wide(xt, cb, nb, best, idx, dist)
        for i in range(nb):
            codes[start + i] = idx[i]
    return n_bad


@jit
def gather_codewords(codes, codebook, out):
    """Write ``codebook[codes[i]]`` into ``out[i]``, range-checking every code.

    Parameters
    ----------
    codes : ndarray, shape (n,), any integer dtype except uint64 (view it as int64)
        Codes to decode.
    codebook : ndarray, shape (levels, dim), dtype of ``out``
        The codewords.
    out : ndarray, shape (n, dim), float32 or float64
        Output. Rows whose code is out of range are set to zero; nothing is read out of
        bounds.

    Returns
    -------
    (int, int)
        The number of codes outside ``[0, levels)`` and the position of the first one
        (-1 when there is none).
    """
    n = codes.shape[0]
    levels = codebook.shape[0]
    dim = codebook.shape[1]
    n_bad = 0
    first_bad = -1
    for i in range(n):
        c = codes[i]
        if c < 0 or c >= levels:
            if n_bad == 0:
                first_bad = i
            n_bad += 1
            for d in range(dim):
                out[i, d] = 0.0
        else:
            for d in range(dim):
                out[i, d] = codebook[c, d]
    return n_bad, first_bad
