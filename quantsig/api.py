"""The front door: ``compress`` / ``decompress`` for bytes, ``save`` / ``load`` / ``info`` for files."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

from . import container as _c
from .codec import DEFAULT_FRAME_SIZE, DEFAULT_MAX_OUTPUT_BYTES, Codec, decode_bytes, describe
from .errors import CorruptFileError
from .quantizers.base import Quantizer

__all__ = ["compress", "decompress", "save", "load", "info"]

PathLike = str | os.PathLike


_TARGETS = ("lossless", "max_abs_error", "bits_per_sample", "snr_db")


def compress(
    x: Any,
    quantizer: Quantizer | None = None,
    *,
    lossless: bool = False,
    max_abs_error: float | None = None,
    bits_per_sample: float | None = None,
    snr_db: float | None = None,
    entropy: str = "rans",
    frame_size: int | None = None,
    sample_rate: float | None = None,
    metadata: dict[str, Any] | None = None,
) -> bytes:
    """Compress ``x`` into the bytes of a self-describing ``.qsg`` file.

    Say what you want, not the knobs, with one of:

    * ``lossless=True``: integer PCM (int8/int16/int32), bit-exact round trip;
    * ``max_abs_error=e``: every sample within ``e`` of the input, after rounding to the
      input's dtype (integers or floats);
    * ``bits_per_sample=r``: at most ``r`` bits per sample written (everything counted), with
      the smallest error that fits;
    * ``snr_db=s``: an SNR of at least ``s`` dB in the fewest bytes.

    These use the predictive stream codec (closed-loop linear prediction per block, a uniform
    residual quantizer, context-modelled rANS; see ``quantsig.stream``) on 1-D arrays or
    2-D ``samples x channels`` arrays. Or give an explicit ``quantizer`` to code the samples
    with it directly (any shape; no prediction). With neither, float data gets a 16-bit
    uniform quantizer over its range.

    Parameters
    ----------
    x : array_like
        The data.
    quantizer : Quantizer, optional
        Code with this quantizer (exclusive with the targets above).
    lossless : bool
        Target: a bit-exact round trip (integer PCM). Give at most one target.
    max_abs_error : float, optional
        Target: every sample within this of the input.
    bits_per_sample : float, optional
        Target: at most this many bits per sample written.
    snr_db : float, optional
        Target: an SNR of at least this many dB.
    entropy : {"rans", "raw"}
        For the ``quantizer`` path: rANS-code the codes or bit-pack them at a fixed rate.
    frame_size : int, optional
        Samples (rows for the stream codec) per frame.
    sample_rate : float, optional
        Stored in a stream's header.
    metadata : dict, optional
        JSON-serializable user metadata kept in the header.

    Returns
    -------
    bytes

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> pcm = (3000 * np.sin(np.arange(5000) / 7)).astype(np.int16)
    >>> blob = quantsig.compress(pcm, lossless=True)
    >>> np.array_equal(quantsig.decompress(blob), pcm), len(blob) < pcm.nbytes / 4
    (True, True)
    >>> x = np.linspace(-1, 1, 1000).reshape(10, 100)
    >>> y = quantsig.decompress(quantsig.compress(x, quantsig.MuLawQuantizer(bits=8)))
    >>> y.shape, y.dtype
    ((10, 100), dtype('float64'))
    >>> y = quantsig.decompress(quantsig.compress(x.ravel()[:200], max_abs_error=1e-3))
    >>> bool(np.abs(y - x.ravel()[:200]).max() <= 1e-3)
    True
    """
    targets = {
        k: v for k, v in zip(_TARGETS, (lossless or None, max_abs_error, bits_per_sample, snr_db)) if v is not None
    }
    if not targets:
        return Codec(quantizer, entropy=entropy, frame_size=frame_size or DEFAULT_FRAME_SIZE).compress(
            x, metadata=metadata
        )
    if quantizer is not None:
        raise ValueError(f"give either quantizer= or {' / '.join(targets)}, not both")
    if len(targets) > 1:
        raise ValueError(f"give one target, not {' and '.join(targets)}")
    from .stream import DEFAULT_FRAME_SIZE as STREAM_FRAME
    from .stream import compress_array

    blob, _ = compress_array(
        x, frame_size=frame_size or STREAM_FRAME, sample_rate=sample_rate, metadata=metadata, **targets
    )
    return blob


def _kind(buf: memoryview | _c.FileView) -> str:
    doc = _c.read_header(buf).doc
    kind = doc.get("kind")
    return kind if kind in ("stream", "weights") else "array"


def _decode_any(buf: memoryview, max_output_bytes: int) -> np.ndarray:
    kind = _kind(buf)
    if kind == "weights":
        raise ValueError("this is a weights archive of many tensors: read it with quantsig.weights.load_model")
    if kind == "stream":
        from .stream import StreamReader

        with StreamReader(buf, max_output_bytes=max_output_bytes) as r:
            if not r.complete:
                raise CorruptFileError(
                    f"corrupt quantsig stream: the file is truncated: its index is missing "
                    f"({r.n_samples} samples are in complete frames; StreamReader reads them)"
                )
            try:
                return r.read()
            except CorruptFileError:
                raise
            except ValueError as e:  # above max_output_bytes
                raise CorruptFileError(f"corrupt quantsig stream: {e}") from None
    return decode_bytes(buf, max_output_bytes)


def decompress(data: bytes | memoryview, *, max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES) -> np.ndarray:
    """Decode bytes made by ``compress``: original shape and dtype, no other knowledge needed.

    Raises
    ------
    CorruptFileError
        Truncated, damaged or forged data, or a claimed size above ``max_output_bytes``.

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> x = np.linspace(-1, 1, 1000, dtype=np.float32).reshape(20, 50)
    >>> blob = quantsig.compress(x, quantsig.UniformQuantizer(step=0.01))
    >>> y = quantsig.decompress(blob)
    >>> y.shape, y.dtype, bool(np.abs(y - x).max() <= 0.005 + 1e-7)
    ((20, 50), dtype('float32'), True)

    Bytes that are not a complete quantsig file raise instead of decoding to garbage:

    >>> quantsig.decompress(b"junk")
    Traceback (most recent call last):
        ...
    quantsig.errors.CorruptFileError: corrupt quantsig file: not a quantsig file (bad magic bytes)
    >>> quantsig.decompress(blob[:-20])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    quantsig.errors.CorruptFileError: corrupt quantsig file: the file is truncated: its index is missing ...
    >>> quantsig.decompress(blob, max_output_bytes=1000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    quantsig.errors.CorruptFileError: corrupt quantsig file: header claims 1000 samples (4000 bytes), more than max_output_bytes=1000; ...
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    return _decode_any(memoryview(data).cast("B"), max_output_bytes)


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
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "x.qsg")
    >>> n = quantsig.save(path, np.zeros(1000, np.float32), quantsig.UniformQuantizer(step=0.1))
    >>> quantsig.load(path).shape
    (1000,)
    >>> tmp.cleanup()
    """
    stream_options = {k: codec_options.pop(k) for k in _TARGETS + ("sample_rate",) if k in codec_options}
    metadata = codec_options.pop("metadata", None)
    if stream_options:
        blob = compress(x, quantizer, metadata=metadata, **stream_options, **codec_options)

        def write_to(f: Any) -> None:
            f.write(blob)
    else:
        codec = Codec(quantizer, **codec_options)

        def write_to(f: Any) -> None:
            codec.write(f.write, x, metadata)

    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    fd, tmp = tempfile.mkstemp(prefix=".quantsig-", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write_to(f)
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

    Examples
    --------
    >>> import os, tempfile, numpy as np, quantsig
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "pcm.qsg")
    >>> pcm = (3000 * np.sin(np.arange(1000) / 7)).astype(np.int16)
    >>> n = quantsig.save(path, pcm, lossless=True)
    >>> y = quantsig.load(path)
    >>> y.dtype, np.array_equal(y, pcm), n == os.path.getsize(path)
    (dtype('int16'), True, True)
    >>> with open(os.path.join(tmp.name, "notes.txt"), "w") as f:
    ...     _ = f.write("not a quantsig file")
    >>> quantsig.load(os.path.join(tmp.name, "notes.txt"))
    Traceback (most recent call last):
        ...
    quantsig.errors.CorruptFileError: corrupt quantsig file: not a quantsig file (bad magic bytes)
    >>> tmp.cleanup()
    """
    return _decode_any(memoryview(_read(path)), max_output_bytes)


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
        kind = _kind(memoryview(source).cast("B"))
        if kind == "weights":
            return _describe_weights(source)
        if kind == "stream":
            from .stream import describe_stream

            return describe_stream(source)
        return describe(source)
    # Read only the header, the index and the frame headers: describing a large file costs a
    # few reads, not its size.
    with open(source, "rb") as f:
        view = _c.FileView(f.fileno())
        kind = _kind(view) if len(view) else "array"
        if kind == "weights":
            return _describe_weights(f)
        if kind == "stream":
            from .stream import describe_stream

            return describe_stream(f)
        return describe(view)


def _describe_weights(source: Any) -> dict[str, Any]:
    """``info`` of a weights archive: its totals and one line per tensor."""
    from .weights.archive import ArchiveReader
    from .weights.model import report_of

    with ArchiveReader(source) as r:
        rep = report_of(r)
        return {"kind": "weights", "complete": r.complete, "metadata": r.metadata, "tensors": rep.rows, **rep.total}
