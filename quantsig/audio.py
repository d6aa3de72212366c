"""Audio files in and out of quantsig streams, through soundfile, block by block.

``compress_file`` reads any file soundfile (libsndfile) reads, one block at a time with
``soundfile.SoundFile`` (memory stays constant whatever the length), into a
``quantsig.stream.StreamWriter``; ``decompress_file`` streams a ``.qsg`` file back
out as WAV or FLAC through ``quantsig.stream.StreamReader``. Sample rate, channels and
subtype survive the round trip.

What the stream holds
---------------------
Integer files are compressed as the integers they store, at their own width, so errors and
bounds are counted in the file's least significant bits (LSB):

============================  ===============  ==============================================
file subtype                  stream dtype     stream values
============================  ===============  ==============================================
PCM_S8, PCM_U8                int8             the 8-bit sample (U8 re-centred at 0)
PCM_16, ULAW, ALAW, ADPCMs    int16            the 16-bit sample (companded ones as decoded)
PCM_24                        int32            the 24-bit sample, in [-2**23, 2**23)
PCM_32                        int32            the 32-bit sample
FLOAT / DOUBLE                float32/float64  the samples exactly as stored
anything else (Vorbis, MP3)   float32          the decoded samples in [-1, 1]
============================  ===============  ==============================================

soundfile returns 24-bit (and 8-bit) samples left-aligned in a wider integer (the low bits
zero); they are shifted right to their own width before coding and shifted back on output,
and the width is recorded in the stream metadata as ``"pcm_bits"``. So ``max_abs_error=1``
on a 24-bit file means one 24-bit LSB, and the lossless mode codes no padding bits.

The stream metadata holds ``"format"``, ``"subtype"``, ``"sample_rate"``, ``"channels"``,
``"pcm_bits"`` (integer files), ``"source"`` (the source file's name) and, for a rate
target, ``"bits_per_sample_target"``, next to any metadata the caller passes.

Modes
-----
* ``lossless=True`` (the default for integer files): bit-exact.
* ``max_abs_error=e``: every sample within ``e`` (file LSBs for integer files, amplitude for
  float files). Float files have no default: they need ``max_abs_error`` or
  ``bits_per_sample``.
* ``bits_per_sample=r``: the step is searched on a bounded prefix of the file (the first
  ``prefix_seconds``, 10 s by default) so that the prefix costs at most ``r`` bits per
  sample; the whole file is then coded with that step. The rate is met on the prefix: a file
  whose later part is louder or noisier than its start can come out above ``r``.
* ``quantizer="g711"`` (or ``"ulaw"``, ``"mu-law"``, ``"alaw"``, ``"a-law"``, or a
  ``G711Quantizer``): telephony's 8-bit segmented G.711 on 16-bit samples
  (every file is read as int16 for it; soundfile converts other widths). The names select
  the ``variant="audioop"`` encoder, byte for byte CPython's ``audioop.lin2ulaw`` /
  ``lin2alaw``; pass a ``G711Quantizer(variant="itu")`` for the ITU-T G.191 rounding. A
  source not at 8 kHz gives a warning (nothing is resampled).

G.711 out to telephony
----------------------
``decompress_file(src, "out.wav", subtype="ULAW")`` (or ``"ALAW"``) writes a WAV file
whose data bytes are the G.711 codes. libsndfile decodes G.711 to exactly the int16 values
``G711Quantizer`` decodes to, and re-encodes each of those values to the
code it came from, with one exception: mu-law's "negative zero" ``0x7F`` becomes ``0xFF``
(both decode to 0). The audioop-variant encoder never emits ``0x7F``, so with the default
names the WAV bytes are exactly the stream's codes (and ``audioop.lin2ulaw``'s output).

Files are written to a temporary name beside the destination and renamed when complete: a
failure or interruption never leaves a half-written destination, and the source is never
overwritten.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
import os
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from .errors import QuantsigError
from .progress import make_progress

__all__ = [
    "AudioFileError",
    "DecodedFile",
    "compress_file",
    "decompress_file",
    "step_for_bits",
    "g711_quantizer",
    "G711_NAMES",
]

PathLike = str | os.PathLike

DEFAULT_BLOCK = 65536
DEFAULT_PREFIX_SECONDS = 10.0

# subtype -> (dtype soundfile reads it as, bits of the stored integer); float subtypes: bits 0
_INT_SUBTYPES: dict[str, tuple[str, int]] = {
    "PCM_S8": ("int16", 8),
    "PCM_U8": ("int16", 8),
    "PCM_16": ("int16", 16),
    "PCM_24": ("int32", 24),
    "PCM_32": ("int32", 32),
    "ALAC_16": ("int16", 16),
    "ALAC_20": ("int32", 20),
    "ALAC_24": ("int32", 24),
    "ALAC_32": ("int32", 32),
    "DWVW_12": ("int16", 12),
    "DWVW_16": ("int16", 16),
    "DWVW_24": ("int32", 24),
    "DPCM_8": ("int16", 8),
    "DPCM_16": ("int16", 16),
}
# integer codecs that decode to 16-bit samples (values already at full 16-bit scale)
_INT16_CODECS = (
    "ULAW",
    "ALAW",
    "IMA_ADPCM",
    "MS_ADPCM",
    "GSM610",
    "VOX_ADPCM",
    "G721_32",
    "G723_24",
    "G723_40",
    "NMS_ADPCM_16",
    "NMS_ADPCM_24",
    "NMS_ADPCM_32",
)
_FLOAT_SUBTYPES = {"FLOAT": "float32", "DOUBLE": "float64"}

#: ``--quantizer`` names of the G.711 mode -> law
G711_NAMES = {"g711": "mu", "ulaw": "mu", "mu-law": "mu", "mulaw": "mu", "alaw": "a", "a-law": "a"}

_EXTENSION_FORMATS = {
    "wav": "WAV",
    "wave": "WAV",
    "flac": "FLAC",
    "aif": "AIFF",
    "aiff": "AIFF",
    "aifc": "AIFF",
    "snd": "AU",
}


class AudioFileError(QuantsigError, ValueError):
    """An audio file soundfile cannot read or write; the message names the file and the cause.

    Examples
    --------
    >>> import os, tempfile
    >>> from quantsig.audio import compress_file
    >>> tmp = tempfile.TemporaryDirectory()
    >>> src = os.path.join(tmp.name, "notes.txt")
    >>> with open(src, "w") as f:
    ...     _ = f.write("not audio")
    >>> compress_file(src, os.path.join(tmp.name, "notes.qsg"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    quantsig.audio.AudioFileError: cannot read '...notes.txt' as audio: ...
    >>> tmp.cleanup()

    It is also a ``ValueError`` and a ``quantsig.QuantsigError``:

    >>> import quantsig
    >>> from quantsig.audio import AudioFileError
    >>> issubclass(AudioFileError, ValueError), issubclass(AudioFileError, quantsig.QuantsigError)
    (True, True)
    """


@dataclasses.dataclass(frozen=True)
class DecodedFile:
    """What ``decompress_file`` wrote.

    Attributes
    ----------
    path : str
        The file written.
    frames : int
        Rows (time samples) written.
    channels, sample_rate : int
    format, subtype : str
        soundfile's names, e.g. ``"WAV"`` and ``"PCM_16"``.
    seconds : float
        Wall time of the decode.

    Examples
    --------
    >>> from quantsig.audio import DecodedFile
    >>> out = DecodedFile("out.wav", frames=16000, channels=2, sample_rate=8000, format="WAV",
    ...                   subtype="PCM_16", seconds=0.01)
    >>> out.summary()
    'wrote out.wav: 2.00 s, 8000 Hz, 2 ch, WAV PCM_16, 3.20M samples/s'

    ``decompress_file`` returns one (see its example).
    """

    path: str
    frames: int
    channels: int
    sample_rate: int
    format: str
    subtype: str
    seconds: float  #: wall time of the decode

    def summary(self) -> str:
        """One line: ``'wrote out.wav: 2.00 s, 16000 Hz, 2 ch, WAV PCM_16, 12.3M samples/s'``."""
        from .progress import format_rate

        rate = self.frames * self.channels / self.seconds if self.seconds > 0 else float("inf")
        dur = self.frames / self.sample_rate if self.sample_rate else 0.0
        return (
            f"wrote {self.path}: {dur:.2f} s, {self.sample_rate} Hz, {self.channels} ch, "
            f"{self.format} {self.subtype}, {format_rate(rate)}"
        )


# ---------------------------------------------------------------------- helpers


def _sf() -> Any:
    try:
        import soundfile
    except ImportError as e:  # pragma: no cover - soundfile is a dependency
        raise ImportError("quantsig.audio needs soundfile: pip install soundfile") from e
    return soundfile


def _stream() -> Any:
    from . import stream

    return stream


def _read_plan(subtype: str) -> tuple[str, int, str]:
    """``(soundfile read dtype, bits, stream dtype)``; bits 0 for float data."""
    if subtype in _FLOAT_SUBTYPES:
        dt = _FLOAT_SUBTYPES[subtype]
        return dt, 0, dt
    if subtype in _INT_SUBTYPES:
        read, bits = _INT_SUBTYPES[subtype]
    elif subtype in _INT16_CODECS:
        read, bits = "int16", 16
    else:  # lossy codecs (Vorbis, Opus, MPEG) and anything unknown: the decoded float samples
        return "float32", 0, "float32"
    stream_dt = "int8" if bits <= 8 else "int16" if bits <= 16 else "int32"
    return read, bits, stream_dt


def g711_quantizer(name: Any) -> Any:
    """A ``G711Quantizer`` for a G.711 mode name (audioop variant), or ``name``
    itself when it already is a quantizer; ``None`` for ``None``.

    Examples
    --------
    >>> g711_quantizer("alaw")
    G711Quantizer(law='a', variant='audioop')
    """
    from .quantizers.base import Quantizer
    from .quantizers.g711 import G711Quantizer

    if name is None or isinstance(name, Quantizer):
        return name
    if not isinstance(name, str):
        raise TypeError(f"quantizer must be a name or a Quantizer, got {type(name).__name__}")
    key = name.strip().lower().replace("_", "-")
    if key not in G711_NAMES:
        raise ValueError(f"unknown quantizer name {name!r}; expected one of {sorted(G711_NAMES)}")
    return G711Quantizer(law=G711_NAMES[key], variant="audioop")


def _is_g711(q: Any) -> bool:
    from .quantizers.g711 import G711Quantizer

    return isinstance(q, G711Quantizer)


def _check_one_mode(lossless: Any, max_abs_error: Any, bits_per_sample: Any, quantizer: Any) -> None:
    given = [
        name
        for name, v in (
            ("lossless", lossless),
            ("max_abs_error", max_abs_error),
            ("bits_per_sample", bits_per_sample),
            ("quantizer", quantizer),
        )
        if v is not None and v is not False
    ]
    if len(given) > 1:
        raise ValueError(f"give at most one of lossless, max_abs_error, bits_per_sample, quantizer; got {given}")
    for name, v, low in (("bits_per_sample", bits_per_sample, "> 0"), ("max_abs_error", max_abs_error, ">= 0")):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name} must be a number, got {type(v).__name__}")
        fv = float(v)
        if not (fv > 0 if low == "> 0" else fv >= 0) or not math.isfinite(fv):
            raise ValueError(f"{name} must be a finite number {low}, got {v!r}")


def _same_file(a: PathLike, b: PathLike) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _check_paths(src: PathLike, dst: PathLike) -> None:
    if not os.path.exists(src):
        raise FileNotFoundError(2, "No such file or directory", os.fspath(src))
    if _same_file(src, dst):
        raise ValueError(f"refusing to write over the source file {os.fspath(src)!r}; choose another output")
    if os.path.isdir(dst):
        raise IsADirectoryError(21, "Is a directory (give an output file name)", os.fspath(dst))


@contextlib.contextmanager
def atomic_path(dst: PathLike) -> Iterator[str]:
    """Yield a new temporary path beside ``dst``; rename it to ``dst`` if the block succeeds.

    On any exception (or interruption) the temporary file is removed and ``dst`` is left as
    it was. The file is created with mode 0o666 minus the umask, like any new file (not
    ``mkstemp``'s 0o600, which the rename would keep).
    """
    dst = os.fspath(dst)
    folder = os.path.dirname(os.path.abspath(dst))
    for _ in range(100):
        tmp = os.path.join(folder, f".{os.path.basename(dst)}.{os.urandom(4).hex()}.part")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
    else:  # pragma: no cover
        raise FileExistsError(17, "cannot create a temporary file", folder)
    try:
        yield tmp
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _open_audio(src: PathLike) -> Any:
    sf = _sf()
    if not os.path.exists(src):
        raise FileNotFoundError(2, "No such file or directory", os.fspath(src))
    try:
        return sf.SoundFile(src)
    except sf.SoundFileError as e:
        msg = str(e).split(": ", 1)[-1] if str(e).startswith("Error opening") else str(e)
        raise AudioFileError(f"cannot read {os.fspath(src)!r} as audio: {msg}") from None


# ---------------------------------------------------------------------- rate target


def step_for_bits(x: np.ndarray, bits_per_sample: float, **writer_options: Any) -> float:
    """The residual step with which ``x`` costs at most ``bits_per_sample`` bits per sample.

    ``x`` is a bounded sample of the data (a prefix); ``writer_options`` (``frame_size``,
    ``sample_rate``, ``metadata``...) should be those of the stream that will use the step,
    since the header counts too. This is ``quantsig.stream.compress_array``'s rate search
    (complete streams written in memory, bytes counted, the finest step that fits); integer
    data gets a whole step, 1 meaning lossless.

    Raises
    ------
    ValueError
        If no step reaches the rate (the stream's fixed costs alone exceed it).

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.audio import step_for_bits
    >>> from quantsig.stream import compress_array
    >>> rng = np.random.default_rng(0)
    >>> x = (3000 * np.sin(np.arange(500) / 7) + rng.normal(0, 20, 500)).astype(np.int16)
    >>> _, lossless = compress_array(x, lossless=True)
    >>> bool(lossless.bits_per_sample > 4)
    True
    >>> step = step_for_bits(x, 4.0)
    >>> _, stats = compress_array(x, step=step)
    >>> step > 1, bool(stats.bits_per_sample <= 4.0), bool(stats.max_abs_error <= step / 2)
    (True, True, True)
    >>> step_for_bits(x[:50], 1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: bits_per_sample=1.0 cannot be met: ... is the lowest rate reached
    """
    _, stats = _stream().compress_array(np.asarray(x), bits_per_sample=bits_per_sample, **writer_options)
    return stats.extra["step"]


def _read_prefix(f: Any, rows: int, read_dt: str, shift: int, stream_dt: str) -> np.ndarray:
    f.seek(0)
    x = f.read(rows, dtype=read_dt, always_2d=f.channels > 1)
    f.seek(0)
    return _to_stream(x, shift, stream_dt)


def _to_stream(block: np.ndarray, shift: int, stream_dt: str) -> np.ndarray:
    if shift:
        block >>= shift
    if block.dtype != np.dtype(stream_dt):
        block = block.astype(stream_dt)
    return block


# ---------------------------------------------------------------------- compress


def compress_file(
    src: PathLike,
    dst: PathLike,
    *,
    lossless: bool | None = None,
    max_abs_error: float | None = None,
    bits_per_sample: float | None = None,
    quantizer: Any = None,
    frame_size: int | None = None,
    block_size: int = DEFAULT_BLOCK,
    prefix_seconds: float = DEFAULT_PREFIX_SECONDS,
    metadata: dict[str, Any] | None = None,
    progress: Any = None,
    **writer_options: Any,
) -> Any:
    """Compress the audio file ``src`` into the quantsig stream file ``dst``.

    Parameters
    ----------
    src : path
        Any file soundfile reads (WAV, FLAC, AIFF, AU, OGG...).
    dst : path
        The ``.qsg`` file to write (atomically: a temporary file renamed when complete).
    lossless : bool, optional
        The mode, at most one of ``lossless``, ``max_abs_error``, ``bits_per_sample`` and
        ``quantizer`` (see the module docstring). Default: lossless for integer files; float
        files need ``max_abs_error`` or ``bits_per_sample``.
    max_abs_error : float, optional
        Mode: every sample within this of the input.
    bits_per_sample : float, optional
        Mode: at most this many bits per sample.
    quantizer : optional
        Mode: code the samples with this quantizer.
    frame_size : int, optional
        Samples per frame (the stream writer's default when None).
    block_size : int
        Rows read from ``src`` at a time.
    prefix_seconds : float
        Length of the prefix on which ``bits_per_sample`` chooses the step.
    metadata : dict, optional
        Extra JSON metadata stored in the stream.
    progress : bool or object with ``update(n)``, optional
        True draws a progress bar on stderr (when it is a terminal); an object gets
        ``update(rows)`` after each block.
    **writer_options
        Passed to ``quantsig.stream.StreamWriter`` (``max_order``, ``stereo``...).

    Returns
    -------
    quantsig.stream.StreamStats
        Samples, ratio, bits per sample, achieved max error and SNR (against the samples as
        read: for G.711, the int16 samples).

    Raises
    ------
    FileNotFoundError
        ``src`` does not exist.
    AudioFileError
        soundfile cannot read ``src`` (its message is included).
    ValueError
        Conflicting modes, a float file with no mode, or ``dst`` naming the source.

    Examples
    --------
    >>> import os, tempfile, numpy as np, soundfile as sf
    >>> from quantsig.audio import compress_file, decompress_file
    >>> tmp = tempfile.TemporaryDirectory()
    >>> d = tmp.name
    >>> x = (np.sin(np.arange(2000) / 5) * 10000).astype(np.int16)
    >>> sf.write(os.path.join(d, "a.wav"), x, 8000, subtype="PCM_16")
    >>> stats = compress_file(os.path.join(d, "a.wav"), os.path.join(d, "a.qsg"))
    >>> stats.max_abs_error == 0, stats.ratio > 1
    (True, True)
    >>> out = decompress_file(os.path.join(d, "a.qsg"), os.path.join(d, "b.wav"))
    >>> (out.sample_rate, out.subtype), bool((sf.read(out.path, dtype="int16")[0] == x).all())
    ((8000, 'PCM_16'), True)
    >>> tmp.cleanup()
    """
    _check_one_mode(lossless, max_abs_error, bits_per_sample, quantizer)
    _check_paths(src, dst)
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be a positive int, got {block_size!r}")
    stream = _stream()
    q = g711_quantizer(quantizer)
    with _open_audio(src) as f:
        fmt, subtype, rate, channels, frames = f.format, f.subtype, f.samplerate, f.channels, f.frames
        if q is not None and _is_g711(q):
            read_dt, bits, stream_dt = "int16", 16, "int16"
            if rate != 8000:
                warnings.warn(
                    f"{os.fspath(src)!r} is sampled at {rate} Hz, not G.711's 8000 Hz; "
                    "coded at its own rate (nothing resampled)",
                    UserWarning,
                    stacklevel=2,
                )
        else:
            read_dt, bits, stream_dt = _read_plan(subtype)
        shift = (8 * np.dtype(read_dt).itemsize - bits) if bits else 0
        is_float = bits == 0
        mode: dict[str, Any]
        if q is not None:
            mode = {"quantizer": q}
        elif max_abs_error is not None:
            mode = {"max_abs_error": max_abs_error}
        elif bits_per_sample is not None:
            mode = {}
        elif lossless is False or is_float:
            raise ValueError(
                f"{os.fspath(src)!r} holds {subtype} samples"
                + (" (floating point)" if is_float else "")
                + ": say how much may be lost, with max_abs_error= (--max-error) or"
                " bits_per_sample= (--bits)" + ("" if is_float else ", or use lossless=True")
            )
        else:
            mode = {"lossless": True}
        meta: dict[str, Any] = {
            "format": fmt,
            "subtype": subtype,
            "sample_rate": int(rate),
            "channels": int(channels),
            "source": os.path.basename(os.fspath(src)),
        }
        if bits:
            meta["pcm_bits"] = bits
        if metadata:
            meta.update(metadata)
        opts: dict[str, Any] = dict(writer_options)
        if frame_size is not None:
            opts["frame_size"] = frame_size
        if bits_per_sample is not None:
            prefix_rows = max(int(prefix_seconds * rate), 1)
            prefix = _read_prefix(f, prefix_rows, read_dt, shift, stream_dt)
            if prefix.shape[0] == 0:
                raise ValueError(f"{os.fspath(src)!r} holds no samples: no rate to aim at")
            meta["bits_per_sample_target"] = float(bits_per_sample)
            # the same writer options and metadata as the file's stream: on a file no longer
            # than the prefix, the file's rate is exactly the prefix's
            step = step_for_bits(prefix, bits_per_sample, sample_rate=int(rate), metadata=meta, **opts)
            mode = {"lossless": True} if bits and step == 1 else {"step": step}
            del prefix
        bar = make_progress(progress, frames if frames >= 0 else None, os.path.basename(os.fspath(src)))
        try:
            with atomic_path(dst) as tmp:
                writer = stream.StreamWriter(
                    tmp, channels=channels, dtype=stream_dt, sample_rate=int(rate), metadata=meta, **mode, **opts
                )
                with writer:
                    while True:
                        block = f.read(block_size, dtype=read_dt, always_2d=channels > 1)
                        if block.shape[0] == 0:
                            break
                        writer.write(_to_stream(block, shift, stream_dt))
                        if bar is not None:
                            bar.update(block.shape[0])
                stats = writer.close()
        finally:
            if bar is not None and hasattr(bar, "close"):
                bar.close()
    return stats


# ---------------------------------------------------------------------- decompress


def _format_for(dst: PathLike, format: str | None) -> str:
    sf = _sf()
    if format is None:
        ext = os.path.splitext(os.fspath(dst))[1].lower().lstrip(".")
        fmt = _EXTENSION_FORMATS.get(ext) or (ext.upper() if ext.upper() in sf.available_formats() else None)
        if fmt is None:
            raise ValueError(
                f"cannot tell the audio format from {os.fspath(dst)!r}; name it .wav or .flac, or pass format="
            )
        return fmt
    fmt = str(format).upper()
    if fmt not in sf.available_formats():
        raise ValueError(f"unknown audio format {format!r}; e.g. 'WAV' or 'FLAC'")
    return fmt


def _subtype_candidates(stream_dtype: np.dtype, bits: int) -> list[str]:
    if stream_dtype.kind == "f":
        first = ["DOUBLE", "FLOAT"] if stream_dtype.itemsize == 8 else ["FLOAT", "DOUBLE"]
        return first + ["PCM_32", "PCM_24", "PCM_16"]
    order = ["PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32"]
    need = 0 if bits <= 8 else 2 if bits <= 16 else 3 if bits <= 24 else 4
    # the narrowest subtype holding every bit, then wider, then (losing bits) narrower ones
    return order[need:] + order[:need][::-1] + ["FLOAT", "DOUBLE"]


def _choose_subtype(fmt: str, wanted: str | None, original: str | None, dtype: np.dtype, bits: int) -> str:
    sf = _sf()
    available = sf.available_subtypes(fmt)
    if wanted is not None:
        st = str(wanted).upper()
        if not sf.check_format(fmt, st):
            raise ValueError(f"{fmt} files cannot hold subtype {wanted!r}; {fmt} offers {sorted(available)}")
        return st
    if original and sf.check_format(fmt, original):
        return original
    for st in _subtype_candidates(dtype, bits):
        if st in available and sf.check_format(fmt, st):
            return st
    raise ValueError(f"no {fmt} subtype can hold {dtype} samples")  # pragma: no cover


def _subtype_bits(st: str) -> int | None:
    return {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}.get(st)


def decompress_file(
    src: PathLike,
    dst: PathLike,
    *,
    format: str | None = None,
    subtype: str | None = None,
    sample_rate: int | None = None,
    block_size: int = DEFAULT_BLOCK,
    progress: Any = None,
    compression_level: float | None = None,
) -> DecodedFile:
    """Decode the quantsig stream ``src`` into the audio file ``dst`` (WAV or FLAC), block by block.

    Parameters
    ----------
    src : path
        A stream written by ``compress_file`` (or any stream with a sample rate).
    dst : path
        The audio file to write, atomically; never the source.
    format : str, optional
        ``"WAV"`` or ``"FLAC"`` (any format soundfile writes); default from ``dst``'s extension.
    subtype : str, optional
        Default: the source file's subtype when the format holds it, else the nearest one
        that does (FLAC holds PCM_S8/16/24 only: 32-bit and float streams become PCM_24, with
        a warning that bits are lost). ``"ULAW"`` / ``"ALAW"`` write G.711 bytes (see the
        module docstring).
    sample_rate : int, optional
        Needed only for streams that carry none (made from arrays).
    block_size : int
        Rows decoded at a time.
    progress : bool or object with ``update(n)``, optional
        As in ``compress_file``.
    compression_level : float, optional
        soundfile's FLAC compression level in [0, 1].

    Returns
    -------
    DecodedFile

    Raises
    ------
    CorruptFileError
        ``src`` is not a valid stream.
    ValueError
        No sample rate, an unknown format, or a subtype the format cannot hold.

    Examples
    --------
    A stereo stream made from an array, out to FLAC:

    >>> import os, tempfile, numpy as np, soundfile as sf, quantsig
    >>> from quantsig.audio import decompress_file
    >>> tmp = tempfile.TemporaryDirectory()
    >>> src = os.path.join(tmp.name, "a.qsg")
    >>> x = (np.sin(np.arange(600) / 5) * 10000).astype(np.int16).reshape(300, 2)
    >>> with open(src, "wb") as f:
    ...     _ = f.write(quantsig.compress(x, lossless=True, sample_rate=16000))
    >>> out = decompress_file(src, os.path.join(tmp.name, "a.flac"))
    >>> out.frames, out.channels, out.sample_rate, out.format, out.subtype
    (300, 2, 16000, 'FLAC', 'PCM_16')
    >>> y, rate = sf.read(out.path, dtype="int16")
    >>> rate, np.array_equal(y, x)
    (16000, True)

    A stream without a sample rate needs one:

    >>> with open(src, "wb") as f:
    ...     _ = f.write(quantsig.compress(x, lossless=True))
    >>> decompress_file(src, os.path.join(tmp.name, "b.wav"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: '...a.qsg' carries no sample rate (it was not made from an audio file); pass sample_rate= (--rate) or decode it to .npy
    >>> decompress_file(src, os.path.join(tmp.name, "b.wav"), sample_rate=8000).sample_rate
    8000
    >>> tmp.cleanup()
    """
    sf = _sf()
    stream = _stream()
    _check_paths(src, dst)
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be a positive int, got {block_size!r}")
    fmt = _format_for(dst, format)
    t0 = time.perf_counter()
    with stream.StreamReader(src) as reader:
        meta = dict(reader.metadata or {})
        if not reader.complete:
            warnings.warn(
                f"{os.fspath(src)!r} is incomplete (cut off while it was written, no index): "
                f"decoding the {len(reader)} samples of its complete frames",
                UserWarning,
                stacklevel=2,
            )
        rate = sample_rate or reader.sample_rate or meta.get("sample_rate")
        if not rate:
            raise ValueError(
                f"{os.fspath(src)!r} carries no sample rate (it was not made from an audio file); "
                "pass sample_rate= (--rate) or decode it to .npy"
            )
        dtype = np.dtype(reader.dtype)
        channels = int(reader.channels)
        if dtype.kind == "f":
            bits = 0
        else:
            bits = int(meta.get("pcm_bits") or 8 * dtype.itemsize)
        st = _choose_subtype(fmt, subtype, meta.get("subtype"), dtype, bits)
        out_bits = _subtype_bits(st)
        if (dtype.kind == "f" and out_bits) or (bits and out_bits and out_bits < bits):
            warnings.warn(
                f"{fmt} {st} cannot hold the stream's {'float' if dtype.kind == 'f' else f'{bits}-bit'} "
                "samples exactly: they are rounded",
                UserWarning,
                stacklevel=2,
            )
        # integers go out left-aligned in int16 (up to 16 bits) or int32, as soundfile expects
        if bits:
            write_dt = np.dtype("int16") if bits <= 16 else np.dtype("int32")
            shift = 8 * write_dt.itemsize - bits
        else:
            write_dt, shift = dtype, 0
        n = len(reader)
        bar = make_progress(progress, n, os.path.basename(os.fspath(dst)))
        kw: dict[str, Any] = {}
        if compression_level is not None:
            kw["compression_level"] = compression_level
        try:
            with atomic_path(dst) as tmp:
                try:
                    out = sf.SoundFile(tmp, "w", samplerate=int(rate), channels=channels, subtype=st, format=fmt, **kw)
                except sf.SoundFileError as e:
                    raise AudioFileError(f"cannot write {os.fspath(dst)!r} as {fmt} {st}: {e}") from None
                with out:
                    written = 0
                    for block in reader.blocks(block_size):
                        b = block.astype(write_dt) if block.dtype != write_dt else block
                        if shift:
                            b = b << shift
                        out.write(b)
                        written += block.shape[0]
                        if bar is not None:
                            bar.update(block.shape[0])
        finally:
            if bar is not None and hasattr(bar, "close"):
                bar.close()
    return DecodedFile(
        path=os.fspath(dst),
        frames=written,
        channels=channels,
        sample_rate=int(rate),
        format=fmt,
        subtype=st,
        seconds=time.perf_counter() - t0,
    )
