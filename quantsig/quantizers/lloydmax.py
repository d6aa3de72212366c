"""Lloyd-Max scalar quantizer: the MSE-optimal (locally) non-uniform scalar quantizer."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import integrate, linalg

from .._validation import as_float_array, as_sample_weight, check_int, report_nonfinite
from ..errors import ConvergenceWarning
from ..kernels import lloyd as _k
from ..kernels import search as _search
from ..registry import register_quantizer
from .base import Quantizer
from .threshold import ThresholdQuantizer

__all__ = ["LloydMaxQuantizer"]


@register_quantizer
class LloydMaxQuantizer(ThresholdQuantizer):
    """Lloyd-Max quantizer: levels at the centroids of their cells, thresholds at midpoints.

    ``fit(x)`` runs the exact 1-D Lloyd iteration on the (weighted) samples until the
    partition no longer changes, i.e. to an exact fixed point of Lloyd's map, which for
    log-concave data is the MSE-optimal fixed-rate quantizer. ``fit_distribution(dist)`` does
    the same for a frozen ``scipy.stats`` distribution by numerical integration, reproducing
    Max's (1960) tables.

    How it is fast: the samples are grouped into float buckets in one O(n) pass (no full
    sort); a bucket is sorted only when a threshold lands in it, so each Lloyd iteration costs
    O(levels log n). Newton steps on Lloyd's fixed-point equations (the Jacobian is tridiagonal
    and needs only the density at the thresholds) replace the thousands of plain iterations
    Lloyd needs at 32 levels, with plain iterations finishing exactly.

    Parameters
    ----------
    levels : int
        Number of reconstruction levels (2 to 65,536).
    max_iter : int
        Limit on plain Lloyd iterations after the Newton phase; reaching it warns with
        ``ConvergenceWarning``.

    Attributes
    ----------
    thresholds_ : ndarray of shape (levels - 1,)
        Sorted decision thresholds; code ``i`` covers ``[thresholds_[i-1], thresholds_[i])``.
    levels_ : ndarray of shape (levels,)
        Sorted reconstruction levels.
    distortion_ : float
        MSE of the fitted quantizer on its training data (weighted) or distribution.
    n_iter_ : int
        Newton plus plain Lloyd iterations used by the last fit.

    Examples
    --------
    >>> from scipy import stats
    >>> from quantsig import LloydMaxQuantizer
    >>> q = LloydMaxQuantizer(4).fit_distribution(stats.norm())
    >>> q.levels_.round(4)
    array([-1.5104, -0.4528,  0.4528,  1.5104])
    >>> round(q.distortion_, 7)
    0.1174818
    """

    codec_id = "lloyd-max"
    _learned = ("thresholds_", "levels_")
    requires_fit = True

    def __init__(self, levels: int = 16, max_iter: int = 100_000) -> None:
        self.levels = check_int(levels, "levels", low=2, high=65536)
        self.max_iter = check_int(max_iter, "max_iter", low=1)
        self.clip = True

    # ``levels`` is the parameter (a count); the learned values are ``levels_``.
    def _tables(self) -> tuple[np.ndarray, np.ndarray]:
        return self.thresholds_, self.levels_

    @property
    def n_levels(self) -> int:
        """Number of reconstruction levels (the ``levels`` parameter)."""
        return self.levels

    def _set_learned(self, learned: dict[str, Any]) -> None:
        self._install_tables(learned["thresholds_"], learned["levels_"], self.levels)

    # ------------------------------------------------------------------ fitting
    def fit(self, x: Any, sample_weight: Any = None) -> LloydMaxQuantizer:
        """Fit to samples: exact Lloyd fixed point on the weighted data.

        Parameters
        ----------
        x : array_like of float32 or float64
            Training samples, any shape (flattened), finite.
        sample_weight : array_like, optional
            Non-negative weight per sample (same number of values as ``x``).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            NaN/Inf in ``x``, bad weights, or fewer distinct values (of positive weight)
            than ``levels``.
        """
        arr = as_float_array(x)
        flat = np.ascontiguousarray(arr, dtype=np.float64).reshape(-1)
        w = as_sample_weight(sample_weight, flat.size)
        if w is None:
            w = np.ones(flat.size)
        src = _SampleSource(flat, w)
        report_nonfinite(src.n_nonfinite)
        y0 = src.initial_levels(self.levels)
        if y0 is None:
            distinct = src.n_distinct()
            raise ValueError(
                f"x has {distinct} distinct value(s) of positive weight; "
                f"LloydMaxQuantizer(levels={self.levels}) needs at least {self.levels}"
            )
        y, n_newton = _newton_lloyd(src, y0, tol=1e-6, max_iter=40)
        src.make_exact(y)
        iters, converged, n_empty = src.finish(y, self.max_iter)
        if n_empty:
            distinct = src.n_distinct()
            if distinct < self.levels:
                raise ValueError(
                    f"x has {distinct} distinct value(s) of positive weight; "
                    f"LloydMaxQuantizer(levels={self.levels}) needs at least {self.levels}"
                )
            y = _respread_empty(src, y, self.levels)
            more, converged, n_empty = src.finish(y, self.max_iter)
            iters += more
        if not converged:
            warnings.warn(
                f"Lloyd iteration did not reach a fixed point in max_iter={self.max_iter} "
                "iterations; the quantizer is usable but not exactly optimal",
                ConvergenceWarning,
                stacklevel=2,
            )
        y = np.sort(y)
        self._install_tables(0.5 * (y[:-1] + y[1:]), y)
        self.distortion_ = src.distortion(y) / src.total0
        self.n_iter_ = n_newton + iters
        return self

    def fit_distribution(self, dist: Any, tol: float = 1e-13) -> LloydMaxQuantizer:
        """Fit to a frozen ``scipy.stats`` continuous distribution (finite variance).

        Solves Lloyd's fixed-point equations (levels at cell centroids, thresholds at
        midpoints) by Newton's method with exact tridiagonal Jacobian, integrating the
        partial moments numerically (closed forms for the normal and Laplace laws).

        Parameters
        ----------
        dist : frozen scipy.stats distribution
            E.g. ``scipy.stats.norm()``, ``scipy.stats.laplace(scale=2**-0.5)``.
        tol : float
            Stop when no level moves by more than ``tol`` times the standard deviation.

        Returns
        -------
        self

        Examples
        --------
        >>> from scipy import stats
        >>> from quantsig import LloydMaxQuantizer
        >>> q = LloydMaxQuantizer(2).fit_distribution(stats.norm())
        >>> float(q.levels_[1].round(6))  # sqrt(2 / pi)
        0.797885
        """
        src = _DistributionSource(dist)
        y0 = src.initial_levels(self.levels)
        y, n_iter = _newton_lloyd(src, y0, tol=tol, max_iter=200)
        self._install_tables(0.5 * (y[:-1] + y[1:]), y)
        self.distortion_ = src.distortion(y)
        self.n_iter_ = n_iter
        return self

    @classmethod
    def _conformance_bad_params(cls) -> list[dict[str, Any]]:
        return [{"levels": 1}, {"levels": 0}, {"levels": 2.5}, {"levels": 70000}, {"max_iter": 0}]

    @classmethod
    def _conformance_instances(cls) -> list[Quantizer]:
        return [cls(2), cls(16), cls(5)]

    def _conformance_data(self, rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        return rng.standard_normal(size=shape).astype(dtype)


# ---------------------------------------------------------------------------- sources
class _SampleSource:
    """Partial sums of weighted samples through the bucket kernels.

    Starts approximate (bucket sums, weight spread evenly inside a bucket); after
    ``make_exact`` it answers exactly, collecting the samples of any further bucket a
    threshold lands in.
    """

    _edges: np.ndarray | None = None

    def __init__(self, x: np.ndarray, w: np.ndarray) -> None:
        if _SampleSource._edges is None:
            _SampleSource._edges = _k.bucket_edges(_k.SHIFT)
        self.edges = _SampleSource._edges
        self.x, self.w = x, w
        cnt, a0, a1, a2, n_bad = _k.bucket_histogram(x, w, self.edges, _k.SHIFT)
        self.n_nonfinite = int(n_bad)
        if n_bad:
            return
        e = self.edges[:-1]
        self.total0 = float(a0.sum())
        self.ref = float((a1.sum() + np.dot(e, a0)) / self.total0)
        d = e - self.ref
        self.cnt, self.a0 = cnt, a0
        self.c0 = np.concatenate(([0.0], np.cumsum(a0)))
        self.c1 = np.concatenate(([0.0], np.cumsum(a1 + d * a0)))
        self.total1 = float(self.c1[-1])
        self.q2 = a2 + 2 * d * a1 + d * d * a0  # per-bucket second moment about ref
        self.second = float(np.sum(self.q2))
        used = np.flatnonzero(a0 > 0)
        self.lo = float(self.edges[used[0]])
        self.hi = float(self.edges[used[-1] + 1])
        self.scale = max(self.hi - self.lo, 1e-300)
        self.off = np.full(cnt.size, -1, np.int64)
        self.exact = False

    # -- sums ---------------------------------------------------------------
    def sums(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ts = np.ascontiguousarray(ts, dtype=np.float64)
        s0 = np.empty(ts.size)
        s1 = np.empty(ts.size)
        if not self.exact:
            _k.approx_sums_at(ts, self.edges, self.a0, self.c0, self.c1, self.ref, _k.SHIFT, s0, s1)
            return s0, s1
        pos = np.empty(ts.size, np.int64)
        missing = np.empty(ts.size, np.int64)
        while True:
            k = _k.sums_at(
                ts, self.off, self.cnt, self.xs, self.c0, self.c1, self.p0, self.p1, _k.SHIFT, s0, s1, pos, missing
            )
            if not k:
                return s0, s1
            self._collect(missing[:k])

    def density(self, ts: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Weight per unit length at ``ts`` from the bucket sums (a window of the cell scale)."""
        gaps = np.diff(y)
        near = np.minimum(gaps, np.minimum(np.append(gaps[1:], np.inf), np.insert(gaps[:-1], 0, np.inf)))
        h = np.maximum(0.25 * near, 1e-12 * self.scale)
        up = np.empty(ts.size)
        down = np.empty(ts.size)
        scratch = np.empty(ts.size)
        _k.approx_sums_at(ts + h, self.edges, self.a0, self.c0, self.c1, self.ref, _k.SHIFT, up, scratch)
        _k.approx_sums_at(ts - h, self.edges, self.a0, self.c0, self.c1, self.ref, _k.SHIFT, down, scratch)
        return (up - down) / (2 * h)

    # -- exact phase ----------------------------------------------------------
    def make_exact(self, y: np.ndarray, frac: float = 0.01, extra: np.ndarray | None = None) -> None:
        """Collect the buckets within ``frac`` of a cell width of each threshold of ``y``
        (plus ``extra`` buckets) and switch to exact sums."""
        t = 0.5 * (y[:-1] + y[1:])
        gaps = np.diff(y)
        near = np.minimum(gaps, np.minimum(np.append(gaps[1:], np.inf), np.insert(gaps[:-1], 0, np.inf)))
        delta = frac * near
        lo_b = _search.float_buckets(t - delta, _k.SHIFT)
        hi_b = _search.float_buckets(t + delta, _k.SHIFT)
        marks = [np.arange(a, b + 1) for a, b in zip(lo_b, hi_b)]
        if extra is not None:
            marks.append(np.asarray(extra, dtype=np.int64))
        self.exact = True
        self._collect(np.concatenate(marks))

    def _collect(self, buckets: np.ndarray) -> None:
        marked = self.off >= 0
        marked[np.asarray(buckets, dtype=np.int64)] = True
        marked &= self.cnt > 0
        off = np.full(self.cnt.size, -1, np.int64)
        sizes = np.where(marked, self.cnt, 0)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        off[marked] = starts[marked]
        m = int(sizes.sum())
        xs = np.empty(m, dtype=self.x.dtype)
        ws = np.empty(m)
        _k.collect(self.x, self.w, _k.SHIFT, off, xs, ws)
        # Buckets were laid out in increasing order and hold disjoint, increasing value
        # ranges, so one stable sort of the collected values sorts every bucket in place.
        order = np.argsort(xs, kind="stable")
        xs = xs[order]
        ws = ws[order]
        # exclusive prefix sums restarting at each bucket
        c0 = np.concatenate(([0.0], np.cumsum(ws)))
        c1 = np.concatenate(([0.0], np.cumsum(ws * (xs - self.ref))))
        seg_start = np.repeat(starts[marked], sizes[marked])
        p0 = c0[:-1] - c0[seg_start]
        p1 = c1[:-1] - c1[seg_start]
        self.off, self.xs, self.ws, self.p0, self.p1 = off, xs, ws, p0, p1

    def finish(self, y: np.ndarray, max_iter: int) -> tuple[int, bool, int]:
        """Plain Lloyd to an exact fixed point (collecting buckets on demand)."""
        total = 0
        frac = 0.01
        missing = np.empty(y.size, np.int64)
        while True:
            it, status, empty = _k.lloyd_finish(
                y,
                self.off,
                self.cnt,
                self.xs,
                self.c0,
                self.c1,
                self.p0,
                self.p1,
                self.ref,
                _k.SHIFT,
                max_iter - total,
                missing,
            )
            total += int(it)
            if status >= 0:
                return total, bool(status == 1), int(empty)
            # widen the collected window each time a threshold escapes it: O(log) passes
            frac = min(2 * frac, 0.5)
            self.make_exact(np.sort(y), frac, missing[:-status])

    # -- helpers ----------------------------------------------------------------
    def initial_levels(self, levels: int) -> np.ndarray | None:
        """Starting levels: the globally optimal quantizer of the bucket histogram.

        Buckets are merged into at most ``64 * levels`` bins of equal ``p**(1/3)`` measure
        (the optimal high-rate point density, so bins are fine where levels will be dense),
        and 1-D k-means is solved exactly on the bins by dynamic programming. Lloyd's
        iteration on the samples then starts in the right basin instead of a poor local
        optimum (which quantile starts fall into on peaky or heavy-tailed data).
        Returns None when the data has fewer distinct values than ``levels``.
        """
        used = np.flatnonzero(self.a0 > 0)
        e = self.edges
        width = e[used + 1] - e[used]
        w = self.a0[used]
        s = self.c1[used + 1] - self.c1[used]
        q2 = self.q2[used]
        bins_max = max(64 * levels, 2048)
        if used.size > bins_max:
            with np.errstate(divide="ignore", invalid="ignore"):
                pd = np.cbrt(np.where(width > 0, w / np.where(width > 0, width, 1.0), w)) * np.where(
                    width > 0, width, 1.0
                )
            cum = np.cumsum(pd)
            group = np.minimum((cum / cum[-1] * bins_max).astype(np.int64), bins_max - 1)
            group = np.concatenate(([0], np.cumsum(np.diff(group) > 0)))
            ng = int(group[-1]) + 1
            w = np.bincount(group, weights=w, minlength=ng)
            s = np.bincount(group, weights=s, minlength=ng)
            q2 = np.bincount(group, weights=q2, minlength=ng)
        if w.size >= levels:
            starts = _k.optimal_partition(w, s, q2, levels)
            assert np.all(np.diff(starts) > 0)  # every cell holds at least one bin
            y = self.ref + np.add.reduceat(s, starts) / np.add.reduceat(w, starts)
            if np.all(np.diff(y) > 0):
                return y
        # fewer bins than levels, or tied starts (discrete data): spread over the distinct values
        values = self.distinct_values()
        if values.size < levels:
            return None
        return values[np.linspace(0, values.size - 1, levels).round().astype(np.int64)]

    def distinct_values(self) -> np.ndarray:
        return np.unique(self.x[self.w > 0]).astype(np.float64)

    def n_distinct(self) -> int:
        return int(self.distinct_values().size)

    def distortion(self, y: np.ndarray) -> float:
        return _distortion(self, y)


class _DistributionSource:
    """Partial moments of a frozen scipy.stats distribution."""

    def __init__(self, dist: Any) -> None:
        if not hasattr(dist, "cdf") or not hasattr(dist, "pdf") or not hasattr(dist, "dist"):
            raise TypeError("dist must be a frozen scipy.stats continuous distribution, e.g. stats.norm()")
        mean, var = (float(v) for v in dist.stats(moments="mv"))
        if not (np.isfinite(mean) and np.isfinite(var) and var > 0):
            raise ValueError(f"dist must have a finite mean and a positive finite variance (got {mean}, {var})")
        self.dist = dist
        self.ref = mean
        self.scale = float(np.sqrt(var))
        self.total0 = 1.0
        self.total1 = 0.0
        self.second = var
        self.support = tuple(float(v) for v in dist.support())
        self.name = getattr(dist.dist, "name", "")
        args, kwds = dist.args, dist.kwds
        self.loc = float(kwds.get("loc", args[0] if len(args) > 0 else 0.0))
        self.sc = float(kwds.get("scale", args[1] if len(args) > 1 else 1.0))

    def sums(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ts = np.asarray(ts, dtype=np.float64)
        s0 = self.dist.cdf(ts)
        z = (ts - self.loc) / self.sc
        if self.name == "norm":
            s1 = -self.sc * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
        elif self.name == "laplace":
            s1 = np.where(
                z < 0,
                0.5 * self.sc * np.exp(np.minimum(z, 0)) * (z - 1),
                -0.5 * self.sc * np.exp(-np.maximum(z, 0)) * (z + 1),
            )
        else:
            s1 = np.cumsum(self._cell_moments(ts))
        return s0, s1

    def _cell_moments(self, ts: np.ndarray) -> np.ndarray:
        """First moments (about the mean) of the cells ending at each threshold."""
        edges = np.concatenate(([self.support[0]], ts))
        f = lambda v: (v - self.ref) * self.dist.pdf(v)
        out = np.empty(ts.size)
        for i in range(ts.size):
            val, _ = integrate.quad(f, edges[i], edges[i + 1], limit=200, epsabs=1e-14, epsrel=1e-12)
            out[i] = val
        return out

    def density(self, ts: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.dist.pdf(ts)

    def initial_levels(self, levels: int) -> np.ndarray:
        return self.dist.ppf((np.arange(levels) + 0.5) / levels)

    def distortion(self, y: np.ndarray) -> float:
        return _distortion(self, y)


def _cells(src: Any, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mass and first moment (about ``src.ref``) of each cell of levels ``y``."""
    t = 0.5 * (y[:-1] + y[1:])
    s0, s1 = src.sums(t)
    c0 = np.diff(np.concatenate(([0.0], s0, [src.total0])))
    c1 = np.diff(np.concatenate(([0.0], s1, [src.total1])))
    return c0, c1


def _distortion(src: Any, y: np.ndarray) -> float:
    m0, m1 = _cells(src, y)
    d = y - src.ref
    return float(src.second - 2 * np.dot(d, m1) + np.dot(d * d, m0))


def _newton_lloyd(src: Any, y: np.ndarray, tol: float = 1e-9, max_iter: int = 60) -> tuple[np.ndarray, int]:
    """Newton's method on Lloyd's fixed-point map ``G(y) = centroids(midpoint cells of y)``.

    Each step is checked against the plain Lloyd step ``G(y)`` (which never increases the
    distortion); the better of the two is kept, so the iteration is monotone.
    """
    y = np.array(y, dtype=np.float64)
    L = y.size
    for it in range(max_iter):
        m0, m1 = _cells(src, y)
        if (m0 <= 0).any():
            return y, it
        g = src.ref + m1 / m0
        if np.max(np.abs(g - y)) <= tol * src.scale:
            return g, it + 1
        t = 0.5 * (y[:-1] + y[1:])
        q = src.density(t, y)
        # dG_i/dt_i and dG_{i+1}/dt_i
        b = q * (t - g[:-1]) / m0[:-1]
        a = q * (g[1:] - t) / m0[1:]
        ab = np.zeros((3, L))
        ab[0, 1:] = -0.5 * b  # super-diagonal: -dG_i/dy_{i+1}
        ab[1, :] = 1.0
        ab[1, :-1] -= 0.5 * b
        ab[1, 1:] -= 0.5 * a
        ab[2, :-1] = -0.5 * a  # sub-diagonal: -dG_{i+1}/dy_i
        try:
            step = linalg.solve_banded((1, 1), ab, g - y)
        except (linalg.LinAlgError, ValueError):
            y = g
            continue
        # damped Newton: the longest of 1, 1/2, 1/4 of the step that keeps the levels
        # ordered, no cell empty, and the distortion below that of the current levels
        d_now = src.second - 2 * np.dot(y - src.ref, m1) + np.dot((y - src.ref) ** 2, m0)
        for alpha in (1.0, 0.5, 0.25):
            yn = y + alpha * step
            if np.all(np.isfinite(yn)) and np.all(np.diff(yn) > 0):
                n0, _ = _cells(src, yn)
                if (n0 > 0).all() and _distortion(src, yn) < d_now:
                    break
        else:
            yn = g
        y = yn
    return y, max_iter


def _respread_empty(src: _SampleSource, y: np.ndarray, levels: int) -> np.ndarray:
    """Move the levels of empty cells to split the cells of largest distortion."""
    y = np.sort(y)
    for _ in range(levels):
        m0, _m1 = _cells(src, y)
        empty = np.flatnonzero(m0 <= 0)
        if empty.size == 0:
            break
        keep = np.delete(y, empty[0])
        k0, k1 = _cells(src, keep)
        widths = np.diff(np.concatenate(([src.lo], 0.5 * (keep[:-1] + keep[1:]), [src.hi])))
        j = int(np.argmax(widths * (k0 > 0)))
        new = keep[j] + 0.25 * widths[j] * (1 if keep[j] < src.ref + k1[j] / max(k0[j], 1e-300) else -1)
        y = np.sort(np.append(keep, new))
    return y
