"""Self-contained rANS blocks of integer symbols: ``encode_symbols`` / ``decode_symbols``.

A block carries its own header (count, value window, model precision, serialized frequency
table, escapes) and the rANS payload; the exact byte layout is in ``docs/entropy.md``.

Encoding chooses a *window* ``[lo, hi]`` of at most 65,536 consecutive values that are coded
directly as symbols ``v - lo``; every other value is coded as one extra symbol, ESC, plus its
distance from the window in a side stream of Exp-Golomb codes. The window is chosen from the
counts: first the densest span of 65,535 values when the data range is wider (a bucket
histogram, refined until the span fits), then its sparse tails are trimmed where escaping
them costs fewer bits than coding them and their table entries. So codes of an unbounded
quantizer on heavy-tailed data (int32 values spanning millions) still cost about their
entropy.

Decoding treats the block as untrusted: every count, length, table and index is checked
against the block size and hard limits before anything is allocated or any kernel runs; the
only allocations are the output (``n``, which the caller knows and checks) and buffers no
larger than the block itself. Any inconsistency raises
``CorruptFileError`` naming it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_int_vector, check_int
from ..errors import CorruptFileError
from ..kernels import rans as _k
from .model import MAX_ALPHABET, MAX_PRECISION, FrequencyTable

__all__ = ["encode_symbols", "decode_symbols", "block_info", "BlockInfo", "FORMAT_VERSION"]

#: High nibble of a block's first byte.
FORMAT_VERSION = 1
_MODE_EMPTY = 0
_MODE_CONSTANT = 1
_MODE_RANS = 2
_MODE_NAMES = {_MODE_EMPTY: "empty", _MODE_CONSTANT: "constant", _MODE_RANS: "rans"}

_LANES = _k.LANES
_STATE_BYTES = 5
_MASK64 = (1 << 64) - 1
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
#: Largest symbol count a block may declare (a sanity limit, far above any real block).
MAX_COUNT = 1 << 48

_DECODE_STATUS = {
    _k.ERR_TRUNCATED: "the rANS payload ends before the last symbol",
    _k.ERR_TRAILING: "the rANS payload has words left after the last symbol",
    _k.ERR_STATE: "the rANS states do not end where the encoder started (corrupt payload)",
}
_ESCAPE_STATUS = {
    _k.ERR_TRUNCATED: "the escape stream ends early",
    _k.ERR_VALUE: "the escape stream holds a value of more than 64 bits",
    _k.ERR_TRAILING: "the escape stream has unused bytes or non-zero padding bits",
}


# ---------------------------------------------------------------------- varints


def _put_uvarint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _zigzag(v: int) -> int:
    return (v << 1) if v >= 0 else ((-v) << 1) - 1


def _unzigzag(z: int) -> int:
    return (z >> 1) if not z & 1 else -((z + 1) >> 1)


class _Reader:
    """Bounds-checked reading of a block header."""

    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def byte(self, what: str) -> int:
        if self.pos >= len(self.buf):
            raise CorruptFileError(f"entropy block truncated: no byte left for {what}")
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def uvarint(self, what: str) -> int:
        value = 0
        for i in range(10):
            b = self.byte(what)
            value |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                if b == 0 and i > 0:
                    raise CorruptFileError(f"entropy block: {what} is a non-canonical varint")
                if value > _MASK64:
                    raise CorruptFileError(f"entropy block: {what} exceeds 64 bits")
                return value
        raise CorruptFileError(f"entropy block: {what} is a varint longer than 10 bytes")

    def take(self, nbytes: int, what: str) -> memoryview:
        if nbytes > len(self.buf) - self.pos:
            raise CorruptFileError(
                f"entropy block truncated: {what} needs {nbytes} bytes, {len(self.buf) - self.pos} left"
            )
        part = self.buf[self.pos : self.pos + nbytes]
        self.pos += nbytes
        return part


# ---------------------------------------------------------------------- header


@dataclass(frozen=True)
class BlockInfo:
    """What a block header says (see ``block_info``).

    Attributes
    ----------
    mode : str
        ``"empty"``, ``"constant"`` or ``"rans"``.
    n : int
        Symbol count.
    lo, hi : int or None
        The directly coded value window (the value itself for a constant block).
    precision : int or None
        ``log2`` of the model total.
    alphabet_size : int or None
        Symbols in the model (window width, plus one for ESC).
    n_escapes : int
        Values coded through the escape symbol.
    escape_k : int or None
        Exp-Golomb order of the escape stream.
    header_nbytes, table_nbytes, escape_nbytes, payload_nbytes, nbytes : int
        Sizes of the parts and of the whole block.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.entropy import block_info, encode_symbols
    >>> x = np.array([5, 5, 6, 5, 7, 5, 5, 6] * 50, dtype=np.int16)
    >>> info = block_info(encode_symbols(x))
    >>> info.mode, info.n, (info.lo, info.hi), info.alphabet_size, info.n_escapes
    ('rans', 400, (5, 7), 3, 0)
    >>> info.header_nbytes + info.table_nbytes + info.escape_nbytes + info.payload_nbytes == info.nbytes
    True

    A value far outside the window of the others goes through the escape symbol; a constant
    array needs no model at all:

    >>> y = np.append(x, 1_000_000).astype(np.int32)
    >>> info = block_info(encode_symbols(y))
    >>> info.mode, (info.lo, info.hi), info.n_escapes, info.alphabet_size
    ('rans', (5, 7), 1, 4)
    >>> block_info(encode_symbols(np.full(100, 9, np.int32)))
    BlockInfo(mode='constant', n=100, lo=9, hi=9, precision=None, alphabet_size=None, n_escapes=0, escape_k=None, header_nbytes=3, table_nbytes=0, escape_nbytes=0, payload_nbytes=0, nbytes=3)
    """

    mode: str
    n: int
    lo: int | None = None
    hi: int | None = None
    precision: int | None = None
    alphabet_size: int | None = None
    n_escapes: int = 0
    escape_k: int | None = None
    header_nbytes: int = 0
    table_nbytes: int = 0
    escape_nbytes: int = 0
    payload_nbytes: int = 0
    nbytes: int = 0


@dataclass(frozen=True)
class _Parsed:
    info: BlockInfo
    table: memoryview | None = None
    escapes: memoryview | None = None
    payload: memoryview | None = None


def _as_buffer(block: Any) -> memoryview:
    if isinstance(block, np.ndarray):
        if block.dtype != np.uint8 or block.ndim != 1:
            raise TypeError(f"block must be bytes or a 1-D uint8 array, got {block.dtype} with ndim={block.ndim}")
        block = np.ascontiguousarray(block)
    elif not isinstance(block, (bytes, bytearray, memoryview)):
        raise TypeError(f"block must be bytes, bytearray, memoryview or a uint8 array, got {type(block).__name__}")
    mv = memoryview(block)
    if not mv.c_contiguous:
        raise TypeError("block must be a contiguous buffer")
    return mv.cast("B") if mv.format != "B" or mv.ndim != 1 else mv


def _parse(buf: memoryview) -> _Parsed:
    r = _Reader(buf)
    tag = r.byte("the block tag")
    version, mode = tag >> 4, tag & 0x0F
    if version != FORMAT_VERSION or mode not in _MODE_NAMES:
        raise CorruptFileError(f"entropy block: unknown tag 0x{tag:02x} (expected version {FORMAT_VERSION}, mode 0-2)")
    n = r.uvarint("the symbol count")
    if n > MAX_COUNT:
        raise CorruptFileError(f"entropy block claims {n} symbols, above the limit {MAX_COUNT}")
    if mode == _MODE_EMPTY:
        if n != 0:
            raise CorruptFileError(f"empty entropy block claims {n} symbols")
        _expect_end(r)
        return _Parsed(BlockInfo("empty", 0, header_nbytes=r.pos, nbytes=len(buf)))
    if n == 0:
        raise CorruptFileError(f"{_MODE_NAMES[mode]} entropy block with 0 symbols")
    value = _unzigzag(r.uvarint("the value offset"))
    if mode == _MODE_CONSTANT:
        _expect_end(r)
        return _Parsed(BlockInfo("constant", n, value, value, header_nbytes=r.pos, nbytes=len(buf)))
    width = r.uvarint("the window width") + 1
    if width > MAX_ALPHABET:
        raise CorruptFileError(f"entropy block: window of {width} values exceeds {MAX_ALPHABET}")
    hi = value + width - 1
    if hi > _INT64_MAX:
        raise CorruptFileError(f"entropy block: value window [{value}, {hi}] exceeds int64")
    flags = r.byte("the flags")
    if flags & ~1:
        raise CorruptFileError(f"entropy block: unknown flags 0x{flags:02x}")
    has_esc = bool(flags & 1)
    alphabet = width + has_esc
    if not 2 <= alphabet <= MAX_ALPHABET:
        raise CorruptFileError(f"entropy block: alphabet of {alphabet} symbols is outside [2, {MAX_ALPHABET}]")
    prec = r.byte("the model precision")
    if not 1 <= prec <= MAX_PRECISION:
        raise CorruptFileError(f"entropy block: model precision {prec} is outside [1, {MAX_PRECISION}]")
    table = r.take(r.uvarint("the table length"), "the frequency table")
    n_esc, esc_k, escapes = 0, None, None
    if has_esc:
        n_esc = r.uvarint("the escape count")
        if not 1 <= n_esc <= n:
            raise CorruptFileError(f"entropy block: {n_esc} escapes for {n} symbols")
        esc_k = r.byte("the escape code order")
        if esc_k > 63:
            raise CorruptFileError(f"entropy block: escape code order {esc_k} exceeds 63")
        escapes = r.take(r.uvarint("the escape stream length"), "the escape stream")
        if n_esc * (2 + esc_k) > 8 * len(escapes):  # each escape takes >= 2 + k bits
            raise CorruptFileError(f"entropy block: {n_esc} escapes cannot fit {len(escapes)} bytes")
    header_nbytes = r.pos - len(table) - (len(escapes) if escapes is not None else 0)
    payload = buf[r.pos :]
    info = BlockInfo(
        "rans",
        n,
        value,
        hi,
        prec,
        alphabet,
        n_esc,
        esc_k,
        header_nbytes,
        len(table),
        0 if escapes is None else len(escapes),
        len(payload),
        len(buf),
    )
    return _Parsed(info, table, escapes, payload)


def _expect_end(r: _Reader) -> None:
    if r.pos != len(r.buf):
        raise CorruptFileError(f"entropy block has {len(r.buf) - r.pos} unexpected trailing bytes")


def block_info(block: bytes | bytearray | memoryview) -> BlockInfo:
    """Read a block's header (checked, not decoded): mode, count, window, model, sizes.

    Examples
    --------
    >>> import numpy as np
    >>> info = block_info(encode_symbols(np.array([1, 2, 2, 3, 2, 2], dtype=np.uint8)))
    >>> info.mode, info.n, info.lo, info.hi, info.alphabet_size
    ('rans', 6, 1, 3, 3)
    """
    return _parse(_as_buffer(block)).info


# ---------------------------------------------------------------------- encoding


def _densest_span(arr: np.ndarray, mn: int, mx: int) -> tuple[int, int]:
    """A span of at most 65,535 values holding the most of ``arr`` (by bucket counts).

    While the range is wider than ``2**30``, values are counted in ``2**16`` buckets and the
    densest *pair* of adjacent buckets becomes the new range (a cluster narrower than a bucket
    always lies inside some pair, whatever the alignment); each such pass divides the range by
    about ``2**15``. Then buckets of at most ``2**14`` values are counted and the densest run
    of buckets spanning at most 65,535 values is the result.
    """
    a, b = mn, mx
    while b - a + 1 > MAX_ALPHABET:
        shift = (b - a).bit_length() - 16  # >= 1: at most 2**16 + 1 buckets
        final = shift <= 14
        span = (MAX_ALPHABET - 1) >> shift if final else 2  # buckets per window
        base = a >> shift
        counts = np.zeros((b >> shift) - base + 1, np.int64)
        _k.bucket_histogram(arr, np.int64(a), np.int64(b), np.int64(shift), counts)
        if counts.size > span:
            cs = np.concatenate(([0], np.cumsum(counts)))
            start = int(np.argmax(cs[span:] - cs[:-span]))
        else:
            start = 0
        a, b = max(a, (base + start) << shift), min(b, ((base + start + span) << shift) - 1)
        if final:
            break
    return a, b


_POW2_64 = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))


def _escape_bits_table() -> np.ndarray:
    """``[k, b]``: bits of an escape whose distance has bit length ``b``, at order ``k``."""
    k = np.arange(64)[:, None]
    m = np.maximum(np.arange(65)[None, :] - k, 0)  # bit length of u >> k
    return k + np.maximum(m - 1, 0) + 2 * np.floor(np.log2(m + 1.0)) + 1


_ESCAPE_BITS = _escape_bits_table()


def _window(arr: np.ndarray) -> tuple[int, np.ndarray, int]:
    """``(lo, counts, n_out)``: the coded window ``[lo, lo + counts.size - 1]``, its value
    counts and how many values fall outside it (escapes)."""
    n = arr.size
    if arr.dtype.itemsize <= 2:
        info = np.iinfo(arr.dtype)
        counts = np.zeros(int(info.max) - int(info.min) + 1, np.int64)
        _k.histogram(arr, np.int64(info.min), np.int64(info.max), counts)
        nz = np.flatnonzero(counts)
        lo, counts, n_out = int(info.min) + int(nz[0]), counts[nz[0] : nz[-1] + 1], 0
    else:
        mn, mx = (int(v) for v in _k.minmax(arr))
        a, b = _densest_span(arr, mn, mx)
        counts = np.zeros(b - a + 1, np.int64)
        n_out = int(_k.histogram(arr, np.int64(a), np.int64(b), counts))
        nz = np.flatnonzero(counts)
        lo, counts = a + int(nz[0]), counts[nz[0] : nz[-1] + 1]
    w = counts.size
    if n_out > 0 or w > 256:
        i, j = (int(v) for v in _k.trim_window(counts, np.int64(n), np.int64(n_out)))
        n_out += int(counts[:i].sum() + counts[j + 1 :].sum())
        lo, counts = lo + i, counts[i : j + 1]
    return lo, counts, n_out


def _escape_order(u: np.ndarray) -> int:
    """The Exp-Golomb order ``k`` that codes the distances ``u`` (uint64) in the fewest bits."""
    blen = np.searchsorted(_POW2_64, u, side="right")  # bit length of each u (0 for 0)
    hist = np.bincount(blen, minlength=65).astype(np.float64)
    return int(np.argmin(_ESCAPE_BITS @ hist))


def _escape_stream(arr: np.ndarray, lo: int, hi: int, n_out: int) -> tuple[bytes, int]:
    """The escape stream of the values outside ``[lo, hi]`` (in order) and its order ``k``."""
    vals = arr[(arr < lo) | (arr > hi)].astype(np.int64)
    if vals.size != n_out:
        raise AssertionError(f"escape count mismatch: {vals.size} != {n_out}")
    vu = vals.view(np.uint64)
    above = vals > hi
    u = np.where(above, vu - np.uint64((hi + 1) & _MASK64), np.uint64((lo - 1) & _MASK64) - vu)
    k = _escape_order(u)
    u_hi = (u >> np.uint64(32)).astype(np.int64)
    u_lo = (u & np.uint64(0xFFFFFFFF)).astype(np.int64)
    out = np.empty(10 * u.size + 8, np.uint8)
    nbytes = _k.encode_escapes(u_hi, u_lo, above.astype(np.uint8), np.int64(k), out)
    return out[:nbytes].tobytes(), k


def encode_symbols(values: Any) -> bytes:
    """Entropy-code a 1-D integer array into one self-contained rANS block.

    Parameters
    ----------
    values : array_like of int
        Any signed or unsigned integer dtype (uint64 values must fit int64), any range:
        values outside the directly coded window of at most 65,536 values go through an
        escape symbol. May be empty.

    Returns
    -------
    bytes
        The block: header, frequency table, escapes and payload (``docs/entropy.md``). An
        empty input gives a 2-byte block; a constant one a header only.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.entropy import order0_entropy
    >>> x = np.array([0, 0, 1, 0, 2, 0, 0, 1] * 100, dtype=np.uint8)
    >>> block = encode_symbols(x)
    >>> len(block) < x.size * order0_entropy(x) / 8 + 40
    True
    >>> np.array_equal(decode_symbols(block, x.size, np.uint8), x)
    True
    """
    arr = as_int_vector(values)
    n = arr.size
    if n > MAX_COUNT:
        raise ValueError(f"values has {n} symbols, above the block limit {MAX_COUNT}")
    out = bytearray([(FORMAT_VERSION << 4) | _MODE_EMPTY])
    _put_uvarint(out, n)
    if n == 0:
        return bytes(out)
    lo, counts, n_out = _window(arr)
    if n_out == 0 and counts.size == 1:
        out[0] = (FORMAT_VERSION << 4) | _MODE_CONSTANT
        _put_uvarint(out, _zigzag(lo))
        return bytes(out)
    out[0] = (FORMAT_VERSION << 4) | _MODE_RANS
    width = counts.size
    hi = lo + width - 1
    model_counts = np.append(counts, n_out) if n_out else counts
    table = FrequencyTable.fit(model_counts)
    table_bytes = table.to_bytes()
    _put_uvarint(out, _zigzag(lo))
    _put_uvarint(out, width - 1)
    out.append(1 if n_out else 0)
    out.append(table.precision)
    _put_uvarint(out, len(table_bytes))
    out += table_bytes
    if n_out:
        esc_bytes, k = _escape_stream(arr, lo, hi, n_out)
        _put_uvarint(out, n_out)
        out.append(k)
        _put_uvarint(out, len(esc_bytes))
        out += esc_bytes
    freq, cum, inv = table.encoder_arrays(width + 1)
    words = np.empty(n + 1, np.uint16)
    start, *states = _k.rans_encode(
        arr, np.int64(lo), np.int64(hi), np.int64(width), freq, cum, inv, np.int64(table.precision), words
    )
    for x in states:
        out += int(x).to_bytes(_STATE_BYTES, "little")
    out += words[start:].astype("<u2", copy=False).tobytes()
    return bytes(out)


# ---------------------------------------------------------------------- decoding


def _int_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind not in "iu":
        raise TypeError(f"dtype must be an integer dtype, got {dt}")
    return dt


def _native(out: np.ndarray, dt: np.dtype) -> np.ndarray:
    """``out`` (native byte order) in the requested, possibly byte-swapped, dtype."""
    return out if out.dtype == dt else out.astype(dt)


def decode_symbols(block: bytes | bytearray | memoryview, n: int, dtype: Any) -> np.ndarray:
    """Decode a block written by ``encode_symbols`` (untrusted input).

    Parameters
    ----------
    block : bytes, bytearray, memoryview or 1-D uint8 array
        Exactly one block.
    n : int
        The symbol count the caller expects; the block header must agree. The output (``n``
        values) is the only allocation proportional to it: check it against your own limits.
    dtype : integer dtype
        Of the result; every decoded value must fit it.

    Returns
    -------
    ndarray of ``dtype``, shape ``(n,)``

    Raises
    ------
    CorruptFileError
        For any block that is not exactly a valid encoding of ``n`` values of ``dtype``:
        truncated, bit-flipped or forged headers, tables, escapes or payloads.
    TypeError, ValueError
        For a wrong kind of ``block`` or ``dtype``, or a negative ``n``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([-3, 0, 0, 1, 0, 5_000_000, 0], dtype=np.int32)
    >>> decode_symbols(encode_symbols(x), 7, np.int32).tolist()
    [-3, 0, 0, 1, 0, 5000000, 0]
    >>> decode_symbols(encode_symbols(x), 8, np.int32)
    Traceback (most recent call last):
        ...
    quantsig.errors.CorruptFileError: entropy block holds 7 symbols but 8 were expected
    """
    n = check_int(n, "n", low=0)
    requested = _int_dtype(dtype)
    dt = requested.newbyteorder("=")
    parsed = _parse(_as_buffer(block))
    info = parsed.info
    if info.n != n:
        raise CorruptFileError(f"entropy block holds {info.n} symbols but {n} were expected")
    dmin, dmax = int(np.iinfo(dt).min), min(int(np.iinfo(dt).max), _INT64_MAX)
    if info.mode == "empty":
        return np.empty(0, requested)
    lo, hi = int(info.lo), int(info.hi)  # type: ignore[arg-type]
    if lo < dmin or hi > dmax:
        raise CorruptFileError(f"entropy block values [{lo}, {hi}] do not fit dtype {dt}")
    if info.mode == "constant":
        return np.full(n, lo, dtype=requested)
    assert parsed.table is not None and parsed.payload is not None and info.precision is not None
    width = hi - lo + 1
    alphabet = int(info.alphabet_size)  # type: ignore[arg-type]
    table = FrequencyTable.from_bytes(parsed.table, alphabet, info.precision)
    n_esc = info.n_escapes
    esc_values = None
    if n_esc:
        if table.freqs[-1] == 0:
            raise CorruptFileError(f"entropy block declares {n_esc} escapes but the escape symbol has zero frequency")
        esc_values = _decode_escapes(parsed.escapes, n_esc, int(info.escape_k or 0), lo, hi, dmin, dmax)
    payload = parsed.payload
    nbytes = len(payload) - _LANES * _STATE_BYTES
    if nbytes < 0 or nbytes % 2:
        raise CorruptFileError(
            f"entropy block: rANS payload of {len(payload)} bytes is not "
            f"{_LANES} states of {_STATE_BYTES} bytes plus 16-bit words"
        )
    n_words = nbytes // 2
    if n_words > n:
        raise CorruptFileError(f"entropy block: {n_words} payload words for {n} symbols (at most one each)")
    if n > _max_symbols(table, n_words):
        raise CorruptFileError(
            f"entropy block: a payload of {n_words} words cannot hold {n} symbols "
            f"under its model (largest probability {int(table.freqs.max())}/{table.total})"
        )
    states = []
    for j in range(_LANES):
        x = int.from_bytes(payload[j * _STATE_BYTES : (j + 1) * _STATE_BYTES], "little")
        if not _k.RANS_L <= x < _k.STATE_LIMIT:
            raise CorruptFileError(f"entropy block: rANS state {j} = {x} is outside [2**24, 2**40)")
        states.append(np.int64(x))
    words = np.zeros(n_words + 1, np.uint16)  # one zero guard word
    words[:n_words] = np.frombuffer(payload, "<u2", count=n_words, offset=_LANES * _STATE_BYTES)
    out = np.empty(n, dt)
    esc_pos = np.empty(n_esc, np.int64)
    status, found = _k.rans_decode(
        words,
        table.decoder_table(),
        np.int64(info.precision),
        *states,
        np.int64(lo),
        np.int64(width if n_esc else -1),
        out,
        esc_pos,
    )
    if status:
        raise CorruptFileError(f"entropy block: {_DECODE_STATUS.get(int(status), 'invalid rANS payload')}")
    if found != n_esc:
        raise CorruptFileError(f"entropy block: decoded {found} escape symbols, the header says {n_esc}")
    if n_esc:
        out[esc_pos] = esc_values
    return _native(out, requested)


#: log2(1 + 2**-8): the most a decoding step (or a word read) can exceed its ideal cost,
#: because states are at least ``L = 2**8 * M``.
_STEP_SLACK = math.log2(1.0 + 2.0**-8)


def _max_symbols(table: FrequencyTable, n_words: int) -> float:
    """An upper bound on the symbols that ``n_words`` payload words can hold under ``table``.

    Every decoding step multiplies a state by at most ``(f / M) (1 + 2**-8)`` and a word read
    by at most ``2**16 (1 + 2**-8)``; the lanes start below ``2**40`` and must end at
    ``2**24``. So ``n (log2(M / f_max) - s) < 16 * LANES + n_words (16 + s)`` with
    ``s = log2(1 + 2**-8)``. No bound (infinity) for a model whose largest probability is
    within ``2**-8`` of 1: such a model can code billions of symbols in a few words.
    """
    per_symbol = math.log2(table.total / int(table.freqs.max())) - _STEP_SLACK
    if per_symbol <= 1e-6:
        return math.inf
    return (16 * _LANES + n_words * (16 + _STEP_SLACK)) / per_symbol * (1 + 1e-9) + _LANES


def _decode_escapes(data: memoryview | None, n_esc: int, k: int, lo: int, hi: int, dmin: int, dmax: int) -> np.ndarray:
    """The escaped values (int64), each checked to lie outside ``[lo, hi]`` within ``[dmin, dmax]``."""
    buf = np.frombuffer(data if data is not None else b"", np.uint8)
    u_hi = np.empty(n_esc, np.int64)
    u_lo = np.empty(n_esc, np.int64)
    side = np.empty(n_esc, np.uint8)
    status = int(_k.decode_escapes(buf, np.int64(k), u_hi, u_lo, side))
    if status:
        raise CorruptFileError(f"entropy block: {_ESCAPE_STATUS.get(status, 'invalid escape stream')}")
    u = (u_hi.astype(np.uint64) << np.uint64(32)) | u_lo.astype(np.uint64)
    above = side.astype(bool)
    # distances beyond the dtype's range (or any distance when no room is left) are corrupt
    room_below, room_above = lo - 1 - dmin, dmax - hi - 1
    bad = 0
    if room_below < 0:
        bad += int(np.count_nonzero(~above))
    else:
        bad += int(np.count_nonzero(~above & (u > np.uint64(room_below))))
    if room_above < 0:
        bad += int(np.count_nonzero(above))
    else:
        bad += int(np.count_nonzero(above & (u > np.uint64(room_above))))
    if bad:
        raise CorruptFileError(f"entropy block: {bad} escaped value(s) fall outside the range of the dtype")
    v = np.where(above, np.uint64((hi + 1) & _MASK64) + u, np.uint64((lo - 1) & _MASK64) - u)
    return v.view(np.int64)
