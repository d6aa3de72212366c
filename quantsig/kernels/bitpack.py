"""Fixed-rate bit packing: ``bits`` (1..32) per value, least-significant bit first.

Value ``i`` occupies stream bits ``[i * bits, (i + 1) * bits)``, its lowest bit first; stream
bit ``j`` is bit ``j % 8`` of byte ``j // 8``. The unused high bits of the last byte are zero.
So ``bits=8`` is the values as bytes, and value ``i`` can be read without touching the others.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["pack_bits", "unpack_bits"]


@jit
def pack_bits(values, bits, out):
    """Pack ``values`` into ``out`` (uint8, ``ceil(n * bits / 8)`` bytes).

    Returns how many values lie outside ``[0, 2**bits)`` (they are written masked; the
    caller raises).
    """
    top = np.int64(1) << bits
    mask = top - 1
    nbytes = out.size
    n_bad = 0
    acc = np.int64(0)
    nacc = 0
    pos = 0
    for i in range(values.size):
        v = np.int64(values[i])
        n_bad += (v < 0) | (v >= top)
        acc |= (v & mask) << nacc
        nacc += bits
        while nacc >= 8:
            if pos < nbytes:
                out[pos] = acc & 0xFF
            pos += 1
            acc >>= 8
            nacc -= 8
    if nacc > 0 and pos < nbytes:
        out[pos] = acc & 0xFF
    return n_bad


@jit
def unpack_bits(buf, bits, out):
    """Unpack ``out.size`` values of ``bits`` bits from ``buf`` (uint8) into ``out``.

    Returns the number of bytes read; a value past the end of ``buf`` reads zero bits and
    makes the result exceed ``buf.size`` (the caller checks the length first, so that is
    only a safety net).
    """
    mask = (np.int64(1) << bits) - 1
    nbytes = buf.size
    acc = np.int64(0)
    nacc = 0
    pos = 0
    for i in range(out.size):
        while nacc < bits:
            if pos < nbytes:
                acc |= np.int64(buf[pos]) << nacc
            pos += 1
            nacc += 8
        out[i] = acc & mask
        acc >>= bits
        nacc -= bits
    return pos
