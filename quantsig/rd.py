"""Rate-distortion sweeps: the bits a quantizer really writes against the error it leaves.

Every point is measured end to end: the quantizer (fitted on the data when it learns) goes
into a ``Codec``, the data are compressed into a complete ``.qsg`` file in
memory (header, tables, index and all), the file is decoded again and checked against
``quantize(x)``, and the **rate is the size of that file**: ``8 * n_bytes / n_samples`` bits
per sample. The order-0 entropy of the codes (what an ideal coder with a free model would
spend) is reported beside it, never instead of it.

* ``rd_point``: one quantizer (or codec) on ``x``, one row.
* ``rd_curve``: a sweep, ``factory(value)`` for each value (or a preset name).
* ``compare``: several sweeps over the same values, one table.
* ``quantizer_for``: the presets ``"uniform"``, ``"mu-law"``, ``"lloyd-max"``,
  ``"kmeans"`` (``"kmeans:D"``) and ``"ecsq"`` at a rate in bits per sample.
* ``RDResult``: the table (one row per quantizer and value; CSV, JSON, Markdown,
  pandas); ``gap_to_gaussian_bound``: each row's rate minus the Gaussian ``R(D)``.

Examples
--------
>>> import numpy as np
>>> from quantsig import rd
>>> x = np.random.default_rng(0).standard_normal(50_000)
>>> res = rd.compare(x, ["uniform", "lloyd-max"], values=[2, 4])
>>> res.labels(), len(res)
(['uniform', 'lloyd-max'], 4)
>>> res["rate"].round(2)                       # bits per sample actually written
array([2.07, 4.07, 1.99, 3.89])
>>> bool(np.all(rd.gap_to_gaussian_bound(res, variance=1.0) > 0))   # above Shannon's bound
True
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any

import numpy as np

from . import metrics
from ._bisect import geometric_bisect
from ._validation import check_int, check_real
from .codec import DEFAULT_FRAME_SIZE, DEFAULT_MAX_OUTPUT_BYTES, Codec, decode_bytes, describe
from .errors import CorruptFileError
from .progress import make_progress
from .quantizers.base import Quantizer
from .table import Table
from .theory import gaussian_rate

__all__ = [
    "COLUMNS",
    "TIMING_COLUMNS",
    "SUMMARY_COLUMNS",
    "PRESETS",
    "RDResult",
    "rd_point",
    "rd_curve",
    "compare",
    "quantizer_for",
    "check_preset",
    "available_presets",
    "gap_to_gaussian_bound",
]

#: The columns of every ``RDResult``, in order.
COLUMNS: tuple[str, ...] = (
    "quantizer",  # label
    "param",  # the swept value
    "n_samples",
    "n_bytes",  # bytes of the complete .qsg file
    "rate",  # 8 * n_bytes / n_samples
    "entropy",  # order-0 entropy of the codes, bits per sample
    "mse",
    "rmse",
    "snr_db",
    "psnr_db",
    "max_abs_error",
    "fit_s",
    "encode_s",
    "decode_s",
)
#: Wall-clock columns (they differ from run to run; everything else is deterministic).
TIMING_COLUMNS: tuple[str, ...] = ("fit_s", "encode_s", "decode_s")
#: The columns ``str(result)`` and the command line show.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "quantizer",
    "param",
    "rate",
    "entropy",
    "mse",
    "snr_db",
    "max_abs_error",
    "fit_s",
    "encode_s",
    "decode_s",
)
#: Preset names understood by ``quantizer_for`` (``"kmeans:D"`` also, for dimension D).
PRESETS: tuple[str, ...] = ("uniform", "mu-law", "lloyd-max", "kmeans", "ecsq")

#: Samples of the subsample on which the ``"uniform"`` preset searches its step.
UNIFORM_SEARCH_SAMPLES = 200_000
#: The ``"kmeans"`` preset trains on at most this many vectors per codeword (faiss'
#: ``max_points_per_centroid``), drawn at random with seed 0.
KMEANS_TRAIN_PER_LEVEL = 256
#: The ``"kmeans"`` preset without a dimension uses pairs (dim 2) up to this many codewords.
KMEANS_MAX_PAIR_LEVELS = 1024
#: Largest codebook (codewords) a ``"kmeans"`` preset builds.
KMEANS_MAX_LEVELS = 1 << 16
_INT_BITS_MAX = 16  # mu-law and Lloyd-Max: 2**16 levels at most

Factory = str | Callable[[Any], Quantizer | Codec]


# ---------------------------------------------------------------------------- the table


class RDResult(Table):
    """A rate-distortion table: one row per (quantizer label, parameter value).

    A fixed sequence of rows (dicts) with the columns ``COLUMNS`` in that order. It is
    never modified in place: ``filter``, ``+`` and ``concat`` return new tables, and
    ``rows``, iteration and indexing hand out copies.

    ==================  ======================================================================
    column              meaning
    ==================  ======================================================================
    ``quantizer``       the label (the preset name by default)
    ``param``           the swept value (bits for the presets)
    ``n_samples``       samples of the data
    ``n_bytes``         bytes of the complete ``.qsg`` file written
    ``rate``            ``8 * n_bytes / n_samples``: bits per sample actually written
    ``entropy``         order-0 entropy of the codes per sample (per code / ``dim`` for
                        vector quantizers): the ideal static coder with a free model
    ``mse`` ...         ``quantsig.metrics`` on the data decoded from the file
                        (``psnr_db`` against the peak ``|x|``; NaN for all-zero data)
    ``fit_s``           seconds to build and fit the quantizer (a preset's search included)
    ``encode_s``        seconds of ``Codec.compress`` (quantize and entropy-code)
    ``decode_s``        seconds of ``Codec.decompress``
    ==================  ======================================================================

    A lossless point has ``mse`` 0 and ``snr_db`` / ``psnr_db`` ``inf``. In JSON (strict, no
    ``Infinity``) every non-finite number is written as ``null``; CSV writes ``inf`` / ``nan``,
    which ``float()`` reads back.

    Parameters
    ----------
    rows : iterable of mappings
        Each with exactly the keys of ``COLUMNS``.

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> from quantsig.rd import RDResult, rd_point
    >>> x = np.random.default_rng(1).standard_normal(10_000)
    >>> res = RDResult([rd_point(x, quantsig.UniformQuantizer(step=0.5), param=0.5)])
    >>> res.columns[:6]
    ('quantizer', 'param', 'n_samples', 'n_bytes', 'rate', 'entropy')
    >>> print(res.to_markdown(columns=["quantizer", "param", "rate", "snr_db"], floatfmt=".3f"))
    | quantizer | param | rate | snr_db |
    |:---|---:|---:|---:|
    | uniform | 0.500 | 3.376 | 16.839 |
    <BLANKLINE>
    """

    COLUMNS = COLUMNS
    TEXT_COLUMNS = ("quantizer",)
    INT_COLUMNS = ("n_samples", "n_bytes")
    SUMMARY_COLUMNS = SUMMARY_COLUMNS
    __slots__ = ()

    def filter(self, quantizer: str | Iterable[str]) -> RDResult:  # type: ignore[override]
        """The rows of one quantizer label or of several (in the table's order).

        Raises
        ------
        ValueError
            If a label is not in the table (the message lists those that are).
        """
        return super().filter(quantizer)


# ---------------------------------------------------------------------------- scaled codec

SCALE_KEY = "scale"


class _ScaledCodec(Codec):
    """A ``Codec`` that divides the data by ``scale`` before quantizing and
    multiplies the decoded values by it.

    For quantizers with a fixed input range (mu-law and A-law take ``[-1, 1]``): with
    ``scale = max |x|`` any data fits. The scale is stored in the file's metadata under
    ``"scale"`` (so its bytes count in the rate) and ``decompress`` reads it back from
    there; a plain ``quantsig.decompress`` of such a file returns the scaled-down values.

    Parameters
    ----------
    quantizer : Quantizer, optional
        As for ``Codec``.
    scale : float
        Positive and finite.
    entropy, frame_size
        As for ``Codec``.

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> from quantsig.rd import _ScaledCodec
    >>> x = np.array([-3.0, 0.5, 2.0, 3.0])
    >>> codec = _ScaledCodec(quantsig.MuLawQuantizer(bits=8), scale=3.0)
    >>> y = _ScaledCodec.decompress(codec.compress(x))
    >>> bool(np.abs(y - x).max() < 0.1), quantsig.info(codec.compress(x))["metadata"]
    (True, {'scale': 3.0})
    """

    def __init__(
        self,
        quantizer: Quantizer | None = None,
        scale: float = 1.0,
        entropy: str = "rans",
        frame_size: int = DEFAULT_FRAME_SIZE,
    ) -> None:
        super().__init__(quantizer, entropy=entropy, frame_size=frame_size)
        self.scale = check_real(scale, "scale", low=0.0, low_open=True)

    def __repr__(self) -> str:
        return f"_ScaledCodec({self.quantizer!r}, scale={self.scale!r}, entropy={self.entropy!r}, frame_size={self.frame_size})"

    def get_config(self) -> dict[str, Any]:
        """The ``Codec`` config plus ``"scale"``."""
        return {**super().get_config(), "scale": self.scale}

    def scale_down(self, x: Any) -> np.ndarray:
        """``x / scale`` in the dtype of ``x`` (float32 or float64)."""
        arr = np.asarray(x)
        if arr.dtype.kind != "f":
            raise TypeError(f"_ScaledCodec takes float data, got dtype={arr.dtype}")
        return (arr / arr.dtype.type(self.scale)).astype(arr.dtype, copy=False)

    def scale_up(self, y: Any) -> np.ndarray:
        """``y * scale`` in the dtype of ``y``."""
        return _times(np.asarray(y), self.scale)

    def write(self, write: Any, x: Any, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        """As ``Codec.write``, on ``x / scale``, with ``"scale"`` added to the metadata."""
        meta = dict(metadata) if metadata is not None else {}
        if SCALE_KEY in meta:
            raise ValueError(f"metadata must not hold {SCALE_KEY!r}: _ScaledCodec stores its scale there")
        meta[SCALE_KEY] = self.scale
        return super().write(write, self.scale_down(x), meta)

    @staticmethod
    def decompress(data: bytes | memoryview, max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES) -> np.ndarray:
        """Decode a file written by a ``_ScaledCodec``: the values times the stored scale.

        Raises
        ------
        CorruptFileError
            If the file is damaged or its metadata holds no valid ``"scale"``.
        """
        y = decode_bytes(data, max_output_bytes)
        scale = describe(data)["metadata"].get(SCALE_KEY)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale > 0):
            raise CorruptFileError(f"corrupt quantsig file: no valid {SCALE_KEY!r} in the metadata ({scale!r})")
        return _times(y, float(scale))


def _times(arr: np.ndarray, factor: float) -> np.ndarray:
    """``arr * factor`` computed and returned in ``arr``'s float dtype."""
    return (arr * arr.dtype.type(factor)).astype(arr.dtype, copy=False)


# ---------------------------------------------------------------------------- presets


def available_presets() -> list[str]:
    """The names of ``PRESETS`` whose quantizer this installation has.

    Returns
    -------
    list of str
        In the order of ``PRESETS``; each is a valid ``factory`` for ``rd_curve`` and
        ``compare`` (``"kmeans"`` also takes a dimension, ``"kmeans:D"``).

    See Also
    --------
    check_preset : checks a preset name and a rate for it.

    Examples
    --------
    >>> from quantsig import rd
    >>> rd.available_presets()
    ['uniform', 'mu-law', 'lloyd-max', 'kmeans', 'ecsq']
    >>> set(rd.available_presets()) <= set(rd.PRESETS)
    True
    >>> [rd.check_preset(p, 2) for p in rd.available_presets()] == rd.available_presets()  # all take 2 bits
    True
    """
    return [p for p in PRESETS if p != "ecsq" or _ecsq_class() is not None]


def _ecsq_class() -> Any:
    try:
        from .quantizers.ecsq import ECSQuantizer
    except ImportError:
        return None
    return ECSQuantizer


def _parse_preset(name: Any) -> tuple[str, int | None]:
    """``"kmeans:4" -> ("kmeans", 4)``; ``"uniform" -> ("uniform", None)``."""
    if not isinstance(name, str):
        raise TypeError(f"a preset is named by a string, got {type(name).__name__}")
    base, sep, arg = name.partition(":")
    valid = "uniform, mu-law, lloyd-max, kmeans, kmeans:D (D = vector dimension), ecsq"
    if base not in PRESETS or (sep and base != "kmeans"):
        raise ValueError(f"unknown preset {name!r}; the presets are {valid}")
    if not sep:
        return base, None
    if not arg.isdigit() or int(arg) < 1:
        raise ValueError(f"preset {name!r}: D in kmeans:D must be a positive integer")
    return base, int(arg)


def check_preset(name: str, bits: Any = None) -> str:
    """Check a preset name (and, given, a rate for it) without touching any data.

    Returns the name. Rules for ``bits`` (bits per sample):

    * every preset: a finite number > 0;
    * ``"mu-law"``, ``"lloyd-max"``, ``"kmeans"``: a whole number of bits, 1 to 16;
    * ``"kmeans:D"``: ``bits * D`` a whole number from 1 to 16 (so ``kmeans:2`` takes 0.5);
    * ``"ecsq"``: at most 16, and ``quantsig.ECSQuantizer`` in this installation;
    * ``"uniform"``: any (its codes are unbounded).

    Raises
    ------
    ValueError
        Unknown preset (the message lists them) or a rate it cannot do.

    Examples
    --------
    >>> check_preset("kmeans:4", 2)
    'kmeans:4'
    >>> check_preset("lloyd-max", 2.5)
    Traceback (most recent call last):
    ...
    ValueError: preset 'lloyd-max' needs a whole number of bits per sample (it has 2**bits levels), got 2.5
    """
    base, dim = _parse_preset(name)
    if base == "ecsq" and _ecsq_class() is None:
        raise ValueError("preset 'ecsq' needs quantsig.ECSQuantizer, which this installation does not have")
    if bits is not None:
        _preset_bits(name, base, dim, bits)
    return name


def _preset_bits(name: str, base: str, dim: int | None, bits: Any) -> None:
    if isinstance(bits, bool) or not isinstance(bits, numbers.Real):
        raise TypeError(f"preset {name!r}: bits must be a number, got {bits!r} ({type(bits).__name__})")
    b = float(bits)
    if not (math.isfinite(b) and b > 0):
        raise ValueError(f"preset {name!r}: bits must be finite and > 0, got {bits!r}")
    if base == "uniform":
        return
    total = b * (dim or 1)
    if base != "ecsq" and not total.is_integer():
        if dim:
            raise ValueError(
                f"preset {name!r} needs bits * {dim} to be a whole number (its codebook has "
                f"2**(bits*{dim}) codewords), got bits={bits!r}"
            )
        levels = "codewords" if base == "kmeans" else "levels"
        raise ValueError(
            f"preset {name!r} needs a whole number of bits per sample (it has 2**bits {levels}), got {bits!r}"
        )
    if total > _INT_BITS_MAX:
        raise ValueError(f"preset {name!r}: bits={bits!r} is above the {_INT_BITS_MAX} bits per code it supports")


def quantizer_for(name: str, bits: float, x: Any) -> Quantizer | Codec:
    """A quantizer (fitted when it learns) for ``x`` at ``bits`` bits per sample.

    =================  ==========================================================================
    preset             what it builds
    =================  ==========================================================================
    ``"uniform"``      the entropy-coded uniform quantizer at a *target rate*: an unbounded
                       ``UniformQuantizer(step=s)`` whose codes have an order-0 entropy of about
                       ``bits`` (the largest ``s`` with entropy <= ``bits``, by geometric
                       bisection to 0.1 % on a random subsample of at most 200,000 samples)
    ``"mu-law"``       ``MuLawQuantizer(bits)`` (mu = 255) in a ``_ScaledCodec`` with
                       ``scale = max |x|``, so the data fill ``[-1, 1]``; fixed rate
    ``"lloyd-max"``    ``LloydMaxQuantizer(2**bits).fit(x)``; fixed rate
    ``"kmeans"``       ``KMeansVectorQuantizer(2**(bits*dim), dim)``, fixed rate ``bits`` per
                       sample: ``dim = 2`` while the codebook has at most 1,024 codewords
                       (``bits <= 5``), the last axis of ``x`` is even and ``x`` holds at least
                       256 pairs per codeword; otherwise ``dim = 1`` (a bigger codebook trains
                       slowly, and on less data costs more header bytes than it saves)
    ``"kmeans:D"``     the same at dimension ``D`` (``2**(bits*D)`` codewords)
    ``"ecsq"``         ``ECSQuantizer(rate=bits).fit(x)``: entropy-constrained scalar
                       quantization at a target rate
    =================  ==========================================================================

    The k-means presets train on at most 256 vectors per codeword (faiss' rule), drawn at
    random with seed 0, with ``random_state=0``; the codebook then codes all of ``x``. The
    fixed-rate presets spend ``bits`` per sample before entropy coding: the rate written by
    the rANS coder is often lower, and that is the rate reported.

    Parameters
    ----------
    name : str
        A preset (see ``check_preset`` for the valid rates).
    bits : float
        Bits per sample.
    x : array_like
        The data (float, finite, any shape; integers are converted to float64).

    Returns
    -------
    Quantizer or Codec
        A ``_ScaledCodec`` for ``"mu-law"``, a quantizer otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig import metrics
    >>> x = np.random.default_rng(0).standard_normal(100_000)
    >>> q = quantizer_for("uniform", 4, x)
    >>> round(metrics.code_entropy(q.encode(x)), 2)
    4.0
    >>> quantizer_for("kmeans", 3, x).codebook_.shape      # 64 codewords of dim 2
    (64, 2)
    """
    check_preset(name, bits)
    base, dim = _parse_preset(name)
    b = float(bits)
    arr = _as_data(x)
    if base == "uniform":
        from .quantizers.uniform import UniformQuantizer

        return UniformQuantizer(step=_uniform_step(arr, b))
    if base == "mu-law":
        from .quantizers.mulaw import MuLawQuantizer

        peak = float(np.max(np.abs(arr)))
        return _ScaledCodec(MuLawQuantizer(bits=int(b)), scale=peak if peak > 0 else 1.0)
    if base == "lloyd-max":
        from .quantizers.lloydmax import LloydMaxQuantizer

        return LloydMaxQuantizer(2 ** int(b)).fit(arr)
    if base == "kmeans":
        return _kmeans(arr, b, dim)
    q: Quantizer = _ecsq_class()(rate=b).fit(arr)
    return q


def _subsample(rows: np.ndarray, m: int) -> np.ndarray:
    """At most ``m`` rows (values of a 1-D array), drawn without replacement with seed 0, in order."""
    if rows.shape[0] <= m:
        return rows
    idx = np.random.default_rng(0).choice(rows.shape[0], size=m, replace=False)
    idx.sort()
    return rows[idx]


def _uniform_step(arr: np.ndarray, bits: float) -> float:
    """The largest step whose codes have an order-0 entropy <= ``bits`` (on a subsample)."""
    from .quantizers.uniform import UniformQuantizer

    peak = float(np.max(np.abs(arr)))
    if peak == 0:
        return 1.0
    sub = _subsample(arr.reshape(-1), UNIFORM_SEARCH_SAMPLES)

    def ok(step: float) -> bool:
        return metrics.code_entropy(UniformQuantizer(step=step).encode(sub)) <= bits

    coarse = 4.0 * peak  # every code 0: entropy 0
    fine = peak * 2.0**-30  # the finest step whose codes stay well inside int32
    if ok(fine):  # too few distinct values to spend ``bits``: as fine as the codes allow
        return fine
    return float(geometric_bisect(ok, good=coarse, bad=fine, integer=False))


def _kmeans(arr: np.ndarray, bits: float, dim: int | None) -> Quantizer:
    from .quantizers.kmeans import KMeansVectorQuantizer

    if dim is None:
        pair_levels = 2 ** int(2 * bits)
        dim = (
            2
            if (
                pair_levels <= KMEANS_MAX_PAIR_LEVELS
                and arr.shape[-1] % 2 == 0
                and arr.size // 2 >= KMEANS_TRAIN_PER_LEVEL * pair_levels
            )
            else 1
        )
    if arr.shape[-1] % dim:
        raise ValueError(
            f"kmeans at dim={dim} groups {dim} consecutive samples of the last axis, which has "
            f"length {arr.shape[-1]} (shape {arr.shape}); trim or reshape the data"
        )
    levels = 2 ** round(bits * dim)
    train = _subsample(np.ascontiguousarray(arr).reshape(-1, dim), KMEANS_TRAIN_PER_LEVEL * levels)
    return KMeansVectorQuantizer(levels, dim=dim, random_state=0).fit(train)


# ---------------------------------------------------------------------------- measuring


def _as_data(x: Any) -> np.ndarray:
    """``x`` as a native float32/float64 array (integers -> float64), non-empty and finite."""
    if isinstance(x, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"x must be an array of numbers, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.float64)
    elif arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"x must hold float32, float64 or integer values, got dtype={arr.dtype}")
    if arr.ndim == 0:
        raise ValueError("x must be an array with at least one axis, got a scalar")
    if arr.size == 0:
        raise ValueError(f"x is empty (shape={arr.shape}); there is nothing to measure")
    bad = arr.size - int(np.count_nonzero(np.isfinite(arr)))
    if bad:
        raise ValueError(
            f"x contains {bad} NaN or Inf value(s) of {arr.size}; rate-distortion needs finite data "
            "(drop or replace them first)"
        )
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def _check_entropy(entropy: str | None) -> str | None:
    return None if entropy is None else Codec(entropy=entropy).entropy


def _codec_for(obj: Any, entropy: str | None) -> Codec:
    if isinstance(obj, Codec):
        codec = copy.copy(obj)
        if entropy is not None:
            codec.entropy = entropy
        return codec
    if isinstance(obj, Quantizer):
        return Codec(obj, entropy=entropy or "rans")
    raise TypeError(f"expected a quantsig Quantizer or Codec, got {type(obj).__name__}")


def _measure(
    arr: np.ndarray, obj: Any, label: str | None, param: Any, entropy: str | None, fit_s: float
) -> dict[str, Any]:
    codec = _codec_for(obj, entropy)
    x_in = codec.scale_down(arr) if isinstance(codec, _ScaledCodec) else arr
    t0 = time.perf_counter()
    q = codec._quantizer_for(x_in)  # the codec's quantizer; a copy fitted on the data if it must learn
    fit_s += time.perf_counter() - t0
    codec.quantizer = q
    t0 = time.perf_counter()
    blob = codec.compress(arr)
    encode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    y = codec.decompress(blob)
    decode_s = time.perf_counter() - t0

    codes = q.encode(x_in)
    expected = q.decode(codes, dtype=x_in.dtype)
    if isinstance(codec, _ScaledCodec):
        expected = codec.scale_up(expected)
    if y.shape != arr.shape or y.dtype != arr.dtype or not np.array_equal(y, expected.reshape(arr.shape)):
        raise RuntimeError(
            f"the data decoded from the file differ from {q!r}.quantize(x): a bug in quantsig, please report it"
        )
    n = int(arr.size)
    peak = float(np.max(np.abs(arr)))
    if label is None:
        label = q.codec_id
    return {
        "quantizer": str(label),
        "param": param.item() if isinstance(param, np.generic) else param,
        "n_samples": n,
        "n_bytes": len(blob),
        "rate": metrics.bits_per_sample(blob, n),
        "entropy": metrics.code_entropy(codes) / q.dim,
        "mse": metrics.mse(arr, y),
        "rmse": metrics.rmse(arr, y),
        "snr_db": metrics.snr_db(arr, y),
        "psnr_db": metrics.psnr_db(arr, y) if peak > 0 else float("nan"),
        "max_abs_error": metrics.max_abs_error(arr, y),
        "fit_s": fit_s,
        "encode_s": encode_s,
        "decode_s": decode_s,
    }


def rd_point(
    x: Any,
    quantizer_or_codec: Quantizer | Codec,
    *,
    label: str | None = None,
    param: Any = None,
    entropy: str | None = None,
) -> dict[str, Any]:
    """Measure one quantizer (or codec) on ``x``: one row of ``COLUMNS``.

    A quantizer that must learn and is not fitted is fitted on ``x`` (a copy; the argument is
    left as it was), exactly as ``Codec.compress`` does. ``x`` is compressed into a
    complete ``.qsg`` file in memory, decoded, and the decoded data must equal
    ``quantize(x)``; the metrics compare ``x`` with the decoded data.

    Parameters
    ----------
    x : array_like
        float32/float64 data (integers are converted to float64), any shape, finite.
    quantizer_or_codec : Quantizer or Codec
        What to measure. A ``Codec`` keeps its own frame size and entropy
        coder (unless ``entropy`` is given).
    label : str, optional
        The ``quantizer`` column (default: the quantizer's config id).
    param : optional
        The ``param`` column.
    entropy : {"rans", "raw"}, optional
        The entropy coder; default ``"rans"`` for a bare quantizer, the codec's own for a codec.

    Returns
    -------
    dict
        Column -> value, in ``COLUMNS`` order.

    Raises
    ------
    ValueError
        Empty data, NaN or Inf in ``x``, or data the quantizer cannot code.

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> x = np.random.default_rng(0).standard_normal(10_000)
    >>> row = rd_point(x, quantsig.LloydMaxQuantizer(4))
    >>> row["quantizer"], row["n_samples"], round(row["mse"], 3), round(row["entropy"], 3)
    ('lloyd-max', 10000, 0.117, 1.912)
    >>> row["rate"] == 8 * row["n_bytes"] / 10_000
    True
    """
    arr = _as_data(x)
    return _measure(arr, quantizer_or_codec, label, param, _check_entropy(entropy), 0.0)


# ---------------------------------------------------------------------------- sweeps

_Task = tuple[str, Callable[[Any], Any], Any]


def _values(values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"values must be a sequence of parameter values, got {values!r}")
    vals = [v.item() if isinstance(v, np.generic) else v for v in values]
    if not vals:
        raise ValueError("values is empty: give at least one parameter value to sweep")
    return vals


def _tasks(arr: np.ndarray, factory: Any, values: list[Any], label: str | None) -> list[_Task]:
    """(label, build, value) per value; preset names and their rates are checked here, before
    anything runs."""
    if isinstance(factory, str):
        name = factory
        for v in values:
            check_preset(name, v)

        def build(v: Any) -> Any:
            return quantizer_for(name, v, arr)

        return [(label or name, build, v) for v in values]
    if callable(factory):
        default = getattr(factory, "__name__", type(factory).__name__)
        return [(label or default, factory, v) for v in values]
    raise TypeError(
        f"factory must be a preset name or a callable value -> Quantizer | Codec, got {type(factory).__name__}"
    )


def _check_jobs(n_jobs: Any) -> int:
    n = check_int(n_jobs, "n_jobs")
    if n == -1:
        return os.cpu_count() or 1
    if n < 1:
        raise ValueError(f"n_jobs={n} should be >= 1 (or -1 for one per core)")
    return n


def _run(arr: np.ndarray, tasks: list[_Task], entropy: str | None, n_jobs: Any, progress: Any) -> RDResult:
    entropy = _check_entropy(entropy)
    jobs = min(_check_jobs(n_jobs), len(tasks))

    def one(task: _Task) -> dict[str, Any]:
        label, build, value = task
        t0 = time.perf_counter()
        obj = build(value)
        return _measure(arr, obj, label, value, entropy, time.perf_counter() - t0)

    rows: list[dict[str, Any]] = []
    bar = make_progress(progress, len(tasks), "rd", unit="points")
    advance = bar.update if bar is not None else (lambda n: None)
    try:
        if jobs == 1:
            for task in tasks:
                rows.append(one(task))
                advance(1)
        else:
            done: dict[int, dict[str, Any]] = {}
            with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="quantsig-rd") as pool:
                futures: dict[Future[dict[str, Any]], int] = {pool.submit(one, t): i for i, t in enumerate(tasks)}
                try:
                    for fut in as_completed(futures):
                        done[futures[fut]] = fut.result()
                        advance(1)
                except BaseException:
                    for fut in futures:
                        fut.cancel()
                    raise
            rows = [done[i] for i in range(len(tasks))]
    finally:
        if bar is not None and progress is True:
            bar.close()
    return RDResult(rows)


def rd_curve(
    x: Any,
    factory: Factory,
    values: Iterable[Any],
    *,
    label: str | None = None,
    entropy: str | None = None,
    n_jobs: int = 1,
    progress: Any = False,
) -> RDResult:
    """Sweep ``values``: one ``rd_point`` per value, in the order of ``values``.

    Parameters
    ----------
    x : array_like
        The data (see ``rd_point``).
    factory : str or callable
        A preset name (``quantizer_for``; ``values`` are then bits per sample, all checked
        before anything runs), or a callable ``value -> Quantizer | Codec``. Its time counts
        in ``fit_s``.
    values : iterable
        The parameter values (the ``param`` column). Must not be empty.
    label : str, optional
        The ``quantizer`` column (default: the preset name or the callable's ``__name__``).
    entropy : {"rans", "raw"}, optional
        As for ``rd_point``.
    n_jobs : int
        Points measured at once, in threads (quantsig's Numba kernels release the GIL); ``-1``
        means one per core. The rows come back in the order of ``values`` whatever the order
        of completion; only the timing columns depend on ``n_jobs``.
    progress : bool or Progress
        ``True`` draws a ``Progress`` bar on stderr (when it is a
        terminal); a bar (or anything with ``update(n)``) advances by one per finished point.

    Returns
    -------
    RDResult

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> x = np.random.default_rng(0).standard_normal(20_000)
    >>> res = rd_curve(x, lambda s: quantsig.UniformQuantizer(step=s), [1.0, 0.5, 0.25], label="uniform")
    >>> res["param"], res["entropy"].round(2)
    (array([1.  , 0.5 , 0.25]), array([2.1 , 3.06, 4.04]))
    >>> bool(np.all(np.diff(res["mse"]) < 0))
    True
    """
    arr = _as_data(x)
    return _run(arr, _tasks(arr, factory, _values(values), label), entropy, n_jobs, progress)


def compare(
    x: Any,
    quantizers: Mapping[str, Factory] | Sequence[Factory],
    values: Iterable[Any] | None = None,
    *,
    entropy: str | None = None,
    n_jobs: int = 1,
    progress: Any = False,
) -> RDResult:
    """Several ``rd_curve`` sweeps over the same ``values``, as one table.

    Parameters
    ----------
    x : array_like
        The data.
    quantizers : dict or sequence
        ``{label: preset name or factory}``, or a list of preset names (each its own label).
    values : iterable, optional
        Default: bits 1 to 8.
    entropy : str, optional
        As for ``rd_curve``.
    n_jobs : int
        As for ``rd_curve``; the points of every sweep share the threads.
    progress : bool or Progress
        As for ``rd_curve``; the points of every sweep share one bar.

    Returns
    -------
    RDResult
        Rows grouped by quantizer (in the given order), then in the order of ``values``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal(20_000)
    >>> res = compare(x, {"scalar": "lloyd-max", "pairs": "kmeans:2"}, values=[2])
    >>> res.labels(), bool(res["mse"][1] < res["mse"][0])    # VQ of pairs beats scalar
    (['scalar', 'pairs'], True)
    """
    arr = _as_data(x)
    if isinstance(quantizers, str):
        quantizers = [quantizers]
    if isinstance(quantizers, Mapping):
        items = [(str(k), v) for k, v in quantizers.items()]
    else:
        items = []
        for f in quantizers:
            if not isinstance(f, str):
                raise TypeError(f"a list of quantizers holds preset names; give a dict label -> factory for {f!r}")
            items.append((f, f))
    if not items:
        raise ValueError("quantizers is empty: name at least one preset or factory")
    labels = [lab for lab, _ in items]
    if len(set(labels)) != len(labels):
        raise ValueError(f"quantizer labels must be unique, got {labels}")
    vals = _values(range(1, 9) if values is None else values)
    tasks = [t for lab, f in items for t in _tasks(arr, f, vals, lab)]
    return _run(arr, tasks, entropy, n_jobs, progress)


# ---------------------------------------------------------------------------- theory


def gap_to_gaussian_bound(result: RDResult, variance: float, *, rate: str = "rate") -> np.ndarray:
    """Per row, ``rate - R(D)`` with ``R(D) = max(0, 1/2 log2(variance / mse))`` the Gaussian
    rate-distortion function (``quantsig.theory.gaussian_rate``).

    For Gaussian data of that variance this is the distance to Shannon's bound (never
    negative for a real coder; entropy-coded uniform quantization approaches 0.2546 bit at
    high rate). For other data it is the distance to the Gaussian curve of the same variance,
    an upper bound on their ``R(D)``. Rows with ``mse == 0`` (lossless) give NaN.

    Parameters
    ----------
    result : RDResult
    variance : float
        The variance of the source (e.g. ``np.var(x)``).
    rate : str
        The rate column: ``"rate"`` (bytes written) or ``"entropy"``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal(1_000_000)
    >>> res = rd_curve(x, "uniform", [4, 6])
    >>> gap_to_gaussian_bound(res, variance=1.0).round(2)      # theory.ECSQ_GAP_BITS: 0.2546
    array([0.26, 0.26])
    """
    if not isinstance(result, RDResult):
        raise TypeError(f"result must be an RDResult, got {type(result).__name__}")
    if rate not in ("rate", "entropy"):
        raise ValueError(f"rate={rate!r} should be 'rate' or 'entropy'")
    r = result[rate]
    d = result["mse"]
    out = np.full(r.shape, np.nan)
    lossy = d > 0
    if lossy.any():
        out[lossy] = r[lossy] - np.asarray(gaussian_rate(d[lossy], variance))
    return out
