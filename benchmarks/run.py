"""Run the quantsig benchmarks: each quantizer side by side with its peer, on one core.

Usage::

    python benchmarks/run.py [--quick] [--only NAME ...] [--json PATH]

Prints a table (case, our time, peer time, ratio, target, verdict, extra information) and
writes every number, the data sizes and a description of the machine to JSON
(``benchmarks/results/latest.json`` by default). A ratio is always "higher is better for
quantsig" (see ``benchmarks/_common.py``). Missing optional peers (faiss, audioop) are
reported as skipped. The exit status is 1 when a case failed with an error, 0 otherwise:
targets missed are reported, never turned into a failure. Benchmarks are not part of the
test suite's pass/fail.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# One core, for us and for the peers alike: this must happen before NumPy, Numba,
# scikit-learn or faiss are imported (they size their thread pools at import time).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import THREAD_ENV

os.environ.update(THREAD_ENV)

import argparse
import subprocess
import time
import traceback
import warnings
from collections.abc import Sequence
from typing import Any

import bench_entropy as be
import bench_quantizers as bq
import bench_rd as brd
import bench_stream as bs
import bench_weights as bw
import bench_zarr as bz
from _common import (
    CaseResult,
    Skip,
    error_row,
    format_table,
    machine_info,
    now_iso,
    skipped_row,
    write_json,
)

CASES = {**bq.CASES, **be.CASES, **bs.CASES, **brd.CASES, **bw.CASES, **bz.CASES}

SCHEMA_VERSION = 1
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``--only`` takes case groups, repeatable or comma-separated)."""
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="Side-by-side, single-core benchmarks of quantsig against its peers.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes and few repeats (a smoke run, not a measurement)"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these case groups ({', '.join(CASES)}); repeatable or comma-separated",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        metavar="PATH",
        help="where to write the results (default: benchmarks/results/latest.json)",
    )
    args = parser.parse_args(argv)
    groups = [g.strip() for item in args.only for g in item.split(",") if g.strip()]
    unknown = [g for g in groups if g not in CASES]
    if unknown:
        parser.error(f"unknown case group(s) {', '.join(map(repr, unknown))}; choose from {', '.join(CASES)}")
    args.groups = groups or list(CASES)
    return args


def run_case(case: bq.Case, sizes: bq.Sizes) -> list[CaseResult]:
    """Run one case; rows it could not produce become ``skipped`` (on :class:`Skip`) or
    ``error`` rows (on any other exception, with the traceback printed to stderr)."""
    rows: list[CaseResult] = []
    try:
        for row in case.run(sizes):
            rows.append(row)
            print(f"  {row.name}: {row.status}", file=sys.stderr, flush=True)
    except Skip as exc:
        done = {r.name for r in rows}
        rows += [skipped_row(name, case.group, str(exc)) for name in case.rows if name not in done]
        print(f"  skipped: {exc}", file=sys.stderr, flush=True)
    except Exception as exc:
        traceback.print_exc()
        done = {r.name for r in rows}
        reason = f"{type(exc).__name__}: {exc}"
        rows += [error_row(name, case.group, reason) for name in case.rows if name not in done]
    return rows


def git_revision() -> str | None:
    """``git describe --always --dirty`` of the checkout holding this file, None without git."""
    try:
        proc = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def summarize(rows: Sequence[CaseResult]) -> dict[str, Any]:
    """Counts by status and the names of the rows whose target was met or missed."""
    return {
        "n_rows": len(rows),
        "n_ok": sum(r.status == "ok" for r in rows),
        "n_skipped": sum(r.status == "skipped" for r in rows),
        "n_error": sum(r.status == "error" for r in rows),
        "targets_met": [r.name for r in rows if r.met is True],
        "targets_missed": [r.name for r in rows if r.met is False],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected cases, print the table, write the JSON; return the exit status."""
    args = parse_args(argv)
    sizes = bq.QUICK if args.quick else bq.FULL
    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        warnings.warn(
            "NUMBA_DISABLE_JIT is set: quantsig's kernels run as plain Python and these numbers mean nothing",
            RuntimeWarning,
            stacklevel=1,
        )
    started = time.perf_counter()
    rows: list[CaseResult] = []
    for group in args.groups:
        case = CASES[group]
        print(f"[{group}] {case.title}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        rows += run_case(case, sizes)
        print(f"[{group}] {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started

    print(format_table(rows))
    summary = summarize(rows)
    print(
        f"\n{summary['n_ok']} measured, {summary['n_skipped']} skipped, {summary['n_error']} errors; "
        f"targets met {len(summary['targets_met'])}, missed {len(summary['targets_missed'])}; "
        f"{elapsed:.0f} s{' (quick sizes: a smoke run, not a measurement)' if args.quick else ''}"
    )
    payload = {
        "schema": SCHEMA_VERSION,
        "created": now_iso(),
        "command": " ".join(["python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "quick": bool(args.quick),
        "groups": args.groups,
        "elapsed_s": elapsed,
        "git_revision": git_revision(),
        "machine": machine_info(),
        "sizes": bq.sizes_dict(sizes),
        "ratio_convention": "higher is better for quantsig: peer_s / ours_s (kind='speedup'), "
        "budget_s / ours_s (kind='budget')",
        "results": [r.to_json() for r in rows],
        "summary": summary,
    }
    write_json(args.json, payload)
    print(f"wrote {args.json}")
    return 1 if summary["n_error"] else 0


if __name__ == "__main__":
    sys.exit(main())
