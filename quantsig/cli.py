"""The ``quantsig`` command line.

Sub-commands:

* ``compress IN [-o OUT] [--lossless | --max-error E | --bits R | --quantizer NAME]``: an
  audio file (anything soundfile reads) or a ``.npy`` array (1-D, or 2-D samples x channels)
  into a quantsig stream (``IN.qsg`` by default);
* ``decompress IN [-o OUT]``: a stream back to ``.wav`` / ``.flac`` (audio streams) or ``.npy``;
* ``info [FILE]``: a ``.qsg`` file's description, or (no file) version, Numba status and
  registered quantizers;
* ``demo``: the README's main job;
* ``rd IN | --synthetic gaussian|laplacian [--quantizers LIST] [--bits 1:8] [--plot P]
  [--csv P] [--json P] [--markdown P] [--jobs N]``: a rate-distortion sweep of the presets of
  ``quantsig.rd`` over the samples of an audio file, a ``.npy`` / ``.npz`` array or a CSV
  column, printed as a table (rate = bytes actually written) and saved as asked;
* ``weights IN [-o OUT] [--bits-per-weight B | --method M --bits N ...]``: a model's weights
  (``.safetensors``, ``.npz``, PyTorch ``.pt``/``.pth``/``.bin``) into a weights archive
  (``IN`` with the suffix ``.qsg`` by default), printing the per-tensor report;
  ``weights --report ARCHIVE`` prints the report of an existing archive.

``compress``, ``decompress``, ``rd`` and ``weights`` draw a progress bar on stderr (when it is a terminal,
or with ``--progress``) and print their summary on stdout; ``--quiet`` prints neither. They
never overwrite an existing file unless ``--force`` is given, and never the input.

Errors give one line on stderr (``quantsig: error: ...``), never a traceback, and the exit
status says whose fault it was: 2 for usage errors (bad options, a missing input file, an
output that exists), 1 for data errors (a file that cannot be read or decoded, data the
chosen mode cannot code). Warnings print as ``quantsig: warning: ...`` lines.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from quantsig.errors import QuantsigError

__all__ = ["main"]


def _cmd_info(args: argparse.Namespace) -> int:
    if args.file:
        return _info_file(args.file)
    import numba
    import numpy as np

    import quantsig
    from quantsig.registry import registered_quantizers

    config: Any = numba.config
    jit = "disabled (NUMBA_DISABLE_JIT=1)" if config.DISABLE_JIT else "enabled"
    cache = os.environ.get("NUMBA_CACHE_DIR") or "next to the package (or the user cache when read-only)"
    print(f"quantsig {quantsig.__version__}")
    print(f"python   {platform.python_version()} ({platform.machine()})")
    print(f"numpy    {np.__version__}")
    print(f"numba    {numba.__version__}, JIT {jit}, threads {config.NUMBA_NUM_THREADS}")
    print(f"cache    {cache}")
    print("quantizers:")
    for codec_id, cls in sorted(registered_quantizers().items()):
        print(f"  {codec_id:<10} {cls.__module__}.{cls.__name__}")
    return 0


def _info_file(path: str) -> int:
    from quantsig.api import info

    if not os.path.exists(path):
        raise _UsageError(f"cannot read {path}: No such file or directory")
    try:
        d = info(path)
    except OSError as e:
        raise _DataError(f"cannot read {path}: {e.strerror or e}") from None
    except QuantsigError as e:
        raise _DataError(f"{path}: {e}") from None
    if d.get("kind") == "stream":
        return _print_stream_info(path, d)
    if d.get("kind") == "weights":
        return _print_weights_info(path, d)
    shape = "x".join(str(s) for s in d["shape"])
    print(f"{path}: quantsig format v{d['format_version']}{'' if d['complete'] else ' (INCOMPLETE: no index)'}")
    print(f"  array       {shape} {d['dtype']}")
    print(f"  quantizer   {d['quantizer']}  ({d['levels'] or 'unbounded'} levels)")
    print(f"  entropy     {d['entropy']}, {d['frames']} frame(s) of up to {d['frame_size']} codes")
    print(f"  size        {d['file_bytes']} bytes (header {d['header_bytes']}, payload {d['payload_bytes']})")
    print(f"  rate        {d['bits_per_sample']:.4f} bits/sample, ratio {d['compression_ratio']:.2f}:1")
    if d["metadata"]:
        print(f"  metadata    {d['metadata']}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from quantsig.demo import format_stream_rows, format_table, run_demo, run_stream_demo

    if not args.seconds > 0:
        raise _UsageError(f"--seconds must be positive, got {args.seconds}")
    folder = os.path.abspath(args.output or "quantsig-demo")
    print("Streaming compression (quantsig.audio.compress_file: closed-loop LPC + context-modelled rANS):")
    rows = run_stream_demo(args.seconds, folder, progress=True)
    print(format_stream_rows(rows))
    print(f"Every stream was read back and checked; the WAV sources and .qsg files are in {folder}")
    print()
    qrows, _ = run_demo(seconds=args.seconds, output=None, seed=args.seed)
    print(
        f"Each quantizer family on {args.seconds:g} s of speech (8 kHz, 16-bit PCM WAV read through soundfile),"
        " no prediction, codes rANS-coded into a .qsg file:"
    )
    print(format_table(qrows))
    print("fixed b/s: log2(levels) per sample; file b/s: bits per sample actually written (headers and")
    print("tables included); ratio: against the 16-bit PCM; every file was read back and checked.")
    return 0


# ---------------------------------------------------------------------- streams


def _print_stream_info(path: str, d: dict[str, Any]) -> int:
    """Print ``quantsig.stream.StreamReader.describe``'s facts about a stream file."""
    meta = dict(d.get("metadata") or {})
    n, ch = d["samples"], d["channels"]
    rate = d.get("sample_rate") or meta.get("sample_rate")
    print(f"{path}: quantsig stream{'' if d['complete'] else ' (INCOMPLETE: no index; complete frames only)'}")
    print(f"  samples     {n} x {ch} channel(s), {d['dtype']}")
    if rate:
        src = f", from {meta['format']} {meta['subtype']}" if "format" in meta and "subtype" in meta else ""
        print(f"  audio       {rate:g} Hz, {n / rate:.3f} s{src}")
    mode = d["mode"]
    if d.get("quantizer"):
        mode += f" {d['quantizer']}"
    elif mode != "lossless" and d.get("step") is not None:
        mode += f", step {d['step']:g}"
    if d.get("max_abs_error") is not None:
        mode += f", max error {d['max_abs_error']:g}"
    print(f"  mode        {mode}")
    print(f"  frames      {d['frames']} of up to {d['frame_size']} samples")
    print(f"  size        {d['file_bytes']} bytes")
    if n:
        print(f"  rate        {d['bits_per_sample']:.4f} bits/sample, ratio {d['compression_ratio']:.2f}:1")
    if meta:
        print(f"  metadata    {meta}")
    return 0


_AUDIO_OUT = (".wav", ".wave", ".flac")


def _check_input(path: str) -> None:
    if not os.path.exists(path):
        raise _UsageError(f"cannot read {path}: No such file or directory")
    if os.path.isdir(path):
        raise _UsageError(f"{path} is a directory, not a file")


def _check_output(inp: str | None, out: str, force: bool) -> None:
    if inp is not None and (
        os.path.abspath(out) == os.path.abspath(inp) or (os.path.exists(out) and os.path.samefile(inp, out))
    ):
        raise _UsageError(f"the output {out} is the input file; choose another name with -o")
    if os.path.isdir(out):
        raise _UsageError(f"the output {out} is a directory; give a file name with -o")
    if os.path.exists(out) and not force:
        raise _UsageError(f"{out} exists; use --force to overwrite it")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise _UsageError(f"cannot write {out}: no such directory {folder}")


def _bar(args: argparse.Namespace, total: int | None, label: str) -> Any:
    from quantsig.progress import Progress

    return Progress(total, enabled=not args.quiet, force=args.progress, label=label)


def _mode(args: argparse.Namespace) -> dict[str, Any]:
    if args.lossless:
        return {"lossless": True}
    if args.max_error is not None:
        if not args.max_error >= 0:
            raise _UsageError(f"--max-error must be >= 0, got {args.max_error}")
        return {"max_abs_error": args.max_error}
    if args.bits is not None:
        if not args.bits > 0:
            raise _UsageError(f"--bits must be positive, got {args.bits}")
        return {"bits_per_sample": args.bits}
    if args.quantizer is not None:
        return {"quantizer": args.quantizer}
    return {}


def _cmd_compress(args: argparse.Namespace) -> int:
    inp = args.input
    out = args.output or inp + ".qsg"
    _check_input(inp)
    if inp.lower().endswith(".qsg"):
        raise _UsageError(f"{inp} is already a quantsig file; did you mean 'quantsig decompress'?")
    _check_output(inp, out, args.force)
    if args.frame_size is not None and args.frame_size < 1:
        raise _UsageError(f"--frame-size must be positive, got {args.frame_size}")
    mode = _mode(args)
    extra: dict[str, Any] = {}
    if args.frame_size is not None:
        extra["frame_size"] = args.frame_size
    if inp.lower().endswith(".npy"):
        stats = _compress_npy(inp, out, mode, extra, args)
    else:
        from quantsig import audio

        info = _audio_info(inp)
        bar = _bar(args, info.frames if info.frames >= 0 else None, os.path.basename(inp))
        stats = audio.compress_file(inp, out, progress=bar, **mode, **extra)
    if not args.quiet:
        print(f"{stats.summary()}  -> {out}")
    return 0


def _audio_info(path: str) -> Any:
    import soundfile as sf

    try:
        return sf.info(path)
    except sf.SoundFileError as e:
        msg = str(e).split(": ", 1)[-1] if str(e).startswith("Error opening") else str(e)
        raise _DataError(
            f"cannot read {path} as audio: {msg} (compress takes audio files soundfile reads, or .npy arrays)"
        ) from None


def _load_npy(path: str) -> np.ndarray:
    try:
        x = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise _DataError(f"cannot read {path} as a .npy array: {e}") from None
    if not isinstance(x, np.ndarray):
        raise _DataError(f"{path} is not a .npy array (an .npz archive?)")
    if x.ndim not in (1, 2):
        raise _DataError(f"{path} holds an array of shape {x.shape}; compress takes 1-D or 2-D (samples x channels)")
    if x.dtype.kind not in "iuf":
        raise _DataError(f"{path} holds {x.dtype} data; compress takes integer or float samples")
    return x


def _npy_quantizer(name: str, dtype: np.dtype) -> Any:
    from quantsig.audio import g711_quantizer

    if dtype == np.int16:
        return g711_quantizer(name)
    if dtype.kind == "f" and name in ("mu-law", "mulaw", "ulaw", "a-law", "alaw"):
        from quantsig import ALawQuantizer, MuLawQuantizer

        return ALawQuantizer(bits=8) if name in ("a-law", "alaw") else MuLawQuantizer(bits=8)
    raise _DataError(
        f"--quantizer {name} is G.711, which codes int16 samples; the array holds {dtype}"
        + (
            " (for float data in [-1, 1], --quantizer mu-law or a-law is the continuous 8-bit law)"
            if dtype.kind == "f"
            else ""
        )
    )


def _compress_npy(inp: str, out: str, mode: dict[str, Any], extra: dict[str, Any], args: argparse.Namespace) -> Any:
    from quantsig.audio import atomic_path, step_for_bits
    from quantsig.stream import StreamWriter

    x = _load_npy(inp)
    channels = 1 if x.ndim == 1 else x.shape[1]
    if "quantizer" in mode:
        mode = {"quantizer": _npy_quantizer(mode["quantizer"], x.dtype)}
    elif not mode:
        if x.dtype.kind == "f":
            raise _DataError(f"{inp} holds {x.dtype} samples: say how much may be lost with --max-error E or --bits R")
        mode = {"lossless": True}
    meta: dict[str, Any] = {"source": os.path.basename(inp)}
    if "bits_per_sample" in mode:
        prefix = np.ascontiguousarray(x[:_NPY_PREFIX_ROWS])
        if prefix.shape[0] == 0:
            raise _DataError(f"{inp} holds no samples: no rate to aim at")
        meta["bits_per_sample_target"] = float(mode["bits_per_sample"])
        step = step_for_bits(prefix, mode["bits_per_sample"], metadata=meta, **extra)
        mode = {"lossless": True} if x.dtype.kind in "iu" and step == 1 else {"step": step}
    n = x.shape[0]
    block = 1 << 16
    with _bar(args, n, os.path.basename(inp)) as bar, atomic_path(out) as tmp:
        with StreamWriter(tmp, channels=channels, dtype=x.dtype, metadata=meta, **mode, **extra) as writer:
            for i in range(0, n, block):
                writer.write(np.ascontiguousarray(x[i : i + block]))
                bar.update(min(block, n - i))
        stats = writer.close()
    return stats


_NPY_PREFIX_ROWS = 1 << 20


def _default_decompressed_name(inp: str, audio_stream: bool) -> str:
    base = inp[:-4] if inp.lower().endswith(".qsg") else inp
    ext = os.path.splitext(base)[1].lower()
    if (audio_stream and ext in _AUDIO_OUT) or ext == ".npy":
        return base
    return base + (".wav" if audio_stream else ".npy")


def _cmd_decompress(args: argparse.Namespace) -> int:
    from quantsig.api import info

    inp = args.input
    _check_input(inp)
    try:
        d = info(inp)
    except OSError as e:
        raise _DataError(f"cannot read {inp}: {e.strerror or e}") from None
    except QuantsigError as e:
        raise _DataError(f"{inp}: {e}") from None
    is_stream = d.get("kind") == "stream"
    audio_stream = is_stream and bool(d.get("sample_rate") or (d.get("metadata") or {}).get("sample_rate"))
    out = args.output or _default_decompressed_name(inp, audio_stream)
    _check_output(inp, out, args.force)
    to_npy = out.lower().endswith(".npy")
    if to_npy and (args.format or args.subtype):
        raise _UsageError("--format and --subtype apply to audio output (.wav, .flac), not .npy")
    if not is_stream and not to_npy:
        raise _UsageError(f"{inp} holds an array, not an audio stream: decompress it to .npy")
    t0 = time.perf_counter()
    try:
        if to_npy:
            shape, dtype = _decompress_npy(inp, out, args) if is_stream else _decompress_array(inp, out)
        else:
            from quantsig import audio

            bar = _bar(args, d["samples"], os.path.basename(out))
            try:
                res = audio.decompress_file(
                    inp, out, format=args.format, subtype=args.subtype, sample_rate=args.rate, progress=bar
                )
            except ValueError as e:
                if isinstance(e, QuantsigError):
                    raise
                raise _UsageError(str(e)) from None
    except QuantsigError as e:
        raise _DataError(f"{inp}: {e}") from None
    if args.quiet:
        return 0
    if to_npy:
        from quantsig.progress import format_rate

        dt = time.perf_counter() - t0
        speed = f", {format_rate(int(np.prod(shape)) / dt)}" if dt > 0 else ""
        print(f"wrote {out}: {'x'.join(map(str, shape))} {np.dtype(dtype).str}{speed}")
    else:
        print(res.summary())
    return 0


def _decompress_array(inp: str, out: str) -> tuple[tuple[int, ...], Any]:
    """A (non-stream) array file, decoded whole as ``quantsig.load`` does."""
    from quantsig import load
    from quantsig.audio import atomic_path

    x = load(inp)
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.save(f, x, allow_pickle=False)
    return x.shape, x.dtype


def _decompress_npy(inp: str, out: str, args: argparse.Namespace) -> tuple[tuple[int, ...], Any]:
    from numpy.lib.format import open_memmap

    from quantsig.audio import atomic_path
    from quantsig.stream import StreamReader

    with StreamReader(inp) as reader:
        n = len(reader)
        if not reader.complete:
            warnings.warn(
                f"{inp} is incomplete (no index): decoding the {n} samples of its complete frames", stacklevel=2
            )
        shape = (n,) if reader.ndim == 1 else (n, reader.channels)
        with _bar(args, n, os.path.basename(out)) as bar, atomic_path(out) as tmp:
            if n == 0:
                with open(tmp, "wb") as f:
                    np.save(f, np.zeros(shape, reader.dtype), allow_pickle=False)
            else:
                mm = open_memmap(tmp, mode="w+", dtype=reader.dtype, shape=shape)
                pos = 0
                for block in reader.blocks(1 << 16):
                    mm[pos : pos + block.shape[0]] = block
                    pos += block.shape[0]
                    bar.update(block.shape[0])
                mm.flush()
                del mm
        return shape, reader.dtype


# ---------------------------------------------------------------------- weights

_WEIGHTS_IN = (".safetensors", ".npz", ".pt", ".pth", ".bin")
#: quantsig.weights.METHODS, spelled out so that building the parser imports no Numba code
_WEIGHTS_METHODS = ("uniform", "uniform-asym", "nf", "lloyd-max", "kmeans", "ecsq")


def _print_weights_info(path: str, d: dict[str, Any]) -> int:
    """Print what ``quantsig.info`` says of a weights archive: totals, then one row per tensor."""
    from quantsig.weights import WeightsReport

    rows = d["tensors"]
    exact = sum(1 for r in rows if r["scheme"] == "exact")
    print(
        f"{path}: quantsig weights archive{'' if d['complete'] else ' (INCOMPLETE: no index; complete tensors only)'}"
    )
    print(f"  tensors     {len(rows)} ({len(rows) - exact} quantized, {exact} exact), {d['n_weights']:,} weights")
    ratio = (
        f", ratio {d['compression_ratio']:.2f}:1 to the source ({d['source_bytes']:,} bytes)"
        if d["source_bytes"]
        else ""
    )
    print(f"  size        {d['n_bytes']:,} bytes, {d['bits_per_weight']:.4f} bits/weight{ratio}")
    if d.get("mse") is not None:
        print(f"  error       mse {d['mse']:.4g}, relative {d['relative_error']:.4g}, max {d['max_abs_error']:.4g}")
    if d.get("metadata"):
        print(f"  metadata    {d['metadata']}")
    if rows:
        print(WeightsReport(rows).to_text())
    return 0


def _weights_report(path: str) -> int:
    from quantsig.weights import report

    _check_input(path)
    try:
        rep = report(path)
    except OSError as e:
        raise _DataError(f"cannot read {path}: {e.strerror or e}") from None
    except QuantsigError as e:
        raise _DataError(f"{path}: {e}") from None
    print(rep.to_text())
    return 0


def _weights_knobs(args: argparse.Namespace) -> dict[str, Any]:
    """The options of ``quantsig.weights.quantize_model``, checked before any file is read."""
    from quantsig.weights.model import _check_knobs

    knobs = {
        "bits_per_weight": args.bits_per_weight,
        "method": args.method,
        "bits": args.bits,
        "granularity": args.granularity,
        "group_size": args.group_size,
        "entropy": args.entropy,
    }
    if args.bits_per_weight is None and args.method is None and args.bits is None:
        raise _UsageError("say how to quantize: --bits-per-weight B (a budget), or --method M and/or --bits N")
    if args.jobs < 1:
        raise _UsageError(f"--jobs must be positive, got {args.jobs}")
    if args.min_size is not None and args.min_size < 1:
        raise _UsageError(f"--min-size must be positive, got {args.min_size}")
    try:
        _check_knobs(**knobs)
    except (ValueError, TypeError) as e:
        flags = {"bits_per_weight": "--bits-per-weight", "group_size": "--group-size"}
        msg = _one_line(e)
        for key, flag in flags.items():
            msg = msg.replace(f"{key}=", f"{flag} ").replace(f"{key} ", f"{flag} ")
        raise _UsageError(msg) from None
    return knobs


def _cmd_weights(args: argparse.Namespace) -> int:
    if args.report is not None:
        if args.input is not None or args.output is not None:
            raise _UsageError("--report ARCHIVE prints an existing archive's report: give no IN or -o with it")
        return _weights_report(args.report)
    if args.input is None:
        raise _UsageError("give a model file (IN), or --report ARCHIVE")
    inp = args.input
    _check_input(inp)
    ext = os.path.splitext(inp)[1].lower()
    if ext == ".qsg":
        raise _UsageError(f"{inp} is already a quantsig file; did you mean 'quantsig weights --report {inp}'?")
    if ext not in _WEIGHTS_IN:
        raise _UsageError(f"{inp}: weights files are {', '.join(_WEIGHTS_IN)}; got {ext or 'no extension'}")
    out = args.output or os.path.splitext(inp)[0] + ".qsg"
    _check_output(inp, out, args.force)
    knobs = _weights_knobs(args)
    from quantsig.progress import Progress
    from quantsig.weights import DEFAULT_MIN_SIZE, quantize_model

    t0 = time.perf_counter()
    try:
        with Progress(
            None, enabled=not args.quiet, force=args.progress, unit="weights", label=os.path.basename(inp)
        ) as bar:
            qm = quantize_model(
                inp,
                **knobs,
                skip=args.skip or (),
                n_jobs=args.jobs,
                progress=bar,
                out=out,
                allocation=args.allocation,
                overwrite=args.force,
                min_size=DEFAULT_MIN_SIZE if args.min_size is None else args.min_size,
                metadata={"source": os.path.basename(inp)},
            )
    except ImportError as e:
        raise _DataError(str(e)) from None
    except OSError as e:
        raise _DataError(f"cannot read {inp}: {e.strerror or e}") from None
    except QuantsigError as e:
        raise _DataError(_one_line(e)) from None
    elapsed = time.perf_counter() - t0
    if not args.quiet:
        print(qm.report().to_text())
        print(f"wrote {out} in {elapsed:.2f} s")
    return 0


# ---------------------------------------------------------------------- rd


def _parse_bits(text: str) -> list[float]:
    """``"1:8"`` (inclusive, optionally ``lo:hi:step``), ``"1,2,4"`` or ``"3"`` -> bits."""
    usage = f"--bits {text!r}: give a range like 1:8 (or 1:8:0.5), a list like 1,2,4, or one number"
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) not in (2, 3):
                raise ValueError
            lo, hi, step = parts[0], parts[1], parts[2] if len(parts) == 3 else 1.0
            if not (math.isfinite(lo) and math.isfinite(hi) and step > 0 and math.isfinite(step)) or hi < lo:
                raise ValueError
            count = math.floor((hi - lo) / step + 1e-9) + 1
            if count > 1000:
                raise ValueError
            values = [lo + i * step for i in range(count)]
        else:
            values = [float(p) for p in text.split(",")]
    except ValueError:
        raise _UsageError(usage) from None
    bad = [v for v in values if not (math.isfinite(v) and v > 0)]
    if bad:
        raise _UsageError(f"--bits {text!r}: bits per sample must be positive, got {bad[0]:g}")
    return [int(v) if v.is_integer() else v for v in values]


def _rd_source(args: argparse.Namespace) -> tuple[np.ndarray, str]:
    """The samples to sweep (1-D) and a description of where they came from."""
    if (args.input is None) == (args.synthetic is None):
        raise _UsageError("give an input file or --synthetic gaussian|laplacian (one of them)")
    if args.synthetic is not None:
        if args.key is not None or args.column is not None:
            raise _UsageError("--key and --column select data from an input file, not from --synthetic")
        if args.n < 1:
            raise _UsageError(f"--n must be positive, got {args.n}")
        rng = np.random.default_rng(args.seed)
        if args.synthetic == "gaussian":
            x = rng.standard_normal(args.n)
        else:  # unit variance
            x = rng.laplace(scale=math.sqrt(0.5), size=args.n)
        return x, f"synthetic {args.synthetic} (unit variance, seed {args.seed})"
    path = args.input
    _check_input(path)
    ext = os.path.splitext(path)[1].lower()
    if args.key is not None and ext != ".npz":
        raise _UsageError("--key selects an array of a .npz archive")
    if args.column is not None and ext != ".csv":
        raise _UsageError("--column selects a column of a .csv file")
    if ext == ".npy":
        x = _load_npy_any(path)
        where = path
    elif ext == ".npz":
        x, key = _load_npz(path, args.key)
        where = f"{path}[{key}]"
    elif ext == ".csv":
        x, col = _load_csv_column(path, args.column)
        where = f"{path}, column {col}"
    else:
        import soundfile as sf

        info = _audio_info(path)
        x, _ = sf.read(path, dtype="float64", always_2d=False)
        where = f"{path} ({info.samplerate} Hz, {info.channels} channel(s))"
    arr = np.asarray(x)
    if arr.dtype.kind not in "iuf":
        raise _DataError(f"{where} holds {arr.dtype} data; rd takes integer or float samples")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    arr = np.ascontiguousarray(arr).reshape(-1)
    if arr.size == 0:
        raise _DataError(f"{where} holds no samples")
    bad = arr.size - int(np.count_nonzero(np.isfinite(arr)))
    if bad:
        raise _DataError(f"{where} holds {bad} NaN or Inf value(s); rate-distortion needs finite samples")
    return arr, where


def _load_npy_any(path: str) -> np.ndarray:
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise _DataError(f"cannot read {path} as a .npy array: {e}") from None
    if not isinstance(x, np.ndarray):
        raise _DataError(f"{path} is not a .npy array (an .npz archive?)")
    return x


def _load_npz(path: str, key: str | None) -> tuple[np.ndarray, str]:
    try:
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files)
            if not names:
                raise _DataError(f"{path} holds no arrays")
            if key is None:
                key = names[0]
            elif key not in names:
                raise _UsageError(f"--key {key}: {path} holds no array {key!r}; it holds {', '.join(names)}")
            return np.asarray(z[key]), key
    except (ValueError, OSError, EOFError, AttributeError) as e:
        raise _DataError(f"cannot read {path} as a .npz archive: {e}") from None


def _load_csv_column(path: str, column: str | None) -> tuple[np.ndarray, str]:
    """One numeric column of a CSV file (a first row with a non-number is the header)."""
    import csv

    def number(cell: str) -> float | None:
        try:
            return float(cell)
        except ValueError:
            return None

    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise _DataError(f"cannot read {path} as CSV: {e}") from None
    if not rows:
        raise _DataError(f"{path} holds no rows")
    header = rows[0] if any(number(c) is None for c in rows[0]) else None
    body = rows[1:] if header is not None else rows
    first_line = 2 if header is not None else 1
    width = max(len(r) for r in rows)
    names = [h.strip() for h in header] if header is not None else []
    if column is None:
        numeric = [j for j in range(width) if body and all(j < len(r) and number(r[j]) is not None for r in body)]
        if not numeric:
            raise _DataError(f"{path} has no column of numbers; choose one with --column")
        j = numeric[0]
    elif column.strip() in names:
        j = names.index(column.strip())
    elif column.strip().lstrip("-").isdigit():
        j = int(column)
        if not 0 <= j < width:
            raise _UsageError(f"--column {column}: {path} has columns 0 to {width - 1}")
    else:
        have = f"its header is {', '.join(names)}" if names else "it has no header: give a column number from 0"
        raise _UsageError(f"--column {column}: no such column in {path}; {have}")
    label = names[j] if j < len(names) and names[j] else str(j)
    values = np.empty(len(body), dtype=np.float64)
    for i, r in enumerate(body):
        cell = r[j] if j < len(r) else ""
        v = number(cell)
        if v is None:
            raise _DataError(f"{path}, line {first_line + i}, column {label}: {cell!r} is not a number")
        values[i] = v
    return values, label


def _cmd_rd(args: argparse.Namespace) -> int:
    from quantsig import rd

    names = [n.strip() for n in args.quantizers.split(",") if n.strip()] if args.quantizers else rd.available_presets()
    if not names:
        raise _UsageError("--quantizers names no preset")
    if len(set(names)) != len(names):
        raise _UsageError(f"--quantizers names a preset twice: {args.quantizers}")
    bits = _parse_bits(args.bits)
    for name in names:
        try:
            for b in bits:
                rd.check_preset(name, b)
        except (ValueError, TypeError) as e:
            raise _UsageError(f"--quantizers {name}: {e}") from None
    if args.jobs < 1 and args.jobs != -1:
        raise _UsageError(f"--jobs must be positive (or -1, one per core), got {args.jobs}")
    outputs = {flag: getattr(args, flag[2:]) for flag in ("--csv", "--json", "--markdown", "--plot")}
    seen: dict[str, str] = {}
    for flag, out in outputs.items():
        if out is None:
            continue
        _check_output(args.input, out, args.force)
        if os.path.abspath(out) in seen:
            raise _UsageError(f"{seen[os.path.abspath(out)]} and {flag} both name {out}")
        seen[os.path.abspath(out)] = flag
    if args.plot is not None:
        _check_plot(args.plot)

    x, where = _rd_source(args)
    variance = float(np.var(x))
    n_points = len(names) * len(bits)
    if not args.quiet:
        print(f"{where}: {x.size} samples, variance {variance:.4g}; {n_points} points")
        sys.stdout.flush()
    from quantsig.progress import Progress

    with Progress(n_points, enabled=not args.quiet, force=args.progress, unit="points", label="rd") as bar:
        result = rd.compare(x, names, bits, n_jobs=args.jobs, progress=bar)

    from quantsig.audio import atomic_path

    written = []
    for flag, write in (("--csv", result.to_csv), ("--json", result.to_json), ("--markdown", result.to_markdown)):
        out = outputs[flag]
        if out is not None:
            with atomic_path(out) as tmp:
                write(tmp)
            written.append(out)
    if args.plot is not None:
        from quantsig.plot import plot_rd

        plot_rd(
            result,
            bound="gaussian" if variance > 0 else None,
            variance=variance if variance > 0 else None,
            path=args.plot,
            title=f"{where}, {x.size} samples",
        )
        written.append(args.plot)
    if not args.quiet:
        print(result.to_text())  # rd.SUMMARY_COLUMNS
        if written:
            print(f"wrote {', '.join(written)}")
    return 0


def _check_plot(path: str) -> None:
    """Fail before the sweep when ``--plot`` cannot work."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise _UsageError('--plot needs matplotlib: pip install "quantsig[plot]"') from None
    try:
        from quantsig import plot
    except ImportError:  # pragma: no cover - a partial install
        raise _UsageError("--plot needs quantsig.plot, which this installation does not have") from None

    formats = getattr(plot, "SAVE_FORMATS", None)
    ext = os.path.splitext(path)[1].lower()
    if formats is not None and ext not in formats:
        raise _UsageError(f"--plot {path}: the file name must end in {', '.join(sorted(formats))}")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``quantsig compress: error: ... (see quantsig compress --help)``."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _UsageError(Exception):
    """Exit status 2: the command line asks for something impossible."""


class _DataError(Exception):
    """Exit status 1: a file cannot be read, decoded or coded as asked."""


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="quantsig", description="Signal and data compression by quantization.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    info = sub.add_parser("info", help="describe a .qsg file, or (no file) version, Numba status, quantizers")
    info.add_argument("file", nargs="?", help="a .qsg file to describe without decoding it")
    info.set_defaults(func=_cmd_info)
    demo = sub.add_parser("demo", help="stream recordings through the codec, then compare every quantizer")
    demo.add_argument("--seconds", type=float, default=30.0, help="length of the recording (default 30)")
    demo.add_argument(
        "--output", metavar="DIR", help="folder for the WAV sources and .qsg files (default ./quantsig-demo)"
    )
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic speech")
    demo.set_defaults(func=_cmd_demo)

    comp = sub.add_parser(
        "compress",
        help="compress an audio file (anything soundfile reads) or a .npy array into a quantsig stream",
        description="Compress an audio file or a .npy array (1-D, or 2-D samples x channels) into a "
        "quantsig stream. Default mode: lossless for integer samples; float samples need --max-error or --bits.",
    )
    comp.add_argument("input", metavar="IN", help="audio file (WAV, FLAC, AIFF, ...) or .npy array")
    comp.add_argument("-o", "--output", metavar="OUT", help="stream file to write (default IN.qsg)")
    modes = comp.add_mutually_exclusive_group()
    modes.add_argument("--lossless", action="store_true", help="bit-exact (integer samples)")
    modes.add_argument(
        "--max-error",
        type=float,
        metavar="E",
        help="bound on every sample's error (in LSBs for integer audio, amplitude for float)",
    )
    modes.add_argument(
        "--bits",
        type=float,
        metavar="R",
        help="target bits per sample (the step is chosen on the first 10 s)",
    )
    modes.add_argument(
        "--quantizer",
        choices=sorted(_G711_CHOICES),
        type=str.lower,
        metavar="NAME",
        help="G.711 on 16-bit samples: g711 / ulaw / mu-law (mu-law), alaw / a-law (A-law); audioop-exact",
    )
    comp.add_argument("--frame-size", type=int, metavar="N", help="samples per frame")
    _output_flags(comp)
    comp.set_defaults(func=_cmd_compress)

    dec = sub.add_parser(
        "decompress",
        help="decode a quantsig stream to .wav / .flac (audio) or .npy",
        description="Decode a quantsig stream. Audio streams keep their sample rate, channels and "
        "subtype (the nearest one the format holds).",
    )
    dec.add_argument("input", metavar="IN", help="a .qsg stream")
    dec.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="file to write: .wav / .flac for audio, .npy for samples (default: IN without .qsg)",
    )
    dec.add_argument(
        "--format", type=str.upper, metavar="FMT", help="audio format, e.g. WAV or FLAC (default: from OUT)"
    )
    dec.add_argument("--subtype", type=str.upper, metavar="ST", help="e.g. PCM_16, PCM_24, FLOAT, ULAW, ALAW")
    dec.add_argument("--rate", type=int, metavar="HZ", help="sample rate for streams that carry none")
    _output_flags(dec)
    dec.set_defaults(func=_cmd_decompress)

    rdp = sub.add_parser(
        "rd",
        help="rate-distortion sweep: bits actually written against the error, per quantizer and rate",
        description="Measure the presets of quantsig.rd (uniform + entropy coding at a target rate, "
        "mu-law, Lloyd-Max, k-means VQ, ECSQ) at each rate: every point is a complete .qsg file "
        "written in memory and read back; its size is the rate. The samples of an audio file "
        "(every channel, interleaved), a .npy or .npz array (flattened) or a CSV column are read "
        "as one series.",
    )
    rdp.add_argument("input", nargs="?", metavar="IN", help="audio file (anything soundfile reads), .npy, .npz or .csv")
    rdp.add_argument(
        "--synthetic",
        choices=("gaussian", "laplacian"),
        type=str.lower,
        help="instead of IN: iid unit-variance samples",
    )
    rdp.add_argument("--n", type=int, default=1_000_000, metavar="N", help="samples of --synthetic (default 1000000)")
    rdp.add_argument("--seed", type=int, default=0, help="seed of --synthetic (default 0)")
    rdp.add_argument("--key", metavar="NAME", help="array of a .npz archive (default: the first)")
    rdp.add_argument(
        "--column",
        metavar="NAME_OR_INDEX",
        help="column of a CSV file, by header name or number from 0 (default: the first numeric one)",
    )
    rdp.add_argument(
        "--quantizers",
        metavar="LIST",
        help="comma-separated presets: uniform, mu-law, lloyd-max, kmeans, kmeans:D, ecsq "
        "(default: all of uniform, mu-law, lloyd-max, kmeans, ecsq)",
    )
    rdp.add_argument(
        "--bits",
        default="1:8",
        metavar="SPEC",
        help="rates in bits per sample: 1:8 (inclusive), 1:4:0.5, 1,2,4 or 3 (default 1:8)",
    )
    rdp.add_argument("--jobs", type=int, default=1, metavar="N", help="points measured at once, in threads (default 1)")
    rdp.add_argument("--plot", metavar="PATH", help="SNR against rate with the Gaussian R(D) bound (.png, .svg, .pdf)")
    rdp.add_argument("--csv", metavar="PATH", help="write the table as CSV")
    rdp.add_argument("--json", metavar="PATH", help="write the table as JSON (non-finite numbers as null)")
    rdp.add_argument("--markdown", metavar="PATH", help="write the table as a Markdown table")
    _output_flags(rdp)
    rdp.set_defaults(func=_cmd_rd)

    wp = sub.add_parser(
        "weights",
        help="quantize a model's weights (.safetensors, .npz, .pt) into a weights archive; print its report",
        description="Quantize the weight matrices of a model (.safetensors, .npz, or a PyTorch .pt/.pth/.bin "
        "state dict) with quantsig's quantizers into one .qsg archive, tensor by tensor, and print the "
        "per-tensor report (bits per weight counted from the bytes written). Either set a budget with "
        "--bits-per-weight (the archive meets it with the least error; the other options restrict the "
        "choice), or fix the scheme with --method/--bits. Biases, norms, non-float tensors and tensors "
        "smaller than --min-size are kept exactly.",
    )
    wp.add_argument("input", nargs="?", metavar="IN", help="model file: .safetensors, .npz, .pt, .pth or .bin")
    wp.add_argument("-o", "--output", metavar="OUT", help="archive to write (default: IN with the suffix .qsg)")
    wp.add_argument("--report", metavar="ARCHIVE", help="print the report of an existing archive instead")
    wp.add_argument(
        "--bits-per-weight",
        type=float,
        metavar="B",
        help="budget in bits per weight over the whole archive (everything written counted)",
    )
    wp.add_argument(
        "--method",
        choices=_WEIGHTS_METHODS,
        type=str.lower,
        metavar="M",
        help=f"quantizer: {', '.join(_WEIGHTS_METHODS)} (default with no budget: uniform)",
    )
    wp.add_argument("--bits", type=float, metavar="N", help="bits per code (the target rate for ecsq); default 4")
    wp.add_argument(
        "--granularity",
        choices=("tensor", "channel", "group"),
        type=str.lower,
        metavar="G",
        help="what shares a scale: tensor, channel or group (default: per method)",
    )
    wp.add_argument("--group-size", type=int, metavar="S", help="values per group along a row (implies group)")
    wp.add_argument(
        "--entropy",
        choices=("rans", "raw"),
        type=str.lower,
        metavar="E",
        help="rans or raw packing of the codes (default: whichever is smaller)",
    )
    wp.add_argument(
        "--skip",
        nargs="+",
        metavar="PATTERN",
        action="extend",
        help="keep tensors whose names match these fnmatch patterns exact (e.g. '*embed*')",
    )
    wp.add_argument("--min-size", type=int, metavar="N", help="smallest tensor (values) to quantize (default 4096)")
    wp.add_argument(
        "--allocation",
        choices=("tensor", "weight"),
        default="tensor",
        type=str.lower,
        metavar="A",
        help="how a budget is shared: 'tensor' (each tensor contributes equally to the model's "
        "error; default) or 'weight' (the same bits for every weight: least weight MSE)",
    )
    wp.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="tensors quantized at once, in threads (default 1)"
    )
    _output_flags(wp)
    wp.set_defaults(func=_cmd_weights)
    return p


_G711_CHOICES = ("g711", "ulaw", "mu-law", "mulaw", "alaw", "a-law")


def _output_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--force", action="store_true", help="overwrite OUT if it exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary line")
    p.add_argument("--progress", action="store_true", help="draw the progress bar even when stderr is not a terminal")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``quantsig`` console script; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for a usage error, 1 for a data error (the message is on stderr).

    Examples
    --------
    Compress a ``.npy`` array of 16-bit samples losslessly, describe the stream and decode it
    back:

    >>> import os, tempfile, numpy as np
    >>> from quantsig.cli import main
    >>> tmp = tempfile.TemporaryDirectory()
    >>> src, qsg, out = (os.path.join(tmp.name, name) for name in ("x.npy", "x.qsg", "y.npy"))
    >>> x = (1000 * np.sin(np.arange(2000) / 9)).astype(np.int16)
    >>> np.save(src, x)
    >>> main(["compress", "--quiet", src, "-o", qsg])
    0
    >>> main(["info", qsg])  # doctest: +ELLIPSIS
    /.../x.qsg: quantsig stream
      samples     2000 x 1 channel(s), <i2
      mode        lossless, max error 0
    ...
    0
    >>> main(["decompress", "--quiet", qsg, "-o", out])
    0
    >>> np.array_equal(np.load(out), x)
    True

    An existing output is kept unless ``--force`` is given: a usage error, status 2.

    >>> main(["compress", "--quiet", src, "-o", qsg])
    2
    >>> tmp.cleanup()
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed one line of usage error
        return int(e.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        status = _run(args)
    for w in caught:
        if issubclass(w.category, UserWarning):
            print(f"quantsig: warning: {w.message}", file=sys.stderr)
    return status


def _run(args: argparse.Namespace) -> int:
    import soundfile as sf

    try:
        return int(args.func(args))
    except _UsageError as e:
        return _fail(str(e), 2)
    except _DataError as e:
        return _fail(str(e), 1)
    except KeyboardInterrupt:
        print("quantsig: interrupted", file=sys.stderr)
        return 130
    except (QuantsigError, ValueError, TypeError, sf.SoundFileError) as e:
        return _fail(_one_line(e), 1)
    except OSError as e:
        where = f" {e.filename}" if e.filename else ""
        return _fail(f"cannot access{where}: {e.strerror or e}", 1)
    except MemoryError:
        return _fail("out of memory", 1)
    except Exception as e:  # a bug: still one line, the traceback on request
        if os.environ.get("QUANTSIG_DEBUG"):
            raise
        return _fail(f"internal error: {type(e).__name__}: {_one_line(e)} (QUANTSIG_DEBUG=1 shows the traceback)", 1)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _fail(msg: str, status: int) -> int:
    print(f"quantsig: error: {msg}", file=sys.stderr)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
