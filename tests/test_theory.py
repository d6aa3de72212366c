"""Theory against published values and exact identities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from quantsig import theory as th


def test_gaussian_rate_distortion_identities():
    r = np.linspace(0, 8, 17)
    np.testing.assert_allclose(th.gaussian_rate(th.gaussian_distortion(r, 3.0), 3.0), r, atol=1e-12)
    # 6.02 dB per bit
    d = th.gaussian_distortion(np.array([3.0, 4.0]))
    assert 10 * math.log10(d[0] / d[1]) == pytest.approx(20 * math.log10(2), abs=1e-12)
    assert th.gaussian_rate(2.0) == 0.0  # D above the variance costs nothing


@pytest.mark.parametrize("sigma", [0.3, 1.0, 7.0])
def test_shannon_lower_bound_is_tight_for_the_gaussian(sigma):
    d = np.array([1e-4, 1e-2, 0.2]) * sigma**2
    np.testing.assert_allclose(
        th.shannon_lower_bound(d, stats.norm(scale=sigma)), th.gaussian_rate(d, sigma**2), atol=1e-10
    )


def test_shannon_lower_bound_for_laplace_and_any_distribution():
    b = 2**-0.5  # unit variance
    d = 0.01
    expect = math.log2(2 * math.e * b) - 0.5 * math.log2(2 * math.pi * math.e * d)
    assert th.shannon_lower_bound(d, stats.laplace(scale=b)) == pytest.approx(expect, abs=1e-12)
    # every source of a given variance lies at or below the Gaussian (max entropy)
    for dist in (stats.laplace(scale=b), stats.uniform(-(3**0.5), 2 * 3**0.5), stats.logistic(scale=3**0.5 / math.pi)):
        assert th.shannon_lower_bound(d, dist) <= th.gaussian_rate(d) + 1e-12
    r = 2.5
    assert th.shannon_lower_bound(
        th.shannon_lower_bound_distortion(r, stats.laplace()), stats.laplace()
    ) == pytest.approx(r)


def test_ecsq_gap_constants():
    assert pytest.approx(1.5329, abs=1e-4) == th.ECSQ_GAP_DB
    assert pytest.approx(0.2546, abs=1e-4) == th.ECSQ_GAP_BITS
    # the 1.53 dB is the ratio of a uniform cell's 1/12 to the Gaussian-ball 1/(2 pi e)
    assert 10 * math.log10(2 * math.pi * math.e / 12) == pytest.approx(th.ECSQ_GAP_DB, abs=1e-12)
    dist = stats.norm()
    ratio = th.ecsq_high_rate_distortion(5.0, dist) / th.gaussian_distortion(5.0)
    assert 10 * math.log10(ratio) == pytest.approx(th.ECSQ_GAP_DB, abs=1e-9)


# Max (1960), "Quantizing for minimum distortion", Table: MSE of the optimal N-level quantizer
# of the unit Gaussian.
MAX_1960 = {2: 0.3634, 4: 0.1175, 8: 0.03454, 16: 0.009497}


@pytest.mark.parametrize("levels,mse", sorted(MAX_1960.items()))
def test_lloyd_max_gaussian_table(levels, mse):
    assert th.lloyd_max_distortion(stats.norm(), levels) == pytest.approx(mse, rel=2e-3)


def test_panter_dite_asymptote():
    # Gaussian: sqrt(3) pi / 2 / N**2; Laplace (unit variance): 9/2 / N**2
    n = np.array([4.0, 64.0])
    np.testing.assert_allclose(th.panter_dite_distortion(stats.norm(), n), 3**0.5 * math.pi / 2 / n**2, rtol=1e-9)
    np.testing.assert_allclose(th.panter_dite_distortion(stats.laplace(scale=2**-0.5), n), 4.5 / n**2, rtol=1e-9)
    # the optimal quantizer approaches it from below as N grows
    ratios = [th.lloyd_max_distortion(stats.norm(), k) / th.panter_dite_distortion(stats.norm(), k) for k in (8, 64)]
    assert ratios[0] < ratios[1] < 1.0 and ratios[1] > 0.96


def test_bad_arguments():
    with pytest.raises(ValueError, match="distortion"):
        th.gaussian_rate(0.0)
    with pytest.raises(ValueError, match="rate"):
        th.gaussian_distortion(-1.0)
    with pytest.raises(TypeError, match=r"scipy.stats"):
        th.shannon_lower_bound(0.1, "normal")
