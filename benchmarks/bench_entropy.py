"""Entropy coding: quantsig's rANS blocks against constriction's ANS coder, zstd, lzma and zlib.

The symbol streams are the codes of an unbounded uniform quantizer (``UniformQuantizer(step=)``,
int32 codes) on 10M iid samples: Gaussian at about 2, 4 and 8 bits of entropy, Laplacian at
about 6 bits, and (an extra, escape-heavy row) Cauchy. For each stream:

* **speed** (one core, side by side, interleaved): ``encode_symbols(codes)`` against
  constriction's whole encoder pipeline (offset the codes, ``np.bincount``,
  ``Categorical(perfect=False)``, ``AnsCoder.encode_reverse``) and ``decode_symbols`` against
  ``Categorical`` + ``AnsCoder.decode`` + offset. Both sides build their model inside the
  timed call; constriction's coder-only times are in the JSON too.
* **size**: our block (header and frequency table included) against the empirical order-0
  entropy, constriction's payload (its model *not* included), and zstd -3 / -19, lzma
  (preset 6) and zlib -9 on the raw codes in the narrowest integer dtype that holds them;
  and the overhead over the order-0 entropy of each block when the stream is cut into
  blocks of 4k, 64k and 1M symbols.

Standalone::

    python benchmarks/bench_entropy.py [--quick] [--json PATH]

prints both tables and writes ``benchmarks/results/entropy.json``. Inside ``run.py`` the case
``CASES["entropy"]`` yields the speed rows (ratios "higher is better for quantsig"); the size
numbers ride in each encode row's ``info``.
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
import lzma
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from _common import (
    CaseResult,
    Skip,
    format_table,
    machine_info,
    now_iso,
    skipped_row,
    speedup_row,
    time_interleaved,
    write_json,
)
from bench_quantizers import FULL, QUICK, SEED, Case, Sizes

__all__ = ["SOURCES", "ROWS", "CASES", "case_entropy", "size_report", "main"]

#: name -> (description, sampler(rng, n) -> float64 samples, quantizer step)
SOURCES: dict[str, tuple[str, Callable[[np.random.Generator, int], np.ndarray], float]] = {
    "gauss2": ("Gaussian, step = sigma (about 2.1 bits)", lambda r, n: r.standard_normal(n), 1.0),
    "gauss4": ("Gaussian, step = sigma/4 (about 4.0 bits)", lambda r, n: r.standard_normal(n), 0.25),
    "gauss8": ("Gaussian, step = sigma/64 (about 8.0 bits)", lambda r, n: r.standard_normal(n), 1 / 64),
    "laplace": ("Laplacian scale 1, step = 1/16 (about 6.4 bits)", lambda r, n: r.laplace(size=n), 1 / 16),
    "cauchy": ("Cauchy clipped to +-1e4, step = 1/8 (heavy tail: escapes)", lambda r, n: r.standard_cauchy(n), 1 / 8),
}
#: Sources whose rows carry targets (the Cauchy row is reported, not judged).
TARGET_SOURCES = ("gauss2", "gauss4", "gauss8", "laplace")
BLOCK_SIZES = (4096, 65536, 1 << 20)
ROWS: tuple[str, ...] = tuple(
    f"entropy.{what}.{src}.vs_constriction" for src in SOURCES for what in ("encode", "decode")
)
MIN_MSYMS = 100.0  # both directions must exceed this many Msymbols/s


def _codes(name: str, n: int) -> np.ndarray:
    from quantsig import UniformQuantizer

    _, sampler, step = SOURCES[name]
    rng = np.random.default_rng(SEED)
    x = sampler(rng, n)
    if name == "cauchy":
        x = np.clip(x, -1e4, 1e4)  # codes within +-80,000: escapes, yet a Categorical constriction can build
    return UniformQuantizer(step=step).encode(x)


def _narrow(codes: np.ndarray) -> np.ndarray:
    """The codes in the narrowest signed dtype that holds them (what a general compressor gets)."""
    lo, hi = int(codes.min()), int(codes.max())
    for dt in (np.int8, np.int16, np.int32):
        if np.iinfo(dt).min <= lo and hi <= np.iinfo(dt).max:
            return codes.astype(dt)
    return codes.astype(np.int64)


def _constriction():
    try:
        import constriction
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise Skip(f"constriction is not installed ({exc}); pip install constriction") from exc
    return constriction


def _general_compressors() -> dict[str, Callable[[bytes], bytes]]:
    out: dict[str, Callable[[bytes], bytes]] = {
        "lzma": lambda b: lzma.compress(b, preset=6),
        "zlib-9": lambda b: zlib.compress(b, 9),
    }
    try:
        import zstandard
    except ImportError:
        return out
    out["zstd-3"] = zstandard.ZstdCompressor(level=3).compress
    out["zstd-19"] = zstandard.ZstdCompressor(level=19).compress
    return out


def size_report(
    name: str, codes: np.ndarray, block: bytes, theirs_nbytes: int | None, block_sizes: Sequence[int] = BLOCK_SIZES
) -> dict[str, Any]:
    """Sizes of one stream: ours, entropy, constriction, general compressors, per block size."""
    from quantsig.entropy import block_info, encode_symbols, order0_entropy

    n = codes.size
    h = order0_entropy(codes)
    info = block_info(block)
    rep: dict[str, Any] = {
        "source": SOURCES[name][0],
        "n": n,
        "entropy_bits": h,
        "ours_bytes": len(block),
        "ours_bits": len(block) * 8 / n,
        "ours_overhead": len(block) * 8 / n / h - 1 if h else None,
        "table_bytes": info.table_nbytes,
        "escapes": info.n_escapes,
        "escape_bytes": info.escape_nbytes,
        "precision": info.precision,
        "alphabet": info.alphabet_size,
    }
    if theirs_nbytes is not None:
        rep["constriction_bytes"] = theirs_nbytes
        rep["constriction_bits"] = theirs_nbytes * 8 / n
        rep["constriction_overhead"] = theirs_nbytes * 8 / n / h - 1 if h else None
    raw = _narrow(codes)
    rep["raw_dtype"] = str(raw.dtype)
    rep["general"] = {}
    for cname, compress in _general_compressors().items():
        t0 = time.perf_counter()
        size = len(compress(raw.tobytes()))
        rep["general"][cname] = {"bytes": size, "bits": size * 8 / n, "seconds": time.perf_counter() - t0}
    blocks = {}
    for bs in block_sizes:
        if bs >= n:
            continue
        total = ideal = table = 0.0
        for s in range(0, n - n % bs, bs):  # whole blocks only
            part = codes[s : s + bs]
            b = encode_symbols(part)
            total += len(b)
            ideal += order0_entropy(part) * bs / 8
            table += block_info(b).table_nbytes
        blocks[str(bs)] = {
            "overhead": total / ideal - 1 if ideal else None,
            "table_share": table / total if total else None,
            "n_blocks": n // bs,
        }
    blocks[str(n)] = {"overhead": rep["ours_overhead"], "table_share": info.table_nbytes / len(block), "n_blocks": 1}
    rep["blocks"] = blocks
    return rep


def size_verdicts(rep: dict[str, Any]) -> dict[str, bool]:
    """The size targets: <= 0.5 % over entropy for 64k+ blocks, <= 0.1 % for 1M+, < zstd -19."""
    out = {}
    for bs, row in rep["blocks"].items():
        if int(bs) >= 65536 and row["overhead"] is not None:
            out[f"blocks {int(bs):,}: <= {'0.1' if int(bs) >= 1 << 20 else '0.5'}%"] = row["overhead"] <= (
                0.001 if int(bs) >= 1 << 20 else 0.005
            )
    if "zstd-19" in rep["general"]:
        out["< zstd -19"] = rep["ours_bytes"] < rep["general"]["zstd-19"]["bytes"]
    return out


def case_entropy(sizes: Sizes) -> Iterator[CaseResult]:
    """Speed rows (ours vs constriction) for every source; sizes go into the encode rows' info."""
    from quantsig.entropy import decode_symbols, encode_symbols

    constriction = _constriction()
    Categorical = constriction.stream.model.Categorical
    AnsCoder = constriction.stream.stack.AnsCoder
    n = sizes.n_samples
    group = "entropy"
    for name in SOURCES:
        codes = _codes(name, n)
        block = encode_symbols(codes)
        lo = int(codes.min())
        k = int(codes.max()) - lo + 1
        if k > 1 << 24:
            reason = f"{k} distinct code values are too many for a constriction Categorical"
            for what in ("encode", "decode"):
                yield skipped_row(f"{group}.{what}.{name}.vs_constriction", group, reason)
            continue
        probs = np.bincount((codes - lo).astype(np.int32), minlength=k) / n
        model = Categorical(probs, perfect=False)
        coder = AnsCoder()
        coder.encode_reverse((codes - lo).astype(np.int32), model)
        compressed = coder.get_compressed()
        back = decode_symbols(block, n, np.int32)
        theirs_back = AnsCoder(compressed).decode(model, n) + lo
        if not (np.array_equal(back, codes) and np.array_equal(theirs_back, codes)):
            raise AssertionError(f"{name}: a round trip failed")

        def ours_encode() -> bytes:
            return encode_symbols(codes)

        def theirs_encode() -> np.ndarray:
            sym = (codes - lo).astype(np.int32)
            m = Categorical(np.bincount(sym, minlength=k) / n, perfect=False)
            c = AnsCoder()
            c.encode_reverse(sym, m)
            return c.get_compressed()

        def ours_decode() -> np.ndarray:
            return decode_symbols(block, n, np.int32)

        def theirs_decode() -> np.ndarray:
            m = Categorical(probs, perfect=False)
            return AnsCoder(compressed).decode(m, n) + lo

        sym = (codes - lo).astype(np.int32)

        def theirs_encode_coder_only() -> np.ndarray:
            c = AnsCoder()
            c.encode_reverse(sym, model)
            return c.get_compressed()

        def theirs_decode_coder_only() -> np.ndarray:
            return AnsCoder(compressed).decode(model, n)

        t = time_interleaved(
            {
                "ours_enc": ours_encode,
                "theirs_enc": theirs_encode,
                "ours_dec": ours_decode,
                "theirs_dec": theirs_decode,
                "coder_enc": theirs_encode_coder_only,
                "coder_dec": theirs_decode_coder_only,
            },
            repeat=sizes.repeat,
        )
        rep = size_report(
            name, codes, block, compressed.nbytes, block_sizes=BLOCK_SIZES if n > 1 << 20 else (4096, 65536)
        )
        verdicts = size_verdicts(rep)
        judged = name in TARGET_SOURCES
        mps = {key: n / t[key].best / 1e6 for key in t}
        zstd19 = rep["general"].get("zstd-19", {}).get("bits")
        size_summary = (
            f"{rep['ours_bits']:.4f} b/sym, H {rep['entropy_bits']:.4f} "
            f"(+{100 * rep['ours_overhead']:.3f}%), constriction {rep['constriction_bits']:.4f}"
            + (f", zstd-19 {zstd19:.3f}" if zstd19 else "")
        )
        info = {
            "msymbols_per_s": mps,
            "size": rep,
            "size_targets": verdicts,
            "source": SOURCES[name][0],
            "summary": f"{mps['ours_enc']:.0f} vs {mps['theirs_enc']:.0f} Msym/s; {size_summary}",
        }
        yield speedup_row(
            f"{group}.encode.{name}.vs_constriction",
            group,
            ours="encode_symbols(codes) (statistics, table, rANS)",
            peer="bincount + Categorical + AnsCoder.encode_reverse",
            t_ours=t["ours_enc"],
            t_peer=t["theirs_enc"],
            target=1.0 if judged else None,
            condition=f"> {MIN_MSYMS:g} Msym/s" if judged else None,
            condition_ok=mps["ours_enc"] > MIN_MSYMS if judged else None,
            info=info,
        )
        yield speedup_row(
            f"{group}.decode.{name}.vs_constriction",
            group,
            ours="decode_symbols(block, n, int32)",
            peer="Categorical + AnsCoder.decode + offset",
            t_ours=t["ours_dec"],
            t_peer=t["theirs_dec"],
            target=2.0 if judged else None,
            condition=f"> {MIN_MSYMS:g} Msym/s" if judged else None,
            condition_ok=mps["ours_dec"] > MIN_MSYMS if judged else None,
            info={
                "msymbols_per_s": mps,
                "summary": f"{mps['ours_dec']:.0f} vs {mps['theirs_dec']:.0f} Msym/s "
                f"(constriction coder only {mps['coder_dec']:.0f})",
            },
        )


CASES: dict[str, Case] = {
    "entropy": Case("entropy", "rANS blocks vs constriction ANS (speed) and zstd/lzma/zlib (size)", ROWS, case_entropy),
}


def format_sizes(rows: Sequence[CaseResult]) -> str:
    """The size table: bits/symbol of ours and the peers, and the block-size overheads."""
    reps = [
        (r.name.split(".")[2], r.info["size"], r.info["size_targets"])
        for r in rows
        if r.status == "ok" and "size" in r.info
    ]
    if not reps:
        return ""
    general = sorted({g for _, rep, _ in reps for g in rep["general"]})
    header = [
        "source",
        "H bits",
        "ours",
        "+%",
        "constr.",
        *general,
        "table B",
        "esc",
        *(f"+% {int(b) // 1024}k" for b in (4096, 65536, 1 << 20)),
        "targets",
    ]
    lines = [header]
    for name, rep, verdicts in reps:
        blocks = rep["blocks"]
        lines.append(
            [
                name,
                f"{rep['entropy_bits']:.4f}",
                f"{rep['ours_bits']:.4f}",
                f"{100 * rep['ours_overhead']:.3f}",
                f"{rep['constriction_bits']:.4f}",
                *(f"{rep['general'][g]['bits']:.3f}" for g in general),
                str(rep["table_bytes"]),
                str(rep["escapes"]),
                *(
                    f"{100 * blocks[str(b)]['overhead']:.3f}" if str(b) in blocks else "-"
                    for b in (4096, 65536, 1 << 20)
                ),
                ("met" if all(verdicts.values()) else "MISSED " + ", ".join(k for k, v in verdicts.items() if not v))
                if name in TARGET_SOURCES
                else "-",
            ]
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    out = [
        "  ".join(
            c.ljust(w) if i in (0, len(header) - 1) else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))
        ).rstrip()
        for row in lines
    ]
    out.insert(1, "-" * max(len(x) for x in out))
    return "bits per symbol (ours: table included; constriction: payload only)\n" + "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the entropy case standalone: print the speed and size tables, write the JSON."""
    parser = argparse.ArgumentParser(prog="benchmarks/bench_entropy.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k symbols, few repeats (machinery check)")
    parser.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results" / "entropy.json")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    rows: list[CaseResult] = []
    try:
        for row in case_entropy(sizes):
            rows.append(row)
            print(f"  {row.name}: {row.status}", file=sys.stderr, flush=True)
    except Skip as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return 0
    print(format_table(rows))
    print()
    print(format_sizes(rows))
    elapsed = time.perf_counter() - started
    write_json(
        args.json,
        {
            "schema": 1,
            "created": now_iso(),
            "command": " ".join(
                ["python", "benchmarks/bench_entropy.py", *(argv if argv is not None else sys.argv[1:])]
            ),
            "quick": bool(args.quick),
            "elapsed_s": elapsed,
            "machine": machine_info(),
            "n_symbols": sizes.n_samples,
            "repeat": sizes.repeat,
            "results": [r.to_json() for r in rows],
        },
    )
    print(f"\n{elapsed:.0f} s; wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
