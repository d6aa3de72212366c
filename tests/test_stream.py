"""Streams: lossless, error-bounded, rate- and SNR-targeted coding; chunking, seeking, cut-off
files, crashes, corruption, bad input, memory."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

import quantsig
from quantsig.datasets import music_like, speech_like
from quantsig.errors import CorruptFileError
from quantsig.stream import StreamReader, StreamWriter, compress_array

pytestmark = pytest.mark.jit_heavy

RNG = np.random.default_rng(12345)


def _pcm(x: np.ndarray, peak: float = 20000, dtype=np.int16) -> np.ndarray:
    return np.round(np.asarray(x, np.float64) * peak).astype(dtype)


def _music(seconds=2.0, sr=44100) -> np.ndarray:
    return _pcm(music_like(seconds, sr))


def _speech(seconds=2.0, sr=16000) -> np.ndarray:
    return _pcm(speech_like(seconds, sr))


def _stereo(seconds=1.0) -> np.ndarray:
    """Two microphones hearing the same music: the right one later and with its own noise."""
    left = _music(seconds)
    right = (np.roll(left, 3) * 0.9 + _pcm(speech_like(seconds, 44100), 300)).astype(np.int16)
    return np.stack([left, right], axis=1)


def _roundtrip(x, **opts):
    blob, stats = compress_array(x, **opts)
    y = quantsig.decompress(blob)
    assert y.shape == x.shape and y.dtype == x.dtype
    return y, blob, stats


# ------------------------------------------------------------------------------- lossless
@pytest.mark.parametrize(
    "x",
    [
        pytest.param(_music(1.0), id="music-int16"),
        pytest.param(_speech(1.0), id="speech-int16"),
        pytest.param(_stereo(0.5), id="stereo-int16"),
        pytest.param(RNG.integers(-32768, 32768, (5000, 3)).astype(np.int16), id="noise-3ch-full-scale"),
        pytest.param(np.tile(np.array([-32768, 32767], np.int16), 3000), id="extremes-alternating"),
        pytest.param(RNG.integers(-128, 128, 7000).astype(np.int8), id="int8"),
        pytest.param(_pcm(music_like(0.5, 48000), 2**30, np.int32), id="int32"),
        pytest.param(
            RNG.integers(-(2**31), 2**31, (3000, 2), dtype=np.int64).astype(np.int32), id="int32-noise-stereo"
        ),
        pytest.param((_music(0.5).astype(np.int32) << 8), id="pcm24-left-aligned"),
        pytest.param(np.zeros(10_000, np.int16), id="silence"),
        pytest.param(np.full(1000, -7, np.int16), id="constant"),
        pytest.param(np.array([5], np.int16), id="one-sample"),
        pytest.param(np.array([[1, -1]], np.int16), id="one-row-stereo"),
    ],
)
def test_lossless_is_bit_exact(x):
    y, blob, stats = _roundtrip(x, lossless=True)
    np.testing.assert_array_equal(y, x)
    assert stats.max_abs_error == 0 and stats.snr_db == float("inf")
    assert stats.file_bytes == len(blob)


@pytest.mark.parametrize("frame_size,block_size", [(1, 1), (7, 3), (1000, 1000), (4096, 37)])
def test_lossless_any_frame_and_block_size(frame_size, block_size):
    x = _stereo(0.2)
    y, _, _ = _roundtrip(x, lossless=True, frame_size=frame_size, block_size=block_size)
    np.testing.assert_array_equal(y, x)


def test_wasted_bits_cost_nothing():
    x = _music(1.0)
    plain = len(compress_array(x, lossless=True)[0])
    shifted = len(compress_array(x.astype(np.int32) << 8, lossless=True)[0])
    assert shifted <= plain + 64  # the 8 zero bits are removed per frame


def test_stereo_decorrelation_pays_on_correlated_channels():
    left = _music(1.0)
    coherent = np.stack([left, left + _pcm(speech_like(1.0, 44100), 300)], axis=1).astype(np.int16)
    with_ms = len(compress_array(coherent, lossless=True)[0])
    without = len(compress_array(coherent, lossless=True, stereo=False)[0])
    assert with_ms < 0.85 * without
    x = _stereo(1.0)  # delayed: little to gain, and (within the estimates' accuracy) nothing lost
    assert len(compress_array(x, lossless=True)[0]) <= 1.005 * len(compress_array(x, lossless=True, stereo=False)[0])


@pytest.mark.parametrize("make", [_music, _speech], ids=["music", "speech"])
def test_lossless_beats_flac_level8(make):
    """The peer: FLAC at its strongest setting through soundfile, same samples."""
    x = make(3.0)
    buf = io.BytesIO()
    sf.write(buf, x, 44100, format="FLAC", subtype="PCM_16", compression_level=1.0)
    ours = len(quantsig.compress(x, lossless=True))
    assert ours <= len(buf.getvalue()), (ours, len(buf.getvalue()))


def test_real_recording_lossless_vs_flac():
    """CPython's test suite ships a real recording (a plucked string), 16-bit stereo."""
    import sysconfig

    path = os.path.join(sysconfig.get_paths()["stdlib"], "test", "audiodata", "pluck-pcm16.wav")
    if not os.path.exists(path):
        pytest.skip("this Python has no test/audiodata")
    x, sr = sf.read(path, dtype="int16", always_2d=True)
    y, blob, _ = _roundtrip(x, lossless=True, sample_rate=sr)
    np.testing.assert_array_equal(y, x)
    buf = io.BytesIO()
    sf.write(buf, x, sr, format="FLAC", subtype="PCM_16", compression_level=1.0)
    assert len(blob) <= len(buf.getvalue()) + 512  # header and index: a tiny file


# ------------------------------------------------------------------------------- chunking
def test_chunking_does_not_change_a_byte():
    x = _stereo(0.6)
    whole = io.BytesIO()
    with StreamWriter(whole, channels=2, frame_size=5000, sample_rate=44100) as w:
        w.write(x)
    pieces = io.BytesIO()
    with StreamWriter(pieces, channels=2, frame_size=5000, sample_rate=44100) as w:
        pos = 0
        rng = np.random.default_rng(3)
        while pos < len(x):
            n = int(rng.choice([0, 1, 2, 17, 999, 4096, 7000]))
            w.write(x[pos : pos + n])
            pos += n
    assert whole.getvalue() == pieces.getvalue()


def test_safe_cast_blocks_accepted_lossy_refused():
    buf = io.BytesIO()
    with StreamWriter(buf, dtype=np.int32) as w:
        w.write(np.arange(100, dtype=np.int16))  # int16 fits int32
        with pytest.raises(TypeError, match="without loss"):
            w.write(np.arange(10, dtype=np.float64))
    np.testing.assert_array_equal(StreamReader(buf.getvalue()).read(), np.arange(100))


# ------------------------------------------------------------------------------- error bounds
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rel", [1e-2, 1e-3, 1e-4, 1e-6])
def test_float_bound_holds_after_rounding(dtype, rel):
    x = (np.cumsum(RNG.standard_normal(30_000)) * 3.0).astype(dtype)
    e = rel * float(x.max() - x.min())
    y, _, stats = _roundtrip(x, max_abs_error=e)
    err = np.abs(y.astype(np.float64) - x.astype(np.float64))
    assert err.max() <= e
    assert stats.max_abs_error == pytest.approx(err.max(), rel=0, abs=0)


def test_float32_bound_below_its_resolution_uses_exact_samples():
    """Values near 1e6 have a float32 spacing of 0.0625: a bound of 0.01 can only be met by
    storing those samples exactly; it must still hold."""
    x = (1e6 + np.cumsum(RNG.standard_normal(5000))).astype(np.float32)
    y, _, _ = _roundtrip(x, max_abs_error=0.01)
    assert np.abs(y.astype(np.float64) - x.astype(np.float64)).max() <= 0.01


@pytest.mark.parametrize("e,expect", [(0.4, 0), (1, 1), (3.7, 3), (100, 100)])
def test_integer_bound(e, expect):
    x = _stereo(0.3)
    y, _, stats = _roundtrip(x, max_abs_error=e)
    err = np.abs(y.astype(np.int64) - x.astype(np.int64))
    assert err.max() <= expect
    assert stats.mode == ("lossless" if expect == 0 else "max_abs_error")


def test_integer_bound_near_full_scale_does_not_wrap():
    x = np.clip(RNG.normal(0, 30000, 20_000), -32768, 32767).astype(np.int16)
    y, _, _ = _roundtrip(x, max_abs_error=50)
    assert np.abs(y.astype(np.int64) - x.astype(np.int64)).max() <= 50


def test_bound_reported_and_looser_bound_smaller():
    x = np.cumsum(RNG.standard_normal(50_000))
    sizes = [len(compress_array(x, max_abs_error=e)[0]) for e in (1e-4, 1e-3, 1e-2, 1e-1)]
    assert sizes == sorted(sizes, reverse=True)


# ------------------------------------------------------------------------------- targets
@pytest.mark.parametrize("bits", [1.0, 2.0, 4.0, 6.0])
def test_bits_per_sample_float(bits):
    x = np.cumsum(RNG.standard_normal(40_000)).astype(np.float32)
    blob, stats = compress_array(x, bits_per_sample=bits)
    assert 8 * len(blob) / x.size <= bits
    assert stats.bits_per_sample > 0.9 * bits  # the search uses the budget


def test_bits_per_sample_int_and_monotone_quality():
    x = _speech(2.0)
    snrs = []
    for bits in (2.0, 3.0, 4.0):
        blob, stats = compress_array(x, bits_per_sample=bits)
        assert 8 * len(blob) / x.size <= bits
        snrs.append(stats.snr_db)
    assert snrs == sorted(snrs)


def test_bits_per_sample_lossless_when_affordable():
    x = _speech(0.5)
    blob, stats = compress_array(x, bits_per_sample=15.0)
    assert stats.mode == "lossless"
    np.testing.assert_array_equal(quantsig.decompress(blob), x)


@pytest.mark.parametrize("target", [20.0, 40.0, 60.0])
def test_snr_target(target):
    x = _music(1.0)
    blob, stats = compress_array(x, snr_db=target)
    y = quantsig.decompress(blob).astype(np.float64)
    snr = 10 * np.log10(np.sum(x.astype(np.float64) ** 2) / np.sum((y - x) ** 2))
    assert snr >= target and snr == pytest.approx(stats.snr_db)
    assert snr < target + 6  # not a wasteful step


def test_4_bits_beats_ima_adpcm_by_6db():
    audioop = pytest.importorskip("audioop")
    x = _speech(3.0, 8000)
    adpcm, _ = audioop.lin2adpcm(x.tobytes(), 2, None)
    back = np.frombuffer(audioop.adpcm2lin(adpcm, 2, None)[0], np.int16).astype(np.float64)
    snr_adpcm = 10 * np.log10(np.sum(x.astype(np.float64) ** 2) / np.sum((back - x) ** 2))
    _, stats = compress_array(x, bits_per_sample=4.0)
    assert stats.snr_db >= snr_adpcm + 6, (stats.snr_db, snr_adpcm)


# ------------------------------------------------------------------------------- quantizer mode
def test_g711_mode_matches_quantizer():
    x = _speech(0.5, 8000)
    q = quantsig.G711Quantizer()
    y, _, stats = _roundtrip(x, quantizer=q)
    np.testing.assert_array_equal(y, q.quantize(x))
    assert stats.mode == "quantizer"


def test_learned_quantizer_is_fitted_on_the_first_frame():
    x = RNG.standard_normal(20_000)
    y, blob, _ = _roundtrip(x, quantizer=quantsig.LloydMaxQuantizer(levels=16))
    assert np.unique(y).size <= 16
    assert quantsig.info(blob)["quantizer"].startswith("LloydMaxQuantizer")


# ------------------------------------------------------------------------------- reading
def test_seek_read_blocks_and_iteration():
    x = _stereo(0.5)
    r = StreamReader(quantsig.compress(x, lossless=True, frame_size=3000))
    assert len(r) == len(x) and r.channels == 2 and r.frames == -(-len(x) // 3000)
    for pos, n in [(0, 10), (2999, 2), (12345, 7000), (len(x) - 5, 100), (len(x), 3)]:
        r.seek(pos)
        np.testing.assert_array_equal(r.read(n), x[pos : pos + n])
        assert r.tell() == min(pos + n, len(x))
    r.seek(-100)
    np.testing.assert_array_equal(r.read(), x[-100:])
    r.seek(0)
    np.testing.assert_array_equal(np.concatenate(list(r.blocks(4097))), x)
    r.seek(0)
    parts = list(r)
    assert [len(p) for p in parts[:-1]] == [3000] * (len(parts) - 1)
    np.testing.assert_array_equal(np.concatenate(parts), x)
    with pytest.raises(ValueError):
        r.seek(len(x) + 1)


def test_one_channel_shapes_kept():
    x = _speech(0.2)
    assert quantsig.decompress(quantsig.compress(x, lossless=True)).shape == x.shape
    x2 = x.reshape(-1, 1)
    assert quantsig.decompress(quantsig.compress(x2, lossless=True)).shape == x2.shape


def test_file_paths_info_and_save_load(tmp_path):
    x = _stereo(0.3)
    path = tmp_path / "s.qsg"
    with StreamWriter(path, channels=2, sample_rate=44100, metadata={"who": "test"}) as w:
        w.write(x)
    d = quantsig.info(path)
    assert d["kind"] == "stream" and d["samples"] == len(x) and d["channels"] == 2
    assert d["sample_rate"] == 44100 and d["metadata"] == {"who": "test"} and d["complete"]
    assert d["file_bytes"] == os.path.getsize(path)
    with StreamReader(path) as r:
        np.testing.assert_array_equal(r.read(), x)
    n = quantsig.save(tmp_path / "t.qsg", x, lossless=True)
    assert n == os.path.getsize(tmp_path / "t.qsg")
    np.testing.assert_array_equal(quantsig.load(tmp_path / "t.qsg"), x)


# ------------------------------------------------------------------------------- damage
def test_cut_off_stream_yields_complete_frames():
    x = _speech(1.0)
    blob = quantsig.compress(x, lossless=True, frame_size=2000)
    full = StreamReader(blob)
    frames = full._frames
    for cut in (frames[3].offset + 5, frames[5].offset, len(blob) - 3):
        r = StreamReader(blob[:cut])
        assert not r.complete
        k = sum(1 for f in frames if f.offset + f.size <= cut)
        assert len(r) == 2000 * k
        np.testing.assert_array_equal(r.read(), x[: len(r)])
        with pytest.raises(CorruptFileError, match="truncated"):
            quantsig.decompress(blob[:cut])


@pytest.mark.parametrize("threads", [1, 3])
def test_killed_writer_leaves_readable_frames(tmp_path, threads):
    path = tmp_path / "killed.qsg"
    code = textwrap.dedent(
        f"""
        import os, numpy as np
        from quantsig.stream import StreamWriter
        w = StreamWriter({str(path)!r}, frame_size=1000, threads={threads})
        x = (np.arange(5500) % 200 - 100).astype(np.int16)
        w.write(x)
        os._exit(3)  # no close(), no index: like a crash
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == 3, proc.stderr.decode()
    r = StreamReader(path)
    # every frame written before the crash reads back; with worker threads, the frames still
    # being encoded (at most threads - 1 besides the partial one) are lost with the process
    assert not r.complete and len(r) % 1000 == 0 and 5000 - 1000 * (threads - 1) <= len(r) <= 5000
    np.testing.assert_array_equal(r.read(), (np.arange(len(r)) % 200 - 100).astype(np.int16))


def test_exception_in_with_block_keeps_complete_frames():
    buf = io.BytesIO()
    with pytest.raises(RuntimeError), StreamWriter(buf, frame_size=100) as w:
        w.write(np.arange(250, dtype=np.int16))
        raise RuntimeError("boom")
    r = StreamReader(buf.getvalue())
    assert len(r) == 200 and not r.complete


@pytest.mark.parametrize(
    "mode", [dict(lossless=True), dict(max_abs_error=2.0), dict(quantizer=quantsig.G711Quantizer())]
)
def test_bit_flips_raise_corrupt_file_error_only(mode):
    x = _stereo(0.1) if "quantizer" not in mode else _speech(0.1)
    blob = quantsig.compress(x, **mode) if "quantizer" not in mode else compress_array(x, **mode)[0]
    rng = np.random.default_rng(7)
    for _ in range(300):
        data = bytearray(blob)
        for _ in range(int(rng.integers(1, 4))):
            i = int(rng.integers(0, len(data)))
            data[i] ^= 1 << int(rng.integers(0, 8))
        with contextlib.suppress(CorruptFileError):
            quantsig.decompress(bytes(data))


def _reheader(blob: bytes, **changes) -> bytes:
    """The same frames under a changed header, with a consistent index (a careful forger)."""
    from quantsig import container as c

    header = c.read_header(blob)
    doc = {**header.doc, **changes}
    doc = {k: v for k, v in doc.items() if v is not None}
    parts: list[bytes] = []
    w = c.ContainerWriter(parts.append, doc)
    for f in c.read_index(blob, header):
        w.add_frame(f.kind, f.n_values, bytes(c.frame_payload(blob, f)))
    w.close()
    return b"".join(parts)


def test_forged_stream_headers_are_refused():
    x = _speech(0.1)
    blob = quantsig.compress(x, lossless=True)
    np.testing.assert_array_equal(quantsig.decompress(_reheader(blob)), x)  # the forger's tool works
    for change in [
        dict(channels=0),
        dict(channels=10**9),
        dict(channels=2),
        dict(frame_size=2**40),
        dict(frame_size=10),
        dict(mode="magic"),
        dict(dtype="<c16"),
        dict(dtype="<f4"),
        dict(max_order=99),
        dict(max_order=2),
        dict(contexts=0),
        dict(stereo="yes"),
        dict(mode="max_abs_error"),
        dict(mode="max_abs_error", bound=-1),
        dict(mode="step", step=0),
        dict(kind="array"),
        dict(block_size=0),
    ]:
        with pytest.raises(CorruptFileError):
            quantsig.decompress(_reheader(blob, **change))


# ------------------------------------------------------------------------------- bad input
def test_bad_input_messages():
    x = _speech(0.1)
    with pytest.raises(ValueError, match="lossless=True is for integer"):
        compress_array(x.astype(np.float32), lossless=True)
    with pytest.raises(ValueError, match=r"not lossless and max_abs_error|give one"):
        quantsig.compress(x, lossless=True, max_abs_error=1)
    with pytest.raises(ValueError, match="NaN"):
        compress_array(np.array([1.0, np.nan, 2.0]), max_abs_error=0.1)
    with pytest.raises(ValueError, match="empty"):
        quantsig.compress(np.zeros(0, np.int16), lossless=True)
    with pytest.raises(ValueError, match=r"1-D .* or 2-D"):
        quantsig.compress(np.zeros((2, 2, 2), np.int16), lossless=True)
    with pytest.raises(ValueError, match="max_abs_error"):
        quantsig.compress(x, max_abs_error=-1)
    with pytest.raises(ValueError, match="needs max_abs_error"):
        compress_array(np.zeros(10))
    with pytest.raises(ValueError, match="either quantizer"):
        quantsig.compress(x, quantsig.G711Quantizer(), lossless=True)
    with pytest.raises(ValueError, match="shape"):
        StreamWriter(io.BytesIO(), channels=2).write(np.zeros(10, np.int16))
    with pytest.raises(ValueError, match="cannot be met"):
        compress_array(x, bits_per_sample=0.001)
    with pytest.raises(TypeError, match="does not encode"):
        compress_array(x.astype(np.float32), quantizer=quantsig.G711Quantizer())


# ------------------------------------------------------------------------------- memory
def _peak_writing(frames: int) -> int:
    block = _music(0.1)  # 4410 samples
    tracemalloc.start()
    with StreamWriter(io.BytesIO() if False else _Null(), frame_size=4410) as w:
        for _ in range(frames):
            w.write(block)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


class _Null:
    def write(self, b: bytes) -> int:
        return len(b)


def test_writer_memory_does_not_grow_with_length():
    short, long = _peak_writing(10), _peak_writing(100)
    assert long < 1.5 * short + 100_000, (short, long)


# ------------------------------------------------------------------------------- value maps
def test_few_distinct_values_cost_their_indices():
    """Telephone audio decoded from G.711 takes at most 256 distinct int16 values: lossless
    coding should exploit it (FLAC cannot)."""
    x = quantsig.G711Quantizer().quantize(_speech(2.0, 8000))
    y, blob, _ = _roundtrip(x, lossless=True)
    np.testing.assert_array_equal(y, x)
    buf = io.BytesIO()
    sf.write(buf, x, 8000, format="FLAC", subtype="PCM_16", compression_level=1.0)
    assert len(blob) < 0.85 * len(buf.getvalue())


def test_value_map_handles_stereo_and_extremes():
    levels = np.array([-32768, -5, 0, 7, 32767], np.int16)
    x = levels[RNG.integers(0, 5, (20_000, 2))]
    y, _, _ = _roundtrip(x, lossless=True)
    np.testing.assert_array_equal(y, x)
