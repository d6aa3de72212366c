"""The entropy-coding kernels against plain-Python references.

* ``RefRans``: a slow scalar rANS with the exact same parameters (4 lanes, 40-bit states,
  ``L = 2**24``, 16-bit words) written with Python integers and true division: the kernels'
  words and final states must be identical, and each decodes the other's output.
* Frequency quantization against the exact marginal-allocation optimum.
* Table, escape and bit-pack streams against independent bit-level references.

Also runs under ``NUMBA_DISABLE_JIT=1`` (small sizes) and ``NUMBA_BOUNDSCHECK=1``.
"""

from __future__ import annotations

import heapq
import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantsig.entropy.model import FrequencyTable
from quantsig.kernels import bitpack as kb
from quantsig.kernels import rans as kr

NOJIT = bool(numba.config.DISABLE_JIT)
EXAMPLES = 25 if NOJIT else 150
slow_in_python = pytest.mark.skipif(NOJIT, reason="large sizes: too slow without JIT")

L = 1 << 24
LANES = 4


# ---------------------------------------------------------------------- reference coder


def ref_encode(symbols: list[int], freqs: list[int], prec: int) -> tuple[list[int], list[int]]:
    """Scalar rANS encoder: returns (words in stream order, final lane states)."""
    cum = [0]
    for f in freqs[:-1]:
        cum.append(cum[-1] + f)
    x = [L] * LANES
    emitted: list[int] = []
    for i in range(len(symbols) - 1, -1, -1):
        j = i % LANES
        s = symbols[i]
        f = freqs[s]
        if x[j] >= ((L >> prec) << 16) * f:
            emitted.append(x[j] & 0xFFFF)
            x[j] >>= 16
        x[j] = (x[j] // f << prec) + x[j] % f + cum[s]
        assert L <= x[j] < (L << 16)
    return emitted[::-1], x


def ref_decode(words: list[int], states: list[int], freqs: list[int], prec: int, n: int) -> list[int]:
    """Scalar rANS decoder; asserts that all words are read and the states end at L."""
    cum = [0]
    for f in freqs[:-1]:
        cum.append(cum[-1] + f)
    slot_sym = [s for s, f in enumerate(freqs) for _ in range(f)]
    x = list(states)
    pos = 0
    out = []
    mask = (1 << prec) - 1
    for i in range(n):
        j = i % LANES
        slot = x[j] & mask
        s = slot_sym[slot]
        x[j] = freqs[s] * (x[j] >> prec) + slot - cum[s]
        if x[j] < L:
            x[j] = (x[j] << 16) | words[pos]
            pos += 1
        out.append(s)
    assert pos == len(words)
    assert x == [L] * LANES
    return out


def kernel_encode(symbols: np.ndarray, freqs: np.ndarray, prec: int) -> tuple[np.ndarray, list[int]]:
    table = FrequencyTable(np.asarray(freqs, np.int64), prec)
    a = len(freqs)
    freq, cum, inv = table.encoder_arrays(a + 1)
    out = np.empty(symbols.size + 1, np.uint16)
    start, *states = kr.rans_encode(
        symbols, np.int64(0), np.int64(a - 1), np.int64(a), freq, cum, inv, np.int64(prec), out
    )
    return out[start:].copy(), [int(s) for s in states]


def kernel_decode(
    words: np.ndarray, states: list[int], freqs: np.ndarray, prec: int, n: int, esc: int = -1
) -> tuple[int, np.ndarray, np.ndarray, int]:
    table = FrequencyTable(np.asarray(freqs, np.int64), prec)
    w = np.zeros(words.size + 1, np.uint16)
    w[:-1] = words
    out = np.empty(n, np.int64)
    esc_pos = np.full(n, -1, np.int64)
    status, found = kr.rans_decode(
        w,
        table.decoder_table(),
        np.int64(prec),
        *(np.int64(s) for s in states),
        np.int64(0),
        np.int64(esc),
        out,
        esc_pos,
    )
    return int(status), out, esc_pos, int(found)


@st.composite
def models_and_symbols(draw, max_n: int = 300):
    """A random table (some zero frequencies, possibly very skewed) and symbols from it."""
    prec = draw(st.integers(1, 16))
    a = draw(st.integers(2, min(40, 1 << prec)))
    m = 1 << prec
    weights = draw(st.lists(st.integers(0, 1000), min_size=a, max_size=a))
    weights[0] = max(weights[0], 1)
    weights[-1] = max(weights[-1], 1)
    if draw(st.booleans()):
        weights[draw(st.integers(0, a - 1))] += draw(st.integers(0, 10**6))  # skewed
    counts = np.array(weights, np.int64)
    if np.count_nonzero(counts) > m:
        counts[np.flatnonzero(counts)[m:]] = 0
    freqs = FrequencyTable.from_counts(counts, prec).freqs
    present = np.flatnonzero(freqs)
    n = draw(st.integers(0, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    symbols = rng.choice(present, size=n, p=freqs[present] / m)
    return freqs, prec, symbols


@settings(max_examples=EXAMPLES, deadline=None)
@given(models_and_symbols())
def test_rans_kernels_match_reference(case):
    freqs, prec, symbols = case
    for dtype in (np.uint16, np.int64):
        words, states = kernel_encode(symbols.astype(dtype), freqs, prec)
        ref_words, ref_states = ref_encode(symbols.tolist(), freqs.tolist(), prec)
        assert words.tolist() == ref_words
        assert states == ref_states
    assert ref_decode(words.tolist(), states, freqs.tolist(), prec, symbols.size) == symbols.tolist()
    status, out, _, found = kernel_decode(words, states, freqs, prec, symbols.size)
    assert status == 0 and found == 0
    assert out.tolist() == symbols.tolist()


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 13])
def test_rans_small_counts_all_lane_remainders(n):
    freqs = np.array([3, 1, 0, 4], np.int64)
    symbols = np.array([0, 1, 3, 3, 0, 0, 3, 1, 3, 3, 0, 3, 1][:n], np.int64)
    words, states = kernel_encode(symbols, freqs, 3)
    assert (words.tolist(), states) == ref_encode(symbols.tolist(), freqs.tolist(), 3)
    status, out, _, _ = kernel_decode(words, states, freqs, 3, n)
    assert status == 0 and out.tolist() == symbols.tolist()


def test_rans_division_by_reciprocal_is_exact_at_the_extremes():
    """``int(x * nextafter(1/f, inf)) == x // f`` for the largest states and every f shape."""
    for prec in (1, 8, 12, 16):
        m = 1 << prec
        for f in sorted({1, 2, 3, m // 2 + 1, m - 3, m - 2, m - 1} & set(range(1, m))):
            inv = np.nextafter(1.0 / f, np.inf)
            x_max = f << (40 - prec)  # the largest state is x_max - 1
            for x in (x_max - 1, x_max - f, x_max - f - 1, L >> prec, f * 12345, f * 12345 - 1):
                if x >= 0:
                    assert int(np.float64(x) * inv) == x // f, (prec, f, x)


def test_rans_decode_reports_corruption_without_reading_out_of_bounds():
    freqs = np.array([5, 2, 1], np.int64)
    rng = np.random.default_rng(3)
    symbols = rng.choice(3, size=200, p=freqs / 8)
    words, states = kernel_encode(symbols, freqs, 3)
    assert words.size > 4
    # payload cut short: reads hit the guard word
    status, _, _, _ = kernel_decode(words[:-3], states, freqs, 3, symbols.size)
    assert status in (kr.ERR_TRUNCATED, kr.ERR_STATE)
    # extra words
    status, *_ = kernel_decode(np.concatenate([words, [7, 7]]).astype(np.uint16), states, freqs, 3, symbols.size)
    assert status != 0
    # a different initial state
    status, *_ = kernel_decode(words, [states[0] ^ 1, *states[1:]], freqs, 3, symbols.size)
    assert status != 0
    # far more symbols than were encoded: every read past the end hits the guard word
    status, *_ = kernel_decode(words, states, freqs, 3, 10_000)
    assert status == kr.ERR_TRUNCATED


def test_rans_decode_escape_positions_capped():
    freqs = np.array([2, 2], np.int64)
    symbols = np.array([1, 0, 1, 1, 0, 1], np.int64)
    words, states = kernel_encode(symbols, freqs, 2)
    table = FrequencyTable(freqs, 2)
    w = np.zeros(words.size + 1, np.uint16)
    w[:-1] = words
    out = np.empty(6, np.int64)
    esc_pos = np.full(2, -1, np.int64)  # room for 2 of the 4 escapes
    status, found = kr.rans_decode(
        w, table.decoder_table(), np.int64(2), *(np.int64(s) for s in states), np.int64(10), np.int64(1), out, esc_pos
    )
    assert status == 0 and found == 4
    assert esc_pos.tolist() == [0, 2]
    assert out.tolist() == [10] * 6  # escapes write lo, symbol 0 is lo too


# ---------------------------------------------------------------------- frequency quantization


def optimal_freqs(counts: list[int], prec: int) -> list[int]:
    """Exact optimum by marginal allocation from 1 per present symbol (separable concave)."""
    m = 1 << prec
    f = [1 if c > 0 else 0 for c in counts]
    heap = [(-c * math.log1p(1.0), i) for i, c in enumerate(counts) if c > 0]
    heapq.heapify(heap)
    for _ in range(m - sum(f)):
        _, i = heapq.heappop(heap)
        f[i] += 1
        heapq.heappush(heap, (-counts[i] * math.log1p(1.0 / f[i]), i))
    return f


def coded_bits(counts, freqs, prec) -> float:
    return sum(c * (prec - math.log2(f)) for c, f in zip(counts, freqs) if c > 0)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=60), st.integers(1, 16), st.booleans())
def test_quantize_freqs_is_optimal(counts, prec, tail):
    if tail:  # many rare symbols next to frequent ones: the forced-to-one case
        counts = counts + [1] * 20
    if not any(counts):
        counts[0] = 1
    nonzero = sum(c > 0 for c in counts)
    if nonzero > (1 << prec):
        prec = max(prec, (nonzero - 1).bit_length())
    freqs = FrequencyTable.from_counts(np.array(counts), prec).freqs.tolist()
    assert sum(freqs) == 1 << prec
    assert all((f > 0) == (c > 0) for f, c in zip(freqs, counts))
    best = coded_bits(counts, optimal_freqs(counts, prec), prec)
    assert coded_bits(counts, freqs, prec) <= best * (1 + 1e-12) + 1e-9


def test_quantize_freqs_beats_naive_rounding():
    rng = np.random.default_rng(0)
    counts = np.bincount(np.round(rng.standard_normal(200_000) * 40).astype(np.int64) + 400)
    prec = 14
    opt = FrequencyTable.from_counts(counts, prec)
    naive = np.where(counts > 0, np.maximum(1, np.round(counts * (1 << prec) / counts.sum())), 0).astype(np.int64)
    naive[np.argmax(naive)] += (1 << prec) - naive.sum()
    assert opt.cost_bits(counts) < FrequencyTable(naive, prec).cost_bits(counts)


# ---------------------------------------------------------------------- table stream


class BitReader:
    """Independent LSB-first bit reader for the reference table decoder."""

    def __init__(self, data: bytes) -> None:
        self.bits = [(b >> i) & 1 for b in data for i in range(8)]
        self.pos = 0

    def read(self, n: int) -> int:
        v = 0
        for i in range(n):
            v |= self.bits[self.pos] << i
            self.pos += 1
        return v

    def unary(self, limit: int) -> int:
        q = 0
        while q < limit and self.read(1):
            q += 1
        return q


def ref_read_table(data: bytes, a: int, prec: int) -> list[int]:
    r = BitReader(data)
    prev, asum, cnt = 0, 2, 1
    freqs: list[int] = []
    while len(freqs) < a - 1:
        k = 0
        while (cnt << k) < asum:
            k += 1
        q = r.unary(20)
        c = r.read(18) if q == 20 else (q << k) | r.read(k)
        asum += c
        cnt += 1
        if cnt >= 16:
            asum, cnt = (asum + 1) >> 1, cnt >> 1
        if c == 0:
            b = 1 + r.unary(17)
            run = (1 << (b - 1)) | r.read(b - 1)
            freqs += [0] * run
        else:
            z = c - 1
            prev = prev + (z >> 1 if z % 2 == 0 else -((z + 1) >> 1))
            freqs.append(prev)
    freqs.append((1 << prec) - sum(freqs))
    assert all(b == 0 for b in r.bits[r.pos :])
    assert len(data) == (r.pos + 7) // 8
    return freqs


@st.composite
def tables(draw):
    prec = draw(st.integers(1, 16))
    a = draw(st.integers(2, 300))
    m = 1 << prec
    counts = np.array(
        draw(st.lists(st.sampled_from([0, 0, 0, 1, 2, 5, 100, 10**4, 10**6]), min_size=a, max_size=a)), np.int64
    )
    nz = np.flatnonzero(counts)
    counts[nz[m:]] = 0
    if np.count_nonzero(counts) < 2:
        counts[0] = counts[-1] = 1
    return FrequencyTable.from_counts(counts, prec)


@settings(max_examples=EXAMPLES, deadline=None)
@given(tables())
def test_table_stream_round_trip_and_reference(table):
    data = table.to_bytes()
    back = FrequencyTable.from_bytes(data, table.alphabet_size, table.precision)
    assert back.freqs.tolist() == table.freqs.tolist()
    assert ref_read_table(data, table.alphabet_size, table.precision) == table.freqs.tolist()


def test_table_stream_large_alphabet_and_big_jumps():
    freqs = np.zeros(65536, np.int64)
    freqs[::7] = 1
    freqs[0] = (1 << 16) - (freqs.sum() - 1)  # a huge first value, then ones: escape path
    table = FrequencyTable(freqs, 16)
    data = table.to_bytes()
    assert FrequencyTable.from_bytes(data, 65536, 16).freqs.tolist() == freqs.tolist()
    if not NOJIT:
        assert ref_read_table(data, 65536, 16) == freqs.tolist()


def test_table_stream_rejects_bad_tables():
    from quantsig.errors import CorruptFileError

    table = FrequencyTable(np.array([5, 0, 0, 2, 1], np.int64), 3)
    data = table.to_bytes()
    for bad in (data[:-1], data + b"\x00", data[:-1] + bytes([data[-1] | 0x80]), b""):
        with pytest.raises(CorruptFileError):
            FrequencyTable.from_bytes(bad, 5, 3)
    with pytest.raises(CorruptFileError):
        FrequencyTable.from_bytes(data, 4, 3)  # one symbol too few: the sum cannot match
    # a single non-zero frequency (M itself) is not a valid rANS model
    with pytest.raises(CorruptFileError):
        FrequencyTable.from_bytes(FrequencyTable(np.array([0, 8], np.int64), 3).to_bytes(), 2, 3)


# ---------------------------------------------------------------------- escapes


def ref_escape_bits(u: int, side: int, k: int) -> list[int]:
    bits = [side]
    t = u >> k
    m = t.bit_length()
    g = (m + 1).bit_length()
    bits += [1] * (g - 1) + [0] + [((m + 1) >> i) & 1 for i in range(g - 1)]
    bits += [(t >> i) & 1 for i in range(max(m - 1, 0))]
    bits += [(u >> i) & 1 for i in range(k)]
    return bits


def pack_bit_list(bits: list[int]) -> bytes:
    bits = bits + [0] * (-len(bits) % 8)
    return bytes(sum(bits[i + j] << j for j in range(8)) for i in range(0, len(bits), 8))


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 1)), min_size=1, max_size=20),
    st.integers(0, 63),
    st.integers(0, 3),
)
def test_escape_stream_matches_reference(items, k, shrink):
    items = [(u >> (shrink * 16), s) for u, s in items]  # also small distances
    items = [(u, s) for u, s in items if (u >> k).bit_length() + k <= 64]
    if not items:
        return
    u = np.array([x for x, _ in items], np.uint64)
    side = np.array([s for _, s in items], np.uint8)
    out = np.empty(10 * len(items) + 8, np.uint8)
    nb = kr.encode_escapes(
        (u >> np.uint64(32)).astype(np.int64), (u & np.uint64(0xFFFFFFFF)).astype(np.int64), side, np.int64(k), out
    )
    data = out[:nb].tobytes()
    assert data == pack_bit_list([b for x, s in items for b in ref_escape_bits(x, s, k)])
    hi = np.empty(len(items), np.int64)
    lo = np.empty(len(items), np.int64)
    sd = np.empty(len(items), np.uint8)
    assert kr.decode_escapes(np.frombuffer(data, np.uint8), np.int64(k), hi, lo, sd) == 0
    back = (hi.astype(np.uint64) << np.uint64(32)) | lo.astype(np.uint64)
    assert back.tolist() == u.tolist() and sd.tolist() == side.tolist()
    # truncated or extended streams are reported
    if nb > 1:
        assert kr.decode_escapes(np.frombuffer(data[:-1], np.uint8), np.int64(k), hi, lo, sd) != 0
    assert kr.decode_escapes(np.frombuffer(data + b"\x01", np.uint8), np.int64(k), hi, lo, sd) == kr.ERR_TRAILING


def test_escape_stream_rejects_more_than_64_bits():
    # side 0, m + 1 = 66 as gamma (7 bits -> allowed length), but m + k > 64
    bits = [0] + [1] * 6 + [0] + [(66 >> i) & 1 for i in range(6)] + [1] * 80
    data = np.frombuffer(pack_bit_list(bits), np.uint8)
    z = np.empty(1, np.int64)
    assert kr.decode_escapes(data, np.int64(0), z, z.copy(), np.empty(1, np.uint8)) == kr.ERR_VALUE
    bits = [0] + [1] * 8  # gamma prefix too long
    assert (
        kr.decode_escapes(np.frombuffer(pack_bit_list(bits), np.uint8), np.int64(0), z, z.copy(), np.empty(1, np.uint8))
        == kr.ERR_VALUE
    )


# ---------------------------------------------------------------------- statistics kernels


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=50), st.integers(1, 63))
def test_histograms_match_numpy(values, shift):
    v = np.array(values, np.int64)
    mn, mx = kr.minmax(v)
    assert (mn, mx) == (v.min(), v.max())
    lo = min(max(values[0] - 3, -(2**63)), 2**63 - 7)
    hi = lo + 6
    counts = np.zeros(7, np.int64)
    out = kr.histogram(v, np.int64(lo), np.int64(hi), counts)
    inside = v[(v >= lo) & (v <= hi)]
    assert out == v.size - inside.size
    assert counts.tolist() == np.bincount(inside - lo, minlength=7).tolist()
    a, b = int(v.min()), int(v.max())
    shift = max(shift, (b - a).bit_length() - 12)  # at most ~4096 buckets
    buckets = np.zeros((b >> shift) - (a >> shift) + 1, np.int64)
    kr.bucket_histogram(v, np.int64(a), np.int64(b), np.int64(shift), buckets)
    ref = np.bincount([(x >> shift) - (a >> shift) for x in values], minlength=buckets.size)
    assert buckets.tolist() == ref.tolist()


def test_histogram_wide_window_path():
    v = np.array([0, 5000, 5000, 9999, 12], np.int32)
    counts = np.zeros(10_000, np.int64)
    assert kr.histogram(v, np.int64(0), np.int64(9999), counts) == 0
    assert counts[5000] == 2 and counts.sum() == 5


# ---------------------------------------------------------------------- bit packing


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(1, 32), st.integers(0, 100), st.integers(0, 2**32 - 1))
def test_pack_bits_matches_numpy_reference(bits, n, seed):
    rng = np.random.default_rng(seed)
    v = rng.integers(0, 1 << bits, n, dtype=np.uint64).astype(np.int64)
    out = np.zeros((n * bits + 7) // 8, np.uint8)
    assert kb.pack_bits(v, np.int64(bits), out) == 0
    # reference: the value bits, lowest first, concatenated, then np.packbits little-endian
    ref_bits = ((v[:, None] >> np.arange(bits)) & 1).astype(np.uint8).reshape(-1)
    assert out.tolist() == np.packbits(ref_bits, bitorder="little").tolist()
    back = np.empty(n, np.int64)
    assert kb.unpack_bits(out, np.int64(bits), back) == out.size
    assert back.tolist() == v.tolist()


def test_pack_bits_counts_out_of_range():
    out = np.zeros(2, np.uint8)
    assert kb.pack_bits(np.array([1, 8, -1, 7], np.int64), np.int64(3), out) == 2


def test_unpack_bits_never_reads_past_the_buffer():
    out = np.empty(10, np.int64)
    assert kb.unpack_bits(np.array([0xFF], np.uint8), np.int64(5), out) > 1
    assert out[0] == 31 and out[2:].tolist() == [0] * 8


@slow_in_python
def test_kernels_large_alphabet_reference_round_trip():
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 50, 65536)
    counts[0] = 1
    table = FrequencyTable.from_counts(counts, 16)
    present = np.flatnonzero(table.freqs)
    symbols = rng.choice(present, size=3001, p=table.freqs[present] / 65536.0).astype(np.uint16)
    words, states = kernel_encode(symbols, table.freqs, 16)
    assert (words.tolist(), states) == ref_encode(symbols.tolist(), table.freqs.tolist(), 16)
    status, out, _, _ = kernel_decode(words, states, table.freqs, 16, symbols.size)
    assert status == 0 and out.tolist() == symbols.tolist()


# ---------------------------------------------------------------------- model choice and window


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.integers(0, 10**5), min_size=2, max_size=80))
def test_model_costs_are_exact_coded_sizes(counts):
    counts[0] = max(counts[0], 1)
    counts[-1] = max(counts[-1], 1)
    c = np.array(counts, np.int64)
    low = max(1, (int(np.count_nonzero(c)) - 1).bit_length())
    totals = np.full(17, np.inf)
    kr.model_costs(
        c,
        np.int64(low),
        np.int64(16),
        np.int64(16),
        totals,
        np.zeros(c.size, np.int64),
        np.empty(9 * c.size + 8, np.uint8),
    )
    for prec in range(low, 17):
        t = FrequencyTable.from_counts(c, prec)
        assert totals[prec] == pytest.approx(t.cost_bits(c) + 8 * len(t.to_bytes()), rel=1e-12)
    chosen = FrequencyTable.fit(c)  # searches precisions up to bit_length(n) + 1
    high = min(16, max(low, int(c.sum()).bit_length() + 1))
    assert chosen.cost_bits(c) + 8 * len(chosen.to_bytes()) <= totals[: high + 1].min() * (1 + 1e-4) + 1e-9


def test_trim_window_keeps_dense_windows_and_cuts_sparse_tails():
    dense = np.bincount(np.random.default_rng(0).binomial(40, 0.5, 10_000))
    dense = dense[np.flatnonzero(dense)[0] : np.flatnonzero(dense)[-1] + 1]
    i, j = kr.trim_window(dense, np.int64(dense.sum()), np.int64(0))
    assert dense[i] > 0 and dense[j] > 0 and j - i >= dense.size - 3
    sparse = np.zeros(60_000, np.int64)
    sparse[:100] = 1000  # the bulk
    sparse[100::600] = 1  # a sparse tail of singletons
    sparse[-1] = 1
    n = int(sparse.sum())
    i, j = kr.trim_window(sparse, np.int64(n), np.int64(0))
    assert i == 0 and j < 1000
    i, j = kr.trim_window(np.array([5], np.int64), np.int64(5), np.int64(3))
    assert (i, j) == (0, 0)
