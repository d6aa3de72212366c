"""Lossless inter-channel decorrelation of stereo integer PCM (left/side, right/side, mid/side).

``mid = (L + R) >> 1`` and ``side = L - R`` are exact: ``L + R`` and ``side`` have the same
parity, so ``L = mid + ((side + (side & 1)) >> 1)``... written below as the FLAC identity
``sum = (mid << 1) | (side & 1)``, ``L = (sum + side) >> 1``, ``R = (sum - side) >> 1``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STEREO_MODES", "to_stereo", "from_stereo", "stereo_costs"]

#: mode -> the two representations coded: indices into (L, R, M, S)
STEREO_MODES = ((0, 1), (0, 3), (1, 3), (2, 3))


def to_stereo(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The four representations ``(L, R, M, S)`` as rows of an int64 array."""
    L = left.astype(np.int64)
    R = right.astype(np.int64)
    return np.stack([L, R, (L + R) >> 1, L - R])


def from_stereo(a: np.ndarray, b: np.ndarray, mode: int) -> tuple[np.ndarray, np.ndarray]:
    """``(L, R)`` from the two coded representations of ``mode``."""
    if mode == 0:
        return a, b
    if mode == 1:  # L, S
        return a, a - b
    if mode == 2:  # R, S
        return a + b, a
    total = (a << 1) | (b & 1)  # M, S
    return (total + b) >> 1, (total - b) >> 1


def stereo_costs(reps: np.ndarray, start: int, end: int) -> np.ndarray:
    """Rough cost (log of the 2nd-order difference energy) of coding each representation."""
    lo = max(start - 2, 0)
    seg = reps[:, lo:end].astype(np.float64)
    if seg.shape[1] < 3:
        return np.zeros(4)
    d2 = seg[:, 2:] - 2 * seg[:, 1:-1] + seg[:, :-2]
    return 0.5 * np.log2(np.mean(d2 * d2, axis=1) + 1.0)
