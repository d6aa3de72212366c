"""The continuous A-law companding quantizer (any ``A``, any ``bits``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_real
from ..registry import register_quantizer
from .base import Quantizer
from .companding import CompandingQuantizer

__all__ = ["ALawQuantizer"]


@register_quantizer
class ALawQuantizer(CompandingQuantizer):
    """Continuous A-law quantizer on ``[-1, 1]``.

    ``y = sign(x) A|x| / (1 + ln A)`` for ``|x| < 1/A`` and
    ``y = sign(x) (1 + ln(A|x|)) / (1 + ln A)`` above; ``y`` is quantized uniformly with
    ``2**bits`` levels and decoded through the inverse law. This is the smooth law, not the
    8-bit segmented G.711 code (see ``G711Quantizer``). Decisions are exact
    comparisons with thresholds mapped to the linear domain in float64.

    Parameters
    ----------
    bits : int
        Bits per code, 1 to 16.
    A : float
        Compression parameter, ``A >= 1`` (87.6 in European telephony; 1 is linear).
    mode : {"midrise", "midtread"}
        Uniform quantizer in the compressed domain.
    clip : bool
        Clip input outside ``[-1, 1]`` instead of raising ``OutOfRangeError``.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig import ALawQuantizer
    >>> q = ALawQuantizer(bits=8)
    >>> q.encode(np.array([-1.0, 0.0, 0.5, 1.0]))
    array([  0, 128, 239, 255], dtype=uint8)
    """

    codec_id = "a-law"

    def __init__(self, bits: int = 8, A: float = 87.6, mode: str = "midrise", clip: bool = False) -> None:
        super().__init__(bits=bits, mode=mode, clip=clip)
        self.A = check_real(A, "A", low=1.0)

    def compress(self, x: np.ndarray) -> np.ndarray:
        """The A-law ``y = C(x)``."""
        x = np.asarray(x, dtype=np.float64)
        a = np.abs(x)
        k = 1.0 + np.log(self.A)
        small = a < 1.0 / self.A
        with np.errstate(divide="ignore"):
            big = (1.0 + np.log(np.where(small, 1.0, self.A * a))) / k
        return np.sign(x) * np.where(small, self.A * a / k, big)

    def expand(self, y: np.ndarray) -> np.ndarray:
        """The inverse A-law ``x = C^-1(y)``."""
        y = np.asarray(y, dtype=np.float64)
        b = np.abs(y)
        k = 1.0 + np.log(self.A)
        small = b < 1.0 / k
        return np.sign(y) * np.where(small, b * k / self.A, np.exp(b * k - 1.0) / self.A)

    @classmethod
    def _conformance_bad_params(cls) -> list[dict[str, Any]]:
        return [{"bits": 0}, {"bits": 17}, {"A": 0.5}, {"A": float("inf")}, {"mode": "x"}]

    @classmethod
    def _conformance_instances(cls) -> list[Quantizer]:
        return [cls(), cls(bits=5, A=1.0), cls(bits=10, mode="midtread", clip=True)]
