"""Mutation fuzzing of .qsg files: only CorruptFileError may come out.

Makes a few valid files (several quantizers, rANS and raw frames, learned arrays; streams:
lossless stereo, value maps, bounded integers, float frames with exceptions), then
applies random mutations (bit flips, byte overwrites, truncation, insertion, forged 32/64-bit
length fields, splices of two files) and decodes each result. Two kinds also *repair the
checksum* after damaging a frame payload or the header, so that the entropy decoders and the
header validation, not the CRC, must catch the damage. Any exception other than
``quantsig.CorruptFileError`` is a failure, and so is a successful decode to different values
when the checksums were not repaired (the CRC missed damage). Failures are printed with the
iteration; rerun with the same ``--seed`` to reproduce.

    python benchmarks/fuzz_container.py --n 100000 [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
import zlib
from collections import Counter

import numpy as np

import quantsig
from quantsig import container
from quantsig.errors import CorruptFileError


def corpus() -> list[tuple[bytes, np.ndarray]]:
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((32, 40)) * 0.3).astype(np.float32)
    pcm = rng.laplace(scale=2000, size=700).clip(-32768, 32767).astype(np.int16)
    files = [
        quantsig.compress(x, quantsig.UniformQuantizer(step=0.05), frame_size=300),
        quantsig.compress(x.astype(np.float64), quantsig.LloydMaxQuantizer(8).fit(x), entropy="raw", frame_size=500),
        quantsig.compress(x, quantsig.MuLawQuantizer(bits=6, clip=True)),
        quantsig.compress(x, quantsig.KMeansVectorQuantizer(8, dim=2, random_state=0).fit(x)),
        quantsig.compress(pcm, quantsig.G711Quantizer(law="a")),
        # streams: stereo lossless (split blocks, stereo modes), a value map, bounded integers,
        # float32 frames (interpolation or LPC, with exceptions), quantizer mode
        quantsig.compress(np.stack([pcm, pcm // 2 + 7], axis=1), lossless=True, frame_size=300),
        quantsig.compress(quantsig.G711Quantizer().quantize(pcm), lossless=True),
        quantsig.compress(pcm, max_abs_error=9, frame_size=256),
        quantsig.compress(
            np.cumsum(x.ravel()).astype(np.float32) + np.float32(3e6) * (np.arange(1280) % 97 == 5),
            max_abs_error=0.02,
            frame_size=640,
        ),
    ]
    return [(f, quantsig.decompress(f)) for f in files]


def _recrc_frame(blob: bytes, rng: np.random.Generator) -> bytes:
    """Damage one frame's payload and give it a *valid* CRC, so the entropy decoder itself
    must catch the damage (the checksum no longer can)."""
    header = container.read_header(blob)
    frames = container.read_index(blob, header)
    f = frames[int(rng.integers(len(frames)))]
    b = bytearray(blob)
    start = f.offset + 14  # after tag, kind, reserved, n_values, payload_len
    end = start + f.payload_len
    if f.payload_len == 0:
        return bytes(b)
    for _ in range(int(rng.integers(1, 5))):
        i = int(rng.integers(start, end))
        if rng.random() < 0.5:
            b[i] ^= 1 << int(rng.integers(8))
        else:
            b[i] = int(rng.integers(256))
    b[end : end + 4] = struct.pack("<I", zlib.crc32(bytes(b[f.offset : end])))
    return bytes(b)


def _recrc_header(blob: bytes, rng: np.random.Generator) -> bytes:
    """Damage the header's arrays or JSON bytes and fix its CRC."""
    header = container.read_header(blob)
    b = bytearray(blob)
    body_end = header.end - 4
    i = int(rng.integers(16, body_end))
    b[i] ^= 1 << int(rng.integers(8))
    b[body_end : body_end + 4] = struct.pack("<I", zlib.crc32(bytes(b[:body_end])))
    return bytes(b)


def mutate(blob: bytes, other: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    b = bytearray(blob)
    kind = rng.choice(
        [
            "flip",
            "bytes",
            "truncate",
            "insert",
            "length",
            "splice",
            "zero",
            "payload+crc",
            "payload+crc",
            "payload+crc",
            "header+crc",
        ]
    )
    if kind == "payload+crc":
        return str(kind), _recrc_frame(blob, rng)
    if kind == "header+crc":
        return str(kind), _recrc_header(blob, rng)
    if kind == "flip":
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(len(b)))
            b[i] ^= 1 << int(rng.integers(8))
    elif kind == "bytes":
        i = int(rng.integers(len(b)))
        n = int(rng.integers(1, 33))
        b[i : i + n] = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    elif kind == "truncate":
        b = b[: int(rng.integers(len(b)))]
    elif kind == "insert":
        i = int(rng.integers(len(b) + 1))
        b[i:i] = rng.integers(0, 256, int(rng.integers(1, 17)), dtype=np.uint8).tobytes()
    elif kind == "length":
        i = int(rng.integers(max(len(b) - 8, 1)))
        if rng.random() < 0.5:
            v32 = [0, 1, 255, 2**16, 2**31 - 1, 2**32 - 1]
            b[i : i + 4] = struct.pack("<I", v32[int(rng.integers(len(v32)))])
        else:
            v64 = [0, 2**32, 10**12, 2**63 - 1, 2**64 - 1]
            b[i : i + 8] = struct.pack("<Q", v64[int(rng.integers(len(v64)))])
    elif kind == "splice":
        i = int(rng.integers(len(b)))
        j = int(rng.integers(len(other)))
        b = b[:i] + bytearray(other[j:])
    else:
        i = int(rng.integers(len(b)))
        b[i : i + int(rng.integers(1, 64))] = bytes(64)[: len(b[i : i + 64])]
    return str(kind), bytes(b)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="write a summary here")
    args = p.parse_args(argv)
    files = corpus()
    rng = np.random.default_rng(args.seed)
    outcomes: Counter[str] = Counter()
    failures = []
    t0 = time.perf_counter()
    for k in range(args.n):
        i = int(rng.integers(len(files)))
        blob, expected = files[i]
        other_blob, other_expected = files[int(rng.integers(len(files)))]
        kind, bad = mutate(blob, other_blob, rng)
        try:
            y = quantsig.decompress(bad)
        except CorruptFileError:
            outcomes["CorruptFileError"] += 1
            continue
        except Exception as e:
            outcomes[f"{type(e).__name__}"] += 1
            failures.append({"iteration": k, "kind": kind, "error": f"{type(e).__name__}: {e}"})
            continue
        if y.shape == expected.shape and y.dtype == expected.dtype and np.array_equal(y, expected):
            outcomes["decoded unchanged"] += 1
        elif kind == "splice" and y.shape == other_expected.shape and np.array_equal(y, other_expected):
            # the cut landed at the start of the other file's header or on a frame boundary of
            # two files whose headers have the same length: a valid file, the other one's
            outcomes["splice gave the other file"] += 1
        elif kind.endswith("+crc"):
            # a forged file with valid checksums may legitimately decode to other values;
            # what matters is that it decoded cleanly (no crash, no other exception)
            outcomes["forged, decoded to other values"] += 1
        else:
            outcomes["WRONG DATA"] += 1
            failures.append(
                {"iteration": k, "kind": kind, "error": "checksums missed damage: decoded to a different array"}
            )
    dt = time.perf_counter() - t0
    summary = {
        "mutations": args.n,
        "seed": args.seed,
        "seconds": round(dt, 1),
        "outcomes": dict(outcomes),
        "failures": failures[:20],
        "n_failures": len(failures),
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
