"""The bucket-table threshold search against np.searchsorted, including hostile inputs."""

import numpy as np
import pytest

from quantsig.kernels import search

FMAX = float(np.finfo(np.float64).max)


def run(x, t, lo=-FMAX, hi=FMAX):
    t = np.ascontiguousarray(t, dtype=np.float64)
    start, probe, shift, simple = search.search_tables(t)
    out = np.empty(x.size, np.int64)
    ux = x.view(np.uint32) if x.dtype == np.float32 else np.empty(0, np.uint32)
    n_out = search.encode_thresholds(x, ux, t, start, probe, shift, simple, lo, hi, out)
    # the general (searching) path must agree with the fast one
    start2, probe2 = search.bucket_table(t, search.BUCKET_SHIFT)
    out2 = np.empty(x.size, np.int64)
    assert search.encode_thresholds(x, ux, t, start2, probe2, search.BUCKET_SHIFT, False, lo, hi, out2) == n_out
    np.testing.assert_array_equal(out, out2)
    return out, n_out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "thresholds",
    [
        np.linspace(-1, 1, 255),
        np.sort(np.random.default_rng(0).standard_normal(1000)),
        np.array([0.0]),
        np.array([-1e-30, 0.0, 1e-30, 1e30]),
        1 + np.arange(50) * 1e-9,  # fifty thresholds inside one bucket
        np.array([-np.finfo(np.float64).max, 5e-324, 1e300]),
    ],
)
@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_matches_searchsorted_right(dtype, thresholds):
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [
            rng.standard_normal(3000),
            thresholds,  # exact ties: cells are closed on the left
            np.nextafter(thresholds, 0.0),
            rng.choice(thresholds, 500) * rng.uniform(0.5, 1.5, 500),
            [0.0, -0.0, 1e-45, -1e-45, 3.4e38, -3.4e38],
        ]
    )
    x = x[np.isfinite(x.astype(dtype))].astype(dtype)
    ours, n_out = run(x, thresholds)
    np.testing.assert_array_equal(ours, np.searchsorted(thresholds, x.astype(np.float64), side="right"))
    assert n_out == 0


def test_counts_nonfinite_and_out_of_range_without_reading_out_of_bounds():
    t = np.linspace(-1, 1, 7)
    x = np.array([np.nan, np.inf, -np.inf, 2.0, -2.0, 0.5])
    out, n_out = run(x, t, -1.0, 1.0)
    assert n_out == 5  # NaN, +-inf and +-2
    _, n_unbounded = run(x, t)
    assert n_unbounded == 3  # NaN and +-inf are never inside finite bounds
    assert out.min() >= 0 and out.max() <= t.size


def test_gather_checks_codes():
    values = np.array([1.0, 2.0, 3.0])
    out = np.empty(4)
    n_bad = search.gather(np.array([0, 2, 3, -1]), values, out)
    assert n_bad == 2
    np.testing.assert_array_equal(out[:2], [1.0, 3.0])
