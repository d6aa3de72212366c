"""Uniform scalar quantizer: bounded (fixed rate) or unbounded (for entropy coding)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import (
    as_code_array,
    as_float_array,
    as_float_dtype,
    as_sample_weight,
    check_choice,
    check_int,
    check_invalid_count,
    check_real,
    report_nonfinite,
    smallest_uint,
)
from ..errors import CodeRangeError, OutOfRangeError
from ..kernels import uniform as _k
from ..registry import register_quantizer
from .base import Quantizer

__all__ = ["UniformQuantizer"]

# Kernel scalars are float64 so that float32 samples are compared and scaled in float64,
# the same with or without NUMBA_DISABLE_JIT (NumPy would otherwise compute in float32).
_f = np.float64

_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1


@register_quantizer
class UniformQuantizer(Quantizer):
    """Uniform scalar quantizer, bounded or unbounded, mid-tread or mid-rise.

    How it is specified decides its levels (``L = 2**bits``):

    ============================  =========================================================
    given                          levels (mid-tread / mid-rise)
    ============================  =========================================================
    ``bits, lo, hi``               ``lo + i*(hi-lo)/(L-1)`` (both ends are levels) /
                                   ``lo + (i+0.5)*(hi-lo)/L`` (cells tile ``[lo, hi]``)
    ``bits, step``                 ``k*step`` / ``(k+0.5)*step`` for ``k`` in ``[-L/2, L/2)``
                                   (``bits=16, step=2**-15`` is float-to-int16 PCM)
    ``bits`` only                  as ``bits, lo, hi`` with ``lo``/``hi`` learned by ``fit``
                                   as the data's min and max (``lo_``, ``hi_``)
    ``step`` only                  unbounded: ``k*step`` / ``(k+0.5)*step`` for any int32
                                   ``k``; codes are signed ``int32`` (for entropy coding)
    ============================  =========================================================

    Bounded quantizers give unsigned codes ``i`` in ``[0, L)`` (uint8 up to 8 bits, uint16
    up to 16, uint32 up to 32). Mid-tread encoding rounds half away from the level nearest
    zero (``rounding=0.5``); a smaller ``rounding`` widens the dead zone around it, as in
    video codecs (e.g. ``1/3``). Mid-rise cells are closed on the left: ``floor``.

    Inputs outside ``[lo, hi]`` raise ``OutOfRangeError`` unless
    ``clip=True``; after each ``encode`` the count of clipped samples is in ``n_clipped_``.
    An unbounded quantizer never clips: a result beyond int32 raises.

    Parameters
    ----------
    bits : int, optional
        Bits per code (1 to 32) for a bounded quantizer.
    lo, hi : float, optional
        The input range of a bounded quantizer (``lo < hi``), given together.
    step : float, optional
        Step size: with ``bits`` a symmetric bounded quantizer around zero, alone unbounded.
    mode : {"midtread", "midrise"}
        Mid-tread quantizers have a level at the centre of each cell of width ``step`` around
        zero (or ``lo``); mid-rise quantizers have a decision threshold there.
    clip : bool
        Clip out-of-range input to the end levels instead of raising.
    rounding : float
        Rounding offset of mid-tread encoding in ``[0, 1/2]``: 1/2 rounds to nearest, a
        smaller value widens the dead zone around the level nearest zero.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig import UniformQuantizer
    >>> q = UniformQuantizer(bits=3, lo=-1.0, hi=1.0, mode="midrise")
    >>> codes = q.encode(np.array([-1.0, -0.2, 0.0, 0.9, 1.0]))
    >>> codes
    array([0, 3, 4, 7, 7], dtype=uint8)
    >>> q.decode(codes)
    array([-0.875, -0.125,  0.125,  0.875,  0.875])
    >>> pcm = UniformQuantizer(bits=16, step=2.0**-15)   # float -> int16 PCM levels
    >>> pcm.encode(np.array([0.0, 0.5])).astype(np.int32) - 32768
    array([    0, 16384], dtype=int32)
    """

    codec_id = "uniform"
    _learned = ("lo_", "hi_")

    def __init__(
        self,
        bits: int | None = None,
        lo: float | None = None,
        hi: float | None = None,
        step: float | None = None,
        mode: str = "midtread",
        clip: bool = False,
        rounding: float = 0.5,
    ) -> None:
        if bits is not None:
            bits = check_int(bits, "bits", low=1, high=32)
        if (lo is None) != (hi is None):
            raise ValueError("lo and hi must be given together (or neither, to learn them with fit)")
        if lo is not None:
            lo = check_real(lo, "lo")
            hi = check_real(hi, "hi")
            if not lo < hi:
                raise ValueError(f"lo={lo} should be < hi={hi}")
            if bits is None:
                raise ValueError("a range lo/hi needs bits= (the number of levels is 2**bits)")
            if step is not None:
                raise ValueError("give either lo/hi or step with bits, not both (step follows from the range)")
        if step is not None:
            step = check_real(step, "step", low=0.0, low_open=True)
        if bits is None and step is None:
            raise ValueError("UniformQuantizer needs bits= (bounded) or step= (unbounded)")
        self.mode = check_choice(mode, "mode", ("midtread", "midrise"))
        if not isinstance(clip, (bool, np.bool_)):
            raise TypeError(f"clip must be True or False, got {clip!r}")
        rounding = check_real(rounding, "rounding", low=0.0, high=0.5)
        if self.mode == "midrise" and rounding != 0.5:
            raise ValueError("rounding applies to mode='midtread' only; a mid-rise quantizer floors")
        self._bits = bits
        self.lo = lo
        self.hi = hi
        self.step = step
        self.clip = bool(clip)
        self.rounding = rounding
        self.n_clipped_ = 0

    # ``bits`` is both a parameter and the base-class property log2(n_levels); they agree for
    # bounded quantizers and are None for unbounded ones.
    @property
    def bits(self) -> int | None:  # type: ignore[override]
        """Bits per code (``None`` for an unbounded, step-only quantizer)."""
        return self._bits

    @property
    def bounded(self) -> bool:
        """True for a fixed-rate quantizer with ``2**bits`` levels."""
        return self._bits is not None

    @property
    def requires_fit(self) -> bool:  # type: ignore[override]
        """True when the range is learned from data (``bits`` alone)."""
        return self._bits is not None and self.lo is None and self.step is None

    @property
    def n_levels(self) -> int | None:
        """``2**bits``, or ``None`` when unbounded."""
        return None if self._bits is None else 2**self._bits

    def is_fitted(self) -> bool:
        """True unless the range must still be learned by ``fit``."""
        return not self.requires_fit or hasattr(self, "lo_")

    def get_config(self) -> dict[str, Any]:
        """Return the JSON-native config (learned ``lo_``/``hi_`` included once fitted)."""
        config = super().get_config()
        if self.requires_fit and hasattr(self, "lo_"):
            config["lo_"] = float(self.lo_)
            config["hi_"] = float(self.hi_)
        return config

    def _set_learned(self, learned: dict[str, Any]) -> None:
        if not self.requires_fit:
            raise ValueError("lo_/hi_ in a config are only valid for a range learned by fit (bits only)")
        lo = check_real(learned["lo_"], "lo_")
        hi = check_real(learned["hi_"], "hi_")
        if hi < lo:
            raise ValueError(f"lo_={lo} should be <= hi_={hi}")
        self.lo_, self.hi_ = lo, hi

    # ------------------------------------------------------------------ geometry
    def _geometry(self) -> tuple[float, float, float, float]:
        """Return ``(lo, hi, step, base)``: input range, step, and value of code 0."""
        L = 2**self._bits  # type: ignore[operator]
        if self.step is not None:
            step = self.step
            lo = -(L // 2) * step
            hi = (L // 2 - 1) * step if self.mode == "midtread" else (L // 2) * step
        else:
            if self.lo is not None:
                lo, hi = self.lo, self.hi
            else:
                self._check_fitted()
                lo, hi = self.lo_, self.hi_
            step = (hi - lo) / ((L - 1) if self.mode == "midtread" else L)  # type: ignore[operator]
        base = lo if self.mode == "midtread" else lo + 0.5 * step  # type: ignore[operator]
        return lo, hi, step, base  # type: ignore[return-value]

    @property
    def reconstruction_levels(self) -> np.ndarray | None:
        """All reconstruction levels of a bounded quantizer (``None`` when unbounded)."""
        if not self.bounded:
            return None
        _, _, step, base = self._geometry()
        return base + np.arange(2**self._bits, dtype=np.float64) * step  # type: ignore[operator]

    # ------------------------------------------------------------------ contract
    def fit(self, x: Any, sample_weight: Any = None) -> UniformQuantizer:
        """Learn ``lo_``/``hi_`` as the min and max of ``x`` when only ``bits`` was given.

        Otherwise ``x`` is only validated. ``sample_weight`` is ignored except that samples
        of zero weight do not widen the learned range.
        """
        arr = as_float_array(x)
        finite = np.isfinite(arr)
        if not finite.all():
            report_nonfinite(int(arr.size - np.count_nonzero(finite)))
        if self.requires_fit:
            flat = arr.reshape(-1)
            if sample_weight is not None:
                w = as_sample_weight(sample_weight, flat.size)
                if w is not None:
                    flat = flat[w > 0]
            self.lo_ = float(flat.min())
            self.hi_ = float(flat.max())
        return self

    def encode(self, x: Any) -> np.ndarray:
        """Quantize ``x`` to integer codes (shape kept).

        Raises
        ------
        OutOfRangeError
            Input outside ``[lo, hi]`` of a bounded quantizer with ``clip=False``, or an
            unbounded code beyond int32.
        ValueError
            NaN or Inf in ``x``.
        """
        arr = as_float_array(x)
        self._check_fitted()
        flat = np.ascontiguousarray(arr).reshape(-1)
        if self.bounded:
            lo, hi, step, base = self._geometry()
            L = 2**self._bits  # type: ignore[operator]
            out = np.empty(flat.size, dtype=smallest_uint(L))
            inv = 1.0 / step if step > 0 else 0.0
            if self.mode == "midtread":
                # the level nearest zero is the centre of the dead zone
                i_c = int(min(max(np.floor(-lo / step + 0.5) if step > 0 else 0, 0), L - 1))
                center = base + i_c * step
                lo_, hi_, c_, inv_, half_ = _scalars(flat.dtype, lo, hi, center, inv, 1.0 - self.rounding)
                n_out = _k.encode_bounded_midtread(flat, lo_, hi_, c_, inv_, i_c, half_, out)
            else:
                n_out = _k.encode_bounded_midrise(flat, _f(lo), _f(hi), _f(inv), L - 1, out)
            self.n_clipped_ = check_invalid_count(int(n_out), flat, lo, hi, self.clip)
        else:
            out = np.empty(flat.size, dtype=np.int32)
            inv = 1.0 / self.step  # type: ignore[operator]
            if self.mode == "midtread":
                *_, inv_, half_ = _scalars(flat.dtype, 0.0, 0.0, 0.0, inv, 1.0 - self.rounding)
                limit = type(inv_)(2.0**31 if isinstance(inv_, np.float32) else 2.0**31 - 1)
                n_out = _k.encode_unbounded_midtread(flat, inv_, half_, limit, out)
            else:
                n_out = _k.encode_unbounded_midrise(flat, _f(inv), out)
            self.n_clipped_ = 0
            if n_out:
                report_nonfinite(int(flat.size - np.count_nonzero(np.isfinite(flat))))
                raise OutOfRangeError(
                    f"{n_out} sample(s) of x would need codes beyond int32 with step={self.step!r} "
                    f"(max |x| = {float(np.abs(flat).max())!r}); use a larger step"
                )
        return out.reshape(arr.shape)

    def decode(self, codes: Any, dtype: Any = np.float64) -> np.ndarray:
        """Reconstruct values from codes, as ``dtype`` (float32 or float64).

        Raises
        ------
        CodeRangeError
            A code outside ``[0, 2**bits)`` (bounded) or outside int32 (unbounded).
        """
        arr = as_code_array(codes)
        out_dtype = as_float_dtype(dtype)
        flat = np.ascontiguousarray(arr).reshape(-1)
        if self.bounded:
            _, _, step, base = self._geometry()
            low, high = 0, 2**self._bits - 1  # type: ignore[operator]
        else:
            step = self.step  # type: ignore[assignment]
            base = 0.0 if self.mode == "midtread" else 0.5 * step
            low, high = _INT32_MIN, _INT32_MAX
        out = np.empty(flat.size, dtype=out_dtype)
        n_bad = _k.decode_affine(flat, _f(base), _f(step), low, high, out)
        if n_bad:
            bad = flat[(flat < low) | (flat > high)]
            raise CodeRangeError(
                f"{n_bad} code(s) outside [{low}, {high}] (e.g. {bad[0]}); these codes were not produced by {self!r}"
            )
        return out.reshape(arr.shape)

    @classmethod
    def _conformance_bad_params(cls) -> list[dict[str, Any]]:
        return [
            {},
            {"bits": 0},
            {"bits": 33},
            {"bits": 2.5},
            {"bits": 8, "lo": 1.0, "hi": -1.0},
            {"bits": 8, "lo": 0.0},
            {"lo": 0.0, "hi": 1.0},
            {"step": 0.0},
            {"step": -0.1},
            {"step": float("nan")},
            {"bits": 8, "lo": 0.0, "hi": 1.0, "step": 0.1},
            {"step": 0.1, "mode": "round"},
            {"step": 0.1, "rounding": 1.0},
            {"step": 0.1, "rounding": 0.6},
            {"step": 0.1, "rounding": -0.1},
            {"step": 0.1, "mode": "midrise", "rounding": 0.3},
            {"step": 0.1, "clip": "yes"},
        ]

    @classmethod
    def _conformance_instances(cls) -> list[Quantizer]:
        return [
            cls(bits=8, lo=-1.0, hi=1.0),
            cls(bits=3, lo=-1.0, hi=1.0, mode="midrise"),
            cls(bits=12, step=1.0 / 1024),
            cls(bits=4),
            cls(step=0.05),
            cls(step=0.1, mode="midrise"),
            cls(step=0.1, rounding=1 / 3),
            cls(bits=16, lo=-1.0, hi=1.0, clip=True),
        ]


def _scalars(dtype: np.dtype, *values: float) -> tuple[np.floating, ...]:
    """Kernel scalars: float32 when every value, and the arithmetic on float32 samples, is
    exact in float32 (centre 0 and a power-of-two inverse step: scaling is then exact);
    float64 otherwise. Either way the codes are the same."""
    lo, hi, center, inv, _half = values
    exact32 = (
        dtype == np.float32
        and center == 0.0
        and inv > 0
        and np.frexp(inv)[0] == 0.5
        and all(float(np.float32(v)) == v for v in values)
        and max(abs(lo), abs(hi)) * inv < 2.0**24
    )
    cast = np.float32 if exact32 else np.float64
    return tuple(cast(v) for v in values)
