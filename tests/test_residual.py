"""The context-modelled residual coder: round trips, compression, format pins, untrusted input.

Kept small enough to run under ``NUMBA_DISABLE_JIT=1``; ``_MIN_FOUR_LANES`` is lowered where a
test needs the four-lane layout on a small input.
"""

from __future__ import annotations

import hashlib
import itertools
import math

import numpy as np
import pytest

from quantsig.entropy import order0_entropy
from quantsig.entropy import residual as res
from quantsig.entropy.rans import _put_uvarint
from quantsig.entropy.residual import MAX_CONTEXTS, decode_residuals, encode_residuals
from quantsig.errors import CorruptFileError
from quantsig.kernels import tokens as tk

I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1


def _laplace(scale: float, n: int, seed: int = 0) -> np.ndarray:
    return np.round(np.random.default_rng(seed).laplace(0, scale, n)).astype(np.int64)


def _drifting(n: int, period: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(rng.laplace(0, 1, n) * np.exp(np.sin(np.arange(n) / period) * 3) * 5).astype(np.int64)


def _roundtrip(v, seg=None, n_ctx=res.DEFAULT_CONTEXTS) -> bytes:
    v = np.asarray(v, dtype=np.int64)
    blob = encode_residuals(v, seg, n_ctx)
    out = decode_residuals(blob, v.size, seg)
    assert out.dtype == np.int64 and out.shape == v.shape
    np.testing.assert_array_equal(out, v)
    return blob


@pytest.fixture
def four_lanes(monkeypatch):
    """Small inputs take the four-lane layout."""
    monkeypatch.setattr(res, "_MIN_FOUR_LANES", 1)


# ---------------------------------------------------------------------- naive references


def _zigzag(v: int) -> int:
    return (v << 1) if v >= 0 else ((-v) << 1) - 1


def _naive_tokens(values, seg_starts):
    """Tokens, levels and the raw-bit string (a str of '0'/'1', stream order) by the
    definitions in :mod:`quantsig.kernels.tokens`, in plain Python."""
    n = len(values)
    bounds = list(seg_starts) + [n]
    toks, levs, bits = [], [], []
    for a, b in itertools.pairwise(bounds):
        s = 0
        for j in range(a, b, 4):
            group = range(j, min(j + 4, b))
            g = 0
            for i in group:
                u = _zigzag(int(values[i]))
                if u < 16:
                    t, k = u, 0
                else:
                    nb = u.bit_length()
                    t, k = 16 + 4 * (nb - 5) + ((u >> (nb - 3)) & 3), nb - 3
                toks.append(t)
                levs.append(s >> 1)
                bits.extend(str((u >> q) & 1) for q in range(k))
                g += t
            s = s - (s >> 2) + g
    return np.array(toks, np.uint8), np.array(levs, np.uint16), "".join(bits)


def test_analyze_matches_the_naive_definitions():
    rng = np.random.default_rng(3)
    v = np.concatenate(
        [
            _laplace(30, 150, 1),
            rng.integers(I64_MIN, I64_MAX, 40, endpoint=True),
            [0, -1, 7, -8, 8, 15, 16, I64_MIN, I64_MAX],
        ]
    ).astype(np.int64)
    seg = np.array([0, 37, 37, 101, 198], np.int64)
    tokens = np.empty(v.size, np.uint8)
    levels = np.empty(v.size, np.uint16)
    raw = np.empty(v.size + 2, np.uint64)
    counts = np.zeros(tk.LEVELS, np.int64)
    nbits = int(tk.analyze(v, seg, tokens, levels, raw, counts))
    ref_t, ref_l, ref_bits = _naive_tokens(v, seg)
    np.testing.assert_array_equal(tokens, ref_t)
    np.testing.assert_array_equal(levels, ref_l)
    assert nbits == len(ref_bits)
    got = raw[: (nbits + 63) // 64].astype("<u8").view(np.uint8)[: (nbits + 7) // 8].tobytes()
    want = bytearray((len(ref_bits) + 7) // 8)
    for q, bit in enumerate(ref_bits):
        want[q // 8] |= (bit == "1") << (q % 8)
    assert got == bytes(want)
    np.testing.assert_array_equal(counts, np.bincount(ref_l, minlength=tk.LEVELS))


def test_token_tables_invert_the_tokens():
    info = tk.token_tables()
    for u in [0, 1, 15, 16, 17, 31, 32, 1000, (1 << 40) + 12345, (1 << 64) - 1]:
        nb = u.bit_length()
        t, k = (u, 0) if u < 16 else (16 + 4 * (nb - 5) + ((u >> (nb - 3)) & 3), nb - 3)
        assert int(info[2 * t + 1]) == k
        assert int(info[2 * t]) | (u & ((1 << k) - 1)) == u


# ---------------------------------------------------------------------- round trips


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 100, 257])
def test_roundtrip_small_sizes(n):
    _roundtrip(_laplace(20, n, n))


@pytest.mark.parametrize("n", [1, 3, 4, 5, 9, 64, 130])
def test_roundtrip_four_lanes(four_lanes, n):
    v = _drifting(n, 10.0, n)
    blob = _roundtrip(v)
    assert blob[1] & 1  # the four-lane layout was used
    _roundtrip(v, [0, n // 3, n // 3, n - n // 5])


def test_roundtrip_extremes_and_full_range(four_lanes):
    ext = np.array([I64_MIN, I64_MAX, 0, -1, 1, I64_MIN + 1, I64_MAX - 1, 1 << 62, -(1 << 62)], np.int64)
    _roundtrip(ext)
    _roundtrip(np.full(50, I64_MIN, np.int64))
    _roundtrip(np.full(50, I64_MAX, np.int64))
    full = np.random.default_rng(1).integers(I64_MIN, I64_MAX, 300, dtype=np.int64, endpoint=True)
    blob = _roundtrip(full)
    assert len(blob) * 8 / full.size < 65  # incompressible, little overhead (four lanes)
    _roundtrip(np.concatenate([_laplace(3, 200), full[:20], _laplace(3, 200, 1)]))


def test_roundtrip_constant_and_zero_blocks(four_lanes):
    assert _roundtrip(np.zeros(1000, np.int64))[1] == 1  # four lanes, precision 0: no states
    assert len(_roundtrip(np.zeros(1000, np.int64))) <= 8
    # raw bits are stored as they are: 12 per value here (|v| < 2**14, two bits in the token)
    assert len(_roundtrip(np.full(1000, -12345, np.int64))) <= 8 + 1000 * 12 // 8
    _roundtrip(np.array([0, 0, 0, 5, 0, 0, 0, 0], np.int64))


def test_empty_block():
    blob = _roundtrip(np.zeros(0, np.int64))
    assert blob == bytes([2, 0])
    with pytest.raises(CorruptFileError):
        decode_residuals(blob, 1)
    _roundtrip(np.zeros(0, np.int64), [0, 0])


def test_roundtrip_segments():
    v = _drifting(300, 20.0)
    for seg in ([0], [0, 1], [0, 150], [0, 0, 0, 299, 300, 300], list(range(0, 300, 7)), list(range(300))):
        _roundtrip(v, seg)
    _roundtrip(v, [])  # no segments: one


def _two_scales() -> np.ndarray:
    return np.concatenate([_laplace(2, 200, 1), _laplace(2000, 200, 2)])


def test_segments_restart_the_contexts():
    v = _two_scales()
    assert encode_residuals(v, [0, 200]) != encode_residuals(v)
    assert encode_residuals(v, [0, 200]) == encode_residuals(v, np.array([0, 200, 200, 400]))


@pytest.mark.parametrize("lanes4", [False, True])
def test_every_context_count(monkeypatch, lanes4):
    if lanes4:
        monkeypatch.setattr(res, "_MIN_FOUR_LANES", 1)
    v = _drifting(600, 15.0)
    for n_ctx in range(1, MAX_CONTEXTS + 1):
        blob = _roundtrip(v, [0, 300], n_ctx)
        assert blob[3] + 1 <= n_ctx  # the header's context count


def test_input_coercion_and_dtype():
    v = np.arange(-50, 50, dtype=np.int16).reshape(10, 10)
    blob = encode_residuals(v)
    np.testing.assert_array_equal(decode_residuals(blob, 100), v.reshape(-1).astype(np.int64))
    assert encode_residuals(list(range(10))) == encode_residuals(np.arange(10))
    buf = np.frombuffer(blob, np.uint8)
    np.testing.assert_array_equal(decode_residuals(buf, 100), decode_residuals(bytearray(blob), 100))


def test_deterministic():
    v = _drifting(3000, 50.0)
    assert encode_residuals(v, [0, 1500]) == encode_residuals(v.copy(), [0, 1500])


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_ctx"):
        encode_residuals([1, 2], n_ctx=0)
    with pytest.raises(ValueError, match="n_ctx"):
        encode_residuals([1, 2], n_ctx=MAX_CONTEXTS + 1)
    with pytest.raises(TypeError, match="n_ctx"):
        encode_residuals([1, 2], n_ctx=2.5)
    with pytest.raises(ValueError, match="seg_starts"):
        encode_residuals([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="seg_starts"):
        encode_residuals([1, 2, 3], [0, 2, 1])
    with pytest.raises(ValueError, match="seg_starts"):
        encode_residuals([1, 2, 3], [0, 4])
    blob = encode_residuals([1, 2, 3])
    with pytest.raises(ValueError, match="n="):
        decode_residuals(blob, -1)
    with pytest.raises(TypeError):
        decode_residuals("abc", 3)


# ---------------------------------------------------------------------- format pins


_PIN_VALUES = np.array(
    [0, 1, -1, 2, -2, 100, -100, 5, 0, 0, 3, -7, 1 << 40, -(1 << 40), 17, -17, 4, 4, -3, 0, 1, 1, 2, -9, 60, -61, 0, 2],
    np.int64,
)


def test_pinned_block_one_lane():
    blob = encode_residuals(_PIN_VALUES, [0, 9])
    assert blob.hex() == _PIN_ONE_LANE
    np.testing.assert_array_equal(decode_residuals(bytes.fromhex(_PIN_ONE_LANE), 28, [0, 9]), _PIN_VALUES)


def test_pinned_block_four_lanes(four_lanes):
    blob = encode_residuals(_PIN_VALUES, [0, 9])
    assert blob.hex() == _PIN_FOUR_LANES
    np.testing.assert_array_equal(decode_residuals(bytes.fromhex(_PIN_FOUR_LANES), 28, [0, 9]), _PIN_VALUES)


def test_pinned_block_parametric():
    i = np.arange(80, dtype=np.int64)
    u = (i * i * 2654435761) % (1 << 20)
    v = np.where(u % 2 == 0, 1, -1) * (u % 7) * (u % 3 + 1) // 2
    blob = encode_residuals(v)
    assert blob[4] == 13  # the one context takes a table of the parametric family
    assert blob.hex() == _PIN_PARAMETRIC
    np.testing.assert_array_equal(decode_residuals(bytes.fromhex(_PIN_PARAMETRIC), 80), v)


_PIN_PARAMETRIC = (
    "021810000d113b90801b0014a35507872c7dcb7e631e94c569b4744e9d5c522254d30dc34d8b0084ca7af57a4504d52c0eee713ca9"
)
_PIN_ONE_LANE = "0208a400040a95aa109224cd4cf247080000000100071234dd0860f9be7b572042ca0c04e80000000000feffffff7f254c"
_PIN_FOUR_LANES = (
    "0209a400040a95aa109224cd4cf247080000000100d2b6000010d1b9000010840f0000010503e0270c27"
    "0c4500a004e80000000000feffffff7f254c"
)


def test_parametric_family_is_pinned():
    freqs, bits = res.parametric_tables()
    assert freqs.shape == (256, 256) and np.all(freqs.sum(axis=1) == 4096)
    ntok = (freqs > 0).sum(axis=1)
    assert np.all(np.diff(ntok) >= 0) and ntok[0] >= 2 and ntok[-1] == 256
    assert np.all(freqs[np.arange(256), 0] >= freqs[np.arange(256), 1])  # 0 is the likeliest small value
    assert freqs[8, :6].tolist() == [2041, 1021, 511, 256, 128, 65]
    # any change of the family (or a platform computing it differently) changes these bytes
    assert hashlib.sha256(freqs.astype("<i8").tobytes()).hexdigest() == (
        "5cd9dd707329dae0bde20ab9edcab38c1685b354cff8ef3e63cae429938d3006"
    )
    assert np.all(bits[freqs.T > 0] <= 12) and np.all(bits[freqs.T == 0] > 1e29)


# ---------------------------------------------------------------------- compression


def _token_bits(v: np.ndarray) -> tuple[float, int]:
    """Order-0 entropy of the tokens (bits, total) and the raw bits."""
    toks, _, bits = _naive_tokens(v, [0])
    counts = np.bincount(toks)
    p = counts[counts > 0] / toks.size
    return float(-(p * np.log2(p)).sum() * toks.size), len(bits)


@pytest.mark.parametrize("scale", [3, 30, 3000])
def test_iid_laplace_costs_its_entropy(scale):
    v = _laplace(scale, 20_000, scale)
    bits = len(_roundtrip(v)) * 8 / v.size
    tok_bits, raw_bits = _token_bits(v)
    assert bits < (tok_bits + raw_bits) / v.size * 1.002 + 0.01, (bits, tok_bits, raw_bits)
    # the empirical order-0 entropy of 20k samples underestimates the entropy of a wide
    # source; log2(2 e b) is the differential entropy of a Laplacian of scale b
    h = order0_entropy(v) if scale < 1000 else math.log2(2 * math.e * scale)
    assert bits < h * 1.004 + 0.02, (bits, h)


def test_drifting_scale_beats_order0():
    v = _drifting(20_000, 300.0)
    bits = len(_roundtrip(v)) * 8 / v.size
    h0 = order0_entropy(v)
    assert bits < 0.9 * h0, (bits, h0)
    one = len(encode_residuals(v, n_ctx=1)) * 8 / v.size
    assert bits < 0.9 * one
    assert one < h0 * 1.01 + 0.02  # one context: an order-0 model of the tokens


@pytest.mark.parametrize("n", [100, 1000])
def test_tiny_inputs_cost_little_more_than_their_tokens(n):
    # about 10 bytes of header, state and word count, plus the model: 2 bytes for a table of
    # the parametric family, which fits Laplacian residuals
    for v, extra in ((_laplace(3, n, 1), 16), (_laplace(30, n, 2), 16), (_drifting(n, n / 10, 3), 30)):
        tok_bits, raw_bits = _token_bits(v)
        nbytes = len(_roundtrip(v))
        assert nbytes * 8 <= tok_bits + raw_bits + 8 * extra, (n, nbytes, tok_bits / 8, raw_bits / 8)


def test_many_segments_cost_nothing_per_segment():
    v = _laplace(30, 4000)
    one = len(encode_residuals(v))
    many = len(encode_residuals(v, np.arange(0, 4000, 100)))
    assert many < one * 1.01


# ---------------------------------------------------------------------- untrusted input


def _decode_or_corrupt(blob, n, seg=None):
    """Decoding either fails with CorruptFileError or yields ``n`` int64 values."""
    try:
        out = decode_residuals(blob, n, seg)
    except CorruptFileError:
        return None
    assert out.dtype == np.int64 and out.shape == (n,)
    return out


def _fuzz_blocks():
    v1 = _drifting(120, 8.0, 1)
    v2 = np.concatenate([_laplace(2, 60, 2), [I64_MIN, I64_MAX, 1 << 33], _laplace(500, 60, 3)]).astype(np.int64)
    return [(v1, [0, 50]), (v2, None)]


@pytest.mark.parametrize("lanes4", [False, True])
def test_truncation_at_every_byte(monkeypatch, lanes4):
    if lanes4:
        monkeypatch.setattr(res, "_MIN_FOUR_LANES", 1)
    for v, seg in _fuzz_blocks():
        blob = encode_residuals(v, seg)
        for cut in range(len(blob)):
            with pytest.raises(CorruptFileError):
                decode_residuals(blob[:cut], v.size, seg)
        with pytest.raises(CorruptFileError):
            decode_residuals(blob + b"\x00", v.size, seg)
        for m in (v.size - 1, v.size + 1, 0):
            with pytest.raises(CorruptFileError):
                decode_residuals(blob, m, seg if m >= 50 else None)


@pytest.mark.parametrize("lanes4", [False, True])
def test_bit_flips(monkeypatch, lanes4):
    if lanes4:
        monkeypatch.setattr(res, "_MIN_FOUR_LANES", 1)
    rng = np.random.default_rng(7)
    for v, seg in _fuzz_blocks():
        blob = bytearray(encode_residuals(v, seg))
        nbits = 8 * len(blob)
        positions = range(nbits) if nbits <= 800 else rng.choice(nbits, 800, replace=False)
        caught = 0
        for q in positions:
            blob[q // 8] ^= 1 << (q % 8)
            caught += _decode_or_corrupt(bytes(blob), v.size, seg) is None
            blob[q // 8] ^= 1 << (q % 8)
        assert caught > len(positions) // 4  # flips of raw bits give valid blocks (the CRC's job)


def test_random_bytes_and_mutations():
    rng = np.random.default_rng(11)
    v, seg = _fuzz_blocks()[0]
    blob = encode_residuals(v, seg)
    for _ in range(300):
        kind = rng.integers(4)
        b = bytearray(blob)
        if kind == 0:
            b = bytearray(rng.integers(0, 256, rng.integers(0, 80), dtype=np.uint8).tobytes())
            if b and rng.random() < 0.7:
                b[0] = 2
        elif kind == 1:
            i = int(rng.integers(len(b)))
            b[i:i] = rng.integers(0, 256, rng.integers(1, 4), dtype=np.uint8).tobytes()
        elif kind == 2:
            i = int(rng.integers(len(b)))
            del b[i : i + int(rng.integers(1, 4))]
        else:
            for i in rng.integers(0, len(b), 3):
                b[i] = int(rng.integers(256))
        _decode_or_corrupt(bytes(b), v.size, seg)
        m = int(rng.integers(0, 3 * v.size))
        _decode_or_corrupt(bytes(b), m, seg if m >= 50 else None)


def _header(blob: bytes) -> dict:
    """Offsets of a version-2 block's parts (single context-model walk, for forging)."""
    pos = 4
    k = blob[3] + 1
    for _ in range(k - 1):
        while blob[pos] & 0x80:
            pos += 1
        pos += 1
    models = pos
    for _ in range(k):
        p = blob[pos]
        if p in (0, 13):  # one token, or a parametric table
            pos += 2
            continue
        tlen = blob[pos + 1] & 0x7F
        pos += 2
        if blob[pos - 1] & 0x80:
            tlen |= blob[pos] << 7
            pos += 1
        pos += tlen
    return {"models": models, "states": pos, "k": k}


def test_forged_fields(four_lanes):
    v = _two_scales()
    blob = encode_residuals(v, [0, 200])
    n, seg = v.size, [0, 200]
    h = _header(blob)
    assert h["k"] >= 2 and blob[1] & 1 and blob[1] >> 1 > 0

    def forged(pos, value):
        b = bytearray(blob)
        b[pos] = value
        return bytes(b)

    bad = [
        forged(0, 3),  # unknown version
        forged(0, 0),
        forged(1, blob[1] | 0x20),  # precision 16 + ...: above 12
        forged(1, 13 << 1 | 1),  # precision 13
        forged(3, 64),  # 65 contexts
        forged(3, 255),
        forged(4, 0),  # a zero level step
        blob[:4] + b"\xff\x7f" + blob[5:],  # steps beyond the last level
        forged(h["models"], 13),  # a table precision above the block's
        blob[: h["states"] + 3] + b"\0\0" + blob[h["states"] + 5 :],  # a state below 2**24
    ]
    for b in bad:
        with pytest.raises(CorruptFileError):
            decode_residuals(b, n, seg)
    # the word count: larger than n, larger than the block, one more or one less
    wpos = h["states"] + 20
    w = 0
    shift = 0
    end = wpos
    while True:
        w |= (blob[end] & 0x7F) << shift
        shift += 7
        end += 1
        if not blob[end - 1] & 0x80:
            break
    for new_w in (w - 1, w + 1, n + 1, 1 << 40):
        b = bytearray(blob[:wpos])
        _put_uvarint(b, new_w)
        b += blob[end:]
        assert _decode_or_corrupt(bytes(b), n, seg) is None, f"word count {new_w} accepted"
    # raw bits: one byte more, a non-zero padding bit
    with pytest.raises(CorruptFileError):
        decode_residuals(blob + b"\x00", n, seg)
    nbits = sum(int(tk.token_tables()[2 * t + 1]) for t in _naive_tokens(v, seg)[0])
    if nbits % 8:
        with pytest.raises(CorruptFileError):
            decode_residuals(blob[:-1] + bytes([blob[-1] | 0x80]), n, seg)


def test_forged_single_token_context():
    v = np.zeros(40, np.int64)
    blob = encode_residuals(v)
    assert blob.hex() == "02000000" + "0000"  # A = 1, K = 1, a context of token 0
    for b in (bytes.fromhex("020000000001"), bytes.fromhex("020001000002"), bytes.fromhex("0200000000")):
        with pytest.raises(CorruptFileError):
            decode_residuals(b, 40)
    np.testing.assert_array_equal(decode_residuals(bytes.fromhex("020001000001"), 40), np.full(40, -1))


def test_huge_n_with_a_tiny_block_is_cheap_to_reject():
    blob = encode_residuals(_laplace(30, 100))
    with pytest.raises(CorruptFileError):
        decode_residuals(blob, 10**6)


def test_forged_huge_level_step_is_corrupt_not_overflow():
    from quantsig.entropy.rans import _put_uvarint

    blob = bytearray(b"\x02\x00\x00\x01")
    _put_uvarint(blob, 2**63)
    blob += b"\x00\x00\x00\x00"
    with pytest.raises(CorruptFileError, match="levels"):
        decode_residuals(bytes(blob), 10)
