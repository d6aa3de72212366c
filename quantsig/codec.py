"""One codec: a quantizer plus an entropy coder, writing self-describing ``.qsg`` bytes.

A file holds the quantizer's full config (learned arrays as exact binary), the array's shape
and dtype, and the codes in frames (rANS-coded, or bit-packed for fixed-rate random access),
so it decodes with no knowledge beyond the file.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from . import container as _c
from . import entropy as _entropy
from ._validation import check_choice, check_int, smallest_uint
from .errors import CodeRangeError, CorruptFileError
from .quantizers.base import Quantizer
from .registry import get_quantizer

__all__ = ["Codec", "DEFAULT_FRAME_SIZE", "DEFAULT_MAX_OUTPUT_BYTES", "decode_bytes", "decode_codes", "describe"]

DEFAULT_FRAME_SIZE = 1 << 20
#: Largest decoded array (bytes) a reader allocates unless told otherwise: a forged header
#: claiming 10**12 samples is refused instead of exhausting memory.
DEFAULT_MAX_OUTPUT_BYTES = 16 << 30
_ENTROPY = ("rans", "raw")
_DATA_DTYPES = {"f4", "f8", "i2"}
# dtype strings a file may name: parsed only from these lists, never from arbitrary text
_DATA_DTYPE_STRS = {e + k for e in "<>" for k in _DATA_DTYPES}
_CODE_DTYPE_STRS = {"|u1", "<u2", "<u4", "<u8", "<i4"}


class Codec:
    """A quantizer and an entropy coder: ``compress(x) -> bytes``, ``decompress(b) -> x_hat``.

    Parameters
    ----------
    quantizer : Quantizer, optional
        Any quantsig quantizer. One that must learn (e.g. Lloyd-Max, or a uniform quantizer
        given only ``bits``) is fitted on the data at ``compress`` unless already fitted.
        Default: ``UniformQuantizer(bits=16)`` over the data's range.
    entropy : {"rans", "raw"}
        rANS entropy coding of the codes (the file size follows their entropy), or
        fixed-rate bit packing (``ceil(log2(levels))`` bits per code; 32 for unbounded codes).
    frame_size : int
        Codes per frame (each frame has its own model and checksum).

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> x = np.random.default_rng(0).standard_normal(10_000).astype(np.float32)
    >>> codec = quantsig.Codec(quantsig.UniformQuantizer(step=0.05))
    >>> blob = codec.compress(x)
    >>> y = codec.decompress(blob)
    >>> y.dtype, y.shape, bool(np.abs(y - x).max() <= 0.025 + 1e-7)
    (dtype('float32'), (10000,), True)
    >>> len(blob) < x.nbytes / 4
    True
    """

    def __init__(
        self, quantizer: Quantizer | None = None, entropy: str = "rans", frame_size: int = DEFAULT_FRAME_SIZE
    ) -> None:
        if quantizer is not None and not isinstance(quantizer, Quantizer):
            raise TypeError(f"quantizer must be a quantsig Quantizer, got {type(quantizer).__name__}")
        self.quantizer = quantizer
        self.entropy = check_choice(entropy, "entropy", _ENTROPY)
        self.frame_size = check_int(frame_size, "frame_size", low=1, high=_c.MAX_FRAME_VALUES)

    def __repr__(self) -> str:
        return f"Codec({self.quantizer!r}, entropy={self.entropy!r}, frame_size={self.frame_size})"

    def get_config(self) -> dict[str, Any]:
        """JSON-native config: quantizer config, entropy coder and frame size."""
        return {
            "quantizer": None if self.quantizer is None else self.quantizer.get_config(),
            "entropy": self.entropy,
            "frame_size": self.frame_size,
        }

    # ------------------------------------------------------------------ encode
    def _quantizer_for(self, x: np.ndarray) -> Quantizer:
        if self.quantizer is not None:
            q = self.quantizer
        elif x.dtype.kind == "f":
            from .quantizers.uniform import UniformQuantizer

            q = UniformQuantizer(bits=16)
        else:
            raise TypeError(
                f"no default quantizer for dtype {x.dtype}; pass quantizer= (e.g. G711Quantizer() for int16 PCM)"
            )
        if q.requires_fit and not q.is_fitted():
            q = type(q).from_config(q.get_config()).fit(x)
        return q

    def compress(self, x: Any, metadata: dict[str, Any] | None = None) -> bytes:
        """Quantize and encode ``x``; returns the bytes of a complete ``.qsg`` file.

        Parameters
        ----------
        x : array_like
            float32/float64 data (int16 PCM for G.711), any shape.
        metadata : dict, optional
            JSON-serializable user metadata stored in the header.
        """
        parts: list[bytes] = []
        self.write(parts.append, x, metadata)
        return b"".join(parts)

    def write(self, write: Any, x: Any, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        """Encode ``x`` through ``write`` (a callable taking bytes); returns the header doc."""
        arr = np.asarray(x)
        if arr.dtype.kind not in "fi" or arr.dtype.str[1:] not in _DATA_DTYPES:
            raise TypeError(f"x must be float32, float64 or int16, got dtype={arr.dtype}")
        if arr.size == 0:
            raise ValueError(f"x is empty (shape={arr.shape}); nothing to compress")
        native = arr.astype(arr.dtype.newbyteorder("="), copy=False)
        q = self._quantizer_for(native)
        return self.write_codes(write, q, q.encode(native), arr.shape, arr.dtype, metadata)

    def write_codes(
        self,
        write: Any,
        quantizer: Quantizer,
        codes: np.ndarray,
        shape: tuple[int, ...],
        dtype: Any,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write a file of codes already made by ``quantizer.encode`` on data of ``shape`` and
        ``dtype`` (for callers that compute the codes themselves); returns the header doc."""
        dt = np.dtype(dtype)
        if dt.kind not in "fi" or dt.str[1:] not in _DATA_DTYPES:
            raise TypeError(f"dtype must be float32, float64 or int16, got {dt}")
        n_levels = quantizer.n_levels
        expected = np.dtype(np.int32) if n_levels is None else smallest_uint(n_levels)
        if codes.dtype != expected:
            raise TypeError(f"codes have dtype {codes.dtype}; {quantizer!r} makes {expected}")
        dim = quantizer.dim
        if codes.size * dim != math.prod(shape):
            raise ValueError(f"{codes.size} codes of dim {dim} do not fill shape {tuple(shape)}")
        doc = {
            "format": "quantsig",
            "kind": "array",
            "quantizer": quantizer.get_config(),
            "entropy": self.entropy,
            "frame_size": self.frame_size,
            "shape": list(shape),
            "dtype": dt.str,
            "codes": {"dtype": codes.dtype.str, "count": int(codes.size)},
            "metadata": metadata if metadata is not None else {},
        }
        _check_metadata(doc["metadata"])
        w = _c.ContainerWriter(write, doc)
        flat = codes.reshape(-1)
        bits = _raw_bits(n_levels)
        for start in range(0, flat.size, self.frame_size):
            chunk = np.ascontiguousarray(flat[start : start + self.frame_size])
            if self.entropy == "rans":
                w.add_frame(_c.FrameKind.RANS, chunk.size, _entropy.encode_symbols(chunk))
            else:
                w.add_frame(_c.FrameKind.RAW, chunk.size, _entropy.encode_raw(_as_unsigned(chunk), bits))
        w.close()
        return doc

    # ------------------------------------------------------------------ decode
    @staticmethod
    def decompress(data: bytes | memoryview, max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES) -> np.ndarray:
        """Decode a ``.qsg`` byte string; everything needed is read from it.

        Raises
        ------
        CorruptFileError
            Anything wrong with the bytes (truncation, damage, forgery, a claimed size above
            ``max_output_bytes``).
        """
        return decode_bytes(data, max_output_bytes)


# ---------------------------------------------------------------------------- helpers
def _raw_bits(n_levels: int | None) -> int:
    return 32 if n_levels is None else max(1, math.ceil(math.log2(n_levels)))


def _as_unsigned(codes: np.ndarray) -> np.ndarray:
    return codes.view(np.uint32) if codes.dtype == np.int32 else codes


def _check_metadata(meta: Any) -> None:
    if not isinstance(meta, dict):
        raise TypeError(f"metadata must be a dict, got {type(meta).__name__}")
    try:
        json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise TypeError(f"metadata must be JSON-serializable: {e}") from None


def _corrupt(msg: str) -> CorruptFileError:
    return CorruptFileError(f"corrupt quantsig file: {msg}")


class _Plan:
    """What a verified header says: quantizer, shape, dtypes, counts."""

    def __init__(self, header: _c.Header, max_output_bytes: int) -> None:
        doc = header.doc
        if doc.get("format") != "quantsig" or doc.get("kind") != "array":
            raise _corrupt("header does not describe a quantsig array")
        try:
            self.quantizer = get_quantizer(doc["quantizer"])
        except CorruptFileError:
            raise
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise _corrupt(f"invalid quantizer config in header ({e})") from None
        self.entropy = doc.get("entropy")
        if self.entropy not in _ENTROPY:
            raise _corrupt(f"unknown entropy coder {self.entropy!r}")
        fs = doc.get("frame_size")
        if not isinstance(fs, int) or isinstance(fs, bool) or not 1 <= fs <= _c.MAX_FRAME_VALUES:
            raise _corrupt(f"invalid frame_size {fs!r}")
        self.frame_size = fs
        shape = doc.get("shape")
        if (
            not isinstance(shape, list)
            or len(shape) > _c.MAX_NDIM
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
        ):
            raise _corrupt(f"invalid shape {shape!r}")
        self.shape = tuple(shape)
        codes = doc.get("codes")
        dstr = doc.get("dtype")
        if dstr not in _DATA_DTYPE_STRS:
            raise _corrupt(f"unsupported data dtype {dstr!r}")
        if not isinstance(codes, dict) or codes.get("dtype") not in _CODE_DTYPE_STRS:
            raise _corrupt(f"invalid code information {codes!r}")
        count = codes.get("count")
        if not isinstance(count, int) or isinstance(count, bool):
            raise _corrupt(f"invalid code count {count!r}")
        self.dtype = np.dtype(dstr)
        self.code_dtype = np.dtype(codes["dtype"])
        if self.dtype.newbyteorder("=").name not in self.quantizer.input_dtypes:
            raise _corrupt(f"data dtype {dstr} is not one {self.quantizer!r} encodes")
        size = math.prod(self.shape)
        if size == 0:
            raise _corrupt("shape holds no samples")
        if size * self.dtype.itemsize > max_output_bytes:
            raise _corrupt(
                f"header claims {size} samples ({size * self.dtype.itemsize} bytes), more than "
                f"max_output_bytes={max_output_bytes}; raise the limit if you trust this file"
            )
        dim = self.quantizer.dim
        if dim > 1 and (self.shape == () or self.shape[-1] % dim):
            raise _corrupt(f"shape {self.shape} does not fit a quantizer of dim={dim}")
        self.n_codes = size // dim
        if count != self.n_codes:
            raise _corrupt(f"header says {count!r} codes but shape {self.shape} needs {self.n_codes}")
        n_levels = self.quantizer.n_levels
        expected = np.dtype(np.int32) if n_levels is None else smallest_uint(n_levels)
        if self.code_dtype != expected:
            raise _corrupt(f"code dtype {self.code_dtype} does not match the quantizer ({expected})")
        self.bits = _raw_bits(n_levels)
        self.code_shape = self.shape[:-1] + (self.shape[-1] // dim,) if self.shape else ()


def _decode_frame(plan: _Plan, buf: memoryview, info: _c.FrameInfo, out: np.ndarray) -> None:
    if info.n_values > plan.frame_size:
        raise _corrupt(f"frame at offset {info.offset} holds {info.n_values} codes, above frame_size {plan.frame_size}")
    want = _c.FrameKind.RANS if plan.entropy == "rans" else _c.FrameKind.RAW
    if info.kind != want:
        raise _corrupt(f"frame at offset {info.offset} is {_c.FrameKind.NAMES[info.kind]}, expected {plan.entropy}")
    payload = _c.frame_payload(buf, info)
    if plan.entropy == "rans":
        vals = _entropy.decode_symbols(payload, info.n_values, plan.code_dtype)
    else:
        raw_dtype = np.dtype(np.uint32) if plan.code_dtype == np.int32 else plan.code_dtype
        vals = _entropy.decode_raw(payload, info.n_values, plan.bits, raw_dtype).view(plan.code_dtype)
    out[info.first : info.first + info.n_values] = vals


def decode_codes(
    data: bytes | memoryview, max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
) -> tuple[Quantizer, np.ndarray, tuple[int, ...], np.dtype]:
    """The quantizer, the codes (in their code shape), the data shape and the data dtype of a
    complete ``.qsg`` array file held in memory, without decoding the codes to values.

    The code shape is the data shape with its last axis divided by the quantizer's ``dim``
    (the same shape for scalar quantizers).

    Raises
    ------
    CorruptFileError
        Anything wrong with the bytes, or a claimed size above ``max_output_bytes``.

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> from quantsig.codec import decode_codes
    >>> x = np.linspace(-1, 1, 600, dtype=np.float32).reshape(2, 300)
    >>> blob = quantsig.compress(x, quantsig.MuLawQuantizer(bits=8))
    >>> q, codes, shape, dtype = decode_codes(blob)
    >>> q, codes.dtype, codes.shape, shape, dtype
    (MuLawQuantizer(), dtype('uint8'), (2, 300), (2, 300), dtype('float32'))
    >>> np.array_equal(codes, q.encode(x)), np.array_equal(q.decode(codes, dtype), quantsig.decompress(blob))
    (True, True)
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    buf = memoryview(data).cast("B")
    header = _c.read_header(buf)
    plan = _Plan(header, max_output_bytes)
    frames = _c.read_index(buf, header)
    if frames is None:
        n_ok = sum(f.n_values for f in _c.scan_frames(buf, header))
        raise _corrupt(
            f"the file is truncated: its index is missing ({n_ok} of {plan.n_codes} codes are in complete frames)"
        )
    total = sum(f.n_values for f in frames)
    if total != plan.n_codes:
        raise _corrupt(f"frames hold {total} codes but the header says {plan.n_codes}")
    codes = np.empty(plan.n_codes, dtype=plan.code_dtype)
    for info in frames:
        _decode_frame(plan, buf, info, codes)
    return plan.quantizer, codes.reshape(plan.code_shape), plan.shape, plan.dtype


def decode_bytes(data: bytes | memoryview, max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES) -> np.ndarray:
    """Decode a complete ``.qsg`` file held in memory (see ``Codec.decompress``).

    ``quantsig.decompress`` also reads streams and refuses weights archives; this reads
    array files (made by ``Codec`` or ``quantsig.compress`` with a quantizer) only.

    Raises
    ------
    CorruptFileError
        Anything wrong with the bytes, or a claimed size above ``max_output_bytes``.

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> from quantsig.codec import Codec, decode_bytes
    >>> x = np.random.default_rng(0).standard_normal((4, 250))
    >>> blob = Codec(quantsig.UniformQuantizer(step=0.1), entropy="raw").compress(x)
    >>> y = decode_bytes(blob)
    >>> y.shape, y.dtype, bool(np.abs(y - x).max() <= 0.05 + 1e-12)
    ((4, 250), dtype('float64'), True)
    >>> decode_bytes(blob[:100])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    quantsig.errors.CorruptFileError: corrupt quantsig file: header is truncated: ...
    """
    quantizer, codes, shape, dtype = decode_codes(data, max_output_bytes)
    try:
        values = quantizer.decode(codes, dtype=dtype.newbyteorder("="))
    except CodeRangeError as e:
        raise _corrupt(f"decoded codes do not fit the quantizer ({e})") from None
    return values.reshape(shape).astype(dtype, copy=False)


def describe(data: bytes | memoryview | _c.FileView) -> dict[str, Any]:
    """What a ``.qsg`` file holds, read from its header and index without decoding payloads.

    Returns
    -------
    dict
        ``format_version``, ``shape``, ``dtype``, ``quantizer`` (repr),
        ``quantizer_config``, ``entropy``, ``levels``, ``frames``, ``frame_size``,
        ``complete`` (whether the file has its index), ``file_bytes``, ``header_bytes``,
        ``payload_bytes``, ``bits_per_sample``, ``compression_ratio`` and ``metadata``.

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> from quantsig.codec import Codec, describe
    >>> x = np.sin(np.arange(1000) / 10).astype(np.float32)
    >>> blob = Codec(quantsig.MuLawQuantizer(bits=8), frame_size=256).compress(x, metadata={"units": "V"})
    >>> d = describe(blob)
    >>> d["shape"], d["dtype"], d["quantizer"], d["levels"], d["frames"], d["complete"], d["metadata"]
    ((1000,), '<f4', 'MuLawQuantizer()', 256, 4, True, {'units': 'V'})
    >>> d["file_bytes"] == len(blob), bool(d["compression_ratio"] > 2)
    (True, True)

    A file cut off before its index still shows its complete frames:

    >>> d = describe(blob[:-120])  # the index takes the last 104 bytes
    >>> d["complete"], d["frames"]
    (False, 3)
    """
    buf = _c._view(data)
    header = _c.read_header(buf)
    plan = _Plan(header, max_output_bytes=1 << 62)
    frames = _c.read_index(buf, header)
    complete = frames is not None
    if frames is None:
        frames = list(_c.scan_frames(buf, header))
    payload = sum(f.payload_len for f in frames)
    size = math.prod(plan.shape)
    q = plan.quantizer
    return {
        "format_version": header.version,
        "shape": plan.shape,
        "dtype": plan.dtype.str,
        "quantizer": repr(q),
        "quantizer_config": q.get_config(),
        "entropy": plan.entropy,
        "levels": q.n_levels,
        "frames": len(frames),
        "frame_size": plan.frame_size,
        "complete": complete,
        "file_bytes": len(buf),
        "header_bytes": header.end,
        "payload_bytes": payload,
        "bits_per_sample": 8 * len(buf) / size,
        "compression_ratio": size * plan.dtype.itemsize / len(buf),
        "metadata": header.doc.get("metadata", {}),
    }
