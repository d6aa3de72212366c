"""K-means vector quantizer: a codebook learned by scikit-learn, exact Numba encode/decode."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from .._validation import (
    as_code_array,
    as_float_array,
    as_float_dtype,
    as_sample_weight,
    check_choice,
    check_finite,
    check_int,
    report_nonfinite,
    smallest_uint,
)
from ..errors import CodeRangeError, TrainingSizeWarning
from ..kernels.vq import gather_codewords, nearest_codeword
from ..registry import register_quantizer
from .base import Quantizer

__all__ = ["KMeansVectorQuantizer"]

#: ``algorithm="auto"`` runs full Lloyd k-means up to this many training vectors and
#: mini-batch k-means above it.
FULL_KMEANS_MAX_VECTORS = 2**17
#: faiss' rule of thumb: fewer than this many training vectors per codeword places the
#: codewords poorly (faiss warns below ``39 * k`` points).
MIN_VECTORS_PER_LEVEL = 39
_ALGORITHMS = ("auto", "full", "minibatch")
_MAX_LEVELS = 2**31 - 1  # the encode kernel keeps indices in int32


@register_quantizer
class KMeansVectorQuantizer(Quantizer):
    """Vector quantizer with a k-means codebook (``levels`` codewords of ``dim`` samples).

    A vector is ``dim`` consecutive samples along the last axis: ``x`` of shape ``(..., m)``
    with ``m % dim == 0`` gives codes of shape ``(..., m // dim)``, and ``decode`` gives back
    shape ``(..., m)``. ``encode`` returns the index of the nearest codeword (squared Euclidean
    distance summed directly, ties to the lowest index), in the smallest unsigned dtype that
    holds ``levels`` codes.

    Parameters
    ----------
    levels : int
        Number of codewords, at least 2.
    dim : int, default 1
        Samples per vector, at least 1; must divide the last axis of every input.
    random_state : int or None, default None
        Seed of the k-means++ initialisation and of the mini-batches. With an int, the same
        data gives the same ``codebook_`` and the same codes on every run. Only ints (or
        None) are accepted because the value is stored in the config.
    max_iter : int, default 300
        Lloyd iterations for the full algorithm; passes over the data (epochs) for the
        mini-batch algorithm, which usually stops earlier on its own criterion.
    n_init : int, default 1
        Number of k-means++ initialisations; the run with the lowest inertia wins.
    algorithm : {"auto", "full", "minibatch"}, default "auto"
        ``"full"`` is ``sklearn.cluster.KMeans`` (Lloyd, k-means++ init); ``"minibatch"``
        is ``sklearn.cluster.MiniBatchKMeans`` (k-means++ init). ``"auto"`` picks full
        Lloyd up to ``2**17`` training vectors (positive-weight vectors when weights are
        given) and mini-batch above that.
    batch_size : int or None, default None
        Mini-batch size; ``None`` means ``max(16384, 16 * levels)`` (larger batches than
        scikit-learn's 1024 took fewer steps and less time for the same quality in our runs
        with 256 levels). Ignored by full Lloyd.

    Attributes
    ----------
    codebook_ : ndarray of float64, shape (levels, dim)
        The codewords, in scikit-learn's order (not sorted).

    Notes
    -----
    Training-size rules: fewer training vectors than ``levels`` raises ``ValueError``; fewer
    than ``39 * levels`` (faiss' rule of thumb for k-means) warns with
    ``TrainingSizeWarning``. When the data holds fewer distinct vectors
    than ``levels``, the fit still succeeds and warns with ``TrainingSizeWarning``: the
    codebook then holds every distinct vector (up to rounding) plus duplicate codewords,
    which ``encode`` never emits (ties go to the lowest index).

    Vectors with zero ``sample_weight`` are removed before fitting, so they have no effect at
    all (not even on the initialisation) and do not count as training vectors.

    Float32 data is clustered in float32 (scikit-learn keeps the dtype) and float64 data in
    float64; ``codebook_`` is float64 either way. ``encode`` computes distances in the dtype
    of its input, with the codebook cast to float32 for float32 input.

    Determinism: scikit-learn runs with one OpenMP and one BLAS thread during ``fit``. Its
    multi-threaded Lloyd step merges per-thread sums in whatever order the threads finish,
    which changes the last bits of the codebook from run to run (and with the core count);
    one thread makes the codebook a function of the data, ``random_state`` and the library
    versions only.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.quantizers.kmeans import KMeansVectorQuantizer
    >>> x = np.random.default_rng(0).normal(size=(100, 64))
    >>> q = KMeansVectorQuantizer(16, dim=2, random_state=0).fit(x)
    >>> q.codebook_.shape
    (16, 2)
    >>> codes = q.encode(x)
    >>> codes.shape, codes.dtype
    ((100, 32), dtype('uint8'))
    >>> q.decode(codes).shape
    (100, 64)
    >>> q.bits
    4.0
    """

    codec_id: ClassVar[str] = "kmeans-vq"
    _learned: ClassVar[tuple[str, ...]] = ("codebook_",)
    requires_fit: ClassVar[bool] = True

    codebook_: np.ndarray

    def __init__(
        self,
        levels: int,
        dim: int = 1,
        random_state: int | None = None,
        *,
        max_iter: int = 300,
        n_init: int = 1,
        algorithm: str = "auto",
        batch_size: int | None = None,
    ) -> None:
        self.levels = check_int(levels, "levels", low=2, high=_MAX_LEVELS)
        self.dim = check_int(dim, "dim", low=1)
        if random_state is not None:
            if not isinstance(random_state, (int, np.integer)) or isinstance(random_state, bool):
                raise TypeError(
                    "random_state must be None or an int (it is stored in the config), "
                    f"got {random_state!r} ({type(random_state).__name__})"
                )
            random_state = check_int(random_state, "random_state", low=0, high=2**32 - 1)
        self.random_state = random_state
        self.max_iter = check_int(max_iter, "max_iter", low=1)
        self.n_init = check_int(n_init, "n_init", low=1)
        self.algorithm = check_choice(algorithm, "algorithm", _ALGORITHMS)
        self.batch_size = None if batch_size is None else check_int(batch_size, "batch_size", low=1)

    # ------------------------------------------------------------------ conformance hooks
    @classmethod
    def _conformance_instances(cls) -> list[Quantizer]:
        return [
            cls(16, dim=1, random_state=0),
            cls(16, dim=2, random_state=0),
            cls(8, dim=4, random_state=0),
        ]

    @classmethod
    def _conformance_bad_params(cls) -> list[dict[str, Any]]:
        return [
            {"levels": 1},
            {"levels": 2.5},
            {"levels": 4, "dim": 0},
            {"levels": 4, "random_state": -1},
            {"levels": 4, "random_state": "seed"},
            {"levels": 4, "algorithm": "elkan"},
            {"levels": 4, "max_iter": 0},
            {"levels": 4, "n_init": 0},
            {"levels": 4, "batch_size": 0},
        ]

    # ------------------------------------------------------------------ helpers
    def _as_vectors(self, x: Any, name: str = "x") -> tuple[np.ndarray, np.ndarray]:
        """Return ``(arr, vectors)``: the validated float array and its (n, dim) C view/copy."""
        arr = as_float_array(x, name)
        if arr.ndim == 0:
            raise ValueError(f"{name} must have at least one axis, got a 0-d array")
        m = arr.shape[-1]
        if m % self.dim:
            raise ValueError(
                f"the last axis of {name} has length {m}, which is not a multiple of dim={self.dim} (shape={arr.shape})"
            )
        return arr, np.ascontiguousarray(arr).reshape(-1, self.dim)

    def _sample_weight(self, sample_weight: Any, arr: np.ndarray, n_vectors: int) -> np.ndarray | None:
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight)
        per_vector_shape = arr.shape[:-1] + (arr.shape[-1] // self.dim,)
        if w.shape != per_vector_shape and w.shape != (n_vectors,):
            raise ValueError(
                f"sample_weight has shape {w.shape}, but x of shape {arr.shape} holds {n_vectors} "
                f"vectors of dim={self.dim}: pass one weight per vector, shape {per_vector_shape} "
                f"or ({n_vectors},)"
            )
        return as_sample_weight(w, n_vectors)

    # ------------------------------------------------------------------ the contract
    def fit(self, x: Any, sample_weight: Any = None) -> KMeansVectorQuantizer:
        """Learn ``codebook_`` by k-means on the vectors of ``x``.

        Parameters
        ----------
        x : array_like of float32 or float64, shape (..., m), ``m % dim == 0``
            Training data, finite; every ``dim`` consecutive samples of the last axis form
            one vector.
        sample_weight : array_like, optional
            One non-negative weight per vector, shape ``(..., m // dim)`` or
            ``(n_vectors,)``. Zero-weight vectors are ignored entirely.

        Returns
        -------
        self

        Raises
        ------
        TypeError
            If ``x`` is not float32/float64 or ``sample_weight`` is not numeric.
        ValueError
            If ``x`` is empty, holds NaN/Inf, has a last axis that ``dim`` does not divide, or
            has fewer (positive-weight) vectors than ``levels``; or if ``sample_weight`` has
            the wrong shape, a negative or non-finite value, or a zero sum.

        Warns
        -----
        TrainingSizeWarning
            Fewer than ``39 * levels`` training vectors, or fewer distinct vectors than
            ``levels``.

        Examples
        --------
        >>> import numpy as np
        >>> from quantsig.quantizers.kmeans import KMeansVectorQuantizer
        >>> x = np.repeat([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]], 40, axis=0)
        >>> q = KMeansVectorQuantizer(3, dim=2, random_state=0).fit(x)
        >>> np.sort(q.codebook_[:, 0])
        array([0., 1., 5.])
        """
        arr, vectors = self._as_vectors(x)
        check_finite(vectors, "x")
        weights = self._sample_weight(sample_weight, arr, vectors.shape[0])
        if weights is not None and not (weights > 0).all():
            keep = weights > 0
            vectors, weights = vectors[keep], weights[keep]
        n, k = vectors.shape[0], self.levels
        counted = "n_vectors" if weights is None else "n_vectors (with positive sample_weight)"
        if n < k:
            raise ValueError(f"{counted}={n} should be >= levels={k}")
        if n < MIN_VECTORS_PER_LEVEL * k:
            warnings.warn(
                f"fitting levels={k} codewords on {counted}={n}: k-means wants at least "
                f"{MIN_VECTORS_PER_LEVEL} training vectors per codeword (faiss' rule of thumb), "
                f"i.e. {MIN_VECTORS_PER_LEVEL * k}; the codebook may be poor",
                TrainingSizeWarning,
                stacklevel=2,
            )
        full = self.algorithm == "full" or (self.algorithm == "auto" and n <= FULL_KMEANS_MAX_VECTORS)
        codebook = self._run_sklearn(vectors, weights, full)
        n_distinct = np.unique(codebook, axis=0).shape[0]
        if n_distinct < k:
            warnings.warn(
                f"the codebook holds only {n_distinct} distinct codewords for levels={k}, "
                f"most likely because x holds fewer than {k} distinct vectors; the {k - n_distinct} "
                "duplicate codeword(s) are never produced by encode (ties go to the lowest index)",
                TrainingSizeWarning,
                stacklevel=2,
            )
        self.codebook_ = codebook
        return self

    def _run_sklearn(self, vectors: np.ndarray, weights: np.ndarray | None, full: bool) -> np.ndarray:
        # Imported here: scikit-learn takes a while to import and only fit needs it.
        from sklearn.cluster import KMeans, MiniBatchKMeans
        from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
        from threadpoolctl import threadpool_limits

        estimator: Any
        if full:
            estimator = KMeans(
                n_clusters=self.levels,
                init="k-means++",
                n_init=self.n_init,
                max_iter=self.max_iter,
                random_state=self.random_state,
                algorithm="lloyd",
            )
        else:
            batch_size = self.batch_size if self.batch_size is not None else max(16384, 16 * self.levels)
            estimator = MiniBatchKMeans(
                n_clusters=self.levels,
                init="k-means++",
                n_init=self.n_init,
                max_iter=self.max_iter,
                batch_size=batch_size,
                random_state=self.random_state,
                compute_labels=False,
            )
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            # We report duplicate codewords ourselves, as a TrainingSizeWarning.
            warnings.filterwarnings("ignore", message="Number of distinct clusters", category=SklearnConvergenceWarning)
            estimator.fit(vectors, sample_weight=weights)
        return np.ascontiguousarray(estimator.cluster_centers_, dtype=np.float64)

    def encode(self, x: Any) -> np.ndarray:
        """Return the index of the nearest codeword of every vector of ``x``.

        Parameters
        ----------
        x : array_like of float32 or float64, shape (..., m), ``m % dim == 0``
            Finite samples. Distances are computed in the dtype of ``x``.

        Returns
        -------
        ndarray, shape (..., m // dim)
            Codes in ``[0, levels)``, dtype the smallest unsigned integer holding them
            (uint8 up to 256 levels).

        Raises
        ------
        NotFittedError
            Before ``fit``.
        TypeError
            If ``x`` is not float32/float64.
        ValueError
            If ``x`` is empty or 0-d, holds NaN/Inf, or ``dim`` does not divide its last axis.

        Examples
        --------
        >>> import numpy as np
        >>> from quantsig.quantizers.kmeans import KMeansVectorQuantizer
        >>> q = KMeansVectorQuantizer.from_config(
        ...     {"id": "kmeans-vq", "levels": 2, "dim": 2, "codebook_": [[0.0, 0.0], [1.0, 1.0]]})
        >>> q.encode(np.array([0.1, 0.2, 0.9, 0.7, 0.5, 0.5]))
        array([0, 1, 0], dtype=uint8)
        """
        self._check_fitted()
        arr, vectors = self._as_vectors(x)
        codebook = self.codebook_ if vectors.dtype == np.float64 else self.codebook_.astype(vectors.dtype)
        codes = np.empty(vectors.shape[0], dtype=smallest_uint(self.levels))
        report_nonfinite(nearest_codeword(vectors, codebook, codes), "x")
        return codes.reshape(arr.shape[:-1] + (arr.shape[-1] // self.dim,))

    def decode(self, codes: Any, dtype: Any = np.float64) -> np.ndarray:
        """Return the codewords of ``codes``, ``dim`` samples per code along the last axis.

        Parameters
        ----------
        codes : array_like of int, shape (..., p)
            Codes in ``[0, levels)``, any integer dtype.
        dtype : float32 or float64, default float64
            Output dtype (the codebook is cast to it).

        Returns
        -------
        ndarray, shape (..., p * dim)

        Raises
        ------
        NotFittedError
            Before ``fit``.
        TypeError
            If ``codes`` is not an integer array or ``dtype`` is not float32/float64.
        ValueError
            If ``codes`` is 0-d.
        CodeRangeError
            If a code is outside ``[0, levels)`` (nothing is read out of bounds).

        Examples
        --------
        >>> import numpy as np
        >>> from quantsig.quantizers.kmeans import KMeansVectorQuantizer
        >>> q = KMeansVectorQuantizer.from_config(
        ...     {"id": "kmeans-vq", "levels": 2, "dim": 2, "codebook_": [[0.0, 0.0], [1.0, 1.0]]})
        >>> q.decode(np.array([0, 1, 0], dtype=np.uint8), dtype=np.float32)
        array([0., 0., 1., 1., 0., 0.], dtype=float32)
        """
        self._check_fitted()
        arr = as_code_array(codes)
        out_dtype = as_float_dtype(dtype)
        if arr.ndim == 0:
            raise ValueError("codes must have at least one axis, got a 0-d array")
        flat = np.ascontiguousarray(arr).reshape(-1)  # as_code_array turned uint64 into int64
        out = np.empty((flat.shape[0], self.dim), dtype=out_dtype)
        codebook = self.codebook_.astype(out_dtype, copy=False)
        n_bad, first = gather_codewords(flat, codebook, out)
        if n_bad:
            value = arr.reshape(-1)[first]
            raise CodeRangeError(
                f"codes holds {n_bad} value(s) outside [0, levels={self.levels}); "
                f"the first is {value} at flat index {first}"
            )
        return out.reshape(arr.shape[:-1] + (arr.shape[-1] * self.dim,))

    @property
    def n_levels(self) -> int:
        """Number of codewords, ``levels``."""
        return self.levels

    # ------------------------------------------------------------------ learned state
    def _set_learned(self, learned: dict[str, Any]) -> None:
        """Validate ``codebook_`` from a config (shape (levels, dim), finite) and install it."""
        value = learned["codebook_"]
        expected = (self.levels, self.dim)
        try:
            raw = np.asarray(value)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"codebook_ must be a {expected} array of numbers: {exc}") from exc
        if raw.dtype.kind not in "iuf":
            raise ValueError(f"codebook_ must be a {expected} array of numbers, got dtype={raw.dtype}")
        codebook = raw.astype(np.float64)
        if codebook.shape != expected:
            raise ValueError(f"codebook_ has shape {codebook.shape}, expected (levels, dim) = {expected}")
        if not np.isfinite(codebook).all():
            raise ValueError("codebook_ contains NaN or Inf values")
        self.codebook_ = np.ascontiguousarray(codebook)
