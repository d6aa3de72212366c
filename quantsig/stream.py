"""Streams of samples (audio, sensor logs) in constant memory: ``StreamWriter``, ``StreamReader``.

A stream is a ``.qsg`` file whose header says ``"kind": "stream"``: sample dtype, channels,
sample rate and coding mode; then frames of ``frame_size`` rows (samples x channels), each
coded on its own (so any frame decodes alone, and a reader seeks through the index), then the
index. A writer that dies mid-stream leaves every complete frame readable.

Coding modes (one per stream):

``lossless``
    Integer PCM (int8/16/32), bit exact: per block of ``block_size`` rows a closed-loop
    integer LPC predictor (Tukey-windowed autocorrelation, order chosen per block up to
    ``max_order``), wasted low bits removed per frame, and for stereo the best of L/R, L/S, R/S
    and M/S per block; residuals through the context-modelled coder
    (``quantsig.entropy.encode_residuals``).
``max_abs_error``
    The same predictor around a uniform residual quantizer, closed loop: every sample of the
    output, *after* rounding to the stream's dtype, is within the bound (integers: a step of
    ``2*floor(e)+1``; floats: the rare sample the rounding would push over the bound is stored
    verbatim).
``step``
    Closed-loop LPC with a given uniform residual step (what ``bits_per_sample`` searches
    choose).
``quantizer``
    Any scalar quantsig quantizer applied to the samples without prediction (G.711, mu-law,
    Lloyd-Max...), its codes rANS-coded per frame.

The frame layout is specified in ``docs/format.md`` ("stream frames").
"""

from __future__ import annotations

import math
import os
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol, Self

import numpy as np

from . import container as _c
from ._bisect import geometric_bisect
from ._validation import check_int, smallest_uint
from .entropy import decode_symbols, encode_symbols
from .entropy.rans import _put_uvarint, _Reader
from .entropy.residual import DEFAULT_CONTEXTS, MAX_CONTEXTS, decode_residuals, encode_residuals
from .errors import CodeRangeError, CorruptFileError
from .kernels import lpc as _k
from .predictors import lpc as _lpc
from .predictors.stereo import STEREO_MODES, to_stereo
from .quantizers.base import Quantizer
from .registry import get_quantizer

__all__ = ["StreamWriter", "StreamReader", "StreamStats", "compress_array", "describe_stream", "MODES"]

MODES = ("lossless", "max_abs_error", "step", "quantizer")
DEFAULT_FRAME_SIZE = 1 << 16
DEFAULT_BLOCK_SIZE = 4096
#: Hard limit on values (rows x channels) per frame a reader accepts: bounds its memory.
MAX_FRAME_CELLS = 1 << 26
MAX_CHANNELS = 1024
_INT_DTYPES = ("int8", "int16", "int32", "uint8", "uint16", "uint32")
_FLOAT_DTYPES = ("float32", "float64")
_FRAME_VERSION = 1
_INT64_LIMIT = 1 << 62

PathLike = str | os.PathLike


class SupportsWrite(Protocol):
    """Anything with ``write(bytes)``: a file, a socket wrapper, a list's ``append`` in a class."""

    def write(self, data: bytes, /) -> Any: ...


def _corrupt(msg: str) -> CorruptFileError:
    return CorruptFileError(f"corrupt quantsig stream: {msg}")


# =============================================================================== statistics
@dataclass
class StreamStats:
    """What a finished stream cost and how close it is to its input.

    Attributes
    ----------
    samples : int
        Rows (time samples) written.
    channels : int
    file_bytes : int
        Everything written: header, frames, index.
    bits_per_sample : float
        ``8 * file_bytes / (samples * channels)``.
    ratio : float
        Input bytes (``samples * channels * itemsize``) over ``file_bytes``.
    max_abs_error : float
        Largest ``|output - input|`` over all samples (0 for lossless).
    snr_db : float
        Signal power over error power in dB (``inf`` when lossless).
    seconds : float
        Wall time spent encoding (inside ``write`` and ``close``).
    mode : str

    Examples
    --------
    ``StreamWriter.stats`` and ``compress_array`` hand one out:

    >>> import numpy as np
    >>> from quantsig.stream import compress_array
    >>> x = np.round(1000 * np.sin(np.arange(400) / 7)).astype(np.int16)
    >>> blob, st = compress_array(x, max_abs_error=2)
    >>> st.samples, st.channels, st.mode, st.file_bytes == len(blob)
    (400, 1, 'max_abs_error', True)
    >>> st.bits_per_sample == 8 * len(blob) / 400, st.ratio == x.nbytes / len(blob)
    (True, True)
    >>> st.max_abs_error <= 2, st.step, bool(st.snr_db > 40)   # integers: a step of 2 * 2 + 1
    (True, 5, True)
    >>> _, exact = compress_array(x, lossless=True)
    >>> exact.max_abs_error, exact.snr_db
    (0.0, inf)
    """

    samples: int = 0
    channels: int = 1
    file_bytes: int = 0
    itemsize: int = 2
    max_abs_error: float = 0.0
    seconds: float = 0.0
    mode: str = ""
    signal_energy: float = 0.0
    error_energy: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bits_per_sample(self) -> float:
        """Bits written per value: ``8 * file_bytes / (samples * channels)`` (NaN when empty)."""
        n = self.samples * self.channels
        return 8.0 * self.file_bytes / n if n else float("nan")

    @property
    def ratio(self) -> float:
        """Compression ratio: input bytes over ``file_bytes`` (NaN before anything is written)."""
        return self.samples * self.channels * self.itemsize / self.file_bytes if self.file_bytes else float("nan")

    @property
    def snr_db(self) -> float:
        """Signal power over error power in dB: ``inf`` without error, ``-inf`` for an all-zero input."""
        if self.error_energy == 0.0:
            return float("inf")
        if self.signal_energy == 0.0:
            return float("-inf")
        return 10.0 * math.log10(self.signal_energy / self.error_energy)

    @property
    def msamples_per_s(self) -> float:
        """Encoding speed in millions of values (samples x channels) per second of ``seconds``."""
        return self.samples * self.channels / self.seconds / 1e6 if self.seconds > 0 else float("inf")

    @property
    def step(self) -> float | None:
        """The residual step used (``None`` in ``quantizer`` mode); what a ``bits_per_sample``
        or ``snr_db`` search chose."""
        return self.extra.get("step")

    def summary(self) -> str:
        """One line: ratio, bits per sample, SNR, max error, speed."""
        if self.samples == 0:
            return f"empty stream ({self.file_bytes} bytes)"
        snr = "inf" if math.isinf(self.snr_db) else f"{self.snr_db:.2f}"
        err = f"{self.max_abs_error:.6g}"
        return (
            f"ratio {self.ratio:.3f}x  {self.bits_per_sample:.3f} bits/sample  SNR {snr} dB  "
            f"max error {err}  {self.msamples_per_s:.1f} Msamples/s"
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of every figure (for JSON reports)."""
        return {
            "samples": self.samples,
            "channels": self.channels,
            "file_bytes": self.file_bytes,
            "bits_per_sample": self.bits_per_sample,
            "ratio": self.ratio,
            "max_abs_error": self.max_abs_error,
            "snr_db": self.snr_db,
            "seconds": self.seconds,
            "mode": self.mode,
            **self.extra,
        }

    def _add_exact(self, x: np.ndarray) -> None:
        xf = x.astype(np.float64).ravel()
        self.signal_energy += float(np.dot(xf, xf))

    def _add(self, x: np.ndarray, y: np.ndarray) -> None:
        xf = x.astype(np.float64)
        d = y.astype(np.float64) - xf
        self.signal_energy += float(np.dot(xf.ravel(), xf.ravel()))
        self.error_energy += float(np.dot(d.ravel(), d.ravel()))
        if d.size:
            self.max_abs_error = max(self.max_abs_error, float(np.max(np.abs(d))))


# =============================================================================== configuration
@dataclass
class _Config:
    mode: str
    dtype: np.dtype
    channels: int
    frame_size: int
    block_size: int
    max_order: int
    stereo: bool
    n_ctx: int
    step: float = 1.0  # residual step (int modes: an integer)
    bound: float = math.inf  # float modes: the per-sample check
    quantizer: Quantizer | None = None

    @property
    def is_int(self) -> bool:
        return self.dtype.kind in "iu"

    @property
    def use_stereo(self) -> bool:
        return self.stereo and self.channels == 2 and self.mode == "lossless"

    def doc_fields(self) -> dict[str, Any]:
        """Header fields; those equal to their defaults are left out (a stream of a thousand
        samples should not pay for a verbose header)."""
        # no "mode" key: the mode is the one whose parameter is present ("bound", "step",
        # "quantizer"; none: lossless), which saves a short series 20 bytes
        doc: dict[str, Any] = {"dtype": self.dtype.newbyteorder("<").str}
        for key, value in (
            ("channels", self.channels),
            ("frame_size", self.frame_size),
            ("block_size", self.block_size),
            ("max_order", self.max_order),
            ("stereo", self.stereo),
            ("contexts", self.n_ctx),
        ):
            if value != _defaults(self.frame_size)[key]:
                doc[key] = value
        if self.mode == "quantizer":
            assert self.quantizer is not None
            doc["quantizer"] = self.quantizer.get_config()
        elif self.mode == "max_abs_error":
            doc["bound"] = int(self.bound) if self.is_int else self.bound  # the step follows from it
        elif self.mode == "step":
            doc["step"] = self.step
        return doc


def _defaults(frame_size: int) -> dict[str, Any]:
    return {
        "channels": 1,
        "frame_size": DEFAULT_FRAME_SIZE,
        "block_size": min(DEFAULT_BLOCK_SIZE, frame_size),
        "max_order": _lpc.MAX_ORDER,
        "stereo": True,
        "contexts": DEFAULT_CONTEXTS,
    }


def _check_float_param(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def _float_step(bound: float) -> float:
    """The residual step of a float bound: a hair under ``2 * bound``, so that the rounding of
    the reconstruction rarely pushes a sample over (those that would are stored exactly).
    The reader derives it from the bound in the header the same way."""
    return 2.0 * (bound - bound * 2.0**-20)


def _make_config(
    dtype: np.dtype,
    channels: int,
    *,
    lossless: bool,
    max_abs_error: Any,
    step: Any,
    quantizer: Quantizer | None,
    frame_size: int,
    block_size: int,
    max_order: int,
    stereo: bool,
    contexts: int,
) -> _Config:
    given = [
        name
        for name, v in (
            ("lossless", lossless or None),
            ("max_abs_error", max_abs_error),
            ("step", step),
            ("quantizer", quantizer),
        )
        if v is not None
    ]
    if len(given) > 1:
        raise ValueError(f"give one of lossless=True, max_abs_error=, step= or quantizer=, not {' and '.join(given)}")
    kind = dtype.kind
    name = dtype.name
    if not given:
        if kind in "iu":
            given = ["lossless"]
        else:
            raise ValueError(
                f"a {name} stream needs max_abs_error=, step= or quantizer= (lossless=True is for integer PCM)"
            )
    mode = given[0]
    base: dict[str, Any] = dict(
        dtype=dtype,
        channels=channels,
        frame_size=frame_size,
        block_size=block_size,
        max_order=max_order,
        stereo=bool(stereo),
        n_ctx=contexts,
    )
    if mode == "quantizer":
        if not isinstance(quantizer, Quantizer):
            raise TypeError(f"quantizer must be a quantsig Quantizer, got {type(quantizer).__name__}")
        if quantizer.dim != 1:
            raise ValueError(f"a stream's quantizer must be scalar (dim=1), got dim={quantizer.dim}")
        if name not in quantizer.input_dtypes:
            raise TypeError(
                f"{quantizer!r} does not encode {name} samples (it takes {', '.join(quantizer.input_dtypes)})"
            )
        return _Config(mode="quantizer", quantizer=quantizer, **base)
    if name not in _INT_DTYPES + _FLOAT_DTYPES:
        raise TypeError(f"stream samples must be one of {', '.join(_INT_DTYPES + _FLOAT_DTYPES)}, got {name}")
    if mode == "lossless":
        if kind not in "iu":
            raise ValueError(
                f"lossless=True is for integer data (int8/16/32, uint8/16/32); {name} data needs max_abs_error="
            )
        return _Config(mode="lossless", step=1, **base)
    if mode == "max_abs_error":
        e = _check_float_param(max_abs_error, "max_abs_error")
        if kind in "iu":
            info = np.iinfo(dtype)
            m = int(min(math.floor(e), int(info.max) - int(info.min)))  # a wider bound changes nothing
            return _Config(mode="max_abs_error" if m else "lossless", step=2 * m + 1, bound=float(m), **base)
        if e == 0.0:
            raise ValueError(f"max_abs_error=0 on {name} data: give a positive bound")
        return _Config(mode="max_abs_error", step=_float_step(e), bound=e, **base)
    s = _check_float_param(step, "step")
    if kind in "iu":
        if s != int(s) or s < 1:
            raise ValueError(f"step must be a whole number >= 1 on integer data, got {step!r}")
        info = np.iinfo(dtype)
        s = min(s, float(int(info.max) - int(info.min) + 1))  # a wider step changes nothing
        return _Config(mode="step", step=int(s), bound=float(int(s) // 2), **base)
    if s == 0.0:
        raise ValueError("step must be > 0")
    return _Config(mode="step", step=s, **base)


def _config_from_doc(doc: dict[str, Any]) -> _Config:
    """Validate a stream header (untrusted)."""

    def get(key: str, types: tuple[type, ...], default: Any = None) -> Any:
        v = doc.get(key, default)
        if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
            raise _corrupt(f"header field {key!r} is invalid: {v!r}")
        return v

    implied = [m for m, key in (("max_abs_error", "bound"), ("step", "step"), ("quantizer", "quantizer")) if key in doc]
    if len(implied) > 1:
        raise _corrupt(f"header names the parameters of several modes: {', '.join(implied)}")
    mode = get("mode", (str,), implied[0] if implied else "lossless")
    if mode not in MODES:
        raise _corrupt(f"unknown mode {mode!r}")
    if implied and mode != implied[0]:
        raise _corrupt(f"header says mode {mode!r} but carries the parameter of {implied[0]!r}")
    dstr = get("dtype", (str,))
    allowed = {np.dtype(n).newbyteorder("<").str: n for n in _INT_DTYPES + _FLOAT_DTYPES}
    if dstr not in allowed:
        raise _corrupt(f"unsupported sample dtype {dstr!r}")
    dtype = np.dtype(allowed[dstr])
    channels = get("channels", (int,), 1)
    frame_size = get("frame_size", (int,), DEFAULT_FRAME_SIZE)
    if not isinstance(frame_size, int) or isinstance(frame_size, bool) or frame_size < 1:
        raise _corrupt(f"header field 'frame_size' is invalid: {frame_size!r}")
    d = _defaults(frame_size)
    block_size = get("block_size", (int,), d["block_size"])
    max_order = get("max_order", (int,), d["max_order"])
    contexts = get("contexts", (int,), d["contexts"])
    stereo = get("stereo", (bool,), d["stereo"])
    if not 1 <= channels <= MAX_CHANNELS:
        raise _corrupt(f"{channels} channels (1 to {MAX_CHANNELS} allowed)")
    if not frame_size >= 1 or frame_size * channels > MAX_FRAME_CELLS:
        raise _corrupt(f"frame_size {frame_size} x {channels} channels exceeds the limit of {MAX_FRAME_CELLS} values")
    if not 1 <= block_size <= frame_size:
        raise _corrupt(f"block_size {block_size} is not within [1, frame_size]")
    if not 0 <= max_order <= _lpc.MAX_ORDER:
        raise _corrupt(f"max_order {max_order} is not within [0, {_lpc.MAX_ORDER}]")
    if not 1 <= contexts <= MAX_CONTEXTS:
        raise _corrupt(f"contexts {contexts} is not within [1, {MAX_CONTEXTS}]")
    cfg = _Config(
        mode=mode,
        dtype=dtype,
        channels=channels,
        frame_size=frame_size,
        block_size=block_size,
        max_order=max_order,
        stereo=stereo,
        n_ctx=contexts,
    )
    if mode == "quantizer":
        try:
            q_config = doc.get("quantizer")
            if not isinstance(q_config, (dict, str)):
                raise _corrupt(f"invalid quantizer config {q_config!r}")
            cfg.quantizer = get_quantizer(q_config)
        except CorruptFileError:
            raise
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise _corrupt(f"invalid quantizer config ({e})") from None
        if cfg.quantizer.dim != 1 or dtype.name not in cfg.quantizer.input_dtypes:
            raise _corrupt(f"quantizer {cfg.quantizer!r} does not code {dtype.name} samples")
        return cfg
    if mode == "lossless":
        if not cfg.is_int:
            raise _corrupt("a float stream cannot be lossless")
        cfg.step, cfg.bound = 1, 0.0
    elif mode == "max_abs_error":
        bound = doc.get("bound")
        if cfg.is_int:
            if isinstance(bound, float) and bound.is_integer():
                bound = int(bound)
            if not isinstance(bound, int) or isinstance(bound, bool) or not 1 <= bound < (1 << 32):
                raise _corrupt(f"invalid integer bound {bound!r}")
            cfg.step, cfg.bound = 2 * bound + 1, float(bound)
        else:
            if not isinstance(bound, (int, float)) or isinstance(bound, bool) or not 0 < bound < math.inf:
                raise _corrupt(f"invalid bound {bound!r}")
            cfg.bound = float(bound)
            cfg.step = _float_step(cfg.bound)
    else:
        step = doc.get("step")
        if cfg.is_int:
            if not isinstance(step, int) or isinstance(step, bool) or not 1 <= step <= (1 << 33):
                raise _corrupt(f"invalid integer step {step!r}")
            cfg.step, cfg.bound = step, float(step // 2)
        else:
            if not isinstance(step, (int, float)) or isinstance(step, bool) or not 0 < step < math.inf:
                raise _corrupt(f"invalid step {step!r}")
            cfg.step = float(step)
    return cfg


# =============================================================================== frame coding
def _trailing_zeros(v: int) -> int:
    return (v & -v).bit_length() - 1 if v else 0


_COEF_BITS = _lpc.PRECISION
_COEF_MASK = (1 << _COEF_BITS) - 1


def _put_predictor(out: bytearray, p: _lpc.Predictor) -> None:
    """order:u8 [shift:u8 coefficients as order x 15-bit two's complement, LSB first]."""
    out.append(p.order)
    if p.order:
        out.append(p.shift)
        packed = 0
        for j, c in enumerate(p.coefs.tolist()):
            packed |= (c & _COEF_MASK) << (j * _COEF_BITS)
        out += packed.to_bytes((p.order * _COEF_BITS + 7) // 8, "little")


#: A block may be split in halves, recursively, this many times (4096 -> down to 512 rows)...
SPLIT_DEPTH = 3
#: ...as long as each half keeps at least this many rows.
MIN_SPLIT = 256
_Leaf = tuple[int, int, _lpc.Predictor]  # start, end, predictor


def _splittable(start: int, end: int, depth: int) -> bool:
    return depth > 0 and end - start >= 2 * MIN_SPLIT


def _plan_block(
    x: np.ndarray, start: int, end: int, max_order: int, step: float | None
) -> tuple[float, int, list[_Leaf]]:
    """Predictors for ``x[start:end]``: one for the block, or (recursively) one per half where
    that is cheaper: a block holding an onset or a change of sound is predicted better in
    parts. Returns the estimated cost in bits, the split flags (one bit per splittable node,
    preorder, a node's whole subtree reserved even when it is not split; LSB first) and the
    leaves."""
    cost, flags, leaves = _best_split(x, start, end, SPLIT_DEPTH, max_order, step)
    return cost, sum(f << i for i, f in enumerate(flags)), leaves


def _best_split(
    x: np.ndarray, a: int, b: int, depth: int, max_order: int, step: float | None
) -> tuple[float, list[int], list[_Leaf]]:
    # a plain recursive function, not a closure: a self-referencing closure is a reference
    # cycle, which would keep each frame's arrays alive until the garbage collector runs
    p, cost = _lpc.analyze(x, a, b, max_order, step=step)
    if not _splittable(a, b, depth):
        return cost, [], [(a, b, p)]
    m = (a + b) // 2
    c1, f1, l1 = _best_split(x, a, m, depth - 1, max_order, step)
    c2, f2, l2 = _best_split(x, m, b, depth - 1, max_order, step)
    if c1 + c2 + 16 < cost:  # 16 bits: the second predictor's order and shift bytes
        return c1 + c2, [1] + f1 + f2, l1 + l2
    return cost, [0] * (1 + _flag_count(a, m, depth - 1) + _flag_count(m, b, depth - 1)), [(a, b, p)]


def _flag_count(start: int, end: int, depth: int) -> int:
    """Split flags a node of ``end - start`` rows reserves (its splittable descendants too);
    the decoder's ``quantsig.kernels.lpc.parse_plan`` counts them the same way."""
    return int(_k.n_flags(np.int64(end - start), np.int64(depth), np.int64(MIN_SPLIT)))


def _parse_plan(
    r: _Reader, payload: Any, blocks: list[tuple[int, int]], stereo: bool, n_slots: int, cfg: _Config
) -> tuple[np.ndarray, np.ndarray]:
    """The per-block part of a frame (stereo modes, split flags, predictors), parsed and
    checked in one kernel call: rows ``slot, rep, start, end, order, shift, coef_offset,
    stereo`` and the integer coefficients, each predictor's reversed (oldest sample first)."""
    n_max = len(blocks) * n_slots * (1 << SPLIT_DEPTH)
    leaves = np.empty((n_max, 8), np.int64)
    coefs = np.empty(n_max * _lpc.MAX_ORDER + 1, np.int64)
    starts = np.array([b0 for b0, _ in blocks], np.int64)
    ends = np.array([b1 for _, b1 in blocks], np.int64)
    status, pos, n_leaves, _ = _k.parse_plan(
        np.frombuffer(payload, np.uint8),
        np.int64(r.pos),
        starts,
        ends,
        stereo,
        np.int64(n_slots),
        np.int64(cfg.max_order),
        np.int64(_lpc._MAX_SHIFT),
        np.int64(SPLIT_DEPTH),
        np.int64(MIN_SPLIT),
        np.int64(_COEF_BITS),
        leaves,
        coefs,
    )
    if status != _k.PLAN_OK:
        raise _corrupt(_PLAN_ERRORS.get(int(status), "invalid block plan"))
    r.pos = int(pos)
    return leaves[:n_leaves], coefs


def _blocks(rows: int, block_size: int) -> list[tuple[int, int]]:
    return [(s, min(s + block_size, rows)) for s in range(0, rows, block_size)]


def _int_limits(cfg: _Config) -> tuple[int, int]:
    if cfg.mode == "lossless":
        return -_INT64_LIMIT, _INT64_LIMIT
    info = np.iinfo(cfg.dtype)
    return int(info.min), int(info.max)


def encode_frame(cfg: _Config, x: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Code one frame ``x`` (rows x channels, the stream dtype); returns (payload, reconstruction)."""
    _rows, _ch = x.shape
    if cfg.mode == "quantizer":
        q = cfg.quantizer
        assert q is not None
        codes = q.encode(x)
        return encode_symbols(codes.reshape(-1)), q.decode(codes, dtype=cfg.dtype)
    if cfg.is_int:
        X = x.astype(np.int64)
        plain = _encode_int_frame(cfg, X, x)
        if cfg.mode == "lossless":
            table, idx = np.unique(X, return_inverse=True)
            span = int(X.max()) - int(X.min()) + 1
            if table.size <= _MAX_MAP and 4 * table.size <= span:
                mapped = _encode_int_frame(cfg, idx.reshape(X.shape).astype(np.int64), x, table)
                if len(mapped[0]) < len(plain[0]):
                    return mapped
        return plain
    return _encode_float_frame(cfg, x)


#: Largest value table a frame may carry (integer lossless "value map").
_MAX_MAP = 1 << 16
_MAP_FLAG = 0x80


def _encode_int_frame(
    cfg: _Config, X: np.ndarray, x: np.ndarray, table: np.ndarray | None = None
) -> tuple[bytes, np.ndarray]:
    """Integer frame: ``X`` (int64 rows x channels) is the samples, or with ``table`` their
    indices into the frame's sorted distinct values (data that takes few distinct values, e.g.
    decoded mu-law or A-law, costs what its indices cost)."""
    rows, ch = X.shape
    out = bytearray([_FRAME_VERSION])
    blocks = _blocks(rows, cfg.block_size)
    w = 0
    if cfg.mode == "lossless" and table is None:
        w = min(_trailing_zeros(int(np.bitwise_or.reduce(X, axis=None))), 62)
        if w:
            X = X >> w
    if table is None:
        out.append(w)
    else:
        out.append(_MAP_FLAG)
        _put_uvarint(out, int(table.size))
        blob = encode_residuals(np.diff(table, prepend=np.int64(0)))
        _put_uvarint(out, len(blob))
        out += blob
    stereo = cfg.use_stereo
    reps = to_stereo(X[:, 0], X[:, 1]) if stereo else np.ascontiguousarray(X.T)
    repf = reps.astype(np.float64)
    lossless = cfg.mode == "lossless"
    Y = reps if lossless else np.zeros_like(reps)
    n_slots = 2 if stereo else ch
    Q = np.empty((n_slots, rows), np.int64)
    lo, hi = _int_limits(cfg)
    step = int(cfg.step)
    rstep = None if lossless else float(step)
    for start, end in blocks:
        if stereo:
            # price all four representations with one predictor each, code the cheapest pair
            # (FLAC's exhaustive -m), then split its blocks where that pays
            whole = [_lpc.analyze(repf[k], start, end, cfg.max_order, step=rstep)[1] for k in range(4)]
            mode = int(np.argmin([whole[a] + whole[b] for a, b in STEREO_MODES]))
            out.append(mode)
            chosen = [(rep, _plan_block(repf[rep], start, end, cfg.max_order, rstep)) for rep in STEREO_MODES[mode]]
        else:
            chosen = [(c, _plan_block(repf[c], start, end, cfg.max_order, rstep)) for c in range(ch)]
        for s, (rep, (_, flags, leaves)) in enumerate(chosen):
            out.append(flags)
            for a, b, p in leaves:
                _put_predictor(out, p)
                crev, order, shift = p.int_kernel_args()
                if lossless:
                    _k.residual_int(reps[rep], a, b, crev, order, shift, Q[s])
                else:
                    _k.encode_int(reps[rep], a, b, crev, order, shift, step, lo, hi, Y[rep], Q[s])
    recon_rows = x if lossless else Y.T
    _put_residuals(out, Q, cfg)
    return bytes(out), recon_rows.astype(cfg.dtype, copy=False)


#: Float frame methods (the byte after the frame version).
_LPC, _INTERP = 0, 1


def _encode_float_frame(cfg: _Config, x: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Float frame: closed-loop LPC per block, or multilevel interpolation (see
    ``quantsig.kernels.lpc.interp_encode``) over the whole frame, whichever is smaller."""
    X = np.ascontiguousarray(x.T, dtype=np.float64)
    if not np.all(np.isfinite(X)):
        bad = int(np.count_nonzero(~np.isfinite(X)))
        raise ValueError(f"the data holds {bad} NaN or infinite values; a bounded stream cannot represent them")
    lpc = _encode_float_method(cfg, X, _LPC)
    interp = _encode_float_method(cfg, X, _INTERP)
    return lpc if len(lpc[0]) <= len(interp[0]) else interp


def _encode_float_method(cfg: _Config, X: np.ndarray, method: int) -> tuple[bytes, np.ndarray]:
    ch, rows = X.shape
    out = bytearray([_FRAME_VERSION, method])
    Y = np.zeros_like(X)
    Q = np.empty((ch, rows), np.int64)
    E = np.zeros((ch, rows), np.uint8)
    f32 = cfg.dtype == np.float32
    if method == _INTERP:
        order = np.empty(rows, np.int64)
        _k.interp_order(rows, order)
        for c in range(ch):
            _k.interp_encode(X[c], order, cfg.step, cfg.bound, f32, Y[c], Q[c], E[c])
    else:
        for start, end in _blocks(rows, cfg.block_size):
            for c in range(ch):
                _, flags, leaves = _plan_block(X[c], start, end, cfg.max_order, cfg.step)
                out.append(flags)
                for a, b, p in leaves:
                    _put_predictor(out, p)
                    _k.encode_float(X[c], a, b, *p.float_kernel_args(), cfg.step, cfg.bound, f32, Y[c], Q[c], E[c])
    _put_residuals(out, Q, cfg)
    pos = np.flatnonzero(E.reshape(-1))
    _put_uvarint(out, int(pos.size))
    prev = 0
    for p_ in pos.tolist():
        _put_uvarint(out, p_ - prev)
        prev = p_
    out += X.reshape(-1)[pos].astype(cfg.dtype.newbyteorder("<")).tobytes()
    return bytes(out), Y.T.astype(cfg.dtype)


def _put_residuals(out: bytearray, Q: np.ndarray, cfg: _Config) -> None:
    rows = Q.shape[1]
    blob = encode_residuals(Q.reshape(-1), np.arange(Q.shape[0], dtype=np.int64) * rows, cfg.n_ctx)
    _put_uvarint(out, len(blob))
    out += blob


def decode_frame(cfg: _Config, payload: memoryview, rows: int) -> np.ndarray:
    """Decode one frame's payload into ``rows x channels`` samples (untrusted input)."""
    ch = cfg.channels
    if cfg.mode == "quantizer":
        q = cfg.quantizer
        assert q is not None
        n_levels = q.n_levels
        code_dtype = np.dtype(np.int32) if n_levels is None else smallest_uint(n_levels)
        codes = decode_symbols(payload, rows * ch, code_dtype)
        try:
            return q.decode(codes.reshape(rows, ch), dtype=cfg.dtype)
        except CodeRangeError as e:
            raise _corrupt(f"decoded codes do not fit the quantizer ({e})") from None
    r = _Reader(payload)
    version = r.byte("frame version")
    if version != _FRAME_VERSION:
        raise _corrupt(f"unknown frame version {version}")
    w = r.byte("wasted bits" if cfg.is_int else "frame method")
    table = None
    method = _LPC
    if not cfg.is_int:
        if w not in (_LPC, _INTERP):
            raise _corrupt(f"unknown float frame method {w}")
        method, w = w, 0
    elif w == _MAP_FLAG and cfg.mode == "lossless":
        n_map = r.uvarint("value-map size")
        if not 1 <= n_map <= min(_MAX_MAP, rows * ch):
            raise _corrupt(f"value map of {n_map} values in a frame of {rows * ch} samples")
        blen = r.uvarint("value-map length")
        deltas = decode_residuals(r.take(blen, "value map"), n_map)
        if np.any(deltas[1:] <= 0):
            raise _corrupt("the value map is not strictly increasing")
        table = np.cumsum(deltas)
        w = 0
    elif w > 62 or (w and cfg.mode != "lossless"):
        raise _corrupt(f"invalid wasted-bits shift {w}")
    blocks = _blocks(rows, cfg.block_size)
    if cfg.is_int:
        stereo = cfg.use_stereo
        n_reps = 4 if stereo else ch
        n_slots = 2 if stereo else ch
        leaves, coefs = _parse_plan(r, payload, blocks, stereo, n_slots, cfg)
        Q = _get_residuals(r, n_slots, rows, cfg)
        reps = np.zeros((n_reps, rows), np.int64)
        lo, hi = _int_limits(cfg)
        _k.decode_int_frame(
            Q, leaves, coefs, np.int64(cfg.step), np.int64(lo), np.int64(hi), cfg.mode == "lossless", reps
        )
        if r.pos != len(payload):
            raise _corrupt("frame has unexpected trailing bytes")
        values = (reps[:2] if stereo else reps) << w
        if table is not None:
            if values.size and (values.min() < 0 or values.max() >= table.size):
                raise _corrupt("decoded indices fall outside the value map")
            values = table[values]
        info = np.iinfo(cfg.dtype)
        if values.size and (values.min() < info.min or values.max() > info.max):
            raise _corrupt(f"decoded samples fall outside the {cfg.dtype.name} range")
        return values.T.astype(cfg.dtype)
    plan = None if method == _INTERP else _parse_plan(r, payload, blocks, False, ch, cfg)
    Q = _get_residuals(r, ch, rows, cfg)
    n_exc = r.uvarint("exception count")
    if n_exc > rows * ch:
        raise _corrupt(f"{n_exc} exceptions in a frame of {rows * ch} samples")
    pos = np.empty(n_exc, np.int64)
    prev = 0
    for i in range(n_exc):
        prev += r.uvarint("exception position")
        if prev >= rows * ch or (i and pos[i - 1] >= prev):
            raise _corrupt("exception positions are out of order or out of range")
        pos[i] = prev
    itemsize = cfg.dtype.itemsize
    vals = np.frombuffer(r.take(n_exc * itemsize, "exception values"), cfg.dtype.newbyteorder("<")).astype(np.float64)
    if r.pos != len(payload):
        raise _corrupt("frame has unexpected trailing bytes")
    if not np.all(np.isfinite(vals)):
        raise _corrupt("an exception value is not finite")
    Y = np.zeros((ch, rows))
    f32 = cfg.dtype == np.float32
    if method == _INTERP:
        order = np.empty(rows, np.int64)
        _k.interp_order(rows, order)
        flags = np.zeros(rows * ch, np.uint8)
        flags[pos] = 1
        dense = np.zeros(rows * ch)
        dense[pos] = vals
        for c in range(ch):
            _k.interp_decode(
                Q[c], order, cfg.step, f32, flags[c * rows : (c + 1) * rows], dense[c * rows : (c + 1) * rows], Y[c]
            )
        if not np.all(np.isfinite(Y)):
            raise _corrupt("decoded samples are not finite")
        return Y.T.astype(cfg.dtype)
    assert plan is not None
    leaves, coefs = plan
    chan = pos // rows
    for c in range(ch):
        sel = chan == c
        cpos, cval = pos[sel] - c * rows, vals[sel]
        for _, _, a, b, order, shift, off, _ in leaves[leaves[:, 0] == c].tolist():
            crev = np.ldexp(coefs[off : off + order].astype(np.float64), -shift)  # exact
            k0, k1 = np.searchsorted(cpos, [a, b])
            status = _k.decode_float(Q[c], a, b, crev, order, cfg.step, f32, cpos[k0:k1], cval[k0:k1], Y[c])
            if status:
                raise _corrupt("exception positions are inconsistent")
    if not np.all(np.isfinite(Y)):
        raise _corrupt("decoded samples are not finite")
    return Y.T.astype(cfg.dtype)


_PLAN_ERRORS = {
    _k.PLAN_TRUNCATED: "the block predictors are truncated",
    _k.PLAN_STEREO: "unknown stereo mode",
    _k.PLAN_ORDER: "a predictor order exceeds the stream's max_order",
    _k.PLAN_SHIFT: f"a predictor shift exceeds {_lpc._MAX_SHIFT}",
    _k.PLAN_PADDING: "predictor coefficients have non-zero padding bits",
    _k.PLAN_FLAGS: "split flags name blocks that cannot be split, or are set under a block that is not split",
}


def _get_residuals(r: _Reader, n_slots: int, rows: int, cfg: _Config) -> np.ndarray:
    blen = r.uvarint("residual block length")
    blob = r.take(blen, "residual block")
    seg = np.arange(n_slots, dtype=np.int64) * rows
    return decode_residuals(blob, n_slots * rows, seg).reshape(n_slots, rows)


# =============================================================================== writer
def _default_threads() -> int:
    """``QUANTSIG_THREADS`` if set (like ``OMP_NUM_THREADS``), else the CPUs, at most 4."""
    env = os.environ.get("QUANTSIG_THREADS", "").strip()
    if env:
        try:
            return max(1, min(int(env), 256))
        except ValueError:
            raise ValueError(f"QUANTSIG_THREADS must be a whole number, got {env!r}") from None
    return max(1, min(os.cpu_count() or 1, 4))


def _stream_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind not in "iuf" or dt.itemsize > 8:
        raise TypeError(f"unsupported sample dtype {dt}")
    return dt.newbyteorder("=")


class StreamWriter:
    """Write samples to a ``.qsg`` stream block by block, in constant memory.

    Parameters
    ----------
    file : str, path or binary file object
        Where to write. A path is created (an existing file is replaced); a file object only
        needs ``write`` (and is left open).
    channels : int
        Columns of each block (samples x channels).
    dtype : dtype, optional
        Sample dtype of the stream (int8/int16/int32 or float32/float64; what the quantizer
        takes in ``quantizer`` mode). Default: the first block's dtype.
    sample_rate : float, optional
        Stored in the header for readers (not used by the coding).
    lossless : bool
        The coding mode is one of ``lossless``, ``max_abs_error``, ``step`` and ``quantizer``
        (give one; integer data defaults to ``lossless``), see the module docstring.
    max_abs_error : float, optional
        Mode: every sample within this of the input.
    step : float, optional
        Mode: this residual quantizer step.
    quantizer : Quantizer, optional
        Mode: code the samples with this quantizer.
    frame_size : int
        Rows per frame: the unit of seeking, of memory, and of loss if the writer dies.
    block_size : int, optional
        Rows per predictor (each block chooses its own LPC order and coefficients); default
        4096 or ``frame_size`` if smaller.
    max_order : int
        Highest LPC order tried (0 disables prediction).
    stereo : bool
        For 2-channel lossless streams, choose per block among L/R, L/S, R/S and M/S.
    metadata : dict, optional
        JSON-serializable user metadata stored in the header.
    threads : int, optional
        Frames encoded at once on worker threads (the kernels release the GIL); default:
        ``QUANTSIG_THREADS`` if set, else the number of CPUs, at most 4. Memory holds that
        many frames; the bytes written are the same for any value.

    Examples
    --------
    >>> import io, numpy as np, quantsig
    >>> from quantsig.stream import StreamWriter, StreamReader
    >>> t = np.arange(6000)
    >>> pcm = (8000 * np.sin(2 * np.pi * 440 * t / 8000)).astype(np.int16)
    >>> buf = io.BytesIO()
    >>> with StreamWriter(buf, sample_rate=8000, frame_size=2000) as w:
    ...     for start in range(0, pcm.size, 700):
    ...         w.write(pcm[start:start + 700])
    >>> w.stats.bits_per_sample < 4
    True
    >>> r = StreamReader(buf.getvalue())
    >>> r.seek(2345)
    >>> np.array_equal(r.read(100), pcm[2345:2445])
    True
    """

    def __init__(
        self,
        file: PathLike | BinaryIO | SupportsWrite,
        *,
        channels: int = 1,
        dtype: Any = None,
        sample_rate: float | None = None,
        lossless: bool = False,
        max_abs_error: float | None = None,
        step: float | None = None,
        quantizer: Quantizer | None = None,
        frame_size: int = DEFAULT_FRAME_SIZE,
        block_size: int | None = None,
        max_order: int = _lpc.MAX_ORDER,
        stereo: bool = True,
        contexts: int = DEFAULT_CONTEXTS,
        metadata: dict[str, Any] | None = None,
        threads: int | None = None,
    ) -> None:
        self.channels = check_int(channels, "channels", low=1, high=MAX_CHANNELS)
        self.threads = check_int(_default_threads() if threads is None else threads, "threads", low=1, high=256)
        self.frame_size = check_int(frame_size, "frame_size", low=1, high=MAX_FRAME_CELLS // self.channels)
        if block_size is None:
            block_size = min(DEFAULT_BLOCK_SIZE, self.frame_size)
        self.block_size = check_int(block_size, "block_size", low=1, high=self.frame_size)
        self.max_order = check_int(max_order, "max_order", low=0, high=_lpc.MAX_ORDER)
        self.contexts = check_int(contexts, "contexts", low=1, high=MAX_CONTEXTS)
        if sample_rate is not None:
            rate = _check_float_param(sample_rate, "sample_rate")
            sample_rate = int(rate) if rate == int(rate) else rate
        self.sample_rate = sample_rate
        from .codec import _check_metadata

        self.metadata = {} if metadata is None else metadata
        _check_metadata(self.metadata)
        self._mode_args: dict[str, Any] = dict(
            lossless=bool(lossless), max_abs_error=max_abs_error, step=step, quantizer=quantizer
        )
        if not lossless and lossless is not False:
            raise TypeError(f"lossless must be True or False, got {lossless!r}")
        self._stereo = bool(stereo)
        self.stats = StreamStats(channels=self.channels)
        self._cfg: _Config | None = None
        self.dtype: np.dtype | None = None
        if dtype is not None:
            self._set_dtype(_stream_dtype(dtype))
        self._ndim: int | None = None
        self._buf: np.ndarray | None = None
        self._fill = 0
        self._writer: _c.ContainerWriter | None = None
        self._owns = isinstance(file, (str, os.PathLike))
        self._file: Any = open(file, "wb") if isinstance(file, (str, os.PathLike)) else file  # noqa: SIM115 (the object owns the file; close() closes it)
        if not hasattr(self._file, "write"):
            raise TypeError(f"file must be a path or a binary file object, got {type(file).__name__}")
        self._bytes = 0
        self._pending: deque[tuple[np.ndarray, Future[tuple[bytes, np.ndarray]]]] = deque()
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        self.closed = False

    # ------------------------------------------------------------------ setup
    def _set_dtype(self, dt: np.dtype) -> None:
        self._cfg = _make_config(
            dt,
            self.channels,
            frame_size=self.frame_size,
            block_size=self.block_size,
            max_order=self.max_order,
            stereo=self._stereo,
            contexts=self.contexts,
            **self._mode_args,
        )
        self.dtype = dt
        self.stats.itemsize = dt.itemsize
        self.stats.mode = self._cfg.mode

    def _emit(self, data: bytes) -> None:
        self._file.write(data)
        self._bytes += len(data)

    def _start(self, first_frame: np.ndarray) -> None:
        cfg = self._cfg
        assert cfg is not None
        q = cfg.quantizer
        if q is not None and q.requires_fit and not q.is_fitted():
            cfg.quantizer = type(q).from_config(q.get_config()).fit(first_frame)
        if cfg.mode != "quantizer":
            self.stats.extra["step"] = cfg.step
        # no "format" key: the magic bytes say quantsig already, and a short series should
        # not pay for saying it twice
        doc: dict[str, Any] = {"kind": "stream", **cfg.doc_fields()}
        ndim = self._ndim or (1 if self.channels == 1 else 2)
        if ndim != (1 if self.channels == 1 else 2):
            doc["ndim"] = ndim
        if self.sample_rate is not None:
            doc["sample_rate"] = self.sample_rate
        if self.metadata:
            doc["metadata"] = self.metadata
        self._writer = _c.ContainerWriter(self._emit, doc)

    @property
    def samples_written(self) -> int:
        """Rows accepted so far (coded or buffered)."""
        return self.stats.samples + self._fill

    @property
    def bytes_written(self) -> int:
        """Bytes written to the file so far."""
        return self._bytes

    # ------------------------------------------------------------------ writing
    def write(self, block: Any) -> None:
        """Append samples: shape ``(n,)`` for one channel or ``(n, channels)``.

        The block's dtype must be the stream's (or cast to it without loss, e.g. int16 into
        an int32 stream); nothing is clipped or rounded silently.
        """
        if self.closed:
            raise ValueError("the stream is closed")
        t0 = time.perf_counter()
        arr = np.asarray(block)
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"block must hold numbers, got dtype={arr.dtype}")
        if arr.ndim == 1 and self.channels == 1:
            arr2 = arr.reshape(-1, 1)
        elif arr.ndim == 2 and arr.shape[1] == self.channels:
            arr2 = arr
        else:
            raise ValueError(f"block must have shape (n,) for 1 channel or (n, {self.channels}); got {arr.shape}")
        if self._ndim is None:
            self._ndim = arr.ndim
        if self.dtype is None:
            self._set_dtype(_stream_dtype(arr.dtype))
        dt = self.dtype
        assert dt is not None
        if arr.dtype != dt and not np.can_cast(arr.dtype, dt, "safe"):
            raise TypeError(f"block dtype {arr.dtype} does not fit the stream's {dt} without loss; convert it first")
        if self._buf is None:
            self._buf = np.empty((self.frame_size, self.channels), dt)
        pos = 0
        n = arr2.shape[0]
        while pos < n:
            take = min(n - pos, self.frame_size - self._fill)
            self._buf[self._fill : self._fill + take] = arr2[pos : pos + take]
            self._fill += take
            pos += take
            if self._fill == self.frame_size:
                self._flush()
        self.stats.seconds += time.perf_counter() - t0

    def _flush(self) -> None:
        """Hand the full buffer to the encoder (a worker thread when ``threads > 1``)."""
        assert self._buf is not None and self._cfg is not None
        frame = self._buf[: self._fill].copy()
        self._fill = 0
        if self._writer is None:
            self._start(frame)  # fits a learned quantizer on the first frame: before any worker
        if self._pool is None:
            self._emit_frame(frame, encode_frame(self._cfg, frame))
            return
        self._pending.append((frame, self._pool.submit(encode_frame, self._cfg, frame)))
        while len(self._pending) >= self.threads:
            self._drain_one()

    def _drain_one(self) -> None:
        frame, future = self._pending.popleft()
        self._emit_frame(frame, future.result())

    def _emit_frame(self, frame: np.ndarray, coded: tuple[bytes, np.ndarray]) -> None:
        payload, recon = coded
        assert self._writer is not None and self._cfg is not None
        self._writer.add_frame(_c.FrameKind.STREAM, frame.shape[0], payload)
        if hasattr(self._file, "flush"):
            self._file.flush()
        if self._cfg.mode == "lossless":
            self.stats._add_exact(frame)
        else:
            self.stats._add(frame, recon)
        self.stats.samples += frame.shape[0]

    def close(self) -> StreamStats:
        """Code the buffered samples, write the index and close; returns the statistics."""
        if self.closed:
            return self.stats
        t0 = time.perf_counter()
        try:
            if self._fill:
                self._flush()
            while self._pending:
                self._drain_one()
            if self._writer is None:
                if self._cfg is None:
                    raise ValueError("nothing was written and no dtype was given: the stream's dtype is unknown")
                self._start(np.zeros((1, self.channels), self.dtype))
            assert self._writer is not None
            self._writer.close()
            if hasattr(self._file, "flush"):
                self._file.flush()
        finally:
            self._release()
        self.stats.seconds += time.perf_counter() - t0
        self.stats.file_bytes = self._bytes
        return self.stats

    def abort(self) -> None:
        """Stop without the index: the file keeps every complete frame (as after a crash),
        frames already handed to worker threads included; the partial frame is dropped."""
        try:
            while self._pending and not self.closed:
                self._drain_one()
        except Exception:  # a worker failed: keep what is written, stop there
            pass
        finally:
            self._release()

    def _release(self) -> None:
        self.closed = True
        self._buf = None
        if self._pool is not None:
            for _, future in self._pending:
                future.cancel()
            self._pending.clear()
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._owns:
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# =============================================================================== reader
class _Source:
    """The bytes of a stream: held in memory, or a file read frame by frame."""

    def __init__(self, source: Any) -> None:
        self._file: Any = None
        self._owns = False
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.mem: memoryview | None = memoryview(source).cast("B")
        elif isinstance(source, (str, os.PathLike)):
            self._file = open(source, "rb")  # noqa: SIM115 (the object owns the file; close() closes it)
            self._owns = True
            self.mem = None
        elif hasattr(source, "read") and hasattr(source, "seek"):
            self._file = source
            self.mem = None
        else:
            raise TypeError(f"source must be bytes, a path or a binary file object, got {type(source).__name__}")

    def layout(self) -> tuple[_c.Header, list[_c.FrameInfo], bool, int]:
        """Header, frames, whether the index was there, total size."""
        if self.mem is not None:
            return _layout(self.mem) + (len(self.mem),)
        f = self._file
        try:
            fileno = f.fileno()
        except (AttributeError, OSError, ValueError):
            fileno = None
        if fileno is None:  # an in-memory file object
            f.seek(0)
            self.mem = memoryview(f.read()).cast("B")
            return _layout(self.mem) + (len(self.mem),)
        view = _c.FileView(fileno)  # reads only the header, the index and frame headers
        header, frames, complete = _layout(view)
        return header, frames, complete, len(view)

    def frame_bytes(self, info: _c.FrameInfo) -> memoryview:
        if self.mem is not None:
            return _c.frame_payload(self.mem, info)
        self._file.seek(info.offset)
        data = self._file.read(info.size)
        if len(data) != info.size:
            raise _corrupt(f"the file changed while reading: frame at {info.offset} is short")
        local = _c.FrameInfo(
            offset=0, first=info.first, n_values=info.n_values, kind=info.kind, payload_len=info.payload_len
        )
        return _c.frame_payload(data, local)

    def close(self) -> None:
        if self._owns and self._file is not None:
            self._file.close()
        self._file = None


def _layout(buf: memoryview | _c.FileView) -> tuple[_c.Header, list[_c.FrameInfo], bool]:
    header = _c.read_header(buf)
    frames = _c.read_index(buf, header)
    complete = frames is not None
    if frames is None:
        frames = list(_c.scan_frames(buf, header))
    return header, frames, complete


class StreamReader:
    """Read a ``.qsg`` stream: iterate, read ``n`` samples, seek to any sample.

    Parameters
    ----------
    source : bytes, path or binary file object
        A complete stream, or one cut short (then every complete frame is readable and
        ``complete`` is False).
    max_output_bytes : int
        Largest array ``read`` returns in one call.
    threads : int, optional
        Frames decoded at once when a read spans several (default: ``QUANTSIG_THREADS`` if
        set, else the CPUs, at most 4).

    Attributes
    ----------
    channels, sample_rate, dtype, mode, metadata, complete, n_samples, ndim

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> x = np.cumsum(np.random.default_rng(1).integers(-50, 50, (5000, 2)), axis=0).astype(np.int16)
    >>> r = StreamReader(quantsig.compress(x, lossless=True, frame_size=2000))
    >>> r.channels, len(r), r.dtype
    (2, 5000, dtype('int16'))
    >>> [b.shape for b in r.blocks(2000)]
    [(2000, 2), (2000, 2), (1000, 2)]
    """

    def __init__(
        self,
        source: PathLike | BinaryIO | bytes | memoryview,
        *,
        max_output_bytes: int = 16 << 30,
        threads: int | None = None,
    ) -> None:
        self._src = _Source(source)
        try:
            header, frames, complete, size = self._src.layout()
            doc = header.doc
            if doc.get("kind") != "stream" or doc.get("format", "quantsig") != "quantsig":
                raise _corrupt("the file is not a quantsig stream (use quantsig.load for arrays)")
            self._cfg = _config_from_doc(doc)
            for f in frames:
                if f.kind != _c.FrameKind.STREAM:
                    raise _corrupt(f"frame at offset {f.offset} is not a stream frame")
                if not 1 <= f.n_values <= self._cfg.frame_size:
                    raise _corrupt(
                        f"frame at offset {f.offset} holds {f.n_values} rows (frame_size {self._cfg.frame_size})"
                    )
        except BaseException:
            self._src.close()
            raise
        ndim = doc.get("ndim", 1 if self._cfg.channels == 1 else 2)
        self.ndim = ndim if ndim in (1, 2) and not (ndim == 1 and self._cfg.channels != 1) else 2
        sr = doc.get("sample_rate")
        self.sample_rate = sr if isinstance(sr, (int, float)) and not isinstance(sr, bool) else None
        meta = doc.get("metadata")
        self.metadata: dict[str, Any] = meta if isinstance(meta, dict) else {}
        self.complete = complete
        self.file_bytes = size
        self.header_bytes = header.end
        self._frames = frames
        self._starts = [f.first for f in frames]
        self.n_samples = frames[-1].first + frames[-1].n_values if frames else 0
        self.max_output_bytes = max_output_bytes
        self._pos = 0
        self._decoded: dict[int, np.ndarray] = {}
        self.threads = check_int(_default_threads() if threads is None else threads, "threads", low=1, high=256)
        self._pool: ThreadPoolExecutor | None = None

    # ------------------------------------------------------------------ properties
    @property
    def channels(self) -> int:
        """Columns of each sample (1 for mono)."""
        return self._cfg.channels

    @property
    def dtype(self) -> np.dtype:
        """The sample dtype ``read`` returns (the stream's own)."""
        return self._cfg.dtype

    @property
    def mode(self) -> str:
        """The coding mode: one of ``MODES`` (``"lossless"``, ``"max_abs_error"``, ``"step"``, ``"quantizer"``)."""
        return self._cfg.mode

    @property
    def frames(self) -> int:
        """Number of (complete) frames."""
        return len(self._frames)

    def __len__(self) -> int:
        return self.n_samples

    def describe(self) -> dict[str, Any]:
        """Header facts and sizes (nothing decoded)."""
        n = self.n_samples * self.channels
        cfg = self._cfg
        return {
            "kind": "stream",
            "mode": cfg.mode,
            "dtype": cfg.dtype.str,
            "channels": cfg.channels,
            "samples": self.n_samples,
            "sample_rate": self.sample_rate,
            "frames": len(self._frames),
            "frame_size": cfg.frame_size,
            "complete": self.complete,
            "file_bytes": self.file_bytes,
            "bits_per_sample": 8 * self.file_bytes / n if n else float("nan"),
            "compression_ratio": n * cfg.dtype.itemsize / self.file_bytes if self.file_bytes else float("nan"),
            "step": None if cfg.mode == "quantizer" else cfg.step,
            "max_abs_error": (
                0.0
                if cfg.mode == "lossless"
                else (None if math.isinf(cfg.bound) or cfg.mode == "quantizer" else cfg.bound)
            ),
            "quantizer": None if cfg.quantizer is None else repr(cfg.quantizer),
            "metadata": self.metadata,
        }

    # ------------------------------------------------------------------ reading
    def _frame(self, k: int) -> np.ndarray:
        if k in self._decoded:
            return self._decoded[k]
        info = self._frames[k]
        values = decode_frame(self._cfg, self._src.frame_bytes(info), info.n_values)
        self._decoded.clear()  # keep one frame: the next read is often in the same frame
        self._decoded[k] = values
        return values

    def _decode_many(self, ks: list[int]) -> list[np.ndarray]:
        """Frames ``ks`` decoded, on worker threads when there are several."""
        if self.threads < 2 or len(ks) < 2:
            return [self._frame(k) for k in ks]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads)
        jobs: list[Any] = []
        for k in ks:
            if k in self._decoded:
                jobs.append(self._decoded[k])
            else:
                info = self._frames[k]
                jobs.append(self._pool.submit(decode_frame, self._cfg, self._src.frame_bytes(info), info.n_values))
        return [j if isinstance(j, np.ndarray) else j.result() for j in jobs]

    def tell(self) -> int:
        """The next sample ``read`` returns."""
        return self._pos

    def seek(self, sample: int) -> None:
        """Move to ``sample`` (0 to ``n_samples``; negative counts from the end)."""
        s = check_int(sample, "sample", low=-self.n_samples, high=self.n_samples)
        self._pos = s + self.n_samples if s < 0 else s

    def read(self, n: int = -1) -> np.ndarray:
        """Up to ``n`` samples from the current position (all remaining ones if ``n < 0``)."""
        n = check_int(n, "n")
        remaining = self.n_samples - self._pos
        n = remaining if n < 0 else min(n, remaining)
        nbytes = n * self.channels * self.dtype.itemsize
        if nbytes > self.max_output_bytes:
            raise ValueError(
                f"reading {n} samples needs {nbytes} bytes, above max_output_bytes={self.max_output_bytes}"
            )
        out = np.empty((n, self.channels), self.dtype)
        got = 0
        while got < n:
            # the frames this read still needs, ``threads`` at a time (memory: that many frames)
            k0 = bisect_right(self._starts, self._pos) - 1
            k1 = bisect_right(self._starts, self._pos + (n - got) - 1) - 1
            ks = list(range(k0, min(k1, k0 + max(self.threads, 1) - 1) + 1))
            for k, values in zip(ks, self._decode_many(ks)):
                info = self._frames[k]
                off = self._pos - info.first
                take = min(n - got, info.n_values - off)
                out[got : got + take] = values[off : off + take]
                got += take
                self._pos += take
                if off + take < info.n_values:  # keep a partly read frame for the next read
                    self._decoded = {k: values}
        return out[:, 0] if self.ndim == 1 else out

    def blocks(self, n: int) -> Iterator[np.ndarray]:
        """Iterate from the current position in blocks of ``n`` samples (the last may be shorter)."""
        n = check_int(n, "n", low=1)
        while self._pos < self.n_samples:
            yield self.read(n)

    def __iter__(self) -> Iterator[np.ndarray]:
        """One array per frame, from the current position."""
        while self._pos < self.n_samples:
            k = bisect_right(self._starts, self._pos) - 1
            info = self._frames[k]
            yield self.read(info.first + info.n_values - self._pos)

    def close(self) -> None:
        """Release the file (and the worker threads)."""
        self._src.close()
        self._decoded.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def describe_stream(source: Any) -> dict[str, Any]:
    """``StreamReader.describe`` of a stream (path, bytes or file object).

    Only the header and the index (for a stream cut short, the frame headers) are read;
    nothing is decoded.

    Parameters
    ----------
    source : bytes, path or binary file object
        A stream (complete or cut short).

    Returns
    -------
    dict
        ``kind``, ``mode``, ``dtype`` (NumPy's ``str``, e.g. ``"<i2"``), ``channels``,
        ``samples``, ``sample_rate``, ``frames``, ``frame_size``, ``complete``,
        ``file_bytes``, ``bits_per_sample``, ``compression_ratio``, ``step``,
        ``max_abs_error`` (the bound; 0.0 for lossless, None when there is none),
        ``quantizer`` (its repr, or None) and ``metadata``.

    Raises
    ------
    CorruptFileError
        If ``source`` is not a quantsig stream.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.stream import compress_array, describe_stream
    >>> t = np.arange(400)
    >>> pcm = np.round(np.stack([1000 * np.sin(t / 7), 500 * np.cos(t / 5)], axis=1)).astype(np.int16)
    >>> blob, _ = compress_array(pcm, lossless=True, sample_rate=8000, frame_size=256, metadata={"mic": "A"})
    >>> d = describe_stream(blob)
    >>> d["mode"], d["dtype"], d["channels"], d["samples"], d["sample_rate"], d["frames"]
    ('lossless', '<i2', 2, 400, 8000, 2)
    >>> d["file_bytes"] == len(blob), d["bits_per_sample"] == 8 * len(blob) / pcm.size, d["max_abs_error"]
    (True, True, 0.0)
    >>> d["complete"], d["metadata"]
    (True, {'mic': 'A'})
    >>> cut = describe_stream(blob[:-1])       # a stream cut short: its complete frames remain
    >>> cut["complete"], cut["frames"], cut["samples"]
    (False, 2, 400)
    """
    with StreamReader(source) as r:
        return r.describe()


# =============================================================================== arrays
def compress_array(
    x: Any,
    *,
    bits_per_sample: float | None = None,
    snr_db: float | None = None,
    sample_rate: float | None = None,
    metadata: dict[str, Any] | None = None,
    **mode: Any,
) -> tuple[bytes, StreamStats]:
    """Compress a whole 1-D or 2-D (samples x channels) array as a stream; returns (bytes, stats).

    Parameters
    ----------
    x : array_like
        int8/int16/int32 or float32/float64 samples, shape ``(n,)`` or ``(n, channels)``.
    bits_per_sample : float, optional
        Target rate: the closed-loop LPC residual step is searched so that the bytes written
        (header, tables and index included) are at most this many bits per sample, with the
        smallest error that meets it.
    snr_db : float, optional
        Target quality: the largest step whose SNR is at least this.
    sample_rate : float, optional
        Stored in the header.
    metadata : dict, optional
        Stored in the header.
    **mode
        ``StreamWriter`` options (``lossless``, ``max_abs_error``, ``step``,
        ``quantizer``, ``frame_size``, ``block_size``, ``max_order``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.cumsum(np.random.default_rng(0).standard_normal(4000))
    >>> blob, st = compress_array(x, bits_per_sample=3.0, max_order=4)
    >>> 8 * len(blob) / x.size <= 3.0, st.bits_per_sample == 8 * len(blob) / x.size
    (True, True)
    """
    arr = np.asarray(x)
    if arr.ndim not in (1, 2):
        raise ValueError(f"x must be 1-D (samples) or 2-D (samples x channels), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"x is empty (shape={arr.shape}); nothing to compress")
    targets = [k for k, v in (("bits_per_sample", bits_per_sample), ("snr_db", snr_db)) if v is not None]
    if targets:
        clash = [k for k in ("lossless", "max_abs_error", "step", "quantizer") if mode.get(k) not in (None, False)]
        if len(targets) > 1 or clash:
            raise ValueError(
                f"give one of bits_per_sample=, snr_db=, lossless=, max_abs_error=, step=, quantizer=; got {', '.join(targets + clash)}"
            )
        return _search_step(arr, bits_per_sample, snr_db, sample_rate=sample_rate, metadata=metadata, **mode)
    return _compress_once(arr, sample_rate=sample_rate, metadata=metadata, **mode)


def _compress_once(arr: np.ndarray, **options: Any) -> tuple[bytes, StreamStats]:
    channels = 1 if arr.ndim == 1 else arr.shape[1]
    parts: list[bytes] = []

    class _Sink:
        write = staticmethod(parts.append)

    w = StreamWriter(_Sink(), channels=channels, dtype=arr.dtype, **options)
    try:
        w.write(arr)
    except BaseException:
        w.abort()
        raise
    stats = w.close()
    return b"".join(parts), stats


def _search_step(arr: np.ndarray, bits: float | None, snr: float | None, **options: Any) -> tuple[bytes, StreamStats]:
    """Bisection over the residual step for a rate (bits/sample written) or an SNR target."""
    if bits is not None:
        bits = _check_float_param(bits, "bits_per_sample")
    else:
        try:
            snr = float(snr)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise TypeError(f"snr_db must be a number, got {snr!r}") from None
        if not math.isfinite(snr):
            raise ValueError(f"snr_db must be finite, got {snr}")
    is_int = arr.dtype.kind in "iu"
    if not is_int and not np.all(np.isfinite(arr)):
        raise ValueError("x holds NaN or infinite values; a rate or SNR target cannot be met on them")
    cache: dict[float, tuple[bytes, StreamStats]] = {}

    def run(step: float) -> tuple[bytes, StreamStats]:
        if step not in cache:
            if is_int and step == 1:
                cache[step] = _compress_once(arr, lossless=True, **options)
            else:
                cache[step] = _compress_once(arr, step=step, **options)
            cache[step][1].extra["step"] = step
        return cache[step]

    def ok(step: float) -> bool:
        st = run(step)[1]
        return st.bits_per_sample <= bits if bits is not None else st.snr_db >= snr  # type: ignore[operator]

    span = float(np.max(arr)) - float(np.min(arr))
    span = max(span, 1.0 if is_int else float(np.max(np.abs(arr))) or 1.0)
    # the finest and the coarsest step worth trying (integers: lossless up to four ranges)
    fine: float = 1 if is_int else 2.0 ** (math.log2(span) - 40.0)
    coarse: float = int(min(max(4 * span, 2), 1 << 33)) if is_int else 2.0 ** (math.log2(span) + 2.0)
    if bits is not None:  # a rate: the finest step that meets it
        if ok(fine):
            return run(fine)
        if not ok(coarse):
            raise ValueError(
                f"bits_per_sample={bits} cannot be met: {run(coarse)[1].bits_per_sample:.4f} is the lowest rate reached"
            )
        return run(geometric_bisect(ok, good=coarse, bad=fine, integer=is_int))
    if not ok(fine):  # an SNR: the coarsest step that meets it
        raise ValueError(f"snr_db={snr} cannot be met" + (" even losslessly" if is_int else ""))
    if ok(coarse):
        return run(coarse)
    return run(geometric_bisect(ok, good=fine, bad=coarse, integer=is_int))
