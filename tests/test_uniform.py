"""UniformQuantizer against brute-force nearest-level references and exact identities."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantsig import CodeRangeError, OutOfRangeError, UniformQuantizer


def nearest_level(x, levels):
    """Brute force: index of the nearest level (random data has no exact ties)."""
    return np.argmin(np.abs(x[:, None] - levels[None, :]), axis=1)


@pytest.mark.parametrize("bits", [1, 3, 8])
@pytest.mark.parametrize("lo, hi", [(-1.0, 1.0), (0.0, 5.0), (-3.0, -1.0)])
def test_bounded_midtread_is_nearest_level(bits, lo, hi):
    q = UniformQuantizer(bits=bits, lo=lo, hi=hi)
    levels = lo + np.arange(2**bits) * (hi - lo) / (2**bits - 1)
    np.testing.assert_allclose(q.reconstruction_levels, levels, rtol=0, atol=1e-12)
    x = np.random.default_rng(bits).uniform(lo, hi, 5000)
    codes = q.encode(x)
    np.testing.assert_array_equal(codes, nearest_level(x, levels))
    assert q.decode(codes)[0] == levels[codes[0]]
    assert np.abs(q.quantize(x) - x).max() <= (hi - lo) / (2**bits - 1) / 2 + 1e-12


@pytest.mark.parametrize("bits", [1, 4, 10])
def test_bounded_midrise_cells_tile_the_range(bits):
    lo, hi = -2.0, 3.0
    q = UniformQuantizer(bits=bits, lo=lo, hi=hi, mode="midrise")
    L = 2**bits
    step = (hi - lo) / L
    x = np.random.default_rng(0).uniform(lo, hi, 5000)
    expected = np.minimum(np.floor((x - lo) / step), L - 1).astype(int)
    np.testing.assert_array_equal(q.encode(x), expected)
    np.testing.assert_allclose(q.decode(np.arange(L)), lo + (np.arange(L) + 0.5) * step, atol=1e-12)
    assert q.encode(np.array([hi]))[0] == L - 1 and q.encode(np.array([lo]))[0] == 0


def test_bits_and_step_is_int16_pcm():
    q = UniformQuantizer(bits=16, step=2.0**-15)
    x = np.random.default_rng(1).uniform(-1, 1 - 2.0**-15, 100_000)
    pcm = np.clip(np.round(x * 32768), -32768, 32767)
    np.testing.assert_array_equal(q.encode(x).astype(np.int64) - 32768, pcm)
    assert q.encode(x).dtype == np.uint16
    # float32 round trip of PCM levels is exact
    lv = q.decode(np.arange(0, 65536, 7, dtype=np.uint16), dtype=np.float32)
    np.testing.assert_array_equal(q.decode(q.encode(lv), dtype=np.float32), lv)


@pytest.mark.parametrize(
    "q",
    [
        UniformQuantizer(bits=16, step=2.0**-15),
        UniformQuantizer(bits=8, lo=-1.0, hi=1.0),
        UniformQuantizer(step=2.0**-10),
        UniformQuantizer(step=0.3, rounding=0.25),
        UniformQuantizer(bits=12, step=2.0**-11, rounding=0.25),
    ],
    ids=repr,
)
def test_float32_fast_path_gives_the_float64_codes(q):
    x = np.random.default_rng(5).laplace(scale=0.2, size=200_000).clip(-0.99, 0.99).astype(np.float32)
    step = 2.0**-15
    ties = (np.round(x / step) + 0.5) * step  # exact half-steps, where rounding matters most
    x = np.concatenate([x, ties.astype(np.float32)]).clip(-0.99, 0.99).astype(np.float32)
    np.testing.assert_array_equal(q.encode(x), q.encode(x.astype(np.float64)))


def test_unbounded_rounding_and_deadzone():
    q = UniformQuantizer(step=0.5)
    x = np.random.default_rng(2).normal(0, 10, 10_000)
    np.testing.assert_array_equal(q.encode(x), np.round(x / 0.5))
    assert q.encode(x).dtype == np.int32 and q.n_levels is None and q.bits is None
    # ties go away from zero (np.round would go to even)
    np.testing.assert_array_equal(q.encode(np.array([0.25, -0.25, 0.75, -0.75])), [1, -1, 2, -2])
    dz = UniformQuantizer(step=1.0, rounding=1 / 3)
    np.testing.assert_array_equal(dz.encode(np.array([0.6, 0.7, -0.66, -0.67, 1.66, 1.67])), [0, 1, 0, -1, 1, 2])
    mr = UniformQuantizer(step=1.0, mode="midrise")
    np.testing.assert_array_equal(mr.encode(np.array([-0.5, 0.0, 0.99, -1.0])), [-1, 0, 0, -1])
    np.testing.assert_array_equal(mr.decode(np.array([-1, 0])), [-0.5, 0.5])


def test_unbounded_overflow_raises():
    q = UniformQuantizer(step=1e-10)
    with pytest.raises(OutOfRangeError, match="int32"):
        q.encode(np.array([0.0, 1.0]))
    with pytest.raises(CodeRangeError):
        q.decode(np.array([2**40], dtype=np.int64))


def test_clipping_policy():
    q = UniformQuantizer(bits=4, lo=-1.0, hi=1.0)
    with pytest.raises(OutOfRangeError, match="2 sample"):
        q.encode(np.array([0.0, 1.5, -2.0]))
    qc = UniformQuantizer(bits=4, lo=-1.0, hi=1.0, clip=True)
    codes = qc.encode(np.array([0.0, 1.5, -2.0, 1.0]))
    assert qc.n_clipped_ == 2
    np.testing.assert_array_equal(codes[1:], [15, 0, 15])


def test_fitted_range():
    x = np.random.default_rng(3).uniform(-4, 7, 1000)
    q = UniformQuantizer(bits=5).fit(x)
    assert q.lo_ == x.min() and q.hi_ == x.max()
    xh = q.quantize(x)
    assert xh.min() == x.min() and xh.max() == pytest.approx(x.max(), abs=1e-12)
    w = np.ones_like(x)
    w[np.argmax(x)] = 0
    assert UniformQuantizer(bits=5).fit(x, sample_weight=w).hi_ < x.max()
    const = UniformQuantizer(bits=3).fit(np.full(10, 2.5))
    np.testing.assert_array_equal(const.quantize(np.full(4, 2.5)), 2.5)


def test_decode_accepts_any_integer_dtype():
    q = UniformQuantizer(bits=8, lo=0.0, hi=255.0)
    for dt in (np.uint8, np.int16, np.int64, np.uint64):
        np.testing.assert_array_equal(q.decode(np.array([0, 3, 255], dtype=dt)), [0.0, 3.0, 255.0])
    with pytest.raises(CodeRangeError, match="outside"):
        q.decode(np.array([256], dtype=np.uint64))
    with pytest.raises(CodeRangeError, match="outside"):
        q.decode(np.array([2**63 + 5], dtype=np.uint64))


@settings(max_examples=60, deadline=None)
@given(
    bits=st.integers(1, 16),
    lo=st.floats(-1e6, 1e6),
    width=st.floats(1e-3, 1e6),
    seed=st.integers(0, 2**32 - 1),
)
def test_error_bound_property(bits, lo, width, seed):
    hi = lo + width
    q = UniformQuantizer(bits=bits, lo=lo, hi=hi)
    x = np.random.default_rng(seed).uniform(lo, hi, 200)
    x = x[(x >= lo) & (x <= hi)]
    step = (hi - lo) / (2**bits - 1)
    err = np.abs(q.quantize(x) - x)
    assert err.max() <= step / 2 * (1 + 1e-9) + 1e-9 * max(abs(lo), abs(hi))
