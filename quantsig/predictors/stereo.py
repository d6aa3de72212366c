"""Lossless inter-channel decorrelation of stereo integer PCM (left/side, right/side, mid/side).

``mid = (L + R) >> 1`` drops one bit, which ``side = L - R`` keeps: ``L + R`` and ``side``
have the same parity, so ``L + R = (mid << 1) | (side & 1)``, ``L = (L + R + side) >> 1`` and
``R = (L + R - side) >> 1`` (FLAC's identity). The encoder prices all four representations
per block and codes the cheapest pair (see ``stream.encode_frame``); the decoder rebuilds L
and R in ``quantsig.kernels.lpc.decode_int_frame``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STEREO_MODES", "to_stereo"]

#: mode -> the two representations coded: indices into (L, R, M, S)
STEREO_MODES = ((0, 1), (0, 3), (1, 3), (2, 3))


def to_stereo(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The four representations ``(L, R, M, S)`` as rows of an int64 array.

    ``M = (L + R) >> 1`` (mid) and ``S = L - R`` (side); ``STEREO_MODES`` lists the pairs
    of rows a stream may code.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.predictors import to_stereo
    >>> left = np.array([10, -4, 7], dtype=np.int16)
    >>> right = np.array([8, -5, 7], dtype=np.int16)
    >>> L, R, M, S = to_stereo(left, right)
    >>> M, S
    (array([ 9, -5,  7]), array([2, 1, 0]))

    Mid and side alone give back both channels exactly (``L + R`` has the parity of ``S``):

    >>> total = (M << 1) | (S & 1)
    >>> np.array_equal((total + S) >> 1, left), np.array_equal((total - S) >> 1, right)
    (True, True)
    """
    L = left.astype(np.int64)
    R = right.astype(np.int64)
    return np.stack([L, R, (L + R) >> 1, L - R])
