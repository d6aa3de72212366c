"""Continuous companding quantizers: a uniform quantizer in a compressed domain.

A companding law ``y = C(x)`` maps ``[-1, 1]`` onto itself; a uniform quantizer with
``2**bits`` levels acts on ``y``; ``x_hat = C^-1(y_hat)``. Rather than evaluating ``C`` per
sample, the decision thresholds are mapped once to the linear domain, so encoding is an exact
threshold search (no ``log`` in the hot loop) and decoding a table lookup.
"""

from __future__ import annotations

import abc

import numpy as np

from .._validation import check_choice, check_int
from .threshold import ThresholdQuantizer

__all__ = ["CompandingQuantizer"]


class CompandingQuantizer(ThresholdQuantizer):
    """Base of the continuous mu-law and A-law quantizers.

    ``mode="midrise"`` (default) quantizes ``y`` with cells of width ``2/L`` tiling
    ``[-1, 1]``: levels are symmetric, there is no zero level, and ``x = 0`` encodes to the
    smallest positive level (code ``L/2``), as in G.711. ``mode="midtread"`` uses
    ``code = floor((y + 1) / 2 * (L - 1) + 1/2)`` with levels ``y = -1 + 2 i / (L - 1)``,
    the convention of WaveNet-style ``mu_law_encoding`` (e.g. torchaudio with
    ``quantization_channels = 2**bits``); both ends are levels.

    Examples
    --------
    A 3-bit mu-law quantizer: a uniform quantizer on ``compress(x)``, so its eight levels
    crowd near zero, where speech spends most of its time.

    >>> import numpy as np, quantsig
    >>> from quantsig.quantizers import CompandingQuantizer
    >>> q = quantsig.MuLawQuantizer(bits=3)
    >>> isinstance(q, CompandingQuantizer), q.bits, q.n_levels
    (True, 3, 8)
    >>> q.reconstruction_levels.round(4)
    array([-0.498 , -0.1216, -0.0275, -0.0039,  0.0039,  0.0275,  0.1216,
            0.498 ])
    >>> q.compress(np.array([0.0, 0.1, 0.5, 1.0])).round(4)
    array([0.    , 0.591 , 0.8757, 1.    ])
    >>> float(q.expand(q.compress(np.array([0.1])))[0].round(12))
    0.1

    Midrise (the default) has no zero level: 0 encodes to the smallest positive one, code
    ``L/2``. Midtread puts levels on both ends of ``[-1, 1]``.

    >>> q.encode(np.array([0.0, 1.0, -1.0]))
    array([4, 7, 0], dtype=uint8)
    >>> quantsig.MuLawQuantizer(bits=3, mode="midtread").reconstruction_levels[[0, -1]]
    array([-1.,  1.])
    """

    def __init__(self, bits: int = 8, mode: str = "midrise", clip: bool = False) -> None:
        self._bits = check_int(bits, "bits", low=1, high=16)
        self.mode = check_choice(mode, "mode", ("midrise", "midtread"))
        if not isinstance(clip, (bool, np.bool_)):
            raise TypeError(f"clip must be True or False, got {clip!r}")
        self.clip = bool(clip)
        self.n_clipped_ = 0

    @property
    def bits(self) -> int:  # type: ignore[override]
        """Bits per code."""
        return self._bits

    @abc.abstractmethod
    def compress(self, x: np.ndarray) -> np.ndarray:
        """The companding law ``y = C(x)`` (float64, odd, maps ``[-1, 1]`` onto itself)."""

    @abc.abstractmethod
    def expand(self, y: np.ndarray) -> np.ndarray:
        """The inverse law ``x = C^-1(y)``."""

    def _input_range(self) -> tuple[float, float]:
        return -1.0, 1.0

    def _tables(self) -> tuple[np.ndarray, np.ndarray]:
        cached = self.__dict__.get("_table_cache")
        if cached is not None:
            return cached
        L = 2**self._bits
        if self.mode == "midrise":
            y_t = -1.0 + 2.0 * np.arange(1, L) / L
            y_l = -1.0 + (2.0 * np.arange(L) + 1.0) / L
        else:
            y_t = -1.0 + (2.0 * np.arange(L - 1) + 1.0) / (L - 1)
            y_l = -1.0 + 2.0 * np.arange(L) / (L - 1)
        thresholds = _odd(self.expand(np.abs(y_t)), y_t)
        levels = _odd(self.expand(np.abs(y_l)), y_l)
        thresholds.setflags(write=False)
        levels.setflags(write=False)
        self.__dict__["_table_cache"] = (thresholds, levels)
        return thresholds, levels


def _odd(magnitude: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Apply the sign of ``y``, mirroring so the table is exactly antisymmetric."""
    out = np.where(y < 0, -magnitude, magnitude)
    out[y == 0] = 0.0
    n = out.size
    half = n // 2
    out[:half] = -out[::-1][:half]
    return np.ascontiguousarray(out, dtype=np.float64)
