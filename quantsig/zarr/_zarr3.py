"""The Zarr format 3 array-to-bytes codec ``"quantsig"`` (``QuantsigZarrCodec``)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import CODEC_ID, _missing
from ._chunk import ChunkOptions, decode_chunk, encode_chunk

try:
    from zarr.abc.codec import ArrayBytesCodec
    from zarr.core.buffer import Buffer, NDBuffer
    from zarr.core.chunk_grids import RegularChunkGrid
    from zarr.core.common import parse_named_configuration
    from zarr.registry import register_codec
except ImportError as e:  # pragma: no cover - depends on the environment
    raise _missing("quantsig.zarr.QuantsigZarrCodec", "zarr>=3", e) from e

if TYPE_CHECKING:  # pragma: no cover
    from typing import Self

    from zarr.core.array_spec import ArraySpec
    from zarr.core.chunk_grids import ChunkGrid
    from zarr.core.common import JSON
    from zarr.core.dtype.wrapper import TBaseDType, TBaseScalar, ZDType

__all__ = ["QuantsigZarrCodec"]


@dataclass(frozen=True, init=False)
class QuantsigZarrCodec(ArrayBytesCodec):
    """Zarr format 3 codec compressing each chunk with quantsig: pass it as ``serializer=``.

    An array-to-bytes codec (it needs the chunk's shape and dtype, which zarr gives only to
    that kind), named ``"quantsig"`` in the array's metadata. Each chunk becomes a complete
    ``.qsg`` file. Zarr hands over edge chunks padded to the full chunk shape with the fill
    value, and skips chunks that hold nothing but the fill value.

    Parameters
    ----------
    lossless, max_abs_error, bits_per_sample, snr_db, quantizer, entropy
        As for ``quantsig.zarr.QuantsigCodec`` and ``quantsig.compress``.
    exact_fill : bool
        Keep the array's fill value exact wherever a chunk holds it (so a missing-data
        sentinel such as ``-9999`` or ``-32768`` is still one after lossy coding). NaN and
        infinities are always kept exact.

    Examples
    --------
    >>> import numpy as np, zarr
    >>> from quantsig.zarr import QuantsigZarrCodec
    >>> z = zarr.create_array(zarr.storage.MemoryStore(), shape=(100, 70), chunks=(32, 32),
    ...                       dtype="float32", serializer=QuantsigZarrCodec(max_abs_error=1e-3),
    ...                       compressors=None, fill_value=np.nan)
    >>> x = np.cumsum(np.random.default_rng(0).standard_normal((100, 70)), axis=1).astype(np.float32)
    >>> z[:] = x
    >>> bool(np.abs(z[:] - x).max() <= 1e-3)
    True
    >>> z.serializer.to_dict()
    {'name': 'quantsig', 'configuration': {'max_abs_error': 0.001}}
    """

    is_fixed_size = False

    options: ChunkOptions
    exact_fill: bool

    def __init__(
        self,
        *,
        lossless: bool = False,
        max_abs_error: float | None = None,
        bits_per_sample: float | None = None,
        snr_db: float | None = None,
        quantizer: Any = None,
        entropy: str = "rans",
        exact_fill: bool = True,
    ) -> None:
        options = ChunkOptions.create(
            lossless=lossless,
            max_abs_error=max_abs_error,
            bits_per_sample=bits_per_sample,
            snr_db=snr_db,
            quantizer=quantizer,
            entropy=entropy,
        )
        if not isinstance(exact_fill, (bool, np.bool_)):
            raise TypeError(f"exact_fill must be True or False, got {exact_fill!r}")
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "exact_fill", bool(exact_fill))

    # ------------------------------------------------------------------ metadata
    @classmethod
    def from_dict(cls, data: dict[str, JSON]) -> Self:
        """Rebuild the codec from its entry in an array's metadata."""
        _, config = parse_named_configuration(data, CODEC_ID, require_configuration=False)
        config = dict(config or {})
        unknown = sorted(
            set(config)
            - {"lossless", "max_abs_error", "bits_per_sample", "snr_db", "quantizer", "entropy", "exact_fill"}
        )
        if unknown:
            raise ValueError(f"unknown {CODEC_ID} codec option(s) in the array metadata: {', '.join(unknown)}")
        return cls(**config)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, JSON]:
        """``{"name": "quantsig", "configuration": {...}}`` (options that differ from the defaults)."""
        config: dict[str, Any] = self.options.config()
        if not self.exact_fill:
            config["exact_fill"] = False
        return {"name": CODEC_ID, "configuration": config} if config else {"name": CODEC_ID}

    def __repr__(self) -> str:
        extra = "" if self.exact_fill else ", exact_fill=False" if self.options.config() else "exact_fill=False"
        return f"{type(self).__name__}({self.options.describe()}{extra})"

    def validate(
        self, *, shape: tuple[int, ...], dtype: ZDType[TBaseDType, TBaseScalar], chunk_grid: ChunkGrid
    ) -> None:
        """Refuse, when the array is created, a dtype or chunk shape the options cannot code."""
        self.options.check_dtype(dtype.to_native_dtype())
        q = self.options.quantizer()
        if q is not None and q.dim > 1 and isinstance(chunk_grid, RegularChunkGrid):
            last = chunk_grid.chunk_shape[-1] if chunk_grid.chunk_shape else 1
            if last % q.dim:
                raise ValueError(
                    f"{q!r} codes vectors of {q.dim} values: the chunks' last axis ({last}) must be a multiple of {q.dim}"
                )

    def compute_encoded_size(self, input_byte_length: int, chunk_spec: ArraySpec) -> int:
        raise NotImplementedError("quantsig chunks vary in size")

    # ------------------------------------------------------------------ coding
    def _encode_sync(self, chunk_array: NDBuffer, chunk_spec: ArraySpec) -> Buffer | None:
        keep = chunk_spec.fill_value if self.exact_fill else None
        blob = encode_chunk(chunk_array.as_numpy_array(), self.options, keep=keep)
        return chunk_spec.prototype.buffer.from_bytes(blob)

    def _decode_sync(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> NDBuffer:
        dtype = chunk_spec.dtype.to_native_dtype()
        limit = max(math.prod(chunk_spec.shape), 1) * dtype.itemsize
        arr = decode_chunk(chunk_bytes.as_numpy_array(), shape=chunk_spec.shape, dtype=dtype, max_output_bytes=limit)
        return chunk_spec.prototype.nd_buffer.from_numpy_array(arr)

    async def _encode_single(self, chunk_array: NDBuffer, chunk_spec: ArraySpec) -> Buffer | None:
        return await asyncio.to_thread(self._encode_sync, chunk_array, chunk_spec)

    async def _decode_single(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> NDBuffer:
        return await asyncio.to_thread(self._decode_sync, chunk_bytes, chunk_spec)


register_codec(CODEC_ID, QuantsigZarrCodec)
