"""Scalar encode by thresholds, decode by table: the kernels behind every non-uniform scalar
quantizer (mu-law, A-law, Lloyd-Max).

Encode counts the thresholds ``<= x`` (cells closed on the left). A bucket table narrows the
search: each sample's float32 bit pattern, made monotone in value (negative numbers have all
bits flipped, positive ones get the sign bit set), is shifted right to a bucket number ``b``;
``table[b]`` is the count of thresholds whose own bucket is below ``b`` and ``table[b + 1]`` the
count of those whose bucket is ``<= b``. Because rounding to float32 is monotone, the exact
answer lies between the two, and a binary search over that (usually empty or one-element)
slice of the float64 thresholds finishes it. The result is exact whatever the table: the table
only makes it fast. This is a logarithm without ``log``: buckets are relatively narrow
everywhere, which suits companding laws and heavy-tailed data alike.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["BUCKET_SHIFT", "float_buckets", "bucket_table", "search_tables", "encode_thresholds", "gather"]

#: 1 sign + 8 exponent + 7 mantissa bits: 65,536 buckets, each 1/128 of an octave wide.
BUCKET_SHIFT = 16
#: Samples rounded to float32 per chunk when the input is float64 (the buffer stays in L1).
CHUNK = 2048


def float_buckets(values: np.ndarray, shift: int = BUCKET_SHIFT) -> np.ndarray:
    """Bucket number of each value (NumPy; the kernels compute the same inline)."""
    with np.errstate(over="ignore"):  # beyond float32: +-inf, still in order
        u = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u[u == 0x80000000] = 0  # -0.0 == +0.0: one bucket for both
    neg = u >= 0x80000000
    key = np.where(neg, u ^ 0xFFFFFFFF, u | 0x80000000)
    return (key >> np.uint64(shift)).astype(np.int64)


def search_tables(thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Tables for ``encode_thresholds``: ``(start, probe, shift, simple)``.

    Picks the coarsest buckets (largest ``shift``, 1/32 to 1/512 of an octave) in which no
    bucket holds two thresholds, so that encoding needs one comparison and no search; when
    thresholds are denser than that anywhere, uses 1/128-octave buckets and searches.
    """
    for shift in (18, 17, 16, 15, 14):
        start, probe = bucket_table(thresholds, shift)
        if not (start[:-1] < 0).any():
            return start, probe, shift, True
    start, probe = bucket_table(thresholds, BUCKET_SHIFT)
    return start, probe, BUCKET_SHIFT, False


def bucket_table(thresholds: np.ndarray, shift: int = BUCKET_SHIFT) -> tuple[np.ndarray, np.ndarray]:
    """Search tables for ``encode_thresholds``.

    Returns ``(start, probe)``: ``start[b]`` is the number of thresholds in buckets ``< b``
    (length ``2**(32-shift) + 1``); ``probe[b]`` is the one threshold in bucket ``b`` (or
    NaN when it holds none). Buckets holding more than one threshold are marked by a
    negative ``probe`` sign trick: ``start`` is stored as ``-1 - start`` there.
    """
    nb = 1 << (32 - shift)
    b = float_buckets(thresholds, shift)
    start = np.searchsorted(b, np.arange(nb + 1), side="left").astype(np.int32)
    count = np.diff(start)
    probe = np.full(nb, np.nan)  # NaN: "v >= probe" is false in a bucket without thresholds
    one = count == 1
    probe[one] = thresholds[start[:-1][one]]
    many = count > 1
    start[:-1][many] = -1 - start[:-1][many]
    return start, probe


@jit(inline="always")
def float32_chunk(x, s0, buf):
    """Round ``x[s0:s0 + m]`` to float32 into ``buf`` (whose uint32 view then holds the bit
    patterns the buckets come from); returns ``m``, at most ``buf.size``."""
    m = min(buf.size, x.size - s0)
    for j in range(m):
        buf[j] = x[s0 + j]
    return m


@jit(inline="always")
def _bucket(u, shift):
    u = u if u != np.uint32(0x80000000) else np.uint32(0)  # -0.0 == +0.0
    key = u ^ (((u >> np.uint32(31)) * np.uint32(0x7FFFFFFF)) | np.uint32(0x80000000))
    return np.int64(key >> np.uint32(shift))


@jit
def _search_many(v, b, t, start):
    """Binary search inside a bucket that holds several thresholds (rare slow path)."""
    a = np.int64(-1 - start[b])
    z = np.int64(start[b + 1])
    if z < 0:
        z = -1 - z
    while a < z:
        mid = (a + z) >> 1
        if t[mid] <= v:
            a = mid + 1
        else:
            z = mid
    return a


@jit
def encode_thresholds(x, ux, t, start, probe, shift, simple, lo, hi, out):
    """``out[j] = #{t <= x[j]}``; returns how many ``x`` are not in ``[lo, hi]``.

    ``simple`` says no bucket holds more than one threshold (see ``search_tables``).

    NaN is never in ``[lo, hi]``; pass finite bounds so that infinities are counted too (the
    caller tells the kinds apart on the rare error path). ``x`` is float32 or float64; its
    float32 bit pattern picks the bucket. For float32 input pass ``ux = x.view(np.uint32)``;
    otherwise an empty uint32 array, and the kernel rounds ``x`` to float32 chunk by chunk.
    """
    n = x.size
    n_out = 0
    if ux.size == n and simple:
        # every bucket holds at most one threshold: a straight-line loop, no search
        for j in range(n):
            v = x[j]
            n_out += not ((v >= lo) & (v <= hi))
            b = _bucket(ux[j], shift)
            out[j] = start[b] + (v >= probe[b])
        return n_out
    if ux.size == n:
        for j in range(n):
            v = x[j]
            n_out += not ((v >= lo) & (v <= hi))
            b = _bucket(ux[j], shift)
            a = start[b]
            out[j] = a + (v >= probe[b]) if a >= 0 else _search_many(v, b, t, start)
        return n_out
    buf = np.empty(CHUNK, np.float32)
    ubuf = buf.view(np.uint32)
    for s0 in range(0, n, CHUNK):
        m = float32_chunk(x, s0, buf)
        for j in range(m):
            v = x[s0 + j]
            n_out += not ((v >= lo) & (v <= hi))
            b = _bucket(ubuf[j], shift)
            a = start[b]
            out[s0 + j] = a + (v >= probe[b]) if a >= 0 else _search_many(v, b, t, start)
    return n_out


@jit
def gather(codes, values, out):
    """``out[j] = values[codes[j]]``; out-of-range codes give ``values[0]`` and are counted."""
    n_bad = 0
    nv = values.size
    for j in range(codes.size):
        c = codes[j]
        ok = (c >= 0) & (c < nv)
        n_bad += not ok
        out[j] = values[c if ok else 0]
    return n_bad
