"""Kernels of the context-modelled residual coder (plain arrays in, plain arrays out).

A signed integer ``v`` is zigzag-mapped to ``u`` and split into a *token* (entropy-coded) and
*raw bits* (stored as they are):

* ``u < 16``: the token is ``u`` itself, no raw bits;
* otherwise, with ``n = bitlen(u)`` (5..64): the token is ``16 + 4*(n - 5) + t`` where ``t``
  is the two bits below the leading one, and the ``n - 3`` lowest bits are raw.

So tokens lie in ``[0, 256)``. Each token is coded in a *context*: the bit length of
``u[i-1] + u[i-2]`` (the two previous values of the same segment, 0 before its start), capped
at ``n_ctx - 1``. The decoder computes the same contexts from what it has already decoded.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["DIRECT", "MAX_TOKEN", "tokenize", "detokenize", "token_raw_bits"]

DIRECT = 16
MAX_TOKEN = DIRECT + 4 * 60 + 3  # n = 64 -> 16 + 4*59 + 3 = 255

OK = 0
ERR_TOKEN = 1  # a context stream ran out, or a token is out of range
ERR_BITS = 2  # the raw-bit stream ended early
ERR_TRAILING = 3  # data left over


@jit(inline="always")
def _bitlen64(u):
    """Significant bits of an unsigned 64-bit value."""
    b = 0
    while u != np.uint64(0):
        u >>= np.uint64(1)
        b += 1
    return b


@jit(inline="always")
def _ctx_of(u1, u2, n_ctx):
    if u1 > np.uint64(0xFFFFFFFFFFFFFFFF) - u2:  # the sum would wrap
        return n_ctx - 1
    c = _bitlen64(u1 + u2)
    return c if c < n_ctx else n_ctx - 1


@jit
def token_raw_bits(token):
    """Raw bits that follow ``token``."""
    if token < DIRECT:
        return 0
    return (token - DIRECT) // 4 + 2


@jit
def tokenize(values, seg_starts, n_ctx, tokens, ctx, raw):
    """Split ``values`` (int64) into tokens and contexts; pack raw bits into ``raw`` (uint8).

    ``seg_starts`` (int64, ascending, first 0) marks where the context history restarts.
    ``raw`` must hold at least ``8 * values.size + 8`` bytes. Returns the raw byte count.
    """
    n = values.size
    pos = 0
    acc = np.uint64(0)
    nacc = 0
    seg = 0
    u1 = np.uint64(0)
    u2 = np.uint64(0)
    for i in range(n):
        if seg < seg_starts.size and seg_starts[seg] == i:
            u1 = np.uint64(0)
            u2 = np.uint64(0)
            seg += 1
            while seg < seg_starts.size and seg_starts[seg] == i:
                seg += 1
        v = values[i]
        u = (np.uint64(v) << np.uint64(1)) ^ np.uint64(v >> 63)
        ctx[i] = _ctx_of(u1, u2, n_ctx)
        if u < np.uint64(DIRECT):
            tokens[i] = np.uint8(u)
        else:
            nb = _bitlen64(u)
            t = (u >> np.uint64(nb - 3)) & np.uint64(3)
            tokens[i] = np.uint8(DIRECT + 4 * (nb - 5) + int(t))
            k = nb - 3
            low = u & ((np.uint64(1) << np.uint64(k)) - np.uint64(1))
            # write k bits (k <= 61), possibly in two parts to keep the accumulator in range
            while k > 0:
                take = k if k <= 32 else 32
                acc |= (low & ((np.uint64(1) << np.uint64(take)) - np.uint64(1))) << np.uint64(nacc)
                low >>= np.uint64(take)
                k -= take
                nacc += take
                while nacc >= 8:
                    raw[pos] = np.uint8(acc & np.uint64(0xFF))
                    pos += 1
                    acc >>= np.uint64(8)
                    nacc -= 8
        u2 = u1
        u1 = u
    if nacc > 0:
        raw[pos] = np.uint8(acc & np.uint64(0xFF))
        pos += 1
    return pos


@jit
def detokenize(streams, offsets, counts, seg_starts, n_ctx, raw, out):
    """Inverse of :func:`tokenize` for untrusted input; returns a status (0 = OK).

    ``streams`` holds every context's decoded tokens back to back, context ``c`` at
    ``streams[offsets[c] : offsets[c] + counts[c]]``. Fills ``out`` (int64).
    """
    n = out.size
    used = np.zeros(n_ctx, np.int64)
    pos = 0
    nraw = raw.size
    acc = np.uint64(0)
    nacc = 0
    seg = 0
    u1 = np.uint64(0)
    u2 = np.uint64(0)
    for i in range(n):
        if seg < seg_starts.size and seg_starts[seg] == i:
            u1 = np.uint64(0)
            u2 = np.uint64(0)
            seg += 1
            while seg < seg_starts.size and seg_starts[seg] == i:
                seg += 1
        c = _ctx_of(u1, u2, n_ctx)
        if used[c] >= counts[c]:
            return ERR_TOKEN
        tok = np.int64(streams[offsets[c] + used[c]])
        used[c] += 1
        if tok < DIRECT:
            u = np.uint64(tok)
        else:
            if tok > MAX_TOKEN:
                return ERR_TOKEN
            nb = (tok - DIRECT) // 4 + 5
            t = np.uint64((tok - DIRECT) % 4)
            k = nb - 3
            low = np.uint64(0)
            got = 0
            while got < k:
                take = k - got if k - got <= 32 else 32
                while nacc < take:
                    if pos >= nraw:
                        return ERR_BITS
                    acc |= np.uint64(raw[pos]) << np.uint64(nacc)
                    pos += 1
                    nacc += 8
                low |= (acc & ((np.uint64(1) << np.uint64(take)) - np.uint64(1))) << np.uint64(got)
                acc >>= np.uint64(take)
                nacc -= take
                got += take
            u = (((np.uint64(4) | t) << np.uint64(k))) | low
        v = np.int64(u >> np.uint64(1)) ^ -np.int64(u & np.uint64(1))
        out[i] = v
        u2 = u1
        u1 = u
    for c in range(n_ctx):
        if used[c] != counts[c]:
            return ERR_TRAILING
    if pos != nraw or acc != np.uint64(0):
        return ERR_TRAILING
    return OK
