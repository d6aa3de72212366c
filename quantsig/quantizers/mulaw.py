"""The continuous mu-law companding quantizer (any ``mu``, any ``bits``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_real
from ..registry import register_quantizer
from .base import Quantizer
from .companding import CompandingQuantizer

__all__ = ["MuLawQuantizer"]


@register_quantizer
class MuLawQuantizer(CompandingQuantizer):
    """Continuous mu-law quantizer: ``y = sign(x) ln(1 + mu|x|) / ln(1 + mu)`` on ``[-1, 1]``.

    This is the smooth law, not the 8-bit segmented G.711 code (see
    ``G711Quantizer``). ``y`` is quantized uniformly with ``2**bits`` levels
    (``mode`` as in ``CompandingQuantizer``) and decoded
    to ``x_hat = sign(y) ((1 + mu)**|y| - 1) / mu``. Decisions are exact comparisons with the
    thresholds mapped to the linear domain in float64 (cells closed on the left). Codes are
    uint8 up to 8 bits, uint16 above.

    Parameters
    ----------
    bits : int
        Bits per code, 1 to 16.
    mu : float
        Compression parameter, ``mu > 0`` (255 in North American telephony).
    mode : {"midrise", "midtread"}
        Uniform quantizer in the compressed domain.
    clip : bool
        Clip input outside ``[-1, 1]`` instead of raising ``OutOfRangeError``.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig import MuLawQuantizer
    >>> q = MuLawQuantizer(bits=8, mu=255)
    >>> q.encode(np.array([-1.0, -0.01, 0.0, 0.01, 1.0]))
    array([  0,  98, 128, 157, 255], dtype=uint8)
    >>> float(q.decode(np.array([157]))[0].round(6))
    0.010155
    """

    codec_id = "mu-law"

    def __init__(self, bits: int = 8, mu: float = 255.0, mode: str = "midrise", clip: bool = False) -> None:
        super().__init__(bits=bits, mode=mode, clip=clip)
        self.mu = check_real(mu, "mu", low=0.0, low_open=True)

    def compress(self, x: np.ndarray) -> np.ndarray:
        """``sign(x) log1p(mu |x|) / log1p(mu)``."""
        x = np.asarray(x, dtype=np.float64)
        return np.sign(x) * np.log1p(self.mu * np.abs(x)) / np.log1p(self.mu)

    def expand(self, y: np.ndarray) -> np.ndarray:
        """``sign(y) expm1(|y| log1p(mu)) / mu``."""
        y = np.asarray(y, dtype=np.float64)
        return np.sign(y) * np.expm1(np.abs(y) * np.log1p(self.mu)) / self.mu

    @classmethod
    def _conformance_bad_params(cls) -> list[dict[str, Any]]:
        return [{"bits": 0}, {"bits": 17}, {"mu": 0.0}, {"mu": -5.0}, {"mode": "x"}, {"clip": 1}]

    @classmethod
    def _conformance_instances(cls) -> list[Quantizer]:
        return [cls(), cls(bits=4, mu=100.0), cls(bits=8, mode="midtread"), cls(bits=12, clip=True)]
