"""Audio files through quantsig streams: real soundfile round trips on generated and recorded audio."""

import os
import sysconfig
import warnings

import numpy as np
import pytest
import soundfile as sf

from quantsig import datasets
from quantsig.audio import (
    AudioFileError,
    compress_file,
    decompress_file,
    g711_quantizer,
)
from quantsig.stream import StreamReader

pytestmark = pytest.mark.jit_heavy

AUDIODATA = os.path.join(sysconfig.get_paths()["stdlib"], "test", "audiodata")


def _pcm(x, bits):
    """float audio in [-1, 1] -> the integers a ``bits``-bit file holds."""
    return np.round(np.asarray(x, np.float64) * (2 ** (bits - 1) - 1)).astype(np.int32)


def speech(seconds=1.0, rate=8000, seed=0):
    return datasets.speech_like(seconds, rate, seed=seed)


def stereo(seconds=0.5, rate=16000):
    left = datasets.music_like(seconds, rate, seed=1)
    right = 0.6 * left + 0.3 * datasets.speech_like(seconds, rate, seed=2)
    return np.stack([left, right], axis=1)


def write(path, x, rate, subtype, bits=None):
    """Write float ``x`` as ``subtype``; integer subtypes get exact ``bits``-bit integers."""
    if bits is None:
        sf.write(path, x, rate, subtype=subtype)
    else:
        ints = _pcm(x, bits) << (32 - bits)  # soundfile wants integers left-aligned in int32
        sf.write(path, ints.astype(np.int32), rate, subtype=subtype)
    return str(path)


def read_int(path):
    data, rate = sf.read(path, dtype="int32", always_2d=True)
    return data, rate


CASES = [  # (subtype, bits, channels, rate)
    ("PCM_16", 16, 1, 8000),
    ("PCM_16", 16, 2, 16000),
    ("PCM_24", 24, 2, 16000),
    ("PCM_32", 32, 1, 8000),
    ("PCM_U8", 8, 1, 8000),
]


@pytest.mark.parametrize("subtype,bits,channels,rate", CASES)
def test_lossless_round_trip_keeps_samples_rate_channels_subtype(tmp_path, subtype, bits, channels, rate):
    x = speech(0.5, rate) if channels == 1 else stereo(0.5, rate)
    src = write(tmp_path / "in.wav", x, rate, subtype, bits)
    stats = compress_file(src, tmp_path / "a.qsg")  # integer PCM: lossless by default
    assert stats.max_abs_error == 0 and stats.samples == x.shape[0] and stats.channels == channels
    assert stats.ratio > 1
    out = decompress_file(tmp_path / "a.qsg", tmp_path / "out.wav")
    info = sf.info(out.path)
    assert (info.samplerate, info.channels, info.subtype, info.format) == (rate, channels, subtype, "WAV")
    assert (out.sample_rate, out.channels, out.subtype, out.frames) == (rate, channels, subtype, x.shape[0])
    np.testing.assert_array_equal(read_int(out.path)[0], read_int(src)[0])


def test_stream_holds_the_files_own_integers(tmp_path):
    """24-bit samples are coded at 24 bits (not left-aligned) and 8-bit ones as int8."""
    x = stereo(0.25)
    with StreamReader(compress_file_to(tmp_path, x, "PCM_24", 24)) as r:
        y = r.read()
        assert y.dtype == np.int32 and y.shape == x.shape
        np.testing.assert_array_equal(y, _pcm(x, 24))
        assert r.metadata["pcm_bits"] == 24 and r.metadata["subtype"] == "PCM_24"
        assert r.metadata["sample_rate"] == 16000 and r.metadata["format"] == "WAV"
        assert r.sample_rate == 16000 and r.channels == 2
    with StreamReader(compress_file_to(tmp_path, x[:, 0], "PCM_U8", 8, name="u8")) as r:
        y = r.read()
        assert y.dtype == np.int8 and y.ndim == 1
        np.testing.assert_array_equal(y, _pcm(x[:, 0], 8))


def compress_file_to(tmp_path, x, subtype, bits, name="f", rate=16000, **opts):
    src = write(tmp_path / f"{name}.wav", x, rate, subtype, bits)
    dst = tmp_path / f"{name}.qsg"
    compress_file(src, dst, **opts)
    return dst


@pytest.mark.parametrize("subtype,bits,bound", [("PCM_16", 16, 3), ("PCM_24", 24, 100)])
def test_max_error_bound_holds_on_every_sample(tmp_path, subtype, bits, bound):
    x = stereo(0.5)
    src = write(tmp_path / "in.wav", x, 16000, subtype, bits)
    stats = compress_file(src, tmp_path / "a.qsg", max_abs_error=bound)
    assert 0 < stats.max_abs_error <= bound
    lossless = compress_file(src, tmp_path / "b.qsg")
    assert stats.file_bytes < lossless.file_bytes
    out = decompress_file(tmp_path / "a.qsg", tmp_path / "out.wav")
    assert sf.info(out.path).subtype == subtype
    err = np.abs(read_int(out.path)[0].astype(np.int64) - read_int(src)[0]) >> (32 - bits)
    assert err.max() <= bound


def test_float_file_needs_a_bound_and_keeps_it(tmp_path):
    x = stereo(0.5).astype(np.float32)
    src = write(tmp_path / "f.wav", x, 16000, "FLOAT")
    with pytest.raises(ValueError, match="max_abs_error"):
        compress_file(src, tmp_path / "a.qsg")
    assert not os.path.exists(tmp_path / "a.qsg")
    stats = compress_file(src, tmp_path / "a.qsg", max_abs_error=1e-3)
    assert stats.max_abs_error <= 1e-3
    out = decompress_file(tmp_path / "a.qsg", tmp_path / "out.wav")
    y, rate = sf.read(out.path, dtype="float32")
    assert sf.info(out.path).subtype == "FLOAT" and rate == 16000 and y.shape == x.shape
    assert np.abs(y.astype(np.float64) - x).max() <= 1e-3


def test_double_file_lossless_not_allowed_but_bits_are(tmp_path):
    x = speech(1.0, 8000).astype(np.float64)
    src = write(tmp_path / "d.wav", x, 8000, "DOUBLE")
    stats = compress_file(src, tmp_path / "a.qsg", bits_per_sample=3)
    assert stats.bits_per_sample <= 3  # the file is shorter than the prefix: the rate is met exactly
    assert 5 < stats.snr_db < 60
    with StreamReader(tmp_path / "a.qsg") as r:
        assert r.dtype == np.float64 and r.metadata["bits_per_sample_target"] == 3


def test_bits_per_sample_on_pcm16(tmp_path):
    x = speech(2.0, 8000)
    src = write(tmp_path / "s.wav", x, 8000, "PCM_16", 16)
    four = compress_file(src, tmp_path / "4.qsg", bits_per_sample=4)
    six = compress_file(src, tmp_path / "6.qsg", bits_per_sample=6)
    assert 3.0 < four.bits_per_sample <= 4 and 5.0 < six.bits_per_sample <= 6
    assert six.snr_db > four.snr_db + 6  # about 6 dB per bit


def test_progress_sees_every_block(tmp_path):
    x = speech(1.0, 8000)
    src = write(tmp_path / "s.wav", x, 8000, "PCM_16", 16)

    class Spy:
        def __init__(self):
            self.calls = []

        def update(self, n):
            self.calls.append(n)

    spy = Spy()
    compress_file(src, tmp_path / "a.qsg", block_size=1000, progress=spy)
    assert sum(spy.calls) == 8000 and max(spy.calls) == 1000 and len(spy.calls) == 8
    spy = Spy()
    decompress_file(tmp_path / "a.qsg", tmp_path / "b.wav", block_size=3000, progress=spy)
    assert sum(spy.calls) == 8000 and max(spy.calls) <= 3000


# ---------------------------------------------------------------------- G.711


@pytest.mark.parametrize("name,law", [("ulaw", "ULAW"), ("g711", "ULAW"), ("alaw", "ALAW")])
def test_g711_mode_is_audioop_byte_for_byte(tmp_path, name, law):
    audioop = pytest.importorskip("audioop")
    x = _pcm(speech(1.0, 8000), 16).astype(np.int16)
    x[:8] = [0, -1, -2, -3, -4, 1, -32768, 32767]  # the small negatives where G.711 variants differ
    src = tmp_path / "s.wav"
    sf.write(src, x, 8000, subtype="PCM_16")
    stats = compress_file(src, tmp_path / "a.qsg", quantizer=name)
    enc = audioop.lin2ulaw if law == "ULAW" else audioop.lin2alaw
    dec = audioop.ulaw2lin if law == "ULAW" else audioop.alaw2lin
    codes = enc(x.tobytes(), 2)
    expected = np.frombuffer(dec(codes, 2), np.int16)
    with StreamReader(tmp_path / "a.qsg") as r:
        np.testing.assert_array_equal(r.read(), expected)
    assert stats.bits_per_sample < 8  # the codes are entropy-coded below G.711's 8 bits
    # telephony bytes: headerless G.711, and a WAV file with the G.711 subtype
    decompress_file(tmp_path / "a.qsg", tmp_path / "a.raw", format="RAW", subtype=law)
    assert (tmp_path / "a.raw").read_bytes() == codes
    out = decompress_file(tmp_path / "a.qsg", tmp_path / "g.wav", subtype=law)
    assert sf.info(out.path).subtype == law
    np.testing.assert_array_equal(sf.read(out.path, dtype="int16")[0], expected)
    # by default the decoded samples go out as the source's PCM_16
    out = decompress_file(tmp_path / "a.qsg", tmp_path / "p.wav")
    assert out.subtype == "PCM_16"
    np.testing.assert_array_equal(sf.read(out.path, dtype="int16")[0], expected)


def test_g711_warns_off_8khz_and_reads_other_widths_as_int16(tmp_path):
    x = stereo(0.25)
    src = write(tmp_path / "s.wav", x, 16000, "PCM_24", 24)
    with pytest.warns(UserWarning, match="16000 Hz"):
        stats = compress_file(src, tmp_path / "a.qsg", quantizer="alaw")
    assert stats.channels == 2 and 20 < stats.snr_db < 45
    with StreamReader(tmp_path / "a.qsg") as r:
        assert r.dtype == np.int16 and r.read().shape == x.shape


def test_g711_quantizer_names():
    assert g711_quantizer("mu-law").law == "mu" and g711_quantizer("A-law").law == "a"
    assert g711_quantizer("ulaw").variant == "audioop"
    with pytest.raises(ValueError, match="unknown quantizer name"):
        g711_quantizer("adpcm")


# ---------------------------------------------------------------------- real recordings


PLUCK = [
    "pcm16.wav",
    "pcm24.wav",
    "pcm32.wav",
    "pcm8.wav",
    "pcm16.aiff",
    "pcm24.au",
    "pcm8.aiff",
    "ulaw.au",
    "alaw.aifc",
]


@pytest.mark.parametrize("name", PLUCK)
def test_cpython_recordings_round_trip_losslessly(tmp_path, name):
    path = os.path.join(AUDIODATA, f"pluck-{name}")
    if not os.path.exists(path):
        pytest.skip(f"{path} not shipped with this Python")
    src = sf.info(path)
    stats = compress_file(path, tmp_path / "a.qsg")
    assert stats.max_abs_error == 0 and stats.samples == 3307 and stats.channels == 2
    # back into the same container format: same subtype, same samples, same bytes of audio
    out = decompress_file(tmp_path / "a.qsg", tmp_path / f"out.{name.rsplit('.', 1)[1]}")
    assert (out.format, out.subtype, out.sample_rate, out.channels) == (src.format, src.subtype, 11025, 2)
    np.testing.assert_array_equal(read_int(out.path)[0], read_int(path)[0])
    if name in ("pcm16.wav", "pcm24.wav"):
        assert stats.ratio > 1.1  # a real recording compresses


def test_flac_out_picks_the_nearest_subtype(tmp_path):
    path = os.path.join(AUDIODATA, "pluck-pcm24.wav")
    if not os.path.exists(path):
        pytest.skip("no pluck-pcm24.wav")
    compress_file(path, tmp_path / "a.qsg")
    out = decompress_file(tmp_path / "a.qsg", tmp_path / "a.flac")
    assert out.format == "FLAC" and out.subtype == "PCM_24"
    np.testing.assert_array_equal(read_int(out.path)[0], read_int(path)[0])
    x = _pcm(speech(0.25), 32)
    src = write(tmp_path / "b.wav", speech(0.25), 8000, "PCM_32", 32)
    compress_file(src, tmp_path / "b.qsg")
    with pytest.warns(UserWarning, match="rounded"):
        out = decompress_file(tmp_path / "b.qsg", tmp_path / "b.flac")
    assert out.subtype == "PCM_24"
    y = sf.read(out.path, dtype="int32")[0].astype(np.int64)
    assert np.abs(y - x).max() < 256  # 32 -> 24 bits: the low byte is gone


# ---------------------------------------------------------------------- errors and atomicity


def test_unreadable_input_names_the_file_and_the_cause(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio")
    with pytest.raises(AudioFileError, match=r"notes\.wav.*Format not recognised"):
        compress_file(bad, tmp_path / "a.qsg")
    with pytest.raises(FileNotFoundError, match=r"missing.wav"):
        compress_file(tmp_path / "missing.wav", tmp_path / "a.qsg")
    assert sorted(os.listdir(tmp_path)) == ["notes.wav"]


def test_bad_modes_and_paths(tmp_path):
    src = write(tmp_path / "s.wav", speech(0.1), 8000, "PCM_16", 16)
    with pytest.raises(ValueError, match="at most one"):
        compress_file(src, tmp_path / "a.qsg", lossless=True, max_abs_error=2)
    with pytest.raises(ValueError, match="source"):
        compress_file(src, src)
    with pytest.raises(ValueError, match="bits_per_sample"):
        compress_file(src, tmp_path / "a.qsg", bits_per_sample=-1)
    compress_file(src, tmp_path / "a.qsg")
    with pytest.raises(ValueError, match="format"):
        decompress_file(tmp_path / "a.qsg", tmp_path / "out.xyz")
    with pytest.raises(ValueError, match="cannot hold"):
        decompress_file(tmp_path / "a.qsg", tmp_path / "out.flac", subtype="FLOAT")
    with pytest.raises(ValueError, match="source"):
        decompress_file(tmp_path / "a.qsg", tmp_path / "a.qsg")


def test_failed_write_leaves_the_destination_untouched(tmp_path):
    x = stereo(0.25).astype(np.float32)
    src = write(tmp_path / "f.wav", x, 16000, "FLOAT")
    dst = tmp_path / "a.qsg"
    dst.write_bytes(b"precious")
    with pytest.raises(ValueError):
        compress_file(src, dst)  # float: no default mode
    with pytest.raises(ValueError):
        compress_file(src, dst, bits_per_sample=1e-6)  # no step reaches it
    assert dst.read_bytes() == b"precious"
    assert sorted(os.listdir(tmp_path)) == ["a.qsg", "f.wav"]  # no temporary files left behind
    stats = compress_file(src, dst, max_abs_error=0.01)
    assert stats.file_bytes == os.path.getsize(dst)


def test_corrupt_stream_raises_corrupt_file_error(tmp_path):
    from quantsig import CorruptFileError

    src = write(tmp_path / "s.wav", speech(0.5), 8000, "PCM_16", 16)
    compress_file(src, tmp_path / "a.qsg")
    (tmp_path / "bad.qsg").write_bytes(b"not a stream at all, no")
    with pytest.raises(CorruptFileError):
        decompress_file(tmp_path / "bad.qsg", tmp_path / "out.wav")
    assert not os.path.exists(tmp_path / "out.wav")


def test_no_warnings_on_the_plain_path(tmp_path):
    src = write(tmp_path / "s.wav", speech(0.5), 8000, "PCM_16", 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compress_file(src, tmp_path / "a.qsg")
        decompress_file(tmp_path / "a.qsg", tmp_path / "b.flac")
