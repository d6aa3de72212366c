"""The front door: ``compress`` / ``decompress`` for bytes, ``save`` / ``load`` / ``info`` for files."""

from __future__ import annotations

import mmap
import os
import tempfile
from typing import Any

import numpy as np

from .codec import DEFAULT_FRAME_SIZE, DEFAULT_MAX_OUTPUT_BYTES, Codec, decode_bytes, describe
from .errors import CorruptFileError
from .quantizers.base import Quantizer

__all__ = ["compress", "decompress", "save", "load", "info"]

PathLike = str | os.PathLike


def compress(
    x: Any,
    quantizer: Quantizer | None = None,
    *,
    entropy: str = "rans",
    frame_size: int = DEFAULT_FRAME_SIZE,
    metadata: dict[str, Any] | None = None,
) -> bytes:
    """Quantize and entropy-code ``x`` into the bytes of a self-describing ``.qsg`` file.

    Parameters
    ----------
    x : array_like
        float32/float64 data of any shape (int16 PCM with a G.711 quantizer).
    quantizer : Quantizer, optional
        What to keep. Default: a 16-bit uniform quantizer over the data's range.
    entropy : {"rans", "raw"}
        Entropy-code the codes (rANS) or bit-pack them at a fixed rate.
    frame_size : int
        Codes per frame.
    metadata : dict, optional
        JSON-serializable user metadata kept in the header.

    Returns
    -------
    bytes

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> x = np.linspace(-1, 1, 1000).reshape(10, 100)
    >>> blob = quantsig.compress(x, quantsig.MuLawQuantizer(bits=8))
    >>> y = quantsig.decompress(blob)
    >>> y.shape, y.dtype
    ((10, 100), dtype('float64'))
    """
    return Codec(quantizer, entropy=entropy, frame_size=frame_size).compress(x, metadata=metadata)


def decompress(data: bytes | memoryview, *, max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES) -> np.ndarray:
    """Decode bytes made by :func:`compress`: original shape and dtype, no other knowledge needed.

    Raises
    ------
    CorruptFileError
        Truncated, damaged or forged data, or a claimed size above ``max_output_bytes``.
    """
    return decode_bytes(data, max_output_bytes)


def save(
    path: PathLike,
    x: Any,
    quantizer: Quantizer | None = None,
    **codec_options: Any,
) -> int:
    """Compress ``x`` into the file ``path``; returns the number of bytes written.

    The file is written to a temporary name beside ``path`` and renamed when complete, so an
    existing file is never left half-overwritten.

    Examples
    --------
    >>> import numpy as np, quantsig, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.qsg")
    >>> n = quantsig.save(path, np.zeros(1000, np.float32), quantsig.UniformQuantizer(step=0.1))
    >>> quantsig.load(path).shape
    (1000,)
    """
    metadata = codec_options.pop("metadata", None)
    codec = Codec(quantizer, **codec_options)
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    fd, tmp = tempfile.mkstemp(prefix=".quantsig-", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            codec.write(f.write, x, metadata)
            n = f.tell()
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return n


def _read(path: PathLike) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def load(path: PathLike, *, max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES) -> np.ndarray:
    """Read and decode a ``.qsg`` file.

    Raises
    ------
    CorruptFileError
        The file is not a valid quantsig file (the message says why).
    """
    return decode_bytes(_read(path), max_output_bytes)


def info(source: PathLike | bytes | memoryview) -> dict[str, Any]:
    """Describe a ``.qsg`` file (path or bytes) without decoding its payloads.

    Returns a dict: format version, shape, dtype, quantizer (repr and config), entropy coder,
    levels, frames, file/header/payload bytes, bits per sample, compression ratio, metadata,
    and whether the file is complete (has its index).

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> blob = quantsig.compress(np.zeros(4096), quantsig.UniformQuantizer(step=0.5))
    >>> d = quantsig.info(blob)
    >>> d["shape"], d["entropy"], d["complete"]
    ((4096,), 'rans', True)
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return describe(source)
    # Map the file rather than read it: only the header, the index and the frame headers are
    # touched, so describing a large file costs a few pages, not its size.
    with open(source, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return describe(b"")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            try:
                return describe(memoryview(mm))
            except CorruptFileError as e:
                # re-raise without the traceback, whose frames hold views of the mapping
                # (the mapping cannot close while they exist)
                err = CorruptFileError(str(e))
    raise err
