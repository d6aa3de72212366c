"""Streams: quantsig's predictive codec against FLAC, SZ3, ZFP, audioop and zstd, side by side.

Every comparison runs in this process, on the same data, one core. The data are real
recordings and measured series that installed packages ship (:mod:`quantsig.realdata`: CPython's
``pluck`` and ``audiotest`` recordings, PyWavelets' ECG and Nino 3 temperatures, statsmodels'
CO2, El Nino, sunspot and Nile series) and generated audio (:func:`quantsig.datasets.speech_like`
at 8 kHz and :func:`~quantsig.datasets.music_like` at 44.1 kHz, rounded to int16). A slot whose
data is missing on this machine reports its rows as skipped, naming the package to install.

Sections (row names ``stream.<section>.<data>...``):

* ``lossless``: ``quantsig.compress(x, lossless=True)`` on 16-bit PCM against FLAC through
  soundfile into ``io.BytesIO`` (``compression_level=1.0``, i.e. level 8, and libsndfile's
  default, level 5) and zstd -19 / -3 on the raw PCM bytes (the floor). Size rows and encode /
  decode speed rows (against FLAC's default). Every round trip is checked bit-exact first.
* ``maxerr``: ``quantsig.compress(x, max_abs_error=e)`` against SZ3 (``pysz``, absolute
  bound), SZ3 through h5py + hdf5plugin (an in-memory HDF5 file, ``driver="core"``,
  ``backing_store=False``, one chunk; its size is the dataset's storage, the HDF5 file's own
  overhead excluded) and ZFP (``zfpy.compress_numpy(x, tolerance=e)``), at ``e`` = 1e-2, 1e-3
  and 1e-4 of the data's range, on 1-D series (float64) and mono audio (float32, int16 / 32768).
  Our bound is checked on every sample of the reconstruction in its own dtype: a single
  violation makes the row an error. Peers' achieved errors and violations are reported.
  ``stream.maxerr.geomean.vs_pysz`` is the geometric mean of the size ratio against pysz.
* ``bits4`` / ``g711``: ``quantsig.compress(x, bits_per_sample=4)`` against IMA ADPCM
  (``audioop.lin2adpcm``, 4 bits/sample) and ``quantsig.compress(x,
  quantizer=G711Quantizer())`` against ``audioop.lin2ulaw`` (8 bits/sample), mono int16.
* ``memory``: peak RSS (``VmHWM``, or ``resource.getrusage`` off Linux) of a subprocess that writes (``StreamWriter``)
  or reads (``StreamReader.blocks``) a generated lossless stream, against the same for a stream
  10x shorter. The peak counts every resident page, file pages mapped with ``mmap`` included.

Ratios stay "higher is better for quantsig" (see :mod:`_common`), but only the speed rows are
``kind="speedup"`` (``peer_s / ours_s``). The other rows are :class:`MetricRow`:

* ``kind="size"``: ``ratio = peer size / our size`` (bytes, or bits per sample for G.711);
* ``kind="noise"``: ``ratio = peer error power / our error power`` (10 ** (dB gained / 10):
  "6 dB better" is 3.98x; an exact reconstruction is credited with the int16 grid's own
  rounding noise, 1/12 LSB^2, so the ratio stays finite);
* ``kind="memory"``: ``ratio = peak RSS of the short stream / (the short run's baseline + the
  10x longer stream's growth above its own baseline)`` (1.0 = independent of length; the
  baselines are compared out because the interpreter's start-up RSS varies between runs).

Their ``ours_s`` / ``peer_s`` are still the best encode times of each side (wall time of the
long and short run for memory rows), so the table's time columns keep their meaning; the
compared values are ``ours_value`` / ``peer_value`` (with ``unit``) in the JSON and the info
column.

Standalone::

    python benchmarks/bench_stream.py [--quick] [--json PATH]

``python bench_stream.py --memory-probe {write,read} PATH N`` is the subprocess of the memory
rows.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import THREAD_ENV

if __name__ == "__main__":  # one core, before NumPy and Numba size their thread pools
    os.environ.update(THREAD_ENV)

import argparse
import functools
import gc
import inspect
import io
import itertools
import json
import math
import subprocess
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
from _common import (
    CaseResult,
    Skip,
    Timing,
    error_row,
    format_seconds,
    format_table,
    machine_info,
    now_iso,
    skipped_row,
    speedup_row,
    time_interleaved,
    write_json,
)
from bench_quantizers import FULL, QUICK, SEED, Case, Sizes

__all__ = ["CASES", "ROWS", "MetricRow", "StreamSizes", "case_stream", "main", "memory_probe"]

GROUP = "stream"


# ---------------------------------------------------------------------- rows and sizes


@dataclass
class MetricRow(CaseResult):
    """A row comparing a measured value (size, error power, memory) rather than a time.

    Attributes
    ----------
    ours_value, peer_value : float or None
        The compared quantities, lower is better for both (bytes, bits per sample, mean
        squared error, peak RSS in bytes).
    unit : str
        Unit of the two values.
    """

    ours_value: float | None = None
    peer_value: float | None = None
    unit: str = ""

    @property
    def ratio(self) -> float | None:  # type: ignore[override]
        """``peer_value / ours_value`` (higher is better for quantsig)."""
        if self.status != "ok" or not self.ours_value or self.peer_value is None:
            return None
        return self.peer_value / self.ours_value


@dataclass(frozen=True)
class StreamSizes:
    """Data sizes of one run of this group.

    Attributes
    ----------
    speech_seconds, music_seconds : float
        Length of the generated speech-like (8 kHz) and music-like (44.1 kHz) audio.
    repeat : int
        Timed rounds (best kept).
    budget_s : float
        Seconds of timed calls after which a comparison stops repeating (after two rounds).
    memory_short : int
        Samples of the short memory stream (the long one has ``memory_factor`` times more).
    memory_factor : int
        Length ratio of the two memory streams.
    """

    speech_seconds: float
    music_seconds: float
    repeat: int
    budget_s: float
    memory_short: int
    memory_factor: int = 10


FULL_STREAM = StreamSizes(speech_seconds=60.0, music_seconds=30.0, repeat=5, budget_s=6.0, memory_short=3_000_000)
QUICK_STREAM = StreamSizes(speech_seconds=2.0, music_seconds=1.0, repeat=2, budget_s=0.5, memory_short=200_000)


def stream_sizes(sizes: Sizes) -> StreamSizes:
    """The sizes of this group for a run of ``run.py`` (``--quick`` or not)."""
    return QUICK_STREAM if sizes.n_samples <= QUICK.n_samples else FULL_STREAM


#: 16-bit audio slots: name -> (what it is, where it comes from)
AUDIO: dict[str, str] = {
    "pluck16": "cpython.pluck-pcm16: a plucked string, stereo, 11025 Hz (real recording)",
    "audiotest": "cpython.audiotest: mono mu-law recording decoded to int16, 8012 Hz (real)",
    "speech8k": "quantsig.datasets.speech_like, 8000 Hz, int16 (generated)",
    "music44k": "quantsig.datasets.music_like, 44100 Hz, int16 (generated)",
}
#: 1-D measured series slots: name -> realdata name
SERIES: dict[str, str] = {
    "ecg": "pywt.ecg",
    "sst_nino3": "pywt.sst_nino3",
    "co2": "statsmodels.co2",
    "elnino": "statsmodels.elnino",
    "sunspots": "statsmodels.sunspots",
    "nile": "statsmodels.nile",
}
BOUNDS: dict[str, float] = {"1e-2": 1e-2, "1e-3": 1e-3, "1e-4": 1e-4}
MAXERR_PEERS = ("pysz", "h5sz3", "zfp")
MAXERR_SLOTS = (*SERIES, *AUDIO)

_LOSSLESS = ("size.vs_flac8", "size.vs_flac5", "size.vs_zstd19", "size.vs_zstd3", "encode.vs_flac5", "decode.vs_flac5")
ROWS: tuple[str, ...] = (
    *(f"stream.lossless.{d}.{what}" for d in AUDIO for what in _LOSSLESS),
    *(f"stream.maxerr.{s}.{b}.vs_{p}" for s in MAXERR_SLOTS for b in BOUNDS for p in MAXERR_PEERS),
    "stream.maxerr.geomean.vs_pysz",
    *(f"stream.bits4.{d}.vs_ima_adpcm" for d in AUDIO),
    *(f"stream.g711.{d}.vs_lin2ulaw" for d in AUDIO),
    "stream.memory.write.vs_10x_shorter",
    "stream.memory.read.vs_10x_shorter",
)

#: Targets of issue #4.
TARGET_LOSSLESS_SIZE = 1.0  # no larger than FLAC level 8
TARGET_LOSSLESS_DECODE = 1.0  # decode at least as fast as FLAC's default
TARGET_PYSZ_CASE = 0.9
TARGET_PYSZ_GEOMEAN = 1.1
TARGET_BITS4 = 10**0.6  # 6 dB above IMA ADPCM
TARGET_MEMORY = 0.9
#: Error power credited to an exact reconstruction in the 4-bit rows (the noise of rounding to
#: the int16 grid itself, 1/12 LSB^2), so that their ratio stays finite.
EXACT_NOISE_FLOOR = 1.0 / 12.0


# ---------------------------------------------------------------------- data


def _realdata() -> ModuleType:
    try:
        from quantsig import realdata
    except ImportError as exc:  # pragma: no cover - only before quantsig.realdata exists
        raise Skip(f"quantsig.realdata is not importable ({exc})") from exc
    return realdata


def _load_real(name: str) -> tuple[np.ndarray, dict[str, Any]]:
    """A real signal, or :class:`Skip` naming what to install."""
    realdata = _realdata()
    try:
        return realdata.load_series(name)  # type: ignore[no-any-return]
    except (ImportError, LookupError) as exc:
        raise Skip(str(exc)) from exc


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x, dtype=np.float64) * 32767.0).clip(-32768, 32767).astype(np.int16)


def audio_int16(slot: str, ss: StreamSizes) -> tuple[np.ndarray, int]:
    """``(pcm, sample_rate)`` of an audio slot: int16, shape ``(n,)`` or ``(n, 2)``."""
    from quantsig import datasets

    if slot == "pluck16":
        x, meta = _load_real("cpython.pluck-pcm16")
        return x, int(meta["sample_rate"])
    if slot == "audiotest":
        x, meta = _load_real("cpython.audiotest")
        return x, int(meta["sample_rate"])
    if slot == "speech8k":
        return _to_int16(datasets.speech_like(ss.speech_seconds, 8000, seed=SEED)), 8000
    if slot == "music44k":
        return _to_int16(datasets.music_like(ss.music_seconds, 44100, seed=SEED)), 44100
    raise ValueError(f"unknown audio slot {slot!r}")


def _mono(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x[:, 0] if x.ndim == 2 else x)


def maxerr_data(slot: str, ss: StreamSizes) -> np.ndarray:
    """The 1-D float data of an error-bounded slot: a series (float64) or mono audio (float32)."""
    if slot in SERIES:
        x, _ = _load_real(SERIES[slot])
        return np.ascontiguousarray(x, dtype=np.float64)
    pcm, _ = audio_int16(slot, ss)
    return (_mono(pcm).astype(np.float32) / np.float32(32768.0)).astype(np.float32)


# ---------------------------------------------------------------------- ours


def _quantsig_compress(**needed: Any) -> Callable[..., bytes]:
    """``quantsig.compress``, or :class:`Skip` while it lacks an option this row needs."""
    import quantsig

    params = inspect.signature(quantsig.compress).parameters
    missing = [k for k in needed if k not in params]
    if missing:
        raise Skip(f"quantsig.compress has no {', '.join(m + '=' for m in missing)} yet (issue #4)")
    return quantsig.compress


def _decompress(blob: bytes) -> np.ndarray:
    import quantsig

    return quantsig.decompress(blob)


# ---------------------------------------------------------------------- peers


def _import(module: str, pip_name: str) -> ModuleType:
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            raise Skip(f"{module} is not available ({exc}); pip install {pip_name}") from exc


def _audioop() -> ModuleType:
    return _import("audioop", "audioop-lts  (Python >= 3.13)")


def flac_encode(x: np.ndarray, sample_rate: int, level: float | None) -> bytes:
    """FLAC through soundfile into memory (``level`` None: libsndfile's default, level 5)."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, x, sample_rate, format="FLAC", subtype="PCM_16", compression_level=level)
    return buf.getvalue()


def flac_decode(blob: bytes) -> np.ndarray:
    import soundfile as sf

    data, _ = sf.read(io.BytesIO(blob), dtype="int16", always_2d=False)
    return data  # type: ignore[no-any-return]


def pysz_encode(sz: ModuleType, x: np.ndarray, e: float) -> np.ndarray:
    cfg = sz.szConfig()
    cfg.errorBoundMode = sz.szErrorBoundMode.ABS
    cfg.absErrorBound = e
    comp, _ = sz.sz.compress(x, cfg)
    return comp  # type: ignore[no-any-return]


def pysz_decode(sz: ModuleType, comp: np.ndarray, x: np.ndarray) -> np.ndarray:
    y, _ = sz.sz.decompress(comp, x.dtype, x.shape)
    return y  # type: ignore[no-any-return]


_H5_COUNTER = itertools.count()


def h5sz3_encode(h5py: ModuleType, hdf5plugin: ModuleType, x: np.ndarray, e: float) -> tuple[bytes, int]:
    """SZ3 through HDF5 in memory: (the file image, the dataset's storage bytes)."""
    with h5py.File(f"quantsig-bench-{next(_H5_COUNTER)}.h5", "w", driver="core", backing_store=False) as f:
        d = f.create_dataset("x", data=x, chunks=x.shape, **hdf5plugin.SZ3(absolute=e))
        f.flush()
        storage = int(d.id.get_storage_size())
        image = f.id.get_file_image()
    return image, storage


def h5sz3_decode(h5py: ModuleType, image: bytes) -> np.ndarray:
    with h5py.File(io.BytesIO(image), "r") as f:
        return f["x"][...]  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- helpers


def _msps(n: int, seconds: float) -> float:
    return n / seconds / 1e6 if seconds > 0 else math.inf


def _mse(x: np.ndarray, y: np.ndarray) -> float:
    d = np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return float(np.mean(d * d))


def _snr_db(x: np.ndarray, y: np.ndarray) -> float:
    noise = _mse(x, y)
    power = float(np.mean(np.asarray(x, dtype=np.float64) ** 2))
    return math.inf if noise == 0 else 10.0 * math.log10(power / noise)


def _snr_db_from(x: np.ndarray, noise: float) -> float:
    return 10.0 * math.log10(float(np.mean(np.asarray(x, dtype=np.float64) ** 2)) / noise)


def _guarded(names: Sequence[str], rows: Callable[[], Iterator[CaseResult]]) -> Iterator[CaseResult]:
    """Yield the rows of one slot; on :class:`Skip` or an exception, the rows it did not
    report become skipped / error rows, and the other slots still run."""
    done: set[str] = set()
    try:
        for row in rows():
            done.add(row.name)
            yield row
    except Skip as exc:
        yield from (skipped_row(n, GROUP, str(exc)) for n in names if n not in done)
    except Exception as exc:
        traceback.print_exc()
        reason = f"{type(exc).__name__}: {exc}"
        yield from (error_row(n, GROUP, reason) for n in names if n not in done)


def _time(fns: dict[str, Callable[[], object]], ss: StreamSizes) -> dict[str, Timing]:
    return time_interleaved(fns, repeat=ss.repeat, budget_s=ss.budget_s)


# ---------------------------------------------------------------------- lossless


def _lossless_rows(slot: str, ss: StreamSizes) -> Iterator[CaseResult]:
    names = [f"stream.lossless.{slot}.{what}" for what in _LOSSLESS]
    yield from _guarded(names, lambda: _lossless(slot, ss))


def _lossless(slot: str, ss: StreamSizes) -> Iterator[CaseResult]:
    zstd = _import("zstandard", "zstandard")
    x, rate = audio_int16(slot, ss)
    n = int(x.size)
    raw = np.ascontiguousarray(x).astype("<i2").tobytes()

    flac = {"flac5": flac_encode(x, rate, None), "flac8": flac_encode(x, rate, 1.0)}
    for key, blob in flac.items():
        if not np.array_equal(flac_decode(blob), x):
            raise RuntimeError(f"{key} did not round-trip the samples")  # a broken peer
    z19, z3 = zstd.ZstdCompressor(level=19), zstd.ZstdCompressor(level=3)
    zblob = {"zstd19": z19.compress(raw), "zstd3": z3.compress(raw)}
    zd = zstd.ZstdDecompressor()
    assert zd.decompress(zblob["zstd19"]) == raw

    compress = _quantsig_compress(lossless=True)
    ours = compress(x, lossless=True)
    back = _decompress(ours)
    if back.dtype != x.dtype or back.shape != x.shape or not np.array_equal(back, x):
        diff = int(np.count_nonzero(back != x)) if back.shape == x.shape else "shape"
        for name in names_of(slot):
            yield error_row(
                name,
                GROUP,
                f"lossless round trip is not bit-exact ({diff} samples differ, dtype {back.dtype}, shape {back.shape})",
            )
        return

    t = _time(
        {
            "ours_enc": lambda: compress(x, lossless=True),
            "flac5_enc": lambda: flac_encode(x, rate, None),
            "flac8_enc": lambda: flac_encode(x, rate, 1.0),
            "ours_dec": lambda: _decompress(ours),
            "flac5_dec": lambda: flac_decode(flac["flac5"]),
            "flac8_dec": lambda: flac_decode(flac["flac8"]),
        },
        ss,
    )
    tz = time_interleaved(
        {
            "zstd19": lambda: z19.compress(raw),
            "zstd3": lambda: z3.compress(raw),
            "zstd_dec": lambda: zd.decompress(zblob["zstd19"]),
        },
        repeat=max(2, ss.repeat // 2),
        budget_s=ss.budget_s,
        min_repeat=1,
    )
    sizes = {"ours": len(ours), **{k: len(v) for k, v in flac.items()}, **{k: len(v) for k, v in zblob.items()}}
    bps = {k: 8.0 * v / n for k, v in sizes.items()}
    speeds = {k: _msps(n, tm.best) for k, tm in {**t, **tz}.items()}
    base = {
        "data": AUDIO[slot],
        "n_samples": n,
        "shape": list(x.shape),
        "sample_rate": rate,
        "bytes": sizes,
        "bits_per_sample": bps,
        "msamples_per_s": speeds,
    }
    peers = {
        "flac8": (
            "FLAC level 8 (soundfile compression_level=1.0) into io.BytesIO",
            t["flac8_enc"],
            TARGET_LOSSLESS_SIZE,
        ),
        "flac5": ("FLAC default level 5 (soundfile, compression_level=None) into io.BytesIO", t["flac5_enc"], None),
        "zstd19": ("zstandard level 19 on the raw little-endian PCM bytes", tz["zstd19"], None),
        "zstd3": ("zstandard level 3 on the raw little-endian PCM bytes", tz["zstd3"], None),
    }
    for key, (peer, tp, target) in peers.items():
        yield MetricRow(
            name=f"stream.lossless.{slot}.size.vs_{key}",
            group=GROUP,
            ours="quantsig.compress(x, lossless=True)",
            peer=peer,
            ours_s=t["ours_enc"].best,
            peer_s=tp.best,
            kind="size",
            target=target,  # type: ignore[arg-type]
            ours_value=sizes["ours"],
            peer_value=sizes[key],
            unit="bytes",
            info={
                **base,
                "summary": f"{bps['ours']:.3f} vs {bps[key]:.3f} bits/sample; "
                f"enc {speeds['ours_enc']:.1f} vs {speeds.get(key + '_enc', speeds.get(key, 0)):.1f} Ms/s",
            },
        )
    yield speedup_row(
        f"stream.lossless.{slot}.encode.vs_flac5",
        GROUP,
        ours="quantsig.compress(x, lossless=True)",
        peer="soundfile FLAC (default level) into io.BytesIO",
        t_ours=t["ours_enc"],
        t_peer=t["flac5_enc"],
        info={
            **base,
            "summary": f"{speeds['ours_enc']:.1f} vs {speeds['flac5_enc']:.1f} Msamples/s "
            f"(FLAC 8: {speeds['flac8_enc']:.1f})",
        },
    )
    yield speedup_row(
        f"stream.lossless.{slot}.decode.vs_flac5",
        GROUP,
        ours="quantsig.decompress(blob)",
        peer="soundfile.read(io.BytesIO(flac), dtype='int16')",
        t_ours=t["ours_dec"],
        t_peer=t["flac5_dec"],
        target=TARGET_LOSSLESS_DECODE,
        info={
            **base,
            "summary": f"{speeds['ours_dec']:.1f} vs {speeds['flac5_dec']:.1f} Msamples/s "
            f"(FLAC 8 file: {speeds['flac8_dec']:.1f})",
        },
    )


def names_of(slot: str) -> list[str]:
    """The lossless row names of an audio slot."""
    return [f"stream.lossless.{slot}.{what}" for what in _LOSSLESS]


# ---------------------------------------------------------------------- error-bounded


@dataclass
class _Bounded:
    """One codec's result on one (slot, bound)."""

    nbytes: int
    max_err: float
    violations: int
    enc: Timing
    dec: Timing


def _maxerr_rows(
    slot: str, ss: StreamSizes, pysz_pairs: list[tuple[float, float, float, float]]
) -> Iterator[CaseResult]:
    names = [f"stream.maxerr.{slot}.{b}.vs_{p}" for b in BOUNDS for p in MAXERR_PEERS]
    yield from _guarded(names, lambda: _maxerr(slot, ss, pysz_pairs))


def _peer_modules() -> dict[str, tuple[ModuleType, ...] | str]:
    """Each error-bounded peer's modules, or the reason it is unavailable."""
    out: dict[str, tuple[ModuleType, ...] | str] = {}
    for key, mods in (
        ("pysz", (("pysz", "pysz"),)),
        ("h5sz3", (("h5py", "h5py"), ("hdf5plugin", "hdf5plugin"))),
        ("zfp", (("zfpy", "zfpy"),)),
    ):
        try:
            out[key] = tuple(_import(m, p) for m, p in mods)
        except Skip as exc:
            out[key] = str(exc)
    return out


def _run_bounded(
    x: np.ndarray,
    e: float,
    compress: Callable[..., bytes],
    peers: dict[str, tuple[ModuleType, ...] | str],
    ss: StreamSizes,
) -> tuple[dict[str, _Bounded], str]:
    """Compress ``x`` with bound ``e`` by us and every available peer, check, time.

    Returns each codec's result and the dtype of our reconstruction.
    """
    encoders: dict[str, Callable[[], Any]] = {"ours": lambda: compress(x, max_abs_error=e)}
    decoders: dict[str, Callable[[Any], np.ndarray]] = {"ours": _decompress}
    sizes_of: dict[str, Callable[[Any], int]] = {"ours": len}
    if not isinstance(peers["pysz"], str):
        (sz,) = peers["pysz"]
        encoders["pysz"] = lambda: pysz_encode(sz, x, e)
        decoders["pysz"] = lambda c: pysz_decode(sz, c, x)
        sizes_of["pysz"] = lambda c: int(c.nbytes)
    if not isinstance(peers["h5sz3"], str):
        h5py, hdf5plugin = peers["h5sz3"]
        encoders["h5sz3"] = lambda: h5sz3_encode(h5py, hdf5plugin, x, e)
        decoders["h5sz3"] = lambda c: h5sz3_decode(h5py, c[0])
        sizes_of["h5sz3"] = lambda c: int(c[1])
    if not isinstance(peers["zfp"], str):
        (zfpy,) = peers["zfp"]
        encoders["zfp"] = lambda: zfpy.compress_numpy(x, tolerance=e)
        decoders["zfp"] = zfpy.decompress_numpy
        sizes_of["zfp"] = len

    blobs = {k: enc() for k, enc in encoders.items()}
    timed: dict[str, Callable[[], object]] = {}
    for k, enc in encoders.items():
        timed[f"{k}_enc"] = enc
        timed[f"{k}_dec"] = functools.partial(decoders[k], blobs[k])
    t = _time(timed, ss)
    res: dict[str, _Bounded] = {}
    recon_dtype = ""
    for k, blob in blobs.items():
        y = np.asarray(decoders[k](blob))
        if k == "ours":
            recon_dtype = str(y.dtype)
        err = np.abs(y.reshape(x.shape).astype(np.float64) - x.astype(np.float64))
        res[k] = _Bounded(
            sizes_of[k](blob), float(err.max()), int(np.count_nonzero(err > e)), t[f"{k}_enc"], t[f"{k}_dec"]
        )
    return res, recon_dtype


def _maxerr(slot: str, ss: StreamSizes, pysz_pairs: list[tuple[float, float, float, float]]) -> Iterator[CaseResult]:
    x = maxerr_data(slot, ss)
    n = int(x.size)
    span = float(x.max() - x.min())
    compress = _quantsig_compress(max_abs_error=1.0)
    peers = _peer_modules()
    for bname, frac in BOUNDS.items():
        e = frac * span
        res, recon_dtype = _run_bounded(x, e, compress, peers, ss)
        ours = res["ours"]
        base = {
            "data": SERIES.get(slot, AUDIO.get(slot)),
            "n_samples": n,
            "dtype": str(x.dtype),
            "bound_fraction_of_range": frac,
            "range": span,
            "abs_bound": e,
            "ours_bytes": ours.nbytes,
            "ours_bits_per_sample": 8.0 * ours.nbytes / n,
            "ours_max_err": ours.max_err,
            "ours_max_err_over_bound": ours.max_err / e,
            "ours_violations": ours.violations,
            "ours_output_dtype": recon_dtype,
            "ours_enc_msps": _msps(n, ours.enc.best),
            "ours_dec_msps": _msps(n, ours.dec.best),
        }
        for p in MAXERR_PEERS:
            name = f"stream.maxerr.{slot}.{bname}.vs_{p}"
            if ours.violations or recon_dtype != str(x.dtype):
                yield error_row(
                    name,
                    GROUP,
                    f"our bound is broken: {ours.violations} of {n} samples beyond "
                    f"e={e:.6g} (max error {ours.max_err:.6g}; output {recon_dtype})",
                    info=base,
                )
                continue
            if isinstance(peers[p], str):
                yield skipped_row(name, GROUP, str(peers[p]))
                continue
            r = res[p]
            if p == "pysz":
                pysz_pairs.append((float(ours.nbytes), float(r.nbytes), ours.enc.best, r.enc.best))
            yield MetricRow(
                name=name,
                group=GROUP,
                ours=f"quantsig.compress(x, max_abs_error={bname} * range)",
                peer={
                    "pysz": "pysz (SZ3) absolute error bound",
                    "h5sz3": "SZ3 through h5py + hdf5plugin.SZ3(absolute=e), in-memory HDF5, dataset bytes",
                    "zfp": "zfpy.compress_numpy(x, tolerance=e)",
                }[p],
                ours_s=ours.enc.best,
                peer_s=r.enc.best,
                kind="size",  # type: ignore[arg-type]
                target=TARGET_PYSZ_CASE if p == "pysz" else None,
                ours_value=ours.nbytes,
                peer_value=r.nbytes,
                unit="bytes",
                info={
                    **base,
                    "peer_bytes": r.nbytes,
                    "peer_bits_per_sample": 8.0 * r.nbytes / n,
                    "peer_max_err": r.max_err,
                    "peer_max_err_over_bound": r.max_err / e,
                    "peer_violations": r.violations,
                    "peer_enc_msps": _msps(n, r.enc.best),
                    "peer_dec_msps": _msps(n, r.dec.best),
                    "summary": f"{8.0 * ours.nbytes / n:.2f} vs {8.0 * r.nbytes / n:.2f} b/s; "
                    f"err/e {ours.max_err / e:.3f} vs {r.max_err / e:.3f}"
                    f"{f' ({r.violations} VIOLATIONS)' if r.violations else ''}; "
                    f"dec {_msps(n, ours.dec.best):.1f} vs {_msps(n, r.dec.best):.1f} Ms/s",
                },
            )


def _geomean_row(pairs: list[tuple[float, float, float, float]]) -> CaseResult:
    name = "stream.maxerr.geomean.vs_pysz"
    if not pairs:
        return skipped_row(name, GROUP, "no error-bounded case measured against pysz")
    ours_g = math.exp(sum(math.log(p[0]) for p in pairs) / len(pairs))
    peer_g = math.exp(sum(math.log(p[1]) for p in pairs) / len(pairs))
    worst = min(p[1] / p[0] for p in pairs)
    return MetricRow(
        name=name,
        group=GROUP,
        ours="quantsig.compress(x, max_abs_error=e), every series and audio slot, 3 bounds",
        peer="pysz (SZ3) absolute error bound, same cases",
        ours_s=sum(p[2] for p in pairs),
        peer_s=sum(p[3] for p in pairs),
        kind="size",  # type: ignore[arg-type]
        target=TARGET_PYSZ_GEOMEAN,
        ours_value=ours_g,
        peer_value=peer_g,
        unit="bytes (geometric mean)",
        info={
            "n_cases": len(pairs),
            "worst_case_ratio": worst,
            "summary": f"geometric mean of {len(pairs)} size ratios; worst case {worst:.2f}x",
        },
    )


# ---------------------------------------------------------------------- 4-bit and G.711


def _lowrate_rows(slot: str, ss: StreamSizes) -> Iterator[CaseResult]:
    yield from _guarded([f"stream.bits4.{slot}.vs_ima_adpcm"], lambda: _bits4(slot, ss))
    yield from _guarded([f"stream.g711.{slot}.vs_lin2ulaw"], lambda: _g711(slot, ss))


def _bits4(slot: str, ss: StreamSizes) -> Iterator[CaseResult]:
    audioop = _audioop()
    pcm, rate = audio_int16(slot, ss)
    x = _mono(pcm)
    x = x[: x.size - x.size % 2]  # audioop's ADPCM packs two samples a byte and drops an odd last one
    n = int(x.size)
    raw = x.astype("<i2").tobytes()
    compress = _quantsig_compress(bits_per_sample=4)

    def adpcm_roundtrip_encode() -> bytes:
        return audioop.lin2adpcm(raw, 2, None)[0]  # type: ignore[no-any-return]

    adpcm = adpcm_roundtrip_encode()
    y_peer = np.frombuffer(audioop.adpcm2lin(adpcm, 2, None)[0], "<i2")
    ours = compress(x, bits_per_sample=4)
    y = _decompress(ours)
    t = _time(
        {
            "ours": lambda: compress(x, bits_per_sample=4),
            "peer": adpcm_roundtrip_encode,
            "ours_dec": lambda: _decompress(ours),
            "peer_dec": lambda: audioop.adpcm2lin(adpcm, 2, None),
        },
        ss,
    )
    bits_ours, bits_peer = 8.0 * len(ours) / n, 8.0 * len(adpcm) / n
    snr_ours, snr_peer = _snr_db(x, y), _snr_db(x, y_peer)
    mse_ours = _mse(x, y)
    exact = mse_ours == 0.0
    if exact:  # lossless within 4 bits: count the int16 grid's own rounding noise (1/12 LSB^2)
        mse_ours, snr_ours = EXACT_NOISE_FLOOR, _snr_db_from(x, EXACT_NOISE_FLOOR)
    yield MetricRow(
        name=f"stream.bits4.{slot}.vs_ima_adpcm",
        group=GROUP,
        ours="quantsig.compress(x, bits_per_sample=4)",
        peer="audioop.lin2adpcm(pcm, 2, None) (IMA ADPCM)",
        ours_s=t["ours"].best,
        peer_s=t["peer"].best,
        kind="noise",  # type: ignore[arg-type]
        target=TARGET_BITS4,
        condition="bits/sample <= 4",
        condition_ok=bits_ours <= 4.0,
        ours_value=mse_ours,
        peer_value=_mse(x, y_peer),
        unit="mean squared error (int16 units)",
        info={
            "data": AUDIO[slot],
            "n_samples": n,
            "sample_rate": rate,
            "ours_bits_per_sample": bits_ours,
            "peer_bits_per_sample": bits_peer,
            "ours_snr_db": snr_ours,
            "peer_snr_db": snr_peer,
            "snr_gain_db": snr_ours - snr_peer,
            "ours_exact": exact,
            "ours_output_dtype": str(y.dtype),
            "ours_dec_msps": _msps(n, t["ours_dec"].best),
            "peer_dec_msps": _msps(n, t["peer_dec"].best),
            "summary": f"SNR {snr_ours:.2f} dB{' (exact: lossless)' if exact else ''} @ {bits_ours:.3f} b/s "
            f"vs {snr_peer:.2f} dB @ {bits_peer:.3f} ({snr_ours - snr_peer:+.2f} dB)",
        },
    )


def _g711(slot: str, ss: StreamSizes) -> Iterator[CaseResult]:
    import quantsig

    audioop = _audioop()
    pcm, rate = audio_int16(slot, ss)
    x = _mono(pcm)
    n = int(x.size)
    raw = x.astype("<i2").tobytes()
    compress = _quantsig_compress()
    q = quantsig.G711Quantizer()
    ours = compress(x, quantizer=q)
    y = _decompress(ours)
    ulaw = audioop.lin2ulaw(raw, 2)
    y_peer = np.frombuffer(audioop.ulaw2lin(ulaw, 2), "<i2")
    t = _time(
        {
            "ours": lambda: compress(x, quantizer=q),
            "peer": lambda: audioop.lin2ulaw(raw, 2),
            "ours_dec": lambda: _decompress(ours),
            "peer_dec": lambda: audioop.ulaw2lin(ulaw, 2),
        },
        ss,
    )
    bits_ours, bits_peer = 8.0 * len(ours) / n, 8.0 * len(ulaw) / n
    snr_ours, snr_peer = _snr_db(x, y), _snr_db(x, y_peer)
    yield MetricRow(
        name=f"stream.g711.{slot}.vs_lin2ulaw",
        group=GROUP,
        ours=f"quantsig.compress(x, quantizer=G711Quantizer()) ({q.get_config()})",
        peer="audioop.lin2ulaw(pcm, 2) (8 bits/sample)",
        ours_s=t["ours"].best,
        peer_s=t["peer"].best,
        kind="size",  # type: ignore[arg-type]
        condition="SNR >= lin2ulaw's - 0.1 dB",
        condition_ok=snr_ours >= snr_peer - 0.1,
        ours_value=bits_ours,
        peer_value=bits_peer,
        unit="bits/sample",
        info={
            "data": AUDIO[slot],
            "n_samples": n,
            "sample_rate": rate,
            "ours_snr_db": snr_ours,
            "peer_snr_db": snr_peer,
            "ours_bits_per_sample": bits_ours,
            "peer_bits_per_sample": bits_peer,
            "identical_reconstruction": bool(np.array_equal(y, y_peer)),
            "summary": f"{bits_ours:.3f} vs {bits_peer:.0f} b/s; SNR {snr_ours:.2f} vs {snr_peer:.2f} dB"
            f"{'; same samples' if np.array_equal(y, y_peer) else ''}",
        },
    )


# ---------------------------------------------------------------------- memory

MEMORY_BLOCK = 65536


def _signal_block(k: int, n: int, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Block ``k`` of the generated memory-test stream: AR(2)-filtered noise (a resonance
    near 500 Hz at 8 kHz), int16; made block by block so the probe never holds the stream."""
    from scipy.signal import lfilter

    rng = np.random.default_rng([SEED, k])
    r, w = 0.98, 2 * np.pi * 500 / 8000
    y, zi = lfilter([1.0], [1.0, -2 * r * np.cos(w), r * r], rng.standard_normal(n) * 60.0, zi=zi)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16), zi


def _maxrss_bytes() -> int:
    """Peak RSS of this process: ``VmHWM`` of ``/proc/self/status`` where there is one, else
    ``resource.getrusage``'s ``ru_maxrss``.

    On Linux ``ru_maxrss`` of a child started by fork/vfork + exec also counts the parent's
    RSS at the exec (the runner's hundreds of MiB), which would hide the child's own peak;
    ``VmHWM`` belongs to the child's own address space.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss) if sys.platform == "darwin" else int(rss) * 1024


def _reset_peak_rss() -> bool:
    """Reset the process's peak RSS to its current RSS (Linux >= 4.0: ``clear_refs`` 5), so
    that the peak measured afterwards is the streaming's own and not the imports' or the
    warm-up's; False where the kernel does not allow it (the peak then includes them)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


def memory_probe(op: str, path: str, n: int) -> dict[str, Any]:
    """Body of the memory subprocess: write or read an ``n``-sample lossless stream at ``path``.

    Kernels are warmed on a tiny stream first (from the Numba cache the parent filled), then the
    peak RSS is reset to the current RSS where the kernel allows it: ``base_rss`` holds
    everything but the stream itself, and ``peak_rss - base_rss`` is what streaming added.
    """
    from quantsig.stream import StreamReader, StreamWriter

    zi0 = np.zeros(2)
    warm = io.BytesIO()
    with StreamWriter(warm, lossless=True, dtype=np.int16) as w:
        w.write(_signal_block(0, 5000, zi0)[0])
    with StreamReader(warm.getvalue()) as r:
        for _ in r.blocks(4096):
            pass
    del warm
    gc.collect()
    reset = _reset_peak_rss()
    base = _maxrss_bytes()
    t0 = time.perf_counter()
    rows = 0
    checksum = 0
    if op == "write":
        writer = StreamWriter(path, lossless=True, dtype=np.int16, sample_rate=8000)
        zi = zi0
        for k in range(0, n, MEMORY_BLOCK):
            block, zi = _signal_block(k // MEMORY_BLOCK, min(MEMORY_BLOCK, n - k), zi)
            writer.write(block)
            rows += block.size
        stats = writer.close()
        extra = {"file_bytes": int(stats.file_bytes), "bits_per_sample": float(stats.bits_per_sample)}
    elif op == "read":
        with StreamReader(path) as reader:
            for block in reader.blocks(MEMORY_BLOCK):
                rows += block.shape[0]
                checksum = (checksum + int(block.astype(np.int64).sum())) % (1 << 61)
        extra = {"checksum": checksum}
    else:
        raise ValueError(f"op must be 'write' or 'read', got {op!r}")
    seconds = time.perf_counter() - t0
    if rows != n:
        raise RuntimeError(f"{op}: {rows} rows instead of {n}")
    return {
        "op": op,
        "n": n,
        "seconds": seconds,
        "base_rss": base,
        "peak_rss": _maxrss_bytes(),
        "peak_reset_after_warmup": reset,
        **extra,
    }


def _run_memory_probe(op: str, path: str, n: int, cache_dir: str) -> dict[str, Any]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONDONTWRITEBYTECODE="1", **THREAD_ENV)
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--memory-probe", op, path, str(n)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip()[-2000:]
        if "No module named 'quantsig.stream'" in tail or "cannot import name 'Stream" in tail:
            raise Skip("quantsig.stream is not importable yet (issue #4)")
        raise RuntimeError(f"memory probe {op} failed ({proc.returncode}): {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _memory(ss: StreamSizes) -> Iterator[CaseResult]:
    short, long_ = ss.memory_short, ss.memory_short * ss.memory_factor
    with tempfile.TemporaryDirectory(prefix="quantsig-bench-stream-") as tmp:
        cache = os.path.join(tmp, "numba-cache")
        # fill the Numba cache first: compiling in the measured runs would set their peak RSS
        _run_memory_probe("write", os.path.join(tmp, "warm.qsg"), 10_000, cache)
        runs: dict[tuple[str, int], dict[str, Any]] = {}
        for n in (short, long_):
            path = os.path.join(tmp, f"s{n}.qsg")
            runs[("write", n)] = _run_memory_probe("write", path, n, cache)
            runs[("read", n)] = _run_memory_probe("read", path, n, cache)
            os.remove(path)
    mib = 1 << 20
    for op in ("write", "read"):
        s, lg = runs[(op, short)], runs[(op, long_)]
        grow_s, grow_l = s["peak_rss"] - s["base_rss"], lg["peak_rss"] - lg["base_rss"]
        yield MetricRow(
            name=f"stream.memory.{op}.vs_10x_shorter",
            group=GROUP,
            ours=f"Stream{'Writer' if op == 'write' else 'Reader'} peak RSS, {long_:,} int16 samples (lossless)",
            peer=f"the same, {short:,} samples",
            ours_s=lg["seconds"],
            peer_s=s["seconds"],
            kind="memory",  # type: ignore[arg-type]
            # the growth above each run's own baseline, on the short run's baseline: the
            # interpreter's start-up RSS varies between runs by more than the stream costs
            target=TARGET_MEMORY,
            ours_value=s["base_rss"] + grow_l,
            peer_value=s["peak_rss"],
            unit="bytes (peak RSS)",
            info={
                "short": s,
                "long": lg,
                "growth_short_bytes": grow_s,
                "growth_long_bytes": grow_l,
                "long_msamples_per_s": _msps(long_, lg["seconds"]),
                "summary": f"peak {lg['peak_rss'] / mib:.0f} vs {s['peak_rss'] / mib:.0f} MiB; "
                f"above baseline {grow_l / mib:.1f} vs {grow_s / mib:.1f} MiB; "
                f"{_msps(long_, lg['seconds']):.1f} Ms/s",
            },
        )


# ---------------------------------------------------------------------- the case


def case_stream(sizes: Sizes) -> Iterator[CaseResult]:
    """Every row of :data:`ROWS`, slot by slot (a missing slot or peer skips only its rows)."""
    ss = stream_sizes(sizes)
    for slot in AUDIO:
        yield from _lossless_rows(slot, ss)
    pysz_pairs: list[tuple[float, float, float, float]] = []
    for slot in MAXERR_SLOTS:
        yield from _maxerr_rows(slot, ss, pysz_pairs)
    yield _geomean_row(pysz_pairs)
    for slot in AUDIO:
        yield from _lowrate_rows(slot, ss)
    yield from _guarded(
        ["stream.memory.write.vs_10x_shorter", "stream.memory.read.vs_10x_shorter"], lambda: _memory(ss)
    )


CASES: dict[str, Case] = {
    GROUP: Case(GROUP, "streaming codec vs FLAC, SZ3, ZFP, audioop ADPCM/G.711, zstd; memory", ROWS, case_stream),
}


# ---------------------------------------------------------------------- standalone


def main(argv: Sequence[str] | None = None) -> int:
    """Run this group alone: print the table, write JSON; exit 1 on an error row."""
    parser = argparse.ArgumentParser(prog="benchmarks/bench_stream.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run, not a measurement)")
    parser.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results" / "stream.json")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    t0 = time.perf_counter()
    rows = []
    for row in case_stream(sizes):
        rows.append(row)
        print(f"  {row.name}: {row.status}", file=sys.stderr, flush=True)
    print(format_table(rows))
    write_json(
        args.json,
        {
            "created": now_iso(),
            "quick": args.quick,
            "elapsed_s": time.perf_counter() - t0,
            "machine": machine_info(),
            "results": [r.to_json() for r in rows],
        },
    )
    print(f"wrote {args.json} ({format_seconds(time.perf_counter() - t0)})")
    return 1 if any(r.status == "error" for r in rows) else 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--memory-probe":
        print(json.dumps(memory_probe(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    else:
        sys.exit(main())
