"""rANS entropy coding: statistics, frequency quantization, table and escape bit streams, and
the interleaved coder itself.

The coder (byte layout in ``docs/entropy.md``) keeps ``LANES`` = 4 interleaved states, each
in ``[L, L << 16)`` with ``L = 2**24`` (so below ``2**40``), and renormalizes with 16-bit words:
at most one word per symbol, on either side. Symbol ``i`` belongs to lane ``i % 4``. The encoder
runs backwards from the last symbol, starting every lane at ``L`` and writing words from the
end of its buffer towards the front; the decoder runs forwards and must end with every lane at
``L`` again, having read every word (a cheap check that catches most corruption).

``L`` is ``2**8`` times the largest model total ``M = 2**16``: the coding loss of rANS shrinks
with ``(M / L)**2`` (with a 32-bit state, ``L = 2**16``, it is 0.17 % at ``M = 2**16``; here it
is below 1e-6), and a 40-bit state still fits a float64 mantissa, which gives the encoder an
exact division without a divide instruction: for ``x < 2**40`` and ``1 <= f <= M``,
``int(x * nextafter(1/f, inf)) == x // f`` (the product errs upwards by less than
``x/f * 2**-51 < 2**-27 < 1/f``). Everything is ``int64`` arithmetic, identical with and
without ``NUMBA_DISABLE_JIT``.

Bit streams (tables and escapes) are least-significant-bit first: bit ``j`` of a stream is
bit ``j % 8`` of byte ``j // 8``; a multi-bit field is written lowest bit first.

Decoding kernels never read or write out of bounds whatever their input: every read index is
checked (or clamped to a guard word) inside the loop, and problems come back as status codes
for the Python layer to raise. Status codes are the negative ``ERR_*`` constants below.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = [
    "LANES",
    "RANS_L",
    "STATE_LIMIT",
    "WORD_BITS",
    "MAX_PRECISION",
    "ERR_TRUNCATED",
    "ERR_VALUE",
    "ERR_TRAILING",
    "ERR_STATE",
    "ERR_ESCAPES",
    "minmax",
    "histogram",
    "bucket_histogram",
    "trim_window",
    "quantize_freqs",
    "model_costs",
    "encode_table",
    "decode_table",
    "encode_escapes",
    "decode_escapes",
    "rans_encode",
    "rans_decode",
]

#: Interleaved rANS states (lanes); symbol ``i`` uses lane ``i % LANES``.
LANES = 4
#: Lower end of the normalized state interval ``[RANS_L, STATE_LIMIT)``.
RANS_L = 1 << 24
#: Upper end (exclusive) of the state interval: states need 40 bits (5 bytes when flushed).
STATE_LIMIT = 1 << 40
#: Renormalization word size.
WORD_BITS = 16
#: Largest model precision: frequencies sum to ``2**precision <= 2**16``.
MAX_PRECISION = 16

# Status codes of the decoding kernels (0 is success).
ERR_TRUNCATED = -1  #: a bit stream or the word payload ended early
ERR_VALUE = -2  #: a decoded field is out of its valid range
ERR_TRAILING = -3  #: bytes or non-zero padding bits left after the last field
ERR_STATE = -4  #: a rANS lane did not end in its initial state
ERR_ESCAPES = -5  #: the number of escape symbols differs from the header

_RICE_ESCAPE_Q = 20  # a Rice quotient this large is sent as 18 raw bits instead
_RAW_FREQ_BITS = 18
_K_RESET = 16  # halve the adaptive Rice statistics after this many values


# ---------------------------------------------------------------------- statistics


@jit
def minmax(values):
    """``(min, max)`` of a non-empty integer array, as int64."""
    mn = np.int64(values[0])
    mx = mn
    for i in range(1, values.size):
        v = np.int64(values[i])
        mn = min(mn, v)
        mx = max(mx, v)
    return mn, mx


@jit
def histogram(values, lo, hi, counts):
    """``counts[v - lo] += 1`` for each ``v`` in ``[lo, hi]``; returns how many are outside.

    ``counts`` has ``hi - lo + 1`` zeroed entries (at most 65,536). Four interleaved
    sub-histograms keep repeated values from serializing on one memory location when
    ``counts`` is small; they are summed into ``counts`` at the end.
    """
    w = counts.size
    n = values.size
    n_out = 0
    if w <= 4096:
        sub = np.zeros(4 * w, np.int64)
        n4 = n - n % 4
        for i in range(0, n4, 4):
            for j in range(4):
                v = np.int64(values[i + j])
                if (v >= lo) & (v <= hi):
                    sub[j * w + (v - lo)] += 1
                else:
                    n_out += 1
        for i in range(n4, n):
            v = np.int64(values[i])
            if (v >= lo) & (v <= hi):
                sub[v - lo] += 1
            else:
                n_out += 1
        for b in range(w):
            counts[b] += sub[b] + sub[w + b] + sub[2 * w + b] + sub[3 * w + b]
        return n_out
    for i in range(n):
        v = np.int64(values[i])
        if (v >= lo) & (v <= hi):
            counts[v - lo] += 1
        else:
            n_out += 1
    return n_out


@jit
def bucket_histogram(values, lo, hi, shift, counts):
    """``counts[(v >> shift) - (lo >> shift)] += 1`` for each ``v`` in ``[lo, hi]``.

    Shifting before subtracting cannot overflow, whatever ``lo`` and ``hi``. ``counts`` has
    ``(hi >> shift) - (lo >> shift) + 1`` zeroed entries; ``shift`` is 1 to 63.
    """
    base = lo >> shift
    for i in range(values.size):
        v = np.int64(values[i])
        if (v >= lo) & (v <= hi):
            counts[(v >> shift) - base] += 1


@jit
def _cut_costs(h, keep, n, cuts, escaped, delta):
    """Candidate cuts from the left of ``h``: leave out 0, 1, 2, 4, ... values.

    Fills ``cuts`` (the window starts at index ``cut``), ``escaped`` (values left out) and
    ``delta`` (their escape-distance bits minus their keep costs); returns how many.
    """
    w = h.size
    cs = np.zeros(w + 1)
    ck = np.zeros(w + 1)
    for p in range(w):
        cs[p + 1] = cs[p] + h[p]
        ck[p + 1] = ck[p] + keep[p]
    m = 0
    t = 0.0
    last = -1
    limit = max(n >> 3, 1)
    cut = 0
    while True:
        while cut < w and cs[cut + 1] <= t:  # first index whose prefix count exceeds t
            cut += 1
        if cut < w and cut != last:
            dist = 0.0
            for b in range(17):  # distances in [2**b - 1, 2**(b+1) - 1) cost 2b + 1 bits
                near = min(max(cut - (1 << b) + 1, 0), w)
                far = min(max(cut - (1 << (b + 1)) + 1, 0), w)
                dist += (2 * b + 1) * (cs[near] - cs[far])
            cuts[m] = cut
            escaped[m] = cs[cut]
            delta[m] = dist - ck[cut]
            m += 1
            last = cut
        if t >= limit or m >= cuts.size:
            break
        t = 1.0 if t == 0.0 else 2.0 * t
    return m


@jit
def trim_window(counts, n, n_out):
    """The sub-window ``counts[i:j+1]`` with the smallest estimated coded size: ``(i, j)``.

    Values outside it become escapes. Estimated bits: a kept value with count ``c`` costs
    ``c * log2(n / c)``, its table entry (6 bits, plus ``2 log2(gap + 1) + 2`` for the zero
    run before it) and, when ``c / n < 2**-16``, ``n * log2(e) * (2**-16 - c / n)`` for the
    model unit it takes from all the others; ``E`` escapes cost ``E * (log2(n / E) + 1) + 40``
    plus the Exp-Golomb bits of each distance from the window edge. Cuts that leave 0, 1, 2,
    4, ... values out on each side are tried in every combination. ``counts`` must have
    non-zero ends.
    """
    w = counts.size
    h = np.empty(w)
    keep = np.zeros(w)
    prev = -1
    log2e = 1.4426950408889634
    for p in range(w):
        c = np.float64(counts[p])
        h[p] = c
        if c > 0:
            gap = p - prev - 1 if prev >= 0 else 0
            entry = 6.0 + (2.0 * np.log2(gap + 1.0) + 2.0 if gap > 0 else 0.0)
            stolen = max(1.0 / 65536.0 - c / n, 0.0)
            keep[p] = c * np.log2(n / c) + entry + n * log2e * stolen
            prev = p
    cap = 72
    lcut = np.empty(cap, np.int64)
    lesc = np.empty(cap)
    ldel = np.empty(cap)
    ml = _cut_costs(h, keep, n, lcut, lesc, ldel)
    rcut = np.empty(cap, np.int64)
    resc = np.empty(cap)
    rdel = np.empty(cap)
    mr = _cut_costs(h[::-1].copy(), keep[::-1].copy(), n, rcut, resc, rdel)
    best = np.inf
    bi = 0
    bj = w - 1
    for a in range(ml):
        for b in range(mr):
            i = lcut[a]
            j = w - 1 - rcut[b]
            if i > j:
                continue
            e = n_out + lesc[a] + resc[b]
            total = ldel[a] + rdel[b]
            if e > 0:
                total += e * (np.log2(n / e) + 1.0) + 40.0
            if total < best:
                best = total
                bi = i
                bj = j
    return bi, bj


# ---------------------------------------------------------------------- frequency model


@jit(inline="always")
def _sift_down(key, idx, size, pos):
    k = key[pos]
    j = idx[pos]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and key[child + 1] > key[child]:
            child += 1
        if key[child] <= k:
            break
        key[pos] = key[child]
        idx[pos] = idx[child]
        pos = child
    key[pos] = k
    idx[pos] = j


@jit
def _heapify(key, idx, size):
    for pos in range(size // 2 - 1, -1, -1):
        _sift_down(key, idx, size, pos)


@jit
def quantize_freqs(counts, prec, freqs):
    """Frequencies ``freqs`` summing to ``2**prec`` that minimize ``-sum(c * log f)``.

    Every symbol with a non-zero count gets ``f >= 1``, the others ``f = 0``. Start from
    ``max(1, floor(c * M / n))``, move units one at a time where the cost changes most (a heap
    of marginal gains ``c * log(1 + 1/f)`` or losses ``c * log(f / (f - 1))``), then swap
    units between the best gain and the smallest loss until no swap helps: the objective is
    separable and concave, so this local optimum is the global one. The caller guarantees
    ``1 <= count_nonzero(counts) <= 2**prec``.
    """
    m = np.int64(1) << prec
    a = counts.size
    total = np.int64(0)
    for i in range(a):
        total += counts[i]
    scale = m / total
    s = np.int64(0)
    for i in range(a):
        c = counts[i]
        if c > 0:
            f = np.int64(c * scale)
            freqs[i] = max(f, np.int64(1))
        else:
            freqs[i] = 0
        s += freqs[i]
    key = np.empty(a, np.float64)
    idx = np.empty(a, np.int64)
    if s < m:  # add units where the gain is largest
        size = 0
        for i in range(a):
            if counts[i] > 0:
                key[size] = counts[i] * np.log1p(1.0 / freqs[i])
                idx[size] = i
                size += 1
        _heapify(key, idx, size)
        while s < m:
            i = idx[0]
            freqs[i] += 1
            s += 1
            key[0] = counts[i] * np.log1p(1.0 / freqs[i])
            _sift_down(key, idx, size, 0)
    elif s > m:  # remove units where the loss is smallest (keys are negated losses)
        size = 0
        for i in range(a):
            if freqs[i] > 1:
                key[size] = counts[i] * np.log1p(-1.0 / freqs[i])
                idx[size] = i
                size += 1
        _heapify(key, idx, size)
        while s > m and size > 0:
            i = idx[0]
            freqs[i] -= 1
            s -= 1
            if freqs[i] > 1:
                key[0] = counts[i] * np.log1p(-1.0 / freqs[i])
            else:
                size -= 1
                key[0] = key[size]
                idx[0] = idx[size]
            if size > 0:
                _sift_down(key, idx, size, 0)
    # polish: move one unit from the smallest loss to the largest gain while that helps
    for _ in range(4 * a + 64):
        best_gain = -1.0
        gi = -1
        best_loss = np.inf
        li = -1
        for i in range(a):
            c = counts[i]
            if c > 0:
                f = freqs[i]
                g = c * np.log1p(1.0 / f)
                if g > best_gain:
                    best_gain = g
                    gi = i
                if f > 1:
                    loss = -c * np.log1p(-1.0 / f)
                    if loss < best_loss:
                        best_loss = loss
                        li = i
        if li < 0 or gi == li or best_gain <= best_loss * (1.0 + 1e-12):
            break
        freqs[gi] += 1
        freqs[li] -= 1


@jit
def model_costs(counts, min_prec, max_prec, patience, totals, freqs, scratch):
    """Coded size in bits (payload plus serialized table) of the best table at each precision.

    For ``prec`` from ``max_prec`` down to ``min_prec``: quantize ``counts`` (into ``freqs``),
    then ``totals[prec] = sum(c * (prec - log2 f)) + 8 * table bytes`` (the table is written to
    ``scratch``, uint8 of ``9 * A + 8`` bytes). Stops after ``patience`` precisions in a row
    that do worse than the best so far; untried entries are left as they are (``inf``).
    """
    best = np.inf
    worse = 0
    for prec in range(max_prec, min_prec - 1, -1):
        quantize_freqs(counts, prec, freqs)
        bits = 0.0
        for i in range(counts.size):
            if counts[i] > 0:
                bits += counts[i] * (prec - np.log2(np.float64(freqs[i])))
        total = bits + 8.0 * encode_table(freqs, prec, scratch)
        totals[prec] = total
        if total <= best:
            if total < best:
                worse = 0
            best = total
        else:
            worse += 1
            if worse >= patience:
                break


# ---------------------------------------------------------------------- bit streams


@jit(inline="always")
def _put(out, pos, acc, nacc, value, nbits):
    """Append the ``nbits`` (<= 32) low bits of ``value``; returns ``(pos, acc, nacc)``."""
    acc |= (value & ((np.int64(1) << nbits) - 1)) << nacc
    nacc += nbits
    while nacc >= 8:
        out[pos] = acc & 0xFF
        pos += 1
        acc >>= 8
        nacc -= 8
    return pos, acc, nacc


@jit(inline="always")
def _get(buf, end, pos, acc, nacc, nbits):
    """Read ``nbits`` (<= 32) bits; returns ``(value, pos, acc, nacc)``, value -1 if past ``end``."""
    while nacc < nbits:
        if pos >= end:
            return np.int64(-1), pos, acc, nacc
        acc |= np.int64(buf[pos]) << nacc
        pos += 1
        nacc += 8
    v = acc & ((np.int64(1) << nbits) - 1)
    return v, pos, acc >> nbits, nacc - nbits


@jit(inline="always")
def _bitlen(v):
    """Number of significant bits of ``0 <= v < 2**62``."""
    b = 0
    while v > 0:
        v >>= 1
        b += 1
    return b


@jit(inline="always")
def _rice_k(asum, cnt):
    k = 0
    while (cnt << k) < asum:
        k += 1
    return k


@jit
def encode_table(freqs, prec, out):
    """Write the frequency table to ``out`` (uint8, large enough); returns its byte length.

    Format (LSB-first bits), for ``A = freqs.size`` symbols, the last one implied as
    ``2**prec`` minus the others: walking ``i = 0 .. A-2``, a non-zero ``f`` is sent as the
    Rice code of ``1 + zigzag(f - prev)`` (``prev``: the previous non-zero frequency, first
    0), a run of ``r`` zeros as the Rice code of 0 followed by the Elias-gamma code of ``r``.
    The Rice parameter adapts as in LOCO-I: the smallest ``k`` with ``cnt << k >= asum``
    over the values sent so far (halved every 16). A Rice quotient of 20 or more is sent as
    20 one-bits and the value in 18 raw bits.
    """
    a = freqs.size
    pos = 0
    acc = np.int64(0)
    nacc = 0
    prev = np.int64(0)
    asum = np.int64(2)
    cnt = np.int64(1)
    i = 0
    while i < a - 1:
        f = np.int64(freqs[i])
        if f == 0:
            c = np.int64(0)
            run = 1
            while i + run < a - 1 and freqs[i + run] == 0:
                run += 1
        else:
            d = f - prev
            c = 1 + (2 * d if d >= 0 else -2 * d - 1)
            run = 0
        k = _rice_k(asum, cnt)
        q = c >> k
        if q >= _RICE_ESCAPE_Q:
            pos, acc, nacc = _put(out, pos, acc, nacc, (np.int64(1) << _RICE_ESCAPE_Q) - 1, _RICE_ESCAPE_Q)
            pos, acc, nacc = _put(out, pos, acc, nacc, c, _RAW_FREQ_BITS)
        else:
            pos, acc, nacc = _put(out, pos, acc, nacc, (np.int64(1) << q) - 1, q + 1)  # q ones, a zero
            pos, acc, nacc = _put(out, pos, acc, nacc, c, k)
        asum += c
        cnt += 1
        if cnt >= _K_RESET:
            asum = (asum + 1) >> 1
            cnt >>= 1
        if run > 0:
            b = _bitlen(run)
            pos, acc, nacc = _put(out, pos, acc, nacc, (np.int64(1) << (b - 1)) - 1, b)  # b-1 ones, a zero
            pos, acc, nacc = _put(out, pos, acc, nacc, run, b - 1)
            i += run
        else:
            prev = f
            i += 1
    if nacc > 0:
        out[pos] = acc & 0xFF
        pos += 1
    return pos


@jit
def decode_table(buf, prec, freqs):
    """Read a table written by ``encode_table`` into ``freqs`` (int64, ``A`` entries).

    Returns 0, or a negative status: ``ERR_TRUNCATED`` (the stream ends early),
    ``ERR_VALUE`` (a frequency outside ``[1, 2**prec)``, a zero run past the end, frequencies
    summing above ``2**prec`` or fewer than two non-zero ones) or ``ERR_TRAILING`` (unused
    bytes or non-zero padding bits). Never reads outside ``buf``.
    """
    a = freqs.size
    end = buf.size
    m = np.int64(1) << prec
    pos = 0
    acc = np.int64(0)
    nacc = 0
    prev = np.int64(0)
    asum = np.int64(2)
    cnt = np.int64(1)
    total = np.int64(0)
    nonzero = 0
    i = 0
    while i < a - 1:
        k = _rice_k(asum, cnt)
        q = 0
        while True:
            bit, pos, acc, nacc = _get(buf, end, pos, acc, nacc, 1)
            if bit < 0:
                return ERR_TRUNCATED
            if bit == 0:
                break
            q += 1
            if q == _RICE_ESCAPE_Q:
                break
        if q == _RICE_ESCAPE_Q:
            c, pos, acc, nacc = _get(buf, end, pos, acc, nacc, _RAW_FREQ_BITS)
        else:
            low, pos, acc, nacc = _get(buf, end, pos, acc, nacc, k)
            c = (np.int64(q) << k) | low
            if low < 0:
                c = np.int64(-1)
        if c < 0:
            return ERR_TRUNCATED
        if c > (np.int64(1) << (_RAW_FREQ_BITS - 1)) + 1:
            return ERR_VALUE
        asum += c
        cnt += 1
        if cnt >= _K_RESET:
            asum = (asum + 1) >> 1
            cnt >>= 1
        if c == 0:
            b = 1
            while True:
                bit, pos, acc, nacc = _get(buf, end, pos, acc, nacc, 1)
                if bit < 0:
                    return ERR_TRUNCATED
                if bit == 0:
                    break
                b += 1
                if b > 17:
                    return ERR_VALUE
            low, pos, acc, nacc = _get(buf, end, pos, acc, nacc, b - 1)
            if low < 0:
                return ERR_TRUNCATED
            run = (np.int64(1) << (b - 1)) | low
            if run > a - 1 - i:
                return ERR_VALUE
            for j in range(i, i + run):
                freqs[j] = 0
            i += run
        else:
            z = c - 1
            d = z >> 1 if (z & 1) == 0 else -((z + 1) >> 1)
            f = prev + d
            if (f < 1) | (f >= m):
                return ERR_VALUE
            total += f
            if total > m:
                return ERR_VALUE
            freqs[i] = f
            nonzero += 1
            prev = f
            i += 1
    last = m - total
    freqs[a - 1] = last
    if last >= m:
        return ERR_VALUE
    if last > 0:
        nonzero += 1
    if nonzero < 2:
        return ERR_VALUE
    if pos != end or acc != 0:
        return ERR_TRAILING
    return 0


# ---------------------------------------------------------------------- escapes


@jit(inline="always")
def _put_wide(out, pos, acc, nacc, hi, lo, nbits):
    """Append the ``nbits`` (<= 64) low bits of the 64-bit value ``hi:lo`` (32-bit halves)."""
    if nbits <= 32:
        return _put(out, pos, acc, nacc, lo, nbits)
    pos, acc, nacc = _put(out, pos, acc, nacc, lo, 32)
    return _put(out, pos, acc, nacc, hi, nbits - 32)


@jit
def encode_escapes(u_hi, u_lo, side, k, out):
    """Write escaped values to ``out`` (uint8, large enough); returns the byte length.

    Escape ``j`` is the distance ``u = u_hi[j] << 32 | u_lo[j]`` (0 <= u < 2**64) of a value
    outside the directly coded window from the window's edge, ``side[j]`` 0 below, 1 above.
    Each is written as: the side bit; ``m`` = bit length of ``t = u >> k`` (0..64) as the
    Elias-gamma code of ``m + 1``; the ``m - 1`` bits of ``t`` below its leading one; then the
    ``k`` low bits of ``u`` (an Exp-Golomb code of order ``k``).
    """
    pos = 0
    acc = np.int64(0)
    nacc = 0
    mask32 = np.int64(0xFFFFFFFF)
    for j in range(u_lo.size):
        uh = np.int64(u_hi[j]) & mask32
        ul = np.int64(u_lo[j]) & mask32
        if k >= 32:
            th = np.int64(0)
            tl = uh >> (k - 32)
        else:
            th = uh >> k
            tl = ((ul >> k) | (uh << (32 - k))) & mask32
        m = _bitlen(th) + 32 if th > 0 else _bitlen(tl)
        pos, acc, nacc = _put(out, pos, acc, nacc, np.int64(side[j]), 1)
        g = _bitlen(m + 1)
        pos, acc, nacc = _put(out, pos, acc, nacc, (np.int64(1) << (g - 1)) - 1, g)
        pos, acc, nacc = _put(out, pos, acc, nacc, m + 1, g - 1)
        if m > 1:
            pos, acc, nacc = _put_wide(out, pos, acc, nacc, th, tl, m - 1)
        if k > 0:
            pos, acc, nacc = _put_wide(out, pos, acc, nacc, uh, ul, k)
    if nacc > 0:
        out[pos] = acc & 0xFF
        pos += 1
    return pos


@jit
def decode_escapes(buf, k, u_hi, u_lo, side):
    """Read ``u_lo.size`` escapes written by ``encode_escapes``; returns 0 or a status.

    ``ERR_TRUNCATED`` when the stream ends early, ``ERR_VALUE`` for a bit length that makes
    ``u >= 2**64``, ``ERR_TRAILING`` for unused bytes or non-zero padding.
    """
    end = buf.size
    pos = 0
    acc = np.int64(0)
    nacc = 0
    mask32 = np.int64(0xFFFFFFFF)
    for j in range(u_lo.size):
        s, pos, acc, nacc = _get(buf, end, pos, acc, nacc, 1)
        if s < 0:
            return ERR_TRUNCATED
        g = 1
        while True:
            bit, pos, acc, nacc = _get(buf, end, pos, acc, nacc, 1)
            if bit < 0:
                return ERR_TRUNCATED
            if bit == 0:
                break
            g += 1
            if g > 7:
                return ERR_VALUE
        low, pos, acc, nacc = _get(buf, end, pos, acc, nacc, g - 1)
        if low < 0:
            return ERR_TRUNCATED
        m = ((np.int64(1) << (g - 1)) | low) - 1
        if m + k > 64:
            return ERR_VALUE
        # t = 1 << (m - 1) | mantissa (m >= 1), or 0
        th = np.int64(0)
        tl = np.int64(0)
        if m >= 1:
            nb = m - 1
            if nb <= 32:
                v, pos, acc, nacc = _get(buf, end, pos, acc, nacc, nb)
                if v < 0:
                    return ERR_TRUNCATED
                tl = v
                if nb == 32:
                    th = np.int64(1)
                else:
                    tl |= np.int64(1) << nb
            else:
                v, pos, acc, nacc = _get(buf, end, pos, acc, nacc, 32)
                w, pos, acc, nacc = _get(buf, end, pos, acc, nacc, nb - 32)
                if (v < 0) | (w < 0):
                    return ERR_TRUNCATED
                tl = v
                th = w | (np.int64(1) << (nb - 32))
        # u = t << k | low k bits
        if k <= 32:
            v, pos, acc, nacc = _get(buf, end, pos, acc, nacc, k)
            if v < 0:
                return ERR_TRUNCATED
            if k == 32:
                uh = tl
                ul = v
            else:
                uh = ((th << k) | (tl >> (32 - k))) & mask32
                ul = ((tl << k) | v) & mask32
        else:
            v, pos, acc, nacc = _get(buf, end, pos, acc, nacc, 32)
            w, pos, acc, nacc = _get(buf, end, pos, acc, nacc, k - 32)
            if (v < 0) | (w < 0):
                return ERR_TRUNCATED
            ul = v
            uh = ((tl << (k - 32)) | w) & mask32
        u_hi[j] = uh
        u_lo[j] = ul
        side[j] = s
    if pos != end or acc != 0:
        return ERR_TRAILING
    return 0


# ---------------------------------------------------------------------- rANS


# The four lanes are written out by hand: Numba compiles a helper that returns
# (state, position) tuples (inlined or not) to code that runs 1.7x (encode) and 2.6x (decode)
# slower than the straight-line version.


@jit
def rans_encode(values, lo, hi, esc, freq, cum, inv, prec, out):
    """Encode ``values`` (any integer dtype) backwards into ``out`` (uint16, ``n + 1`` words).

    Values in ``[lo, hi]`` are symbols ``v - lo``; every other value is the symbol ``esc``.
    ``freq``/``cum`` (int64) and ``inv`` (float64: ``nextafter(1/freq, inf)``, 0 where the
    frequency is 0) describe the model. Returns ``(start, x0, x1, x2, x3)``: the words are
    ``out[start:]`` and ``x0..x3`` the final lane states, each in ``[RANS_L, STATE_LIMIT)``.

    One step: renormalize (emit the low 16 bits while ``x >= freq << (40 - prec)``, which
    happens at most once), then ``x = (x // f << prec) + x % f + cum`` with the quotient
    ``int(x * inv)``.
    """
    n = values.size
    pos = out.size
    sh = 40 - prec
    x0 = np.int64(RANS_L)
    x1 = x0
    x2 = x0
    x3 = x0
    i = n - 1
    while i >= 0 and i % LANES != LANES - 1:  # the incomplete last group, one symbol at a time
        v = np.int64(values[i])
        s = v - lo if (v >= lo) & (v <= hi) else esc
        f = freq[s]
        lane = i % LANES
        x = x0 if lane == 0 else (x1 if lane == 1 else x2)
        if x >= (f << sh):
            pos -= 1
            out[pos] = x & 0xFFFF
            x >>= 16
        q = np.int64(x * inv[s])
        x = (q << prec) + (x - q * f) + cum[s]
        if lane == 0:
            x0 = x
        elif lane == 1:
            x1 = x
        else:
            x2 = x
        i -= 1
    while i >= 3:
        v = np.int64(values[i])
        s = v - lo if (v >= lo) & (v <= hi) else esc
        f = freq[s]
        if x3 >= (f << sh):
            pos -= 1
            out[pos] = x3 & 0xFFFF
            x3 >>= 16
        q = np.int64(x3 * inv[s])
        x3 = (q << prec) + (x3 - q * f) + cum[s]
        v = np.int64(values[i - 1])
        s = v - lo if (v >= lo) & (v <= hi) else esc
        f = freq[s]
        if x2 >= (f << sh):
            pos -= 1
            out[pos] = x2 & 0xFFFF
            x2 >>= 16
        q = np.int64(x2 * inv[s])
        x2 = (q << prec) + (x2 - q * f) + cum[s]
        v = np.int64(values[i - 2])
        s = v - lo if (v >= lo) & (v <= hi) else esc
        f = freq[s]
        if x1 >= (f << sh):
            pos -= 1
            out[pos] = x1 & 0xFFFF
            x1 >>= 16
        q = np.int64(x1 * inv[s])
        x1 = (q << prec) + (x1 - q * f) + cum[s]
        v = np.int64(values[i - 3])
        s = v - lo if (v >= lo) & (v <= hi) else esc
        f = freq[s]
        if x0 >= (f << sh):
            pos -= 1
            out[pos] = x0 & 0xFFFF
            x0 >>= 16
        q = np.int64(x0 * inv[s])
        x0 = (q << prec) + (x0 - q * f) + cum[s]
        i -= 4
    return pos, x0, x1, x2, x3


@jit
def rans_decode(words, tab, prec, x0, x1, x2, x3, lo, esc, out, esc_pos):
    """Decode ``out.size`` symbols; writes ``lo + symbol`` to ``out`` (``lo`` for escapes).

    ``words`` (uint16) holds the payload words plus one guard word at the end: a read past
    the payload reads the guard instead and is reported. ``tab`` (int64, ``2**prec``
    entries) maps a slot to ``symbol | freq << 16 | (slot - cum) << 32``. The initial
    states must lie in ``[RANS_L, STATE_LIMIT)`` (checked by the caller). Positions of the
    ``esc`` symbol go to ``esc_pos`` (as many as fit; all are counted).

    One step: ``slot = x & (2**prec - 1)``, ``x = freq * (x >> prec) + slot - cum``, then
    read one word if ``x < RANS_L``.

    Returns ``(status, n_escapes)``: status 0, ``ERR_TRUNCATED`` (the payload ran out),
    ``ERR_TRAILING`` (words left over) or ``ERR_STATE`` (a lane did not end at ``RANS_L``).
    """
    n = out.size
    nw = words.size - 1
    mask = (np.int64(1) << prec) - 1
    pos = 0
    n_esc = 0
    cap = esc_pos.size
    n4 = n - n % LANES
    for i in range(0, n4, LANES):
        e = tab[x0 & mask]
        s = e & 0xFFFF
        x0 = ((e >> 16) & 0xFFFF) * (x0 >> prec) + (e >> 32)
        if x0 < RANS_L:
            x0 = (x0 << 16) | np.int64(words[min(pos, nw)])
            pos += 1
        if s == esc:
            if n_esc < cap:
                esc_pos[n_esc] = i
            n_esc += 1
            s = 0
        out[i] = lo + s
        e = tab[x1 & mask]
        s = e & 0xFFFF
        x1 = ((e >> 16) & 0xFFFF) * (x1 >> prec) + (e >> 32)
        if x1 < RANS_L:
            x1 = (x1 << 16) | np.int64(words[min(pos, nw)])
            pos += 1
        if s == esc:
            if n_esc < cap:
                esc_pos[n_esc] = i + 1
            n_esc += 1
            s = 0
        out[i + 1] = lo + s
        e = tab[x2 & mask]
        s = e & 0xFFFF
        x2 = ((e >> 16) & 0xFFFF) * (x2 >> prec) + (e >> 32)
        if x2 < RANS_L:
            x2 = (x2 << 16) | np.int64(words[min(pos, nw)])
            pos += 1
        if s == esc:
            if n_esc < cap:
                esc_pos[n_esc] = i + 2
            n_esc += 1
            s = 0
        out[i + 2] = lo + s
        e = tab[x3 & mask]
        s = e & 0xFFFF
        x3 = ((e >> 16) & 0xFFFF) * (x3 >> prec) + (e >> 32)
        if x3 < RANS_L:
            x3 = (x3 << 16) | np.int64(words[min(pos, nw)])
            pos += 1
        if s == esc:
            if n_esc < cap:
                esc_pos[n_esc] = i + 3
            n_esc += 1
            s = 0
        out[i + 3] = lo + s
    for i in range(n4, n):  # the incomplete last group
        lane = i % LANES
        x = x0 if lane == 0 else (x1 if lane == 1 else x2)
        e = tab[x & mask]
        s = e & 0xFFFF
        x = ((e >> 16) & 0xFFFF) * (x >> prec) + (e >> 32)
        if x < RANS_L:
            x = (x << 16) | np.int64(words[min(pos, nw)])
            pos += 1
        if lane == 0:
            x0 = x
        elif lane == 1:
            x1 = x
        else:
            x2 = x
        if s == esc:
            if n_esc < cap:
                esc_pos[n_esc] = i
            n_esc += 1
            s = 0
        out[i] = lo + s
    if pos > nw:
        return ERR_TRUNCATED, n_esc
    if pos < nw:
        return ERR_TRAILING, n_esc
    if (x0 != RANS_L) | (x1 != RANS_L) | (x2 != RANS_L) | (x3 != RANS_L):
        return ERR_STATE, n_esc
    return 0, n_esc
