"""Kernels of the context-modelled residual coder: tokens, raw bits and context levels.

A signed integer ``v`` is zigzag-mapped to ``u`` and split into a *token* (entropy-coded) and
*raw bits* (stored as they are):

* ``u < 16``: the token is ``u`` itself, no raw bits;
* otherwise, with ``n = bitlen(u)`` (5..64): the token is ``16 + 4*(n - 5) + t`` where ``t``
  is the two bits below the leading one, and the ``n - 3`` lowest bits are raw.

So tokens lie in ``[0, 256)``. Values are taken in *groups* of four from the start of each
segment (the last group of a segment may be shorter). All tokens of a group share one context
*level*, a function of the tokens already seen in the segment: with ``S = 0`` at the
segment start, after each group ``S = S - (S >> 2) + (sum of its tokens)`` (a moving sum that
forgets a quarter per group; tokens grow with the logarithm of large magnitudes, so ``S`` is
about 16 times their recent mean, a scale estimate), and a group's level is ``S >> 1`` for
the ``S`` before it. ``S`` stays below 4084, so levels lie in ``[0, 2042)``. The decoder
computes the same levels from the tokens it has decoded; a group's level never depends on the
group itself, so its four tokens decode independently.

Raw bits form one bit stream, least-significant bit first, in value order; kernels hold it
as little-endian 64-bit words.
"""

from __future__ import annotations

import numba
import numpy as np

from ._jit import jit

__all__ = ["DIRECT", "MAX_TOKEN", "LEVELS", "analyze", "joint_histogram", "token_tables"]

DIRECT = 16
MAX_TOKEN = DIRECT + 4 * 59 + 3  # n = 64: 16 + 4*59 + 3 = 255
#: Context levels (``S >> 1 < 2042``).
LEVELS = 2048

if numba.config.DISABLE_JIT:  # type: ignore[attr-defined]

    def _clz(v):
        """Leading zero bits of a non-negative 64-bit value (64 for 0)."""
        return 64 - int(v).bit_length()

else:
    from numba.cpython.unsafe.numbers import leading_zeros as _clz  # type: ignore[assignment]


@jit(inline="always")
def _bitlen64(u):
    """Significant bits of an unsigned 64-bit value."""
    return 64 - np.int64(_clz(np.uint64(u)))


def token_tables() -> np.ndarray:
    """Per token ``t``, at ``[2t]`` the value ``u`` it stands for before its raw bits are
    or-ed in and at ``[2t + 1]`` its number of raw bits (uint64, 512 entries)."""
    tok = np.arange(256, dtype=np.int64)
    nbits = np.where(tok < DIRECT, 0, (tok - DIRECT) // 4 + 2)
    prefix = np.where(tok < DIRECT, tok, (4 | ((tok - DIRECT) & 3)) << nbits).astype(np.uint64)
    return np.stack([prefix, nbits.astype(np.uint64)], axis=1).reshape(-1).copy()


@jit
def analyze(values, seg_starts, tokens, levels, raw, level_counts):
    """Tokens, levels and raw bits of ``values`` (int64) in one pass; returns the raw bit count.

    ``seg_starts`` (int64, ascending, first 0) marks where the level history restarts.
    Writes ``tokens`` (uint8), ``levels`` (uint16), the raw bits to ``raw`` (uint64 words, at
    least ``values.size + 2``; bits past the returned count are zero) and counts the values
    of each level in ``level_counts`` (int64, ``LEVELS``). Branch-free per value: a value
    below ``DIRECT`` takes the same path with a zero mask.
    """
    u64 = np.uint64
    n = values.size
    nseg = seg_starts.size
    acc = u64(0)  # raw bits not yet stored in full words
    nacc = 0
    wi = 0
    for sg in range(nseg):
        a = seg_starts[sg]
        b = seg_starts[sg + 1] if sg + 1 < nseg else n
        s = np.int64(0)
        j = a
        while j < b:
            lev = s >> 1
            e = min(j + 4, b)
            g = np.int64(0)
            for i in range(j, e):
                v = values[u64(i)]
                u = (u64(v) << u64(1)) ^ u64(v >> 63)
                nb = _bitlen64(u)
                m = -np.int64(u >= u64(DIRECT))  # all ones for a value with raw bits
                k = (nb - 3) & m
                tok = ((DIRECT - 20 + 4 * nb + np.int64((u >> u64(k)) & u64(3))) & m) | (np.int64(u) & ~m)
                low = u & ((u64(1) << u64(k)) - u64(1))
                acc |= low << u64(nacc)
                raw[u64(wi)] = acc
                tot = nacc + k
                full = tot >> 6
                wi += full
                acc = ((low >> u64(1)) >> u64(63 - nacc)) if full else acc
                nacc = tot & 63
                tokens[u64(i)] = tok
                levels[u64(i)] = lev
                g += tok
            level_counts[u64(lev)] += e - j
            s = s - (s >> 2) + g
            j = e
    raw[u64(wi)] = acc
    return wi * 64 + nacc


@jit
def joint_histogram(tokens, levels, level_bin, hist):
    """``hist[level_bin[levels[i]], tokens[i]] += 1`` (hist: int64, bins x 256)."""
    for i in range(tokens.size):
        hist[level_bin[levels[i]], tokens[i]] += 1
