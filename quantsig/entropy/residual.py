"""Context-modelled coding of signed integer residuals: ``encode_residuals`` / ``decode_residuals``.

Prediction residuals and quantized residual codes are two-sided, heavy-tailed and their scale
drifts along a signal. Each value is split into a small *token* (at most 256 of them: the
value itself below 16, else its bit length and two leading bits) and raw low bits. Values go
in groups of four; a group's tokens are coded in a *context* chosen by a moving sum of the
tokens before the group (a scale estimate), so loud and quiet passages each get a model of
their own (the adaptivity FLAC gets from partitioned Rice parameters, with an arithmetic
coder's efficiency). The token and level definitions are in ``quantsig.kernels.tokens``, the coder
in ``quantsig.kernels.ctxrans``.

All contexts share one rANS stream: each token is coded with its context's table, the four
tokens of a group on four interleaved states, so one pass of one kernel decodes everything
(tokens, raw bits and the contexts that follow from them). The encoder chooses how the
levels of that sum are grouped into at most ``n_ctx`` contexts by the estimated total size,
tables included, so small inputs get few contexts.

Block layout (version 2; all multi-byte fields little-endian, uvarints as in
``docs/entropy.md``)::

    u8  version = 2
    u8  flags             bit 0: four lanes (else one); bits 1-4: coding precision P
                          (0..12; tables are scaled to 2**P); bits 5-7: 0
    -- nothing more when n == 0 (then flags = 0) --
    u8  A - 1             tokens lie in [0, A)
    u8  K - 1             contexts, K <= 64
    uvarint * (K - 1)     level steps (>= 1): context c >= 1 starts at level sum(steps[:c])
                          (< 2048); context 0 starts at level 0, the last runs to 2047
    K * { u8 0, u8 token                       a context of one token
        | u8 p (1..P), uvarint T, T bytes       a frequency table over A tokens at
                                                precision p (docs/entropy.md)
        | u8 13, u8 s                           table s of the parametric family (P = 12) }
    -- only when P > 0 --
    lanes * 5 bytes       initial decoder states, each in [2**24, 2**40)
    uvarint W, W * u16    rANS words in reading order (W <= n)
    --
    rest                  raw bits (LSB first, zero padding to a byte)

The parametric family (``parametric_tables``) spares small contexts their table: table
``s`` holds the tokens of a two-sided exponential distribution, ``2**(-u / B)`` in the zigzag
value ``u`` with ``B = 2**(s/4 - 2)``, quantized to 4096 (every token up to where the tail
falls below ``2**-16`` gets at least one unit), computed with correctly rounded IEEE
operations only, so every platform builds the same integers.

Lane ``j % 4`` (or lane 0) codes token ``j`` of each segment (``j`` counted from the
segment start); the decoder steps through the values in order and reads a word whenever a
state falls below ``2**24``, as in ``docs/entropy.md``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .._validation import check_int
from ..errors import CorruptFileError
from ..kernels import ctxrans as _c
from ..kernels import rans as _kr
from ..kernels import tokens as _k
from .rans import _as_buffer, _put_uvarint, _Reader

__all__ = ["encode_residuals", "decode_residuals", "parametric_tables", "DEFAULT_CONTEXTS", "MAX_CONTEXTS"]

_VERSION = 2
DEFAULT_CONTEXTS = 20
MAX_CONTEXTS = 64
#: Inputs of at least this many values use four interleaved rANS states (faster decoding),
#: smaller ones one (three fewer 5-byte states to store).
_MIN_FOUR_LANES = 4096
#: Levels are grouped into at most this many bins of about equal counts (and at least 16
#: values each) before contexts, runs of bins, are chosen.
_MAX_BINS = 128
#: Size estimate used to choose the contexts: bits per present token in a table, and per
#: context (precision and length bytes, table padding, its level step).
_ENTRY_BITS = 5.0
_CONTEXT_BITS = 36.0
#: Largest precision the encoder gives an explicit table when there are more than two contexts
#: (the format allows 12, which one or two contexts get): 11 costs about 0.03 % in size and
#: halves the decoding tables, which then decode about 6 % faster.
_TABLE_PREC = 11
_STATE_BYTES = 5
_TOKEN_INFO = _k.token_tables()
_DECODE_STATUS = {
    _c.ERR_WORDS_SHORT: "the rANS words or raw bits end before the last token",
    _c.ERR_WORDS_LEFT: "rANS words are left after the last token",
    _c.ERR_STATE: "the rANS states do not end where the encoder started",
}
_MODEL_STATUS = {
    _c.ERR_TRUNCATED: "the context models end early",
    _c.ERR_VALUE: "a context model holds an invalid field, frequency or total",
    _c.ERR_TRAILING: "a frequency table has unused bytes or non-zero padding bits",
}


_LN2 = 0.6931471805599453  # the double nearest ln 2


def _exp2_neg(y: np.ndarray) -> np.ndarray:
    """``2**-y`` (``y >= 0``, float64) with correctly rounded operations only: a degree-13
    Taylor polynomial of ``2**-f`` on ``[0, 1)`` by Horner's rule, then an exact ``ldexp``."""
    y = np.minimum(y, 4096.0)
    i = np.floor(y)
    f = y - i
    coef = [1.0]
    for k in range(1, 14):
        coef.append(coef[-1] * -_LN2 / k)
    p = np.full(y.shape, coef[-1])
    for c in reversed(coef[:-1]):
        p = p * f
        p = p + c
    return np.ldexp(p, -i.astype(np.int64))


@functools.cache
def parametric_tables() -> tuple[np.ndarray, np.ndarray]:
    """The parametric token tables: ``(freqs, bits)``.

    ``freqs[s, t]`` (int64, 256 x 256) is table ``s``'s frequency of token ``t`` at precision
    12 (each row sums to 4096); ``bits[t, s]`` (float64) is ``12 - log2 freqs[s, t]``, or
    ``1e30`` where the frequency is 0 (for the encoder's choice only).
    """
    tok = np.arange(256)
    k = np.where(tok < 16, 0, (tok - 16) // 4 + 2)
    lo = np.where(tok < 16, tok.astype(np.float64), np.ldexp((4 | ((tok - 16) & 3)).astype(np.float64), k))
    hi = lo + np.ldexp(1.0, k)
    half = np.sqrt(0.5)
    quarter = np.sqrt(half)
    rate = np.array([1.0, quarter, half, half * quarter])  # 2**(-r/4)
    s = np.arange(256)[:, None]
    q, r = s // 4, s % 4
    e_lo = _exp2_neg(np.ldexp(lo[None, :] * rate[r], 2 - q))
    e_hi = _exp2_neg(np.ldexp(hi[None, :] * rate[r], 2 - q))
    m = 1 << 12
    ntok = np.maximum(np.count_nonzero(e_lo >= 2.0**-16, axis=1), 2)[:, None]
    valid = tok[None, :] < ntok
    weight = np.where(valid, e_lo - e_hi, 0.0)
    g = weight / np.cumsum(weight, axis=1)[:, -1:] * (m - ntok)  # cumsum: a fixed summation order
    freqs = np.where(valid, np.floor(g).astype(np.int64) + 1, 0)
    extra = m - freqs.sum(axis=1, keepdims=True)  # < ntok: one more unit for the largest remainders
    order = np.argsort(np.where(valid, np.floor(g) - g, 1.0), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(tok, order.shape), axis=1)
    freqs += rank < extra
    with np.errstate(divide="ignore"):
        bits = np.where(freqs > 0, 12.0 - np.log2(np.maximum(freqs, 1)), 1e30).T.copy()
    freqs.flags.writeable = False
    bits.flags.writeable = False
    return freqs, bits


_ONE_SEGMENT = np.zeros(1, np.int64)
_ONE_SEGMENT.flags.writeable = False


def _segments(seg_starts: Any, n: int) -> np.ndarray:
    if seg_starts is None:
        return _ONE_SEGMENT
    s = np.ascontiguousarray(np.asarray(seg_starts, dtype=np.int64).reshape(-1))
    if s.size == 0:
        return _ONE_SEGMENT
    if s[0] != 0 or np.any(s[1:] < s[:-1]) or s[-1] > n:
        raise ValueError(f"seg_starts must ascend from 0 and stay within {n}, got {s.tolist()}")
    return s


def encode_residuals(values: Any, seg_starts: Any = None, n_ctx: int = DEFAULT_CONTEXTS) -> bytes:
    """Entropy-code signed integers (1-D int64) with the context-modelled token coder.

    Parameters
    ----------
    values : array_like of int
        Any int64 values.
    seg_starts : array_like of int, optional
        Offsets where the context history restarts (e.g. one per channel); default ``[0]``.
    n_ctx : int
        Most contexts to use (1 to 64; 1 is a plain order-0 model of the tokens). The encoder
        uses fewer where the tables would cost more than they save.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.round(np.random.default_rng(0).laplace(0, 30, 10_000)).astype(np.int64)
    >>> blob = encode_residuals(r)
    >>> np.array_equal(decode_residuals(blob, r.size), r)
    True
    >>> from quantsig.entropy import order0_entropy
    >>> bool(len(blob) * 8 / r.size < order0_entropy(r) + 0.1)  # about log2(2*e*30) = 7.35
    True
    """
    v = np.ascontiguousarray(np.asarray(values).reshape(-1), dtype=np.int64)
    n_ctx = check_int(n_ctx, "n_ctx", low=1, high=MAX_CONTEXTS)
    n = v.size
    seg = _segments(seg_starts, n)
    out = bytearray([_VERSION, 0])
    if n == 0:
        return bytes(out)
    lanes = 4 if n >= _MIN_FOUR_LANES else 1
    tokens = np.empty(n, np.uint8)
    levels = np.empty(n, np.uint16)
    raw = np.empty(n + 2, np.uint64)
    level_counts = np.zeros(_k.LEVELS, np.int64)
    nbits = int(_k.analyze(v, seg, tokens, levels, raw, level_counts))
    starts, rows = _contexts(tokens, levels, level_counts, n_ctx)
    k, alphabet = rows.shape
    param_tab, param_cost = parametric_tables()
    costs = rows.astype(np.float64) @ param_cost[:alphabet]
    params = np.argmin(costs, axis=1)
    precs = np.zeros(k, np.int64)
    freqs = np.zeros((k, alphabet), np.int64)
    models = np.empty(k * (9 * alphabet + 12), np.uint8)
    mlen = int(
        _c.fit_tables(
            rows,
            np.int64(_c.MAX_PREC if k <= 2 else _TABLE_PREC),
            params,
            costs[np.arange(k), params],
            param_tab,
            precs,
            freqs,
            models,
        )
    )
    prec = int(precs.max())
    out[1] = (lanes == 4) | prec << 1
    out += bytes([alphabet - 1, k - 1])
    for step in np.diff(starts).tolist():
        _put_uvarint(out, step)
    out += models[:mlen].tobytes()
    if prec > 0:
        freq = np.zeros((k, 256), np.int64)  # every context's table scaled to 2**prec
        freq[:, :alphabet] = freqs << (prec - precs)[:, None]
        cum = np.zeros_like(freq)
        np.cumsum(freq[:, :-1], axis=1, out=cum[:, 1:])
        inv = np.zeros(freq.shape, np.float64)
        nz = freq > 0
        inv[nz] = np.nextafter(1.0 / freq[nz], np.inf)
        words = np.empty(n + 1, np.uint16)
        start, *states = _c.encode(
            tokens,
            levels,
            seg,
            _level_contexts(starts) * 256,
            np.int64(lanes),
            np.int64(prec),
            freq.reshape(-1),
            cum.reshape(-1),
            inv.reshape(-1),
            words,
        )
        for x in states[:lanes]:
            out += int(x).to_bytes(_STATE_BYTES, "little")
        _put_uvarint(out, words.size - int(start))
        out += words[start:].astype("<u2", copy=False).tobytes()
    out += raw[: (nbits + 63) >> 6].astype("<u8", copy=False).view(np.uint8)[: (nbits + 7) >> 3].tobytes()
    return bytes(out)


def _contexts(
    tokens: np.ndarray, levels: np.ndarray, level_counts: np.ndarray, n_ctx: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, rows)``: the first level of each context and its token counts (K x A).

    The levels are grouped into bins of about equal counts (a level with many values is a bin
    alone), then runs of bins into contexts (``partition``)."""
    n = tokens.size
    nbins = min(_MAX_BINS, max(1, n // 16))
    cum = np.cumsum(level_counts)
    bin_starts = np.unique(np.searchsorted(cum, np.arange(nbins) * (n / nbins), side="right"))
    bin_starts[0] = 0
    level_bin = np.searchsorted(bin_starts, np.arange(_k.LEVELS), side="right") - 1
    hist = np.zeros((bin_starts.size, 256), np.int64)
    _k.joint_histogram(tokens, levels, level_bin, hist)
    alphabet = int(np.flatnonzero(hist.any(axis=0))[-1]) + 1
    hist = np.ascontiguousarray(hist[:, :alphabet])
    first = np.zeros(bin_starts.size, np.int64)
    k = int(_c.partition(hist, np.int64(n_ctx), _ENTRY_BITS, _CONTEXT_BITS, first))
    return bin_starts[first[:k]], np.ascontiguousarray(np.add.reduceat(hist, first[:k], axis=0))


def _level_contexts(starts: np.ndarray) -> np.ndarray:
    """The context of every level (int64, ``LEVELS``), contexts starting at ``starts``."""
    return np.repeat(np.arange(starts.size, dtype=np.int64), np.diff(starts, append=_k.LEVELS))


def decode_residuals(block: Any, n: int, seg_starts: Any = None) -> np.ndarray:
    """Decode ``n`` values written by ``encode_residuals`` (untrusted input).

    Only the output (``n`` values) grows with ``n``; everything else is bounded by the block
    size, except the decoding table (at most 64 contexts of 4096 entries: 1 MiB).

    Parameters
    ----------
    block : bytes-like
        The block.
    n : int
        Number of values it holds (the block does not record it).
    seg_starts : array_like of int, optional
        The ``seg_starts`` given to ``encode_residuals``.

    Returns
    -------
    ndarray of int64

    Raises
    ------
    CorruptFileError
        For anything that is not exactly a valid encoding of ``n`` values.

    Examples
    --------
    Two channels, one quiet and one loud, each with a context history of its own:

    >>> import numpy as np
    >>> from quantsig.entropy.residual import decode_residuals, encode_residuals
    >>> r = np.array([0, -3, 5, 12, -7, 2, 0, 0, 1, -1] * 20)
    >>> x = np.concatenate([r, 1000 * r])
    >>> blob = encode_residuals(x, seg_starts=[0, 200])
    >>> np.array_equal(decode_residuals(blob, 400, seg_starts=[0, 200]), x)
    True

    The count is checked against the block, so a wrong one or a cut-off block raises:

    >>> decode_residuals(blob, 399, seg_starts=[0, 200])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    quantsig.errors.CorruptFileError: corrupt residual block: ...
    >>> decode_residuals(blob[:-3], 400, seg_starts=[0, 200])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    quantsig.errors.CorruptFileError: corrupt residual block: ...
    """
    buf = _as_buffer(block)
    n = check_int(n, "n", low=0)
    seg = _segments(seg_starts, n)
    r = _Reader(buf)
    version = r.byte("residual block version")
    if version != _VERSION:
        raise CorruptFileError(f"residual block has unknown version {version}")
    flags = r.byte("residual block flags")
    lanes = 4 if flags & 1 else 1
    prec = flags >> 1
    if n == 0:
        if flags or r.pos != len(buf):
            raise CorruptFileError("residual block of 0 values has flags or trailing bytes")
        return np.zeros(0, np.int64)
    if prec > _c.MAX_PREC:
        raise CorruptFileError(
            f"residual block: flags 0x{flags:02x} declare coding precision {prec} (at most {_c.MAX_PREC})"
        )
    alphabet = r.byte("token alphabet") + 1
    k = r.byte("context count") + 1
    if k > MAX_CONTEXTS:
        raise CorruptFileError(f"residual block declares {k} contexts (1 to {MAX_CONTEXTS} allowed)")
    starts = np.zeros(k, np.int64)
    for c in range(1, k):
        step = r.uvarint("context level step")
        if step == 0 or int(starts[c - 1]) + step >= _k.LEVELS:  # Python ints: no overflow
            raise CorruptFileError(f"residual block: context levels do not ascend within [0, {_k.LEVELS})")
        starts[c] = starts[c - 1] + step
    tab = np.empty(k << prec, np.uint32)
    status, pos = _c.build_decoder(
        np.frombuffer(buf, np.uint8),
        np.int64(r.pos),
        np.int64(alphabet),
        np.int64(k),
        np.int64(prec),
        parametric_tables()[0],
        tab,
        np.zeros(alphabet, np.int64),
    )
    if status:
        raise CorruptFileError(f"residual block: {_MODEL_STATUS.get(int(status), 'invalid context model')}")
    r.pos = int(pos)
    states = [np.int64(_kr.RANS_L)] * 4
    words = np.zeros(_c.WORD_GUARD, np.uint16)
    if prec > 0:
        for j in range(lanes):
            x = int.from_bytes(r.take(_STATE_BYTES, "rANS state"), "little")
            if not _kr.RANS_L <= x < _kr.STATE_LIMIT:
                raise CorruptFileError(f"residual block: rANS state {j} = {x} is outside [2**24, 2**40)")
            states[j] = np.int64(x)
        n_words = r.uvarint("rANS word count")
        if n_words > n:
            raise CorruptFileError(f"residual block: {n_words} rANS words for {n} values (at most one each)")
        words = np.zeros(n_words + _c.WORD_GUARD, np.uint16)
        words[:n_words] = np.frombuffer(r.take(2 * n_words, "rANS words"), "<u2")
    nraw = len(buf) - r.pos
    if nraw > (61 * n + 7) // 8:
        raise CorruptFileError(f"residual block: {nraw} raw bytes for {n} values (at most 61 bits each)")
    padded = np.zeros(8 * ((nraw + 7) // 8 + _c.RAW_GUARD), np.uint8)
    padded[:nraw] = np.frombuffer(buf[r.pos :], np.uint8)
    raw = padded.view("<u8").astype(np.uint64, copy=False)
    out = np.empty(n, np.int64)
    cbase = (_level_contexts(starts) << prec).astype(np.int32)
    status, bits = _c.decode(words, raw, seg, cbase, np.int64(lanes), np.int64(prec), tab, _TOKEN_INFO, *states, out)
    if status:
        raise CorruptFileError(f"corrupt residual block: {_DECODE_STATUS.get(int(status), 'invalid payload')}")
    bits = int(bits)
    if (bits + 7) >> 3 != nraw:
        raise CorruptFileError(f"corrupt residual block: the tokens take {bits} raw bits, the block holds {nraw} bytes")
    if bits & 7 and int(padded[nraw - 1]) >> (bits & 7):
        raise CorruptFileError("corrupt residual block: non-zero padding after the raw bits")
    return out
