"""G.711 kernels: byte-table lookups over plain, C-contiguous 1-D arrays.

The G.711 maths lives in ``quantsig.quantizers.g711``, which builds the tables once with
vectorised NumPy; these kernels only gather from them. Both check, before the loop, that the
table covers every index the loop can form and that ``out`` matches the input length, so no
input *value* can make them read or write out of bounds.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["g711_encode", "g711_decode"]


@jit
def g711_encode(pcm_bits: np.ndarray, table: np.ndarray, shift: int, out: np.ndarray) -> None:
    """Write ``out[i] = table[pcm_bits[i] >> shift]``.

    Parameters
    ----------
    pcm_bits : ndarray of uint16, 1-D, C-contiguous
        int16 PCM viewed as uint16 (the two's-complement bit pattern), so it indexes the table
        without masking.
    table : ndarray of uint8, 1-D
        Code for each ``pcm_bits >> shift``; at least ``65536 >> shift`` entries.
    shift : int
        0 <= shift <= 15: low bits of the sample that never change the code (2 for mu-law,
        4 for A-law), which shrinks the table to fit the L1 cache.
    out : ndarray of uint8, 1-D, same length as ``pcm_bits``
        Receives the codes.
    """
    n = pcm_bits.shape[0]
    if shift < 0 or shift > 15 or table.shape[0] < (65536 >> shift) or out.shape[0] != n:
        raise ValueError("g711_encode: table, shift and out do not match")
    for i in range(n):
        out[i] = table[pcm_bits[i] >> shift]


@jit
def g711_decode(codes: np.ndarray, table: np.ndarray, out: np.ndarray) -> int:
    """Write ``out[i] = table[codes[i]]`` and return how many codes lie outside [0, 255].

    Parameters
    ----------
    codes : ndarray of any integer dtype, 1-D, C-contiguous
        G.711 codes. For uint8 the range test below compiles away.
    table : ndarray of int16, 1-D, at least 256 entries
        Reconstruction value of each code.
    out : ndarray of int16, 1-D, same length as ``codes``
        Receives the samples; 0 where the code is out of range.

    Returns
    -------
    int
        Number of out-of-range codes (the caller raises when it is positive).
    """
    n = codes.shape[0]
    if table.shape[0] < 256 or out.shape[0] != n:
        raise ValueError("g711_decode: table and out do not match")
    bad = 0
    for i in range(n):
        c = codes[i]
        if c < 0 or c > 255:
            out[i] = 0
            bad += 1
        else:
            out[i] = table[c]
    return bad
