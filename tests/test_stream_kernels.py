"""Every stream-codec kernel path on small inputs: fast enough to run as plain Python under
``NUMBA_DISABLE_JIT=1`` (the big-signal tests in test_stream.py are ``jit_heavy``)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import quantsig
from quantsig.errors import CorruptFileError
from quantsig.stream import StreamReader, compress_array

RNG = np.random.default_rng(2024)


def _tones(n: int, channels: int = 1) -> np.ndarray:
    t = np.arange(n)[:, None]
    x = 9000 * np.sin(t * np.array([0.031, 0.047][:channels])) + RNG.normal(0, 40, (n, channels))
    x[n // 2 :] *= 0.1  # a change of level: the split trees see it
    return np.round(x).astype(np.int16)


SMALL = dict(frame_size=1200, block_size=600, max_order=8)


def test_lossless_stereo_splits_and_wasted_bits():
    x = _tones(2500, 2)
    y, _ = compress_array(x, lossless=True, **SMALL)
    np.testing.assert_array_equal(quantsig.decompress(y), x)
    x8 = x.astype(np.int32) << 8
    np.testing.assert_array_equal(quantsig.decompress(compress_array(x8, lossless=True, **SMALL)[0]), x8)


def test_value_map_path():
    x = np.array([-300, -2, 0, 5, 900], np.int16)[RNG.integers(0, 5, 1500)]
    np.testing.assert_array_equal(quantsig.decompress(compress_array(x, lossless=True, **SMALL)[0]), x)


@pytest.mark.parametrize("e", [3, 40])
def test_bounded_integer(e):
    x = _tones(1500)
    y = quantsig.decompress(compress_array(x, max_abs_error=e, **SMALL)[0])
    assert np.abs(y.astype(np.int64) - x.astype(np.int64)).max() <= e


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bounded_float_with_exceptions(dtype):
    x = (_tones(1500)[:, 0] / 9000.0).astype(dtype)
    x[::97] += np.float32(1e5)  # large values whose float32 spacing exceeds the bound
    e = 1e-3
    y = quantsig.decompress(compress_array(x, max_abs_error=e, **SMALL)[0])
    assert np.abs(y.astype(np.float64) - x.astype(np.float64)).max() <= e


def test_step_and_quantizer_modes_and_reader():
    x = _tones(1500)
    blob, _stats = compress_array(x, step=9, **SMALL)
    r = StreamReader(blob)
    r.seek(700)
    y = r.read(300)
    assert np.abs(y.astype(np.int64) - x[700:1000].astype(np.int64)).max() <= 4
    g = compress_array(x, quantizer=quantsig.G711Quantizer(), **SMALL)[0]
    np.testing.assert_array_equal(quantsig.decompress(g), quantsig.G711Quantizer().quantize(x))


def test_corruption_is_reported():
    blob = bytearray(compress_array(_tones(1500, 2), lossless=True, **SMALL)[0])
    rng = np.random.default_rng(0)
    for _ in range(40):
        data = bytearray(blob)
        data[int(rng.integers(0, len(data)))] ^= 1 << int(rng.integers(0, 8))
        with contextlib.suppress(CorruptFileError):
            quantsig.decompress(bytes(data))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32])
def test_unsigned_samples(dtype):
    """ADC readings and 8-bit PCM come unsigned: lossless and bounded, dtype kept."""
    top = np.iinfo(dtype).max
    x = np.clip(_tones(1500, 2).astype(np.int64) * (top // 40000 + 1) // 4 + top // 2, 0, top).astype(dtype)
    x[::301] = [0, top]
    y = quantsig.decompress(compress_array(x, lossless=True, **SMALL)[0])
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, x)
    z = quantsig.decompress(compress_array(x, max_abs_error=2, **SMALL)[0])
    assert np.abs(z.astype(np.int64) - x.astype(np.int64)).max() <= 2


def test_writer_never_writes_what_its_reader_refuses():
    x = _tones(800)
    for opts in (dict(max_abs_error=2**40), dict(step=2**40)):
        y = quantsig.decompress(compress_array(x, **opts, **SMALL)[0])
        assert y.dtype == x.dtype and y.shape == x.shape
    big = np.full(600, np.finfo(np.float32).max / 2, np.float32)
    big[::2] *= -1
    y = quantsig.decompress(compress_array(big, step=float(np.finfo(np.float32).max), **SMALL)[0])
    assert np.all(np.isfinite(y))


def test_non_canonical_split_flags_are_refused():
    from quantsig import stream as st
    from quantsig.entropy.rans import _Reader

    cfg = st._make_config(
        np.dtype(np.int16),
        1,
        lossless=True,
        max_abs_error=None,
        step=None,
        quantizer=None,
        frame_size=4096,
        block_size=4096,
        max_order=8,
        stereo=True,
        contexts=20,
    )
    # flags 0: the whole block is one leaf, and the byte reserves all 7 positions of its tree
    assert st._flag_count(0, 4096, st.SPLIT_DEPTH) == 7
    r = _Reader(memoryview(bytes([0b0, 0])))  # flags, then an order-0 predictor
    leaves, _ = st._parse_plan(r, bytes([0b0, 0]), [(0, 4096)], False, 1, cfg)
    assert leaves[:, 2:5].tolist() == [[0, 4096, 0]] and r.pos == 2
    # a flag under the unsplit root, and a flag beyond the tree, are both refused
    for flags in (0b10, 0b10000000):
        with pytest.raises(CorruptFileError, match=r"not split|cannot be split"):
            st._parse_plan(_Reader(memoryview(bytes([flags, 0]))), bytes([flags, 0]), [(0, 4096)], False, 1, cfg)


def _smooth(n: int, seed: int = 5) -> np.ndarray:
    """Smooth but not a few sinusoids (which a causal LPC predicts as well): a smoothed walk."""
    rng = np.random.default_rng(seed)
    x = np.convolve(np.cumsum(rng.standard_normal(n + 300)), np.hanning(150) / 75, "same")[150 : n + 150]
    return x / np.abs(x).max()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_interpolation_frames(dtype):
    """Smooth data at a loose bound: the multilevel interpolation predictor wins the frame."""
    from quantsig import container as c

    x = _smooth(1100).astype(dtype)
    blob = compress_array(x, max_abs_error=0.05, frame_size=1100)[0]
    frames = c.read_index(blob, c.read_header(blob))
    assert bytes(c.frame_payload(blob, frames[0]))[1] == 1  # method byte: interpolation
    y = quantsig.decompress(blob)
    assert np.abs(y.astype(np.float64) - x.astype(np.float64)).max() <= 0.05


def test_interpolation_exceptions():
    """Samples whose float32 spacing exceeds the bound are stored exactly by either method."""
    from quantsig import stream as st

    x = (_smooth(700, 9) * 10 + np.where(np.arange(700) % 50 == 7, 3e6, 0.0)).astype(np.float32)
    cfg = st._make_config(
        np.dtype(np.float32),
        1,
        lossless=False,
        max_abs_error=0.01,
        step=None,
        quantizer=None,
        frame_size=700,
        block_size=700,
        max_order=8,
        stereo=True,
        contexts=20,
    )
    for method in (st._LPC, st._INTERP):
        payload, recon = st._encode_float_method(cfg, np.ascontiguousarray(x[None, :], np.float64), method)
        y = st.decode_frame(cfg, memoryview(payload), 700)[:, 0]
        np.testing.assert_array_equal(y, recon[:, 0])
        assert np.abs(y.astype(np.float64) - x.astype(np.float64)).max() <= 0.01


def test_header_mode_follows_from_its_parameter():
    from quantsig import container as c

    for opts, mode in (
        (dict(lossless=True), "lossless"),
        (dict(max_abs_error=3), "max_abs_error"),
        (dict(step=5), "step"),
        (dict(quantizer=quantsig.G711Quantizer()), "quantizer"),
    ):
        blob = compress_array(_tones(300), **opts, **SMALL)[0]
        doc = c.read_header(blob).doc
        assert "mode" not in doc and StreamReader(blob).mode == mode


def _autocorr_one_lag_at_a_time(x: np.ndarray, w: np.ndarray, max_lag: int) -> np.ndarray:
    """The textbook loop in Python floats (IEEE doubles, one rounding per operation)."""
    y = [float(a) * float(b) for a, b in zip(x, w)]
    out = []
    for k in range(max_lag + 1):
        s = 0.0
        for i in range(k, len(y)):
            s += y[i] * y[i - k]
        out.append(s)
    return np.array(out)


@pytest.mark.parametrize("n", [1, 5, 40, 64, 301, 1000])
@pytest.mark.parametrize("max_lag", [0, 3, 32])
def test_autocorr_is_the_one_lag_at_a_time_sum_bit_for_bit(n, max_lag):
    from quantsig.kernels import lpc as k
    from quantsig.predictors.lpc import _windows

    x = np.cumsum(RNG.standard_normal(n)) * 1e3
    for w in _windows(n) + [np.ones(n)]:  # Tukey windows, half windows (zero on one side), none
        got = np.empty(max_lag + 1)
        k.autocorr(x, w, max_lag, got)
        assert np.array_equal(got, _autocorr_one_lag_at_a_time(x, w, max_lag))


@pytest.mark.parametrize("start", [0, 3, 700])
def test_closed_loop_costs_equal_one_predictor_at_a_time(start):
    """The batched pricing gives every predictor exactly the cost ``closed_loop_cost`` gives it,
    so the predictor search chooses as it would pricing them one by one."""
    from quantsig.kernels import lpc as k

    x = np.cumsum(RNG.standard_normal(1500)) * 0.1
    end = start + 400
    orders = np.array([0, 1, 2, 5, 8, 13, 32], np.int64)
    crevs = np.zeros((orders.size, 32))
    for i, p in enumerate(orders):
        crevs[i, :p] = RNG.standard_normal(p) / max(p, 1)
    for step in (1e-3, 0.05, 2.0):
        costs = np.empty(orders.size)
        k.closed_loop_costs(x, start, end, crevs, orders, orders.size, step, 64, np.empty(orders.size * 432), costs)
        one = [
            k.closed_loop_cost(x, start, end, crevs[i, :p].copy(), p, step, 64, np.empty(x.size))
            for i, p in enumerate(orders)
        ]
        assert np.array_equal(costs, one)
