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
    """Base class of every error quantsig raises on purpose."""


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
    """A file or byte string is not a valid quantsig stream (truncated, forged, bit-flipped)."""


class OutOfRangeError(QuantsigError, ValueError):
    """Input lies outside a bounded quantizer's range and clipping was not asked for."""


class CodeRangeError(QuantsigError, ValueError):
    """Codes handed to ``decode`` are outside ``[0, n_levels)`` (or the quantizer's code range)."""


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped at its iteration limit before it converged."""


class TrainingSizeWarning(UserWarning):
    """A learned quantizer was fitted on fewer samples than its rule of thumb asks for."""
