"""quantsig.weights: round trips, each scheme against its theory, exact bits-per-weight
accounting, budgets against NumPy references of GGUF's Q4_0 / Q8_0, entropy coding,
importance weights, every source (safetensors read lazily), peak memory, corrupt files and
bad input.

torch and safetensors are optional: the tests that need them are skipped without them
(safetensors is in the ``test`` extra, so CI runs them). Matrices are synthetic but shaped
like trained weights: Laplacian values with a log-normal scale per row and per column.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import struct
import tracemalloc

import numpy as np
import pytest
from scipy import stats

from quantsig import LloydMaxQuantizer
from quantsig import container as _c
from quantsig.errors import CorruptFileError
from quantsig.weights import (
    DEFAULT_MIN_SIZE,
    GRANULARITIES,
    METHODS,
    QuantizedTensor,
    load_model,
    open_source,
    quantize_model,
    report,
)
from quantsig.weights import model as wmodel
from quantsig.weights import sources as wsources
from quantsig.weights.archive import ArchiveReader, ArchiveWriter
from quantsig.weights.schemes import normal_codebook

NO_JIT = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


# ------------------------------------------------------------------------------ helpers
def realistic(rng: np.random.Generator, rows: int, cols: int, scale: float = 0.02) -> np.ndarray:
    """A weight-like float32 matrix: Laplacian values, log-normal scales per row and column."""
    row = np.exp(rng.normal(0.0, 0.6, (rows, 1)))
    col = np.exp(rng.normal(0.0, 0.3, (1, cols)))
    return (scale * row * col * rng.laplace(size=(rows, cols))).astype(np.float32)


def q4_0_reference(w: np.ndarray) -> np.ndarray:
    """llama.cpp's Q4_0 in NumPy: blocks of 32 along a row, scale = signed absmax / -8 (stored
    as float16), codes clip(round(w / scale), -8, 7)."""
    b = w.reshape(-1, 32).astype(np.float32)
    signed_max = b[np.arange(b.shape[0]), np.argmax(np.abs(b), axis=1)]
    d = signed_max / -8.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.clip(np.floor(b * inv[:, None] + 0.5), -8, 7)
    return (q * d.astype(np.float16).astype(np.float32)[:, None]).reshape(w.shape)


def q8_0_reference(w: np.ndarray) -> np.ndarray:
    """llama.cpp's Q8_0 in NumPy: blocks of 32, scale = absmax / 127 (float16), round."""
    b = w.reshape(-1, 32).astype(np.float32)
    d = np.abs(b).max(axis=1) / 127.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.round(b * inv[:, None])
    return (q * d.astype(np.float16).astype(np.float32)[:, None]).reshape(w.shape)


def mse(a: np.ndarray, b: np.ndarray) -> float:
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return float(np.mean(d * d))


def model_mse(model: dict, deq: dict) -> float:
    """MSE over every weight of the 2-D tensors of ``model``."""
    sse = sum(
        float(np.sum((np.asarray(deq[k], np.float64) - np.asarray(v, np.float64)) ** 2))
        for k, v in model.items()
        if np.ndim(v) == 2
    )
    return sse / sum(np.size(v) for v in model.values() if np.ndim(v) == 2)


def write_safetensors(path, tensors: dict[str, tuple[str, tuple[int, ...], bytes]], metadata=None) -> None:
    """A safetensors file written by hand: ``{name: (dtype code, shape, raw bytes)}``."""
    header: dict = {} if metadata is None else {"__metadata__": metadata}
    offset = 0
    for name, (code, shape, data) in tensors.items():
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        for _, _, data in tensors.values():
            f.write(data)


def write_raw_header(path, header: bytes, data: bytes = b"") -> str:
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)
    return str(path)


def bf16_bits(x: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns of float32 values that are already bfloat16 (the top halves)."""
    return (np.ascontiguousarray(x, np.float32).view(np.uint32) >> 16).astype(np.uint16)


def bf16_values(rng: np.random.Generator, shape) -> np.ndarray:
    """float32 values exactly representable in bfloat16."""
    x = (rng.standard_normal(shape) * 0.05).astype(np.float32)
    return (x.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(20240501)


# ------------------------------------------------------------------------------ round trips
def test_round_trip_keeps_names_shapes_dtypes_and_exact_tensors(tmp_path):
    rng = np.random.default_rng(1)
    w = realistic(rng, 48, 100)
    model = {
        "embed.weight": realistic(rng, 40, 64),
        "l0.weight": w,
        "l0.bias": rng.standard_normal(48).astype(np.float32),
        "l1.weight": w.astype(np.float16),
        "l2.weight": w.astype(np.float64),
        "norm.weight": np.ones(100, np.float32) + rng.standard_normal(100).astype(np.float32),
        "steps": np.array([3, -1, 2**40], np.int64),
        "mask": rng.integers(0, 2, (8, 8)).astype(bool),
        "conv.weight": rng.standard_normal((16, 4, 3, 3)).astype(np.float32),
    }
    qm = quantize_model(model, method="uniform", bits=8, min_size=1)
    path = tmp_path / "m.qsg"
    qm.save(path)
    assert qm.path == str(path)
    out = load_model(path)
    assert list(out) == list(model) == qm.names
    for name, v in model.items():
        assert out[name].shape == v.shape, name
        assert out[name].dtype == v.dtype, name
    for name in ("l0.bias", "norm.weight", "steps", "mask"):  # 1-D and non-float: bit-exact
        np.testing.assert_array_equal(out[name], model[name])
    rep = {r["name"]: r for r in qm.report()}
    assert {n for n, r in rep.items() if r["scheme"] == "exact"} == {"l0.bias", "norm.weight", "steps", "mask"}
    for name in ("embed.weight", "l0.weight", "l1.weight", "l2.weight", "conv.weight"):
        rel = np.linalg.norm(out[name].astype(np.float64) - model[name]) / np.linalg.norm(
            model[name].astype(np.float64)
        )
        assert rel < 0.02, name
        assert rep[name]["scheme"] == "uniform:8:g32"
    # only names asked for, in the order asked
    part = load_model(path, names=["steps", "l0.weight"])
    assert list(part) == ["steps", "l0.weight"]
    with pytest.raises(KeyError, match="nope"):
        load_model(path, names=["nope"])


def test_float16_and_float64_round_trip_in_their_own_precision(tmp_path):
    rng = np.random.default_rng(2)
    w = realistic(rng, 32, 96)
    model = {"h": w.astype(np.float16), "d": w.astype(np.float64)}
    qm = quantize_model(model, method="lloyd-max", bits=6, min_size=1)
    deq = qm.dequantize()
    assert deq["h"].dtype == np.float16 and deq["d"].dtype == np.float64
    qm.save(tmp_path / "x.qsg")
    out = load_model(tmp_path / "x.qsg")
    np.testing.assert_array_equal(out["h"], deq["h"])
    np.testing.assert_array_equal(out["d"], deq["d"])
    # float64 keeps float64 precision through the pipeline (no float32 detour for the error)
    assert mse(out["d"], w.astype(np.float64)) == pytest.approx(qm.report()[1]["mse"], rel=1e-9)


def test_bfloat16_from_raw_safetensors_bytes(tmp_path):
    """A BF16 tensor written by hand (no torch): widened exactly, reported as bfloat16,
    kept exactly or quantized, and given back as float32 by as_="numpy"."""
    rng = np.random.default_rng(3)
    w = bf16_values(rng, (64, 100))
    b = bf16_values(rng, (64,))
    path = tmp_path / "bf.safetensors"
    write_safetensors(
        path, {"w": ("BF16", w.shape, bf16_bits(w).tobytes()), "b": ("BF16", b.shape, bf16_bits(b).tobytes())}
    )
    with open_source(path) as src:
        infos = {i.name: i for i in src.infos()}
        assert infos["w"].dtype == "bfloat16" and infos["w"].nbytes == w.size * 2
        np.testing.assert_array_equal(src.load("w"), w)  # exact widening
    qm = quantize_model(path, method="uniform", bits=8, min_size=1, out=tmp_path / "bf.qsg")
    rows = {r["name"]: r for r in qm.report()}
    assert rows["w"]["dtype"] == rows["b"]["dtype"] == "bfloat16"
    assert rows["b"]["scheme"] == "exact"
    out = load_model(tmp_path / "bf.qsg")
    assert out["w"].dtype == out["b"].dtype == np.float32
    np.testing.assert_array_equal(out["b"], b)
    assert np.linalg.norm(out["w"] - w) / np.linalg.norm(w) < 0.02


def test_bfloat16_bits_helpers_round_to_nearest_even():
    # bfloat16 keeps 7 fraction bits: the step at 1 is 2^-7
    x = np.array(
        [1.0, 1.0 + 2**-8, 1.0 + 3 * 2**-8, 1.0 + 2**-8 + 2**-10, 1.0 + 2**-7 + 2**-9, -2.5, np.inf, 0.0], np.float32
    )
    back = wsources.bf16_to_float32(wsources.float32_to_bf16(x))
    # ties go to the even neighbour (1 and 1 + 2^-6); above a tie up, below it down
    np.testing.assert_array_equal(back, [1.0, 1.0, 1.0 + 2**-6, 1.0 + 2**-7, 1.0 + 2**-7, -2.5, np.inf, 0.0])
    assert np.isnan(wsources.bf16_to_float32(wsources.float32_to_bf16(np.array([np.nan], np.float32))))[0]
    v = bf16_values(np.random.default_rng(0), 1000)
    np.testing.assert_array_equal(wsources.bf16_to_float32(wsources.float32_to_bf16(v)), v)


def test_bfloat16_torch_round_trip(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    gen = torch.Generator().manual_seed(0)
    w = (torch.randn(64, 128, generator=gen) * 0.05).to(torch.bfloat16)
    b = torch.randn(64, generator=gen).to(torch.bfloat16)
    path = tmp_path / "bf.safetensors"
    st.save_file({"fc.weight": w, "fc.bias": b}, str(path))
    for source in (str(path), {"fc.weight": w, "fc.bias": b}):
        qm = quantize_model(source, method="nf", bits=4, min_size=1)
        qm.save(tmp_path / "bf.qsg", overwrite=True)
        t = load_model(tmp_path / "bf.qsg", as_="torch")
        assert t["fc.weight"].dtype == t["fc.bias"].dtype == torch.bfloat16
        assert t["fc.weight"].shape == w.shape
        assert torch.equal(t["fc.bias"], b)  # exact: the same bfloat16 bits
        n = load_model(tmp_path / "bf.qsg")
        assert n["fc.weight"].dtype == np.float32
        np.testing.assert_array_equal(n["fc.bias"], b.float().numpy())
        # torch gives the float32 reconstruction rounded to bfloat16
        np.testing.assert_array_equal(
            t["fc.weight"].float().numpy(), wsources.bf16_to_float32(wsources.float32_to_bf16(n["fc.weight"]))
        )
        rel = (t["fc.weight"].float() - w.float()).norm() / w.float().norm()
        assert float(rel) < 0.15


def test_skip_patterns_and_min_size_keep_tensors_exact():
    rng = np.random.default_rng(4)
    model = {
        "tok_embed.weight": realistic(rng, 64, 80),
        "layers.0.attn.weight": realistic(rng, 64, 80),
        "layers.0.mlp.weight": realistic(rng, 64, 80),
        "lm_head.weight": realistic(rng, 64, 80),
        "small.weight": realistic(rng, 8, 8),
        "big.bias": rng.standard_normal(5000).astype(np.float32),  # 1-D: exact whatever its size
    }
    qm = quantize_model(model, method="uniform", bits=4, skip=["*embed*", "lm_head.*"], min_size=100)
    deq = qm.dequantize()
    schemes = {r["name"]: r["scheme"] for r in qm.report()}
    for name in ("tok_embed.weight", "lm_head.weight", "small.weight", "big.bias"):
        assert schemes[name] == "exact", name
        np.testing.assert_array_equal(deq[name], model[name])
    for name in ("layers.0.attn.weight", "layers.0.mlp.weight"):
        assert schemes[name] == "uniform:4:g32"
        assert not np.array_equal(deq[name], model[name])
    # a single pattern may be a string; min_size counts values
    qm = quantize_model(model, method="uniform", bits=4, skip="layers.0.*", min_size=64)
    schemes = {r["name"]: r["scheme"] for r in qm.report()}
    assert schemes["small.weight"] == "uniform:4:g32"  # 64 values >= min_size
    assert schemes["layers.0.attn.weight"] == schemes["layers.0.mlp.weight"] == "exact"
    # the default keeps anything below DEFAULT_MIN_SIZE values exact
    qm = quantize_model({"a": realistic(rng, 64, 63), "b": realistic(rng, 64, 64)}, method="uniform", bits=4)
    assert 64 * 63 < DEFAULT_MIN_SIZE <= 64 * 64
    assert [r["scheme"] for r in qm.report()] == ["exact", "uniform:4:g32"]


# ------------------------------------------------------------------------------ every scheme
def _nearest_error(w: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Distance of each value to its nearest level (levels per value: shape w.shape + (L,))."""
    return np.min(np.abs(w[..., None] - levels), axis=-1)


def _expand(per_group: np.ndarray, gs: int, cols: int) -> np.ndarray:
    return np.repeat(per_group.astype(np.float64), gs, axis=1)[:, :cols]


@pytest.fixture(scope="module")
def matrix() -> np.ndarray:
    return realistic(np.random.default_rng(5), 64, 100)


@pytest.mark.parametrize("granularity", GRANULARITIES)
@pytest.mark.parametrize("method", METHODS)
def test_every_method_and_granularity(method, granularity, matrix, tmp_path):
    """dequantize() == load_model() after save == QuantizedTensor.dequantize(); codes within
    the quantizer's levels; the layout of scales; each method's error against its theory."""
    w = matrix
    kw = {"group_size": 48} if granularity == "group" else {}  # 48 does not divide 100
    qm = quantize_model({"w": w}, method=method, bits=4, granularity=granularity, min_size=1, **kw)
    row = qm.report()[0]
    assert row["scheme"] == f"{method}:4:{'g48' if granularity == 'group' else granularity}"
    deq = qm.dequantize()["w"]
    path = tmp_path / "w.qsg"
    qm.save(path)
    loaded = load_model(path)["w"]
    qt = load_model(path, dequantize=False)["w"]
    assert isinstance(qt, QuantizedTensor)
    np.testing.assert_array_equal(deq, loaded)
    np.testing.assert_array_equal(qt.dequantize(), loaded)
    assert loaded.dtype == np.float32 and loaded.shape == w.shape
    # the recorded statistics are those of what is loaded
    assert row["mse"] == pytest.approx(mse(loaded, w), rel=1e-6)
    assert row["max_abs_error"] == pytest.approx(float(np.max(np.abs(loaded.astype(np.float64) - w))), rel=1e-6)
    # codes: unsigned, within the quantizer's levels, one per weight
    n_levels = qt.quantizer.n_levels
    assert qt.codes.dtype.kind == "u" and qt.codes.size == w.size
    assert int(qt.codes.max()) < n_levels
    if method != "ecsq":
        assert n_levels <= 16
    # scales: per tensor, row or group of 48 (the last group of a row holds 4 values)
    rows_, ng = {"tensor": (1, 1), "channel": (64, 1), "group": (64, 3)}[granularity]
    if method == "kmeans" and granularity == "tensor":
        assert qt.scales is None  # plain weight sharing: the codebook is in weight units
    else:
        assert qt.scales.shape == (rows_, ng)
    assert (qt.offsets is not None) == (method == "uniform-asym")
    gs = qt.group_size
    assert gs == {"tensor": w.size, "channel": 100, "group": 48}[granularity]

    m = w.reshape(rows_, -1).astype(np.float64)
    w_hat = loaded.reshape(rows_, -1).astype(np.float64)
    err = np.abs(w_hat - m)
    tol = 1e-6 * float(np.abs(m).max())
    cb = qt.codebook.astype(np.float64)
    s = None if qt.scales is None else _expand(qt.scales, gs, m.shape[1])
    if method == "uniform":
        # a signed grid s * k, k in [-8, 7]: each value at its nearest grid point
        assert np.all(s[np.abs(s) > 0] != 0)
        np.testing.assert_array_equal(cb, np.arange(-8, 8))
        levels = s[..., None] * np.arange(-8, 8)
        assert np.all(err <= _nearest_error(m, levels) + tol)
    elif method == "uniform-asym":
        o = _expand(qt.offsets, gs, m.shape[1])
        np.testing.assert_array_equal(cb, np.arange(16))
        levels = o[..., None] + s[..., None] * np.arange(16)
        assert np.all(err <= _nearest_error(m, levels) + tol)
    elif method == "nf":
        # NF: absmax scales (float16 per group), Lloyd-Max levels of the normal law on [-1, 1]
        q = LloydMaxQuantizer(16).fit_distribution(stats.norm())
        np.testing.assert_allclose(cb, q.levels_ / q.levels_[-1], rtol=1e-12)
        grp = np.maximum.reduceat(np.abs(m), np.arange(0, m.shape[1], gs), axis=1)
        stored = np.float16 if granularity == "group" else np.float32  # float16 per group (as GGUF)
        np.testing.assert_array_equal(qt.scales, grp.astype(stored))
        assert np.all(err <= _nearest_error(m, s[..., None] * cb) + tol)
    elif method in ("lloyd-max", "kmeans"):
        # a Lloyd-Max quantizer: nearest level, and each level the centroid of its cell
        levels = cb if s is None else s[..., None] * cb
        assert np.all(err <= _nearest_error(m, levels) + tol)
        u = m if s is None else m / s
        codes = qt.codes.reshape(u.shape)
        for k in np.unique(codes):
            assert np.mean(u[codes == k]) == pytest.approx(cb[k], rel=1e-6, abs=1e-9)
    else:  # ecsq: entropy-coded, designed for the rate written; far better than nothing
        assert row["entropy"] == "rans"
        assert row["relative_error"] < 0.3
    # the error of a 4-bit scalar quantizer of weight-like data: a few percent of the norm
    if method != "ecsq":
        assert row["relative_error"] < {"tensor": 0.45, "channel": 0.15, "group": 0.13}[granularity]


def test_uniform_8bit_group_error_is_at_most_half_a_step(matrix):
    """8-bit groups of 48: every value that the grid covers is within scale / 2; a value the
    least-squares scale pushed past the end level is at the end level."""
    w = matrix.astype(np.float64)
    qm = quantize_model({"w": matrix}, method="uniform", bits=8, group_size=48, min_size=1)
    deq = qm.dequantize()["w"].astype(np.float64)
    parts = {}
    for k, n, p in qm._done[0].enc.frames[1:]:
        parts.setdefault("frames", []).append((k, n, p))
    scales = np.frombuffer(parts["frames"][0][2], dtype="<f2").reshape(64, 3)
    s = _expand(scales, 48, 100)
    err = np.abs(deq - w)
    k = w / s
    inside = (k >= -128.5) & (k <= 127.5)
    assert inside.mean() > 0.99
    assert np.all(err[inside] <= np.abs(s[inside]) / 2 * (1 + 1e-6))
    ends = np.where(k > 0, 127, -128) * s
    np.testing.assert_allclose(deq[~inside], ends[~inside], rtol=1e-6)
    assert qm.report()[0]["relative_error"] < 0.01


def test_nf_codebook_is_the_normal_lloyd_max_levels_scaled_to_one():
    for bits in (2, 3, 4):
        q = LloydMaxQuantizer(2**bits).fit_distribution(stats.norm())
        nf = normal_codebook(bits)
        np.testing.assert_allclose(nf.reconstruction_levels, q.levels_ / q.levels_[-1], rtol=1e-12)
        assert nf.reconstruction_levels[-1] == 1.0
        assert nf.reconstruction_levels[0] == pytest.approx(-1.0, abs=1e-12)


# ------------------------------------------------------------------------------ Q4_0 layout
def _header_end(path) -> int:
    with open(path, "rb") as f:
        return _c.read_header(f.read()).end


def test_q4_0_layout_accounting_and_quality(tmp_path):
    """method="uniform", bits=4, group_size=32, entropy="raw": 4 bits per code and a float16
    per 32 weights; every byte of the file is accounted for; the scale search does at least as
    well as llama.cpp's Q4_0 on the same data."""
    rng = np.random.default_rng(6)
    model = {"a.weight": realistic(rng, 128, 512), "b.weight": realistic(rng, 256, 256)}
    path = tmp_path / "q4.qsg"
    qm = quantize_model(model, method="uniform", bits=4, group_size=32, entropy="raw", out=path)
    rep = qm.report()
    size = os.path.getsize(path)
    for row in rep:
        n = row["n_weights"]
        assert row["scheme"] == "uniform:4:g32" and row["entropy"] == "raw"
        assert row["bits_per_weight"] == 8.0 * row["n_bytes"] / n
        payload = n // 2 + (n // 32) * 2  # packed nibbles and float16 scales
        assert payload < row["n_bytes"] < payload + 1200  # + meta frame, codes-file header, frame heads
        assert 4.5 < row["bits_per_weight"] < 4.5 + 8 * 1200 / n
    # the file: header + every tensor's frames and index entries + index head, CRC, trailer
    tail = _c._INDEX_HEAD.size + _c._CRC.size + _c._TRAILER.size
    assert _header_end(path) + sum(r["n_bytes"] for r in rep) + tail == size
    assert rep.total["n_bytes"] == size == qm.n_bytes
    assert rep.total["bits_per_weight"] == 8.0 * size / sum(v.size for v in model.values())
    assert report(path).total == rep.total
    # the in-memory model (no out=) accounts for the same bytes before it is saved
    mem = quantize_model(model, method="uniform", bits=4, group_size=32, entropy="raw")
    assert mem.n_bytes == size
    mem.save(tmp_path / "again.qsg")
    assert (tmp_path / "again.qsg").read_bytes() == path.read_bytes()
    # quality against the NumPy Q4_0 reference, tensor by tensor
    deq = load_model(path)
    for name, w in model.items():
        ours, ref = mse(deq[name], w), mse(q4_0_reference(w), w)
        assert ours <= ref, (name, ours, ref)


# ------------------------------------------------------------------------------ budgets
BUDGETS = (2.5, 3.0, 4.0, 4.5, 6.0, 8.0)


@pytest.fixture(scope="module")
def budget_model() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "l0.weight": realistic(rng, 128, 512),
        "l1.weight": realistic(rng, 256, 256),
        "l2.weight": realistic(rng, 64, 1024),
        "l0.bias": np.zeros(128, np.float32),
    }


@pytest.fixture(scope="module")
def budget_runs(budget_model, tmp_path_factory) -> dict[float, tuple[int, float, object]]:
    """{budget: (file bytes, MSE of the loaded weights, report)} for every budget."""
    folder = tmp_path_factory.mktemp("budgets")
    out = {}
    for b in BUDGETS:
        path = folder / f"{b}.qsg"
        # allocation="weight": every weight the same bits, the allocation that minimises the
        # weight MSE these tests compare with GGUF's (the default serves model quality)
        qm = quantize_model(budget_model, bits_per_weight=b, out=path, allocation="weight")
        out[b] = (os.path.getsize(path), model_mse(budget_model, load_model(path)), qm.report())
    return out


def _n_weights(model) -> int:
    return sum(v.size for v in model.values())


@pytest.mark.jit_heavy
@pytest.mark.parametrize("budget", BUDGETS)
def test_budget_is_met(budget, budget_model, budget_runs):
    size, _, rep = budget_runs[budget]
    bpw = 8.0 * size / _n_weights(budget_model)
    assert bpw <= budget
    assert rep.total["bits_per_weight"] == bpw
    assert rep[3]["scheme"] == "exact"  # the bias


@pytest.mark.jit_heavy
@pytest.mark.parametrize(
    "budget",
    [
        2.5,
        3.0,
        4.0,
        4.5,
        6.0,
        pytest.param(
            8.0,
            marks=pytest.mark.xfail(
                strict=True,
                reason=(
                    "known limit (docs/weights.md): at 8 bits ECSQ's tables (~800 float64 levels and thresholds) "
                    "cost over a bit per weight on these 64k-weight tensors, so the grid uniform:8:g32 + rANS "
                    "(7.81-7.84 bpw) wins and nothing lies between it and the budget: the archive is 7.85 bpw"
                ),
            ),
        ),
    ],
)
def test_budget_is_used(budget, budget_model, budget_runs):
    """Within 0.1 bit per weight of the budget: the budget is spent, not left on the table."""
    size, _, _ = budget_runs[budget]
    assert 8.0 * size / _n_weights(budget_model) >= budget - 0.1


@pytest.mark.jit_heavy
def test_budget_error_falls_as_the_budget_grows(budget_runs):
    errors = [budget_runs[b][1] for b in BUDGETS]
    assert all(a > b for a, b in itertools.pairwise(errors)), errors


@pytest.mark.jit_heavy
def test_budget_beats_gguf_references(budget_model, budget_runs):
    """4.5 bits per weight (Q4_0's own rate) with < 0.7 x Q4_0's MSE; 8.0 bits with less than
    Q8_0's MSE (which spends 8.5)."""
    q4 = model_mse(budget_model, {k: q4_0_reference(v) for k, v in budget_model.items() if v.ndim == 2})
    q8 = model_mse(budget_model, {k: q8_0_reference(v) for k, v in budget_model.items() if v.ndim == 2})
    assert budget_runs[4.5][1] < 0.7 * q4, (budget_runs[4.5][1], q4)
    assert budget_runs[8.0][1] < q8, (budget_runs[8.0][1], q8)


def test_budget_on_a_small_model_without_jit():
    """The budget path on a small model (fast with or without the JIT)."""
    rng = np.random.default_rng(8)
    model = {"w": realistic(rng, 32, 128), "b": np.zeros(32, np.float32)}
    qm = quantize_model(model, bits_per_weight=5.0, min_size=1)
    assert qm.bits_per_weight <= 5.0
    assert qm.report()[0]["scheme"] != "exact"
    assert qm.n_bytes == len(_saved_bytes(qm))


def _saved_bytes(qm) -> bytes:
    parts: list[bytes] = []
    w = ArchiveWriter(parts.append, qm.metadata, qm.source_bytes)
    for d in qm._done:
        w.add(d.enc)
    w.close()
    return b"".join(parts)


def test_budget_with_knobs_restricts_the_choice():
    rng = np.random.default_rng(9)
    model = {"w": realistic(rng, 64, 128)}
    qm = quantize_model(model, bits_per_weight=5.0, method="uniform", group_size=32, min_size=1)
    assert qm.report()[0]["scheme"] == "uniform:4:g32"  # 4.5 bits + 830 bytes of headers: 4.83
    assert qm.bits_per_weight <= 5.0
    qm = quantize_model(model, bits_per_weight=6.0, method="kmeans", min_size=1)
    assert qm.report()[0]["scheme"].startswith("kmeans:")
    assert qm.bits_per_weight <= 6.0


# ------------------------------------------------------------------------------ entropy coding
def test_rans_writes_fewer_bits_than_raw_at_identical_error():
    """4-bit k-means on Laplacian weights: codes far from uniform, so rANS beats packing."""
    w = (np.random.default_rng(10).laplace(size=(256, 256)) * 0.02).astype(np.float32)
    raw = quantize_model({"w": w}, method="kmeans", bits=4, entropy="raw", min_size=1)
    rans = quantize_model({"w": w}, method="kmeans", bits=4, entropy="rans", min_size=1)
    r_raw, r_rans = raw.report()[0], rans.report()[0]
    assert r_raw["entropy"] == "raw" and r_rans["entropy"] == "rans"
    np.testing.assert_array_equal(raw.dequantize()["w"], rans.dequantize()["w"])
    assert r_raw["mse"] == r_rans["mse"]
    assert 4.0 < r_raw["bits_per_weight"] < 4.0 + 8 * 1500 / w.size  # + codebook, headers
    assert r_rans["bits_per_weight"] < r_raw["bits_per_weight"] - 0.3
    # left alone, the smaller one is chosen
    auto = quantize_model({"w": w}, method="kmeans", bits=4, min_size=1)
    assert auto.report()[0]["entropy"] == "rans"


# ------------------------------------------------------------------------------ importance
@pytest.mark.parametrize("method", ["kmeans", "lloyd-max", "ecsq"])
def test_importance_pulls_the_codebook_towards_important_weights(method):
    rng = np.random.default_rng(11)
    w = realistic(rng, 64, 128)
    imp = np.ones(w.shape)
    hot = rng.random(w.shape) < 0.05
    imp[hot] = 200.0  # a few weights matter far more (as large activations would make them)
    bits = 3
    plain = quantize_model({"w": w}, method=method, bits=bits, min_size=1)
    weighted = quantize_model({"w": w}, method=method, bits=bits, min_size=1, importance={"w": imp})

    def werr(qm):
        d = qm.dequantize()["w"].astype(np.float64) - w
        return float(np.sum(imp * d * d))

    # ECSQ at a fixed entropy has little freedom (its levels are nearly uniform): it must still gain
    assert werr(weighted) < (0.97 if method == "ecsq" else 0.9) * werr(plain)
    if method != "ecsq":  # the same levels, placed for the important weights: paid for elsewhere
        assert mse(weighted.dequantize()["w"], w) > mse(plain.dequantize()["w"], w)


def test_ecsq_on_a_small_tensor_is_not_degenerate():
    w = np.random.default_rng(27).standard_normal((16, 8, 3, 3)).astype(np.float32)
    qm = quantize_model({"conv.weight": w}, method="ecsq", bits=4, min_size=1)
    assert qm.report()[0]["relative_error"] < 0.2


def test_importance_keeps_the_ecsq_rate():
    rng = np.random.default_rng(11)
    w = realistic(rng, 64, 128)
    imp = np.ones(w.shape)
    imp[rng.random(w.shape) < 0.05] = 200.0
    plain = quantize_model({"w": w}, method="ecsq", bits=3, min_size=1).report()[0]["bits_per_weight"]
    weighted = quantize_model({"w": w}, method="ecsq", bits=3, min_size=1, importance={"w": imp})
    assert weighted.report()[0]["bits_per_weight"] < plain + 0.25


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(-1.0, id="negative"),
        pytest.param(np.nan, id="nan"),
        pytest.param(0.0, id="all-zero"),
    ],
)
@pytest.mark.parametrize(
    "method",
    [
        "kmeans",
        "lloyd-max",
        "ecsq",
    ],
)
def test_invalid_importance_values_raise(method, bad):
    w = realistic(np.random.default_rng(12), 32, 64)
    with pytest.raises(ValueError):
        quantize_model({"w": w}, method=method, bits=3, min_size=1, importance={"w": np.full(w.shape, bad)})


# ------------------------------------------------------------------------------ sources
def _small_model(rng) -> dict[str, np.ndarray]:
    return {
        "0.weight": realistic(rng, 64, 100),
        "0.bias": rng.standard_normal(64).astype(np.float32),
        "2.weight": realistic(rng, 10, 64),
        "2.bias": rng.standard_normal(10).astype(np.float32),
    }


def _same_tensors(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]), err_msg=k)


def test_npz_and_safetensors_files_give_what_the_dict_gives(tmp_path):
    rng = np.random.default_rng(13)
    model = _small_model(rng)
    ref = quantize_model(model, method="lloyd-max", bits=3, min_size=1)
    np.savez(tmp_path / "m.npz", **model)
    from_npz = quantize_model(tmp_path / "m.npz", method="lloyd-max", bits=3, min_size=1)
    _same_tensors(ref.dequantize(), from_npz.dequantize())
    assert from_npz.source_bytes == os.path.getsize(tmp_path / "m.npz")
    assert ref.source_bytes == sum(v.nbytes for v in model.values())
    np.savez_compressed(tmp_path / "c.npz", **model)
    _same_tensors(
        ref.dequantize(), quantize_model(str(tmp_path / "c.npz"), method="lloyd-max", bits=3, min_size=1).dequantize()
    )
    write_safetensors(tmp_path / "m.safetensors", {k: ("F32", v.shape, v.tobytes()) for k, v in model.items()})
    from_st = quantize_model(tmp_path / "m.safetensors", method="lloyd-max", bits=3, min_size=1)
    _same_tensors(ref.dequantize(), from_st.dequantize())
    assert from_st.source_bytes == os.path.getsize(tmp_path / "m.safetensors")


def test_safetensors_written_by_the_safetensors_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(14)
    model = {
        **_small_model(rng),
        "h.weight": realistic(rng, 32, 64).astype(np.float16),
        "d.weight": realistic(rng, 32, 64).astype(np.float64),
        "ids": np.arange(7, dtype=np.int64),
    }
    st.save_file(model, str(tmp_path / "m.safetensors"), metadata={"format": "np"})
    with open_source(tmp_path / "m.safetensors") as src:
        assert {i.name: i.dtype for i in src.infos()} == {k: v.dtype.name for k, v in model.items()}
        for k, v in model.items():
            np.testing.assert_array_equal(src.load(k), v)
    qm = quantize_model(tmp_path / "m.safetensors", method="uniform", bits=8, min_size=1)
    ref = quantize_model(model, method="uniform", bits=8, min_size=1).dequantize()
    deq = qm.dequantize()
    assert set(deq) == set(ref)  # in the file's order (the package sorts its header)
    _same_tensors(deq, {k: ref[k] for k in deq})


def test_torch_sources_state_dict_module_and_checkpoint(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(100, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    net.register_buffer("steps", torch.tensor([5], dtype=torch.int64))
    sd = net.state_dict()
    as_numpy = {k: v.numpy() for k, v in sd.items()}
    ref = quantize_model(as_numpy, method="kmeans", bits=4, min_size=1).dequantize()
    for source in (sd, net):
        _same_tensors(quantize_model(source, method="kmeans", bits=4, min_size=1).dequantize(), ref)
    torch.save(sd, tmp_path / "m.pt")
    torch.save({"state_dict": sd, "epoch": 3}, tmp_path / "ckpt.pth")
    for name in ("m.pt", "ckpt.pth"):
        qm = quantize_model(tmp_path / name, method="kmeans", bits=4, min_size=1, out=tmp_path / (name + ".qsg"))
        _same_tensors(qm.dequantize(), ref)
        assert qm.source_bytes == os.path.getsize(tmp_path / name)
    # the dequantized tensors load straight back into the module
    back = load_model(tmp_path / "m.pt.qsg", as_="torch")
    net.load_state_dict(back)
    assert torch.equal(net[0].bias, sd["0.bias"]) and net.steps.dtype == torch.int64
    # a checkpoint in the legacy (non-zip) format cannot be memory-mapped: read it plainly
    torch.save(sd, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    _same_tensors(quantize_model(tmp_path / "legacy.pt", method="kmeans", bits=4, min_size=1).dequantize(), ref)


def test_bad_torch_and_npz_files_raise_corrupt_file_error(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"this is no zip file" * 10)
    np.save(tmp_path / "array.npy", np.ones(3))
    os.replace(tmp_path / "array.npy", tmp_path / "array.npz")  # a .npy under a .npz name
    for name in ("junk.npz", "array.npz"):
        with pytest.raises(CorruptFileError, match=r"not a valid .npz file"):
            quantize_model(tmp_path / name, method="uniform", bits=4)
    pytest.importorskip("torch")
    (tmp_path / "junk.pt").write_bytes(b"garbage" * 20)
    with pytest.raises(CorruptFileError, match=r"junk.pt"):
        quantize_model(tmp_path / "junk.pt", method="uniform", bits=4)


def test_safetensors_tensors_are_read_only_when_quantized(tmp_path, monkeypatch):
    """Opening the file reads its header; each tensor's bytes are read once, just before that
    tensor is encoded (so memory holds one tensor, not the model)."""
    rng = np.random.default_rng(15)
    model = {f"l{i}.weight": realistic(rng, 32, 64) for i in range(4)}
    model["l0.bias"] = np.zeros(32, np.float32)
    path = tmp_path / "m.safetensors"
    write_safetensors(path, {k: ("F32", v.shape, v.tobytes()) for k, v in model.items()})
    header_len = struct.unpack("<Q", path.read_bytes()[:8])[0]
    events: list[tuple] = []
    real_pread = os.pread

    def spy_pread(fd, n, offset):
        events.append(("read", offset, n))
        return real_pread(fd, n, offset)

    real_encode, real_exact = wmodel.encode_tensor, wmodel.encode_exact
    monkeypatch.setattr(wsources.os, "pread", spy_pread)
    monkeypatch.setattr(
        wmodel, "encode_tensor", lambda name, *a, **k: (events.append(("encode", name)), real_encode(name, *a, **k))[1]
    )
    monkeypatch.setattr(
        wmodel, "encode_exact", lambda name, *a, **k: (events.append(("encode", name)), real_exact(name, *a, **k))[1]
    )
    src = open_source(path)
    assert events == [("read", 0, 8), ("read", 8, header_len)]
    events.clear()
    qm = quantize_model(src, method="uniform", bits=4, min_size=1)
    src.close()
    base = 8 + header_len
    expected = []
    offset = 0
    for name, v in model.items():
        expected += [("read", base + offset, v.nbytes), ("encode", name)]
        offset += v.nbytes
    assert events == expected
    _same_tensors(qm.dequantize(), quantize_model(model, method="uniform", bits=4, min_size=1).dequantize())


def test_safetensors_reads_large_tensors_in_chunks(tmp_path, monkeypatch):
    """Linux's pread returns at most ~2 GiB: larger tensors are read in several calls."""
    rng = np.random.default_rng(16)
    w = realistic(rng, 40, 50)
    write_safetensors(tmp_path / "m.safetensors", {"w": ("F32", w.shape, w.tobytes())})
    monkeypatch.setattr(wsources, "_READ_CHUNK", 1000)
    real = os.pread
    calls = []

    def short_pread(fd, n, offset):  # and the kernel may return fewer bytes than asked
        calls.append(n)
        return real(fd, min(n, 777), offset)

    with open_source(tmp_path / "m.safetensors") as src:
        monkeypatch.setattr(wsources.os, "pread", short_pread)
        np.testing.assert_array_equal(src.load("w"), w)
    assert len(calls) == math.ceil(w.nbytes / 777)


@pytest.mark.parametrize(
    "case, header, data, match",
    [
        ("not JSON", b"\xff\xfe{garbage", b"", "header is not JSON"),
        ("deep JSON", b"[" * 100_000 + b"]" * 100_000, b"", "header is not JSON"),
        ("not an object", b"[1, 2, 3]", b"", "not a JSON object"),
        ("entry", b'{"w": 5}', b"", "entry 'w' is not an object"),
        ("dtype", b'{"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}', b"\0", "unsupported dtype"),
        (
            "dtype list",
            b'{"w": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}',
            b"\0" * 4,
            "unsupported dtype",
        ),
        ("shape", b'{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', b"\0" * 4, "invalid shape"),
        (
            "offsets type",
            b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0.0, 4]}}',
            b"\0" * 4,
            "invalid data_offsets",
        ),
        (
            "offsets past end",
            b'{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}',
            b"\0" * 8,
            "do not fit",
        ),
        ("offsets size", b'{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}}', b"\0" * 16, "do not fit"),
        (
            "offsets reversed",
            b'{"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}}',
            b"\0" * 16,
            "do not fit",
        ),
    ],
)
def test_corrupt_safetensors_header_raises(tmp_path, case, header, data, match):
    path = write_raw_header(tmp_path / "bad.safetensors", header, data)
    with pytest.raises(CorruptFileError, match=match):
        open_source(path)
    with pytest.raises(CorruptFileError, match="not a valid safetensors file"):
        quantize_model(path, method="uniform", bits=4)


def test_safetensors_header_length_is_checked_before_reading(tmp_path):
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", 1 << 62) + b"{}")
    with pytest.raises(CorruptFileError, match="header length 4611686018427387904 exceeds"):
        open_source(path)
    path.write_bytes(b"\x01\x02")
    with pytest.raises(CorruptFileError, match="8-byte header length"):
        open_source(path)


def test_source_errors(tmp_path):
    with pytest.raises(TypeError, match="source must be"):
        quantize_model(42, method="uniform", bits=4)
    with pytest.raises(TypeError, match="names must be strings"):
        quantize_model({1: np.ones((4, 4))}, method="uniform", bits=4)
    with pytest.raises(FileNotFoundError):
        quantize_model("/nonexistent/model.safetensors", method="uniform", bits=4)
    (tmp_path / "m.h5").write_bytes(b"HDF")
    with pytest.raises(ValueError, match=r"unknown weights format '.h5'"):
        quantize_model(tmp_path / "m.h5", method="uniform", bits=4)
    with pytest.raises(TypeError):
        quantize_model({"w": np.array([["a", "b"]], dtype=object)}, method="uniform", bits=4)


# ------------------------------------------------------------------------------ peak memory
@pytest.fixture(scope="module")
def big_safetensors(tmp_path_factory):
    """40 tensors of 1M float32 weights: a 160 MB model, written without holding it."""
    rng = np.random.default_rng(17)
    path = tmp_path_factory.mktemp("big") / "big.safetensors"
    n_tensors, rows, cols = 40, 1000, 1000
    header = {
        f"layers.{i}.weight": {
            "dtype": "F32",
            "shape": [rows, cols],
            "data_offsets": [i * rows * cols * 4, (i + 1) * rows * cols * 4],
        }
        for i in range(n_tensors)
    }
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        for _ in range(n_tensors):
            f.write((rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).tobytes())
    yield path, rows * cols * 4
    path.unlink()


@pytest.fixture(scope="module")
def peak_run(big_safetensors, tmp_path_factory):
    path, largest = big_safetensors
    quantize_model({"w": np.ones((64, 64), np.float32)}, method="uniform", bits=4, min_size=1)  # compile first
    out = tmp_path_factory.mktemp("peak") / "big.qsg"
    tracemalloc.start()
    try:
        qm = quantize_model(path, method="uniform", bits=4, out=out)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    yield peak, largest, os.path.getsize(path), qm, out
    out.unlink()


@pytest.mark.jit_heavy
def test_peak_memory_is_a_few_tensors_not_the_model(peak_run):
    peak, largest, model_bytes, qm, out = peak_run
    print(
        f"peak {peak / 1e6:.1f} MB = {peak / largest:.2f} x the largest tensor ({largest / 1e6:.0f} MB), "
        f"model {model_bytes / 1e6:.0f} MB"
    )
    assert model_bytes > 150e6
    assert peak < 10 * largest, f"peak {peak / 1e6:.1f} MB for {largest / 1e6:.1f} MB tensors"
    assert peak < model_bytes / 4
    assert qm.report().total["n_weights"] == 40_000_000
    assert qm.report().total["bits_per_weight"] == 8.0 * os.path.getsize(out) / 40e6 < 4.6
    assert all(d.enc is None for d in qm._done)  # written, not kept


@pytest.mark.jit_heavy
def test_peak_memory_within_six_tensors(peak_run):
    peak, largest, *_ = peak_run
    assert peak < 6 * largest, f"peak {peak / 1e6:.1f} MB = {peak / largest:.1f} x the largest tensor"


# ------------------------------------------------------------------------------ corrupt archives
@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tuple[bytes, dict[str, np.ndarray]]:
    rng = np.random.default_rng(18)
    model = {
        "a.weight": realistic(rng, 24, 80),
        "a.bias": rng.standard_normal(24).astype(np.float32),
        "b.weight": realistic(rng, 16, 64).astype(np.float16),
        "steps": np.arange(3, dtype=np.int64),
        "c.weight": realistic(rng, 16, 40),
    }
    path = tmp_path_factory.mktemp("arch") / "m.qsg"
    quantize_model(model, method="uniform-asym", bits=3, group_size=32, min_size=1, out=path)
    blob = path.read_bytes()
    return blob, load_model(path)


def _try_load(blob: bytes, full: dict[str, np.ndarray]) -> str:
    """'corrupt', or the tensors it gives are exactly the archive's (and 'complete' /
    'partial'); any other exception fails the test."""
    try:
        with ArchiveReader(blob) as r:
            complete = r.complete
            names = r.names()
        out = _load_bytes(blob)
    except CorruptFileError:
        return "corrupt"
    assert list(out) == names == list(full)[: len(names)]
    for k, v in out.items():
        np.testing.assert_array_equal(v, full[k])
    if complete:
        assert names == list(full)
    return "complete" if complete else "partial"


def _load_bytes(blob: bytes) -> dict[str, np.ndarray]:
    from quantsig.weights.schemes import decode_tensor

    with ArchiveReader(blob) as r:
        return {n: decode_tensor(r.entries[n].meta, r.payloads(n)) for n in r.names()}


def test_truncated_archives_raise_or_give_their_complete_tensors(archive, tmp_path):
    blob, full = archive
    assert _try_load(blob, full) == "complete"
    step = 1 if not NO_JIT else 13
    cuts = sorted(set(range(0, len(blob), step)) | set(range(len(blob) - 40, len(blob))))
    outcomes = {_try_load(blob[:cut], full) for cut in cuts}
    assert outcomes == {"corrupt", "partial"}
    # the files themselves: load_model reads what a cut-off file still holds
    cut = len(blob) - 30  # inside the index
    (tmp_path / "cut.qsg").write_bytes(blob[:cut])
    with ArchiveReader(tmp_path / "cut.qsg") as r:
        assert not r.complete and r.names() == list(full)
    _same_tensors(load_model(tmp_path / "cut.qsg"), full)
    (tmp_path / "head.qsg").write_bytes(blob[:20])
    with pytest.raises(CorruptFileError):
        load_model(tmp_path / "head.qsg")


def test_flipped_bytes_raise_or_are_harmless(archive):
    blob, full = archive
    rng = np.random.default_rng(19)
    n = 150 if NO_JIT else 1500
    outcomes = {}
    for _ in range(n):
        b = bytearray(blob)
        i = int(rng.integers(len(b)))
        b[i] ^= 1 << int(rng.integers(8))
        outcome = _try_load(bytes(b), full)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("corrupt", 0) > 0.9 * n


def _rewrite(blob: bytes, edit) -> bytes:
    """The archive re-assembled with valid checksums after ``edit(name, meta, data_frames)``
    returned new ``(meta, data_frames)`` for each tensor (a forger's file)."""
    parts: list[bytes] = []
    with ArchiveReader(blob) as r:
        w = ArchiveWriter(parts.append, r.metadata, r.source_bytes)
        for name in r.names():
            meta = json.loads(json.dumps(r.entries[name].meta))
            frames = [(k, n, bytes(p)) for k, n, p in r.payloads(name)]
            meta, frames = edit(name, meta, frames)
            w._w.add_frame(_c.FrameKind.META, 0, json.dumps(meta).encode() if isinstance(meta, dict) else meta)
            for f in frames:
                w._w.add_frame(*f)
    w.close()
    return b"".join(parts)


def _edit_meta(target: str, **changes):
    def edit(name, meta, frames):
        if name == target:
            meta.update(changes)
        return meta, frames

    return edit


@pytest.mark.parametrize(
    "target, changes, match",
    [
        ("a.weight", {"shape": [24, 81]}, "tensor 'a.weight': invalid matrix shape"),
        ("a.weight", {"shape": [24, -80]}, "tensor 'a.weight': invalid shape"),
        ("a.weight", {"shape": [1] * 40}, "tensor 'a.weight': invalid shape"),
        ("a.weight", {"shape": "24x80"}, "tensor 'a.weight': invalid shape"),
        ("a.weight", {"dtype": "complex64"}, "tensor 'a.weight': unsupported dtype"),
        ("a.weight", {"dtype": "int32"}, "tensor 'a.weight': a quantized tensor must be floating point"),
        ("a.weight", {"group_size": 0}, "tensor 'a.weight': invalid group size"),
        ("a.weight", {"group_size": 81}, "tensor 'a.weight': invalid group size"),
        ("a.weight", {"group_size": 40}, "tensor 'a.weight': scales frame does not hold"),
        ("a.weight", {"group_size": True}, "tensor 'a.weight': invalid group size"),
        ("a.weight", {"matrix": [80, 24], "shape": [80, 24]}, "tensor 'a.weight': .*"),
        ("a.weight", {"matrix": [1, 1920]}, "tensor 'a.weight': .*"),
        ("a.weight", {"scales": "<f8"}, "tensor 'a.weight': invalid scales dtype"),
        ("a.weight", {"scales": None}, "tensor 'a.weight': offsets without scales"),
        ("a.weight", {"offsets": None}, "frame 3 at offset .* should describe a tensor"),
        ("a.weight", {"stored": "zipped"}, "tensor 'a.weight': unknown storage"),
        ("a.weight", {"stats": {"mse": "low"}}, "tensor 'a.weight': invalid stats"),
        ("a.weight", {"scheme": 4}, "tensor 'a.weight': invalid scheme"),
        ("a.bias", {"shape": [25]}, "tensor 'a.bias': exact data frame does not hold"),
        ("a.bias", {"dtype": "float64"}, "tensor 'a.bias': exact data frame does not hold"),
        ("steps", {"shape": [1 << 40]}, "tensor 'steps': .*max_output_bytes"),
        (
            "b.weight",
            {"shape": [1 << 20, 1 << 20], "matrix": [1 << 20, 1 << 20]},
            "tensor 'b.weight': .*max_output_bytes",
        ),
        ("c.weight", {"name": "a.weight"}, "tensor 'a.weight' appears twice"),
        ("c.weight", {"name": 7}, "missing name"),
    ],
)
def test_forged_meta_frames_raise_naming_the_tensor(archive, target, changes, match):
    blob, _ = archive
    forged = _rewrite(blob, _edit_meta(target, **changes))
    with pytest.raises(CorruptFileError, match=match):
        _load_bytes(forged)


def test_forged_data_frames_raise_naming_the_tensor(archive):
    blob, _ = archive

    def drop_frame(name, meta, frames):
        return meta, frames[:-1] if name == "c.weight" else frames

    # c.weight loses its codes frame: the reader sees a meta frame where data should be
    with pytest.raises(CorruptFileError, match=r"should describe a tensor|lacks"):
        _load_bytes(_rewrite(blob, drop_frame))

    def wrong_kind(name, meta, frames):
        if name == "a.weight":
            frames = [(_c.FrameKind.RANS if i == 0 else k, n, p) for i, (k, n, p) in enumerate(frames)]
        return meta, frames

    with pytest.raises(CorruptFileError, match=r"tensor 'a.weight': scales frame"):
        _load_bytes(_rewrite(blob, wrong_kind))

    codes = {}

    def grab(name, meta, frames):
        codes[name] = frames[-1]
        return meta, frames

    _rewrite(blob, grab)

    def other_codes(name, meta, frames):
        if name == "a.weight":
            frames = frames[:-1] + [(frames[-1][0], frames[-1][1], codes["c.weight"][2])]
        return meta, frames

    with pytest.raises(CorruptFileError, match=r"tensor 'a.weight': codes"):
        _load_bytes(_rewrite(blob, other_codes))

    def garbage_codes(name, meta, frames):
        if name == "a.weight":
            frames = frames[:-1] + [(frames[-1][0], frames[-1][1], b"\x89QSG" + bytes(100))]
        return meta, frames

    with pytest.raises(CorruptFileError, match=r"tensor 'a.weight': codes"):
        _load_bytes(_rewrite(blob, garbage_codes))

    def not_json(name, meta, frames):
        return (b"\xff not json" if name == "a.bias" else meta), frames

    with pytest.raises(CorruptFileError, match="not JSON"):
        _load_bytes(_rewrite(blob, not_json))


def test_deeply_nested_meta_frame_raises_corrupt_file_error(archive):
    blob, _ = archive
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(CorruptFileError):
        _load_bytes(_rewrite(blob, lambda name, meta, frames: (deep if name == "a.bias" else meta, frames)))


def test_not_a_weights_archive(tmp_path):
    import quantsig

    quantsig.save(tmp_path / "arr.qsg", np.linspace(-1, 1, 1000), quantsig.UniformQuantizer(step=0.01))
    with pytest.raises(CorruptFileError, match="not a weights archive"):
        load_model(tmp_path / "arr.qsg")
    (tmp_path / "junk.qsg").write_bytes(b"junk" * 50)
    with pytest.raises(CorruptFileError):
        load_model(tmp_path / "junk.qsg")


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({}, ValueError, "give bits_per_weight="),
        ({"method": "gptq"}, ValueError, "method='gptq' should be one of"),
        ({"method": "uniform", "granularity": "row"}, ValueError, "granularity='row' should be one of"),
        ({"method": "uniform", "entropy": "zstd"}, ValueError, "entropy='zstd'"),
        (
            {"method": "uniform", "granularity": "channel", "group_size": 32},
            ValueError,
            "group_size applies to granularity='group'",
        ),
        ({"method": "uniform", "bits": 1}, ValueError, "bits >= 2"),
        ({"method": "nf", "bits": 3.5}, ValueError, "integer from 1 to 16"),
        ({"method": "uniform", "bits": 17}, ValueError, "bits=17"),
        ({"method": "uniform", "bits": True}, TypeError, "bits"),
        ({"method": "ecsq", "entropy": "raw"}, ValueError, "entropy='rans'"),
        ({"method": "uniform", "group_size": 0}, ValueError, "group_size=0"),
        ({"method": "uniform", "group_size": 32.5}, TypeError, "group_size"),
        ({"bits_per_weight": 0}, ValueError, "bits_per_weight"),
        ({"bits_per_weight": float("nan")}, ValueError, "bits_per_weight"),
        ({"bits_per_weight": "4"}, TypeError, "bits_per_weight"),
        ({"bits_per_weight": 0.5}, ValueError, "leaves .* bits per quantized weight"),
        (
            {"bits_per_weight": 1.5, "method": "uniform", "bits": 4},
            ValueError,
            "cannot be stored in|leaves|no scheme fits",
        ),
        (
            {"method": "uniform", "importance": {"nope": np.ones(3)}},
            ValueError,
            "importance names tensors not in the model",
        ),
        ({"method": "kmeans", "importance": {"w": np.ones((3, 3))}}, ValueError, r"importance\['w'\] has shape"),
        ({"method": "uniform", "n_jobs": 0}, ValueError, "n_jobs=0"),
        ({"method": "uniform", "min_size": 0}, ValueError, "min_size=0"),
        ({"method": "uniform", "progress": "yes"}, TypeError, "progress"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, exc, match):
    w = realistic(np.random.default_rng(20), 64, 128)
    kwargs = dict(kwargs)
    kwargs.setdefault("min_size", 1)
    with pytest.raises(exc, match=match):
        quantize_model({"w": w, "b": np.zeros(64, np.float32)}, **kwargs)


def test_non_float_and_non_finite_tensors():
    rng = np.random.default_rng(21)
    ints = rng.integers(-5, 5, (64, 100)).astype(np.int32)
    qm = quantize_model({"i": ints}, method="uniform", bits=2, min_size=1)  # never quantized
    assert qm.report()[0]["scheme"] == "exact"
    np.testing.assert_array_equal(qm.dequantize()["i"], ints)
    w = realistic(rng, 64, 100)
    w[3, 4] = np.nan
    for method in METHODS:
        with pytest.raises(ValueError):
            quantize_model({"w": w}, method=method, bits=4, min_size=1)


def test_never_overwrites_without_permission(tmp_path):
    w = {"w": realistic(np.random.default_rng(22), 32, 64)}
    path = tmp_path / "m.qsg"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        quantize_model(w, method="uniform", bits=4, min_size=1, out=path)
    qm = quantize_model(w, method="uniform", bits=4, min_size=1)
    with pytest.raises(FileExistsError):
        qm.save(path)
    assert path.read_bytes() == b"precious"
    qm.save(path, overwrite=True)
    _same_tensors(load_model(path), qm.dequantize())
    quantize_model(w, method="uniform", bits=8, min_size=1, out=path, overwrite=True)
    assert load_model(path, dequantize=False)["w"].quantizer.n_levels == 256
    # a failed run leaves neither a partial file nor a temporary one
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(ValueError):
        quantize_model(
            {"w": w["w"], "x": np.full((8, 8), np.nan, np.float32)},
            method="uniform",
            bits=4,
            min_size=1,
            out=tmp_path / "new.qsg",
        )
    assert sorted(os.listdir(tmp_path)) == before


def test_load_model_arguments(tmp_path):
    qm = quantize_model({"w": realistic(np.random.default_rng(23), 32, 64)}, method="uniform", bits=4, min_size=1)
    qm.save(tmp_path / "m.qsg")
    with pytest.raises(ValueError, match="as_='jax'"):
        load_model(tmp_path / "m.qsg", as_="jax")
    with pytest.raises(CorruptFileError, match="max_output_bytes"):
        load_model(tmp_path / "m.qsg", max_output_bytes=100)


# ------------------------------------------------------------------------------ threads, progress
@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "kmeans", "bits": 3},
        pytest.param({"bits_per_weight": 4.0}, marks=pytest.mark.jit_heavy),
    ],
    ids=["kmeans", "budget"],
)
def test_n_jobs_gives_byte_identical_archives(tmp_path, kwargs):
    rng = np.random.default_rng(24)
    model = {f"l{i}.weight": realistic(rng, 32 + 8 * i, 96) for i in range(6)}
    model["l0.bias"] = np.zeros(32, np.float32)
    one = quantize_model(model, min_size=1, n_jobs=1, out=tmp_path / "one.qsg", **kwargs)
    two = quantize_model(model, min_size=1, n_jobs=2, out=tmp_path / "two.qsg", **kwargs)
    assert (tmp_path / "one.qsg").read_bytes() == (tmp_path / "two.qsg").read_bytes()
    assert one.names == two.names == list(model)
    # and the in-memory result (no out=) saves to the same bytes
    quantize_model(model, min_size=1, n_jobs=2, **kwargs).save(tmp_path / "mem.qsg")
    assert (tmp_path / "mem.qsg").read_bytes() == (tmp_path / "one.qsg").read_bytes()


def test_progress_counts_every_weight():
    class Bar:
        def __init__(self):
            self.n = 0

        def update(self, n):
            self.n += n

    bar = Bar()
    model = {"w": realistic(np.random.default_rng(25), 32, 64), "b": np.zeros(32, np.float32)}
    quantize_model(model, method="uniform", bits=4, min_size=1, progress=bar)
    assert bar.n == 32 * 64 + 32


def test_metadata_and_repr(tmp_path):
    qm = quantize_model(
        {"w": realistic(np.random.default_rng(26), 32, 64)},
        method="uniform",
        bits=4,
        min_size=1,
        metadata={"model": "tiny", "step": 3},
        out=tmp_path / "m.qsg",
    )
    with ArchiveReader(tmp_path / "m.qsg") as r:
        assert r.metadata == {"model": "tiny", "step": 3} and r.complete
        assert "w" in r and list(r) == ["w"]
    assert "1 tensors" in repr(qm) and "bits/weight" in repr(qm)
    text = qm.report().to_text()
    assert text.splitlines()[0].split()[:3] == ["name", "shape", "scheme"]
    assert "total: 2,048 weights" in text
