"""The numcodecs codec ``"quantsig"`` (``QuantsigCodec``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import CODEC_ID, _missing
from ._chunk import ChunkOptions, decode_chunk, encode_chunk

try:
    # (the pyproject's mypy override covers "numcodecs" but not its submodules)
    from numcodecs.abc import Codec  # type: ignore[import-untyped]
    from numcodecs.compat import ensure_contiguous_ndarray_like, ensure_ndarray_like  # type: ignore[import-untyped]
    from numcodecs.registry import register_codec  # type: ignore[import-untyped]
except ImportError as e:  # pragma: no cover - depends on the environment
    raise _missing("quantsig.zarr.QuantsigCodec", "numcodecs", e) from e

__all__ = ["QuantsigCodec"]


class QuantsigCodec(Codec):
    """numcodecs codec compressing whole arrays with quantsig: ``codec_id = "quantsig"``.

    ``encode`` takes an array of any shape (a chunk) and returns the bytes of a ``.qsg`` file
    that holds its shape and dtype; ``decode`` returns that array, or copies it into ``out``.
    Give at most one of the first five options. NaN and infinities decode exactly.

    Parameters
    ----------
    lossless : bool
        Integer data (int8/16/32, uint8/16/32), bit exact.
    max_abs_error : float, optional
        Every decoded value within this of the input (after rounding to its dtype).
    bits_per_sample : float, optional
        At most this many bits per value written (per chunk, header included).
    snr_db : float, optional
        At least this SNR (per chunk) in the fewest bytes.
    quantizer : Quantizer, dict or str, optional
        Code the values with this quantizer (its config dict or JSON also do; a learned one is
        fitted on each chunk). With no option at all, float chunks get a 16-bit uniform
        quantizer over their range.
    entropy : {"rans", "raw"}
        For ``quantizer=`` (or no option): rANS-code the codes or bit-pack them.

    Examples
    --------
    >>> import numpy as np, numcodecs
    >>> from quantsig.zarr import QuantsigCodec
    >>> codec = numcodecs.get_codec({"id": "quantsig", "max_abs_error": 1e-3})
    >>> codec
    QuantsigCodec(max_abs_error=0.001)
    >>> x = np.cumsum(np.random.default_rng(0).standard_normal((40, 50)), axis=1).astype(np.float32)
    >>> blob = codec.encode(x)
    >>> y = codec.decode(blob)
    >>> y.shape, y.dtype, bool(np.abs(y - x).max() <= 1e-3)
    ((40, 50), dtype('float32'), True)
    >>> x.nbytes / len(blob) > 2
    True
    >>> codec.get_config()
    {'id': 'quantsig', 'max_abs_error': 0.001}
    >>> pcm = (1000 * np.sin(np.arange(4000) / 5)).astype(np.int16)
    >>> lossless = QuantsigCodec(lossless=True)
    >>> out = np.empty_like(pcm)
    >>> np.array_equal(lossless.decode(lossless.encode(pcm), out=out), pcm)
    True
    """

    codec_id = CODEC_ID

    def __init__(
        self,
        *,
        lossless: bool = False,
        max_abs_error: float | None = None,
        bits_per_sample: float | None = None,
        snr_db: float | None = None,
        quantizer: Any = None,
        entropy: str = "rans",
    ) -> None:
        self._options = ChunkOptions.create(
            lossless=lossless,
            max_abs_error=max_abs_error,
            bits_per_sample=bits_per_sample,
            snr_db=snr_db,
            quantizer=quantizer,
            entropy=entropy,
        )

    # ------------------------------------------------------------------ options
    @property
    def options(self) -> ChunkOptions:
        """The checked options."""
        return self._options

    @property
    def lossless(self) -> bool:
        """Whether integer chunks are coded bit exact (``lossless=True``)."""
        return self._options.lossless

    @property
    def max_abs_error(self) -> float | None:
        """The bound on every decoded value's error, or ``None``."""
        return self._options.max_abs_error

    @property
    def bits_per_sample(self) -> float | None:
        """The rate target, bits per value written (per chunk), or ``None``."""
        return self._options.bits_per_sample

    @property
    def snr_db(self) -> float | None:
        """The quality target, SNR in dB (per chunk), or ``None``."""
        return self._options.snr_db

    @property
    def quantizer(self) -> dict[str, Any] | None:
        """The quantizer's config dict (or ``None``)."""
        return self._options.quantizer_config

    @property
    def entropy(self) -> str:
        """How the codes of ``quantizer=`` (or of no option) are written: ``"rans"`` or ``"raw"`` (bit-packed)."""
        return self._options.entropy

    def get_config(self) -> dict[str, Any]:
        """``{"id": "quantsig", **options}``: only the options that differ from the defaults."""
        return {"id": self.codec_id, **self._options.config()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> QuantsigCodec:
        """Rebuild a codec from ``get_config`` (with or without its ``"id"``)."""
        config = dict(config)
        codec_id = config.pop("id", cls.codec_id)
        if codec_id != cls.codec_id:
            raise ValueError(f"config is for codec {codec_id!r}, not {cls.codec_id!r}")
        unknown = sorted(
            set(config) - {"lossless", "max_abs_error", "bits_per_sample", "snr_db", "quantizer", "entropy"}
        )
        if unknown:
            raise TypeError(f"unknown {cls.codec_id} codec option(s): {', '.join(unknown)}")
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._options.describe()})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QuantsigCodec) and other._options == self._options

    def __hash__(self) -> int:
        return hash((self.codec_id, self._options))

    # ------------------------------------------------------------------ coding
    def encode(self, buf: Any) -> bytes:
        """Compress an array (any shape; a plain byte buffer counts as uint8 values)."""
        return encode_chunk(np.asarray(ensure_ndarray_like(buf)), self._options)

    def decode(self, buf: Any, out: Any = None) -> Any:
        """Decode bytes made by ``encode``; into ``out`` when given.

        ``out`` must hold exactly the decoded bytes: the decoded dtype (or bytes) and the
        decoded shape, or a flat buffer of the same size.

        Raises
        ------
        CorruptFileError
            The bytes are not a valid quantsig chunk (a ``ValueError``).
        ValueError, TypeError
            ``out`` does not fit the decoded array.
        """
        data = np.asarray(ensure_contiguous_ndarray_like(buf)).reshape(-1).view(np.uint8)
        if out is None:
            return decode_chunk(data)
        dst = np.asarray(ensure_ndarray_like(out))
        y = decode_chunk(data)
        if dst.nbytes != y.nbytes:
            raise ValueError(f"out holds {dst.nbytes} bytes; the decoded array {y.shape} {y.dtype} has {y.nbytes}")
        if dst.dtype.itemsize == 1 and dst.dtype.kind in "uiV" and y.dtype.itemsize != 1:
            dst = dst.reshape(-1).view(y.dtype)  # a byte buffer
        elif dst.dtype.newbyteorder("=") != y.dtype.newbyteorder("="):
            raise TypeError(f"out has dtype {dst.dtype}; the decoded array has {y.dtype}")
        if dst.shape != y.shape:
            if dst.ndim != 1:
                raise ValueError(f"out has shape {dst.shape}; the decoded array has {y.shape}")
            y = y.reshape(-1)
        np.copyto(dst, y)
        return out


register_codec(QuantsigCodec)
