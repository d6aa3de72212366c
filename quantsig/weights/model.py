"""Quantize a whole model: pick a scheme per tensor, meet a bits-per-weight budget, report.

See ``quantize_model``; the per-tensor machinery is in ``schemes``, the file format in
``archive``, the readers of models in ``sources``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import math
import os
import shutil
import tempfile
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .. import container as _c
from .._validation import as_sample_weight, check_int, check_real
from ..codec import DEFAULT_MAX_OUTPUT_BYTES
from ..kernels import groups as _kg
from ..progress import make_progress
from ..table import Table
from .archive import ArchiveReader, ArchiveWriter
from .schemes import (
    DEFAULT_GRANULARITY,
    DEFAULT_GROUP_SIZE,
    ENTROPIES,
    GRANULARITIES,
    METHODS,
    EncodedTensor,
    QuantizedTensor,
    Scheme,
    decode_tensor,
    encode_exact,
    encode_tensor,
)
from .sources import FLOAT_DTYPES, TensorInfo, TensorSource, open_source

__all__ = [
    "quantize_model",
    "QuantizedModel",
    "WeightsReport",
    "load_model",
    "report",
    "DEFAULT_MIN_SIZE",
    "ALLOCATIONS",
]

#: Tensors smaller than this (values) are kept exact by default, as are 1-D ones.
DEFAULT_MIN_SIZE = 4096
#: Bytes of an archive besides its tensors: preamble, header, index head and trailer (about).
_ARCHIVE_OVERHEAD = 200
#: Guess of a quantized tensor's bytes besides codes and scales (meta frame, codes-file header).
_TENSOR_OVERHEAD = 900


# ---------------------------------------------------------------------------- report
class WeightsReport(Table):
    """Per-tensor accounting of a quantized model, plus ``total``.

    ``bits_per_weight`` counts every byte the tensor adds to the archive (meta frame, scales,
    offsets, codebook, entropy tables, codes, frame headers, checksums and index entries);
    ``total`` counts the whole file (its header and index too) over every weight, exact
    tensors included. ``mse``, ``relative_error`` (``||w - w_hat|| / ||w||``) and
    ``max_abs_error`` compare with the source; exact tensors have 0.

    A ``Table``: columns as arrays (``rep["mse"]``), rows as dicts (``rep[0]``), and CSV,
    JSON, Markdown, text or pandas output; ``str(rep)`` ends with a line for ``total``.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig import weights
    >>> rng = np.random.default_rng(0)
    >>> model = {"fc.weight": (0.02 * rng.standard_normal((64, 64))).astype(np.float32),
    ...          "fc.bias": np.zeros(64, np.float32)}
    >>> rep = weights.quantize_model(model, method="uniform", bits=4, entropy="raw").report()
    >>> print(rep.to_markdown(columns=["name", "shape", "scheme", "entropy", "n_weights"]), end="")
    | name | shape | scheme | entropy | n_weights |
    |:---|:---|:---|:---|---:|
    | fc.weight | 64x64 | uniform:4:g32 | raw | 4096 |
    | fc.bias | 64 | exact | - | 64 |
    >>> bool(rep[0]["bits_per_weight"] < 6.5), float(rep["max_abs_error"][1])   # the bias is exact
    (True, 0.0)
    >>> rep.total["n_weights"], rep.total["source_bytes"], bool(rep.total["relative_error"] < 0.1)
    (4160, 16640, True)
    >>> rep.total["bits_per_weight"] == 8 * rep.total["n_bytes"] / 4160    # every byte of the file
    True
    """

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "name",
        "shape",
        "dtype",
        "scheme",
        "entropy",
        "n_weights",
        "n_bytes",
        "bits_per_weight",
        "mse",
        "relative_error",
        "max_abs_error",
    )
    TEXT_COLUMNS: ClassVar[tuple[str, ...]] = ("name", "shape", "dtype", "scheme", "entropy")
    INT_COLUMNS: ClassVar[tuple[str, ...]] = ("n_weights", "n_bytes")
    SUMMARY_COLUMNS: ClassVar[tuple[str, ...]] = (
        "name",
        "shape",
        "scheme",
        "entropy",
        "bits_per_weight",
        "mse",
        "relative_error",
        "max_abs_error",
    )
    __slots__ = ("total",)

    def __init__(self, rows: Iterable[Mapping[str, Any]] = (), total: Mapping[str, Any] | None = None) -> None:
        super().__init__(rows)
        #: The whole archive: ``n_weights``, ``n_bytes`` (file size), ``bits_per_weight``,
        #: ``mse`` over all weights, ``relative_error``, ``max_abs_error``, ``source_bytes``
        #: and ``compression_ratio`` (source bytes / archive bytes).
        self.total: dict[str, Any] = dict(total or {})

    def to_text(self, columns: Sequence[str] | None = None, floatfmt: str = ".4g") -> str:
        text = super().to_text(columns, floatfmt)
        t = self.total
        if not t:
            return text
        return text + (
            f"\ntotal: {t['n_weights']:,} weights in {t['n_bytes']:,} bytes = {t['bits_per_weight']:.4f} bits/weight, "
            f"mse {_fmt(t.get('mse'))}, relative error {_fmt(t.get('relative_error'))}, "
            f"max error {_fmt(t.get('max_abs_error'))}, {t['compression_ratio']:.2f}x smaller than the source "
            f"({t['source_bytes']:,} bytes)"
        )


def _fmt(v: Any) -> str:
    return "n/a" if v is None else f"{v:.4g}"


def _row(meta: dict[str, Any], n_bytes: int) -> dict[str, Any]:
    n = math.prod(meta["shape"])
    st = meta.get("stats") or {}
    return {
        "name": meta["name"],
        "shape": "x".join(str(s) for s in meta["shape"]) or "()",
        "dtype": meta["dtype"],
        "scheme": meta["scheme"],
        "entropy": meta["entropy"],
        "n_weights": n,
        "n_bytes": n_bytes,
        "bits_per_weight": 8.0 * n_bytes / n if n else 0.0,
        "mse": st.get("mse"),
        "relative_error": st.get("relative_error"),
        "max_abs_error": st.get("max_abs_error"),
    }


def _total(
    rows: list[dict[str, Any]], metas: list[dict[str, Any]], file_bytes: int, source_bytes: int
) -> dict[str, Any]:
    n = sum(r["n_weights"] for r in rows)
    stats = [m.get("stats") or {} for m in metas]
    known = all("mse" in st and "sum_squares" in st for st in stats)
    sse = sum(st["mse"] * math.prod(m["shape"]) for st, m in zip(stats, metas)) if known else None
    norm2 = sum(st["sum_squares"] for st in stats) if known else None
    maxes = [r["max_abs_error"] for r in rows if r["max_abs_error"] is not None]
    return {
        "n_weights": n,
        "n_bytes": file_bytes,
        "bits_per_weight": 8.0 * file_bytes / n if n else 0.0,
        "mse": None if sse is None or not n else sse / n,
        "relative_error": None if sse is None or not norm2 else math.sqrt(sse / norm2),
        "max_abs_error": max(maxes) if maxes else None,
        "source_bytes": source_bytes,
        "compression_ratio": source_bytes / file_bytes if file_bytes else 0.0,
    }


# ---------------------------------------------------------------------------- the model
@dataclass
class _Done:
    enc: EncodedTensor | None  # None once written to a file
    meta: dict[str, Any]
    n_bytes: int


class QuantizedModel:
    """The result of ``quantize_model``: tensors as they are (or were) written.

    Use ``save`` to write the archive (already written when ``out=`` was given),
    ``dequantize`` for the tensors back, ``report`` for the accounting.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from quantsig import weights
    >>> rng = np.random.default_rng(0)
    >>> model = {"fc.weight": (0.02 * rng.standard_normal((64, 64))).astype(np.float32),
    ...          "fc.bias": np.zeros(64, np.float32)}
    >>> qm = weights.quantize_model(model, method="uniform", bits=4)
    >>> qm.names
    ['fc.weight', 'fc.bias']
    >>> qm.report()["scheme"].tolist()            # the bias is small and 1-D: kept exact
    ['uniform:4:g32', 'exact']
    >>> bool(qm.n_bytes < 0.25 * 16640), qm.bits_per_weight == 8 * qm.n_bytes / 4160   # vs 16,640 bytes of float32
    (True, True)
    >>> back = qm.dequantize()
    >>> back["fc.weight"].dtype, bool(np.abs(back["fc.weight"] - model["fc.weight"]).max() < 0.01)
    (dtype('float32'), True)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = qm.save(os.path.join(d, "model.qsg"))
    ...     print(os.path.getsize(path) == qm.n_bytes, sorted(weights.load_model(path)) == sorted(qm.names))
    True True
    """

    def __init__(self, done: list[_Done], source_bytes: int, metadata: dict[str, Any], path: str | None) -> None:
        self._done = done
        self.source_bytes = source_bytes
        self.metadata = metadata
        #: The archive file, when ``out=`` was given or after ``save``.
        self.path = path

    @property
    def names(self) -> list[str]:
        """The tensors' names, in the order they are stored."""
        return [d.meta["name"] for d in self._done]

    @property
    def n_bytes(self) -> int:
        """Size of the archive in bytes."""
        if self.path is not None and all(d.enc is None for d in self._done):
            return os.path.getsize(self.path)
        return (
            len(_archive_head(self.metadata, self.source_bytes))
            + sum(d.n_bytes for d in self._done)
            + _c._INDEX_HEAD.size
            + 4
            + _c._TRAILER.size
        )

    @property
    def bits_per_weight(self) -> float:
        """Bits per weight of the whole archive (every byte counted, over every weight)."""
        return self.report().total["bits_per_weight"]

    def report(self) -> WeightsReport:
        """Per-tensor and total accounting (see ``WeightsReport``)."""
        metas = [d.meta for d in self._done]
        rows = [_row(d.meta, d.n_bytes) for d in self._done]
        return WeightsReport(rows, _total(rows, metas, self.n_bytes, self.source_bytes))

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> str:
        """Write the archive to ``path`` (atomically: a temporary file renamed at the end).

        Raises
        ------
        FileExistsError
            If ``path`` exists and ``overwrite`` is False.
        """
        path = os.fspath(path)
        if os.path.exists(path) and not overwrite:
            raise FileExistsError(17, "File exists (pass overwrite=True to replace it)", path)
        if any(d.enc is None for d in self._done):
            assert self.path is not None
            if os.path.abspath(path) != os.path.abspath(self.path):
                shutil.copyfile(self.path, path)
            return path
        with _atomic(path) as f:
            w = ArchiveWriter(f.write, self.metadata, self.source_bytes)
            for d in self._done:
                assert d.enc is not None
                w.add(d.enc)
            w.close()
        self.path = path
        return path

    def dequantize(self, as_: str = "numpy") -> dict[str, Any]:
        """Every tensor, dequantized (see ``load_model`` for ``as_`` and dtypes)."""
        if any(d.enc is None for d in self._done):
            assert self.path is not None
            return load_model(self.path, as_=as_)
        out = {}
        for d in self._done:
            assert d.enc is not None
            payloads = [(k, n, memoryview(p)) for k, n, p in d.enc.frames[1:]]
            out[d.meta["name"]] = _convert(decode_tensor(d.meta, payloads), d.meta["dtype"], as_)
        return out

    def __repr__(self) -> str:
        t = self.report().total
        return f"<QuantizedModel: {len(self._done)} tensors, {t['n_weights']:,} weights, {t['bits_per_weight']:.3f} bits/weight>"


def _archive_head(metadata: dict[str, Any], source_bytes: int = 0) -> bytes:
    parts: list[bytes] = []
    ArchiveWriter(parts.append, metadata, source_bytes)
    return b"".join(parts)


@contextlib.contextmanager
def _atomic(path: str) -> Iterator[Any]:
    """A binary file written as ``path + '.*.tmp'`` and renamed over ``path`` on success
    (removed on failure)."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


# ---------------------------------------------------------------------------- choices
def _wants_quantizing(info: TensorInfo, skip: Sequence[str], min_size: int) -> bool:
    if info.dtype not in FLOAT_DTYPES or len(info.shape) < 2 or info.size < min_size:
        return False
    return not any(fnmatch.fnmatchcase(info.name, p) for p in skip)


def _explicit_scheme(
    method: str | None, bits: float | None, granularity: str | None, group_size: int | None, entropy: str | None
) -> Scheme:
    m = method or "uniform"
    g = granularity or DEFAULT_GRANULARITY[m]
    gs = group_size if group_size is not None else (DEFAULT_GROUP_SIZE.get(m, 64) if g == "group" else None)
    b: float = bits if bits is not None else 4
    return Scheme(m, b, g, gs, entropy)


def _candidates(
    budget: float,
    n: int,
    rows: int,
    cols: int,
    method: str | None,
    bits: float | None,
    granularity: str | None,
    group_size: int | None,
    entropy: str | None,
) -> list[Scheme]:
    """Schemes that may fit ``budget`` bits per weight (overheads included) for a
    ``rows x cols`` tensor, restricted by whatever knobs the user fixed."""
    eps = 8.0 * _TENSOR_OVERHEAD / n
    out: list[Scheme] = []

    def add(m: str, b: float, g: str, gs: int | None, e: str | None) -> None:
        if (
            method not in (None, m)
            or granularity not in (None, g)
            or (group_size is not None and g == "group" and gs != group_size)
        ):
            return
        if bits is not None and m != "ecsq" and b != bits:
            return
        if entropy is not None:
            if m == "ecsq" and entropy == "raw":
                return
            e = entropy
        with contextlib.suppress(ValueError):
            out.append(Scheme(m, b, g, gs, e))

    def groups(g: str, gs: int | None, per_group_bits: float) -> float:
        if g == "tensor":
            return 0.0
        width = cols if g == "channel" else min(gs or cols, cols)
        return per_group_bits / width

    # without knobs: the schemes that win on weight matrices (ECSQ nearly always; measured in
    # docs/weights.md), plus a fitted codebook and the GGUF-like grid as fallbacks
    free = method is None and bits is None and granularity is None and group_size is None
    # entropy-constrained scalar quantization: the best rate-distortion at any rate
    # (per group of 128 too: a float16 RMS per group follows scale changes along a row)
    for g, gs in (("tensor", None), ("channel", None), ("group", group_size or 128)):
        r = budget - eps - groups(g, gs, 16 if g == "group" else 32)
        if bits is not None and method == "ecsq":
            r = min(r, bits)
        if r > 0.05:
            add("ecsq", round(r, 4), g, gs, "rans")
    sizes = [group_size] if group_size is not None else ([32] if free else [32, 64, 128, 256])
    # fixed-rate grids with per-group scales (GGUF-like), raw or entropy-coded
    for gs in sizes:
        for m, scale_bits, lowest in (("uniform", 16, 2), ("uniform-asym", 32, 1), ("nf", 16, 1)):
            if free and m != "uniform":
                continue
            k = math.floor(budget - eps - groups("group", gs, scale_bits))
            for kb in (k, k + 1):  # k + 1 fits when entropy coding saves a bit
                if lowest <= kb <= 8:
                    add(m, kb, "group", gs, None)
    # fitted codebooks (Lloyd-Max per channel, k-means per tensor), raw or rANS
    for m, g in (("lloyd-max", "channel"), ("kmeans", "tensor")):
        if free and m == "kmeans":
            continue
        k = math.floor(budget - eps - groups(g, None, 32))
        for kb in (k, k + 1):
            if 1 <= kb <= 8:
                add(m, kb, g, None, None)
    if method is not None and bits is not None and not out:
        add(
            method,
            bits,
            granularity or DEFAULT_GRANULARITY[method],
            group_size if group_size is not None else DEFAULT_GROUP_SIZE.get(method),
            entropy,
        )
    return out


def _sse(w: np.ndarray, w_hat: np.ndarray) -> tuple[float, float, float]:
    """Squared error, squared norm of ``w`` and largest absolute error (one pass, float64)."""
    out = np.zeros(3)
    a, b = (
        np.ascontiguousarray(v, dtype=np.float32 if v.dtype == np.float16 else None).reshape(-1) for v in (w, w_hat)
    )
    _kg.error_stats(a, b, out)
    return float(out[0]), float(out[1]), float(out[2])


def _finish(enc: EncodedTensor, w: np.ndarray, w_hat: np.ndarray) -> EncodedTensor:
    """Attach the error figures to the tensor's meta frame (they are stored in the archive)."""
    sse, norm2, mx = _sse(w, w_hat)
    n = max(w.size, 1)
    enc.meta["stats"] = {
        "sum_squares": norm2,
        "mse": sse / n,
        "relative_error": math.sqrt(sse / norm2) if norm2 > 0 else (0.0 if sse == 0 else math.inf),
        "max_abs_error": mx,
    }
    from .schemes import _meta_bytes

    kind, nv, _ = enc.frames[0]
    enc.frames[0] = (kind, nv, _meta_bytes(enc.meta))
    return enc


#: Tensors larger than this are ranked on a sample of their rows before the winner is encoded whole.
_RANK_SAMPLE = 1 << 18


def _sample_rows(w: np.ndarray, weight: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Evenly spaced rows (whole rows, so channel and group statistics stay true) holding about
    ``_RANK_SAMPLE`` values; the same rows of ``weight``."""
    rows = w.shape[0]
    take = max(1, min(rows, -(-_RANK_SAMPLE * rows // w.size)))
    idx = np.linspace(0, rows - 1, take).round().astype(np.int64)
    return w[idx], None if weight is None else weight[idx]


def _fit_budget(
    info: TensorInfo, w: np.ndarray, scheme: Scheme, weight: np.ndarray | None, limit: float
) -> tuple[EncodedTensor, np.ndarray, int]:
    """Encode with ``scheme``; an ECSQ rate is then moved until the tensor's bytes come within
    0.01 bit per weight under ``limit`` (the overhead guess is only a guess, and the tables
    shrink with the rate): secant steps on (rate, bytes), at most four more encodings."""
    enc, w_hat = encode_tensor(info.name, w, info.dtype, scheme, weight)
    size = enc.n_bytes + 64  # room for the error figures added to the meta frame
    if scheme.method != "ecsq":
        return enc, w_hat, size
    fits = (scheme.bits, size, enc, w_hat) if size <= limit else None
    over = None if size <= limit else (scheme.bits, size)
    r = scheme.bits
    for _ in range(4):
        slack = limit - size
        if 0 <= slack <= 0.01 * w.size / 8:
            break
        if fits is not None and over is not None:
            (r0, s0, *_), (r1, s1) = fits, over
            r = r0 + (r1 - r0) * (limit - s0) / max(s1 - s0, 1e-9) - 0.001
            if not r0 < r < r1:
                break
        else:
            r = r + 8.0 * slack / w.size - (0.002 if slack < 0 else 0.0)
        if r <= 0.05 or r > 16:
            break
        trial = dataclasses.replace(scheme, bits=round(r, 4))
        enc, w_hat = encode_tensor(info.name, w, info.dtype, trial, weight)
        size = enc.n_bytes + 64
        if size <= limit:
            if fits is None or r > fits[0]:
                fits = (r, size, enc, w_hat)
        elif over is None or r < over[0]:
            over = (r, size)
    if fits is None:
        return enc, w_hat, size
    return fits[2], fits[3], fits[1]


def _quantize_one(
    info: TensorInfo, w: np.ndarray, budget: float | None, knobs: dict[str, Any], weight: np.ndarray | None
) -> EncodedTensor:
    """The best scheme for one tensor: least squared error within the budget.

    Large tensors rank the candidate schemes on a sample of rows (squared error per weight,
    among those whose sampled size fits), then encode whole, best first, until one fits.
    """
    if budget is None:
        scheme = _explicit_scheme(**knobs)
        enc, w_hat = encode_tensor(info.name, w, info.dtype, scheme, weight)
        return _finish(enc, w, w_hat)
    rows = info.shape[0]
    cols = info.size // rows
    limit = budget * info.size / 8.0
    schemes = _candidates(budget, info.size, rows, cols, **knobs)
    if not schemes:
        raise ValueError(f"no scheme fits {budget:.3f} bits per weight for tensor {info.name!r} with the given knobs")
    fallback: int | None = None
    if len(schemes) > 1 and info.size > 2 * _RANK_SAMPLE and w.ndim >= 2:
        ws, wts = _sample_rows(w, weight)
        sub = TensorInfo(info.name, ws.shape, info.dtype)
        # the sample pays the per-tensor overhead on fewer weights: judge it by the payload only
        sub_limit = budget * ws.size / 8.0 + (_TENSOR_OVERHEAD + 64)
        ranked = []
        for i, scheme in enumerate(schemes):
            _, ws_hat, size = _fit_budget(sub, ws, scheme, wts, sub_limit)
            ranked.append((size > sub_limit, _sse(ws, ws_hat)[0], i))
        for _, _, i in sorted(ranked):  # best first; the first that fits whole wins
            enc, w_hat, size = _fit_budget(info, w, schemes[i], weight, limit)
            if size <= limit:
                return _finish(enc, w, w_hat)
            fallback = size if fallback is None else min(fallback, size)
    else:
        best: tuple[float, EncodedTensor, np.ndarray] | None = None
        for scheme in schemes:
            enc, w_hat, size = _fit_budget(info, w, scheme, weight, limit)
            if size > limit:
                fallback = size if fallback is None else min(fallback, size)
                continue
            sse = _sse(w, w_hat)[0]
            if best is None or sse < best[0]:
                best = (sse, enc, w_hat)
        if best is not None:
            return _finish(best[1], w, best[2])
    assert fallback is not None
    raise ValueError(
        f"tensor {info.name!r} ({info.size} weights) cannot be stored in {budget:.3f} bits per weight with the "
        f"given knobs: the smallest scheme tried takes {8.0 * fallback / info.size:.3f}"
    )


# ---------------------------------------------------------------------------- entry points
def quantize_model(
    source: Any,
    bits_per_weight: float | None = None,
    method: str | None = None,
    bits: float | None = None,
    granularity: str | None = None,
    group_size: int | None = None,
    skip: Sequence[str] | str = (),
    entropy: str | None = None,
    *,
    importance: Mapping[str, Any] | None = None,
    allocation: str = "tensor",
    min_size: int = DEFAULT_MIN_SIZE,
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    n_jobs: int = 1,
    progress: Any = False,
    metadata: dict[str, Any] | None = None,
) -> QuantizedModel:
    """Quantize a model's weight matrices with quantsig's quantizers.

    The headline knob is ``bits_per_weight``: a budget on *everything written* (codes,
    scales, offsets, codebooks, entropy tables, headers, index, and the tensors kept exact),
    which the result meets while each tensor takes the scheme of least squared error that
    fits its share. The explicit knobs (``method``, ``bits``, ``granularity``,
    ``group_size``, ``entropy``) restrict that choice, or, without a budget, fix the scheme.

    Parameters
    ----------
    source : path, mapping or torch module
        A ``.safetensors`` file (read lazily, one tensor at a time), an ``.npz`` file, a
        PyTorch checkpoint (``.pt``/``.pth``/``.bin``), a state dict or a dict of NumPy
        arrays. float32, float16 and bfloat16 (and float64) tensors are quantized.
    bits_per_weight : float, optional
        The budget, bits per weight over the whole archive.
    method : {"uniform", "uniform-asym", "nf", "lloyd-max", "kmeans", "ecsq"}, optional
        See ``quantsig.weights.schemes``. Default without a budget: ``"uniform"``.
    bits : float, optional
        Bits per code (the target rate for ``"ecsq"``). Default without a budget: 4.
    granularity : {"tensor", "channel", "group"}, optional
        What shares a scale; the default depends on the method (group for the GGUF-like
        grids and NF, channel for Lloyd-Max and ECSQ, tensor for k-means).
    group_size : int, optional
        Values per group along a row (default 32 for the uniform grids, 64 for NF).
    skip : sequence of str
        ``fnmatch`` patterns of tensor names to keep exact. Besides these, tensors that are
        not floating point, have fewer than 2 dimensions (biases, norms) or fewer than
        ``min_size`` values are kept exact.
    entropy : {"rans", "raw"}, optional
        rANS coding of the codes or fixed-rate packing; default: whichever is smaller.
    importance : mapping of name -> array, optional
        Non-negative weights of the same shape as a tensor (e.g. squared activations or a
        Fisher diagonal): the fitted codebooks (``lloyd-max``, ``kmeans``, ``ecsq``) minimise
        the importance-weighted error.
    allocation : {"tensor", "weight"}
        How a budget is shared between tensors: ``"tensor"`` (default) so that each tensor
        contributes equally to the model's relative error (large tensors such as embedding
        tables get fewer bits per weight), ``"weight"`` so that every weight gets the same
        bits (least squared error summed over all weights). See ``_tensor_budgets``.
    min_size : int
        Smallest tensor (values) that is quantized.
    out : path, optional
        Write the archive there while quantizing (memory then holds a few tensors, never the
        model). Without it the encoded tensors stay in memory until ``QuantizedModel.save``.
    overwrite : bool
        Allow ``out`` to replace an existing file.
    n_jobs : int
        Tensors quantized at once (threads; the kernels release the GIL).
    progress : bool or object with ``update(n)``
        A progress bar over the weights (True: on stderr when it is a terminal).
    metadata : dict, optional
        JSON metadata stored in the archive header.

    Returns
    -------
    QuantizedModel

    Raises
    ------
    ValueError
        Conflicting or invalid knobs, or a budget too small for some tensor.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig import weights
    >>> rng = np.random.default_rng(0)
    >>> model = {"fc.weight": rng.standard_normal((256, 512)).astype(np.float32) * 0.02,
    ...          "fc.bias": np.zeros(256, np.float32)}
    >>> qm = weights.quantize_model(model, method="uniform", bits=4, group_size=32, entropy="raw")
    >>> row = qm.report()[0]
    >>> row["scheme"], round(row["bits_per_weight"], 2)          # 4 bits + a float16 per 32
    ('uniform:4:g32', 4.55)
    >>> qm = weights.quantize_model(model, bits_per_weight=4.5)
    >>> bool(qm.bits_per_weight <= 4.5)
    True
    """
    knobs = _check_knobs(bits_per_weight, method, bits, granularity, group_size, entropy)
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation={allocation!r} should be 'tensor' or 'weight'")
    if isinstance(skip, str):
        skip = [skip]
    if not isinstance(skip, Iterable) or not all(isinstance(p, str) for p in list(skip)):
        raise TypeError(f"skip must be a pattern or a sequence of fnmatch patterns (str), got {skip!r}")
    skip = list(skip)
    min_size = check_int(min_size, "min_size", low=1)
    jobs = check_int(n_jobs, "n_jobs", low=1)
    meta_doc = dict(metadata or {})
    src = open_source(source)
    try:
        infos = src.infos()
        plan = [(info, _wants_quantizing(info, skip, min_size)) for info in infos]
        if importance is not None:
            unknown = set(importance) - {i.name for i in infos}
            if unknown:
                raise ValueError(f"importance names tensors not in the model: {sorted(unknown)[:5]}")
        source_bytes = src.file_size if src.file_size is not None else sum(i.nbytes for i in infos)
        budgets = None
        if bits_per_weight is not None:
            budgets = _tensor_budgets(bits_per_weight, plan, meta_doc, source_bytes, allocation)
        out_path = None if out is None else os.fspath(out)
        if out_path is not None and os.path.exists(out_path) and not overwrite:
            raise FileExistsError(17, "File exists (pass overwrite=True to replace it)", out_path)
        total_weights = sum(i.size for i in infos)
        bar = make_progress(progress, total_weights, "weights", unit="weights")
        try:
            done = _run(src, plan, budgets, knobs, importance, jobs, out_path, meta_doc, source_bytes, bar)
        finally:
            if bar is not None and progress is True:
                bar.close()
        return QuantizedModel(done, source_bytes, meta_doc, out_path)
    finally:
        if not isinstance(source, TensorSource):
            src.close()


def _check_knobs(
    bits_per_weight: Any, method: Any, bits: Any, granularity: Any, group_size: Any, entropy: Any
) -> dict[str, Any]:
    if bits_per_weight is not None:
        bits_per_weight = check_real(bits_per_weight, "bits_per_weight", low=0.0, high=64.0, low_open=True)
    if method is not None and method not in METHODS:
        raise ValueError(f"method={method!r} should be one of {', '.join(METHODS)}")
    if granularity is not None and granularity not in GRANULARITIES:
        raise ValueError(f"granularity={granularity!r} should be one of {', '.join(GRANULARITIES)}")
    if entropy is not None and entropy not in ENTROPIES:
        raise ValueError(f"entropy={entropy!r} should be 'rans', 'raw' or None")
    if group_size is not None:
        group_size = check_int(group_size, "group_size", low=1)
        if granularity not in (None, "group"):
            raise ValueError(f"group_size applies to granularity='group', not {granularity!r}")
        granularity = "group"
    if bits is not None:
        bits = check_real(bits, "bits", low=0.0, high=16.0, low_open=True)
    if bits_per_weight is None and method is None and bits is None:
        raise ValueError("give bits_per_weight= (a budget), or method= and/or bits= (a fixed scheme)")
    if bits_per_weight is None:
        _explicit_scheme(method, bits, granularity, group_size, entropy)  # validates the combination now
    return {"method": method, "bits": bits, "granularity": granularity, "group_size": group_size, "entropy": entropy}


ALLOCATIONS = ("tensor", "weight")


def _tensor_budgets(
    bits_per_weight: float,
    plan: list[tuple[TensorInfo, bool]],
    metadata: dict[str, Any],
    source_bytes: int,
    allocation: str = "tensor",
) -> dict[str, float]:
    """Bits per weight each quantized tensor may take (its own overheads included) so that
    the whole archive meets the budget.

    Each tensor's fixed cost (meta frame, codes header, tables: about
    ``_TENSOR_OVERHEAD`` bytes) is paid from the total, so a small tensor is not starved.
    The payload is then shared out:

    * ``"weight"``: every weight gets the same payload bits, which (at high rate) minimises
      the squared error summed over all weights;
    * ``"tensor"``: tensor ``t`` of ``n_t`` weights gets ``P - 1/2 log2(n_t)`` bits, which
      minimises the sum over tensors of their *relative* squared errors
      ``||W_t - Q(W_t)||**2 / ||W_t||**2``: each tensor contributes equally to the model's
      error, as each layer adds its error to the network's activations once however many weights
      it has (Lagrangian allocation with ``D_t ~ 2**(-2 R_t)``: ``D_t`` proportional to
      ``n_t``). A huge embedding table then gets fewer bits per weight than the attention and
      MLP matrices: on all-MiniLM-L6-v2 at 3.0 bits per weight it lifts the mean embedding
      cosine from 0.912 to about 0.96 (docs/weights.md). Payloads are kept within
      [1, 16] bits and the rest re-shared.
    """
    n_total = sum(i.size for i, _ in plan)
    quantized = [i for i, q in plan if q]
    n_quant = sum(i.size for i in quantized)
    if n_total == 0:
        raise ValueError("the model holds no weights")
    fixed = len(_archive_head(metadata, source_bytes)) + _ARCHIVE_OVERHEAD + _TENSOR_OVERHEAD * len(quantized)
    for info, q in plan:
        if not q:
            fixed += _exact_cost(info)
    bits = bits_per_weight * n_total - 8.0 * fixed  # payload bits for the quantized weights
    if n_quant and bits / n_quant < 1.0:
        raise ValueError(
            f"bits_per_weight={bits_per_weight} leaves {bits / n_quant:.3f} bits per quantized weight once the "
            f"{n_total - n_quant} exact weights and the headers are paid for; raise the budget or skip fewer tensors"
        )
    offset = {i.name: 0.0 if allocation == "weight" else -0.5 * math.log2(i.size) for i in quantized}
    payload = _water_fill(bits, {i.name: i.size for i in quantized}, offset, low=1.0, high=16.0)
    return {i.name: payload[i.name] + 8.0 * _TENSOR_OVERHEAD / i.size for i in quantized}


def _water_fill(
    bits: float, sizes: dict[str, int], offset: dict[str, float], low: float, high: float
) -> dict[str, float]:
    """Payloads ``P + offset[t]`` clipped to ``[low, high]`` with ``sum(sizes[t] * payload[t]) == bits``
    (``P`` by bisection: the sum grows with ``P``)."""
    if not sizes:
        return {}

    def at(p: float) -> dict[str, float]:
        return {t: min(max(p + offset[t], low), high) for t in sizes}

    def spent(p: float) -> float:
        return sum(sizes[t] * v for t, v in at(p).items())

    lo = low - max(offset.values())
    hi = high - min(offset.values())
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if spent(mid) > bits:
            hi = mid
        else:
            lo = mid
    return at(lo)


def _exact_cost(info: TensorInfo) -> int:
    """Bytes a tensor kept exact adds to an archive: data, meta frame (with the longest
    statistics), two frames' overheads."""
    from .schemes import _FRAME_OVERHEAD, _meta_bytes

    x = -1.2345678901234567e-300
    meta = {
        "name": info.name,
        "shape": list(info.shape),
        "dtype": info.dtype,
        "stored": "exact",
        "scheme": "exact",
        "entropy": "-",
        "stats": {"sum_squares": x, "mse": x, "relative_error": x, "max_abs_error": x},
    }
    return info.nbytes + len(_meta_bytes(meta)) + 2 * _FRAME_OVERHEAD


def _run(
    src: TensorSource,
    plan: list[tuple[TensorInfo, bool]],
    budgets: dict[str, float] | None,
    knobs: dict[str, Any],
    importance: Mapping[str, Any] | None,
    jobs: int,
    out_path: str | None,
    metadata: dict[str, Any],
    source_bytes: int,
    bar: Any,
) -> list[_Done]:
    lock = threading.Lock()

    def work(item: tuple[TensorInfo, bool]) -> EncodedTensor:
        info, quantize = item
        with lock:  # sources need not be thread-safe (an .npz is one zip file)
            w = src.load(info.name)
        if not quantize:
            return encode_exact(info.name, w, info.dtype)
        bad = w.size - int(np.count_nonzero(np.isfinite(w)))
        if bad:
            raise ValueError(
                f"tensor {info.name!r} holds {bad} NaN or Inf value(s); quantizing needs finite weights "
                "(or keep it exact with skip=)"
            )
        weight = None
        if importance is not None and info.name in importance:
            weight = _importance(importance[info.name], info.name, w.shape)
        return _quantize_one(info, w, None if budgets is None else budgets[info.name], knobs, weight)

    done: list[_Done] = []
    with _atomic(out_path) if out_path is not None else contextlib.nullcontext() as f:
        writer = ArchiveWriter(f.write, metadata, source_bytes) if f is not None else None

        def keep(item: tuple[TensorInfo, bool], enc: EncodedTensor) -> None:
            d = _Done(enc, enc.meta, enc.n_bytes)
            if writer is not None:
                writer.add(enc)
                d.enc = None  # on disk now: let it go
            done.append(d)
            if bar is not None:
                bar.update(item[0].size)

        if jobs == 1:
            for item in plan:
                keep(item, work(item))
        else:
            with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="quantsig-weights") as pool:
                pending: deque[tuple[tuple[TensorInfo, bool], Future[Any]]] = deque()
                for item in plan:
                    pending.append((item, pool.submit(work, item)))
                    if len(pending) >= 2 * jobs:  # bounded look-ahead: memory stays a few tensors
                        it, fut = pending.popleft()
                        keep(it, fut.result())
                while pending:
                    it, fut = pending.popleft()
                    keep(it, fut.result())
        if writer is not None:
            writer.close()
    return done


def _importance(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Importance weights of a tensor: its shape, finite, non-negative, not all zero."""
    arr = np.asarray(value)
    if arr.shape != shape:
        raise ValueError(f"importance[{name!r}] has shape {arr.shape}, the tensor {shape}")
    try:
        w = as_sample_weight(arr, arr.size)
    except (TypeError, ValueError) as e:
        raise type(e)(f"importance[{name!r}]: {e}") from None
    assert w is not None
    return w.reshape(shape)


def _convert(arr: np.ndarray | QuantizedTensor, dtype: str, as_: str) -> Any:
    if as_ == "numpy" or isinstance(arr, QuantizedTensor):
        return arr
    import torch

    t = torch.from_numpy(np.ascontiguousarray(arr))
    return t.to(torch.bfloat16) if dtype == "bfloat16" else t


def load_model(
    path: str | os.PathLike[str],
    as_: str = "numpy",
    *,
    dequantize: bool = True,
    names: Iterable[str] | None = None,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
) -> dict[str, Any]:
    """Read a weights archive: ``{name: tensor}`` in the order they were written.

    Parameters
    ----------
    path : path
        A ``.qsg`` weights archive (from ``QuantizedModel.save`` or ``out=``).
    as_ : {"numpy", "torch"}
        NumPy arrays (bfloat16 tensors come back as float32, NumPy having no bfloat16) or
        torch tensors (in their original dtype, bfloat16 included).
    dequantize : bool
        False gives ``QuantizedTensor`` objects (codes,
        scales, offsets, the quantizer and its codebook) for quantized tensors.
    names : iterable of str, optional
        Only these tensors (each read on its own; the others are never touched).
    max_output_bytes : int
        Refuse a tensor claiming more decoded bytes than this.

    Returns
    -------
    dict
        ``{name: tensor}``: arrays (or torch tensors) of the original shapes, or
        ``QuantizedTensor`` objects for quantized tensors with ``dequantize=False``.

    Raises
    ------
    CorruptFileError
        A damaged, truncated or forged archive (the message names the tensor).
    KeyError
        A name not in the archive.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from quantsig import weights
    >>> rng = np.random.default_rng(0)
    >>> model = {"fc.weight": (0.02 * rng.standard_normal((64, 64))).astype(np.float32),
    ...          "fc.bias": np.zeros(64, np.float32)}
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "model.qsg")
    ...     _ = weights.quantize_model(model, method="uniform", bits=4, out=path)
    ...     tensors = weights.load_model(path)
    ...     stored = weights.load_model(path, names=["fc.weight"], dequantize=False)
    >>> [(name, t.shape, str(t.dtype)) for name, t in tensors.items()]
    [('fc.weight', (64, 64), 'float32'), ('fc.bias', (64,), 'float32')]
    >>> bool(np.abs(tensors["fc.weight"] - model["fc.weight"]).max() < 0.01)   # weights ~ 0.02 N(0, 1)
    True
    >>> np.array_equal(tensors["fc.bias"], model["fc.bias"])                   # kept exact
    True
    >>> qt = stored["fc.weight"]                  # 4-bit codes and a scale per group of 32
    >>> qt.codes.shape, int(qt.codes.max()) < 16, qt.scales.shape
    ((64, 64), True, (64, 2))
    >>> np.array_equal(qt.dequantize(), tensors["fc.weight"])
    True
    """
    if as_ not in ("numpy", "torch"):
        raise ValueError(f"as_={as_!r} should be 'numpy' or 'torch'")
    if as_ == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise ImportError("load_model(as_='torch') needs PyTorch: pip install torch") from None
    with ArchiveReader(path) as r:
        wanted = list(r.names()) if names is None else list(names)
        missing = [n for n in wanted if n not in r]
        if missing:
            raise KeyError(f"not in the archive: {missing[:5]}")
        out = {}
        for name in wanted:
            meta = r.entries[name].meta
            t = decode_tensor(meta, r.payloads(name), dequantize=dequantize, max_output_bytes=max_output_bytes)
            out[name] = _convert(t, meta["dtype"], as_)
        return out


def report(path: str | os.PathLike[str]) -> WeightsReport:
    """The accounting of an existing archive (errors as measured when it was written).

    Only the tensors' descriptions are read, not their data.

    Parameters
    ----------
    path : path
        A ``.qsg`` weights archive.

    Returns
    -------
    WeightsReport

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from quantsig import weights
    >>> rng = np.random.default_rng(0)
    >>> model = {"fc.weight": (0.02 * rng.standard_normal((64, 64))).astype(np.float32),
    ...          "fc.bias": np.zeros(64, np.float32)}
    >>> qm = weights.quantize_model(model, method="nf", bits=4)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     rep = weights.report(qm.save(os.path.join(d, "model.qsg")))
    >>> rep.labels(), rep["scheme"].tolist()
    (['fc.weight', 'fc.bias'], ['nf:4:g64', 'exact'])
    >>> rep.total["n_bytes"] == qm.n_bytes, rep[0]["mse"] == qm.report()[0]["mse"]
    (True, True)
    """
    with ArchiveReader(path) as r:
        return report_of(r)


def report_of(r: ArchiveReader) -> WeightsReport:
    """The accounting of an open archive."""
    metas = [e.meta for e in r.entries.values()]
    rows = [_row(e.meta, e.n_bytes) for e in r.entries.values()]
    return WeightsReport(rows, _total(rows, metas, r.file_size, r.source_bytes))
