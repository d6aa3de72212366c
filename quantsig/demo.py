"""The README's main job: stream real and generated recordings through the codec, then compare
every quantizer family on one signal.

``run_stream_demo`` compresses WAV files with the streaming codec (lossless beside FLAC,
error-bounded, 4 bits per sample, G.711) and keeps the ``.qsg`` files. ``run_demo``:

A speech-like recording (8 kHz, 16-bit PCM) is synthesized, written to a WAV file and read
back through soundfile, then quantized by each quantizer and written as an entropy-coded
``.qsg`` file (read back and checked); the table gives levels, fixed-rate bits per sample,
the bits per sample actually written (file size, headers and tables included), the
compression ratio against the 16-bit PCM, SNR, maximum error and encode/decode speed.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import soundfile as sf

from . import metrics
from .api import load, save
from .datasets import music_like, speech_like
from .quantizers.alaw import ALawQuantizer
from .quantizers.base import Quantizer
from .quantizers.g711 import G711Quantizer
from .quantizers.lloydmax import LloydMaxQuantizer
from .quantizers.mulaw import MuLawQuantizer
from .quantizers.uniform import UniformQuantizer

__all__ = ["DemoRow", "run_demo", "format_table", "StreamRow", "run_stream_demo", "format_stream_rows"]


@dataclass
class DemoRow:
    """One line of the demo report.

    Attributes
    ----------
    name : str
        The case, e.g. ``"mu-law 8-bit"``.
    quantizer : str
        The quantizer's repr.
    levels : int
        Reconstruction levels.
    bits_per_sample : float
        Fixed-rate bits per sample (``log2(levels) / dim``).
    file_bits_per_sample : float
        Bits per sample the ``.qsg`` file actually took, headers and tables included.
    file_bytes : int
        The size of the ``.qsg`` file.
    snr_db, max_abs_error : float
        Against the input, in full-scale units (PCM divided by 32768).
    encode_msps, decode_msps : float
        Speed in millions of samples per second (best of three runs).

    Examples
    --------
    >>> from quantsig.demo import DemoRow, format_table
    >>> row = DemoRow(name="mu-law 8-bit", quantizer="MuLawQuantizer()", levels=256, bits_per_sample=8.0,
    ...               file_bits_per_sample=7.2, file_bytes=7200, snr_db=38.0, max_abs_error=0.0169,
    ...               encode_msps=250.0, decode_msps=400.0)
    >>> row.file_bytes * 8 / row.file_bits_per_sample  # samples in the recording
    8000.0
    >>> print(format_table([row]).splitlines()[-1])
    mu-law 8-bit          256      8.00    7.200  2.22x   38.00    0.01690     250.0     400.0
    """

    name: str
    quantizer: str
    levels: int
    bits_per_sample: float
    file_bits_per_sample: float
    file_bytes: int
    snr_db: float
    max_abs_error: float
    encode_msps: float
    decode_msps: float


def _kmeans(levels: int, dim: int) -> Quantizer:
    from .quantizers.kmeans import KMeansVectorQuantizer

    return KMeansVectorQuantizer(levels, dim=dim, random_state=0)


def _cases() -> list[tuple[str, Callable[[], Quantizer], str]]:
    """(name, factory, input kind) for every quantizer family."""
    return [
        ("uniform 8-bit", lambda: UniformQuantizer(bits=8, lo=-1.0, hi=1.0), "float"),
        ("mu-law 8-bit", lambda: MuLawQuantizer(bits=8), "float"),
        ("A-law 8-bit", lambda: ALawQuantizer(bits=8), "float"),
        ("G.711 mu-law", lambda: G711Quantizer(law="mu"), "pcm"),
        ("G.711 A-law", lambda: G711Quantizer(law="a"), "pcm"),
        ("Lloyd-Max 256", lambda: LloydMaxQuantizer(256), "float"),
        ("uniform 4-bit", lambda: UniformQuantizer(bits=4, lo=-1.0, hi=1.0), "float"),
        ("Lloyd-Max 16", lambda: LloydMaxQuantizer(16), "float"),
        ("k-means VQ 256x2", lambda: _kmeans(256, 2), "float"),
    ]


def _best_time(func: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run_demo(seconds: float = 30.0, output: str | None = None, seed: int = 0) -> tuple[list[DemoRow], str]:
    """Run the demo; return the rows and the path of the WAV file that was quantized.

    Parameters
    ----------
    seconds : float
        Length of the synthesized recording.
    output : str, optional
        Folder for the source WAV and one reconstructed WAV per quantizer; a temporary
        folder (removed afterwards) when not given.
    seed : int
        Seed of the synthetic speech.

    Returns
    -------
    (list of DemoRow, str)
        One row per quantizer, and the path of the source WAV (removed with its folder when
        ``output`` is not given).

    Examples
    --------
    Not run here: it fits a 256-level Lloyd-Max quantizer and a 256-codeword k-means, which
    takes seconds when the kernels run as plain Python (``NUMBA_DISABLE_JIT=1``). Recordings
    shorter than 2.5 s give k-means fewer training vectors than it wants (a
    ``TrainingSizeWarning``); shorter than 0.064 s, fewer vectors than codewords (an error).

    >>> from quantsig.demo import format_table, run_demo
    >>> rows, wav = run_demo(seconds=3.0)  # doctest: +SKIP
    >>> [r.name for r in rows][:3]  # doctest: +SKIP
    ['uniform 8-bit', 'mu-law 8-bit', 'A-law 8-bit']
    >>> print(format_table(rows))  # doctest: +SKIP
    quantizer          levels fixed b/s file b/s  ratio  SNR dB  max |err|  enc MS/s  dec MS/s
    ------------------------------------------------------------------------------------------
    uniform 8-bit         256      8.00    ...
    """
    keep = output is not None
    folder: str = output if output is not None else tempfile.mkdtemp(prefix="quantsig-demo-")
    os.makedirs(folder, exist_ok=True)
    src = os.path.join(folder, "speech_8k.wav")
    sf.write(src, speech_like(seconds, 8000, seed), 8000, subtype="PCM_16")
    pcm, rate = sf.read(src, dtype="int16")
    x = (pcm.astype(np.float32) / 32768.0).astype(np.float32)
    rows = []
    for name, factory, kind in _cases():
        q = factory()
        data = pcm if kind == "pcm" else x
        if q.requires_fit:
            q.fit(data)
        q.encode(data[:64])  # compile outside the timing
        t_enc, codes = _best_time(partial(q.encode, data))
        out_dtype = np.int16 if kind == "pcm" else np.float32
        t_dec, rec = _best_time(partial(q.decode, codes, dtype=out_dtype))
        ref = data.astype(np.float64) / (32768.0 if kind == "pcm" else 1.0)
        got = rec.astype(np.float64) / (32768.0 if kind == "pcm" else 1.0)
        bits = float(q.bits) / q.dim if q.bits is not None else float("nan")
        safe = name.replace(" ", "_").replace(".", "").replace("-", "")
        qsg = os.path.join(folder, f"{safe}.qsg")
        file_bytes = save(qsg, data, q, metadata={"source": os.path.basename(src), "sample_rate": rate})
        if not np.array_equal(load(qsg), rec):
            raise RuntimeError(f"{qsg} did not decode to the quantized signal")  # pragma: no cover
        rows.append(
            DemoRow(
                name=name,
                quantizer=repr(q),
                levels=int(q.n_levels or 0),
                bits_per_sample=bits,
                file_bits_per_sample=8.0 * file_bytes / data.size,
                file_bytes=file_bytes,
                snr_db=metrics.snr_db(ref, got),
                max_abs_error=metrics.max_abs_error(ref, got),
                encode_msps=data.size / t_enc / 1e6,
                decode_msps=data.size / t_dec / 1e6,
            )
        )
        if keep:
            sf.write(os.path.join(folder, f"{safe}.wav"), got.astype(np.float32), rate, subtype="PCM_16")
    if not keep:
        for f in os.listdir(folder):
            os.remove(os.path.join(folder, f))
        os.rmdir(folder)
    return rows, src


def format_table(rows: list[DemoRow]) -> str:
    """Render demo rows as an aligned text table.

    The ratio column is against 16-bit PCM (``16 / file_bits_per_sample``).

    Examples
    --------
    >>> from quantsig.demo import DemoRow, format_table
    >>> rows = [
    ...     DemoRow("uniform 8-bit", "UniformQuantizer(bits=8)", 256, 8.0, 7.925, 7925, 35.09, 0.0039, 300.0, 390.0),
    ...     DemoRow("G.711 mu-law", "G711Quantizer()", 256, 8.0, 8.5, 8500, 37.35, 0.015, 680.0, 440.0),
    ... ]
    >>> print(format_table(rows))
    quantizer          levels fixed b/s file b/s  ratio  SNR dB  max |err|  enc MS/s  dec MS/s
    ------------------------------------------------------------------------------------------
    uniform 8-bit         256      8.00    7.925  2.02x   35.09    0.00390     300.0     390.0
    G.711 mu-law          256      8.00    8.500  1.88x   37.35    0.01500     680.0     440.0
    """
    head = (
        f"{'quantizer':<18} {'levels':>6} {'fixed b/s':>9} {'file b/s':>8} {'ratio':>6} "
        f"{'SNR dB':>7} {'max |err|':>10} {'enc MS/s':>9} {'dec MS/s':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.name:<18} {r.levels:>6} {r.bits_per_sample:>9.2f} {r.file_bits_per_sample:>8.3f} "
            f"{16.0 / r.file_bits_per_sample:>5.2f}x {r.snr_db:>7.2f} "
            f"{r.max_abs_error:>10.5f} {r.encode_msps:>9.1f} {r.decode_msps:>9.1f}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------- streams
@dataclass
class StreamRow:
    """One streaming compression of the demo: what was asked, what it cost, where it went.

    Attributes
    ----------
    source : str
        Description of the recording.
    mode : str
        ``"lossless"``, ``"max-error"``, ``"4 bits"`` or ``"G.711"``.
    path : str
        The ``.qsg`` file written.
    stats : quantsig.stream.StreamStats
        What ``quantsig.audio.compress_file`` returned.
    flac_bits_per_sample : float, optional
        FLAC's rate on the same samples (lossless rows only).

    Examples
    --------
    >>> import os, tempfile, numpy as np, soundfile as sf
    >>> from quantsig.audio import compress_file
    >>> from quantsig.demo import StreamRow
    >>> tmp = tempfile.TemporaryDirectory()
    >>> wav, qsg = os.path.join(tmp.name, "tone.wav"), os.path.join(tmp.name, "tone.qsg")
    >>> sf.write(wav, (np.sin(np.arange(1000) / 5) * 10000).astype(np.int16), 8000)
    >>> row = StreamRow("a tone", "lossless", qsg, compress_file(wav, qsg, lossless=True))
    >>> row.stats.samples, row.stats.max_abs_error, bool(row.stats.ratio > 1)
    (1000, 0.0, True)
    >>> tmp.cleanup()
    """

    source: str
    mode: str
    path: str
    stats: Any
    flac_bits_per_sample: float | None = None


def cpython_recording() -> str | None:
    """CPython's test suite ships a real recording (a plucked string, 16-bit stereo WAV); its
    path, or None when this Python was installed without its tests."""
    import sysconfig

    path = os.path.join(sysconfig.get_paths()["stdlib"], "test", "audiodata", "pluck-pcm16.wav")
    return path if os.path.exists(path) else None


def _flac_bits(pcm: np.ndarray, rate: int) -> float:
    import io

    buf = io.BytesIO()
    sf.write(buf, pcm, rate, format="FLAC", subtype="PCM_16", compression_level=1.0)
    return 8.0 * len(buf.getvalue()) / pcm.size


def run_stream_demo(seconds: float, folder: str, progress: Any = None) -> list[StreamRow]:
    """Stream real and generated recordings through the codec; every file is read back and checked.

    Sources: CPython's real recording (when installed), a generated stereo music WAV
    (44.1 kHz, ``seconds`` long) and a generated speech WAV (8 kHz). Modes: lossless (beside
    FLAC at its strongest setting on the same samples), a max-error bound, 4 bits per
    sample, and G.711 for the telephone-band speech.

    Parameters
    ----------
    seconds : float
        Length of the generated recordings (at least about 0.1 s: shorter ones cannot reach
        4 bits per sample, their fixed costs being too large a part).
    folder : str
        Where the WAV and ``.qsg`` files go (created if needed; the files are kept).
    progress : bool or object with ``update(n)``, optional
        Passed to ``quantsig.audio.compress_file``.

    Returns
    -------
    list of StreamRow

    Examples
    --------
    Not run here: it codes a dozen files, which takes about a minute when the kernels run as
    plain Python (``NUMBA_DISABLE_JIT=1``).

    >>> import tempfile
    >>> from quantsig.demo import format_stream_rows, run_stream_demo
    >>> with tempfile.TemporaryDirectory() as folder:  # doctest: +SKIP
    ...     rows = run_stream_demo(1.0, folder)
    ...     print(format_stream_rows(rows))
    recording (CPython's pluck-pcm16.wav):
      lossless  ratio 1.386x  11.540 bits/sample  SNR inf dB  max error 0  0.4 Msamples/s  (FLAC -8: 13.288 bits/sample)
                -> .../pluck-pcm16.lossless.qsg
    ...
    """
    from .audio import compress_file
    from .stream import StreamReader, compress_array

    os.makedirs(folder, exist_ok=True)
    # compile the kernels first (cached on disk after the first run), so that the speeds in
    # the summary lines are the codec's, not the compiler's
    warm = np.stack([music_like(0.05, 44100)] * 2, axis=1)
    for opts in ({"lossless": True}, {"max_abs_error": 4}, {"step": 9}):
        compress_array((warm * 9000).astype(np.int16), **opts)
    music = music_like(seconds, 44100)
    right = np.roll(music, 7) * 0.8 + 0.05 * speech_like(seconds, 44100, seed=1)
    stereo = np.stack([music, right], axis=1)
    sources = []
    real = cpython_recording()
    if real is not None:
        sources.append(("recording (CPython's pluck-pcm16.wav)", real, ("lossless", "max-error", "4 bits")))
    music_wav = os.path.join(folder, "music_44k_stereo.wav")
    sf.write(music_wav, stereo * 0.7, 44100, subtype="PCM_16")
    sources.append((f"generated music, {seconds:g} s stereo 44.1 kHz", music_wav, ("lossless", "max-error", "4 bits")))
    speech_wav = os.path.join(folder, "speech_8k.wav")
    sf.write(speech_wav, speech_like(seconds, 8000), 8000, subtype="PCM_16")
    sources.append((f"generated speech, {seconds:g} s mono 8 kHz", speech_wav, ("lossless", "4 bits", "G.711")))
    options: dict[str, dict[str, Any]] = {
        "lossless": {"lossless": True},
        "max-error": {"max_abs_error": 4},
        "4 bits": {"bits_per_sample": 4.0},
        "G.711": {"quantizer": "g711"},
    }
    rows = []
    for label, path, modes in sources:
        pcm, rate = sf.read(path, dtype="int16")
        stem = os.path.splitext(os.path.basename(path))[0]
        for mode in modes:
            dst = os.path.join(folder, f"{stem}.{mode.replace(' ', '').replace('.', '').lower()}.qsg")
            stats = compress_file(path, dst, progress=progress, **options[mode])
            with StreamReader(dst) as r:
                back = r.read().reshape(pcm.shape)
            err = np.abs(back.astype(np.int64) - pcm.astype(np.int64)).max() if mode != "G.711" else 0
            if (mode == "lossless" and err) or (mode == "max-error" and err > 4):
                raise RuntimeError(f"{dst} does not decode within its bound")  # pragma: no cover
            flac = _flac_bits(pcm, rate) if mode == "lossless" else None
            rows.append(StreamRow(label, mode, dst, stats, flac))
    return rows


def format_stream_rows(rows: list[StreamRow]) -> str:
    """The summary line of each streaming compression, grouped by source.

    Examples
    --------
    >>> from quantsig.demo import StreamRow, format_stream_rows
    >>> from quantsig.stream import StreamStats
    >>> lossless = StreamStats(samples=8000, file_bytes=9000, mode="lossless", seconds=0.004)
    >>> g711 = StreamStats(samples=8000, file_bytes=7200, mode="quantizer", seconds=0.002,
    ...                    max_abs_error=507.0, signal_energy=1e12, error_energy=2e8)
    >>> rows = [
    ...     StreamRow("speech, 1 s mono 8 kHz", "lossless", "speech.lossless.qsg", lossless, 10.5),
    ...     StreamRow("speech, 1 s mono 8 kHz", "G.711", "speech.g711.qsg", g711),
    ... ]
    >>> print(format_stream_rows(rows))
    speech, 1 s mono 8 kHz:
      lossless  ratio 1.778x  9.000 bits/sample  SNR inf dB  max error 0  2.0 Msamples/s  (FLAC -8: 10.500 bits/sample)
                -> speech.lossless.qsg
      G.711     ratio 2.222x  7.200 bits/sample  SNR 36.99 dB  max error 507  4.0 Msamples/s
                -> speech.g711.qsg
    """
    out = []
    last = None
    for row in rows:
        if row.source != last:
            out.append(f"{row.source}:")
            last = row.source
        line = f"  {row.mode:9s} {row.stats.summary()}"
        if row.flac_bits_per_sample is not None:
            line += f"  (FLAC -8: {row.flac_bits_per_sample:.3f} bits/sample)"
        out.append(line)
        out.append(f"  {'':9s} -> {row.path}")
    return "\n".join(out)
