"""Rate-distortion sweeps: how long ``quantsig.rd`` takes to measure a whole R-D curve.

The sweep is the issue's: 1M iid unit-Gaussian samples (float64, seed 0), the five presets of
:func:`quantsig.rd.quantizer_for` (``uniform``, ``mu-law``, ``lloyd-max``, ``kmeans``,
``ecsq``) at the nine rates 1, 2, ..., 9 bits per sample (integer rates: the fixed-rate presets
take nothing else, and 9 points cover low to high rate for all five), on one thread
(``n_jobs=1``, Numba and BLAS/OpenMP pools at one thread). Every point is measured as
:func:`quantsig.rd.rd_point` does: fit (the preset's search or training included), compress
into a complete ``.qsg`` file, decompress, check the round trip, compute the metrics.

Rows (``kind="budget"``, ratio = budget / our time, higher is better):

* ``rd.sweep.<preset>``: seconds of that preset's nine points (reported against the total
  budget, no target of its own); ``info`` holds the rates and SNRs.
* ``rd.sweep.total``: the five sweeps together, target: under 30 s; its condition is the
  ``uniform`` preset's gap to the Gaussian ``R(D)`` (rate written minus ``R(D)``) at 3 to 8
  bits being at most 0.28 bit (judged on the full 1M samples only).

Each preset first runs untimed on 20,000 samples (Numba kernels loaded or compiled,
scikit-learn imported); that warm-up time is in the ``info`` of the total row. ``--quick`` uses
100,000 samples.

Standalone::

    python benchmarks/bench_rd.py [--quick] [--json PATH]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import THREAD_ENV

if __name__ == "__main__":  # one core, before NumPy and Numba size their thread pools
    os.environ.update(THREAD_ENV)

import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from _common import CaseResult, group_main, one_thread, skipped_row
from bench_quantizers import FULL, QUICK, SEED, Case, Sizes

__all__ = ["GROUP", "PRESETS", "BITS", "ROWS", "CASES", "case_rd", "main"]

GROUP = "rd"
PRESETS = ("uniform", "mu-law", "lloyd-max", "kmeans", "ecsq")
BITS = tuple(range(1, 10))
N_FULL, N_QUICK, N_WARMUP = 1_000_000, 100_000, 20_000
BUDGET_S = 30.0
GAP_BITS = range(3, 9)
MAX_GAP_BITS = 0.28
ROWS: tuple[str, ...] = (*(f"{GROUP}.sweep.{p}" for p in PRESETS), f"{GROUP}.sweep.total")


def case_rd(sizes: Sizes) -> Iterator[CaseResult]:
    """Time each preset's nine-point sweep and the total against the 30 s budget."""
    from quantsig import rd

    n = N_QUICK if sizes == QUICK else N_FULL
    x = np.random.default_rng(SEED).standard_normal(n)
    available = set(rd.available_presets())
    missing = [p for p in PRESETS if p not in available]
    total = 0.0
    gaps: dict[str, float] = {}
    with one_thread():
        t0 = time.perf_counter()
        for p in PRESETS:
            if p in available:
                rd.rd_curve(x[:N_WARMUP], p, [1, 2])
        warmup_s = time.perf_counter() - t0
        for p in PRESETS:
            name = f"{GROUP}.sweep.{p}"
            if p not in available:
                yield skipped_row(name, GROUP, f"preset {p!r} is not available (quantsig.ECSQuantizer missing)")
                continue
            t0 = time.perf_counter()
            res = rd.rd_curve(x, p, BITS)
            dt = time.perf_counter() - t0
            total += dt
            info: dict[str, Any] = {
                "n_samples": n,
                "bits": list(BITS),
                "rate": res["rate"].round(4).tolist(),
                "snr_db": res["snr_db"].round(3).tolist(),
                "fit_s": float(res["fit_s"].sum()),
                "encode_s": float(res["encode_s"].sum()),
                "decode_s": float(res["decode_s"].sum()),
                "summary": f"{dt:.2f} s for {len(BITS)} points; rates {res['rate'][0]:.3f}..{res['rate'][-1]:.3f}",
            }
            if p == "uniform":
                gap = rd.gap_to_gaussian_bound(res, variance=1.0)
                gaps = {str(b): float(g) for b, g in zip(BITS, gap) if b in GAP_BITS}
                info["gap_to_gaussian_rd"] = gaps
                info["summary"] += f"; gap to R(D) at 3..8 bits <= {max(gaps.values()):.3f}"
            yield CaseResult(
                name=name,
                group=GROUP,
                ours=f"rd_curve(x, {p!r}, bits 1..9)",
                peer="total budget",
                ours_s=dt,
                peer_s=BUDGET_S,
                kind="budget",
                info=info,
            )
    # judged on 1M samples only: on 100k (--quick) the file header alone adds about 0.03 bit
    gap_ok = max(gaps.values()) <= MAX_GAP_BITS if gaps and n >= N_FULL else None
    note = f" (without {', '.join(missing)})" if missing else ""
    yield CaseResult(
        name=f"{GROUP}.sweep.total",
        group=GROUP,
        ours=f"{len(PRESETS) - len(missing)} presets x {len(BITS)} rates on {n} samples, one thread{note}",
        peer="budget",
        ours_s=total,
        peer_s=BUDGET_S,
        kind="budget",
        target=1.0,
        condition=f"uniform gap to R(D) <= {MAX_GAP_BITS} bit at 3..8 bits",
        condition_ok=gap_ok,
        info={
            "n_samples": n,
            "warmup_s": warmup_s,
            "missing_presets": missing,
            "summary": f"{total:.1f} s{note}; warm-up {warmup_s:.1f} s",
        },
    )


CASES: dict[str, Case] = {
    GROUP: Case(
        GROUP, "rate-distortion sweep: five presets x nine rates on 1M Gaussian samples, one thread", ROWS, case_rd
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the rd group alone: print the table, write the JSON."""
    return group_main(
        "rd", case_rd, QUICK, FULL, argv, __doc__ or "", quick_help=f"{N_QUICK} samples (machinery check)"
    )


if __name__ == "__main__":
    sys.exit(main())
