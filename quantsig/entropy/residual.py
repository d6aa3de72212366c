"""Context-modelled coding of signed integer residuals: :func:`encode_residuals` / :func:`decode_residuals`.

Prediction residuals and quantized residual codes are two-sided, heavy-tailed and their scale
drifts along a signal. Each value is split into a small *token* (at most 256 of them: the
value itself below 16, else its bit length and two leading bits) and raw low bits; tokens are
coded with rANS in one of ``n_ctx`` *contexts* chosen by the magnitude of the two previous
values, so loud and quiet passages each get a model of their own (the adaptivity FLAC gets
from partitioned Rice parameters, with an arithmetic coder's efficiency). The token layout is
in :mod:`quantsig.kernels.tokens`.

Block layout (``docs/format.md``, "residual blocks")::

    version:u8  n_ctx:uvarint  { count:uvarint [len:uvarint rans_block] } * n_ctx
    raw_len:uvarint raw_bits

Each context's tokens form one :func:`~quantsig.entropy.encode_symbols` block (absent when
its count is 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ..kernels import tokens as _k
from .rans import _as_buffer, _put_uvarint, _Reader, decode_symbols, encode_symbols

__all__ = ["encode_residuals", "decode_residuals", "DEFAULT_CONTEXTS", "MAX_CONTEXTS"]

_VERSION = 1
DEFAULT_CONTEXTS = 20
MAX_CONTEXTS = 64
_STATUS = {
    _k.ERR_TOKEN: "a token stream is exhausted or holds an invalid token",
    _k.ERR_BITS: "the raw-bit stream ends early",
    _k.ERR_TRAILING: "tokens or raw bits are left over",
}


def _segments(seg_starts: Any, n: int) -> np.ndarray:
    s = np.zeros(1, np.int64) if seg_starts is None else np.asarray(seg_starts, dtype=np.int64).reshape(-1)
    if s.size and (s[0] != 0 or np.any(np.diff(s) < 0) or s[-1] > n):
        raise ValueError(f"seg_starts must ascend from 0 and stay within {n}, got {s.tolist()}")
    return np.ascontiguousarray(s)


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
        uses fewer (merging the loudest) where the tables would cost more than they save.

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
    if not 1 <= n_ctx <= MAX_CONTEXTS:
        raise ValueError(f"n_ctx must be in [1, {MAX_CONTEXTS}], got {n_ctx}")
    seg = _segments(seg_starts, v.size)
    tokens = np.empty(v.size, np.uint8)
    ctx = np.empty(v.size, np.int64)
    raw = np.empty(8 * v.size + 8, np.uint8)
    nraw = _k.tokenize(v, seg, np.int64(n_ctx), tokens, ctx, raw)
    n_ctx = _best_context_count(tokens, ctx, n_ctx)
    np.minimum(ctx, n_ctx - 1, out=ctx)
    out = bytearray([_VERSION])
    _put_uvarint(out, n_ctx)
    order = np.argsort(ctx, kind="stable")
    counts = np.bincount(ctx, minlength=n_ctx)
    sorted_tokens = tokens[order]
    start = 0
    for c in range(n_ctx):
        cnt = int(counts[c])
        _put_uvarint(out, cnt)
        if cnt:
            block = encode_symbols(sorted_tokens[start : start + cnt])
            _put_uvarint(out, len(block))
            out += block
            start += cnt
    _put_uvarint(out, int(nraw))
    out += raw[:nraw].tobytes()
    return bytes(out)


def _best_context_count(tokens: np.ndarray, ctx: np.ndarray, n_ctx: int) -> int:
    """The context count (contexts above it merged into the last) with the lowest estimated
    size: token entropy per context, about 10 bits per table entry and 200 bits per non-empty
    context (a rANS block header and its four 40-bit final states)."""
    if n_ctx == 1 or tokens.size == 0:
        return n_ctx
    joint = np.bincount(ctx * 256 + tokens, minlength=n_ctx * 256).reshape(n_ctx, 256).astype(np.float64)
    tail = np.cumsum(joint[::-1], axis=0)[::-1]  # tail[c] = rows c.. merged
    best, best_cost = n_ctx, math.inf
    for c in range(1, n_ctx + 1):
        rows = np.vstack([joint[: c - 1], tail[c - 1 : c]])
        tot = rows.sum(axis=1, keepdims=True)
        nz = rows > 0
        bits = float(np.sum(rows[nz] * np.log2((np.broadcast_to(tot, rows.shape)[nz]) / rows[nz])))
        cost = bits + 10.0 * np.count_nonzero(nz) + 200.0 * np.count_nonzero(rows.sum(axis=1))
        if cost < best_cost:
            best, best_cost = c, cost
    return best


def decode_residuals(block: Any, n: int, seg_starts: Any = None) -> np.ndarray:
    """Decode ``n`` values written by :func:`encode_residuals` (untrusted input).

    Raises
    ------
    CorruptFileError
        For anything that is not exactly a valid encoding of ``n`` values.
    """
    buf = _as_buffer(block)
    seg = _segments(seg_starts, n)
    r = _Reader(buf)
    version = r.byte("residual block version")
    if version != _VERSION:
        raise CorruptFileError(f"residual block has unknown version {version}")
    n_ctx = r.uvarint("context count")
    if not 1 <= n_ctx <= MAX_CONTEXTS:
        raise CorruptFileError(f"residual block declares {n_ctx} contexts (1 to {MAX_CONTEXTS} allowed)")
    counts = np.zeros(n_ctx, np.int64)
    parts = []
    total = 0
    for c in range(n_ctx):
        cnt = r.uvarint(f"count of context {c}")
        if cnt > n - total:
            raise CorruptFileError(f"residual block: context counts exceed the {n} values expected")
        counts[c] = cnt
        total += cnt
        if cnt:
            blen = r.uvarint(f"length of context {c}'s block")
            parts.append(decode_symbols(r.take(blen, f"context {c}'s block"), cnt, np.uint8))
    if total != n:
        raise CorruptFileError(f"residual block holds {total} values but {n} were expected")
    nraw = r.uvarint("raw-bit length")
    raw = np.frombuffer(r.take(nraw, "raw bits"), np.uint8)
    if r.pos != len(buf):
        raise CorruptFileError(f"residual block has {len(buf) - r.pos} unexpected trailing bytes")
    streams = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    out = np.empty(n, np.int64)
    status = _k.detokenize(streams, offsets, counts, seg, np.int64(n_ctx), raw, out)
    if status != _k.OK:
        raise CorruptFileError(f"corrupt residual block: {_STATUS.get(status, status)}")
    return out
