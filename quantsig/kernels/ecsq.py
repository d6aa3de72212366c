"""Entropy-constrained scalar quantizer design: the Lagrangian Lloyd iteration on sorted samples.

The iteration (Chou, Lookabaugh and Gray, 1989, in one dimension) minimises
``J = D + lam * R`` where ``D`` is the (weighted) mean squared error and ``R`` the mean code
length ``-log2 p_i`` in bits. Given levels ``y_i`` and code lengths ``l_i`` a sample goes to
the cell of least cost ``(x - y_i)**2 + lam * l_i``; every cost is a parabola of the same
curvature, so the cells are intervals in the order of the levels, bounded by the lower
envelope of the lines ``y_i**2 + lam*l_i - 2 y_i x``. Levels whose line never reaches the
envelope, or whose cell holds no weight, die. Then each level moves to its cell's centroid
and each length becomes ``-log2`` of its cell's share of the weight. Each of the three steps
can only lower ``J``.

The samples are sorted once; prefix sums of the weight and of its first and second moments
about the mean make each cell's mass, centroid and squared error an O(1) difference, so one
iteration costs O(levels log n) (a binary search per threshold).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["initial_cells", "lagrangian_lloyd"]


@jit
def _search_from(xs: np.ndarray, t: float, start: int) -> int:
    """Number of values of sorted ``xs`` below ``t``, known to be at least ``start``:
    galloping from ``start`` then binary search, O(log distance) and cache-friendly."""
    n = xs.size
    if start >= n or xs[start] >= t:
        return start
    step = 1
    lo = start + 1  # xs[lo - 1] < t
    hi = start + 1
    while hi < n and xs[hi] < t:
        lo = hi + 1
        step *= 2
        hi = start + step
    if hi > n:
        hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if xs[mid] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@jit
def initial_cells(xs: np.ndarray, ref: float, delta: float, offset: float, limit: int, out: np.ndarray) -> int:
    """Levels of the non-empty cells of a uniform grid (step ``delta``, a level at
    ``ref + (k + offset) * delta``) over sorted ``xs``, written to ``out``.

    Returns their number, or ``-1`` when it would exceed ``limit`` (``out`` holds ``limit``).
    """
    n = xs.size
    k = 0
    i = 0
    while i < n:
        b = np.floor((xs[i] - ref) / delta - offset + 0.5)
        if k == limit:
            return -1
        out[k] = ref + (b + offset) * delta
        k += 1
        # first sample of a later cell: search for the cell's upper edge from here
        edge = ref + (b + offset + 0.5) * delta
        j = _search_from(xs, edge, i)
        i = j if j > i else i + 1
    return k


@jit
def _envelope(y: np.ndarray, ln: np.ndarray, k: int, lam: float, keep: np.ndarray, ts: np.ndarray) -> int:
    """Indices (into ``y[:k]``, increasing) of the lines on the lower envelope, in ``keep``,
    and the crossing points between consecutive ones, in ``ts``. Returns their number."""
    m = 0
    for i in range(k):
        ai = y[i] * y[i] + lam * ln[i]
        lost = False
        while m > 0:
            j = keep[m - 1]
            aj = y[j] * y[j] + lam * ln[j]
            if y[i] <= y[j]:  # same slope (levels are increasing otherwise): the cheaper wins
                if ai < aj:
                    m -= 1
                    continue
                lost = True
                break
            t = (ai - aj) / (2.0 * (y[i] - y[j]))
            if m > 1 and t <= ts[m - 2]:
                m -= 1  # line j is never the lowest
                continue
            ts[m - 1] = t
            break
        if not lost:
            keep[m] = i
            m += 1
    return m


@jit
def lagrangian_lloyd(
    xs: np.ndarray,
    c0: np.ndarray,
    c1: np.ndarray,
    c2: np.ndarray,
    ref: float,
    y0: np.ndarray,
    lam: float,
    max_iter: int,
    tol: float,
    out_y: np.ndarray,
    out_t: np.ndarray,
    stats: np.ndarray,
) -> int:
    """Run the Lagrangian Lloyd iteration from levels ``y0`` (sorted, equal code lengths).

    ``c0``, ``c1``, ``c2``: prefix sums (length ``n + 1``) over sorted ``xs`` of the weight,
    weight * (x - ref) and weight * (x - ref)**2. Writes the final levels (centroids of the
    final cells) to ``out_y`` and the thresholds between them to ``out_t``; ``stats`` gets
    ``[D, R, J, iterations, converged]`` with ``D`` the weighted MSE and ``R`` the weighted
    entropy of the cells in bits. Returns the number of levels.
    """
    n = xs.size
    total = c0[n]
    k = y0.size
    y = y0.copy()
    ln = np.full(k, np.log2(k) if k > 1 else 0.0)
    keep = np.empty(k, np.int64)
    ts = np.empty(max(k, 1))
    ny = np.empty(k)
    nl = np.empty(k)
    nt = np.empty(max(k, 1))
    j_old = np.inf
    d = 0.0
    r = 0.0
    j_new = np.inf
    it = 0
    converged = 0
    kk = k
    while it < max_iter:
        it += 1
        m = _envelope(y, ln, kk, lam, keep, ts)
        # cells [ts[c-1], ts[c]) of the envelope lines; drop the empty ones
        sse = 0.0
        ent = 0.0
        lo = 0
        kept = 0
        for c in range(m):
            hi = n if c == m - 1 else _search_from(xs, ts[c], lo)
            w0 = c0[hi] - c0[lo]
            if w0 > 0:
                w1 = c1[hi] - c1[lo]
                w2 = c2[hi] - c2[lo]
                mean = w1 / w0
                e = w2 - w1 * mean
                sse += e if e > 0 else 0.0
                p = w0 / total
                ent -= p * np.log2(p)
                if kept > 0:
                    nt[kept - 1] = ts[c - 1]  # any point of the empty gap would do
                ny[kept] = ref + mean
                nl[kept] = -np.log2(p)
                kept += 1
            lo = hi
        d = sse / total
        r = ent
        j_new = d + lam * r
        kk = kept
        for c in range(kk):
            y[c] = ny[c]
            ln[c] = nl[c]
        for c in range(kk - 1):
            out_t[c] = nt[c]
        if j_old - j_new <= tol * j_new:
            converged = 1
            break
        j_old = j_new
    for c in range(kk):
        out_y[c] = y[c]
    stats[0] = d
    stats[1] = r
    stats[2] = j_new
    stats[3] = it
    stats[4] = converged
    return kk
