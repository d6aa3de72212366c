"""Tests of the k-means vector quantizer: kernels vs NumPy, parity with scikit-learn, rules."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans, MiniBatchKMeans
from threadpoolctl import threadpool_limits

from quantsig.errors import CodeRangeError, NotFittedError, TrainingSizeWarning
from quantsig.kernels.vq import gather_codewords, nearest_codeword
from quantsig.quantizers import kmeans as kmeans_module
from quantsig.quantizers.kmeans import KMeansVectorQuantizer
from quantsig.registry import get_quantizer

# ---------------------------------------------------------------------- references


def brute_force_codes(x: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """The plain NumPy reference: float64 argmin of summed squared differences (first wins)."""
    x = np.asarray(x, dtype=np.float64)
    c = np.asarray(codebook, dtype=np.float64)
    return np.argmin(np.sum((x[:, None, :] - c[None]) ** 2, axis=-1), axis=1)


def sequential_codes(x: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """Same distances summed one dimension at a time, in the dtype of ``x`` (float32 stays)."""
    c = codebook.astype(x.dtype)
    dist = np.zeros((x.shape[0], c.shape[0]), dtype=x.dtype)
    for d in range(x.shape[1]):
        dist = dist + (x[:, None, d] - c[None, :, d]) ** 2
    return np.argmin(dist, axis=1)


def sklearn_fit(estimator, vectors, sample_weight=None):
    """Fit a scikit-learn estimator the way the quantizer does (one thread, so bit-exact)."""
    with threadpool_limits(limits=1):
        return estimator.fit(vectors, sample_weight=sample_weight)


def kernel_codes(x: np.ndarray, codebook: np.ndarray) -> tuple[np.ndarray, int]:
    codes = np.empty(x.shape[0], dtype=np.uint16)
    n_bad = nearest_codeword(np.ascontiguousarray(x), np.ascontiguousarray(codebook, dtype=x.dtype), codes)
    return codes, n_bad


def quantizer_with(codebook) -> KMeansVectorQuantizer:
    codebook = np.asarray(codebook, dtype=np.float64)
    levels, dim = codebook.shape
    return KMeansVectorQuantizer.from_config(
        {"id": "kmeans-vq", "levels": levels, "dim": dim, "codebook_": codebook.tolist()}
    )


@pytest.fixture
def no_training_size_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingSizeWarning)
        yield


# ---------------------------------------------------------------------- nearest-codeword kernel

KERNEL_DIMS = (1, 2, 3, 4, 5, 8, 12)  # fused 1/2/4/8, padded 3 -> 4 and 5 -> 8, wide 12


@pytest.mark.parametrize("dim", KERNEL_DIMS)
@pytest.mark.parametrize("levels", (2, 7, 40))
def test_kernel_matches_numpy_reference_float64(dim, levels):
    rng = np.random.default_rng(1000 * dim + levels)
    x = rng.normal(size=(700, dim))  # one full tile of 512 and a partial one
    codebook = rng.normal(size=(levels, dim))
    codes, n_bad = kernel_codes(x, codebook)
    assert n_bad == 0
    np.testing.assert_array_equal(codes, brute_force_codes(x, codebook))


@pytest.mark.parametrize("dim", KERNEL_DIMS)
@pytest.mark.parametrize("levels", (3, 40))
def test_kernel_computes_float32_in_float32(dim, levels):
    rng = np.random.default_rng(2000 * dim + levels)
    x = rng.normal(size=(600, dim)).astype(np.float32)
    codebook = rng.normal(size=(levels, dim)).astype(np.float32)
    codes, n_bad = kernel_codes(x, codebook)
    assert n_bad == 0
    # Bit-exact with NumPy's float32 arithmetic in the same order...
    np.testing.assert_array_equal(codes, sequential_codes(x, codebook))
    # ...and a true nearest codeword up to float32 rounding.
    exact = np.sum((x[:, None, :].astype(np.float64) - codebook[None]) ** 2, axis=-1)
    chosen = exact[np.arange(len(x)), codes]
    np.testing.assert_allclose(chosen, exact.min(axis=1), rtol=1e-5, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    dim=st.sampled_from(KERNEL_DIMS),
    data=st.data(),
)
def test_kernel_ties_on_integer_grid(dim, data):
    # Small integer coordinates: distances are exact and ties are everywhere, so the code must
    # be exactly NumPy's first argmin (the lowest index among equals).
    levels = data.draw(st.integers(1, 12), label="levels")
    n = data.draw(st.integers(1, 20), label="n")
    ints = st.integers(-2, 2)
    cb = np.array(data.draw(st.lists(ints, min_size=levels * dim, max_size=levels * dim)), dtype=float)
    xs = np.array(data.draw(st.lists(ints, min_size=n * dim, max_size=n * dim)), dtype=float)
    cb, xs = cb.reshape(levels, dim), xs.reshape(n, dim)
    for dtype in (np.float64, np.float32):
        codes, _ = kernel_codes(xs.astype(dtype), cb.astype(dtype))
        np.testing.assert_array_equal(codes, brute_force_codes(xs, cb))


@pytest.mark.parametrize("dim", KERNEL_DIMS)
def test_ties_go_to_the_lowest_index(dim):
    # Every signed unit vector is at distance 1 from the origin: whatever their order, the
    # origin gets code 0.
    units = np.concatenate([np.eye(dim), -np.eye(dim)])
    rng = np.random.default_rng(dim)
    for _ in range(3):
        codebook = units[rng.permutation(len(units))]
        codes, _ = kernel_codes(np.zeros((5, dim)), codebook)
        np.testing.assert_array_equal(codes, 0)
    # Duplicate codewords: only the first copy is ever used.
    a, b = rng.normal(size=dim), rng.normal(size=dim) + 5.0
    codebook = np.stack([a, b, a, b])
    x = np.stack([a + 0.01, b - 0.01, a, b])
    for dtype in (np.float64, np.float32):
        codes, _ = kernel_codes(x.astype(dtype), codebook.astype(dtype))
        np.testing.assert_array_equal(codes, [0, 1, 0, 1])


def test_kernel_counts_non_finite_values():
    rng = np.random.default_rng(5)
    codebook = rng.normal(size=(4, 3))
    for dtype in (np.float64, np.float32):
        x = rng.normal(size=(600, 3)).astype(dtype)
        x[3, 1] = np.nan
        x[590, 0] = np.inf
        x[590, 2] = -np.inf
        _codes, n_bad = kernel_codes(x, codebook)
        assert n_bad == 3
        x[3, 1] = np.finfo(dtype).max  # large but finite is fine
        x[590] = 0.0
        with np.errstate(over="ignore"):  # its squared distance overflows to inf
            assert kernel_codes(x, codebook)[1] == 0


# ---------------------------------------------------------------------- gather kernel


@pytest.mark.parametrize("code_dtype", (np.uint8, np.int8, np.uint16, np.int32, np.int64))
def test_gather_checks_every_code(code_dtype):
    codebook = np.arange(12.0).reshape(4, 3)
    codes = np.array([0, 3, 1, 2], dtype=code_dtype)
    out = np.full((4, 3), np.nan)
    assert gather_codewords(codes, codebook, out) == (0, -1)
    np.testing.assert_array_equal(out, codebook[codes])
    bad = np.array([1, 4, 2, 100], dtype=code_dtype)
    out = np.full((4, 3), np.nan)
    assert gather_codewords(bad, codebook, out) == (2, 1)
    np.testing.assert_array_equal(out[[0, 2]], codebook[[1, 2]])
    np.testing.assert_array_equal(out[[1, 3]], 0.0)  # written, never read out of bounds
    if np.dtype(code_dtype).kind == "i":
        assert gather_codewords(np.array([2, -1], dtype=code_dtype), codebook, out[:2]) == (1, 1)


# ---------------------------------------------------------------------- parity with scikit-learn


def test_fit_and_codes_match_sklearn_kmeans():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(300, 40))  # 3000 vectors of dim 4
    q = KMeansVectorQuantizer(32, dim=4, random_state=3).fit(x)
    km = sklearn_fit(KMeans(32, init="k-means++", n_init=1, random_state=3), x.reshape(-1, 4))
    np.testing.assert_array_equal(q.codebook_, km.cluster_centers_)
    assert q.codebook_.dtype == np.float64 and q.codebook_.flags.c_contiguous

    x_new = rng.normal(size=(500, 40))
    ours = q.encode(x_new).reshape(-1)
    theirs = km.predict(x_new.reshape(-1, 4))
    # sklearn uses |x|^2 - 2x.c + |c|^2; only an (almost) exact tie may be decided differently.
    vectors = x_new.reshape(-1, 4)
    d_ours = np.sum((vectors - q.codebook_[ours]) ** 2, axis=1)
    d_theirs = np.sum((vectors - q.codebook_[theirs]) ** 2, axis=1)
    differ = ours != theirs
    np.testing.assert_allclose(d_ours[differ], d_theirs[differ], rtol=1e-12)
    assert differ.sum() <= 2
    np.testing.assert_array_equal(ours, brute_force_codes(vectors, q.codebook_))


def test_float32_data_fits_like_sklearn_and_stays_float32():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(64, 80)).astype(np.float32)
    q = KMeansVectorQuantizer(16, dim=2, random_state=0).fit(x)
    km = sklearn_fit(KMeans(16, n_init=1, random_state=0), x.reshape(-1, 2))
    assert km.cluster_centers_.dtype == np.float32
    np.testing.assert_array_equal(q.codebook_, km.cluster_centers_.astype(np.float64))
    assert q.codebook_.dtype == np.float64
    y = q.quantize(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_array_equal(y, q.decode(q.encode(x), dtype=np.float32))
    np.testing.assert_array_equal(q.quantize(y), y)  # idempotent
    assert q.decode(q.encode(x)).dtype == np.float64
    # float32 input is compared with the float32 codebook, in float32
    np.testing.assert_array_equal(
        q.encode(x).reshape(-1), sequential_codes(x.reshape(-1, 2), q.codebook_.astype(np.float32))
    )


def test_minibatch_path_above_the_threshold(monkeypatch):
    # Lower the switch point so the "auto" rule is exercised on a quick input.
    monkeypatch.setattr(kmeans_module, "FULL_KMEANS_MAX_VECTORS", 2000)
    rng = np.random.default_rng(13)
    x = rng.normal(size=(2001 * 2,))
    mbk = sklearn_fit(
        MiniBatchKMeans(8, batch_size=16384, n_init=1, max_iter=300, random_state=1, compute_labels=False),
        x.reshape(-1, 2),
    )
    auto = KMeansVectorQuantizer(8, dim=2, random_state=1).fit(x)
    np.testing.assert_array_equal(auto.codebook_, mbk.cluster_centers_)
    # one vector fewer is full Lloyd again
    km = sklearn_fit(KMeans(8, n_init=1, random_state=1), x[:4000].reshape(-1, 2))
    full = KMeansVectorQuantizer(8, dim=2, random_state=1).fit(x[:4000])
    np.testing.assert_array_equal(full.codebook_, km.cluster_centers_)


def test_minibatch_algorithm_on_a_moderate_input():
    rng = np.random.default_rng(14)
    centers = rng.normal(scale=10, size=(16, 2))
    x = (centers[rng.integers(0, 16, size=20000)] + rng.normal(size=(20000, 2))).reshape(-1)
    q = KMeansVectorQuantizer(16, dim=2, random_state=5, algorithm="minibatch", batch_size=1024).fit(x)
    mbk = sklearn_fit(
        MiniBatchKMeans(16, batch_size=1024, n_init=1, max_iter=300, random_state=5, compute_labels=False),
        x.reshape(-1, 2),
    )
    np.testing.assert_array_equal(q.codebook_, mbk.cluster_centers_)
    again = KMeansVectorQuantizer(16, dim=2, random_state=5, algorithm="minibatch", batch_size=1024).fit(x)
    np.testing.assert_array_equal(again.codebook_, q.codebook_)
    full = KMeansVectorQuantizer(16, dim=2, random_state=5, algorithm="full").fit(x)
    assert not np.array_equal(full.codebook_, q.codebook_)


def test_default_minibatch_size_grows_with_levels(monkeypatch):
    seen = {}

    def spy(self, X, y=None, sample_weight=None):
        seen["batch_size"] = self.batch_size
        self.cluster_centers_ = X[: self.n_clusters].copy()
        return self

    monkeypatch.setattr(MiniBatchKMeans, "fit", spy)
    x = np.random.default_rng(0).normal(size=39 * 2000)
    KMeansVectorQuantizer(2000, algorithm="minibatch").fit(x)
    assert seen["batch_size"] == 16 * 2000
    KMeansVectorQuantizer(4, algorithm="minibatch").fit(x)
    assert seen["batch_size"] == 16384
    KMeansVectorQuantizer(4, algorithm="minibatch", batch_size=100).fit(x)
    assert seen["batch_size"] == 100


# ---------------------------------------------------------------------- determinism


def test_same_data_same_seed_same_codebook_and_codes():
    rng = np.random.default_rng(21)
    x = rng.normal(size=(100, 48))
    a = KMeansVectorQuantizer(16, dim=3, random_state=7).fit(x)
    b = KMeansVectorQuantizer(16, dim=3, random_state=7).fit(np.asfortranarray(x))  # same values
    np.testing.assert_array_equal(a.codebook_, b.codebook_)
    np.testing.assert_array_equal(a.encode(x), b.encode(x))
    assert a == b
    c = KMeansVectorQuantizer(16, dim=3, random_state=8).fit(x)
    assert not np.array_equal(a.codebook_, c.codebook_)


def test_fit_leaves_input_and_parameters_alone():
    x = np.random.default_rng(22).normal(size=(40, 40)).astype(np.float32)
    before = x.copy()
    q = KMeansVectorQuantizer(8, dim=4, random_state=0)
    params = q.get_params()
    q.fit(x)
    np.testing.assert_array_equal(x, before)
    assert q.get_params() == params
    assert q.fit(x) is q


# ---------------------------------------------------------------------- sample weights


def test_sample_weight_matches_sklearn_and_changes_the_codebook():
    rng = np.random.default_rng(31)
    x = rng.normal(size=(50, 60))  # 1000 vectors of dim 3
    w = rng.uniform(0.1, 10.0, size=(50, 20))
    q = KMeansVectorQuantizer(8, dim=3, random_state=2).fit(x, sample_weight=w)
    km = sklearn_fit(KMeans(8, n_init=1, random_state=2), x.reshape(-1, 3), w.reshape(-1))
    np.testing.assert_array_equal(q.codebook_, km.cluster_centers_)
    flat = KMeansVectorQuantizer(8, dim=3, random_state=2).fit(x, sample_weight=w.reshape(-1))
    np.testing.assert_array_equal(flat.codebook_, q.codebook_)
    unweighted = KMeansVectorQuantizer(8, dim=3, random_state=2).fit(x)
    assert not np.allclose(unweighted.codebook_, q.codebook_)


def test_zero_weight_vectors_are_ignored():
    rng = np.random.default_rng(32)
    kept = rng.normal(size=(400, 2))
    outliers = rng.normal(loc=100.0, size=(50, 2))
    x = np.concatenate([kept, outliers]).reshape(-1)
    w = np.concatenate([rng.uniform(0.5, 2.0, size=400), np.zeros(50)])
    q = KMeansVectorQuantizer(8, dim=2, random_state=4).fit(x, sample_weight=w)
    alone = KMeansVectorQuantizer(8, dim=2, random_state=4).fit(kept, sample_weight=w[:400])
    np.testing.assert_array_equal(q.codebook_, alone.codebook_)
    km = sklearn_fit(KMeans(8, n_init=1, random_state=4), kept, w[:400])
    np.testing.assert_array_equal(q.codebook_, km.cluster_centers_)
    assert np.abs(q.codebook_).max() < 50  # no codeword was spent on the outliers


def test_zero_weights_do_not_count_as_training_vectors():
    x = np.arange(20.0)
    w = np.zeros(20)
    w[:3] = 1.0
    match = r"n_vectors \(with positive sample_weight\)=3 should be >= levels=4"
    with pytest.raises(ValueError, match=match):
        KMeansVectorQuantizer(4).fit(x, sample_weight=w)


@pytest.mark.parametrize(
    ("weight", "error", "match"),
    [
        (np.ones(7), ValueError, r"shape \(7,\).*one weight per vector, shape \(2, 4\) or \(8,\)"),
        (np.ones((2, 8)), ValueError, r"shape \(2, 8\)"),
        (np.ones(()), ValueError, r"shape \(\)"),
        (-np.ones(8), ValueError, "non-negative"),
        (np.full(8, np.nan), ValueError, "NaN or Inf"),
        (np.zeros(8), ValueError, "sums to zero"),
        (np.array(["a"] * 8), TypeError, "numeric"),
    ],
)
def test_bad_sample_weight(weight, error, match):
    x = np.random.default_rng(0).normal(size=(2, 8))
    with pytest.raises(error, match=match):
        KMeansVectorQuantizer(2, dim=2).fit(x, sample_weight=weight)


# ---------------------------------------------------------------------- training-size rules


def test_fewer_vectors_than_levels_is_an_error():
    with pytest.raises(ValueError, match=r"^n_vectors=5 should be >= levels=8$"):
        KMeansVectorQuantizer(8).fit(np.arange(5.0))
    with pytest.raises(ValueError, match=r"n_vectors=3 should be >= levels=4"):
        KMeansVectorQuantizer(4, dim=2).fit(np.arange(6.0))


def test_small_training_set_warns():
    x = np.random.default_rng(41).normal(size=4 * 39 - 1)
    with pytest.warns(TrainingSizeWarning, match=r"n_vectors=155.*39 training vectors per codeword.*156"):
        KMeansVectorQuantizer(4, random_state=0).fit(x)


def test_enough_training_vectors_do_not_warn(no_training_size_warning):
    x = np.random.default_rng(42).normal(size=4 * 39)
    KMeansVectorQuantizer(4, random_state=0).fit(x)


def test_fewer_distinct_vectors_than_levels(recwarn):
    values = np.array([[0.0, 0.0], [1.0, 2.0], [-3.0, 0.5]])
    x = values[np.random.default_rng(43).integers(0, 3, size=200)].reshape(-1)
    with pytest.warns(TrainingSizeWarning, match="only 3 distinct codewords for levels=5"):
        q = KMeansVectorQuantizer(5, dim=2, random_state=0).fit(x)
    # scikit-learn's own ConvergenceWarning is replaced by ours
    assert not [w for w in recwarn if "distinct clusters" in str(w.message)]
    np.testing.assert_allclose(q.quantize(x), x, atol=1e-12)
    codes = q.encode(x)
    first_copy = [int(np.flatnonzero((q.codebook_ == q.codebook_[c]).all(axis=1))[0]) for c in codes]
    np.testing.assert_array_equal(codes, first_copy)  # duplicates are never emitted


# ---------------------------------------------------------------------- shapes and dtypes


@pytest.fixture(scope="module")
def fitted() -> KMeansVectorQuantizer:
    x = np.random.default_rng(51).normal(size=(40, 24))
    return KMeansVectorQuantizer(8, dim=2, random_state=0).fit(x)


@pytest.mark.parametrize("shape", [(24,), (5, 24), (3, 4, 8), (2, 1, 2)])
def test_shapes_are_kept(fitted, shape):
    x = np.random.default_rng(52).normal(size=shape)
    codes = fitted.encode(x)
    assert codes.shape == shape[:-1] + (shape[-1] // 2,)
    assert codes.dtype == np.uint8
    np.testing.assert_array_equal(codes.reshape(-1), fitted.encode(x.reshape(-1)))
    y = fitted.decode(codes)
    assert y.shape == shape and y.dtype == np.float64
    np.testing.assert_array_equal(y.reshape(-1, 2), fitted.codebook_[codes.reshape(-1)])


def test_non_contiguous_input(fitted):
    x = np.random.default_rng(53).normal(size=(10, 48))
    view = x[::2, ::2]  # last axis 24, strided
    np.testing.assert_array_equal(fitted.encode(view), fitted.encode(view.copy()))


@pytest.mark.parametrize("levels", [2, 256, 257, 2**16 + 1])
def test_code_dtype_is_the_smallest_unsigned(levels):
    q = quantizer_with(np.arange(levels, dtype=np.float64)[:, None])
    codes = q.encode(np.array([0.2, levels - 1.0]))
    assert codes.dtype == np.min_scalar_type(levels - 1)
    np.testing.assert_array_equal(codes, [0, levels - 1])


def test_dim_must_divide_the_last_axis(fitted):
    with pytest.raises(ValueError, match=r"length 7.*dim=2"):
        fitted.encode(np.zeros((3, 7)))
    with pytest.raises(ValueError, match=r"length 9.*dim=4"):
        KMeansVectorQuantizer(2, dim=4).fit(np.zeros((3, 9)))


def test_bad_input(fitted):
    with pytest.raises(TypeError, match="float32 or float64"):
        fitted.encode(np.arange(4))
    with pytest.raises(TypeError, match="float32 or float64"):
        KMeansVectorQuantizer(2).fit(np.arange(100))
    with pytest.raises(ValueError, match="empty"):
        fitted.encode(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="0-d"):
        fitted.encode(np.float64(1.0))
    x = np.zeros((3, 4))
    x[1, 2] = np.nan
    x[2, 0] = np.inf
    with pytest.raises(ValueError, match="2 NaN or Inf"):
        fitted.encode(x)
    with pytest.raises(ValueError, match="1 NaN or Inf"):
        fitted.encode(x[1].astype(np.float32))
    with pytest.raises(ValueError, match="NaN or Inf"):
        KMeansVectorQuantizer(2).fit(np.array([0.0, 1.0, np.nan, 2.0]))


def test_not_fitted():
    q = KMeansVectorQuantizer(4)
    assert not q.is_fitted()
    with pytest.raises(NotFittedError):
        q.encode(np.zeros(4))
    with pytest.raises(NotFittedError):
        q.decode(np.zeros(4, dtype=np.uint8))


# ---------------------------------------------------------------------- decode


def test_decode_range_errors(fitted):
    match = r"1 value\(s\) outside \[0, levels=8\).*first is 8 at flat index 2"
    with pytest.raises(CodeRangeError, match=match):
        fitted.decode(np.array([0, 7, 8, 1], dtype=np.uint8))
    with pytest.raises(CodeRangeError, match="first is -1 at flat index 0"):
        fitted.decode(np.array([[-1, 3], [2, -5]]))
    with pytest.raises(CodeRangeError, match="18446744073709551615"):
        fitted.decode(np.array([2, 2**64 - 1, 2**63], dtype=np.uint64))
    with pytest.raises(CodeRangeError, match="first is 9 at flat index 1"):
        fitted.decode(np.array([2, 9], dtype=np.uint64))
    with pytest.raises(ValueError):  # CodeRangeError is a ValueError
        fitted.decode(np.array([300], dtype=np.uint16))
    np.testing.assert_array_equal(fitted.decode(np.array([3], dtype=np.uint64)), fitted.codebook_[3])


def test_decode_bad_arguments(fitted):
    with pytest.raises(TypeError, match="integer"):
        fitted.decode(np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="float32 or float64"):
        fitted.decode(np.array([0, 1]), dtype=np.int32)
    with pytest.raises(ValueError, match="0-d"):
        fitted.decode(np.uint8(1))


def test_decode_dtypes(fitted):
    codes = np.array([[0, 5, 7]], dtype=np.uint8)
    y32 = fitted.decode(codes, dtype=np.float32)
    assert y32.dtype == np.float32 and y32.shape == (1, 6)
    np.testing.assert_array_equal(y32, fitted.codebook_[codes[0]].astype(np.float32).reshape(1, 6))
    assert fitted.decode(codes, dtype="float64").dtype == np.float64


# ---------------------------------------------------------------------- parameters and config


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"levels": 1}, ValueError, "levels=1 should be >= 2"),
        ({"levels": 2.0}, TypeError, "levels must be an integer"),
        ({"levels": 4, "dim": 0}, ValueError, "dim=0 should be >= 1"),
        ({"levels": 4, "random_state": -1}, ValueError, "random_state=-1"),
        ({"levels": 4, "random_state": np.random.RandomState(0)}, TypeError, "None or an int"),
        ({"levels": 4, "random_state": True}, TypeError, "None or an int"),
        ({"levels": 4, "max_iter": 0}, ValueError, "max_iter=0"),
        ({"levels": 4, "n_init": 0}, ValueError, "n_init=0"),
        ({"levels": 4, "algorithm": "elkan"}, ValueError, "algorithm='elkan'"),
        ({"levels": 4, "batch_size": 0}, ValueError, "batch_size=0"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        KMeansVectorQuantizer(**kwargs)


def test_levels_bits_and_repr():
    q = KMeansVectorQuantizer(16, dim=2, random_state=np.int64(3))
    assert q.n_levels == 16 and q.bits == 4.0
    assert q.random_state == 3 and type(q.random_state) is int
    assert repr(q) == "KMeansVectorQuantizer(levels=16, dim=2, random_state=3)"


def test_config_round_trip(fitted):
    config = fitted.get_config()
    assert config["id"] == "kmeans-vq"
    assert config["levels"] == 8 and config["dim"] == 2 and len(config["codebook_"]) == 8
    rebuilt = KMeansVectorQuantizer.from_config(json.loads(json.dumps(config)))
    assert rebuilt == fitted
    np.testing.assert_array_equal(rebuilt.codebook_, fitted.codebook_)  # every bit
    assert rebuilt.codebook_.dtype == np.float64 and rebuilt.codebook_.flags.c_contiguous
    codes = np.arange(8, dtype=np.uint8)
    np.testing.assert_array_equal(rebuilt.decode(codes), fitted.decode(codes))
    x = np.random.default_rng(61).normal(size=(7, 10))
    np.testing.assert_array_equal(rebuilt.encode(x), fitted.encode(x))
    assert get_quantizer(json.dumps(config)) == fitted


def test_unfitted_config_round_trip():
    q = KMeansVectorQuantizer(4, dim=3, random_state=1, algorithm="minibatch", batch_size=512)
    config = json.loads(json.dumps(q.get_config()))
    assert "codebook_" not in config
    rebuilt = get_quantizer(config)
    assert rebuilt == q and not rebuilt.is_fitted()


@pytest.mark.parametrize(
    ("codebook", "match"),
    [
        ([[0.0, 1.0], [2.0, 3.0]], r"shape \(2, 2\), expected \(levels, dim\) = \(3, 2\)"),
        ([[0.0, 1.0], [2.0, float("nan")], [1.0, 1.0]], "NaN or Inf"),
        ([[0.0, 1.0], [2.0], [1.0, 1.0]], "array of numbers"),
        ([["a", "b"], ["c", "d"], ["e", "f"]], "array of numbers"),
    ],
)
def test_config_codebook_is_validated(codebook, match):
    with pytest.raises(ValueError, match=match):
        KMeansVectorQuantizer.from_config({"id": "kmeans-vq", "levels": 3, "dim": 2, "codebook_": codebook})


def test_conformance_instances_fit_and_round_trip():
    rng = np.random.default_rng(71)
    for q in KMeansVectorQuantizer._conformance_instances():
        for dtype in (np.float32, np.float64):
            x = q._conformance_data(rng, (64, 40), dtype)
            q.fit(x)
            y = q.quantize(x)
            assert y.dtype == x.dtype and y.shape == x.shape
            np.testing.assert_array_equal(q.quantize(y), y)
            rebuilt = KMeansVectorQuantizer.from_config(json.loads(json.dumps(q.get_config())))
            np.testing.assert_array_equal(rebuilt.quantize(x), y)
