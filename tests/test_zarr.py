"""quantsig.zarr: the chunk coding, the numcodecs codec, the Zarr format 3 codec and Dask.

The chunk tests need only numpy; the others skip when numcodecs, zarr, dask or distributed is
missing (or installed but failing to import), so the suite passes without the ``zarr`` extra.
"""

from __future__ import annotations

import base64
import importlib
import importlib.metadata
import json
import math
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import quantsig
from quantsig.errors import CorruptFileError
from quantsig.zarr import ChunkOptions, decode_chunk, encode_chunk

RNG = np.random.default_rng(20240607)
ROOT = Path(__file__).resolve().parent.parent


def _import_or_skip(name: str) -> Any:
    """``pytest.importorskip`` that also skips a package installed but failing to import
    (numcodecs 0.16.6 fails with ValueError when zfpy 1.0.1.post0 is installed)."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        pytest.skip(f"{name} is not installed ({e})")
    except Exception as e:
        pytest.skip(f"{name} is installed but fails to import: {type(e).__name__}: {e}")


@pytest.fixture
def numcodecs() -> Any:
    return _import_or_skip("numcodecs")


@pytest.fixture
def zarr() -> Any:
    return _import_or_skip("zarr")


@pytest.fixture
def da() -> Any:
    _import_or_skip("zarr")
    return _import_or_skip("dask.array")


def _has_entry_point(group: str) -> bool:
    return any(ep.name == "quantsig" for ep in importlib.metadata.entry_points(group=group))


def _run_fresh(code: str, cwd: Path) -> str:
    """Run ``code`` in a new interpreter (outside the repository) and return its stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, f"fresh interpreter failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


# ------------------------------------------------------------------------------ test data
def _field(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Smooth data with some noise (random walks along every axis), scaled to the dtype."""
    dt = np.dtype(dtype)
    size = math.prod(shape)
    a = RNG.standard_normal(size).reshape(shape) if size else np.zeros(shape)
    for axis in range(len(shape)):
        a = np.cumsum(a, axis=axis)
    a = a / (np.abs(a).max() or 1.0)
    if dt.kind == "i":
        return np.round(a * 0.9 * np.iinfo(dt).max).astype(dt)
    return a.astype(dt)


SHAPES = [(1000,), (37, 41), (300, 128), (5, 6, 7), (1,), ()]
DTYPES = ["float32", "float64", "int16"]
OPTIONS = [
    pytest.param({"lossless": True}, id="lossless"),
    pytest.param({"max_abs_error": 1e-3}, id="max_abs_error"),
    pytest.param({"bits_per_sample": 9.0}, id="bits_per_sample"),
    pytest.param({"snr_db": 40.0}, id="snr_db"),
    pytest.param({"quantizer": {"id": "uniform", "step": 2e-3}}, id="quantizer-config"),
    pytest.param({}, id="default"),
]


def _applies(dtype: str, options: dict[str, Any]) -> bool:
    if options.get("lossless"):
        return dtype == "int16"
    if "quantizer" in options or not options:
        return dtype != "int16"
    return True


def _check_decoded(x: np.ndarray, y: np.ndarray, options: dict[str, Any], n_bytes: int) -> None:
    assert y.shape == x.shape and y.dtype == x.dtype
    err = np.abs(y.astype(np.float64) - x.astype(np.float64))
    if options.get("lossless"):
        np.testing.assert_array_equal(y, x)
    elif "max_abs_error" in options:
        bound = options["max_abs_error"]
        assert err.max() <= (math.floor(bound) if x.dtype.kind == "i" else bound)
    elif "bits_per_sample" in options:
        if n_bytes and x.size >= 1000:  # a small chunk's header alone is above the rate
            assert 8 * n_bytes / x.size <= options["bits_per_sample"]
    elif "snr_db" in options:
        energy = float(np.sum(x.astype(np.float64) ** 2))
        noise = float(np.sum(err**2))
        assert noise == 0 or 10 * math.log10(energy / noise) >= options["snr_db"] - 1e-9
    elif "quantizer" in options:
        assert err.max() <= options["quantizer"]["step"] / 2 + 1e-6
    else:  # 16-bit uniform quantizer over the chunk's range
        span = float(x.max()) - float(x.min())
        assert err.max() <= span / 2**16 + 1e-6 * max(1.0, span)


# ------------------------------------------------------------------------------ chunk layer
@pytest.mark.jit_heavy
@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_chunk_round_trip(dtype: str, shape: tuple[int, ...], options: dict[str, Any]) -> None:
    if not _applies(dtype, options):
        with pytest.raises(TypeError):
            encode_chunk(_field(shape, dtype), ChunkOptions.create(**options))
        return
    x = _field(shape, dtype)
    try:
        blob = encode_chunk(x, ChunkOptions.create(**options))
    except ValueError as e:  # a small chunk's header alone can be above the rate
        assert "bits_per_sample" in options and x.size < 1000 and "cannot be met" in str(e)
        return
    _check_decoded(x, decode_chunk(blob), options, len(blob))
    # a .qsg file like any other: quantsig reads it (the shape of a chunk coded as a series is in
    # the metadata)
    info = quantsig.info(blob)
    assert info["complete"]
    flat = quantsig.decompress(blob)
    assert flat.size == x.size and flat.reshape(x.shape).dtype == x.dtype


@pytest.mark.jit_heavy
def test_chunk_layouts_and_ratio() -> None:
    """2-D chunks of 64..1024 columns and >= 256 rows are coded as columns (no shape metadata,
    quantsig.decompress gives the shape back); others as one series."""
    x = _field((512, 256), "float32")
    blob = encode_chunk(x, ChunkOptions.create(max_abs_error=1e-3))
    assert quantsig.decompress(blob).shape == (512, 256)
    assert "shape" not in quantsig.info(blob)["metadata"]
    assert x.nbytes / len(blob) > 3
    x3 = _field((8, 64, 64), "float32")
    blob3 = encode_chunk(x3, ChunkOptions.create(max_abs_error=1e-3))
    assert quantsig.info(blob3)["metadata"]["shape"] == [8, 64, 64]
    assert x3.nbytes / len(blob3) > 3


def test_chunk_options_checks() -> None:
    with pytest.raises(ValueError, match="not lossless and max_abs_error"):
        ChunkOptions.create(lossless=True, max_abs_error=0.1)
    with pytest.raises(ValueError, match="not max_abs_error and quantizer"):
        ChunkOptions.create(max_abs_error=0.1, quantizer={"id": "uniform", "step": 0.1})
    with pytest.raises(ValueError, match="max_abs_error must be > 0"):
        ChunkOptions.create(max_abs_error=0)
    with pytest.raises(ValueError, match="finite"):
        ChunkOptions.create(bits_per_sample=float("nan"))
    with pytest.raises(TypeError, match="max_abs_error must be a number"):
        ChunkOptions.create(max_abs_error="0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="lossless must be True or False"):
        ChunkOptions.create(lossless=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="entropy='raw' applies to quantizer="):
        ChunkOptions.create(max_abs_error=0.1, entropy="raw")
    with pytest.raises(ValueError, match="entropy must be one of"):
        ChunkOptions.create(entropy="zip")
    with pytest.raises(ValueError, match="unknown quantizer id 'nope'"):
        ChunkOptions.create(quantizer={"id": "nope"})
    opts = ChunkOptions.create(quantizer=quantsig.MuLawQuantizer(bits=8), entropy="raw")
    assert opts.config() == {"quantizer": quantsig.MuLawQuantizer(bits=8).get_config(), "entropy": "raw"}
    assert ChunkOptions.create(**opts.config()) == opts and hash(ChunkOptions.create(**opts.config())) == hash(opts)
    json.dumps(opts.config())
    assert ChunkOptions.create(snr_db=-3).snr_db == -3.0  # a negative SNR target is a target
    with pytest.raises(TypeError, match="int64"):
        ChunkOptions.create(lossless=True).check_dtype("int64")
    with pytest.raises(TypeError, match="lossless=True is for integer data"):
        ChunkOptions.create(lossless=True).check_dtype("float32")
    with pytest.raises(TypeError, match="does not code int16"):
        ChunkOptions.create(quantizer={"id": "uniform", "step": 1.0}).check_dtype("int16")
    with pytest.raises(ValueError, match="empty"):
        encode_chunk(np.zeros((0, 3), np.float32), ChunkOptions.create(max_abs_error=0.1))
    with pytest.raises(TypeError, match="must hold numbers"):
        encode_chunk(np.zeros(3, bool), ChunkOptions.create(lossless=True))


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "options",
    [{"max_abs_error": 1e-2}, {"quantizer": {"id": "uniform", "step": 1e-2}}, {}],
    ids=["max_abs_error", "quantizer", "default"],
)
def test_chunk_nonfinite_values_are_exact(dtype: str, options: dict[str, Any]) -> None:
    x = _field((6, 50), dtype)
    x[0, :7] = np.nan
    x[2, 10] = np.inf
    x[3, 11] = -np.inf
    x[5, -3:] = np.nan
    odd_nan = np.array([0x7FC00123 if dtype == "float32" else 0x7FF8000000000ABC], dtype=f"u{x.itemsize}").view(dtype)
    x[4, 20] = odd_nan[0]  # a NaN with a payload keeps its bits
    blob = encode_chunk(x, ChunkOptions.create(**options))
    y = decode_chunk(blob)
    bad = ~np.isfinite(x)
    np.testing.assert_array_equal(_bits(y[bad]), _bits(x[bad]))
    bound = options.get("max_abs_error", options.get("quantizer", {}).get("step", 0.0) / 2 or 1e-4) + 1e-6
    assert np.abs(y[~bad].astype(np.float64) - x[~bad]).max() <= bound
    assert quantsig.info(blob)["metadata"]["exact"]["n"] == int(bad.sum())


def test_chunk_all_nan_and_keep_value() -> None:
    x = np.full((4, 5), np.nan, np.float32)
    y = decode_chunk(encode_chunk(x, ChunkOptions.create(max_abs_error=0.5)))
    assert y.shape == (4, 5) and np.isnan(y).all()
    # a sentinel stays a sentinel under lossy coding when asked to
    pcm = _field((200,), "int16")
    pcm[50:60] = -32768
    pcm[100] = 0
    opts = ChunkOptions.create(max_abs_error=40)
    kept = decode_chunk(encode_chunk(pcm, opts, keep=-32768))
    np.testing.assert_array_equal(kept == -32768, pcm == -32768)
    assert np.abs(kept.astype(int) - pcm).max() <= 40
    f = _field((300,), "float64")
    f[::7] = -9999.0
    g = decode_chunk(encode_chunk(f, ChunkOptions.create(max_abs_error=1e-3), keep=-9999.0))
    np.testing.assert_array_equal(g == -9999.0, f == -9999.0)
    assert np.abs(g - f).max() <= 1e-3
    # a keep value the dtype cannot hold, or lossless coding: nothing extra is stored
    assert "exact" not in quantsig.info(encode_chunk(pcm, opts, keep=1e9))["metadata"]
    assert "exact" not in quantsig.info(encode_chunk(pcm, ChunkOptions.create(lossless=True), keep=0))["metadata"]


#: A chunk written by this version (float32 (4, 5, 6), max_abs_error=0.01, a NaN at [1, 2, 3]):
#: later versions must keep decoding it.
GOLDEN_CHUNK = (
    "iVFTRw0KGgoBAAAAkwAAAHsiYm91bmQiOjAuMDEsImR0eXBlIjoiPGY0Iiwia2luZCI6InN0cmVhbSIsIm1ldGFkYXRhIjp7"
    "ImV4YWN0Ijp7Im1hc2siOiJlSnhqWUFBQ0ZnWVlBQUFBTndBRiIsIm4iOjEsInZhbHVlcyI6ImVKeGpZRGhRRHdBQ0F3RkEi"
    "fSwic2hhcGUiOls0LDUsNl19fQAAAAAPYMvhUUYCAHgAAAA+AAAAAQAAAg2TPlYwMwIYEgANC/9fJAIAE9Kv5xYl/UfS4ZX+"
    "uD4lIB8h3+uKZOMsq5tUGDe/mrHGU0PvSqlrAgAKXgQLUUlEWAEAAACrAAAAAAAAAAAAAAAAAAAAeAAAAGzC5rT5AAAAAAAA"
    "AFFFTkQ="
)


def test_chunk_off_the_main_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk coded on a worker thread (Dask, zarr) uses one frame thread, and the bytes are
    those the main thread writes with its frame threads."""
    from concurrent.futures import ThreadPoolExecutor

    from quantsig import stream

    seen: list[int] = []
    real = stream.StreamWriter.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        seen.append(self.threads)

    monkeypatch.setattr(stream.StreamWriter, "__init__", spy)
    monkeypatch.setenv("QUANTSIG_THREADS", "2")
    x = np.cumsum(np.random.default_rng(5).standard_normal((70_000, 2)), axis=0)
    options = ChunkOptions.create(max_abs_error=1e-2)
    here = encode_chunk(x, options)
    with ThreadPoolExecutor(1) as pool:
        there = pool.submit(encode_chunk, x, options).result()
    assert seen == [2, 1]
    assert here == there


def test_chunk_golden() -> None:
    i = np.arange(120, dtype=np.float64).reshape(4, 5, 6)
    x = (np.sin(i / 7.0) + 0.25 * np.cos(i / 3.0)).astype(np.float32)
    y = decode_chunk(base64.b64decode(GOLDEN_CHUNK), shape=(4, 5, 6), dtype="float32")
    assert np.isnan(y[1, 2, 3]) and np.isnan(y).sum() == 1
    y[1, 2, 3] = x[1, 2, 3]
    assert np.abs(y - x).max() <= 0.01


# ------------------------------------------------------------------------------ corruption
def _valid_blob() -> tuple[np.ndarray, bytes]:
    x = _field((6, 40), "float32")
    x[1, :3] = np.nan
    return x, encode_chunk(x, ChunkOptions.create(max_abs_error=1e-2))


def test_chunk_corruption_raises() -> None:
    x, blob = _valid_blob()
    for cut in sorted({0, 1, 7, 8, 15, 40, len(blob) // 2, len(blob) - 13, len(blob) - 1}):
        with pytest.raises(CorruptFileError):
            decode_chunk(blob[:cut])
    rng = np.random.default_rng(7)
    for pos in rng.choice(len(blob), size=60, replace=False):
        damaged = bytearray(blob)
        damaged[pos] ^= 1 << int(rng.integers(8))
        try:
            y = decode_chunk(bytes(damaged))
        except ValueError:  # CorruptFileError is one
            continue
        assert y.shape == x.shape  # a flip a checksum cannot see must still decode sanely
    with pytest.raises(CorruptFileError, match="expected"):
        decode_chunk(blob, shape=(40, 6))
    with pytest.raises(CorruptFileError, match="dtype"):
        decode_chunk(blob, dtype="float64")
    with pytest.raises(TypeError):
        decode_chunk("not bytes")


def _forged(meta: dict[str, Any], n: int = 64) -> bytes:
    """A valid file (checksums right) whose chunk metadata lies."""
    return quantsig.compress(np.linspace(0, 1, n).astype(np.float32), max_abs_error=1e-2, metadata=meta)


def _z(raw: bytes) -> str:
    return base64.b64encode(zlib.compress(raw)).decode()


@pytest.mark.parametrize(
    "meta, message",
    [
        ({"shape": [7, 7]}, "invalid chunk shape"),
        ({"shape": [-8, -8]}, "invalid chunk shape"),
        ({"shape": "64"}, "invalid chunk shape"),
        ({"shape": [True, 64]}, "invalid chunk shape"),
        ({"exact": "x"}, "not a dict"),
        ({"exact": {"n": 65, "mask": "", "values": ""}}, "count"),
        ({"exact": {"n": 1, "mask": "!!!", "values": ""}}, "base64"),
        ({"exact": {"n": 1, "mask": base64.b64encode(b"not zlib").decode(), "values": ""}}, "inflate"),
        (
            {"exact": {"n": 1, "mask": _z(bytes(10_000_000)), "values": ""}},
            "inflates to 9",
        ),  # a zlib bomb: stops at 9 bytes
        ({"exact": {"n": 2, "mask": _z(b"\x80" + bytes(7)), "values": _z(bytes(8))}}, "marks 1 positions"),
        ({"exact": {"n": 1, "mask": _z(b"\x80" + bytes(7)), "values": _z(bytes(3))}}, "expected 4"),
        ({"exact": {"n": 1, "mask": _z(b"\x80" + bytes(7)), "values": 5}}, "not text"),
    ],
)
def test_chunk_forged_metadata(meta: dict[str, Any], message: str) -> None:
    with pytest.raises(CorruptFileError, match=message):
        decode_chunk(_forged(meta))


def test_chunk_metadata_not_a_dict() -> None:
    # the container refuses a non-dict metadata on write, so build the header by hand
    from quantsig import container

    blob = _forged({})
    header = container.read_header(memoryview(blob))
    doc = dict(header.doc, metadata=[1, 2])
    forged = container.encode_header(doc) + blob[header.end :]
    with pytest.raises(CorruptFileError):
        decode_chunk(forged)


# ------------------------------------------------------------------------------ numcodecs
@pytest.mark.jit_heavy
@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("shape", [(1000,), (30, 70), (4, 5, 6)], ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_numcodecs_round_trip(numcodecs: Any, dtype: str, shape: tuple[int, ...], options: dict[str, Any]) -> None:
    from quantsig.zarr import QuantsigCodec

    codec = numcodecs.get_codec({"id": "quantsig", **options})
    assert isinstance(codec, QuantsigCodec) and codec == QuantsigCodec(**options)
    x = _field(shape, dtype)
    if not _applies(dtype, options):
        with pytest.raises(TypeError):
            codec.encode(x)
        return
    try:
        blob = codec.encode(x)
    except ValueError as e:  # a small chunk's header alone can be above the rate
        assert "bits_per_sample" in options and x.size < 1000 and "cannot be met" in str(e)
        return
    assert isinstance(blob, bytes)
    _check_decoded(x, codec.decode(blob), options, len(blob))
    # into out: same shape, flat, or a byte buffer
    out = np.empty_like(x)
    assert codec.decode(blob, out=out) is out
    _check_decoded(x, out, options, len(blob))
    flat = np.empty(x.size, x.dtype)
    codec.decode(memoryview(blob), out=flat)
    np.testing.assert_array_equal(flat, out.reshape(-1))
    raw = bytearray(x.nbytes)
    codec.decode(np.frombuffer(blob, np.uint8), out=raw)
    np.testing.assert_array_equal(np.frombuffer(raw, x.dtype), flat)


def test_numcodecs_config(numcodecs: Any) -> None:
    from quantsig.zarr import QuantsigCodec

    for options in (
        {},
        {"lossless": True},
        {"max_abs_error": 0.25},
        {"bits_per_sample": 3.5},
        {"snr_db": 30},
        {"quantizer": {"id": "lloyd-max", "levels": 8}, "entropy": "raw"},
    ):
        codec = QuantsigCodec(**options)
        config = codec.get_config()
        assert config["id"] == "quantsig"
        text = json.dumps(config)
        again = numcodecs.get_codec(json.loads(text))
        assert again == codec and again.get_config() == config and hash(again) == hash(codec)
        assert QuantsigCodec.from_config({k: v for k, v in config.items() if k != "id"}) == codec
        assert eval(repr(codec), {"QuantsigCodec": QuantsigCodec}) == codec
    q = quantsig.LloydMaxQuantizer(4).fit(RNG.standard_normal(500))
    codec = QuantsigCodec(quantizer=q)
    assert (
        codec.quantizer == q.get_config() and numcodecs.get_codec(json.loads(json.dumps(codec.get_config()))) == codec
    )
    assert QuantsigCodec(max_abs_error=1) != QuantsigCodec(max_abs_error=2)
    with pytest.raises(TypeError, match="unknown quantsig codec option"):
        numcodecs.get_codec({"id": "quantsig", "tolerance": 1e-3})
    with pytest.raises(ValueError, match="not 'quantsig'"):
        QuantsigCodec.from_config({"id": "zfpy"})
    with pytest.raises(ValueError):
        numcodecs.get_codec({"id": "quantsig", "max_abs_error": 1e-3, "lossless": True})


def test_numcodecs_learned_quantizer_and_out_checks(numcodecs: Any) -> None:
    codec = numcodecs.get_codec({"id": "quantsig", "quantizer": {"id": "lloyd-max", "levels": 16}})
    x = RNG.standard_normal((20, 30))
    y = codec.decode(codec.encode(x))  # fitted on the chunk
    assert y.shape == x.shape and len(np.unique(y)) <= 16
    blob = codec.encode(x)
    with pytest.raises(ValueError, match="bytes"):
        codec.decode(blob, out=np.empty(599))
    with pytest.raises(TypeError, match="dtype"):
        codec.decode(blob, out=np.empty((20, 30), np.int64))
    with pytest.raises(ValueError, match="shape"):
        codec.decode(blob, out=np.empty((30, 20)))
    # a plain byte buffer is coded as uint8 values
    lossless = numcodecs.get_codec({"id": "quantsig", "lossless": True})
    data = bytes(range(256)) * 4
    assert lossless.decode(lossless.encode(data)).tobytes() == data


def test_numcodecs_corrupt_bytes(numcodecs: Any) -> None:
    codec = numcodecs.get_codec({"id": "quantsig", "max_abs_error": 1e-2})
    _, blob = _valid_blob()
    for bad in (blob[:-5], b"\x00" * 64, b"", bytes(blob[:20]) + bytes(len(blob) - 20)):
        with pytest.raises(CorruptFileError):
            codec.decode(bad)


def test_numcodecs_found_in_a_fresh_interpreter(tmp_path: Path, numcodecs: Any) -> None:
    if not _has_entry_point("numcodecs.codecs"):
        pytest.skip("quantsig is not installed with its entry points (pip install -e .)")
    x = _field((30, 40), "float32")
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "x.qsg").write_bytes(numcodecs.get_codec({"id": "quantsig", "max_abs_error": 1e-3}).encode(x))
    out = _run_fresh(
        """
        import sys, numpy as np, numcodecs
        assert "quantsig" not in sys.modules
        codec = numcodecs.get_codec({"id": "quantsig", "max_abs_error": 1e-3})
        y = codec.decode(open("x.qsg", "rb").read())
        x = np.load("x.npy")
        print(type(codec).__module__, y.shape, float(np.abs(y - x).max()) <= 1e-3)
        """,
        tmp_path,
    )
    assert out.split() == ["quantsig.zarr._numcodecs", "(30,", "40)", "True"]


# ------------------------------------------------------------------------------ zarr format 3
def _create(
    zarr: Any,
    store: Any,
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
    dtype: str,
    fill_value: Any = None,
    **options: Any,
) -> Any:
    from quantsig.zarr import QuantsigZarrCodec

    return zarr.create_array(
        store,
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        serializer=QuantsigZarrCodec(**options),
        compressors=None,
        fill_value=fill_value,
    )


@pytest.mark.jit_heavy
@pytest.mark.parametrize(
    "dtype, options, fill_value",
    [
        ("float32", {"max_abs_error": 1e-3}, float("nan")),
        ("float32", {"max_abs_error": 1e-3}, 0.0),
        ("float64", {"max_abs_error": 1e-6}, -9999.0),
        ("float32", {"snr_db": 50.0}, None),
        ("float64", {"quantizer": {"id": "uniform", "step": 1e-3}}, None),
        ("int16", {"lossless": True}, 0),
        ("int16", {"max_abs_error": 2}, -32768),
        ("int16", {"bits_per_sample": 10.0}, None),
    ],
)
def test_zarr_round_trip_edges_and_fill(zarr: Any, dtype: str, options: dict[str, Any], fill_value: Any) -> None:
    shape, chunks = (100, 150), (32, 64)  # edge chunks on both axes
    x = _field(shape, dtype)
    if fill_value is not None and np.isfinite(fill_value):
        x[10:12, 5:40] = fill_value  # missing data inside a chunk
    z = _create(zarr, zarr.storage.MemoryStore(), shape, chunks, dtype, fill_value, **options)
    z[:] = x
    y = z[:]
    assert y.shape == shape and y.dtype == np.dtype(dtype)
    _check_decoded(x, y, options, 0)
    if fill_value is not None and np.isfinite(fill_value):  # exact_fill: the sentinel survives
        np.testing.assert_array_equal(y == fill_value, x == fill_value)
    # chunk by chunk: a chunk's region reads alone, and edge chunks are cut to the array
    np.testing.assert_array_equal(z[96:, 128:], y[96:, 128:])
    assert z[96:, 128:].shape == (4, 22)


@pytest.mark.jit_heavy
def test_zarr_fill_value_chunks_and_partial_writes(zarr: Any) -> None:
    store = zarr.storage.MemoryStore()
    z = _create(zarr, store, (64, 64), (16, 16), "float32", float("nan"), max_abs_error=1e-3)
    x = _field((64, 64), "float32")
    z[:16, :16] = x[:16, :16]  # one whole chunk
    z[20:24, 20:30] = x[20:24, 20:30]  # part of a chunk: the rest of it is fill
    z[40:48, :] = np.nan  # only fill: those chunks are not stored
    y = z[:]
    assert np.abs(y[:16, :16] - x[:16, :16]).max() <= 1e-3
    assert np.abs(y[20:24, 20:30] - x[20:24, 20:30]).max() <= 1e-3
    written = np.zeros((64, 64), bool)
    written[:16, :16] = written[20:24, 20:30] = True
    assert np.isnan(y[~written]).all()
    assert z.nchunks_initialized == 2
    # a second partial write re-encodes the chunk: the bound may add up, to at most twice
    z[24:32, 16:32] = x[24:32, 16:32]
    y2 = z[16:32, 16:32]
    assert np.nanmax(np.abs(y2[4:8, 4:14] - x[20:24, 20:30])) <= 2e-3


def test_zarr_codec_metadata(zarr: Any) -> None:
    from quantsig.zarr import QuantsigZarrCodec

    for options in (
        {},
        {"max_abs_error": 0.5},
        {"lossless": True, "exact_fill": False},
        {"quantizer": {"id": "mu-law", "bits": 8, "mu": 255.0}, "entropy": "raw"},
    ):
        codec = QuantsigZarrCodec(**options)
        d = codec.to_dict()
        assert d["name"] == "quantsig"
        again = QuantsigZarrCodec.from_dict(json.loads(json.dumps(d)))
        assert again == codec and hash(again) == hash(codec)
        assert eval(repr(codec), {"QuantsigZarrCodec": QuantsigZarrCodec}) == codec
    assert QuantsigZarrCodec().to_dict() == {"name": "quantsig"}
    with pytest.raises(ValueError, match="unknown quantsig codec option"):
        QuantsigZarrCodec.from_dict({"name": "quantsig", "configuration": {"tolerance": 1}})
    with pytest.raises(TypeError, match="exact_fill"):
        QuantsigZarrCodec(exact_fill="yes")  # type: ignore[arg-type]
    assert zarr.registry.get_codec_class("quantsig") is QuantsigZarrCodec


def test_zarr_refuses_what_the_codec_cannot_code(zarr: Any) -> None:
    store = zarr.storage.MemoryStore()
    with pytest.raises(TypeError, match="int16 data needs one of"):
        _create(zarr, store, (10,), (5,), "int16")
    with pytest.raises(TypeError, match="int64"):
        _create(zarr, store, (10,), (5,), "int64", lossless=True)
    with pytest.raises(ValueError, match="multiple of 4"):
        _create(zarr, store, (10, 10), (5, 6), "float32", quantizer={"id": "kmeans-vq", "levels": 16, "dim": 4})


def test_zarr_format_3_refuses_numcodecs_codecs(zarr: Any, numcodecs: Any) -> None:
    """Zarr format 3 gives compressors flat bytes with no shape or dtype; it refuses a numcodecs
    codec there, and as a serializer: QuantsigZarrCodec is the Zarr format 3 codec."""
    from quantsig.zarr import QuantsigCodec

    codec = QuantsigCodec(max_abs_error=0.1)
    for where, value, message in (
        ("compressors", [codec], "Expected a BytesBytesCodec"),
        ("compressors", codec, "not iterable"),
        ("serializer", codec, "Expected an ArrayBytesCodec"),
    ):
        with pytest.raises(TypeError, match=message):
            zarr.create_array(zarr.storage.MemoryStore(), shape=(10,), chunks=(5,), dtype="float32", **{where: value})


@pytest.mark.jit_heavy
@pytest.mark.parametrize("where", ["compressors", "filters"])
def test_zarr_format_2_with_numcodecs_codec(zarr: Any, numcodecs: Any, tmp_path: Path, where: str) -> None:
    """Zarr format 2 hands its compressor and filters the shaped chunk: the numcodecs codec works
    in either place, and the array reopens in a fresh interpreter through the entry point."""
    from quantsig.zarr import QuantsigCodec

    x = _field((50, 70), "float32")
    x[3, :5] = np.nan
    codec = QuantsigCodec(max_abs_error=1e-3)
    kwargs = {"compressors": codec} if where == "compressors" else {"filters": [codec], "compressors": None}
    path = tmp_path / "v2.zarr"
    z = zarr.create_array(
        str(path), shape=x.shape, chunks=(16, 32), dtype="float32", zarr_format=2, fill_value=float("nan"), **kwargs
    )
    z[:] = x
    y = z[:]
    assert np.isnan(y[3, :5]).all() and np.nanmax(np.abs(y - x)) <= 1e-3
    if not _has_entry_point("numcodecs.codecs"):
        pytest.skip("quantsig is not installed with its entry points (pip install -e .)")
    np.save(tmp_path / "x.npy", x)
    out = _run_fresh(
        """
        import sys, numpy as np, zarr
        z = zarr.open_array("v2.zarr", mode="r")
        y = z[:]
        assert "quantsig" in sys.modules
        x = np.load("x.npy")
        print(z.metadata.zarr_format, bool(np.nanmax(np.abs(y - x)) <= 1e-3))
        """,
        tmp_path,
    )
    assert out.split() == ["2", "True"]


@pytest.mark.jit_heavy
def test_zarr_sharding(zarr: Any) -> None:
    from quantsig.zarr import QuantsigZarrCodec

    x = _field((64, 96), "float32")
    z = zarr.create_array(
        zarr.storage.MemoryStore(),
        shape=x.shape,
        shards=(32, 96),
        chunks=(16, 32),
        dtype="float32",
        serializer=QuantsigZarrCodec(max_abs_error=1e-3),
        compressors=None,
    )
    z[:] = x
    assert np.abs(z[:] - x).max() <= 1e-3
    assert z.metadata.to_dict()["codecs"][0]["configuration"]["codecs"][0]["name"] == "quantsig"


@pytest.mark.jit_heavy
def test_zarr_reopens_in_a_fresh_interpreter(zarr: Any, tmp_path: Path) -> None:
    if not _has_entry_point("zarr.codecs"):
        pytest.skip("quantsig is not installed with its entry points (pip install -e .)")
    x = _field((40, 50), "float32")
    z = _create(zarr, str(tmp_path / "a.zarr"), x.shape, (16, 16), "float32", float("nan"), max_abs_error=1e-3)
    z[:] = x
    np.save(tmp_path / "x.npy", x)
    meta = json.loads((tmp_path / "a.zarr" / "zarr.json").read_text())
    assert meta["codecs"] == [{"name": "quantsig", "configuration": {"max_abs_error": 0.001}}]
    out = _run_fresh(
        """
        import sys, numpy as np, zarr
        assert "quantsig" not in sys.modules
        z = zarr.open_array("a.zarr", mode="r")
        y = z[:]
        x = np.load("x.npy")
        print(type(z.serializer).__name__, bool(np.abs(y - x).max() <= 1e-3))
        """,
        tmp_path,
    )
    assert out.split() == ["QuantsigZarrCodec", "True"]


@pytest.mark.jit_heavy
def test_zarr_corrupt_chunk_raises(zarr: Any, tmp_path: Path) -> None:
    x = _field((32, 32), "float32")
    path = tmp_path / "c.zarr"
    z = _create(zarr, str(path), x.shape, (16, 16), "float32", max_abs_error=1e-3)
    z[:] = x
    chunk = path / "c" / "0" / "1"
    good = chunk.read_bytes()
    for bad in (good[: len(good) // 2], b"garbage", bytes(len(good)), good[:-1] + bytes([good[-1] ^ 0xFF])):
        chunk.write_bytes(bad)
        with pytest.raises(CorruptFileError):
            zarr.open_array(str(path), mode="r")[:]
        np.testing.assert_allclose(
            zarr.open_array(str(path), mode="r")[16:, :16], z[16:, :16]
        )  # other chunks still read
    # a valid quantsig chunk of the wrong shape is refused too
    chunk.write_bytes(encode_chunk(_field((8, 8), "float32"), ChunkOptions.create(max_abs_error=1e-3)))
    with pytest.raises(CorruptFileError, match="shape"):
        zarr.open_array(str(path), mode="r")[:]


# ------------------------------------------------------------------------------ dask
def _dask_field(da: Any, shape: tuple[int, ...], chunks: tuple[int, ...]) -> Any:
    x = _field(shape, "float32")
    return da.from_array(x, chunks=chunks), x


@pytest.mark.jit_heavy
def test_dask_to_zarr_threads(da: Any, tmp_path: Path) -> None:
    import dask

    from quantsig.zarr import to_zarr

    arr, x = _dask_field(da, (200, 300), (64, 128))
    with dask.config.set(scheduler="threads", num_workers=2):
        z = to_zarr(arr, str(tmp_path / "t.zarr"), max_abs_error=1e-3)
        y = da.from_zarr(str(tmp_path / "t.zarr"))
        assert y.chunks == arr.chunks
        assert float(abs(y - x).max().compute()) <= 1e-3
    assert z.chunks == (64, 128) and z.serializer.options.max_abs_error == 1e-3
    # rechunk on the way; an existing array is refused unless overwrite=True
    with pytest.raises(ValueError, match="exists"):
        to_zarr(arr, str(tmp_path / "t.zarr"), max_abs_error=1e-3)
    z = to_zarr(arr, str(tmp_path / "t.zarr"), chunks=(100, 100), overwrite=True, lossless=False, snr_db=60.0)
    assert z.chunks == (100, 100)
    # compute=False: a delayed write
    delayed = to_zarr(x, str(tmp_path / "d.zarr"), chunks=(50, 300), compute=False, max_abs_error=1e-2)
    delayed.compute(scheduler="threads")
    assert np.abs(da.from_zarr(str(tmp_path / "d.zarr")).compute() - x).max() <= 1e-2


def test_dask_to_zarr_checks(da: Any) -> None:
    from quantsig.zarr import to_zarr

    zarr = _import_or_skip("zarr")
    irregular = da.from_array(np.zeros((10, 10), np.float32), chunks=((3, 7), (10,)))
    with pytest.raises(ValueError, match="regular chunks"):
        to_zarr(irregular, zarr.storage.MemoryStore(), max_abs_error=0.1)
    with pytest.raises(ValueError, match="give one of"):
        to_zarr(irregular, zarr.storage.MemoryStore(), max_abs_error=0.1, lossless=True)


@pytest.mark.jit_heavy
def test_dask_to_zarr_distributed(da: Any, tmp_path: Path) -> None:
    """Two worker processes on loopback write and read the array (the codec travels in the
    pickled zarr array; the workers import quantsig themselves)."""
    distributed = _import_or_skip("distributed")
    from quantsig.zarr import to_zarr

    arr, x = _dask_field(da, (256, 512), (64, 512))
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        to_zarr(arr, str(tmp_path / "w.zarr"), max_abs_error=1e-3)
        y = da.from_zarr(str(tmp_path / "w.zarr"))
        assert float(abs(y - x).max().compute()) <= 1e-3
