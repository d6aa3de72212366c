"""One tensor through one scheme: group scales, a library quantizer, and the codes written.

A *scheme* says how a weight matrix is quantized:

* ``granularity`` cuts the matrix (2-D: ``rows = shape[0]``, ``cols`` = the rest) into groups
  that share a scale: the whole tensor, each row (output channel) or runs of ``group_size``
  values along each row.
* ``method`` says what the scale is and which quantizer of the library codes the normalised
  values ``u = (w - offset) / scale``:

  ================  ===========================================  ==============================
  method            scale (per group)                             quantizer on ``u``
  ================  ===========================================  ==============================
  ``uniform``       least-squares scale of the signed grid        ``UniformQuantizer(bits,
                    (GGUF Q4_0/Q8_0 style, searched)              step=1, clip=True)``
  ``uniform-asym``  scale and offset (GGUF Q4_1 style,            ``UniformQuantizer(bits,
                    least-squares refit)                          lo=0, hi=2**bits-1)``
  ``nf``            absolute maximum (NF4's normalisation)        Lloyd-Max levels of the normal
                                                                  law scaled to [-1, 1]
  ``lloyd-max``     root mean square                              ``LloydMaxQuantizer(2**bits)``
                                                                  fitted to ``u``
  ``kmeans``        none (tensor) / RMS                           ``LloydMaxQuantizer`` fitted:
                                                                  exact 1-D k-means, weight
                                                                  sharing as Deep Compression
  ``ecsq``          root mean square                              ``ECSQuantizer(rate=bits)``
  ================  ===========================================  ==============================

* ``entropy`` codes the quantizer's codes with rANS or packs them at fixed rate.

The codes go into an ordinary ``.qsg`` array file (``quantsig.Codec.write_codes``) of
``u``'s shape, so the file holds the quantizer's full config and decodes with the codec's own
checks; the scales (and offsets) are stored beside it as raw little-endian arrays.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import container as _c
from ..codec import DEFAULT_MAX_OUTPUT_BYTES, Codec, decode_codes
from ..errors import CorruptFileError
from ..kernels import groups as _k
from ..quantizers.base import Quantizer
from .sources import FLOAT_DTYPES

__all__ = ["Scheme", "EncodedTensor", "QuantizedTensor", "encode_tensor", "decode_tensor", "METHODS", "GRANULARITIES"]

METHODS = ("uniform", "uniform-asym", "nf", "lloyd-max", "kmeans", "ecsq")
GRANULARITIES = ("tensor", "channel", "group")
ENTROPIES = ("rans", "raw")
#: Default granularity of each method (group size 32/64 where grouped, as GGUF and NF4).
DEFAULT_GRANULARITY = {
    "uniform": "group",
    "uniform-asym": "group",
    "nf": "group",
    "lloyd-max": "channel",
    "kmeans": "tensor",
    "ecsq": "channel",
}
DEFAULT_GROUP_SIZE = {"uniform": 32, "uniform-asym": 32, "nf": 64}
#: Codes per frame of the codes file: one frequency table per million codes.
CODE_FRAME = 1 << 20
#: Candidate offsets of the symmetric scale search (``iscale = (qmax + d) / absmax``).
#: Two offsets and both signs: 0.91x GGUF Q4_0's MSE on Gaussian weights at 4 bits, where
#: six offsets gain only 2 % more for three times the time (measured).
_DELTAS = np.array([0.0, 0.5], dtype=np.float64)
_MAX_META = 1 << 20


@dataclass(frozen=True)
class Scheme:
    """How one tensor is quantized (see the module docstring).

    Parameters
    ----------
    method : {"uniform", "uniform-asym", "nf", "lloyd-max", "kmeans", "ecsq"}
        The scale and the quantizer of the normalised values.
    bits : float
        Bits per code: an integer from 1 to 16 (2 at least for ``"uniform"``), or the
        target rate in (0, 16] for ``"ecsq"``.
    granularity : {"tensor", "channel", "group"}
        What shares a scale.
    group_size : int, optional
        Values per group along a row (``granularity="group"`` only; required there).
    entropy : {"rans", "raw"}, optional
        How the codes are written; None: whichever is smaller (``"ecsq"`` needs rANS).

    Raises
    ------
    ValueError, TypeError
        An unknown method or granularity, or bits the method cannot take.

    Examples
    --------
    >>> from quantsig.weights import Scheme
    >>> Scheme("uniform", 4, "group", group_size=32).label     # GGUF Q4_0-like
    'uniform:4:g32'
    >>> Scheme("ecsq", 2.5, "channel", entropy="rans").label
    'ecsq:2.5:channel'
    >>> Scheme("uniform", 1, "tensor")
    Traceback (most recent call last):
    ...
    ValueError: method='uniform' needs bits >= 2 (a signed grid); use 'uniform-asym' for 1 bit
    """

    method: str
    bits: float
    granularity: str
    group_size: int | None = None
    entropy: str | None = None  # None: whichever of rans/raw is smaller

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method={self.method!r} should be one of {', '.join(METHODS)}")
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"granularity={self.granularity!r} should be one of {', '.join(GRANULARITIES)}")
        if self.entropy is not None and self.entropy not in ENTROPIES:
            raise ValueError(f"entropy={self.entropy!r} should be 'rans', 'raw' or None (the smaller)")
        b = self.bits
        if isinstance(b, bool) or not isinstance(b, (int, float)) or not math.isfinite(b):
            raise TypeError(f"bits must be a number, got {b!r}")
        if self.method == "ecsq":
            if not 0 < b <= 16:
                raise ValueError(f"bits={b} (the ECSQ rate) should be in (0, 16]")
        elif b != int(b) or not 1 <= b <= 16 or (self.method in ("nf", "lloyd-max", "kmeans") and b < 1):
            raise ValueError(f"bits={b} should be an integer from 1 to 16 for method={self.method!r}")
        if self.method == "uniform" and b < 2:
            raise ValueError("method='uniform' needs bits >= 2 (a signed grid); use 'uniform-asym' for 1 bit")
        if self.granularity == "group":
            gs = self.group_size
            if isinstance(gs, bool) or not isinstance(gs, int) or gs < 1:
                raise ValueError(f"granularity='group' needs a positive integer group_size, got {gs!r}")
        if self.method == "ecsq" and self.entropy == "raw":
            raise ValueError("method='ecsq' designs for an entropy coder: use entropy='rans'")

    @property
    def label(self) -> str:
        """Short name ``"method:bits:granularity"`` (``g<size>`` for groups), as in reports."""
        g = {"tensor": "tensor", "channel": "channel", "group": f"g{self.group_size}"}[self.granularity]
        b = f"{self.bits:g}"
        return f"{self.method}:{b}:{g}"


@dataclass
class EncodedTensor:
    """A tensor as written: its meta document (``meta["scheme"]``, ``meta["entropy"]``, and
    ``meta["stats"]`` once measured) and its frames ``(kind, n_values, payload)``.

    The first frame is the meta document (kind ``FrameKind.META``), then raw frames: the
    scales, the offsets (when the method has them) and the codes as a ``.qsg`` array file;
    or, for a tensor kept exact, its bytes. ``ArchiveWriter.add`` writes them.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.weights.schemes import Scheme, encode_tensor
    >>> w = np.linspace(-1, 1, 512, dtype=np.float32).reshape(8, 64)
    >>> enc, _ = encode_tensor("fc.weight", w, "float32", Scheme("uniform-asym", 4, "group", 32, "raw"))
    >>> enc.name, enc.shape, enc.meta["scheme"], enc.meta["entropy"]
    ('fc.weight', (8, 64), 'uniform-asym:4:g32', 'raw')
    >>> [(kind, n) for kind, n, _ in enc.frames]    # meta; 16 scales, 16 offsets, 512 codes
    [(3, 0), (0, 16), (0, 16), (0, 512)]
    >>> enc.n_bytes > sum(len(payload) for _, _, payload in enc.frames)   # + frame heads, CRCs, index
    True
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    meta: dict[str, Any]
    frames: list[tuple[int, int, bytes]]

    @property
    def n_bytes(self) -> int:
        """Bytes this tensor adds to an archive: frames (head, payload, CRC) and index entries."""
        return sum(_FRAME_OVERHEAD + len(p) for _, _, p in self.frames)


# frame head + CRC + index entry
_FRAME_OVERHEAD = _c._FRAME_HEAD.size + _c._CRC.size + _c._INDEX_ENTRY.size


@dataclass
class QuantizedTensor:
    """The stored form of a quantized tensor, for custom kernels: ``codes`` of shape
    ``(rows, cols)``, per-group ``scales`` (and ``offsets``) of shape ``(rows, n_groups)``,
    the quantizer (its ``reconstruction_levels`` are the codebook) and the group layout.
    ``dequantize()`` gives the tensor back.

    ``load_model(..., dequantize=False)`` and ``decode_tensor(..., dequantize=False)`` return
    one. A weight is ``codebook[code] * scale + offset`` with the scale (and offset) of its
    group: ``group_size`` consecutive values of a row.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.weights.schemes import Scheme, decode_tensor, encode_tensor
    >>> w = (0.02 * np.random.default_rng(0).standard_normal((8, 64))).astype(np.float32)
    >>> enc, w_hat = encode_tensor("fc.weight", w, "float32", Scheme("nf", 4, "group", 64))
    >>> qt = decode_tensor(enc.meta, enc.frames[1:], dequantize=False)
    >>> qt.method, qt.group_size, qt.codes.shape, qt.codes.dtype, qt.scales.shape
    ('nf', 64, (8, 64), dtype('uint8'), (8, 1))
    >>> qt.codebook.size, round(float(qt.codebook.min()), 6), float(qt.codebook.max())   # NF4: 16 levels
    (16, -1.0, 1.0)
    >>> np.array_equal(qt.dequantize(), w_hat)
    True
    >>> bool(np.allclose(qt.codebook[qt.codes] * qt.scales, w_hat))   # the same, by hand
    True
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    method: str
    granularity: str
    group_size: int
    quantizer: Quantizer
    codes: np.ndarray
    scales: np.ndarray | None
    offsets: np.ndarray | None

    @property
    def codebook(self) -> np.ndarray:
        """The values codes stand for before scaling: ``quantizer.decode(arange(n_levels))``."""
        n = self.quantizer.n_levels
        if n is None:  # pragma: no cover - weights quantizers are bounded
            raise ValueError("unbounded quantizer")
        codes = np.arange(n, dtype=np.int64).astype(self.codes.dtype)
        return self.quantizer.decode(codes)

    def dequantize(self) -> np.ndarray:
        """The tensor back: float32 of ``shape`` (the values ``load_model`` gives for float32)."""
        u = self.quantizer.decode(self.codes, dtype=np.float32)
        return _denormalize(u, self.group_size, self.scales, self.offsets).reshape(self.shape)


# ---------------------------------------------------------------------------- helpers
def as_matrix(w: np.ndarray, granularity: str) -> np.ndarray:
    """The 2-D view quantization works on: ``(shape[0], rest)``; one row for a whole tensor."""
    if granularity == "tensor" or w.ndim < 2:
        return w.reshape(1, -1)
    return w.reshape(w.shape[0], -1)


def group_size_of(scheme: Scheme, cols: int) -> int:
    if scheme.granularity == "group":
        return min(int(scheme.group_size or cols), cols)
    return cols


def _scale_dtype(scheme: Scheme) -> np.dtype:
    """float16 per group (as GGUF), float32 per channel or tensor (their cost is negligible)."""
    return np.dtype("<f2") if scheme.granularity == "group" else np.dtype("<f4")


@functools.lru_cache(maxsize=32)
def normal_codebook(bits: int) -> Quantizer:
    """The NF idea with Lloyd-Max: the optimal levels of the unit normal law, scaled so the
    outermost are -1 and +1, for absmax-normalised weights."""
    from scipy import stats

    from ..quantizers.lloydmax import LloydMaxQuantizer

    q = LloydMaxQuantizer(2**bits).fit_distribution(stats.norm())
    y = q.levels_ / q.levels_[-1]
    return LloydMaxQuantizer.from_config(
        {"id": "lloyd-max", "levels": 2**bits, "levels_": y.tolist(), "thresholds_": (0.5 * (y[:-1] + y[1:])).tolist()}
    )


def _stats(m: np.ndarray, gs: int) -> tuple[np.ndarray, np.ndarray]:
    ng = -(-m.shape[1] // gs)
    absmax = np.empty((m.shape[0], ng))
    rms = np.empty((m.shape[0], ng))
    _k.group_stats(m, gs, absmax, rms)
    return absmax, rms


def _per_group(
    kernel: Any, a: np.ndarray, gs: int, scales: np.ndarray | None, offsets: np.ndarray | None
) -> np.ndarray:
    """``kernel`` (``normalize`` or ``denormalize``) over ``a`` with per-group scales and
    offsets; ``a`` itself when there are no scales."""
    if scales is None:
        return a
    out = np.empty_like(a)
    off = offsets.astype(a.dtype) if offsets is not None else np.empty((0, 0), a.dtype)
    kernel(a, gs, scales.astype(a.dtype), off, out)
    return out


def _normalize(m: np.ndarray, gs: int, scales: np.ndarray | None, offsets: np.ndarray | None) -> np.ndarray:
    return _per_group(_k.normalize, m, gs, scales, offsets)


def _denormalize(u: np.ndarray, gs: int, scales: np.ndarray | None, offsets: np.ndarray | None) -> np.ndarray:
    return _per_group(_k.denormalize, u, gs, scales, offsets)


def _quantizer(scheme: Scheme, u: np.ndarray, weight: np.ndarray | None) -> Quantizer:
    from ..quantizers.lloydmax import LloydMaxQuantizer
    from ..quantizers.uniform import UniformQuantizer

    b = scheme.bits
    if scheme.method == "uniform":
        return UniformQuantizer(bits=int(b), step=1.0, clip=True)
    if scheme.method == "uniform-asym":
        return UniformQuantizer(bits=int(b), lo=0.0, hi=float(2 ** int(b) - 1), clip=True)
    if scheme.method == "nf":
        return normal_codebook(int(b))
    if scheme.method == "ecsq":
        return _ecsq(float(b), u, weight)
    # fewer distinct values than levels (e.g. weights quantized before): one level each
    levels = _distinct_at_least(u if weight is None else u[weight > 0], 2 ** int(b))
    if levels >= 2:
        return LloydMaxQuantizer(levels).fit(u, sample_weight=weight)
    v = float(u.flat[0])  # a constant tensor
    return UniformQuantizer(bits=1, lo=v, hi=v + 1.0, clip=True)


def _distinct_at_least(v: np.ndarray, k: int) -> int:
    """``min(k, number of distinct values of v)`` without sorting large arrays needlessly."""
    head = np.unique(v.reshape(-1)[: 64 * k])
    if head.size >= k:
        return k
    return min(k, int(np.unique(v).size))


def _ecsq(rate: float, u: np.ndarray, weight: np.ndarray | None) -> Quantizer:
    """``ECSQuantizer`` on ``u`` whose codes have an order-0 entropy of at most ``rate`` (the
    archive pays the file overhead, counted by the caller). With importance weights the fit
    bounds the *weighted* entropy, so the target is lowered until the codes' own entropy fits.
    100 Lagrangian iterations: past them the distortion moves in the 4th digit (measured)."""
    from ..entropy import order0_entropy
    from ..quantizers.ecsq import ECSQuantizer

    target = rate
    q = ECSQuantizer(rate=target, max_iter=100, target="entropy").fit(u, sample_weight=weight)
    for _ in range(4):
        if weight is None:
            return q
        h = float(order0_entropy(q.encode(u).reshape(-1)))
        if h <= rate:
            break
        target -= h - rate + 1e-3
        if target <= 0:
            break
        q = ECSQuantizer(rate=target, max_iter=100, target="entropy").fit(u, sample_weight=weight)
    return q


def _scales(scheme: Scheme, m: np.ndarray, gs: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per-group scales (and offsets), already rounded to their storage dtype."""
    method = scheme.method
    if method == "kmeans" and scheme.granularity == "tensor":
        return None, None
    sdt = _scale_dtype(scheme)
    ng = -(-m.shape[1] // gs)
    if method == "uniform":
        s = np.empty((m.shape[0], ng))
        _k.symmetric_scales(m, gs, 2 ** (int(scheme.bits) - 1), _DELTAS, s)
        return _stored(s, sdt), None
    if method == "uniform-asym":
        s = np.empty((m.shape[0], ng))
        o = np.empty((m.shape[0], ng))
        _k.affine_scales(m, gs, 2 ** int(scheme.bits), 4, s, o)
        return _stored(s, sdt), _stored(o, sdt)
    absmax, rms = _stats(m, gs)
    return _stored(absmax if method == "nf" else rms, sdt), None


def _stored(a: np.ndarray, dt: np.dtype) -> np.ndarray:
    """``a`` rounded to the storage dtype (float16 saturates instead of overflowing)."""
    if dt == np.float16:
        a = np.clip(a, -65504.0, 65504.0)
    return a.astype(dt)


# ---------------------------------------------------------------------------- encode
def encode_tensor(
    name: str, w: np.ndarray, dtype: str, scheme: Scheme, weight: np.ndarray | None = None
) -> tuple[EncodedTensor, np.ndarray]:
    """Quantize ``w`` (float, any shape) with ``scheme``; returns the encoded tensor and the
    dequantized values (float32, ``w``'s shape) the file will give back.

    Parameters
    ----------
    name : str
        The tensor's name in the archive.
    w : ndarray
        The weights (float; a 2-D view ``(shape[0], rest)`` is quantized).
    dtype : str
        The dtype name recorded for ``load_model`` (``"float32"``, ``"bfloat16"`` ...).
    scheme : Scheme
        How to quantize.
    weight : ndarray, optional
        Non-negative importance of each value (``w``'s shape) for the fitted codebooks.

    Returns
    -------
    enc : EncodedTensor
    w_hat : ndarray
        float32 (float64 for float64 input), what ``decode_tensor`` will return.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.weights.schemes import Scheme, encode_tensor
    >>> w = (0.02 * np.random.default_rng(0).standard_normal((8, 64))).astype(np.float32)
    >>> enc, w_hat = encode_tensor("fc.weight", w, "float32", Scheme("uniform", 4, "group", 32, "raw"))
    >>> enc.meta["scheme"], w_hat.shape, w_hat.dtype
    ('uniform:4:g32', (8, 64), dtype('float32'))
    >>> bool(np.abs(w_hat - w).max() < 0.01), len(np.unique(w_hat[0, :32])) <= 16   # 16 levels a group
    (True, True)
    >>> import quantsig
    >>> codes = quantsig.info(enc.frames[-1][2])      # the codes: a complete .qsg array file
    >>> codes["shape"], codes["quantizer"], codes["payload_bytes"]   # 512 codes of 4 bits
    ((8, 64), 'UniformQuantizer(bits=4, step=1.0, clip=True)', 256)
    """
    work = np.float64 if w.dtype == np.float64 else np.float32
    m = np.ascontiguousarray(as_matrix(np.asarray(w, dtype=work), scheme.granularity))
    gs = group_size_of(scheme, m.shape[1])
    scales, offsets = _scales(scheme, m, gs)
    u = _normalize(m, gs, scales, offsets)
    wt = (
        None
        if weight is None
        else np.ascontiguousarray(as_matrix(np.asarray(weight, dtype=np.float64), scheme.granularity))
    )
    q = _quantizer(scheme, u, wt)
    codes = q.encode(u)
    codes_file, entropy = _write_codes(q, codes, u, scheme.entropy)
    u_hat = q.decode(codes, dtype=u.dtype)
    w_hat = _denormalize(u_hat, gs, scales, offsets).reshape(w.shape)
    meta = {
        "name": name,
        "shape": list(w.shape),
        "dtype": dtype,
        "stored": "quantized",
        "method": scheme.method,
        "bits": scheme.bits,
        "granularity": scheme.granularity,
        "group_size": gs,
        "matrix": list(m.shape),
        "scales": None if scales is None else scales.dtype.str,
        "offsets": None if offsets is None else offsets.dtype.str,
        "scheme": scheme.label,
        "entropy": entropy,
    }
    frames = [(_c.FrameKind.META, 0, _meta_bytes(meta))]
    for arr in (scales, offsets):
        if arr is not None:
            frames.append((_c.FrameKind.RAW, int(arr.size), np.ascontiguousarray(arr).tobytes()))
    frames.append((_c.FrameKind.RAW, int(codes.size), codes_file))
    return EncodedTensor(name, tuple(w.shape), dtype, meta, frames), w_hat


def _write_codes(q: Quantizer, codes: np.ndarray, u: np.ndarray, entropy: str | None) -> tuple[bytes, str]:
    """The codes as a ``.qsg`` array file: rANS, raw, or (None) whichever is smaller."""
    best: tuple[bytes, str] | None = None
    for e in [entropy] if entropy is not None else ["rans", "raw"]:
        parts: list[bytes] = []
        Codec(q, entropy=e, frame_size=CODE_FRAME).write_codes(parts.append, q, codes, u.shape, u.dtype)
        blob = b"".join(parts)
        if best is None or len(blob) < len(best[0]):
            best = (blob, e)
    assert best is not None
    return best


def encode_exact(name: str, w: np.ndarray, dtype: str) -> EncodedTensor:
    """A tensor kept exactly: its bytes in its own dtype (bfloat16 re-rounded exactly)."""
    from .sources import _storage, float32_to_bf16

    data = float32_to_bf16(w) if dtype == "bfloat16" else np.ascontiguousarray(w, dtype=_storage(dtype))
    w64 = np.asarray(w, dtype=np.float64).ravel() if np.asarray(w).dtype.kind == "f" else np.zeros(0)
    stats = {"sum_squares": float(np.dot(w64, w64)), "mse": 0.0, "relative_error": 0.0, "max_abs_error": 0.0}
    meta = {
        "name": name,
        "shape": list(w.shape),
        "dtype": dtype,
        "stored": "exact",
        "scheme": "exact",
        "entropy": "-",
        "stats": stats,
    }
    frames = [(_c.FrameKind.META, 0, _meta_bytes(meta)), (_c.FrameKind.RAW, int(w.size), data.tobytes())]
    return EncodedTensor(name, tuple(w.shape), dtype, meta, frames)


def _meta_bytes(meta: dict[str, Any]) -> bytes:
    return json.dumps(meta, separators=(",", ":"), allow_nan=False).encode()


# ---------------------------------------------------------------------------- decode
def _corrupt(name: Any, msg: str) -> CorruptFileError:
    return CorruptFileError(f"corrupt quantsig weights archive: tensor {name!r}: {msg}")


def parse_meta(payload: bytes) -> dict[str, Any]:
    """A tensor's meta document, checked for the keys and types the decoder relies on."""
    if len(payload) > _MAX_META:
        raise CorruptFileError("corrupt quantsig weights archive: a tensor description is too large")
    try:
        meta = json.loads(bytes(payload).decode())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CorruptFileError(f"corrupt quantsig weights archive: a tensor description is not JSON ({e})") from None
    if not isinstance(meta, dict):
        raise CorruptFileError("corrupt quantsig weights archive: a tensor description is not an object")
    name = meta.get("name")
    if not isinstance(name, str):
        raise _corrupt(name, "missing name")
    shape = meta.get("shape")
    if not (
        isinstance(shape, list)
        and len(shape) <= _c.MAX_NDIM
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
    ):
        raise _corrupt(name, f"invalid shape {shape!r}")
    from .sources import _ST_DTYPES

    if meta.get("dtype") not in _ST_DTYPES.values():
        raise _corrupt(name, f"unsupported dtype {meta.get('dtype')!r}")
    for key in ("scheme", "entropy"):
        if not isinstance(meta.get(key), str):
            raise _corrupt(name, f"invalid {key} {meta.get(key)!r}")
    stats = meta.get("stats")
    if stats is not None and not (
        isinstance(stats, dict) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in stats.values())
    ):
        raise _corrupt(name, f"invalid stats {stats!r}")
    stored = meta.get("stored")
    if stored == "quantized":
        if meta.get("dtype") not in FLOAT_DTYPES:
            raise _corrupt(name, "a quantized tensor must be floating point")
        mat = meta.get("matrix")
        gs = meta.get("group_size")
        if not (
            isinstance(mat, list)
            and len(mat) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in mat)
            and mat[0] * mat[1] == math.prod(shape)
        ):
            raise _corrupt(name, f"invalid matrix shape {mat!r} for shape {shape}")
        if not (isinstance(gs, int) and not isinstance(gs, bool) and 1 <= gs <= mat[1]):
            raise _corrupt(name, f"invalid group size {gs!r}")
        for key in ("scales", "offsets"):
            if meta.get(key) not in (None, "<f2", "<f4"):
                raise _corrupt(name, f"invalid {key} dtype {meta.get(key)!r}")
        if meta.get("offsets") is not None and meta.get("scales") is None:
            raise _corrupt(name, "offsets without scales")
    elif stored != "exact":
        raise _corrupt(name, f"unknown storage {stored!r}")
    return meta


def n_frames(meta: dict[str, Any]) -> int:
    """Data frames following a tensor's meta frame."""
    if meta["stored"] == "exact":
        return 1
    return 1 + (meta["scales"] is not None) + (meta["offsets"] is not None)


def decode_tensor(
    meta: dict[str, Any],
    payloads: list[tuple[int, int, Any]],
    *,
    dequantize: bool = True,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
) -> np.ndarray | QuantizedTensor:
    """Rebuild a tensor from its meta and data frames ``(kind, n_values, payload)``: float32
    for bfloat16, its own dtype otherwise (or a ``QuantizedTensor``).

    Parameters
    ----------
    meta : dict
        The tensor's meta document (``parse_meta`` checks one read from a file).
    payloads : list of (int, int, bytes-like)
        The data frames after the meta frame (``ArchiveReader.payloads`` or
        ``EncodedTensor.frames[1:]``).
    dequantize : bool
        False gives a ``QuantizedTensor`` for a quantized tensor.
    max_output_bytes : int
        Refuse a tensor claiming more decoded bytes than this.

    Raises
    ------
    CorruptFileError
        Frames that do not match the description.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.weights.schemes import Scheme, decode_tensor, encode_tensor
    >>> w = (0.02 * np.random.default_rng(0).standard_normal((8, 64))).astype(np.float16)
    >>> enc, w_hat = encode_tensor("fc.weight", w, "float16", Scheme("lloyd-max", 3, "channel"))
    >>> w2 = decode_tensor(enc.meta, enc.frames[1:])
    >>> w2.dtype, np.array_equal(w2, w_hat.astype(np.float16))      # back in the tensor's dtype
    (dtype('float16'), True)
    >>> decode_tensor(enc.meta, enc.frames[1:2])
    Traceback (most recent call last):
    ...
    quantsig.errors.CorruptFileError: corrupt quantsig weights archive: tensor 'fc.weight': 1 data frame(s), expected 2
    """
    from .sources import _storage, bf16_to_float32

    name, shape, dtype = meta["name"], tuple(meta["shape"]), meta["dtype"]
    size = math.prod(shape)
    if size * max(_storage(dtype).itemsize, 4) > max_output_bytes:
        raise _corrupt(name, f"{size} values exceed max_output_bytes={max_output_bytes}")
    if len(payloads) != n_frames(meta):
        raise _corrupt(name, f"{len(payloads)} data frame(s), expected {n_frames(meta)}")
    if meta["stored"] == "exact":
        kind, n, data = payloads[0]
        st = _storage(dtype)
        if kind != _c.FrameKind.RAW or n != size or len(data) != size * st.itemsize:
            raise _corrupt(name, "exact data frame does not hold the tensor")
        arr = np.frombuffer(bytes(data), dtype=st).reshape(shape)
        out = bf16_to_float32(arr) if dtype == "bfloat16" else arr.astype(arr.dtype.newbyteorder("="))
        return out
    rows, cols = meta["matrix"]
    gs = meta["group_size"]
    ng = -(-cols // gs)
    arrays: list[np.ndarray | None] = []
    i = 0
    for key in ("scales", "offsets"):
        if meta[key] is None:
            arrays.append(None)
            continue
        kind, n, data = payloads[i]
        i += 1
        dt = np.dtype(meta[key])
        if kind != _c.FrameKind.RAW or n != rows * ng or len(data) != n * dt.itemsize:
            raise _corrupt(name, f"{key} frame does not hold {rows} x {ng} values")
        arrays.append(np.frombuffer(bytes(data), dtype=dt).reshape(rows, ng).astype(np.float32))
    kind, n, data = payloads[i]
    if kind != _c.FrameKind.RAW or n != size:
        raise _corrupt(name, "codes frame does not match the tensor")
    try:
        q, codes, ushape, _udt = decode_codes(memoryview(bytes(data)), max_output_bytes)
    except CorruptFileError as e:
        raise _corrupt(name, f"codes: {e}") from None
    if tuple(ushape) != (rows, cols) or q.dim != 1:
        raise _corrupt(name, f"codes of shape {tuple(ushape)} for a {rows} x {cols} matrix")
    scales, offsets = arrays
    qt = QuantizedTensor(
        name,
        shape,
        dtype,
        str(meta.get("method")),
        str(meta.get("granularity")),
        gs,
        q,
        codes.reshape(rows, cols),
        scales,
        offsets,
    )
    if not dequantize:
        return qt
    try:
        w = qt.dequantize()
    except ValueError as e:  # a code outside the quantizer's levels
        raise _corrupt(name, str(e)) from None
    return w.astype(np.float16) if dtype == "float16" else w.astype(np.float64) if dtype == "float64" else w
