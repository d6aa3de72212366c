"""The ``quantsig`` command line.

Sub-commands: ``info`` (version, Numba status, registered quantizers) and ``demo`` (the
README's main job). Bad arguments give one clear line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from typing import Any, Sequence

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

    try:
        d = info(path)
    except OSError as e:
        raise _UsageError(f"cannot read {path}: {e.strerror or e}") from None
    except QuantsigError as e:
        raise _UsageError(f"{path}: {e}") from None
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
    from quantsig.demo import format_table, run_demo

    if not args.seconds > 0:
        raise _UsageError(f"--seconds must be positive, got {args.seconds}")
    rows, src = run_demo(seconds=args.seconds, output=args.output, seed=args.seed)
    print(
        f"Compressed {args.seconds:g} s of synthetic speech (8 kHz, 16-bit PCM WAV read through soundfile)"
        " with each quantizer into a rANS-coded .qsg file:"
    )
    print(format_table(rows))
    print("fixed b/s: log2(levels) per sample; file b/s: bits per sample actually written (headers and")
    print("tables included); ratio: against the 16-bit PCM; every file was read back and checked.")
    if args.output:
        print(f"Source WAV, .qsg files and reconstructed WAVs written to {os.path.abspath(args.output)}")
    return 0


class _UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="quantsig", description="Signal and data compression by quantization.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    info = sub.add_parser("info", help="describe a .qsg file, or (no file) version, Numba status, quantizers")
    info.add_argument("file", nargs="?", help="a .qsg file to describe without decoding it")
    info.set_defaults(func=_cmd_info)
    demo = sub.add_parser("demo", help="quantize a speech-like recording with every quantizer and print a table")
    demo.add_argument("--seconds", type=float, default=30.0, help="length of the recording (default 30)")
    demo.add_argument("--output", metavar="DIR", help="write the source and reconstructed WAV files here")
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic speech")
    demo.set_defaults(func=_cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``quantsig`` console script; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed one line of usage error
        return int(e.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except _UsageError as e:
        print(f"quantsig: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("quantsig: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
