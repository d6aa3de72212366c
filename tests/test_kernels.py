"""Kernels against plain NumPy references (run also with NUMBA_DISABLE_JIT=1 in CI)."""

import itertools

import numpy as np
import pytest

from quantsig.kernels import lloyd, search, uniform

RNG = np.random.default_rng(0)


def sign_floor(u, r):
    return np.sign(u) * np.floor(np.abs(u) + r)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_bounded_midtread(dtype):
    x = RNG.uniform(-1.2, 1.2, 2000).astype(dtype)
    lo, hi, L = -1.0, 1.0, 16
    step = (hi - lo) / (L - 1)
    i_c = int(np.floor(-lo / step + 0.5))
    center = lo + i_c * step
    out = np.empty(x.size, np.uint8)
    n_out = uniform.encode_bounded_midtread(x, lo, hi, center, 1 / step, i_c, 0.7, out)
    xc = np.clip(x.astype(np.float64), lo, hi)
    ref = np.clip(i_c + sign_floor((xc - center) / step, 0.3), 0, L - 1)
    np.testing.assert_array_equal(out, ref)
    assert n_out == np.sum((x < lo) | (x > hi))
    bad = np.array([np.nan, np.inf, 0.0], dtype=dtype)
    assert uniform.encode_bounded_midtread(bad, lo, hi, center, 1 / step, i_c, 0.5, out[:3]) == 2


def test_uniform_midtread_ties_are_exact():
    # 0.5 - 2**-54 would round up with floor(|u| + 0.5); the kernel must not
    x = np.array([0.5 - 2.0**-54, 0.5, -0.5, 1.5, -(0.5 - 2.0**-54), 2.5 - 2.0**-51])
    out = np.empty(x.size, np.int64)
    uniform.encode_bounded_midtread(x, -8.0, 8.0, 0.0, 1.0, 8, 0.5, out)
    np.testing.assert_array_equal(out - 8, [0, 1, -1, 2, 0, 2])


def test_uniform_bounded_midrise_and_unbounded():
    x = RNG.normal(0, 3, 2000)
    out = np.empty(x.size, np.uint16)
    n_out = uniform.encode_bounded_midrise(x, -4.0, 4.0, 1 / 0.5, 15, out)
    np.testing.assert_array_equal(out, np.clip(np.floor((x + 4) / 0.5), 0, 15))
    assert n_out == np.sum(np.abs(x) > 4)
    o32 = np.empty(x.size, np.int32)
    uniform.encode_unbounded_midtread(x, 1 / 0.1, 0.5, 2.0**31 - 1, o32)  # half = 0.5
    np.testing.assert_array_equal(o32, sign_floor(x / 0.1, 0.5))
    uniform.encode_unbounded_midrise(x, 1 / 0.1, o32)
    np.testing.assert_array_equal(o32, np.floor(x / 0.1))


def test_uniform_kernels_count_nonfinite_and_overflow():
    x = np.array([0.0, np.nan, np.inf, -np.inf, 1e12, -1e12, 3.0])
    out = np.empty(x.size, np.int32)
    assert uniform.encode_unbounded_midtread(x, 1.0, 0.5, 2.0**31 - 1, out) == 5  # half = 1 - rounding
    assert uniform.encode_unbounded_midrise(x, 1.0, out) == 5
    assert out[-1] == 3 and out[0] == 0


def test_decode_affine_checks_codes():
    codes = np.array([0, 5, 9, -1, 10])
    out = np.empty(5)
    n_bad = uniform.decode_affine(codes, 1.0, 0.5, 0, 9, out)
    assert n_bad == 2
    np.testing.assert_array_equal(out[:3], [1.0, 3.5, 5.5])


def test_bucket_histogram_and_exact_sums():
    x = np.concatenate([RNG.standard_normal(5000), [0.0, -0.0, 1e-40, 7.5]])
    w = RNG.uniform(0, 2, x.size)
    edges = lloyd.bucket_edges(lloyd.SHIFT)
    cnt, a0, a1, _a2, n_bad = lloyd.bucket_histogram(x, w, edges, lloyd.SHIFT)
    assert n_bad == 0 and cnt.sum() == x.size
    b = search.float_buckets(x)
    np.testing.assert_allclose(a0, np.bincount(b, weights=w, minlength=a0.size), rtol=1e-12)
    d = x - edges[b]
    np.testing.assert_allclose(a1, np.bincount(b, weights=w * d, minlength=a0.size), rtol=1e-10, atol=1e-14)
    # collect everything and compare exact partial sums with brute force
    ref = 0.1
    e = edges[:-1]
    c0 = np.concatenate(([0.0], np.cumsum(a0)))
    c1 = np.concatenate(([0.0], np.cumsum(a1 + (e - ref) * a0)))
    off = np.full(cnt.size, -1, np.int64)
    nz = cnt > 0
    off[nz] = np.concatenate(([0], np.cumsum(cnt[nz])[:-1]))
    xs = np.empty(x.size)
    ws = np.empty(x.size)
    lloyd.collect(x, w, lloyd.SHIFT, off, xs, ws)
    order = np.argsort(xs, kind="stable")  # as LloydMaxQuantizer does
    xs, ws = xs[order], ws[order]
    p0 = np.zeros(x.size)
    p1 = np.zeros(x.size)
    for b in np.flatnonzero(nz):
        a, z = off[b], off[b] + cnt[b]
        p0[a:z] = np.concatenate(([0.0], np.cumsum(ws[a:z])[:-1]))
        p1[a:z] = np.concatenate(([0.0], np.cumsum(ws[a:z] * (xs[a:z] - ref))[:-1]))
    ts = np.array([-1.0, 0.0, 1e-40, 0.3333, 2.0, x[10], 100.0, -100.0])
    s0 = np.empty(ts.size)
    s1 = np.empty(ts.size)
    pos = np.empty(ts.size, np.int64)
    missing = np.empty(ts.size, np.int64)
    assert lloyd.sums_at(ts, off, cnt, xs, c0, c1, p0, p1, lloyd.SHIFT, s0, s1, pos, missing) == 0
    for t, a, b_ in zip(ts, s0, s1):
        below = x < t
        assert a == pytest.approx(w[below].sum(), rel=1e-12, abs=1e-12)
        assert b_ == pytest.approx((w[below] * (x[below] - ref)).sum(), rel=1e-9, abs=1e-9)


def test_sums_at_reports_missing_buckets():
    x = np.array([1.0, 2.0, 3.0])
    w = np.ones(3)
    edges = lloyd.bucket_edges(lloyd.SHIFT)
    cnt, _a0, _a1, _a2, _ = lloyd.bucket_histogram(x, w, edges, lloyd.SHIFT)
    off = np.full(cnt.size, -1, np.int64)
    c = np.zeros(cnt.size + 1)
    out = np.empty(1)
    pos = np.empty(1, np.int64)
    missing = np.empty(1, np.int64)
    k = lloyd.sums_at(
        np.array([2.0]), off, cnt, np.empty(0), c, c, np.empty(0), np.empty(0), lloyd.SHIFT, out, out, pos, missing
    )
    assert k == 1 and missing[0] == search.float_buckets(np.array([2.0]))[0]


def brute_force_partition(w, s, q, levels):
    m = w.size
    best, arg = np.inf, None
    for cuts in itertools.combinations(range(1, m), levels - 1):
        starts = (0,) + cuts
        ends = cuts + (m,)
        cost = 0.0
        for a, b in zip(starts, ends):
            W, S, Q = w[a:b].sum(), s[a:b].sum(), q[a:b].sum()
            cost += Q - S * S / W
        if cost < best - 1e-12:
            best, arg = cost, starts
    return np.array(arg)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("levels", [2, 3, 4])
def test_optimal_partition_is_optimal(seed, levels):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.standard_t(2, 9))
    w = rng.uniform(0.5, 2, x.size)
    s, q = w * x, w * x * x
    got = lloyd.optimal_partition(w, s, q, levels)
    np.testing.assert_array_equal(got, brute_force_partition(w, s, q, levels))
