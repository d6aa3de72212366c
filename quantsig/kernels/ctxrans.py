"""Kernels of the fused residual coder: one rANS stream whose every token is coded with the
frequency table of its context (plain arrays in, plain arrays out).

Tokens, raw bits and context levels are defined in ``quantsig.kernels.tokens``. A block
maps the context levels to ``K`` contexts (contiguous level ranges), each with a static table
over the tokens at a common precision ``P <= 12``; one rANS stream of ``lanes`` (1 or 4)
interleaved 40-bit states and 16-bit words (as ``quantsig.kernels.rans``: states in
``[2**24, 2**40)``) codes the tokens. Within a segment, value ``j`` (counted from the segment
start) goes to lane ``j % 4`` (or lane 0), so the four tokens of a group, which share their
context, go to four independent states and decode in parallel. Segments follow each other
in one stream; the states carry over.

A decoding table entry (uint32) is ``token | (f - 1) << 8 | (slot - cum) << 20`` with the
frequency ``f`` scaled to ``2**P`` (a context with one token has ``f = 2**P``: it costs no
bits and leaves the state as it is).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from .rans import RANS_L, decode_table, encode_table, model_costs, quantize_freqs

__all__ = ["MAX_PREC", "partition", "fit_tables", "build_decoder", "encode", "decode"]

#: Largest coding precision (entries hold ``f - 1`` and ``slot - cum`` in 12 bits each).
MAX_PREC = 12
#: Model kind byte of a parametric context (a table of the built-in family, at precision 12).
PARAMETRIC = 13

ERR_TRUNCATED = -1  #: the models end early
ERR_VALUE = -2  #: a model field is out of range
ERR_TRAILING = -3  #: a frequency table has unused bytes or bits
ERR_WORDS_SHORT = -6  #: the words or raw bits ended before the last token
ERR_WORDS_LEFT = -7  #: words left after the last token
ERR_STATE = -8  #: a lane did not end in its initial state


# ---------------------------------------------------------------------- model choice


@jit(inline="always")
def _context_bits(a, b, entry_bits, ctx_bits):
    """Estimated bits of a context with token counts ``a + b`` (``b`` may be ``a`` times 0):
    ``sum(c log2(N / c))`` plus ``entry_bits`` per present token and ``ctx_bits`` (16 bits in
    all for one token)."""
    total = np.int64(0)
    plogp = 0.0
    nz = 0
    for j in range(a.size):
        c = a[j] + b[j]
        if c > 0:
            plogp += c * np.log2(np.float64(c))
            nz += 1
            total += c
    if total == 0:
        return 0.0
    return total * np.log2(np.float64(total)) - plogp + (16.0 if nz == 1 else ctx_bits + entry_bits * nz)


@jit
def partition(hist, kmax, entry_bits, ctx_bits, starts):
    """Group consecutive bins into at most ``kmax`` contexts; returns their number ``K``.

    ``hist`` (int64, bins x tokens) holds each bin's token counts. Starting from one context
    per non-empty bin, the two neighbours whose merging saves the most estimated bits
    (``_context_bits``) are merged while that saves bits or while there are more than
    ``kmax``. ``starts[c]`` (int64, >= the number of bins) receives the first bin of context
    ``c`` (``starts[0] = 0``: leading empty bins join the first context, others the context
    before them). Explicit loops only (no array expressions): quick to compile.
    """
    nb, na = hist.shape
    rows = np.zeros((nb, na), np.int64)
    zero = np.zeros(na, np.int64)
    first = np.zeros(nb, np.int64)
    m = 0
    for i in range(nb):
        any_ = False
        for j in range(na):
            rows[m, j] = hist[i, j]
            any_ |= hist[i, j] > 0
        if any_:
            first[m] = i
            m += 1
    starts[0] = 0
    if m <= 1:
        return 1
    cost = np.zeros(m)
    nxt = np.zeros(m, np.int64)
    prv = np.zeros(m, np.int64)
    gain = np.zeros(m)  # gain[k]: cost change of merging k with nxt[k]
    for k in range(m):
        cost[k] = _context_bits(rows[k], zero, entry_bits, ctx_bits)
        nxt[k] = k + 1
        prv[k] = k - 1
    for k in range(m - 1):
        gain[k] = _context_bits(rows[k], rows[k + 1], entry_bits, ctx_bits) - cost[k] - cost[k + 1]
    gain[m - 1] = np.inf
    nctx = m
    while nctx > 1:
        best = -1
        bd = np.inf
        k = 0
        while k < m:
            if gain[k] < bd:
                bd = gain[k]
                best = k
            k = nxt[k]
        if bd > 0 and nctx <= kmax:
            break
        q = nxt[best]
        for j in range(na):
            rows[best, j] += rows[q, j]
        cost[best] += cost[q] + bd
        nxt[best] = nxt[q]
        if nxt[q] < m:
            prv[nxt[q]] = best
        nctx -= 1
        gain[best] = np.inf
        if nxt[best] < m:
            gain[best] = _context_bits(rows[best], rows[nxt[best]], entry_bits, ctx_bits) - cost[best] - cost[nxt[best]]
        p = prv[best]
        if p >= 0:
            gain[p] = _context_bits(rows[p], rows[best], entry_bits, ctx_bits) - cost[p] - cost[best]
    k = 0
    c = 0
    while k < m:
        starts[c] = first[k]
        c += 1
        k = nxt[k]
    starts[0] = 0
    return nctx


@jit(inline="always")
def _ceil_log2(v):
    b = 0
    while (np.int64(1) << b) < v:
        b += 1
    return b


@jit
def fit_tables(rows, maxp, params, param_bits, param_tab, precs, freqs, out):
    """Choose and serialize each context's model; returns the bytes written to ``out``.

    ``rows`` (int64, K x A) holds each context's token counts (none all zero). A context of
    one token is written ``0, token``. Any other gets the smaller of an explicit table,
    written as its precision ``p`` (1..``maxp``), the table length (uvarint) and
    ``encode_table``'s bytes, ``p`` minimizing payload plus table
    (from the largest useful precision down, stopping after two worse ones; within 0.01 % the
    smaller wins), and the parametric table ``params[k]`` of the built-in family
    ``param_tab`` (int64, 256 x 256, precision 12), written ``PARAMETRIC, params[k]``, whose
    payload costs ``param_bits[k]``. Fills ``precs`` (int64, K) and ``freqs`` (int64, K x A,
    row ``k`` summing to ``2**precs[k]`` over all tokens). ``out`` (uint8) needs
    ``K * (9 * A + 12)`` bytes.
    """
    nctx, a = rows.shape
    pos = 0
    totals = np.empty(maxp + 1, np.float64)
    scratch = np.empty(9 * a + 8, np.uint8)
    for k in range(nctx):
        row = rows[k]
        nz = 0
        n = np.int64(0)
        last = 0
        for s in range(a):
            if row[s] > 0:
                nz += 1
                n += row[s]
                last = s
        freqs[k, :] = 0
        if nz == 1:
            precs[k] = 0
            freqs[k, last] = 1
            out[pos] = 0
            out[pos + 1] = last
            pos += 2
            continue
        low = max(_ceil_log2(nz), 1)
        high = min(maxp, max(low, _ceil_log2(n + 1) + 1))
        totals[:] = np.inf
        model_costs(row, np.int64(low), np.int64(high), np.int64(2), totals, freqs[k], scratch)
        best = np.inf
        for p in range(low, high + 1):
            best = min(best, totals[p])
        p = low
        while totals[p] > best * (1 + 1e-4):
            p += 1
        quantize_freqs(row, np.int64(p), freqs[k])
        nbytes = encode_table(freqs[k], np.int64(p), scratch)
        if param_bits[k] + 16.0 < totals[p] + (16.0 if nbytes < 0x80 else 24.0):
            precs[k] = 12
            freqs[k, :] = param_tab[params[k], :a]
            out[pos] = PARAMETRIC
            out[pos + 1] = params[k]
            pos += 2
            continue
        precs[k] = p
        out[pos] = p
        pos += 1
        if nbytes >= 0x80:  # uvarint length: at most 2 bytes (9 * 256 + 8 < 2**14)
            out[pos] = (nbytes & 0x7F) | 0x80
            out[pos + 1] = nbytes >> 7
            pos += 2
        else:
            out[pos] = nbytes
            pos += 1
        out[pos : pos + nbytes] = scratch[:nbytes]
        pos += nbytes
    return pos


@jit
def build_decoder(buf, pos, alphabet, nctx, prec, param_tab, tab, freqs):
    """Read ``nctx`` context models (written by ``fit_tables``) from ``buf[pos:]``
    (untrusted) into the decoding table ``tab`` (uint32, ``nctx << prec``).

    ``param_tab`` is the parametric family (int64, 256 x 256, precision 12); ``freqs`` int64
    scratch of ``alphabet`` entries. Returns ``(status, pos)``: status 0 and
    the position after the models, or ``ERR_TRUNCATED`` / ``ERR_VALUE`` / ``ERR_TRAILING``.
    Never reads outside ``buf`` or writes outside ``tab``.
    """
    m = np.int64(1) << prec
    end = buf.size
    for c in range(nctx):
        base = np.int64(c) << prec
        if pos >= end:
            return ERR_TRUNCATED, pos
        p = np.int64(buf[pos])
        pos += 1
        if p == 0:
            if pos >= end:
                return ERR_TRUNCATED, pos
            t = np.int64(buf[pos])
            pos += 1
            if t >= alphabet:
                return ERR_VALUE, pos
            for k in range(m):
                tab[base + k] = np.uint32(t | ((m - 1) << 8) | (np.int64(k) << 20))
            continue
        if p == PARAMETRIC:
            if pos >= end:
                return ERR_TRUNCATED, pos
            row = param_tab[np.int64(buf[pos])]
            pos += 1
            if prec != 12:
                return ERR_VALUE, pos
            cum = np.int64(0)
            for s in range(row.size):
                f = row[s]
                entry = np.int64(s) | ((f - 1) << 8)
                for k in range(f):
                    tab[base + cum + k] = np.uint32(entry | (np.int64(k) << 20))
                cum += f
            continue
        if p > prec or alphabet < 2:
            return ERR_VALUE, pos
        if pos >= end:
            return ERR_TRUNCATED, pos
        b0 = np.int64(buf[pos])
        pos += 1
        tlen = b0 & 0x7F
        if b0 & 0x80:
            if pos >= end:
                return ERR_TRUNCATED, pos
            b1 = np.int64(buf[pos])
            pos += 1
            if b1 == 0 or b1 & 0x80:  # non-canonical, or longer than any table
                return ERR_VALUE, pos
            tlen |= b1 << 7
        if tlen > end - pos:
            return ERR_TRUNCATED, pos
        status = decode_table(buf[pos : pos + tlen], p, freqs)
        if status != 0:
            return status, pos
        pos += tlen
        sh = prec - p
        cum = np.int64(0)
        for s in range(alphabet):
            f = freqs[s] << sh
            entry = np.int64(s) | ((f - 1) << 8)
            for k in range(f):
                tab[base + cum + k] = np.uint32(entry | (np.int64(k) << 20))
            cum += f
    return 0, pos


# ---------------------------------------------------------------------- coding


@jit
def encode(tokens, levels, seg_starts, cbase, lanes, prec, freq, cum, inv, out):
    """Encode the tokens backwards into ``out`` (uint16, ``tokens.size + 1`` words).

    ``tokens`` (uint8) and ``levels`` (uint16) come from
    ``analyze``; token ``t`` of level ``l`` is coded with model
    entry ``cbase[l] + t`` of ``freq`` / ``cum``
    (int64, scaled to ``2**prec``) and ``inv`` (float64, ``nextafter(1/f, inf)``). Returns
    ``(start, x0, x1, x2, x3)``: the words are ``out[start:]``, ``x0..x3`` the final states.

    A word is stored below the emitted ones before every step and kept only when the state
    renormalizes (no branch); ``out`` has room since at most one word goes out per token.
    """
    u = np.uint64
    n = tokens.size
    pos = out.size
    sh = 40 - prec
    x0 = np.int64(RANS_L)
    x1 = x0
    x2 = x0
    x3 = x0
    nseg = seg_starts.size
    for sg in range(nseg - 1, -1, -1):
        a = seg_starts[sg]
        b = seg_starts[sg + 1] if sg + 1 < nseg else n
        if lanes == 1:
            for i in range(b - 1, a - 1, -1):
                k = u(cbase[u(levels[u(i)])] + tokens[u(i)])
                f = freq[k]
                out[u(pos - 1)] = x0 & 0xFFFF
                nd = x0 >= (f << sh)
                pos -= np.int64(nd)
                x0 = (x0 >> 16) if nd else x0
                q = np.int64(x0 * inv[k])
                x0 = (q << prec) + (x0 - q * f) + cum[k]
            continue
        full = a + (((b - a) >> 2) << 2)
        for i in range(b - 1, full - 1, -1):  # the short last group: lanes 0..
            lane = i - full
            x = x0 if lane == 0 else (x1 if lane == 1 else x2)
            k = u(cbase[u(levels[u(i)])] + tokens[u(i)])
            f = freq[k]
            out[u(pos - 1)] = x & 0xFFFF
            nd = x >= (f << sh)
            pos -= np.int64(nd)
            x = (x >> 16) if nd else x
            q = np.int64(x * inv[k])
            x = (q << prec) + (x - q * f) + cum[k]
            if lane == 0:
                x0 = x
            elif lane == 1:
                x1 = x
            else:
                x2 = x
        i = full - 4
        while i >= a:
            k = u(cbase[u(levels[u(i + 3)])] + tokens[u(i + 3)])
            f = freq[k]
            out[u(pos - 1)] = x3 & 0xFFFF
            nd = x3 >= (f << sh)
            pos -= np.int64(nd)
            x3 = (x3 >> 16) if nd else x3
            q = np.int64(x3 * inv[k])
            x3 = (q << prec) + (x3 - q * f) + cum[k]
            k = u(cbase[u(levels[u(i + 2)])] + tokens[u(i + 2)])
            f = freq[k]
            out[u(pos - 1)] = x2 & 0xFFFF
            nd = x2 >= (f << sh)
            pos -= np.int64(nd)
            x2 = (x2 >> 16) if nd else x2
            q = np.int64(x2 * inv[k])
            x2 = (q << prec) + (x2 - q * f) + cum[k]
            k = u(cbase[u(levels[u(i + 1)])] + tokens[u(i + 1)])
            f = freq[k]
            out[u(pos - 1)] = x1 & 0xFFFF
            nd = x1 >= (f << sh)
            pos -= np.int64(nd)
            x1 = (x1 >> 16) if nd else x1
            q = np.int64(x1 * inv[k])
            x1 = (q << prec) + (x1 - q * f) + cum[k]
            k = u(cbase[u(levels[u(i)])] + tokens[u(i)])
            f = freq[k]
            out[u(pos - 1)] = x0 & 0xFFFF
            nd = x0 >= (f << sh)
            pos -= np.int64(nd)
            x0 = (x0 >> 16) if nd else x0
            q = np.int64(x0 * inv[k])
            x0 = (q << prec) + (x0 - q * f) + cum[k]
            i -= 4
    return pos, x0, x1, x2, x3


_U1 = np.uint64(1)
#: Guard words after the rANS words (uint16) and after the raw bits (uint64) that
#: ``decode`` needs: it checks its positions once per group of four tokens.
WORD_GUARD = 4
RAW_GUARD = 5


@jit(inline="always")
def _bits(raw, bp, nb):
    """The ``nb`` (<= 61) bits at ``bp`` of the raw stream (``raw``: uint64 words)."""
    i = np.uint64(bp >> 6)  # unsigned indices: no negative-index wraparound code
    off = np.uint64(bp & 63)
    w = (raw[i] >> off) | ((raw[i + _U1] << _U1) << (np.uint64(63) - off))
    return w & ((_U1 << np.uint64(nb)) - _U1)


@jit(inline="always")
def _value(u):
    return np.int64(u >> _U1) ^ -np.int64(u & _U1)


@jit
def decode(words, raw, seg_starts, cbase, lanes, prec, tab, tinfo, x0, x1, x2, x3, out):
    """Decode ``out.size`` values (int64) of untrusted data; returns ``(status, raw bits read)``.

    ``words`` (uint16) holds the payload words then ``WORD_GUARD`` zero words; ``raw``
    (uint64) the raw-bit stream then ``RAW_GUARD`` zero words; ``tab`` (uint32) is
    ``build_decoder``'s table and ``cbase[level]`` (int32, one per level) the offset of
    the level's context in it (``context << prec``). ``tinfo`` (uint64, 512) holds each token's
    prefix and raw bit count (``token_tables``, interleaved). The
    initial states must lie in ``[RANS_L, 2**40)`` (checked by the caller). Decoding stops at
    the first group that would read past the words or raw bits. The caller checks the
    returned bit count against the raw stream. Status 0, ``ERR_WORDS_SHORT``,
    ``ERR_WORDS_LEFT`` or ``ERR_STATE``.

    The hot loop indexes with unsigned integers (no wraparound code for negative indices),
    renormalizes without branches and checks its read positions once per group.
    """
    u = np.uint64
    n = out.size
    nw = words.size - WORD_GUARD
    rbits = (raw.size - RAW_GUARD) * 64
    mask = (np.int64(1) << prec) - 1
    lo = np.int64(RANS_L)
    wp = 0
    bp = 0
    nseg = seg_starts.size
    for sg in range(nseg):
        a = seg_starts[sg]
        b = seg_starts[sg + 1] if sg + 1 < nseg else n
        s = np.int64(0)
        j = a
        if lanes == 4:
            while j + 4 <= b:
                if (wp > nw) | (bp > rbits):
                    return ERR_WORDS_SHORT, bp
                base = np.int64(cbase[u(s >> 1)])
                e0 = np.int64(tab[u(base + (x0 & mask))])
                e1 = np.int64(tab[u(base + (x1 & mask))])
                e2 = np.int64(tab[u(base + (x2 & mask))])
                e3 = np.int64(tab[u(base + (x3 & mask))])
                x0 = (((e0 >> 8) & 0xFFF) + 1) * (x0 >> prec) + (e0 >> 20)
                x1 = (((e1 >> 8) & 0xFFF) + 1) * (x1 >> prec) + (e1 >> 20)
                x2 = (((e2 >> 8) & 0xFFF) + 1) * (x2 >> prec) + (e2 >> 20)
                x3 = (((e3 >> 8) & 0xFFF) + 1) * (x3 >> prec) + (e3 >> 20)
                w = np.int64(words[u(wp)])  # renormalize without a branch (a select)
                nd = x0 < lo
                x0 = ((x0 << 16) | w) if nd else x0
                wp += np.int64(nd)
                w = np.int64(words[u(wp)])
                nd = x1 < lo
                x1 = ((x1 << 16) | w) if nd else x1
                wp += np.int64(nd)
                w = np.int64(words[u(wp)])
                nd = x2 < lo
                x2 = ((x2 << 16) | w) if nd else x2
                wp += np.int64(nd)
                w = np.int64(words[u(wp)])
                nd = x3 < lo
                x3 = ((x3 << 16) | w) if nd else x3
                wp += np.int64(nd)
                t0 = u((e0 & 0xFF) << 1)
                t1 = u((e1 & 0xFF) << 1)
                t2 = u((e2 & 0xFF) << 1)
                t3 = u((e3 & 0xFF) << 1)
                s = s - (s >> 2) + (np.int64((t0 + t1) + (t2 + t3)) >> 1)
                k = np.int64(tinfo[t0 + _U1])
                out[u(j)] = _value(tinfo[t0] | _bits(raw, bp, k))
                bp += k
                k = np.int64(tinfo[t1 + _U1])
                out[u(j + 1)] = _value(tinfo[t1] | _bits(raw, bp, k))
                bp += k
                k = np.int64(tinfo[t2 + _U1])
                out[u(j + 2)] = _value(tinfo[t2] | _bits(raw, bp, k))
                bp += k
                k = np.int64(tinfo[t3 + _U1])
                out[u(j + 3)] = _value(tinfo[t3] | _bits(raw, bp, k))
                bp += k
                j += 4
        while j < b:  # a short group (4 lanes), or every group (1 lane)
            if (wp > nw) | (bp > rbits):
                return ERR_WORDS_SHORT, bp
            base = np.int64(cbase[s >> 1])
            e_ = min(j + 4, b)
            g = np.int64(0)
            for i in range(j, e_):
                lane = i - j if lanes == 4 else 0
                x = x0 if lane == 0 else (x1 if lane == 1 else (x2 if lane == 2 else x3))
                e = np.int64(tab[base + (x & mask)])
                x = (((e >> 8) & 0xFFF) + 1) * (x >> prec) + (e >> 20)
                if x < lo:
                    x = (x << 16) | np.int64(words[wp])
                    wp += 1
                if lane == 0:
                    x0 = x
                elif lane == 1:
                    x1 = x
                elif lane == 2:
                    x2 = x
                else:
                    x3 = x
                t = e & 0xFF
                k = np.int64(tinfo[2 * t + 1])
                out[i] = _value(tinfo[2 * t] | _bits(raw, bp, k))
                bp += k
                g += t
            s = s - (s >> 2) + g
            j = e_
    if wp > nw:
        return ERR_WORDS_SHORT, bp
    if wp < nw:
        return ERR_WORDS_LEFT, bp
    if (x0 != lo) | (x1 != lo) | (x2 != lo) | (x3 != lo):
        return ERR_STATE, bp
    return 0, bp
