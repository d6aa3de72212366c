"""Metrics: exact identities and the rate written against the entropy estimate."""

from __future__ import annotations

import math

import numpy as np
import pytest

import quantsig
from quantsig import metrics as m


def test_distortions_agree_with_their_definitions():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1000)
    y = x + rng.normal(0, 0.1, 1000)
    e = float(np.mean((x - y) ** 2))
    assert m.mse(x, y) == pytest.approx(e) and m.rmse(x, y) == pytest.approx(math.sqrt(e))
    assert m.snr_db(x, y) == pytest.approx(10 * math.log10(np.mean(x**2) / e))
    assert m.psnr_db(x, y) == pytest.approx(10 * math.log10(np.max(np.abs(x)) ** 2 / e))
    assert m.psnr_db(x, y, peak=1.0) - m.psnr_db(x, y, peak=0.5) == pytest.approx(20 * math.log10(2))
    assert m.relative_error(x, y) == pytest.approx(np.linalg.norm(x - y) / np.linalg.norm(x))
    assert m.relative_error(x, x) == 0.0 and m.psnr_db(x, x) == math.inf
    # SNR and relative error say the same thing: SNR = -20 log10(relative error)
    assert m.snr_db(x, y) == pytest.approx(-20 * math.log10(m.relative_error(x, y)))


def test_rate_written_is_at_least_the_entropy_and_close_to_it():
    x = np.random.default_rng(1).standard_normal(200_000)
    q = quantsig.UniformQuantizer(step=0.05)
    blob = quantsig.compress(x, q)
    h = m.code_entropy(q.encode(x))
    r = m.bits_per_sample(blob, x.size)
    assert h <= r <= 1.01 * h  # headers, tables and the coder's overhead, all counted
    assert m.bits_per_sample(len(blob), x.size) == r


def test_bits_per_sample_of_a_file(tmp_path):
    path = tmp_path / "x.qsg"
    n = quantsig.save(path, np.zeros(1000, np.int16), lossless=True)
    assert m.bits_per_sample(path, 1000) == 8 * n / 1000


def test_bad_input():
    with pytest.raises(ValueError, match="shape"):
        m.rmse([1, 2], [1])
    with pytest.raises(ValueError, match="peak"):
        m.psnr_db([0.0], [0.1])
    with pytest.raises(TypeError, match="integers"):
        m.code_entropy([0.5])
    with pytest.raises(ValueError, match="n_samples"):
        m.bits_per_sample(b"abc", 0)
    with pytest.raises(TypeError, match="written"):
        m.bits_per_sample(3.5, 10)
