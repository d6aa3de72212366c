"""Continuous mu-law / A-law quantizers against the textbook formulas."""

import numpy as np
import pytest

from quantsig import ALawQuantizer, MuLawQuantizer, OutOfRangeError, UniformQuantizer


def mu_compress(x, mu):
    return np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)


def a_compress(x, A):
    a = np.abs(x)
    k = 1 + np.log(A)
    with np.errstate(divide="ignore"):
        big = (1 + np.log(np.maximum(A * a, 1e-300))) / k
    return np.sign(x) * np.where(a < 1 / A, A * a / k, big)


def formula_codes(y, bits, mode):
    """The uniform quantizer in the companded domain, evaluated directly on y."""
    L = 2**bits
    if mode == "midrise":
        return np.clip(np.floor((y + 1) / 2 * L), 0, L - 1).astype(np.int64)
    return np.floor((y + 1) / 2 * (L - 1) + 0.5).astype(np.int64)  # torchaudio's mu_law_encoding


def signal(n=200_000, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(rng.laplace(scale=0.1, size=n), -1, 1)


@pytest.mark.parametrize("bits", [2, 8, 12])
@pytest.mark.parametrize("mode", ["midrise", "midtread"])
@pytest.mark.parametrize("mu", [255.0, 10.0])
def test_mu_law_matches_formula(bits, mode, mu):
    q = MuLawQuantizer(bits=bits, mu=mu, mode=mode)
    x = signal()
    ours = q.encode(x).astype(np.int64)
    ref = formula_codes(mu_compress(x, mu), bits, mode)
    # only samples within rounding distance of a decision threshold may differ
    diff = np.flatnonzero(ours != ref)
    if diff.size:
        t = q.thresholds
        gap = np.min(np.abs(x[diff, None] - t[None, :]), axis=1)
        assert gap.max() < 1e-12, f"{diff.size} mismatches away from thresholds"
    assert diff.size <= 2


@pytest.mark.parametrize("bits", [3, 8])
@pytest.mark.parametrize("A", [87.6, 5.0])
def test_a_law_matches_formula(bits, A):
    q = ALawQuantizer(bits=bits, A=A)
    x = signal(seed=1)
    np.testing.assert_array_equal(q.encode(x), formula_codes(a_compress(x, A), bits, "midrise"))


def test_decode_is_the_inverse_law_at_cell_centres():
    q = MuLawQuantizer(bits=8, mu=255)
    y = -1 + (2 * np.arange(256) + 1) / 256
    expected = np.sign(y) * ((1 + 255) ** np.abs(y) - 1) / 255
    np.testing.assert_allclose(q.decode(np.arange(256)), expected, rtol=1e-14, atol=1e-17)
    lv = q.reconstruction_levels
    np.testing.assert_array_equal(lv, -lv[::-1])  # exactly antisymmetric
    np.testing.assert_array_equal(q.thresholds, -q.thresholds[::-1])
    assert q.encode(np.array([0.0]))[0] == 128  # zero goes to the smallest positive level


def test_a_law_with_A_1_is_uniform_midrise():
    x = signal(seed=2)
    a = ALawQuantizer(bits=5, A=1.0)
    u = UniformQuantizer(bits=5, lo=-1.0, hi=1.0, mode="midrise")
    np.testing.assert_array_equal(a.encode(x), u.encode(x))
    np.testing.assert_allclose(a.decode(np.arange(32)), u.decode(np.arange(32)), atol=1e-15)


def test_float32_and_float64_agree():
    x32 = signal(seed=3).astype(np.float32)
    for q in (MuLawQuantizer(bits=10), ALawQuantizer(bits=8)):
        np.testing.assert_array_equal(q.encode(x32), q.encode(x32.astype(np.float64)))
        assert q.quantize(x32).dtype == np.float32


def test_range_policy():
    q = MuLawQuantizer()
    with pytest.raises(OutOfRangeError, match=r"outside \[lo, hi\] = \[-1.0, 1.0\]"):
        q.encode(np.array([0.5, 1.5]))
    qc = MuLawQuantizer(clip=True)
    np.testing.assert_array_equal(qc.encode(np.array([1.5, -7.0, 1.0])), [255, 0, 255])
    assert qc.n_clipped_ == 2


def test_snr_improves_6db_per_bit_on_large_signals():
    x = np.random.default_rng(4).uniform(-1, 1, 100_000)
    snr = []
    for bits in (8, 9, 10):
        e = MuLawQuantizer(bits=bits).quantize(x) - x
        snr.append(10 * np.log10(np.mean(x**2) / np.mean(e**2)))
    assert np.allclose(np.diff(snr), 6.02, atol=0.15)
