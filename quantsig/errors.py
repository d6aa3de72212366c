"""The quantsig exception hierarchy.

Every exception quantsig raises on purpose derives from ``QuantsigError``, and each
subclass also derives from the builtin exception a caller would expect, so code written as
``except ValueError`` keeps working (the pattern python-soundfile uses).
"""

from __future__ import annotations

__all__ = [
    "QuantsigError",
    "NotFittedError",
    "CorruptFileError",
    "OutOfRangeError",
    "CodeRangeError",
    "ConvergenceWarning",
    "TrainingSizeWarning",
]


class QuantsigError(Exception):
    """Base class of every error quantsig raises on purpose.

    Examples
    --------
    One ``except`` clause catches every quantsig error, whatever its kind:

    >>> import numpy as np, quantsig
    >>> for bad in (lambda: quantsig.decompress(b"junk"), lambda: quantsig.MuLawQuantizer().encode([2.0])):
    ...     try:
    ...         bad()
    ...     except quantsig.QuantsigError as e:
    ...         print(type(e).__name__)
    CorruptFileError
    OutOfRangeError
    """


class NotFittedError(QuantsigError, ValueError, AttributeError):
    """A quantizer that learns from data was used before ``fit``.

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> try:
    ...     quantsig.LloydMaxQuantizer(4).encode(np.zeros(3))
    ... except quantsig.NotFittedError as e:
    ...     print(type(e).__name__)
    NotFittedError
    """


class CorruptFileError(QuantsigError, ValueError):
    """A file or byte string is not a valid quantsig stream (truncated, forged, bit-flipped).

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> quantsig.decompress(b"junk")
    Traceback (most recent call last):
        ...
    quantsig.errors.CorruptFileError: corrupt quantsig file: not a quantsig file (bad magic bytes)

    Every frame carries a checksum, so a flipped bit is found, not decoded into wrong values:

    >>> blob = bytearray(quantsig.compress(np.linspace(-1, 1, 1000), quantsig.UniformQuantizer(step=0.01)))
    >>> blob[-60] ^= 1
    >>> try:
    ...     quantsig.decompress(bytes(blob))
    ... except ValueError as e:  # CorruptFileError is also a ValueError
    ...     print(type(e).__name__, "fails its checksum" in str(e))
    CorruptFileError True
    """


class OutOfRangeError(QuantsigError, ValueError):
    """Input lies outside a bounded quantizer's range and clipping was not asked for.

    Examples
    --------
    The companding laws take input in ``[-1, 1]``:

    >>> import numpy as np, quantsig
    >>> quantsig.MuLawQuantizer(bits=8).encode(np.array([0.5, 1.5]))
    Traceback (most recent call last):
        ...
    quantsig.errors.OutOfRangeError: 1 sample(s) of x lie outside [lo, hi] = [-1.0, 1.0] (x ranges over [0.5, 1.5]); scale the input or pass clip=True
    >>> quantsig.MuLawQuantizer(bits=8, clip=True).encode(np.array([0.5, 1.5]))
    array([240, 255], dtype=uint8)
    """


class CodeRangeError(QuantsigError, ValueError):
    """Codes handed to ``decode`` are outside ``[0, n_levels)`` (or the quantizer's code range).

    Examples
    --------
    An 8-bit quantizer has the codes 0 to 255:

    >>> import numpy as np, quantsig
    >>> quantsig.MuLawQuantizer(bits=8).decode(np.array([3, 256]))
    Traceback (most recent call last):
        ...
    quantsig.errors.CodeRangeError: 1 code(s) outside [0, 255] (e.g. 256)
    """


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped at its iteration limit before it converged.

    Examples
    --------
    A Lloyd-Max fit allowed a single plain Lloyd iteration stops short of its fixed point:

    >>> import warnings, numpy as np, quantsig
    >>> x = np.random.default_rng(0).standard_normal(1000)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     q = quantsig.LloydMaxQuantizer(8, max_iter=1).fit(x)
    >>> [w.category.__name__ for w in caught]
    ['ConvergenceWarning']
    >>> q.is_fitted()  # usable, only not exactly optimal
    True
    """


class TrainingSizeWarning(UserWarning):
    """A learned quantizer was fitted on fewer samples than its rule of thumb asks for.

    Examples
    --------
    k-means wants at least 39 training vectors per codeword; 100 samples for 4 codewords are
    too few:

    >>> import warnings, numpy as np, quantsig
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     q = quantsig.KMeansVectorQuantizer(4, random_state=0).fit(np.linspace(-1, 1, 100))
    >>> [w.category.__name__ for w in caught]
    ['TrainingSizeWarning']
    >>> "at least 39 training vectors per codeword" in str(caught[0].message)
    True
    """
