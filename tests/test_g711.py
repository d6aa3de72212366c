"""Tests of the G.711 quantizer: audioop parity, ITU-T G.191 rules, kernels vs NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from quantsig.errors import CodeRangeError
from quantsig.kernels.g711 import g711_decode, g711_encode
from quantsig.quantizers import g711 as g711_module
from quantsig.quantizers.g711 import G711Quantizer
from quantsig.registry import get_quantizer

LAWS = ("mu", "a")
VARIANTS = ("itu", "audioop")
ALL_PCM = np.arange(-32768, 32768, dtype=np.int16)  # every int16 sample, in order
ALL_CODES = np.arange(256, dtype=np.uint8)


@pytest.fixture(scope="module")
def audioop():
    # CPython's module up to 3.12; the audioop-lts package provides it from 3.13 on.
    return pytest.importorskip("audioop")


def encode(law: str, variant: str, x: np.ndarray) -> np.ndarray:
    return G711Quantizer(law=law, variant=variant).encode(x)


# ---------------------------------------------------------------------- a scalar G.191 model
# Written per sample in the style of the STL's g711.c, independent of the table code.


def g191_ulaw_compress(sample: int) -> int:
    if sample < 0:
        absno = ((-sample - 1) >> 2) + 33  # one's complement: ~x == -x - 1
    else:
        absno = (sample >> 2) + 33
    if absno > 0x1FFF:
        absno = 0x1FFF
    i = absno >> 6
    segno = 1
    while i != 0:
        segno += 1
        i >>= 1
    high_nibble = 0x8 - segno
    low_nibble = 0xF - ((absno >> segno) & 0xF)
    code = (high_nibble << 4) | low_nibble
    if sample >= 0:
        code |= 0x80
    return code


def g191_alaw_compress(sample: int) -> int:
    if sample < 0:
        ix = (-sample - 1) >> 4
    else:
        ix = sample >> 4
    if ix > 15:
        iexp = 1
        while ix > 16 + 15:
            ix >>= 1
            iexp += 1
        ix -= 16
        ix += iexp << 4
    if sample >= 0:
        ix |= 0x80
    return ix ^ 0x55


def g191_ulaw_expand(code: int) -> int:
    sign = -1 if code < 0x80 else 1
    mantissa = (~code) & 0xFF
    exponent = (mantissa >> 4) & 0x7
    segment = exponent + 1
    mantissa &= 0xF
    step = 4 << segment
    return sign * ((0x80 << exponent) + step * mantissa + step // 2 - 4 * 33)


def g191_alaw_expand(code: int) -> int:
    ix = (code ^ 0x55) & 0x7F
    iexp = ix >> 4
    mant = ix & 0xF
    if iexp > 0:
        mant += 16
    mant = (mant << 4) + 8
    if iexp > 1:
        mant <<= iexp - 1
    return mant if code > 127 else -mant


G191_COMPRESS = {"mu": g191_ulaw_compress, "a": g191_alaw_compress}
G191_EXPAND = {"mu": g191_ulaw_expand, "a": g191_alaw_expand}


# ---------------------------------------------------------------------- (1) audioop parity


@pytest.mark.parametrize("law", LAWS)
def test_audioop_variant_encodes_every_sample_like_audioop(law, audioop):
    lin2 = {"mu": audioop.lin2ulaw, "a": audioop.lin2alaw}[law]
    expected = lin2(ALL_PCM.tobytes(), 2)
    codes = encode(law, "audioop", ALL_PCM)
    assert codes.dtype == np.uint8
    assert codes.tobytes() == expected
    # The bytes path gives the same stream.
    assert encode(law, "audioop", ALL_PCM.astype("<i2").tobytes()).tobytes() == expected


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_decode_every_code_like_audioop(law, variant, audioop):
    to_lin = {"mu": audioop.ulaw2lin, "a": audioop.alaw2lin}[law]
    expected = np.frombuffer(to_lin(bytes(range(256)), 2), dtype="<i2")
    decoded = G711Quantizer(law=law, variant=variant).decode(ALL_CODES)
    assert decoded.dtype == np.int16
    np.testing.assert_array_equal(decoded, expected)


# ---------------------------------------------------------------------- (2) ITU-T G.191


@pytest.mark.parametrize(
    ("sample", "mu_code", "a_code"),
    [(0, 0xFF, 0xD5), (1000, 0xCE, 0xFA), (-1000, 0x4E, 0x7A), (32767, 0x80, 0xAA), (-32768, 0x00, 0x2A)],
)
def test_itu_published_vectors(sample, mu_code, a_code):
    x = np.array([sample], dtype=np.int16)
    assert encode("mu", "itu", x)[0] == mu_code
    assert encode("a", "itu", x)[0] == a_code


@pytest.mark.parametrize("law", LAWS)
def test_itu_variant_matches_scalar_g191_model_on_every_sample(law):
    compress = G191_COMPRESS[law]
    expected = np.array([compress(s) for s in range(-32768, 32768)], dtype=np.uint8)
    codes = encode(law, "itu", ALL_PCM)
    mismatch = np.flatnonzero(codes != expected)
    assert mismatch.size == 0, f"first mismatch at sample {ALL_PCM[mismatch[0]]}"


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_decode_matches_scalar_g191_model_on_every_code(law, variant):
    expand = G191_EXPAND[law]
    expected = np.array([expand(c) for c in range(256)], dtype=np.int16)
    decoded = G711Quantizer(law=law, variant=variant).decode(ALL_CODES)
    np.testing.assert_array_equal(decoded, expected)
    assert {"mu": (32124, -32124), "a": (32256, -32256)}[law] == (decoded.max(), decoded.min())


def test_zero_codes():
    assert encode("mu", "itu", np.zeros(1, np.int16))[0] == 0xFF
    assert encode("a", "itu", np.zeros(1, np.int16))[0] == 0xD5
    mu = G711Quantizer(law="mu").decode(np.array([0xFF, 0x7F]))
    np.testing.assert_array_equal(mu, [0, 0])
    a = G711Quantizer(law="a").decode(np.array([0xD5, 0x55]))
    np.testing.assert_array_equal(a, [8, -8])


# ---------------------------------------------------------------------- (3) variants


def test_mu_law_variants_differ_on_exactly_508_negative_samples():
    itu = encode("mu", "itu", ALL_PCM)
    aud = encode("mu", "audioop", ALL_PCM)
    differ = itu != aud
    assert np.count_nonzero(differ) == 508
    samples = ALL_PCM[differ]
    assert samples.max() < 0
    assert {-1, -100} <= set(samples.tolist())
    assert -1000 not in set(samples.tolist())
    # audioop rounds those samples one step up in magnitude: the next code down.
    np.testing.assert_array_equal(itu[differ].astype(int) - aud[differ].astype(int), 1)


def test_a_law_variants_identical():
    np.testing.assert_array_equal(encode("a", "itu", ALL_PCM), encode("a", "audioop", ALL_PCM))


@pytest.mark.parametrize("law", LAWS)
def test_decoders_identical_between_variants(law):
    np.testing.assert_array_equal(
        G711Quantizer(law=law, variant="itu").decode(ALL_CODES),
        G711Quantizer(law=law, variant="audioop").decode(ALL_CODES),
    )


# ---------------------------------------------------------------------- (4) idempotence


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_code_is_a_fixed_point_except_mu_law_negative_zero(law, variant):
    q = G711Quantizer(law=law, variant=variant)
    reencoded = q.encode(q.decode(ALL_CODES))
    expected = ALL_CODES.copy()
    if law == "mu":
        expected[0x7F] = 0xFF  # -0 decodes to 0, which encodes as +0
    np.testing.assert_array_equal(reencoded, expected)


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_quantize_is_idempotent_on_every_sample(law, variant):
    q = G711Quantizer(law=law, variant=variant)
    once = q.quantize(ALL_PCM)
    assert once.dtype == np.int16
    np.testing.assert_array_equal(q.quantize(once), once)
    # Levels are monotone in the sample: G.711 never reorders samples.
    assert np.all(np.diff(once.astype(int)) >= 0)


# ---------------------------------------------------------------------- (5) API and errors


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_bytes_like_input_equals_array_input(law, variant):
    rng = np.random.default_rng(1)
    x = rng.integers(-32768, 32768, size=1001, dtype=np.int16)
    q = G711Quantizer(law=law, variant=variant)
    expected = q.encode(x)
    raw = x.astype("<i2").tobytes()
    for pcm in (raw, bytearray(raw), memoryview(raw), memoryview(x.astype("<i2"))):
        np.testing.assert_array_equal(q.encode(pcm), expected)
    np.testing.assert_array_equal(q.encode(x.astype(">i2")), expected)
    np.testing.assert_array_equal(q.quantize(raw), q.decode(expected))


def test_shapes_kept():
    rng = np.random.default_rng(2)
    x = rng.integers(-32768, 32768, size=(7, 5), dtype=np.int16)
    q = G711Quantizer(law="a")
    codes = q.encode(x)
    assert codes.shape == (7, 5) and codes.dtype == np.uint8
    np.testing.assert_array_equal(codes, q.encode(x.ravel()).reshape(7, 5))
    np.testing.assert_array_equal(q.encode(np.asfortranarray(x)), codes)
    np.testing.assert_array_equal(q.encode(x[:, ::2]), codes[:, ::2])
    decoded = q.decode(codes)
    assert decoded.shape == (7, 5) and decoded.dtype == np.int16
    np.testing.assert_array_equal(q.decode(np.asfortranarray(codes)), decoded)
    assert q.quantize(x).shape == (7, 5)
    assert q.decode(codes.T.astype(np.int64)).shape == (5, 7)
    assert q.encode(np.int16(1000)).shape == ()


def test_decode_accepts_int16_dtype_and_any_integer_codes():
    q = G711Quantizer()
    codes = np.array([0, 0x7F, 0x80, 0xCE, 0xFF])
    expected = q.decode(codes.astype(np.uint8))
    np.testing.assert_array_equal(q.decode(codes, dtype=np.int16), expected)
    np.testing.assert_array_equal(q.decode(codes, dtype=None), expected)
    np.testing.assert_array_equal(q.decode(codes, dtype="int16"), expected)
    for dt in (np.int16, np.uint16, np.int32, np.int64, np.uint64, ">i4"):
        np.testing.assert_array_equal(q.decode(codes.astype(dt)), expected)
    np.testing.assert_array_equal(q.decode(codes.tolist()), expected)


def test_decode_of_no_codes_is_empty():
    out = G711Quantizer().decode(np.zeros((0, 3), dtype=np.uint8))
    assert out.shape == (0, 3) and out.dtype == np.int16


@pytest.mark.parametrize(
    "x",
    [np.zeros(4, np.float32), np.zeros(4, np.float64), np.zeros(4, np.int32), np.zeros(4, np.uint16)]
    + [[1, 2], "ab", None],
)
def test_encode_rejects_non_int16(x):
    with pytest.raises(TypeError, match="int16"):
        G711Quantizer().encode(x)
    with pytest.raises(TypeError, match="int16"):
        G711Quantizer().fit(x)


def test_float_error_says_how_to_convert():
    with pytest.raises(TypeError, match=r"np\.round\(x \* 32767\)\.astype\(np\.int16\)"):
        G711Quantizer().encode(np.zeros(3))


@pytest.mark.parametrize("x", [b"\x00\x01\x02", bytearray(1), memoryview(b"\x00" * 5)])
def test_encode_rejects_odd_byte_count(x):
    with pytest.raises(ValueError, match="odd"):
        G711Quantizer().encode(x)


@pytest.mark.parametrize("x", [np.zeros(0, np.int16), np.zeros((3, 0), np.int16), b""])
def test_encode_rejects_empty(x):
    with pytest.raises(ValueError, match="x is empty"):
        G711Quantizer().encode(x)


def test_encode_rejects_non_contiguous_memoryview():
    view = memoryview(np.zeros(8, np.int16))[::2]
    with pytest.raises(ValueError, match="contiguous"):
        G711Quantizer().encode(view)


@pytest.mark.parametrize(
    ("codes", "count", "first"),
    [([0, 256, 3], 1, 256), ([-1, 5, 300, -7], 3, -1)],
)
def test_decode_rejects_out_of_range_codes(codes, count, first):
    with pytest.raises(CodeRangeError, match=rf"{count} value\(s\) outside \[0, 255\] \(first: {first}\)"):
        G711Quantizer().decode(np.asarray(codes))


def test_decode_rejects_codes_beyond_int64():
    with pytest.raises(CodeRangeError, match=str(2**64 - 1)):
        G711Quantizer().decode(np.array([2**64 - 1, 3], np.uint64))


@pytest.mark.parametrize("codes", [np.zeros(3), np.zeros(3, bool), ["a"]])
def test_decode_rejects_non_integer_codes(codes):
    with pytest.raises(TypeError, match="integer"):
        G711Quantizer().decode(codes)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8, ">i2"])
def test_decode_rejects_other_dtypes(dtype):
    with pytest.raises(TypeError, match="int16"):
        G711Quantizer().decode(np.zeros(2, np.uint8), dtype=dtype)


@pytest.mark.parametrize(
    ("kwargs", "name"), [({"law": "u"}, "law"), ({"law": "A"}, "law"), ({"variant": "sun"}, "variant")]
)
def test_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        G711Quantizer(**kwargs)


def test_contract_attributes_and_config():
    q = G711Quantizer(law="a", variant="audioop")
    assert (q.n_levels, q.bits, q.codec_id) == (256, 8.0, "g711")
    assert (q.input_dtypes, q.requires_fit) == (("int16",), False)
    config = q.get_config()
    assert config == {"id": "g711", "law": "a", "variant": "audioop"}
    assert get_quantizer(config) == q
    assert G711Quantizer.from_config(config) == q
    assert get_quantizer("g711") == G711Quantizer()
    assert q != G711Quantizer(law="a")
    assert repr(q) == "G711Quantizer(law='a', variant='audioop')"
    assert repr(G711Quantizer()) == "G711Quantizer()"
    assert q.fit(np.zeros(3, np.int16)) is q
    assert q.fit(b"\x00\x00") is q


def test_conformance_hooks():
    instances = G711Quantizer._conformance_instances()
    assert sorted((q.law, q.variant) for q in instances) == sorted((law, v) for law in LAWS for v in VARIANTS)
    data = instances[0]._conformance_data(np.random.default_rng(0), (4000,), "int16")
    assert data.dtype == np.int16 and data.shape == (4000,)
    assert data.min() < -30000 and data.max() > 30000


# ---------------------------------------------------------------------- (6) kernels vs NumPy


def test_tables_are_cached_and_read_only():
    for law in LAWS:
        for variant in VARIANTS:
            table = g711_module._encode_table(law, variant)
            assert table is g711_module._encode_table(law, variant)
            assert table.shape == (65536,) and table.dtype == np.uint8
            assert not table.flags.writeable
            small, shift = g711_module._kernel_encode_table(law, variant)
            assert not small.flags.writeable and small.shape == (65536 >> shift,)
            assert shift == {"mu": 2, "a": 4}[law]
            np.testing.assert_array_equal(small[np.arange(65536) >> shift], table)
            dec = g711_module._decode_table(law, variant)
            assert dec.shape == (256,) and dec.dtype == np.int16 and not dec.flags.writeable


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_encode_kernel_matches_table_indexing(law, variant):
    rng = np.random.default_rng(3)
    x = rng.integers(-32768, 32768, size=4099, dtype=np.int16)
    full = g711_module._encode_table(law, variant)
    expected = full[x.view(np.uint16)]
    small, shift = g711_module._kernel_encode_table(law, variant)
    out = np.zeros(x.size, np.uint8)
    g711_encode(x.view(np.uint16), small, shift, out)
    np.testing.assert_array_equal(out, expected)
    out[:] = 0
    g711_encode(x.view(np.uint16), full, 0, out)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(encode(law, variant, x), expected)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64, np.uint64])
def test_decode_kernel_matches_table_indexing_and_counts_bad_codes(dtype):
    rng = np.random.default_rng(4)
    table = g711_module._decode_table("mu", "itu")
    info = np.iinfo(dtype)
    codes = rng.integers(max(info.min, -400), min(info.max, 400) + 1, size=3001).astype(dtype)
    good = (codes >= 0) & (codes <= 255)
    expected = np.zeros(codes.size, np.int16)
    expected[good] = table[codes[good].astype(np.intp)]
    out = np.full(codes.size, 99, np.int16)
    bad = g711_decode(codes, table, out)
    assert bad == np.count_nonzero(~good)
    np.testing.assert_array_equal(out, expected)


def test_kernels_refuse_mismatched_arguments():
    x = np.zeros(8, np.uint16)
    small, shift = g711_module._kernel_encode_table("mu", "itu")
    with pytest.raises(ValueError):
        g711_encode(x, small, 1, np.zeros(8, np.uint8))  # table too short for the shift
    with pytest.raises(ValueError):
        g711_encode(x, small, shift, np.zeros(7, np.uint8))
    with pytest.raises(ValueError):
        g711_decode(np.zeros(8, np.uint8), np.zeros(255, np.int16), np.zeros(8, np.int16))
    with pytest.raises(ValueError):
        g711_decode(np.zeros(8, np.uint8), np.zeros(256, np.int16), np.zeros(9, np.int16))
