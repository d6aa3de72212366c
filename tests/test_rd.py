"""quantsig.rd: rate-distortion points, sweeps, presets and the RDResult table.

Every number in the table is checked against an independent computation: the rate against
the length of a blob written by ``Codec.compress`` here, the entropy against a NumPy count of
the codes, the distortions against NumPy on the data decoded here; the targets against theory
(the Gaussian R(D), Max's (1960) Lloyd-Max distortions).
"""

from __future__ import annotations

import csv
import io
import json
import math
import threading

import numpy as np
import pytest
from scipy import stats

import quantsig
from quantsig import Codec, LloydMaxQuantizer, MuLawQuantizer, UniformQuantizer, rd, theory
from quantsig.errors import CorruptFileError
from quantsig.progress import Progress

TIMING = set(rd.TIMING_COLUMNS)
HAS_ECSQ = hasattr(quantsig, "ECSQuantizer")


# ---------------------------------------------------------------------------- helpers


def gaussian(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def entropy_per_code(codes: np.ndarray) -> float:
    """Order-0 entropy by NumPy counting (independent of quantsig.metrics.code_entropy)."""
    _, counts = np.unique(np.asarray(codes).reshape(-1), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def check_row_against_truth(
    row: dict, x: np.ndarray, q, blob: bytes, y: np.ndarray, x_in: np.ndarray | None = None
) -> None:
    """Compare a row with what the caller measured itself from ``blob`` and ``y``."""
    n = x.size
    assert row["n_samples"] == n
    assert row["n_bytes"] == len(blob)
    assert row["rate"] == 8 * len(blob) / n
    codes = q.encode(x if x_in is None else x_in)
    assert row["entropy"] == pytest.approx(entropy_per_code(codes) / q.dim, rel=1e-12, abs=1e-12)
    err = x.astype(np.float64) - y.astype(np.float64)
    assert row["mse"] == pytest.approx(np.mean(err**2), rel=1e-12)
    assert row["rmse"] == pytest.approx(math.sqrt(np.mean(err**2)), rel=1e-12)
    assert row["snr_db"] == pytest.approx(
        10 * math.log10(np.sum(x.astype(np.float64) ** 2) / np.sum(err**2)), rel=1e-12
    )
    peak = float(np.max(np.abs(x)))
    assert row["psnr_db"] == pytest.approx(10 * math.log10(peak**2 / np.mean(err**2)), rel=1e-12)
    assert row["max_abs_error"] == np.max(np.abs(err))
    for c in TIMING:
        assert row[c] >= 0


def without_timing(res: rd.RDResult) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in res]


@pytest.fixture(scope="module")
def x_small() -> np.ndarray:
    return gaussian(40_000, seed=3)


@pytest.fixture(scope="module")
def gauss_1m_uniform() -> rd.RDResult:
    """The issue's sweep: the uniform preset at 1..8 bits on 1M unit-Gaussian samples (< 1 s)."""
    return rd.rd_curve(gaussian(1_000_000), "uniform", range(1, 9))


# ---------------------------------------------------------------------------- columns are true


def test_columns_match_an_independent_codec_run(x_small):
    q = UniformQuantizer(step=0.3)
    row = rd.rd_point(x_small, q, label="u", param=0.3)
    assert list(row) == list(rd.COLUMNS)
    assert row["quantizer"] == "u" and row["param"] == 0.3
    blob = Codec(UniformQuantizer(step=0.3)).compress(x_small)
    check_row_against_truth(row, x_small, q, blob, quantsig.decompress(blob))


@pytest.mark.parametrize("preset,bits", [("lloyd-max", 3), ("kmeans", 2), ("kmeans:3", 1), ("uniform", 2.5)])
def test_preset_rows_match_an_independent_codec_run(x_small, preset, bits):
    x = x_small[:39_999] if preset == "kmeans:3" else x_small  # a multiple of 3
    q = rd.quantizer_for(preset, bits, x)
    assert q.is_fitted()
    row = rd.rd_curve(x, preset, [bits])[0]
    blob = Codec(q).compress(x)
    check_row_against_truth(row, x, q, blob, Codec.decompress(blob))
    assert row["quantizer"] == preset and row["param"] == bits


def test_lloyd_max_preset_is_the_lloyd_max_quantizer(x_small):
    row = rd.rd_curve(x_small, "lloyd-max", [2])[0]
    blob = Codec(LloydMaxQuantizer(4).fit(x_small)).compress(x_small)
    assert row["n_bytes"] == len(blob)
    assert row["mse"] == pytest.approx(np.mean((x_small - Codec.decompress(blob)) ** 2), rel=1e-12)


def test_mu_law_preset_scales_by_the_peak_and_counts_the_scale(x_small):
    peak = float(np.max(np.abs(x_small)))
    codec = rd.quantizer_for("mu-law", 6, x_small)
    assert isinstance(codec, rd._ScaledCodec) and codec.scale == peak
    row = rd.rd_curve(x_small, "mu-law", [6])[0]
    # independently: a plain Codec on x / peak with the scale in the metadata
    q = MuLawQuantizer(bits=6)
    blob = Codec(q).compress(x_small / peak, metadata={"scale": peak})
    y = Codec.decompress(blob) * peak
    check_row_against_truth(row, x_small, q, blob, y, x_in=x_small / peak)


@pytest.mark.jit_heavy  # tens of seconds as plain Python (NUMBA_DISABLE_JIT=1)
def test_raw_entropy_coder_and_codec_arguments(x_small):
    q = LloydMaxQuantizer(4).fit(x_small)
    raw = rd.rd_point(x_small, q, entropy="raw")
    assert raw["n_bytes"] == len(Codec(q, entropy="raw").compress(x_small))
    assert raw["rate"] >= 2.0  # 2 bits packed plus the header
    # a Codec keeps its own coder and frame size unless entropy= is given
    codec = Codec(q, entropy="raw", frame_size=4096)
    assert rd.rd_point(x_small, codec)["n_bytes"] == len(codec.compress(x_small))
    assert rd.rd_point(x_small, codec, entropy="rans")["n_bytes"] == len(Codec(q, frame_size=4096).compress(x_small))
    # a codec without a quantizer measures the codec's default
    assert rd.rd_point(x_small, Codec())["n_bytes"] == len(Codec().compress(x_small))


def test_a_codec_that_does_not_round_trip_is_caught(x_small):
    class Broken(Codec):
        @staticmethod
        def decompress(data, max_output_bytes=1 << 34):
            y = Codec.decompress(data, max_output_bytes)
            y[0] += 1e-9
            return y

    with pytest.raises(RuntimeError, match="differ"):
        rd.rd_point(x_small, Broken(UniformQuantizer(step=0.5)))


def test_unfitted_quantizer_is_fitted_on_a_copy(x_small):
    q = LloydMaxQuantizer(8)
    row = rd.rd_point(x_small, q)
    assert not q.is_fitted()
    assert row["mse"] == pytest.approx(LloydMaxQuantizer(8).fit(x_small).distortion_, rel=1e-9)


def test_vector_quantizer_entropy_is_per_sample_and_nd_data_keeps_shape():
    x = gaussian(6_400, seed=5).reshape(100, 64)
    q = quantsig.KMeansVectorQuantizer(16, dim=2, random_state=0).fit(x)
    row = rd.rd_point(x, q)
    blob = Codec(q).compress(x)
    y = Codec.decompress(blob)
    assert y.shape == x.shape
    check_row_against_truth(row, x, q, blob, y)
    assert row["entropy"] <= 2.0 + 1e-12  # 16 codewords per 2 samples


def test_float32_and_integer_data(x_small):
    x32 = x_small.astype(np.float32)
    q = UniformQuantizer(step=0.25)
    blob = Codec(q).compress(x32)
    check_row_against_truth(rd.rd_point(x32, q), x32, q, blob, Codec.decompress(blob))
    row = rd.rd_curve(x32, "mu-law", [8])[0]
    assert row["snr_db"] > 20
    ints = np.arange(-50, 50)
    lossless = rd.rd_point(ints, UniformQuantizer(step=1.0))
    assert lossless["mse"] == 0 and lossless["snr_db"] == math.inf and lossless["psnr_db"] == math.inf


def test_all_zero_data_has_no_psnr():
    row = rd.rd_point(np.zeros(1000), UniformQuantizer(step=1.0))
    assert row["mse"] == 0 and math.isnan(row["psnr_db"])


# ---------------------------------------------------------------------------- sweeps


@pytest.mark.jit_heavy  # tens of seconds as plain Python (NUMBA_DISABLE_JIT=1)
def test_parallel_sweep_keeps_the_order_of_values(x_small):
    values = [5, 1, 3, 2]
    one = rd.rd_curve(x_small, "uniform", values, n_jobs=1)
    two = rd.rd_curve(x_small, "uniform", values, n_jobs=2)
    assert list(two["param"]) == values
    assert without_timing(two) == without_timing(one)
    presets = rd.compare(x_small, ["lloyd-max", "kmeans", "mu-law"], [3, 1, 2], n_jobs=3)
    assert without_timing(presets) == without_timing(rd.compare(x_small, ["lloyd-max", "kmeans", "mu-law"], [3, 1, 2]))
    assert list(presets["quantizer"]) == ["lloyd-max"] * 3 + ["kmeans"] * 3 + ["mu-law"] * 3


def test_parallel_sweep_really_uses_threads(x_small):
    seen = set()
    barrier = threading.Barrier(2, timeout=30)

    def factory(step):
        seen.add(threading.get_ident())
        barrier.wait()  # both points must be in flight at once, or this times out
        return UniformQuantizer(step=step)

    res = rd.rd_curve(x_small, factory, [0.5, 0.25], n_jobs=2)
    assert len(seen) == 2 and list(res["param"]) == [0.5, 0.25]
    assert res.labels() == ["factory"]


def test_factory_returning_codecs_and_timing_includes_the_factory(x_small):
    res = rd.rd_curve(x_small, lambda s: Codec(UniformQuantizer(step=s), entropy="raw"), [0.5], label="raw-u")
    assert res[0]["n_bytes"] == len(Codec(UniformQuantizer(step=0.5), entropy="raw").compress(x_small))
    assert res.labels() == ["raw-u"]


@pytest.mark.jit_heavy  # tens of seconds as plain Python (NUMBA_DISABLE_JIT=1)
def test_progress_advances_once_per_point(x_small):
    out = io.StringIO()
    bar = Progress(None, stream=out, force=True, unit="points")
    rd.compare(x_small, {"a": "uniform", "b": "lloyd-max"}, [1, 2, 3], progress=bar, n_jobs=2)
    assert bar.n == 6 and bar.total == 6
    bar.close()
    assert "6 points" in out.getvalue()

    class Counter:
        n = 0

        def update(self, k=1):
            self.n += k

    c = Counter()
    rd.rd_curve(x_small, "uniform", [1, 2], progress=c)
    assert c.n == 2
    rd.rd_curve(x_small, "uniform", [1], progress=True)  # stderr is not a terminal: silent


def test_errors_stop_the_sweep_and_propagate(x_small):
    def factory(v):
        if v == 2:
            raise ValueError("boom at 2")
        return UniformQuantizer(step=0.5)

    for jobs in (1, 2):
        with pytest.raises(ValueError, match="boom at 2"):
            rd.rd_curve(x_small, factory, [1, 2, 3], n_jobs=jobs)


@pytest.mark.jit_heavy  # tens of seconds as plain Python (NUMBA_DISABLE_JIT=1)
def test_compare_defaults_and_labels(x_small):
    x = x_small[:20_000]
    res = rd.compare(x, {"lm": "lloyd-max"})
    assert list(res["param"]) == list(range(1, 9)) and res.labels() == ["lm"]
    res = rd.compare(x, "uniform", [2])
    assert res.labels() == ["uniform"]
    with pytest.raises(ValueError, match="unique"):
        rd.compare(x, ["uniform", "uniform"], [1])
    with pytest.raises(ValueError, match="empty"):
        rd.compare(x, [], [1])
    with pytest.raises(TypeError, match="dict"):
        rd.compare(x, [lambda b: UniformQuantizer(step=1.0)], [1])


# ---------------------------------------------------------------------------- targets (theory)


@pytest.mark.jit_heavy  # a million kernel calls' worth of work: too slow as plain Python
def test_uniform_preset_is_within_0_28_bit_of_gaussian_rd(gauss_1m_uniform):
    """The issue's target: rate written - R(D) <= 0.28 bit at 3..8 bits, and never below R(D)."""
    res = gauss_1m_uniform
    rates, mse = res["rate"], res["mse"]
    r_of_d = np.array([theory.gaussian_rate(d) for d in mse])
    gap = rates - r_of_d
    np.testing.assert_allclose(gap, rd.gap_to_gaussian_bound(res, variance=1.0), rtol=0, atol=1e-12)
    assert np.all(gap > 0), gap  # Shannon: no code beats R(D)
    high = res["param"] >= 3
    assert np.all(gap[high] <= 0.28), gap
    # at high rate the gap is the ECSQ space-filling loss, 0.2546 bit, plus the file overhead
    assert abs(gap[-1] - theory.ECSQ_GAP_BITS) < 0.015


@pytest.mark.jit_heavy  # a million kernel calls' worth of work: too slow as plain Python
def test_uniform_preset_hits_its_target_rate(gauss_1m_uniform):
    res = gauss_1m_uniform
    bits = res["param"]
    assert np.all(np.abs(res["rate"] - bits)[bits >= 2] <= 0.05), res["rate"]
    assert np.all(np.abs(res["entropy"] - bits) <= 0.01), res["entropy"]
    assert np.all(np.diff(res["mse"]) < 0)


@pytest.mark.jit_heavy  # a million kernel calls' worth of work: too slow as plain Python
def test_every_preset_stays_above_the_shannon_bound():
    x = gaussian(100_000, seed=11)
    res = rd.compare(x, rd.available_presets(), [1, 2, 3, 4])
    gap = rd.gap_to_gaussian_bound(res, variance=1.0)
    assert np.all(gap > 0), dict(zip(res["quantizer"], gap))
    assert np.all(rd.gap_to_gaussian_bound(res, variance=1.0, rate="entropy") > 0)


@pytest.mark.jit_heavy  # a million kernel calls' worth of work: too slow as plain Python
def test_lloyd_max_preset_reaches_max_1960():
    res = rd.rd_curve(gaussian(200_000, seed=2), "lloyd-max", [2, 4])
    for bits, mse in zip(res["param"], res["mse"]):
        assert mse == pytest.approx(theory.lloyd_max_distortion(stats.norm(), 2 ** int(bits)), rel=0.02)


@pytest.fixture(scope="module")
def lloyd_max_mse() -> dict[int, float]:
    d = {L: theory.lloyd_max_distortion(stats.norm(), L) for L in (4, 16)}
    # Max (1960): 0.1175 and 0.009497 (his table's last digits are a little off: 0.009501)
    assert d[4] == pytest.approx(0.1175, abs=1e-4) and d[16] == pytest.approx(0.009497, abs=1e-5)
    return d


@pytest.mark.jit_heavy  # a million kernel calls' worth of work: too slow as plain Python
def test_kmeans_pairs_beat_lloyd_max_at_4_bits(lloyd_max_mse):
    """Dim 2 at 4 bits/sample (256 codewords) against the 16-level Lloyd-Max quantizer."""
    x = gaussian(200_000, seed=7)
    q = rd.quantizer_for("kmeans", 4, x)
    assert (q.dim, q.levels) == (2, 256)
    row = rd.rd_point(x, q)
    assert row["mse"] < lloyd_max_mse[16], row["mse"]
    assert row["entropy"] <= 4.0 + 1e-12


@pytest.mark.jit_heavy  # a million kernel calls' worth of work: too slow as plain Python
def test_kmeans_dim4_beats_lloyd_max_at_2_bits(lloyd_max_mse):
    """Dim 4 at 2 bits/sample (256 codewords) against the 4-level Lloyd-Max quantizer."""
    x = gaussian(200_000, seed=8)
    row = rd.rd_curve(x, "kmeans:4", [2])[0]
    assert row["mse"] < lloyd_max_mse[4], row["mse"]


@pytest.mark.jit_heavy  # a million kernel calls' worth of work: too slow as plain Python
def test_kmeans_preset_rules(monkeypatch):
    """The documented dimension and training-size rules (the k-means fit itself is stubbed)."""
    from quantsig.quantizers.kmeans import KMeansVectorQuantizer

    fits = []

    def fake_fit(self, x, sample_weight=None):
        fits.append(np.asarray(x).shape)
        self.codebook_ = np.zeros((self.levels, self.dim))
        return self

    monkeypatch.setattr(KMeansVectorQuantizer, "fit", fake_fit)
    x = gaussian(1_000_000, seed=1)

    def build(name, bits, data=x):
        q = rd.quantizer_for(name, bits, data)
        return q.dim, q.levels, fits[-1]

    assert build("kmeans", 5) == (2, 1024, (256 * 1024, 2))  # pairs up to 1024 codewords, 256 per codeword
    assert build("kmeans", 4) == (2, 256, (256 * 256, 2))
    assert build("kmeans", 6) == (1, 64, (256 * 64, 1))  # 4096 pairs would be too many
    assert build("kmeans", 1, x[:4000]) == (2, 4, (1024, 2))  # 2000 pairs, 1024 drawn for 4 codewords
    assert build("kmeans", 4, x[:100_000])[:2] == (1, 16)  # under 256 pairs per codeword: scalar
    assert build("kmeans:2", 1, x[:1000]) == (2, 4, (500, 2))  # fewer vectors than the cap: all of them
    assert build("kmeans:1", 8, x[:1000]) == (1, 256, (1000, 1))
    assert build("kmeans", 2, x[:99_999])[:2] == (1, 4)  # odd last axis: scalar
    assert build("kmeans:4", 2)[:2] == (4, 256)
    assert build("kmeans:2", 0.5)[:2] == (2, 2)
    with pytest.raises(ValueError, match="last axis"):
        rd.quantizer_for("kmeans:2", 2, x[:99_999])


def test_kmeans_preset_is_deterministic():
    x = gaussian(30_000, seed=1)
    a, b = rd.quantizer_for("kmeans", 3, x), rd.quantizer_for("kmeans", 3, x)
    assert a.random_state == 0
    np.testing.assert_array_equal(a.codebook_, b.codebook_)


@pytest.mark.jit_heavy  # a million kernel calls' worth of work: too slow as plain Python
@pytest.mark.skipif(not HAS_ECSQ, reason="quantsig.ECSQuantizer has not landed yet")
def test_ecsq_preset_meets_its_rate_and_beats_uniform_at_low_rate():
    x = gaussian(200_000, seed=4)
    ecsq = rd.rd_curve(x, "ecsq", [1, 2, 4])
    uni = rd.rd_curve(x, "uniform", [1, 2, 4])
    assert np.all(ecsq["rate"] <= ecsq["param"] + 1e-9), ecsq["rate"]
    assert np.all(ecsq["rate"] >= ecsq["param"] - 0.05), ecsq["rate"]
    assert np.all(ecsq["mse"][:2] < uni["mse"][:2])  # at 1 and 2 bits (at high rate both are uniform)
    blob = Codec(rd.quantizer_for("ecsq", 2, x)).compress(x)
    assert ecsq[1]["n_bytes"] == len(blob)


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [np.array([0.0, np.nan, 1.0]), np.array([1.0, np.inf])])
def test_nonfinite_data_is_refused(bad):
    with pytest.raises(ValueError, match="NaN or Inf"):
        rd.rd_point(bad, UniformQuantizer(step=1.0))
    with pytest.raises(ValueError, match="NaN or Inf"):
        rd.rd_curve(bad, "uniform", [1])


def test_bad_data_and_arguments():
    x = gaussian(1000)
    with pytest.raises(ValueError, match="empty"):
        rd.rd_point(np.array([]), UniformQuantizer(step=1.0))
    with pytest.raises(ValueError, match="scalar"):
        rd.rd_point(np.float64(1.0), UniformQuantizer(step=1.0))
    with pytest.raises(TypeError, match="dtype"):
        rd.rd_point(np.array(["a"]), UniformQuantizer(step=1.0))
    with pytest.raises(TypeError, match="Quantizer or Codec"):
        rd.rd_point(x, "uniform")
    with pytest.raises(ValueError, match="entropy"):
        rd.rd_point(x, UniformQuantizer(step=1.0), entropy="zip")
    with pytest.raises(ValueError, match="values is empty"):
        rd.rd_curve(x, "uniform", [])
    with pytest.raises(TypeError, match="values"):
        rd.rd_curve(x, "uniform", "1:8")
    with pytest.raises(TypeError, match="factory"):
        rd.rd_curve(x, 42, [1])
    with pytest.raises(ValueError, match="n_jobs"):
        rd.rd_curve(x, "uniform", [1], n_jobs=0)


def test_unknown_preset_lists_the_valid_ones():
    for name in ("gauss", "kmeans:0", "kmeans:x", "uniform:2"):
        with pytest.raises(ValueError) as e:
            rd.check_preset(name)
        msg = str(e.value)
        assert repr(name) in msg
        if name in ("gauss", "uniform:2"):
            assert all(p in msg for p in ("uniform", "mu-law", "lloyd-max", "kmeans", "ecsq"))
    with pytest.raises(ValueError, match="unknown preset"):
        rd.rd_curve(gaussian(100), "gauss", [1])
    with pytest.raises(ValueError, match="unknown preset"):
        rd.quantizer_for("gauss", 1, gaussian(100))


@pytest.mark.parametrize("preset", ["uniform", "mu-law", "lloyd-max", "kmeans", "kmeans:2", "ecsq"])
@pytest.mark.parametrize("bits", [0, -1, math.nan, math.inf])
def test_bits_must_be_positive(preset, bits):
    if preset == "ecsq" and not HAS_ECSQ:
        pytest.skip("quantsig.ECSQuantizer has not landed yet")
    with pytest.raises(ValueError, match="bits"):
        rd.check_preset(preset, bits)
    with pytest.raises(ValueError, match="bits"):
        rd.rd_curve(gaussian(100), preset, [2, bits])  # checked before any point runs


@pytest.mark.parametrize(
    "preset,bits",
    [
        ("lloyd-max", 2.5),
        ("mu-law", 1.5),
        ("kmeans", 3.5),
        ("kmeans:2", 0.3),
        ("lloyd-max", 17),
        ("kmeans:4", 5),
        ("ecsq", 17),
    ],
)
def test_presets_refuse_rates_they_cannot_do(preset, bits):
    if preset == "ecsq" and not HAS_ECSQ:
        pytest.skip("quantsig.ECSQuantizer has not landed yet")
    with pytest.raises(ValueError, match=f"preset '{preset}'"):
        rd.check_preset(preset, bits)
    with pytest.raises(TypeError):
        rd.check_preset(preset, "2")


def test_continuous_rates_are_fine_for_uniform():
    x = gaussian(50_000, seed=9)
    row = rd.rd_curve(x, "uniform", [1.5])[0]
    assert abs(row["entropy"] - 1.5) < 0.02


def test_uniform_preset_on_data_with_few_values():
    x = np.repeat([0.0, 1.0, 2.0], 1000)
    q = rd.quantizer_for("uniform", 8, x)  # log2(3) bits at most: the finest step
    assert np.array_equal(q.quantize(x), x)
    assert rd.quantizer_for("uniform", 3, np.zeros(10)).step == 1.0


# ---------------------------------------------------------------------------- _ScaledCodec


def test_scaled_codec_round_trip_and_file():
    x = gaussian(5000).astype(np.float32) * 40
    codec = rd._ScaledCodec(MuLawQuantizer(bits=8), scale=float(np.abs(x).max()))
    blob = codec.compress(x, metadata={"who": "me"})
    y = rd._ScaledCodec.decompress(blob)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_array_equal(y, codec.scale_up(MuLawQuantizer(bits=8).quantize(codec.scale_down(x))))
    assert quantsig.info(blob)["metadata"] == {"who": "me", "scale": codec.scale}
    # a plain reader sees the scaled-down values
    np.testing.assert_array_equal(quantsig.decompress(blob) * np.float32(codec.scale), y)
    assert codec.get_config()["scale"] == codec.scale and "_ScaledCodec" in repr(codec)
    with pytest.raises(ValueError, match="scale"):
        codec.compress(x, metadata={"scale": 2.0})
    with pytest.raises(ValueError, match="scale"):
        rd._ScaledCodec(MuLawQuantizer(), scale=0.0)
    with pytest.raises(TypeError, match="float"):
        codec.scale_down(np.arange(3))


@pytest.mark.parametrize("meta", [{}, {"scale": -1.0}, {"scale": "2"}, {"scale": True}])
def test_scaled_codec_refuses_a_file_without_a_valid_scale(meta):
    blob = Codec(MuLawQuantizer(bits=4)).compress(np.linspace(-1, 1, 100), metadata=meta)
    with pytest.raises(CorruptFileError, match="scale"):
        rd._ScaledCodec.decompress(blob)


# ---------------------------------------------------------------------------- the table


@pytest.fixture(scope="module")
def table() -> rd.RDResult:
    x = gaussian(20_000, seed=6)
    res = rd.compare(x, {"uniform": "uniform", "lm": "lloyd-max"}, [1, 2])
    lossless = rd.rd_point(np.arange(-8.0, 8.0), UniformQuantizer(step=1.0), label="exact", param="step=1")
    return res + rd.RDResult([lossless])


def test_table_access(table):
    assert len(table) == 5 and table.columns == rd.COLUMNS
    assert table.labels() == ["uniform", "lm", "exact"]
    assert table["n_bytes"].dtype == np.int64 and table["rate"].dtype == np.float64
    assert list(table["quantizer"]) == ["uniform", "uniform", "lm", "lm", "exact"]
    assert table["param"].dtype == object  # "step=1" is not a number
    assert table.filter("lm")["param"].dtype == np.float64
    assert len(table.filter(["lm", "exact"])) == 3
    with pytest.raises(ValueError, match="labels"):
        table.filter("nope")
    with pytest.raises(KeyError, match="columns"):
        table["speed"]
    with pytest.raises(TypeError):
        table[1.5]
    row = table[0]
    row["rate"] = -1.0  # a copy
    assert table[0]["rate"] > 0 and table.rows[0]["rate"] > 0
    assert [r["quantizer"] for r in table] == list(table["quantizer"])
    assert len(rd.RDResult.concat(table, table)) == 10
    with pytest.raises(TypeError):
        rd.RDResult.concat(table, [1])
    with pytest.raises(ValueError, match="missing"):
        rd.RDResult([{"quantizer": "x"}])
    text = str(table)
    assert "uniform" in text and "snr_db" in text and "inf" in text
    assert repr(table).startswith("<RDResult: 5 row(s)>")
    assert repr(rd.RDResult()) == "<RDResult: 0 rows>" and len(rd.RDResult()) == 0


def test_csv_round_trip(table, tmp_path):
    text = table.to_csv()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(rd.COLUMNS) and len(rows) == len(table)
    for parsed, row in zip(rows, table):
        assert parsed["quantizer"] == row["quantizer"]
        for c in rd.COLUMNS[2:]:
            assert float(parsed[c]) == row[c] or (math.isnan(row[c]) and math.isnan(float(parsed[c]))), c
    assert rows[-1]["snr_db"] == "inf" and rows[-1]["param"] == "step=1"
    assert table.to_csv(tmp_path / "t.csv") is None
    assert (tmp_path / "t.csv").read_text(encoding="utf-8") == text


def test_json_round_trip_is_strict(table, tmp_path):
    text = table.to_json()
    records = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert len(records) == len(table)
    for rec, row in zip(records, table):
        assert list(rec) == list(rd.COLUMNS)
        for c in rd.COLUMNS:
            v = row[c]
            if isinstance(v, float) and not math.isfinite(v):
                assert rec[c] is None
            else:
                assert rec[c] == v
    assert records[-1]["mse"] == 0 and records[-1]["snr_db"] is None
    table.to_json(tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text(encoding="utf-8")) == records


def test_markdown_table(table, tmp_path):
    text = table.to_markdown(columns=["quantizer", "param", "rate", "snr_db"], floatfmt=".3f")
    lines = text.strip().splitlines()
    assert lines[0] == "| quantizer | param | rate | snr_db |"
    assert lines[1] == "|:---|---:|---:|---:|"
    assert len(lines) == 2 + len(table)
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells == ["uniform", "1", f"{table[0]['rate']:.3f}", f"{table[0]['snr_db']:.3f}"]
    assert lines[-1].endswith("| inf |")
    full = table.to_markdown()
    assert full.splitlines()[0].count("|") == len(rd.COLUMNS) + 1
    table.to_markdown(tmp_path / "t.md")
    assert (tmp_path / "t.md").read_text(encoding="utf-8") == full
    with pytest.raises(KeyError):
        table.to_markdown(columns=["nope"])


def test_to_pandas_gives_the_same_numbers(table):
    pd = pytest.importorskip("pandas")
    df = table.to_pandas()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == list(rd.COLUMNS)
    for c in rd.COLUMNS[2:]:
        np.testing.assert_array_equal(df[c].to_numpy(dtype=float), table[c].astype(float))
    assert list(df["quantizer"]) == list(table["quantizer"])


def test_to_pandas_names_the_package_when_missing(table, monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("no pandas")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match="pip install pandas"):
        table.to_pandas()


def test_gap_to_gaussian_bound_by_hand(table):
    gap = rd.gap_to_gaussian_bound(table, variance=2.0)
    for g, row in zip(gap, table):
        if row["mse"] == 0:
            assert math.isnan(g)
        else:
            assert g == pytest.approx(row["rate"] - max(0.0, 0.5 * math.log2(2.0 / row["mse"])), abs=1e-12)
    with pytest.raises(ValueError, match="rate"):
        rd.gap_to_gaussian_bound(table, 1.0, rate="mse")
    with pytest.raises(TypeError):
        rd.gap_to_gaussian_bound(table.rows, 1.0)
