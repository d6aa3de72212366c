"""Static frequency models for the rANS coder, and their serialization.

A model is an integer table ``freqs`` over symbols ``0 .. A-1`` that sums to ``2**precision``
(``precision`` 1..16). It is built from symbol counts by ``FrequencyTable.from_counts``,
which keeps every present symbol non-zero and chooses the integers that minimize the coded
size ``-sum(counts * log2(freqs / 2**precision))`` exactly (not by rounding), and
``FrequencyTable.fit`` also chooses the precision that minimizes the payload *plus* the
serialized table. The decoder reads the exact integers back with
``FrequencyTable.from_bytes``; nothing is ever recomputed from floats on that side.

The serialized form (``docs/entropy.md``) is a bit stream of adaptive Rice codes of the
differences between consecutive non-zero frequencies, with run lengths for zeros; the last
frequency is implied by the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ..kernels import rans as _k

__all__ = ["MAX_PRECISION", "MAX_ALPHABET", "FrequencyTable", "order0_entropy", "symbol_counts"]

#: Largest model precision: frequencies sum to at most ``2**16``.
MAX_PRECISION = _k.MAX_PRECISION
#: Largest alphabet (symbols ``0 .. 65535``).
MAX_ALPHABET = 1 << MAX_PRECISION

_TABLE_STATUS = {
    _k.ERR_TRUNCATED: "the frequency table ends early",
    _k.ERR_VALUE: "the frequency table holds an invalid frequency, zero run or total",
    _k.ERR_TRAILING: "the frequency table has unused bytes or non-zero padding bits",
}


def _ceil_log2(v: int) -> int:
    return max(int(v - 1).bit_length(), 0)


@dataclass(frozen=True, eq=False)
class FrequencyTable:
    """An integer frequency table ``freqs`` (int64) summing to ``2**precision``.

    Attributes
    ----------
    freqs : ndarray of int64
        One frequency per symbol; zero for symbols that cannot occur.
    precision : int
        ``log2`` of the total, 1 to 16.

    Examples
    --------
    >>> import numpy as np
    >>> t = FrequencyTable.from_counts(np.array([90, 9, 1]), precision=8)
    >>> t.freqs.tolist(), t.total
    ([230, 23, 3], 256)
    >>> FrequencyTable.from_bytes(t.to_bytes(), 3, 8).freqs.tolist()
    [230, 23, 3]
    """

    freqs: np.ndarray
    precision: int

    @property
    def total(self) -> int:
        """``2**precision``."""
        return 1 << self.precision

    @property
    def alphabet_size(self) -> int:
        """Number of symbols (zero-frequency ones included)."""
        return int(self.freqs.size)

    def __repr__(self) -> str:
        return (
            f"FrequencyTable(alphabet_size={self.alphabet_size}, precision={self.precision}, "
            f"nonzero={int(np.count_nonzero(self.freqs))})"
        )

    # ------------------------------------------------------------------ building

    @classmethod
    def from_counts(cls, counts: Any, precision: int) -> FrequencyTable:
        """The table of total ``2**precision`` with the smallest coded size for ``counts``.

        Parameters
        ----------
        counts : array_like of int
            Non-negative symbol counts, at least one positive, at most ``2**precision``
            positive.
        precision : int
            1 to 16.
        """
        c = _as_counts(counts)
        nonzero = int(np.count_nonzero(c))
        if not 1 <= precision <= MAX_PRECISION:
            raise ValueError(f"precision={precision} should be in [1, {MAX_PRECISION}]")
        if nonzero == 0:
            raise ValueError("counts are all zero; a model needs at least one symbol")
        if nonzero > (1 << precision):
            raise ValueError(f"{nonzero} present symbols do not fit precision={precision} (total {1 << precision})")
        freqs = np.zeros(c.size, np.int64)
        _k.quantize_freqs(c, np.int64(precision), freqs)
        return cls(freqs, int(precision))

    @classmethod
    def fit(cls, counts: Any, *, min_precision: int = 1) -> FrequencyTable:
        """The table (precision included) minimizing payload bits plus serialized table bits.

        Precisions are tried from ``min(16, bit_length(n) + 1)`` (``n``: the total count)
        down while the total keeps improving (every one for alphabets of up to 256 symbols);
        among totals within 0.01 % of the best the smallest precision wins (a smaller decoding
        table is faster).

        Examples
        --------
        >>> import numpy as np
        >>> FrequencyTable.fit(np.array([3, 1])).freqs.tolist()
        [3, 1]
        """
        c = _as_counts(counts)
        nonzero = int(np.count_nonzero(c))
        if nonzero == 0:
            raise ValueError("counts are all zero; a model needs at least one symbol")
        if nonzero > MAX_ALPHABET:
            raise ValueError(f"{nonzero} present symbols exceed the largest alphabet ({MAX_ALPHABET})")
        low = max(_ceil_log2(nonzero), 1, int(min_precision))
        if low > MAX_PRECISION:
            raise ValueError(f"min_precision={min_precision} exceeds {MAX_PRECISION}")
        # totals above 2**(bit_length(n) + 1) gain almost nothing and cost table bits
        high = min(MAX_PRECISION, max(low, int(c.sum()).bit_length() + 1))
        patience = MAX_PRECISION if nonzero <= 256 else 2  # small alphabets: try every precision
        totals = np.full(MAX_PRECISION + 1, np.inf)
        _k.model_costs(
            c,
            np.int64(low),
            np.int64(high),
            np.int64(patience),
            totals,
            np.zeros(c.size, np.int64),
            np.empty(9 * c.size + 8, np.uint8),
        )
        best = totals.min()
        prec = int(np.flatnonzero(totals <= best * (1 + 1e-4))[0])
        return cls.from_counts(c, prec)

    # ------------------------------------------------------------------ costs

    def cost_bits(self, counts: Any) -> float:
        """Ideal payload size in bits of data with these ``counts`` under this model."""
        c = _as_counts(counts)
        if c.size != self.freqs.size:
            raise ValueError(f"counts has {c.size} symbols, the table {self.freqs.size}")
        present = c > 0
        if (self.freqs[present] == 0).any():
            return float("inf")
        f = self.freqs[present].astype(np.float64)
        return float(np.sum(c[present] * (self.precision - np.log2(f))))

    # ------------------------------------------------------------------ serialization

    def to_bytes(self) -> bytes:
        """The table as a compact bit stream (its length is not included)."""
        if self.freqs.size < 2:
            raise ValueError("a serialized table needs at least two symbols")
        # each coded value takes at most 20 + 18 bits, a zero run 33 bits more
        out = np.empty(self.freqs.size * 9 + 8, np.uint8)
        nbytes = _k.encode_table(self.freqs, np.int64(self.precision), out)
        return out[:nbytes].tobytes()

    @classmethod
    def from_bytes(cls, data: Any, alphabet_size: int, precision: int) -> FrequencyTable:
        """Read a table written by ``to_bytes`` (untrusted input).

        Raises
        ------
        CorruptFileError
            When the bytes do not hold exactly one valid table for this alphabet size and
            precision: ending early, unused bytes, a frequency out of range, a total other
            than ``2**precision`` or fewer than two non-zero frequencies.
        """
        if not 2 <= alphabet_size <= MAX_ALPHABET:
            raise CorruptFileError(f"alphabet size {alphabet_size} is outside [2, {MAX_ALPHABET}]")
        if not 1 <= precision <= MAX_PRECISION:
            raise CorruptFileError(f"model precision {precision} is outside [1, {MAX_PRECISION}]")
        buf = np.frombuffer(data, np.uint8)
        freqs = np.zeros(alphabet_size, np.int64)
        status = int(_k.decode_table(buf, np.int64(precision), freqs))
        if status:
            raise CorruptFileError(
                f"{_TABLE_STATUS.get(status, 'invalid frequency table')} "
                f"({buf.size} bytes, {alphabet_size} symbols, precision {precision})"
            )
        return cls(freqs, int(precision))

    # ------------------------------------------------------------------ coder tables

    def encoder_arrays(self, size: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(freq, cum, inv)`` for ``rans_encode``.

        ``inv`` is ``nextafter(1 / freq, inf)`` (0 where ``freq`` is 0). ``size`` pads the
        arrays with zero-frequency symbols.
        """
        size = self.freqs.size if size is None else size
        freq = np.zeros(size, np.int64)
        freq[: self.freqs.size] = self.freqs
        cum = np.zeros(size, np.int64)
        np.cumsum(freq[:-1], out=cum[1:])
        inv = np.zeros(size, np.float64)
        nz = freq > 0
        inv[nz] = np.nextafter(1.0 / freq[nz], np.inf)
        return freq, cum, inv

    def decoder_table(self) -> np.ndarray:
        """Slot table (``2**precision`` int64): ``symbol | freq << 16 | (slot - cum) << 32``."""
        f = self.freqs
        sym = np.repeat(np.arange(f.size, dtype=np.int64), f)
        cum = np.zeros(f.size, np.int64)
        np.cumsum(f[:-1], out=cum[1:])
        bias = np.arange(sym.size, dtype=np.int64) - cum[sym]
        return sym | (f[sym] << 16) | (bias << 32)


def _as_counts(counts: Any) -> np.ndarray:
    c = np.asarray(counts)
    if c.ndim != 1 or c.dtype.kind not in "iu":
        raise TypeError(f"counts must be a 1-D integer array, got dtype={c.dtype}, ndim={c.ndim}")
    c = np.ascontiguousarray(c, dtype=np.int64)
    if (c < 0).any():
        raise ValueError("counts must be non-negative")
    return c


def symbol_counts(values: Any) -> np.ndarray:
    """Counts of the distinct values of an integer array (their order is irrelevant).

    Parameters
    ----------
    values : array_like of int
        Any shape (flattened), any integer dtype.

    Returns
    -------
    ndarray of int64
        One positive count per distinct value (empty for an empty array); the values
        themselves are not returned.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.entropy.model import symbol_counts
    >>> symbol_counts(np.array([3, 1, 3, 3, -2, 1], dtype=np.int8))
    array([1, 2, 3])
    >>> symbol_counts(np.array([[10**12, 0], [10**12, 10**12]]))  # any range, any shape
    array([1, 3])
    """
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"values must be an integer array, got dtype={arr.dtype}")
    arr = arr.reshape(-1)
    if arr.size == 0:
        return np.zeros(0, np.int64)
    if arr.dtype.itemsize <= 2:
        info = np.iinfo(arr.dtype)
        counts = np.bincount((arr.astype(np.int64) - info.min), minlength=0)
        return counts[counts > 0].astype(np.int64)
    mn, mx = int(arr.min()), int(arr.max())
    if mx - mn < (1 << 24):
        counts = np.bincount(arr.astype(np.int64) - mn)
        return counts[counts > 0].astype(np.int64)
    return np.unique(arr, return_counts=True)[1].astype(np.int64)


def order0_entropy(values: Any) -> float:
    """Empirical order-0 entropy of an integer array, in bits per symbol.

    ``-sum(p * log2(p))`` over the relative frequencies ``p`` of its distinct values; 0.0 for
    an empty or constant array. This is the floor that ``encode_symbols``
    is measured against (its blocks also carry their model).

    Examples
    --------
    >>> import numpy as np
    >>> order0_entropy(np.array([0, 1, 2, 3], dtype=np.uint8))
    2.0
    >>> order0_entropy(np.array([7, 7, 7], dtype=np.int32))
    0.0
    """
    counts = symbol_counts(values)
    n = int(counts.sum())
    if n == 0 or counts.size == 1:
        return 0.0
    p = counts / n
    return float(-(p * np.log2(p)).sum())
