"""One chunk in, one ``.qsg`` file out: the coding that the numcodecs and zarr codecs share.

Needs only numpy and quantsig. A chunk of any shape and of any dtype the chosen path takes is
compressed by ``quantsig.compress`` into a complete, self-describing ``.qsg`` file:

* the targets ``lossless``, ``max_abs_error``, ``bits_per_sample`` and ``snr_db`` use the
  predictive stream codec, which codes 1-D series and 2-D ``samples x channels`` arrays. A
  2-D chunk of 64 to 1024 columns and at least 256 rows is coded as columns (twice as fast as
  one long series, and as small); every other chunk as one series in C order, its shape in the
  header's metadata (``"shape"``);
* ``quantizer=`` (or nothing: a 16-bit uniform quantizer over the chunk's range, for floats)
  codes the chunk directly, in its own shape.

Values the codec cannot or must not approximate are kept exactly: NaN and infinities (the
quantizers need finite input), and on request one more value (a zarr array's fill value, so a
missing-data sentinel stays a sentinel). Their positions (a bit mask) and their raw bytes go
zlib-compressed into the header's metadata (``"exact"``), and the coded series gets the
previous other value in their place, which costs the predictor nothing (zeros for an
``snr_db`` target, so that they add no signal energy to the SNR the coder measures).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import threading
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import container as _c
from ..api import compress, decompress
from ..codec import DEFAULT_MAX_OUTPUT_BYTES
from ..errors import CorruptFileError
from ..quantizers.base import Quantizer
from ..registry import get_quantizer
from ..stream import MAX_CHANNELS, compress_array

__all__ = ["ChunkOptions", "encode_chunk", "decode_chunk", "TARGETS"]

TARGETS = ("lossless", "max_abs_error", "bits_per_sample", "snr_db")
_ENTROPY = ("rans", "raw")
_STREAM_DTYPES = ("int8", "int16", "int32", "uint8", "uint16", "uint32", "float32", "float64")
_CODEC_DTYPES = ("float32", "float64", "int16")  # what quantsig.Codec stores
# the 2-D chunks coded as columns (see the module docstring)
_MIN_COLUMNS, _MIN_ROWS = 64, 256


def _corrupt(msg: str) -> CorruptFileError:
    return CorruptFileError(f"corrupt quantsig chunk: {msg}")


def _positive_number(value: Any, name: str, *, allow_zero: bool = False, allow_negative: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if not allow_negative and (v < 0 or (v == 0 and not allow_zero)):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return v


@dataclass(frozen=True)
class ChunkOptions:
    """What a chunk codec was asked for: the options of ``quantsig.compress``.

    Build it with ``create``, which checks every value; instances are immutable and
    hashable (the quantizer config is held as canonical JSON text).

    Examples
    --------
    >>> from quantsig.zarr import ChunkOptions
    >>> opts = ChunkOptions.create(max_abs_error=1e-3)
    >>> opts.config()
    {'max_abs_error': 0.001}
    >>> ChunkOptions.create(**opts.config()) == opts
    True
    >>> ChunkOptions.create(lossless=True, max_abs_error=0.5)
    Traceback (most recent call last):
    ...
    ValueError: give one of lossless=True, max_abs_error=, bits_per_sample=, snr_db= or quantizer=, not lossless and max_abs_error
    """

    lossless: bool = False
    max_abs_error: float | None = None
    bits_per_sample: float | None = None
    snr_db: float | None = None
    quantizer_json: str | None = None
    entropy: str = "rans"

    @classmethod
    def create(
        cls,
        *,
        lossless: bool = False,
        max_abs_error: float | None = None,
        bits_per_sample: float | None = None,
        snr_db: float | None = None,
        quantizer: Quantizer | dict[str, Any] | str | None = None,
        entropy: str = "rans",
    ) -> ChunkOptions:
        """Check the options and build them (see ``quantsig.compress`` for their meaning).

        ``quantizer`` may be a ``Quantizer``, its config dict (``{"id": ...}``)
        or that config as JSON text.
        """
        if not isinstance(lossless, (bool, np.bool_)):
            raise TypeError(f"lossless must be True or False, got {lossless!r}")
        given = [
            name
            for name, v in zip(TARGETS, (lossless or None, max_abs_error, bits_per_sample, snr_db))
            if v is not None
        ]
        if quantizer is not None:
            given.append("quantizer")
        if len(given) > 1:
            raise ValueError(
                "give one of lossless=True, max_abs_error=, bits_per_sample=, snr_db= or quantizer=, "
                f"not {' and '.join(given)}"
            )
        if max_abs_error is not None:
            max_abs_error = _positive_number(max_abs_error, "max_abs_error")
        if bits_per_sample is not None:
            bits_per_sample = _positive_number(bits_per_sample, "bits_per_sample")
        if snr_db is not None:
            snr_db = _positive_number(snr_db, "snr_db", allow_negative=True)
        if not isinstance(entropy, str) or entropy not in _ENTROPY:
            raise ValueError(f"entropy must be one of {', '.join(map(repr, _ENTROPY))}, got {entropy!r}")
        if entropy != "rans" and given and given[0] in TARGETS:
            raise ValueError(
                f"entropy={entropy!r} applies to quantizer= (or no option); {given[0]}= uses the stream codec"
            )
        q_json = None
        if quantizer is not None:
            q = quantizer if isinstance(quantizer, Quantizer) else get_quantizer(quantizer)
            try:
                q_json = json.dumps(q.get_config(), sort_keys=True, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError) as e:
                raise TypeError(f"the quantizer's config is not JSON-serializable: {e}") from None
        return cls(bool(lossless), max_abs_error, bits_per_sample, snr_db, q_json, entropy)

    @property
    def quantizer_config(self) -> dict[str, Any] | None:
        """The quantizer's config dict, or ``None``."""
        return None if self.quantizer_json is None else json.loads(self.quantizer_json)

    def quantizer(self) -> Quantizer | None:
        """A new quantizer from the config (a learned one is fitted on each chunk), or ``None``."""
        config = self.quantizer_config
        return None if config is None else get_quantizer(config)

    @property
    def target(self) -> dict[str, Any]:
        """The stream target as keyword arguments of ``quantsig.compress`` (may be empty)."""
        values = (self.lossless or None, self.max_abs_error, self.bits_per_sample, self.snr_db)
        return {k: v for k, v in zip(TARGETS, values) if v is not None}

    @property
    def lossy(self) -> bool:
        """Whether decoded values may differ from the input."""
        return not self.lossless

    def config(self) -> dict[str, Any]:
        """The options that differ from their defaults, JSON-native."""
        out: dict[str, Any] = dict(self.target)
        if self.quantizer_json is not None:
            out["quantizer"] = self.quantizer_config
        if self.entropy != "rans":
            out["entropy"] = self.entropy
        return out

    def describe(self) -> str:
        """``key=value`` pairs, for reprs."""
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items())

    def check_dtype(self, dtype: Any) -> np.dtype:
        """Raise ``TypeError`` unless chunks of ``dtype`` can be coded with these options."""
        dt = np.dtype(dtype)
        name = dt.name  # byte order aside
        if self.target:
            if name not in _STREAM_DTYPES:
                raise TypeError(f"{', '.join(self.target)}= codes {', '.join(_STREAM_DTYPES)} data, not {dt}")
            if self.lossless and dt.kind == "f":
                raise TypeError(
                    f"lossless=True is for integer data; {dt} data needs max_abs_error= (or bits_per_sample=, snr_db=)"
                )
            return dt
        q = self.quantizer()
        if q is None:
            if dt.kind != "f" or name not in _CODEC_DTYPES:
                raise TypeError(
                    f"with no option, float32/float64 chunks get a 16-bit uniform quantizer; {dt} data needs "
                    "one of lossless=True, max_abs_error=, bits_per_sample=, snr_db= or quantizer="
                )
            return dt
        if name not in q.input_dtypes or name not in _CODEC_DTYPES:
            raise TypeError(f"{q!r} does not code {dt} data (it takes {', '.join(q.input_dtypes)})")
        return dt


# ---------------------------------------------------------------------------- exact values
def _b64(data: bytes) -> str:
    return base64.b64encode(zlib.compress(data)).decode("ascii")


def _unb64(text: Any, size: int, what: str) -> bytes:
    """Decode base64 + zlib text to exactly ``size`` bytes, never inflating more than that."""
    if not isinstance(text, str):
        raise _corrupt(f"exact-value {what} is not text")
    try:
        packed = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise _corrupt(f"exact-value {what} is not valid base64") from None
    d = zlib.decompressobj()
    try:
        raw = d.decompress(packed, size + 1)
    except zlib.error as e:
        raise _corrupt(f"exact-value {what} does not inflate ({e})") from None
    if len(raw) != size or not d.eof or d.unconsumed_tail:
        raise _corrupt(
            f"exact-value {what} inflates to {len(raw)}{'+' if len(raw) > size else ''} bytes, expected {size}"
        )
    return raw


def _keep_mask(flat: np.ndarray, keep: Any) -> np.ndarray | None:
    """Where ``flat`` holds NaN/inf or the value ``keep``; ``None`` if nowhere."""
    mask: np.ndarray | None = None
    if flat.dtype.kind == "f":
        finite = np.isfinite(flat)
        if not finite.all():
            mask = ~finite
    if keep is not None:
        k = np.asarray(keep)
        if k.dtype.kind in "fiub" and k.size == 1 and bool(np.isfinite(k)):
            kval = k.astype(flat.dtype) if np.can_cast(k.dtype, flat.dtype, "same_kind") else None
            if kval is not None and kval == k:  # the fill value is representable in the chunk's dtype
                hit = flat == kval
                if hit.any():
                    mask = hit if mask is None else mask | hit
    return mask


def _forward_fill(flat: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``flat`` with each masked value replaced by the previous unmasked one (the first
    unmasked one before it; zero when all are masked)."""
    if mask.all():
        return np.zeros_like(flat)
    idx = np.where(mask, 0, np.arange(flat.size))
    np.maximum.accumulate(idx, out=idx)
    first = int(np.argmin(mask))  # the first unmasked position
    idx[:first] = first
    return flat[idx]


# ---------------------------------------------------------------------------- encode / decode
def _layout(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The 1-D or 2-D shape the stream codec gets for a chunk of ``shape``."""
    if len(shape) == 2 and _MIN_COLUMNS <= shape[1] <= MAX_CHANNELS and shape[0] >= _MIN_ROWS:
        return shape
    return (math.prod(shape),)


def _threads() -> int | None:
    """Frame threads for one chunk: the stream default on the main thread, one elsewhere.

    A chunk coded off the main thread is one task of a parallel writer (a Dask worker thread,
    zarr's own pool), which already keeps the cores busy; threads of our own would only
    compete with it (numcodecs' Blosc decides the same way)."""
    return None if threading.current_thread() is threading.main_thread() else 1


def encode_chunk(x: Any, options: ChunkOptions, *, keep: Any = None) -> bytes:
    """Compress one chunk into the bytes of a ``.qsg`` file that ``decode_chunk`` reads.

    Parameters
    ----------
    x : array_like
        The chunk, any shape (not empty).
    options : ChunkOptions
        How to code it.
    keep : scalar, optional
        A value to keep exactly wherever it occurs (e.g. an array's fill value). NaN and
        infinities are always kept exactly. Lossless coding keeps everything anyway.

    Returns
    -------
    bytes

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.zarr import ChunkOptions, encode_chunk, decode_chunk
    >>> x = np.sin(np.arange(3 * 4 * 50) / 9).reshape(3, 4, 50).astype(np.float32)
    >>> x[0, 0, :5] = np.nan
    >>> blob = encode_chunk(x, ChunkOptions.create(max_abs_error=1e-3))
    >>> y = decode_chunk(blob)
    >>> y.shape, y.dtype, bool(np.isnan(y[0, 0, :5]).all())
    ((3, 4, 50), dtype('float32'), True)
    >>> bool(np.nanmax(np.abs(y - x)) <= 1e-3), len(blob) < x.nbytes / 3
    (True, True)
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"a chunk must hold numbers, got dtype={arr.dtype}")
    options.check_dtype(arr.dtype)
    if arr.size == 0:
        raise ValueError(f"the chunk is empty (shape={arr.shape}); nothing to compress")
    arr = np.asarray(arr, dtype=arr.dtype.newbyteorder("="), order="C")  # (ascontiguousarray makes 0-d 1-d)
    shape = arr.shape
    meta: dict[str, Any] = {}
    flat = arr.reshape(-1)
    mask = _keep_mask(flat, keep if options.lossy else None)
    if mask is not None:
        kept = flat[mask]
        meta["exact"] = {
            "n": int(kept.size),
            "mask": _b64(np.packbits(mask).tobytes()),
            "values": _b64(kept.astype(kept.dtype.newbyteorder("<")).tobytes()),
        }
        # an SNR target is met on the coded values: zeros there add no signal energy, so the
        # SNR of the other values is at least the target
        flat = np.where(mask, flat.dtype.type(0), flat) if options.snr_db is not None else _forward_fill(flat, mask)
    if options.target:
        coded = _layout(shape)
        if coded != shape:
            meta["shape"] = list(shape)
        blob, _ = compress_array(flat.reshape(coded), metadata=meta or None, threads=_threads(), **options.target)
        return blob
    return compress(flat.reshape(shape), options.quantizer(), entropy=options.entropy, metadata=meta or None)


def decode_chunk(
    data: Any,
    *,
    shape: tuple[int, ...] | None = None,
    dtype: Any = None,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
) -> np.ndarray:
    """Decode the bytes of ``encode_chunk`` to the chunk (its shape and dtype).

    Parameters
    ----------
    data : bytes-like
        The ``.qsg`` bytes (bytes, bytearray, memoryview or a contiguous numpy array).
    shape, dtype : optional
        What the caller expects; a chunk that decodes to anything else raises.
    max_output_bytes : int
        Refuse a header that claims more decoded bytes than this.

    Returns
    -------
    ndarray
        The chunk: its shape and dtype (``dtype`` as given, byte order included), NaN,
        infinities and kept values restored exactly.

    Raises
    ------
    CorruptFileError
        Truncated, damaged or forged bytes, or a chunk of another shape or dtype than expected.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.zarr import ChunkOptions, decode_chunk, encode_chunk
    >>> x = (100 * np.sin(np.arange(240) / 6)).astype(np.int16).reshape(4, 6, 10)
    >>> blob = encode_chunk(x, ChunkOptions.create(lossless=True))
    >>> y = decode_chunk(blob, shape=(4, 6, 10), dtype="int16")
    >>> y.shape, y.dtype, np.array_equal(y, x)
    ((4, 6, 10), dtype('int16'), True)
    >>> decode_chunk(np.frombuffer(blob, np.uint8)).shape    # a uint8 buffer (zarr's) works too
    (4, 6, 10)
    >>> decode_chunk(blob, shape=(24, 10))
    Traceback (most recent call last):
    ...
    quantsig.errors.CorruptFileError: corrupt quantsig chunk: the chunk decodes to shape (4, 6, 10), expected (24, 10)
    >>> decode_chunk(blob[:-8])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    quantsig.errors.CorruptFileError: corrupt quantsig stream: the file is truncated: ...
    """
    if isinstance(data, np.ndarray):
        if not data.flags.c_contiguous:
            raise TypeError("data must be a contiguous buffer")
        buf = data.reshape(-1).view(np.uint8).data
    elif isinstance(data, (bytes, bytearray, memoryview)):
        buf = memoryview(data).cast("B")
    else:
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    y = decompress(buf, max_output_bytes=max_output_bytes)
    meta = _c.read_header(buf).doc.get("metadata", {})
    if not isinstance(meta, dict):
        raise _corrupt("the header's metadata is not a dict")
    out_shape = y.shape
    if "shape" in meta:
        s = meta["shape"]
        if (
            not isinstance(s, list)
            or len(s) > _c.MAX_NDIM
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in s)
            or math.prod(s) != y.size
        ):
            raise _corrupt(f"invalid chunk shape {s!r} for {y.size} decoded values")
        out_shape = tuple(s)
    if "exact" in meta:
        y = _restore_exact(y.reshape(-1), meta["exact"])
    y = y.reshape(out_shape)
    if shape is not None and tuple(shape) != y.shape:
        raise _corrupt(f"the chunk decodes to shape {y.shape}, expected {tuple(shape)}")
    if dtype is not None:
        want = np.dtype(dtype)
        if want.newbyteorder("=") != y.dtype.newbyteorder("="):
            raise _corrupt(f"the chunk decodes to dtype {y.dtype}, expected {want}")
        y = y.astype(want, copy=False)
    return y


def _restore_exact(flat: np.ndarray, info: Any) -> np.ndarray:
    if not isinstance(info, dict):
        raise _corrupt("exact-value record is not a dict")
    n = info.get("n")
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= flat.size:
        raise _corrupt(f"exact-value count {n!r} is not within [0, {flat.size}]")
    mask = np.unpackbits(
        np.frombuffer(_unb64(info.get("mask"), (flat.size + 7) // 8, "mask"), np.uint8), count=flat.size
    ).astype(bool)
    if int(np.count_nonzero(mask)) != n:
        raise _corrupt(f"exact-value mask marks {int(np.count_nonzero(mask))} positions, the count says {n}")
    values = np.frombuffer(_unb64(info.get("values"), n * flat.dtype.itemsize, "values"), flat.dtype.newbyteorder("<"))
    out = flat.copy() if not flat.flags.writeable else flat
    out[mask] = values
    return out
