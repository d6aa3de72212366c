"""Lloyd-Max: Max's (1960) tables, exact fixed points on data, and scikit-learn as a peer."""

import numpy as np
import pytest
from scipy import integrate, stats

from quantsig import ConvergenceWarning, LloydMaxQuantizer

# Optimal fixed-rate MSE for unit-variance sources (fixed points of Max's algorithm).
GAUSS = {2: 0.3633802, 4: 0.1174818, 8: 0.03454776, 16: 0.009501008, 32: 0.002504668}
LAPLACE = {2: 0.5, 4: 0.1761949, 8: 0.05447599, 16: 0.01537253}


def mse_by_quadrature(q, dist):
    """Independent MSE: integrate (x - level)^2 p(x) over each cell of the quantizer."""
    lo, hi = dist.support()
    edges = np.concatenate(([lo], q.thresholds_, [hi]))
    total = 0.0
    for a, b, y in zip(edges[:-1], edges[1:], q.levels_):
        val, _ = integrate.quad(lambda v, y=y: (v - y) ** 2 * dist.pdf(v), a, b, epsabs=1e-15, epsrel=1e-12, limit=200)
        total += val
    return total


@pytest.mark.parametrize("levels, expected", sorted(GAUSS.items()))
def test_gaussian_table(levels, expected):
    dist = stats.norm()
    q = LloydMaxQuantizer(levels).fit_distribution(dist)
    assert mse_by_quadrature(q, dist) == pytest.approx(expected, rel=1e-5)
    assert q.distortion_ == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(q.levels_, -q.levels_[::-1], atol=1e-10)


@pytest.mark.parametrize("levels, expected", sorted(LAPLACE.items()))
def test_laplacian_table(levels, expected):
    dist = stats.laplace(scale=2**-0.5)
    q = LloydMaxQuantizer(levels).fit_distribution(dist)
    assert mse_by_quadrature(q, dist) == pytest.approx(expected, rel=1e-5)


def test_two_level_gaussian_is_the_half_normal_mean():
    q = LloydMaxQuantizer(2).fit_distribution(stats.norm(loc=3.0, scale=2.0))
    np.testing.assert_allclose(q.levels_, 3.0 + 2.0 * np.sqrt(2 / np.pi) * np.array([-1, 1]), rtol=1e-12)
    np.testing.assert_allclose(q.thresholds_, [3.0], atol=1e-12)


def test_uniform_source_gives_the_uniform_quantizer():
    q = LloydMaxQuantizer(8).fit_distribution(stats.uniform(-1, 2))
    np.testing.assert_allclose(q.levels_, -1 + (np.arange(8) + 0.5) / 4, atol=1e-9)


def test_generic_distribution_is_a_fixed_point():
    dist = stats.logistic()
    q = LloydMaxQuantizer(6).fit_distribution(dist)
    edges = np.concatenate(([-np.inf], q.thresholds_, [np.inf]))
    for a, b, y in zip(edges[:-1], edges[1:], q.levels_):
        m1, _ = integrate.quad(lambda v: v * dist.pdf(v), a, b)
        assert m1 / (dist.cdf(b) - dist.cdf(a)) == pytest.approx(y, abs=1e-9)
    np.testing.assert_allclose(q.thresholds_, 0.5 * (q.levels_[1:] + q.levels_[:-1]))


def test_distribution_errors():
    with pytest.raises(ValueError, match="variance"):
        LloydMaxQuantizer(4).fit_distribution(stats.cauchy())
    with pytest.raises(TypeError, match=r"scipy.stats"):
        LloydMaxQuantizer(4).fit_distribution("normal")


def assert_fixed_point(q, x, w=None):
    codes = q.encode(x).reshape(-1)
    w = np.ones(x.size) if w is None else w
    mass = np.bincount(codes, weights=w, minlength=q.levels)
    cent = np.bincount(codes, weights=w * x.reshape(-1), minlength=q.levels) / mass
    np.testing.assert_allclose(q.levels_, cent, rtol=0, atol=1e-12 * np.ptp(x))
    np.testing.assert_allclose(q.thresholds_, 0.5 * (q.levels_[1:] + q.levels_[:-1]), rtol=1e-15)
    assert np.all(np.diff(q.levels_) > 0)


@pytest.mark.parametrize("source", ["normal", "laplace", "standard_t", "uniform", "lognormal"])
@pytest.mark.parametrize("levels", [3, 16])
def test_fit_reaches_an_exact_fixed_point(source, levels):
    rng = np.random.default_rng(7)
    x = getattr(rng, source)(3, size=20_000) if source == "standard_t" else getattr(rng, source)(size=20_000)
    q = LloydMaxQuantizer(levels).fit(x)
    assert_fixed_point(q, x)
    assert q.distortion_ == pytest.approx(np.mean((q.quantize(x) - x) ** 2), rel=1e-9)


def test_at_least_as_good_as_sklearn_kmeans():
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    x = np.random.default_rng(8).standard_normal(20_000)
    ours = LloydMaxQuantizer(8).fit(x)
    km = sklearn_cluster.KMeans(8, n_init=1, random_state=0).fit(x[:, None])
    assert ours.distortion_ <= km.inertia_ / x.size * (1 + 1e-9)
    assert ours.distortion_ == pytest.approx(GAUSS[8], rel=0.03)


def test_large_sample_approaches_the_distribution_optimum():
    x = np.random.default_rng(9).standard_normal(400_000)
    q = LloydMaxQuantizer(16).fit(x)
    ref = LloydMaxQuantizer(16).fit_distribution(stats.norm())
    np.testing.assert_allclose(q.levels_, ref.levels_, atol=0.02)


def test_sample_weight_equals_repetition_and_zero_weight_is_ignored():
    rng = np.random.default_rng(10)
    x = rng.standard_normal(3000)
    counts = rng.integers(1, 4, x.size)
    a = LloydMaxQuantizer(5).fit(x, sample_weight=counts)
    b = LloydMaxQuantizer(5).fit(np.repeat(x, counts))
    np.testing.assert_allclose(a.levels_, b.levels_, rtol=1e-10)
    assert_fixed_point(a, x, counts.astype(float))
    outliers = np.concatenate([x, [50.0, -80.0]])
    w = np.concatenate([np.ones(x.size), [0.0, 0.0]])
    c = LloydMaxQuantizer(5).fit(outliers, sample_weight=w)
    d = LloydMaxQuantizer(5).fit(x)
    np.testing.assert_allclose(c.levels_, d.levels_, rtol=1e-12)


def test_float32_data_and_encoding():
    x = np.random.default_rng(11).standard_normal(5000).astype(np.float32)
    q = LloydMaxQuantizer(7).fit(x)
    np.testing.assert_array_equal(q.encode(x), np.searchsorted(q.thresholds_, x.astype(np.float64), side="right"))
    assert q.quantize(x).dtype == np.float32


def test_discrete_data():
    x = np.random.default_rng(12).integers(0, 20, 5000).astype(float)
    q = LloydMaxQuantizer(16).fit(x)
    assert_fixed_point(q, x)
    with pytest.raises(ValueError, match="5 distinct value"):
        LloydMaxQuantizer(16).fit(np.random.default_rng(0).integers(0, 5, 1000).astype(float))
    with pytest.raises(ValueError, match="needs at least 4"):
        LloydMaxQuantizer(4).fit(np.zeros(10))


def test_weights_validation():
    x = np.arange(10.0)
    with pytest.raises(ValueError, match="non-negative"):
        LloydMaxQuantizer(2).fit(x, sample_weight=-np.ones(10))
    with pytest.raises(ValueError, match="10 samples"):
        LloydMaxQuantizer(2).fit(x, sample_weight=np.ones(3))


def test_max_iter_warns():
    x = np.random.default_rng(13).standard_t(2, 50_000)
    with pytest.warns(ConvergenceWarning):
        LloydMaxQuantizer(32, max_iter=1).fit(x)
