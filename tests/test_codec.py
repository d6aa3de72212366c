"""Codec, container and front door: round trips, self-description, and hostile files."""

import json
import os
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import quantsig
from quantsig import container
from quantsig.errors import CorruptFileError

RNG = np.random.default_rng(0)


def quantizers():
    return [
        quantsig.UniformQuantizer(bits=8, lo=-4.0, hi=4.0, clip=True),
        quantsig.UniformQuantizer(step=0.05),
        quantsig.UniformQuantizer(bits=12),
        quantsig.MuLawQuantizer(bits=8, clip=True),
        quantsig.ALawQuantizer(bits=6, clip=True),
        quantsig.LloydMaxQuantizer(16),
        quantsig.KMeansVectorQuantizer(16, dim=2, random_state=0),
    ]


def data(shape=(3000,), dtype=np.float32, scale=0.3):
    return (RNG.standard_normal(shape) * scale).astype(dtype)


@pytest.mark.parametrize("q", quantizers(), ids=repr)
@pytest.mark.parametrize("entropy", ["rans", "raw"])
def test_round_trip_equals_quantize(q, entropy):
    x = data((40, 100))
    blob = quantsig.compress(x, q, entropy=entropy, frame_size=1000)
    y = quantsig.decompress(blob)
    fitted = q if q.is_fitted() else type(q).from_config(q.get_config()).fit(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    np.testing.assert_array_equal(y, fitted.quantize(x))


@pytest.mark.parametrize("dtype", ["<f4", ">f4", "<f8", ">f8"])
@pytest.mark.parametrize("shape", [(5000,), (50, 100), (4, 5, 6, 10)])
def test_shape_dtype_and_byte_order_survive(dtype, shape):
    x = data(shape).astype(dtype)
    y = quantsig.decompress(quantsig.compress(x, quantsig.UniformQuantizer(step=0.01)))
    assert y.dtype == np.dtype(dtype) and y.shape == shape
    assert np.abs(y.astype(float) - x.astype(float)).max() <= 0.005 + 1e-6


def test_zero_dimensional_and_single_sample_arrays():
    for x in (np.float64(0.3), np.array(0.3, np.float32), np.array([0.3])):
        x = np.asarray(x)
        y = quantsig.decompress(quantsig.compress(x, quantsig.UniformQuantizer(step=0.1)))
        assert y.shape == x.shape and y.dtype == x.dtype and float(y.reshape(-1)[0]) == pytest.approx(0.3)


def test_g711_pcm_round_trip():
    pcm = (RNG.laplace(scale=2000, size=8000)).clip(-32768, 32767).astype(np.int16)
    q = quantsig.G711Quantizer(law="a", variant="audioop")
    y = quantsig.decompress(quantsig.compress(pcm, q))
    assert y.dtype == np.int16
    np.testing.assert_array_equal(y, q.quantize(pcm))


def test_default_quantizer_is_16_bit_uniform_over_the_range():
    x = data((1000,), np.float64)
    blob = quantsig.compress(x)
    d = quantsig.info(blob)
    assert d["quantizer_config"]["id"] == "uniform" and d["quantizer_config"]["bits"] == 16
    assert np.abs(quantsig.decompress(blob) - x).max() <= np.ptp(x) / 65535 / 2 + 1e-12
    with pytest.raises(TypeError, match="quantizer="):
        quantsig.compress(np.zeros(10, np.int16))


def test_learned_arrays_are_binary_and_exact():
    x = data((20000,), np.float64)
    q = quantsig.LloydMaxQuantizer(32).fit(x)
    blob = quantsig.compress(x, q)
    header = container.read_header(blob)
    text = json.dumps(header.doc, default=lambda a: "ARRAY")
    assert "ARRAY" in text  # arrays came back as ndarrays, not decimal lists
    assert len(header.arrays) == 2
    q2 = quantsig.get_quantizer(header.doc["quantizer"])
    np.testing.assert_array_equal(q2.levels_, q.levels_)
    np.testing.assert_array_equal(q2.thresholds_, q.thresholds_)


def test_rate_follows_entropy():
    x = data((200_000,), np.float64, scale=1.0)
    q = quantsig.UniformQuantizer(step=0.5)
    codes = q.encode(x)
    _, counts = np.unique(codes, return_counts=True)
    p = counts / counts.sum()
    h = -(p * np.log2(p)).sum()
    d = quantsig.info(quantsig.compress(x, q))
    assert h <= d["bits_per_sample"] <= h * 1.02 + 0.01
    raw = quantsig.info(
        quantsig.compress(x, quantsig.UniformQuantizer(bits=8, lo=-8.0, hi=8.0, clip=True), entropy="raw")
    )
    assert 8.0 <= raw["bits_per_sample"] < 8.05


def test_info_metadata_and_frames():
    x = data((10_000,))
    blob = quantsig.compress(
        x, quantsig.MuLawQuantizer(clip=True), frame_size=3000, metadata={"rate": 8000, "who": "test"}
    )
    d = quantsig.info(blob)
    assert d["frames"] == 4 and d["complete"] and d["metadata"] == {"rate": 8000, "who": "test"}
    assert d["file_bytes"] == len(blob) and d["shape"] == (10_000,)
    with pytest.raises(TypeError, match="JSON"):
        quantsig.compress(x, quantsig.MuLawQuantizer(clip=True), metadata={"x": object()})


def test_save_load_is_atomic(tmp_path):
    path = tmp_path / "a.qsg"
    x = data((1000,))
    n = quantsig.save(path, x, quantsig.UniformQuantizer(step=0.1))
    assert n == os.path.getsize(path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="NaN"):
        quantsig.save(path, np.array([np.nan], np.float32), quantsig.UniformQuantizer(step=0.1))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.qsg"]
    np.testing.assert_array_equal(quantsig.load(path), quantsig.UniformQuantizer(step=0.1).quantize(x))


_SMALL = None


def small_file():
    """A fixed small file (three frames), the same bytes on every call."""
    global _SMALL
    if _SMALL is None:
        x = (np.random.default_rng(42).standard_normal(600) * 0.3).astype(np.float32)
        _SMALL = quantsig.compress(x, quantsig.UniformQuantizer(step=0.1), frame_size=256)
    return _SMALL


def test_newer_version_is_refused():
    blob = bytearray(small_file())
    blob[8:10] = struct.pack("<H", container.FORMAT_VERSION + 1)
    with pytest.raises(container.UnsupportedVersionError, match="newer"):
        quantsig.decompress(bytes(blob))


def forge_header(doc_change):
    """A file whose header was rewritten (with a valid checksum) by ``doc_change``."""
    x = data((600,))
    q = quantsig.UniformQuantizer(step=0.1)
    blob = quantsig.compress(x, q)
    header = container.read_header(blob)
    doc = dict(header.doc)
    doc_change(doc)
    new_head = container.encode_header(doc)
    return new_head + blob[header.end :]


def test_decompression_bomb_is_refused_before_allocating():
    bomb = forge_header(lambda d: d.update(shape=[10**12], codes={"dtype": "<i4", "count": 10**12}))
    with pytest.raises(CorruptFileError, match="max_output_bytes"):
        quantsig.decompress(bomb)
    with pytest.raises(CorruptFileError):
        quantsig.decompress(bomb, max_output_bytes=1 << 62)  # frames do not hold that many codes


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(shape=[601]), "codes"),
        (lambda d: d.update(dtype="<c16"), "dtype"),
        (lambda d: d.update(entropy="lz77"), "entropy"),
        (lambda d: d["quantizer"].update(step=-1.0), "quantizer config"),
        (lambda d: d["quantizer"].update(id="nope"), "quantizer config"),
        (lambda d: d.update(frame_size=0), "frame_size"),
        (lambda d: d.update(codes={"dtype": "<u2", "count": 600}), "code dtype"),
        (lambda d: d.update(format="zip"), "quantsig array"),
    ],
)
def test_forged_headers(change, message):
    with pytest.raises(CorruptFileError, match=message):
        quantsig.decompress(forge_header(change))


def test_every_truncation_is_detected():
    blob = small_file()
    for n in range(len(blob)):
        with pytest.raises(CorruptFileError):
            quantsig.decompress(blob[:n])


def test_cut_off_file_keeps_its_complete_frames():
    blob = small_file()
    header = container.read_header(blob)
    frames = container.read_index(blob, header)
    cut = blob[: frames[2].offset + 10]  # in the middle of the third frame
    found = list(container.scan_frames(cut, header))
    assert [f.n_values for f in found] == [256, 256]
    assert quantsig.info(cut)["complete"] is False
    with pytest.raises(CorruptFileError, match="truncated"):
        quantsig.decompress(cut)


def test_not_a_file():
    with pytest.raises(CorruptFileError, match="magic"):
        quantsig.decompress(b"PK\x03\x04 this is a zip")
    with pytest.raises(TypeError):
        quantsig.decompress("a string")


MUTATION = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode_only_corrupt(blob):
    try:
        y = quantsig.decompress(blob)
    except CorruptFileError:
        return None
    return y


@MUTATION
@given(st.data())
def test_mutations_raise_only_corrupt_file_error(draw):
    blob = bytearray(small_file())
    kind = draw.draw(st.sampled_from(["flip", "bytes", "truncate", "insert", "length"]))
    if kind == "flip":
        for _ in range(draw.draw(st.integers(1, 4))):
            i = draw.draw(st.integers(0, len(blob) - 1))
            blob[i] ^= 1 << draw.draw(st.integers(0, 7))
    elif kind == "bytes":
        i = draw.draw(st.integers(0, len(blob) - 1))
        junk = draw.draw(st.binary(min_size=1, max_size=16))
        blob[i : i + len(junk)] = junk
    elif kind == "truncate":
        blob = blob[: draw.draw(st.integers(0, len(blob) - 1))]
    elif kind == "insert":
        i = draw.draw(st.integers(0, len(blob)))
        blob[i:i] = draw.draw(st.binary(min_size=1, max_size=8))
    else:  # forge a 32- or 64-bit length field somewhere with a huge value
        i = draw.draw(st.integers(0, len(blob) - 8))
        blob[i : i + 4] = struct.pack("<I", draw.draw(st.sampled_from([0, 1, 2**31 - 1, 2**32 - 1])))
    original = small_file()
    y = decode_only_corrupt(bytes(blob))
    if y is not None:  # only possible if the mutation changed nothing that matters
        np.testing.assert_array_equal(y, quantsig.decompress(original))


@MUTATION
@given(st.binary(max_size=400))
def test_random_bytes_after_magic(junk):
    with pytest.raises(CorruptFileError):
        quantsig.decompress(container.MAGIC + junk)


def test_header_crc_covers_the_arrays():
    x = data((5000,), np.float64)
    blob = bytearray(quantsig.compress(x, quantsig.LloydMaxQuantizer(8).fit(x)))
    header = container.read_header(bytes(blob))
    i = header.end - 20  # inside the last array's bytes
    intact = bytes(blob)
    blob[i] ^= 0x10
    with pytest.raises(CorruptFileError, match="checksum"):
        quantsig.decompress(bytes(blob))
    assert quantsig.decompress(intact).shape == x.shape  # the same bytes, undamaged, decode


def _fuzz(n):
    import importlib.util

    path = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "fuzz_container.py")
    spec = importlib.util.spec_from_file_location("fuzz_container", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main(["--n", str(n), "--seed", "7"])


def test_fuzz_short():
    assert _fuzz(1500) == 0


@pytest.mark.slow
def test_fuzz_long():
    assert _fuzz(100_000) == 0


def test_array_with_an_empty_but_huge_shape_is_refused():
    x = data((5000,), np.float64)
    blob = quantsig.compress(x, quantsig.LloydMaxQuantizer(8).fit(x))
    header = container.read_header(blob)
    body = bytearray(blob[: header.end - 4])
    # first array: name "a0", dtype "<f8", ndim 1, shape (7,) -> forge shape (2**40,) with 0 bytes
    i = body.index(b"a0<f8") if b"a0<f8" in body else body.index(b"a0\x03<f8")
    j = body.index(b"<f8", i) + 3
    ndim = body[j]
    body[j] = 2
    body[j + 1 : j + 1 + 8 * ndim] = struct.pack("<QQ", 0, 2**40)
    forged = bytes(body) + struct.pack("<I", zlib.crc32(bytes(body))) + blob[header.end :]
    with pytest.raises(CorruptFileError):
        quantsig.decompress(forged)


def test_info_on_files_maps_them(tmp_path):
    path = tmp_path / "x.qsg"
    quantsig.save(path, data((10_000,)), quantsig.UniformQuantizer(step=0.1), frame_size=1000)
    blob = path.read_bytes()
    assert quantsig.info(path) == quantsig.info(blob)
    (tmp_path / "cut.qsg").write_bytes(blob[: len(blob) // 2])
    cut = quantsig.info(tmp_path / "cut.qsg")
    assert cut["complete"] is False and 0 < cut["frames"] < 10
    damaged = bytearray(blob)
    damaged[20] ^= 1
    (tmp_path / "bad.qsg").write_bytes(bytes(damaged))
    with pytest.raises(CorruptFileError, match="checksum"):
        quantsig.info(tmp_path / "bad.qsg")
    (tmp_path / "empty.qsg").write_bytes(b"")
    with pytest.raises(CorruptFileError, match="magic"):
        quantsig.info(tmp_path / "empty.qsg")
