"""Exact 1-D Lloyd iteration on weighted samples in O(n), without sorting the data.

Samples are grouped by float bucket (the monotone float32-bit buckets of
``quantsig.kernels.search``: 65,536 buckets, each 1/128 of an octave wide).

1. ``bucket_histogram``, one pass: per-bucket weight ``a0``, and first/second moments
   about the bucket's lower edge ``e_b`` (small numbers, so no cancellation later).
2. The fit first converges on these bucket sums (cheap, approximate inside a bucket).
3. ``collect``, one pass: copies only the samples of *marked* buckets, those near the
   current thresholds; the caller sorts them (one stable sort: buckets hold disjoint increasing ranges) and forms
   prefix sums restarting at each bucket.
4. ``sums_at`` then gives the exact ``S0(t) = sum w over x < t`` and
   ``S1(t) = sum w (x - ref) over x < t`` for any ``t`` in a collected bucket, and
   ``lloyd_finish`` runs plain Lloyd iterations (O(levels log n) each) to an exact fixed
   point, reporting any bucket it still needs so the caller can collect it and resume.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from .search import CHUNK, float32_chunk
from .search import _bucket as _key

__all__ = [
    "SHIFT",
    "bucket_edges",
    "bucket_histogram",
    "collect",
    "sums_at",
    "approx_sums_at",
    "lloyd_finish",
]

SHIFT = 16


def bucket_edges(shift: int = SHIFT) -> np.ndarray:
    """Lower value edge of each bucket (``nb + 1`` values; non-finite edges replaced by 0)."""
    nb = 1 << (32 - shift)
    keys = (np.arange(nb + 1, dtype=np.uint64) << np.uint64(shift)).clip(0, 0xFFFFFFFF)
    neg = keys < 0x80000000
    bits = np.where(neg, keys ^ 0xFFFFFFFF, keys & 0x7FFFFFFF).astype(np.uint32)
    with np.errstate(invalid="ignore", over="ignore"):
        vals = bits.view(np.float32).astype(np.float64)
    vals[-1] = np.inf
    vals[~np.isfinite(vals)] = 0.0
    vals[-1] = vals[-2]
    return vals


@jit
def _bucket_of(v, shift):
    f = np.empty(1, np.float32)
    f[0] = v
    return _key(f.view(np.uint32)[0], shift)


@jit
def bucket_histogram(x, w, edges, shift):
    """Per-bucket ``cnt``, ``a0 = sum w``, ``a1 = sum w (x - e_b)``, ``a2 = sum w (x - e_b)^2``.

    Returns ``(cnt, a0, a1, a2, n_nonfinite)``.
    """
    n = x.size
    nb = 1 << (32 - shift)
    cnt = np.zeros(nb, np.int64)
    a0 = np.zeros(nb)
    a1 = np.zeros(nb)
    a2 = np.zeros(nb)
    buf = np.empty(CHUNK, np.float32)
    ubuf = buf.view(np.uint32)
    n_bad = 0
    for s0 in range(0, n, CHUNK):
        m = float32_chunk(x, s0, buf)
        for j in range(m):
            v = x[s0 + j]
            n_bad += not (np.abs(v) < np.inf)
            b = _key(ubuf[j], shift)
            wj = w[s0 + j]
            d = v - edges[b]
            cnt[b] += 1
            a0[b] += wj
            a1[b] += wj * d
            a2[b] += wj * d * d
    return cnt, a0, a1, a2, n_bad


@jit
def collect(x, w, shift, off, xs, ws):
    """Copy the samples of buckets with ``off[b] >= 0`` to ``xs[off[b]:...]`` (one pass)."""
    fill = off.copy()
    buf = np.empty(CHUNK, np.float32)
    ubuf = buf.view(np.uint32)
    n = x.size
    for s0 in range(0, n, CHUNK):
        m = float32_chunk(x, s0, buf)
        for j in range(m):
            b = _key(ubuf[j], shift)
            p = fill[b]
            if p >= 0:
                xs[p] = x[s0 + j]
                ws[p] = w[s0 + j]
                fill[b] = p + 1


@jit
def sums_at(ts, off, cnt, xs, c0, c1, p0, p1, shift, s0, s1, pos, missing):
    """Exact sums over ``x < t`` for each ``t``; returns how many buckets were not collected.

    ``pos[i]`` identifies the split (bucket * 2**32 + rank in bucket) so callers can tell
    whether a partition changed. Missing buckets are written to ``missing``.
    """
    n_missing = 0
    for i in range(ts.size):
        t = ts[i]
        b = _bucket_of(t, shift)
        a = off[b]
        if a < 0:
            if cnt[b] == 0:  # empty bucket: the split is at its edge
                s0[i] = c0[b]
                s1[i] = c1[b]
                pos[i] = b << 32
                continue
            missing[n_missing] = b
            n_missing += 1
            continue
        lo = a
        hi = a + cnt[b]
        while lo < hi:  # first element >= t
            mid = (lo + hi) >> 1
            if xs[mid] < t:
                lo = mid + 1
            else:
                hi = mid
        pos[i] = (b << 32) + (lo - a)
        if lo < a + cnt[b]:
            s0[i] = c0[b] + p0[lo]
            s1[i] = c1[b] + p1[lo]
        else:
            s0[i] = c0[b + 1]
            s1[i] = c1[b + 1]
    return n_missing


@jit
def approx_sums_at(ts, edges, a0, c0, c1, ref, shift, s0, s1):
    """Sums over ``x < t`` assuming each bucket's weight is spread evenly over its width."""
    for i in range(ts.size):
        t = ts[i]
        b = _bucket_of(t, shift)
        lo = edges[b]
        hi = edges[b + 1]
        frac = (t - lo) / (hi - lo) if hi > lo else 0.0
        frac = min(max(frac, 0.0), 1.0)
        s0[i] = c0[b] + frac * a0[b]
        s1[i] = c1[b] + frac * a0[b] * (0.5 * (lo + t) - ref)


@jit
def lloyd_finish(y, off, cnt, xs, c0, c1, p0, p1, ref, shift, max_iter, missing):
    """Plain Lloyd iterations on exact sums until the partition stops changing.

    ``y`` (sorted levels) is updated in place. Returns ``(iterations, status, n_empty)``:
    status 1 = converged, 0 = max_iter reached, -k = ``k`` buckets in ``missing`` must be
    collected before resuming.
    """
    L = y.size
    ts = np.empty(L - 1)
    s0 = np.empty(L - 1)
    s1 = np.empty(L - 1)
    pos = np.empty(L - 1, np.int64)
    prev = np.full(L - 1, -1, np.int64)
    tw = c0[-1]
    tw1 = c1[-1]
    n_empty = 0
    for it in range(max_iter):
        for i in range(L - 1):
            ts[i] = 0.5 * (y[i] + y[i + 1])
        k = sums_at(ts, off, cnt, xs, c0, c1, p0, p1, shift, s0, s1, pos, missing)
        if k:
            return it, -k, n_empty
        same = it > 0
        for i in range(L - 1):
            if pos[i] != prev[i]:
                same = False
            prev[i] = pos[i]
        if same:
            return it, 1, n_empty
        n_empty = 0
        for i in range(L):
            lo0 = s0[i - 1] if i > 0 else 0.0
            lo1 = s1[i - 1] if i > 0 else 0.0
            hi0 = s0[i] if i < L - 1 else tw
            hi1 = s1[i] if i < L - 1 else tw1
            m = hi0 - lo0
            if m > 0:
                y[i] = ref + (hi1 - lo1) / m
            else:
                n_empty += 1
    return max_iter, 0, n_empty


@jit
def _sse(pw, ps, pq, i, j):
    """Weighted squared error of merging bins ``i..j`` (inclusive) into one cell."""
    w = pw[j + 1] - pw[i]
    if w <= 0.0:
        return 0.0
    s = ps[j + 1] - ps[i]
    return max(pq[j + 1] - pq[i] - s * s / w, 0.0)


@jit
def optimal_partition(w, s, q, levels):
    """Globally optimal partition of ordered bins into ``levels`` cells (1-D k-means by DP).

    ``w, s, q`` are each bin's weight, first and second moment (about a common reference).
    Dynamic programming over cells, each layer solved by divide and conquer on the
    monotone optimal split (the squared-error cost is a Monge array), O(levels m log m).
    Returns the index of the first bin of each cell (``levels`` values, first is 0).
    """
    m = w.size
    pw = np.zeros(m + 1)
    ps = np.zeros(m + 1)
    pq = np.zeros(m + 1)
    for j in range(m):
        pw[j + 1] = pw[j] + w[j]
        ps[j + 1] = ps[j] + s[j]
        pq[j + 1] = pq[j] + q[j]
    prev = np.empty(m)
    cur = np.empty(m)
    arg = np.zeros((levels, m), np.int32)
    for j in range(m):
        prev[j] = _sse(pw, ps, pq, 0, j)
    # explicit stack of (j_lo, j_hi, opt_lo, opt_hi) for the divide and conquer
    stack = np.empty((64 + 2 * m, 4), np.int64)
    for k in range(1, levels):
        for j in range(k):
            cur[j] = np.inf
        top = 0
        stack[0, 0] = k
        stack[0, 1] = m - 1
        stack[0, 2] = k
        stack[0, 3] = m - 1
        top = 1
        while top > 0:
            top -= 1
            jl = stack[top, 0]
            jh = stack[top, 1]
            ol = stack[top, 2]
            oh = stack[top, 3]
            if jl > jh:
                continue
            jm = (jl + jh) >> 1
            best = np.inf
            bi = ol
            hi = min(jm, oh)
            for i in range(ol, hi + 1):  # cell k starts at bin i
                c = prev[i - 1] + _sse(pw, ps, pq, i, jm)
                if c < best:
                    best = c
                    bi = i
            cur[jm] = best
            arg[k, jm] = bi
            stack[top, 0] = jl
            stack[top, 1] = jm - 1
            stack[top, 2] = ol
            stack[top, 3] = bi
            top += 1
            stack[top, 0] = jm + 1
            stack[top, 1] = jh
            stack[top, 2] = bi
            stack[top, 3] = oh
            top += 1
        for j in range(m):
            prev[j] = cur[j]
    starts = np.zeros(levels, np.int64)
    j = m - 1
    for k in range(levels - 1, 0, -1):
        i = arg[k, j]
        starts[k] = i
        j = i - 1
    return starts
