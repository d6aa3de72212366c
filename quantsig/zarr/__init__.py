"""quantsig codecs for numcodecs, zarr and Dask: the same options as ``quantsig.compress``.

Needs the optional extra ``pip install "quantsig[zarr]"`` (zarr 3, numcodecs, dask). Importing
this package imports none of them; each name below imports what it needs when first used and
raises an ``ImportError`` naming the extra when that is missing.

* ``QuantsigCodec``: a numcodecs codec, ``codec_id = "quantsig"``, registered through
  the ``numcodecs.codecs`` entry point, so ``numcodecs.get_codec({"id": "quantsig",
  "max_abs_error": 1e-3})`` works in a fresh interpreter. It codes whole N-D arrays (shape and
  dtype kept in the bytes), so zarr can use it in Zarr format 2 arrays, as the ``compressor``
  or as a filter. Zarr format 3 gives its ``compressors=`` flat bytes with no shape or dtype,
  so there it refuses numcodecs codecs: use ``QuantsigZarrCodec``.
* ``QuantsigZarrCodec``: a Zarr format 3 array-to-bytes codec (``serializer=``), named
  ``"quantsig"`` and registered through the ``zarr.codecs`` entry point, so an array written
  with it opens anywhere quantsig is installed.
* ``to_zarr``: write a Dask array with the codec, in parallel, on any Dask scheduler
  (threads, processes, ``dask.distributed``); ``dask.array.from_zarr`` reads it back.
* ``encode_chunk`` / ``decode_chunk`` and ``ChunkOptions``: the chunk coding
  the codecs share (numpy only).

Options (give at most one of the first five): ``lossless=True`` (integer data, bit exact),
``max_abs_error=e`` (every value within ``e``), ``bits_per_sample=r``, ``snr_db=s``,
``quantizer=`` (a quantizer, its config dict or JSON), and ``entropy="rans" | "raw"`` for the
quantizer path. Each chunk is a complete ``.qsg`` file that ``quantsig.decompress`` also
reads (an N-D chunk coded as a series comes back flat there; its shape is in
``quantsig.info(b)["metadata"]["shape"]``). NaN and infinities are kept exactly, and so is an
array's fill value under ``QuantsigZarrCodec`` (``exact_fill=True``).

Threads: a chunk coded off the main thread (a Dask or zarr worker thread) is coded on that
thread alone, as one task among the writer's; on the main thread the stream encoder uses its
``QUANTSIG_THREADS`` frame threads. The bytes are the same either way.

Lossy codecs and zarr: writing part of a chunk makes zarr decode the chunk, merge and encode
it again, so values outside the written part are quantized twice and their error can add up
(to twice the bound after one rewrite). Write whole chunks (``to_zarr`` and
``dask.array.to_zarr`` do) and the bound holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._chunk import TARGETS, ChunkOptions, decode_chunk, encode_chunk

if TYPE_CHECKING:  # pragma: no cover
    from ._dask import to_zarr
    from ._numcodecs import QuantsigCodec
    from ._zarr3 import QuantsigZarrCodec

__all__ = [
    "QuantsigCodec",
    "QuantsigZarrCodec",
    "to_zarr",
    "ChunkOptions",
    "encode_chunk",
    "decode_chunk",
    "CODEC_ID",
    "TARGETS",
]

#: The codec's id in numcodecs and its name in Zarr format 3 metadata.
CODEC_ID = "quantsig"

_LAZY = {"QuantsigCodec": "._numcodecs", "QuantsigZarrCodec": "._zarr3", "to_zarr": "._dask"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _missing(what: str, package: str, e: ImportError) -> ImportError:
    return ImportError(f'{what} needs {package}: pip install "quantsig[zarr]" ({e})')
