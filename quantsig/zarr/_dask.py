"""Write Dask arrays to Zarr format 3 with the quantsig codec (``to_zarr``)."""

from __future__ import annotations

from typing import Any

from . import _missing

__all__ = ["to_zarr"]


def to_zarr(
    arr: Any,
    store: Any,
    *,
    chunks: Any = None,
    name: str | None = None,
    fill_value: Any = None,
    overwrite: bool = False,
    compute: bool = True,
    **codec_options: Any,
) -> Any:
    """Write ``arr`` to a new Zarr format 3 array compressed by ``QuantsigZarrCodec``.

    Each Dask chunk becomes one zarr chunk, coded where it is computed (threads, processes or
    ``dask.distributed`` workers); nothing is gathered in one place. Read it back with
    ``dask.array.from_zarr(store)`` (or ``zarr.open_array``) wherever quantsig is installed.

    Parameters
    ----------
    arr : dask.array.Array or array_like
        The data (a NumPy array is wrapped with ``dask.array.asarray``).
    store : str, path or zarr store
        Where to write (a directory path makes a ``LocalStore``, which every worker process can
        reach; a ``MemoryStore`` works with threads only).
    chunks : optional
        Rechunk ``arr`` to this first (any form ``dask.array.Array.rechunk`` takes). The
        chunks must be regular (all equal along each axis but the last one).
    name : str, optional
        Create the array at this path inside the store (a group), not at its root.
    fill_value : scalar, optional
        The array's fill value (zarr's default for the dtype if not given; NaN is a good choice
        for float data with gaps).
    overwrite : bool
        Replace an existing array or group at that place.
    compute : bool
        Write now (returns the zarr array) or return a ``dask.delayed`` object that writes
        when computed.
    **codec_options
        ``QuantsigZarrCodec`` options: ``lossless``, ``max_abs_error``,
        ``bits_per_sample``, ``snr_db``, ``quantizer``, ``entropy``, ``exact_fill``.

    Returns
    -------
    zarr.Array or dask.delayed.Delayed

    Examples
    --------
    >>> import numpy as np, dask.array as da, zarr
    >>> from quantsig.zarr import to_zarr
    >>> x = da.from_array(np.cumsum(np.ones((60, 80), np.float32), axis=1), chunks=(30, 40))
    >>> z = to_zarr(x, zarr.storage.MemoryStore(), max_abs_error=0.01)
    >>> z.chunks, z.serializer
    ((30, 40), QuantsigZarrCodec(max_abs_error=0.01))
    >>> y = da.from_zarr(z)
    >>> bool(abs(y - x).max().compute() <= 0.01)
    True
    """
    try:
        import dask.array as da
        import zarr
    except ImportError as e:
        raise _missing("quantsig.zarr.to_zarr", "dask[array] and zarr>=3", e) from e
    from ._zarr3 import QuantsigZarrCodec

    codec = QuantsigZarrCodec(**codec_options)
    if not isinstance(arr, da.Array):
        arr = da.asarray(arr)
    if chunks is not None:
        arr = arr.rechunk(chunks)
    if any(isinstance(s, float) for s in arr.shape):  # NaN: unknown sizes
        raise ValueError("arr has unknown chunk sizes; call arr.compute_chunk_sizes() first")
    for axis, sizes in enumerate(arr.chunks):
        if len(sizes) > 1 and (len(set(sizes[:-1])) > 1 or sizes[-1] > sizes[0]):
            raise ValueError(
                f"zarr needs regular chunks, but axis {axis} has chunks {sizes}; pass chunks= "
                "(e.g. chunks=arr.chunksize) to rechunk"
            )
    chunk_shape = tuple(max(sizes[0], 1) if sizes else 1 for sizes in arr.chunks)
    z: Any = zarr.create_array(
        store,
        name=name,
        shape=arr.shape,
        chunks=chunk_shape,
        dtype=arr.dtype,
        serializer=codec,
        compressors=None,
        filters=None,
        fill_value=fill_value,
        zarr_format=3,
        overwrite=overwrite,
    )
    # each Dask chunk is exactly one zarr chunk: the writes need no lock, and no task holds
    # more than one chunk (dask.array.to_zarr would first merge them into ~128 MiB blocks)
    stored = da.store(arr, z, lock=False, compute=compute)
    return z if compute else stored
