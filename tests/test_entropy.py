"""quantsig.entropy: rANS blocks and raw packing round trips, rate targets, the constriction
peer, and untrusted-input handling (truncation, bit flips, forged headers, bombs).

Large sizes are skipped under ``NUMBA_DISABLE_JIT=1``; everything else also runs there and with
``NUMBA_BOUNDSCHECK=1``.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantsig.entropy import (
    MAX_ALPHABET,
    FrequencyTable,
    block_info,
    decode_raw,
    decode_symbols,
    encode_raw,
    encode_symbols,
    order0_entropy,
    raw_nbytes,
)
from quantsig.entropy.rans import _put_uvarint, _zigzag
from quantsig.errors import CodeRangeError, CorruptFileError

NOJIT = bool(numba.config.DISABLE_JIT)
EXAMPLES = 30 if NOJIT else 200
MAX_N = 200 if NOJIT else 3000
large = pytest.mark.skipif(NOJIT, reason="large sizes: too slow without JIT")

INT_DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.int64, np.uint64]
I64 = np.iinfo(np.int64)


def round_trip(x: np.ndarray, dtype=None) -> bytes:
    dtype = x.dtype if dtype is None else dtype
    block = encode_symbols(x)
    y = decode_symbols(block, x.size, dtype)
    assert y.dtype == np.dtype(dtype) and y.shape == (x.size,)
    assert np.array_equal(y, x)
    return block


# ---------------------------------------------------------------------- round trips


@st.composite
def symbol_arrays(draw, max_n: int = MAX_N):
    """Integer arrays of every dtype: small alphabets, skewed, full-range, Laplacian, Cauchy."""
    dtype = np.dtype(draw(st.sampled_from(INT_DTYPES)))
    n = draw(st.integers(0, max_n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["small", "skewed", "full_range", "laplace", "cauchy", "extremes", "wide"]))
    info = np.iinfo(dtype)
    lo, hi = int(info.min), min(int(info.max), int(I64.max))
    if kind == "small":
        k = draw(st.integers(1, 40))
        x = rng.integers(0, k, n) + draw(st.integers(lo, hi - k))
    elif kind == "skewed":
        x = (rng.random(n) < draw(st.floats(0.0, 0.2))).astype(np.int64) * draw(st.integers(1, 1000))
    elif kind == "full_range":
        x = rng.integers(lo, hi, n, endpoint=True, dtype=np.int64 if dtype == np.uint64 else dtype)
    elif kind == "laplace":
        x = np.round(rng.laplace(scale=draw(st.floats(0.1, 3000.0)), size=n))
    elif kind == "cauchy":
        x = np.round(rng.standard_cauchy(n) * draw(st.floats(0.1, 1000.0)))
    elif kind == "extremes":
        x = rng.choice([lo, lo + 1, hi - 1, hi], n)
    else:
        x = rng.integers(-(2**40), 2**40, n)
    x = np.asarray(x)
    if x.dtype.kind == "f":
        x = np.clip(x, max(lo, -(2**62)), min(hi, 2**62)).astype(np.int64)
    return np.clip(x, lo, hi).astype(dtype)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(symbol_arrays())
def test_round_trip_any_integers(x):
    block = round_trip(x)
    info = block_info(block)
    assert info.n == x.size and info.nbytes == len(block)


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 17])
def test_tiny_blocks_every_lane_remainder(dtype, n):
    rng = np.random.default_rng(n)
    round_trip(rng.integers(0, 3, n).astype(dtype))
    round_trip(np.full(n, 5, dtype))


def test_empty_and_constant_blocks_are_headers_only():
    empty = encode_symbols(np.zeros(0, np.int32))
    assert empty == bytes([0x10, 0])
    assert decode_symbols(empty, 0, np.uint8).dtype == np.uint8
    const = encode_symbols(np.full(1000, -7, np.int16))
    assert const == bytes([0x11]) + bytes([0xE8, 0x07]) + bytes([13])  # n=1000, zigzag(-7)=13
    assert decode_symbols(const, 1000, np.int64).tolist() == [-7] * 1000
    assert block_info(const).mode == "constant"


def test_int64_extremes_and_uint64():
    x = np.array([I64.min, I64.max, 0, 0, 0, 1, 1, 1, 1, 2, I64.min + 1, I64.max - 1], np.int64)
    block = round_trip(x)
    assert block_info(block).n_escapes >= 4
    u = np.array([0, 2**63 - 1, 5, 5, 5], np.uint64)
    round_trip(u)
    with pytest.raises(CodeRangeError):
        encode_symbols(np.array([2**63], np.uint64))
    round_trip(np.full(3, I64.min, np.int64))
    round_trip(np.array([I64.min, I64.max] * 50, np.int64))


def test_all_65536_symbols_present():
    rng = np.random.default_rng(0)
    x = rng.permutation(np.arange(65536, dtype=np.uint16))
    if not NOJIT:
        x = np.concatenate([x, rng.integers(0, 300, 200_000).astype(np.uint16)])
    block = round_trip(x)
    info = block_info(block)
    assert info.alphabet_size <= MAX_ALPHABET
    round_trip((x.astype(np.int32) - 32768).astype(np.int16))


def test_window_wider_than_alphabet_uses_escapes():
    rng = np.random.default_rng(1)
    n = 2000 if NOJIT else 200_000
    x = np.round(rng.laplace(scale=20, size=n)).astype(np.int32)
    x[rng.integers(0, n, 50)] = rng.integers(-(2**31), 2**31 - 1, 50, dtype=np.int32)  # far outliers
    block = round_trip(x)
    info = block_info(block)
    assert info.n_escapes >= 50 and info.hi - info.lo < 1000
    # the escapes are cheap: the order-0 entropy plus about 40 bits per far outlier
    assert len(block) * 8 < order0_entropy(x) * n * 1.01 + 50 * 48


def test_decode_into_other_dtypes():
    x = np.array([0, 1, 2, 200, 1, 1], np.int64)
    block = encode_symbols(x)
    assert decode_symbols(block, 6, np.uint8).tolist() == x.tolist()
    assert decode_symbols(block, 6, np.int16).tolist() == x.tolist()
    with pytest.raises(CorruptFileError, match="do not fit dtype int8"):
        decode_symbols(block, 6, np.int8)
    neg = encode_symbols(np.array([-1, 0, 0, 0, 0, 0, 0, 0, 0, -100000], np.int32))
    with pytest.raises(CorruptFileError):
        decode_symbols(neg, 10, np.uint32)
    assert decode_symbols(neg, 10, np.int64)[-1] == -100000
    with pytest.raises(CorruptFileError):  # the escaped -100000 does not fit int16
        decode_symbols(neg, 10, np.int16)


def test_pinned_bytes():
    """Exact blocks for small inputs: a format change cannot slip in unnoticed."""
    x = np.array(
        [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4, 3, 3, 8, 3, 2, 7, 9, 5], np.uint8
    )
    assert encode_symbols(x).hex() == ("12200208000403b529ca83398ee300f099d05e02071e000002a07c1cc7018fce3b8623715c3e")
    y = np.array([-2, 0, 0, 1, -1, 0, 0, 0, 70000, 0, 1, -1, 0, -300000, 0, 0], np.int32)
    assert encode_symbols(y).hex() == ("121001010103016d050008f4c95b441e794f02171dc77100695555150073555515008655555500")
    assert encode_symbols(np.full(5, -7, np.int16)).hex() == "11050d"
    assert encode_raw(np.arange(10) % 8, 3).hex() == "88c6fa08"


def test_non_native_byte_order():
    x = np.array([1, 2, 300, 2, 2, -5], ">i4")
    block = encode_symbols(x)
    assert block == encode_symbols(x.astype("<i4"))
    y = decode_symbols(block, 6, ">i4")
    assert y.dtype == np.dtype(">i4") and y.tolist() == x.tolist()
    r = np.array([1, 2, 3], ">u2")
    assert decode_raw(encode_raw(r, 11), 3, 11, ">u2").tolist() == [1, 2, 3]
    assert decode_raw(encode_raw(r, 16), 3, 16, ">u2").dtype == np.dtype(">u2")


def test_deterministic():
    rng = np.random.default_rng(2)
    x = np.round(rng.standard_normal(5000) * 10).astype(np.int32)
    assert encode_symbols(x) == encode_symbols(x.copy())


# ---------------------------------------------------------------------- rate


def gaussian_codes(n: int, sigma_steps: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(rng.standard_normal(n) * sigma_steps).astype(np.int32)


@large
@pytest.mark.parametrize("sigma", [1.0, 4.0, 64.0])  # about 2, 4 and 8 bits of entropy
@pytest.mark.parametrize("n, limit", [(65536, 0.005), (1 << 20, 0.001)])
def test_rate_within_target_of_order0_entropy(sigma, n, limit):
    x = gaussian_codes(n, sigma)
    block = round_trip(x)
    h = order0_entropy(x) * n / 8  # bytes
    assert len(block) <= h * (1 + limit), (len(block), h)


@large
def test_rate_laplacian_unbounded_codes():
    rng = np.random.default_rng(4)
    x = np.round(rng.laplace(scale=30.0, size=1 << 20)).astype(np.int32)
    block = round_trip(x)
    assert len(block) <= order0_entropy(x) * x.size / 8 * 1.001


def test_rate_small_blocks_reasonable():
    x = gaussian_codes(4096, 4.0)
    block = round_trip(x)
    assert len(block) <= order0_entropy(x) * x.size / 8 * 1.03 + 16


@large
@pytest.mark.parametrize("sigma", [1.0, 4.0, 64.0])
def test_peer_constriction_bits_per_symbol(sigma):
    """Our block (table included) against constriction's ANS payload (model not included)."""
    constriction = pytest.importorskip("constriction")
    n = 1 << 20
    x = gaussian_codes(n, sigma, seed=7)
    sym = (x - x.min()).astype(np.int32)
    probs = np.bincount(sym).astype(np.float64) / n
    model = constriction.stream.model.Categorical(probs, perfect=False)
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(sym, model)
    theirs = coder.get_compressed().nbytes
    ours = len(round_trip(x))
    assert ours <= theirs * 1.001, (ours, theirs)


# ---------------------------------------------------------------------- validation


def test_bad_arguments():
    with pytest.raises(TypeError):
        encode_symbols(np.zeros(3))
    with pytest.raises(TypeError):
        encode_symbols(np.zeros(3, bool))
    with pytest.raises(TypeError):
        encode_symbols(b"abc")
    with pytest.raises(ValueError):
        encode_symbols(np.zeros((2, 2), np.int32))
    block = encode_symbols(np.arange(4, dtype=np.int32))
    with pytest.raises(TypeError):
        decode_symbols(block, 4, np.float32)
    with pytest.raises(ValueError):
        decode_symbols(block, -1, np.int32)
    with pytest.raises(TypeError):
        decode_symbols(block, 4.0, np.int32)
    with pytest.raises(TypeError):
        decode_symbols("text", 4, np.int32)
    assert decode_symbols(np.frombuffer(block, np.uint8), 4, np.int32).tolist() == [0, 1, 2, 3]
    assert decode_symbols(bytearray(block), 4, np.int32).tolist() == [0, 1, 2, 3]


def test_count_mismatch_and_bomb():
    block = encode_symbols(np.arange(10, dtype=np.uint8))
    with pytest.raises(CorruptFileError, match="holds 10 symbols but 11"):
        decode_symbols(block, 11, np.uint8)
    # a header claiming 10**12 symbols: rejected before anything is allocated
    forged = bytearray([block[0]])
    _put_uvarint(forged, 10**12)
    forged += block[2:]
    with pytest.raises(CorruptFileError, match="holds 1000000000000 symbols but 10"):
        decode_symbols(bytes(forged), 10, np.uint8)
    # even when the caller is tricked into asking for them, the payload cannot hold them
    with pytest.raises(CorruptFileError, match="cannot hold"):
        decode_symbols(bytes(forged), 10**12, np.uint8)
    forged = bytearray([block[0]])
    _put_uvarint(forged, 2**60)
    forged += block[2:]
    with pytest.raises(CorruptFileError, match="limit"):
        decode_symbols(bytes(forged), 2**60, np.uint8)


def rebuild(info_fields: dict) -> bytes:
    """A rANS block from explicit header fields (to forge lengths and counts)."""
    out = bytearray([info_fields.get("tag", 0x12)])
    _put_uvarint(out, info_fields["n"])
    _put_uvarint(out, _zigzag(info_fields["lo"]))
    _put_uvarint(out, info_fields["width"] - 1)
    out.append(info_fields.get("flags", 1 if info_fields.get("esc") is not None else 0))
    out.append(info_fields["prec"])
    _put_uvarint(out, info_fields.get("table_len", len(info_fields["table"])))
    out += info_fields["table"]
    if info_fields.get("esc") is not None:
        _put_uvarint(out, info_fields["n_esc"])
        out.append(info_fields["k"])
        _put_uvarint(out, info_fields.get("esc_len", len(info_fields["esc"])))
        out += info_fields["esc"]
    out += info_fields["payload"]
    return bytes(out)


def split_block(block: bytes) -> dict:
    from quantsig.entropy.rans import _parse

    p = _parse(memoryview(block))
    i = p.info
    fields = {
        "n": i.n,
        "lo": i.lo,
        "width": i.hi - i.lo + 1,
        "prec": i.precision,
        "table": bytes(p.table),
        "payload": bytes(p.payload),
    }
    if i.n_escapes:
        fields.update(esc=bytes(p.escapes), n_esc=i.n_escapes, k=i.escape_k)
    return fields


@pytest.fixture(scope="module")
def escape_block() -> tuple[np.ndarray, bytes]:
    rng = np.random.default_rng(11)
    x = np.round(rng.laplace(scale=3, size=400)).astype(np.int32)
    x[::37] = rng.integers(-(2**31), 2**31 - 1, x[::37].size, dtype=np.int32)
    block = encode_symbols(x)
    assert block_info(block).n_escapes > 0
    return x, block


def test_rebuild_helper_is_exact(escape_block):
    _x, block = escape_block
    assert rebuild(split_block(block)) == block


@pytest.mark.parametrize(
    "change, message",
    [
        ({"n": 10**12}, "symbols"),
        ({"table_len": 10**9}, "truncated"),
        ({"esc_len": 10**9}, "truncated"),
        ({"n_esc": 10**9}, "escapes"),
        ({"n_esc": 0}, "escapes"),
        ({"k": 64}, "order"),
        ({"k": 40}, "escape"),
        ({"prec": 0}, "precision"),
        ({"prec": 17}, "precision"),
        ({"width": 70000}, "window"),
        ({"width": 2}, "table"),
        ({"lo": 2**63 - 2}, "int64"),
        ({"lo": -(2**62)}, "dtype"),
        ({"flags": 3}, "flags"),
        ({"flags": 0}, None),
        ({"tag": 0x22}, "tag"),
        ({"tag": 0x13}, "tag"),
        ({"payload": b""}, "payload"),
        ({"states": b"\x00" * 5}, "state 0"),
        ({"state3": b"\x01\x00\x00\x00\x00"}, "state 3"),
        ({"payload": b"\x00\x00\x00\x01\x00" * 4 + b"\x00"}, "payload"),
    ],
)
def test_forged_headers(escape_block, change, message):
    x, block = escape_block
    fields = split_block(block)
    if change == {"flags": 0}:
        fields.pop("esc")
    if "states" in change:  # overwrite the first lane states, keep the words
        states = change["states"]
        fields["payload"] = states + fields["payload"][len(states) :]
    elif "state3" in change:
        fields["payload"] = fields["payload"][:15] + change["state3"] + fields["payload"][20:]
    else:
        fields.update(change)
    with pytest.raises(CorruptFileError, match=message):
        decode_symbols(rebuild(fields), x.size, np.int32)


def test_forged_payload_word_count(escape_block):
    x, block = escape_block
    fields = split_block(block)
    fields["payload"] = fields["payload"] + b"\x00\x00" * (x.size + 1)
    with pytest.raises(CorruptFileError, match="payload words"):
        decode_symbols(rebuild(fields), x.size, np.int32)


def test_every_truncation_is_detected(escape_block):
    x, block = escape_block
    for cut in range(len(block)):
        with pytest.raises(CorruptFileError):
            decode_symbols(block[:cut], x.size, np.int32)
    with pytest.raises(CorruptFileError):
        decode_symbols(block + b"\x00", x.size, np.int32)


def test_overlong_varints_rejected():
    overlong = (
        b"\x10\x80\x00",
        b"\x10" + b"\xff" * 10 + b"\x01",
        b"\x10" + b"\x80" * 11,
        b"\x10" + b"\xff" * 9 + b"\x02",
    )  # non-canonical, 11 bytes, unterminated, >= 2**64
    for bad in overlong:
        with pytest.raises(CorruptFileError):
            decode_symbols(bad, 0, np.int32)
    with pytest.raises(CorruptFileError):
        decode_symbols(b"", 0, np.int32)
    with pytest.raises(CorruptFileError):
        decode_symbols(b"\x10\x00\x00", 0, np.int32)  # trailing byte after an empty block
    with pytest.raises(CorruptFileError):
        decode_symbols(b"\x11\x00\x02", 0, np.int32)  # a constant block of 0 symbols


@st.composite
def mutations(draw):
    kind = draw(st.sampled_from(["flip", "flips", "truncate", "random_bytes", "insert", "delete", "random_block"]))
    seed = draw(st.integers(0, 2**32 - 1))
    return kind, seed


def mutate(block: bytes, kind: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    b = bytearray(block)
    if kind == "flip":
        i = rng.integers(0, len(b) * 8)
        b[i // 8] ^= 1 << (i % 8)
    elif kind == "flips":
        for i in rng.integers(0, len(b) * 8, rng.integers(2, 8)):
            b[i // 8] ^= 1 << (i % 8)
    elif kind == "truncate":
        b = b[: rng.integers(0, len(b))]
    elif kind == "random_bytes":
        i = rng.integers(0, len(b))
        j = min(len(b), i + rng.integers(1, 8))
        b[i:j] = rng.integers(0, 256, j - i, dtype=np.uint8).tobytes()
    elif kind == "insert":
        i = rng.integers(0, len(b) + 1)
        b[i:i] = rng.integers(0, 256, rng.integers(1, 4), dtype=np.uint8).tobytes()
    elif kind == "delete":
        i = rng.integers(0, len(b))
        del b[i : i + rng.integers(1, 4)]
    else:
        b = bytearray(rng.integers(0, 256, rng.integers(0, 64), dtype=np.uint8).tobytes())
        if b and rng.random() < 0.7:
            b[0] = 0x10 | rng.integers(0, 3)
    return bytes(b)


@pytest.fixture(scope="module")
def mutation_bases() -> list[tuple[np.ndarray, bytes]]:
    rng = np.random.default_rng(12)
    xs = [
        np.round(rng.standard_normal(300) * 4).astype(np.int32),  # rANS, no escapes
        np.where(rng.random(300) < 0.05, rng.integers(-(10**9), 10**9, 300), rng.integers(0, 5, 300)).astype(np.int64),
        rng.integers(0, 256, 301).astype(np.uint8),
        np.full(50, 3, np.int16),
        np.zeros(0, np.int32),
        (rng.random(500) < 0.01).astype(np.uint8),  # very skewed
    ]
    return [(x, encode_symbols(x)) for x in xs]


@settings(
    max_examples=300 if not NOJIT else 60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 5), mutations())
def test_mutated_blocks_raise_only_corrupt_file_error(mutation_bases, which, mutation):
    x, block = mutation_bases[which]
    bad = mutate(block, *mutation)
    for dtype in (x.dtype, np.int64):
        try:
            y = decode_symbols(bad, x.size, dtype)
        except CorruptFileError:
            continue
        assert y.shape == (x.size,) and y.dtype == np.dtype(dtype)  # a valid, different block


# ---------------------------------------------------------------------- raw packing


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(1, 32), st.integers(0, 300), st.integers(0, 2**32 - 1), st.sampled_from(["u", "i"]))
def test_raw_round_trip(bits, n, seed, kind):
    rng = np.random.default_rng(seed)
    v = rng.integers(0, 1 << bits, n, dtype=np.uint64)
    need = bits + (kind == "i")  # a signed dtype needs one more bit
    dtype = np.dtype(f"{kind}{next(size for size in (1, 2, 4, 8) if 8 * size >= need)}")
    x = v.astype(dtype)
    block = encode_raw(x, bits)
    assert len(block) == raw_nbytes(n, bits) == (n * bits + 7) // 8
    y = decode_raw(block, n, bits, dtype)
    assert y.dtype == dtype and np.array_equal(x, y)
    # random access: value i starts at bit i * bits
    if n:
        i = int(rng.integers(0, n))
        stream = int.from_bytes(block, "little")
        assert (stream >> (i * bits)) & ((1 << bits) - 1) == int(x[i])


def test_raw_byte_aligned_widths_are_the_values_little_endian():
    x = np.array([1, 0x0203, 0xFFFF], np.uint16)
    assert encode_raw(x, 16) == x.astype("<u2").tobytes()
    assert encode_raw(x.astype(np.uint32), 32) == x.astype("<u4").tobytes()
    assert encode_raw(np.array([7, 255], np.uint8), 8) == b"\x07\xff"


def test_raw_errors():
    with pytest.raises(CodeRangeError):
        encode_raw(np.array([8], np.uint8), 3)
    with pytest.raises(CodeRangeError):
        encode_raw(np.array([-1], np.int32), 3)
    with pytest.raises(ValueError):
        encode_raw(np.array([1]), 0)
    with pytest.raises(ValueError):
        encode_raw(np.array([1]), 33)
    with pytest.raises(TypeError):
        encode_raw(np.array([1.0]), 3)
    block = encode_raw(np.array([1, 2, 3, 4, 5]), 3)  # 15 bits: one padding bit
    with pytest.raises(CorruptFileError, match="expected 2"):
        decode_raw(block[:1], 5, 3, np.uint8)
    with pytest.raises(CorruptFileError):
        decode_raw(block + b"\x00", 5, 3, np.uint8)
    with pytest.raises(CorruptFileError, match="padding"):
        decode_raw(block[:1] + bytes([block[1] | 0x80]), 5, 3, np.uint8)
    with pytest.raises(ValueError, match="cannot hold"):
        decode_raw(block, 5, 9, np.uint8)
    with pytest.raises(TypeError):
        decode_raw(block, 5, 3, np.float64)
    assert decode_raw(b"", 0, 7, np.uint8).size == 0


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(1, 32), st.integers(0, 40), st.binary(max_size=200))
def test_raw_untrusted_bytes(bits, n, data):
    dtype = np.uint32 if bits <= 32 else np.uint64
    try:
        y = decode_raw(data, n, bits, dtype)
    except CorruptFileError:
        return
    assert y.shape == (n,) and (y < (1 << bits)).all()
    assert encode_raw(y, bits) == data  # the only valid blocks are canonical


# ---------------------------------------------------------------------- entropy and models


def test_order0_entropy_reference():
    rng = np.random.default_rng(0)
    x = rng.integers(-5, 5, 1000).astype(np.int16)
    _, c = np.unique(x, return_counts=True)
    p = c / c.sum()
    assert order0_entropy(x) == pytest.approx(-(p * np.log2(p)).sum(), rel=1e-12)
    assert order0_entropy(np.zeros(0, np.int32)) == 0.0
    assert order0_entropy(np.array([I64.min, I64.max])) == 1.0
    with pytest.raises(TypeError):
        order0_entropy(np.zeros(3))


def test_frequency_table_fit_prefers_small_exact_tables():
    t = FrequencyTable.fit(np.array([500, 200, 100]))
    assert t.precision == 3 and t.freqs.tolist() == [5, 2, 1]
    with pytest.raises(ValueError):
        FrequencyTable.from_counts(np.array([1, 1, 1]), 1)
    with pytest.raises(ValueError):
        FrequencyTable.from_counts(np.array([0, 0]), 4)
    with pytest.raises(TypeError):
        FrequencyTable.from_counts(np.array([0.5, 1.0]), 4)
    assert "precision=3" in repr(t)


@large
def test_table_bytes_for_typical_tables():
    """The serialized table is a small part of the rate (numbers quoted in docs/entropy.md)."""
    for sigma, limit in ((1.0, 24), (4.0, 64), (64.0, 400)):
        x = gaussian_codes(1 << 20, sigma)
        assert block_info(encode_symbols(x)).table_nbytes <= limit
