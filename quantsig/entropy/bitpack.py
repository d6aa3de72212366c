"""Fixed-rate bit packing of unsigned codes: ``encode_raw`` / ``decode_raw``.

``bits`` (1..32) per value, least-significant bit first: value ``i`` occupies stream bits
``[i * bits, (i + 1) * bits)``, its lowest bit first, and stream bit ``j`` is bit ``j % 8`` of
byte ``j // 8``; the unused high bits of the last byte are zero. A block is exactly
``ceil(n * bits / 8)`` bytes with no header (the caller stores ``n`` and ``bits``), so value
``i`` starts at bit ``i * bits``: fixed-rate random access.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_int_vector, check_int
from ..errors import CodeRangeError, CorruptFileError
from ..kernels import bitpack as _k

__all__ = ["encode_raw", "decode_raw", "raw_nbytes"]

_NATIVE = {8: "<u1", 16: "<u2", 32: "<u4"}


def raw_nbytes(n: int, bits: int) -> int:
    """Size in bytes of ``n`` packed values of ``bits`` bits: ``ceil(n * bits / 8)``.

    Examples
    --------
    >>> raw_nbytes(5, 3), raw_nbytes(1000, 12)
    (2, 1500)
    """
    return (n * bits + 7) // 8


def encode_raw(values: Any, bits: int) -> bytes:
    """Pack a 1-D array of unsigned codes into ``bits`` bits each.

    Parameters
    ----------
    values : array_like of int
        Every value in ``[0, 2**bits)``.
    bits : int
        1 to 32.

    Raises
    ------
    CodeRangeError
        When a value is negative or needs more than ``bits`` bits.

    Examples
    --------
    >>> import numpy as np
    >>> encode_raw(np.array([1, 2, 3, 0, 7], dtype=np.uint8), 3).hex()
    'd170'
    >>> decode_raw(bytes.fromhex('d170'), 5, 3, np.uint8).tolist()
    [1, 2, 3, 0, 7]
    """
    bits = check_int(bits, "bits", low=1, high=32)
    arr = as_int_vector(values)
    out = np.zeros(raw_nbytes(arr.size, bits), np.uint8)
    n_bad = int(_k.pack_bits(arr, np.int64(bits), out))
    if n_bad:
        raise CodeRangeError(f"{n_bad} value(s) outside [0, {1 << bits}) cannot be packed in {bits} bits")
    return out.tobytes()


def decode_raw(block: bytes | bytearray | memoryview, n: int, bits: int, dtype: Any) -> np.ndarray:
    """Unpack ``n`` values of ``bits`` bits written by ``encode_raw`` (untrusted input).

    Parameters
    ----------
    block : bytes, bytearray, memoryview or 1-D uint8 array
        Exactly ``ceil(n * bits / 8)`` bytes.
    n : int
        Number of values (the output allocation; the caller checks it).
    bits : int
        1 to 32.
    dtype : integer dtype
        Must hold ``2**bits - 1``.

    Raises
    ------
    CorruptFileError
        When the block length is not ``ceil(n * bits / 8)`` or its padding bits are not zero.

    Examples
    --------
    >>> import numpy as np
    >>> decode_raw(encode_raw(np.array([5, 1000, 0]), 10), 3, 10, np.uint16).tolist()
    [5, 1000, 0]
    >>> decode_raw(bytes(3), 3, 10, np.uint16)
    Traceback (most recent call last):
        ...
    quantsig.errors.CorruptFileError: raw block of 3 bytes, expected 4 for 3 values of 10 bits
    """
    n = check_int(n, "n", low=0)
    bits = check_int(bits, "bits", low=1, high=32)
    dt = np.dtype(dtype)
    if dt.kind not in "iu":
        raise TypeError(f"dtype must be an integer dtype, got {dt}")
    if int(np.iinfo(dt).max) < (1 << bits) - 1:
        raise ValueError(f"dtype {dt} cannot hold {bits}-bit codes")
    if isinstance(block, np.ndarray):
        if block.dtype != np.uint8 or block.ndim != 1:
            raise TypeError(f"block must be bytes or a 1-D uint8 array, got {block.dtype} with ndim={block.ndim}")
        buf = np.ascontiguousarray(block)
    elif isinstance(block, (bytes, bytearray, memoryview)):
        buf = np.frombuffer(block, np.uint8)
    else:
        raise TypeError(f"block must be bytes, bytearray, memoryview or a uint8 array, got {type(block).__name__}")
    expected = raw_nbytes(n, bits)
    if buf.size != expected:
        raise CorruptFileError(f"raw block of {buf.size} bytes, expected {expected} for {n} values of {bits} bits")
    tail = (n * bits) % 8
    if tail and buf[-1] >> tail:
        raise CorruptFileError(f"raw block: the {8 - tail} padding bits of the last byte are not zero")
    if bits in _NATIVE:
        return buf.view(_NATIVE[bits]).astype(dt)
    out = np.empty(n, dt.newbyteorder("="))
    used = int(_k.unpack_bits(buf, np.int64(bits), out))
    if used != expected:  # cannot happen after the length check; the kernel's own guard
        raise CorruptFileError(f"raw block: read {used} bytes of {expected}")
    return out if out.dtype == dt else out.astype(dt)
