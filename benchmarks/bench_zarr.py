"""Zarr at scale: a generated float32 array written through ``quantsig.zarr.to_zarr`` on a
``dask.distributed.LocalCluster`` with one worker, then with two.

The data is a sensor log: 64 channels of float32 (a sinusoid per channel, a random walk and
white noise; values within about +-3), generated inside the workers chunk by chunk (seeded by
the chunk's index), so no process ever holds the array. The full run writes 2 GiB
(8,388,608 x 64 float32) in 128 chunks of 65,536 x 64 (16 MiB), with
``max_abs_error=1e-3``, to a ``LocalStore`` in a temporary directory. Each cluster is
``LocalCluster(n_workers=W, threads_per_worker=1, processes=True)`` on loopback, with every
thread pool at one thread (``QUANTSIG_THREADS=1`` and the BLAS/OpenMP variables of
``_common.THREAD_ENV``), so W workers use W cores. Cluster start-up is not timed; the time is
``to_zarr(...)`` from the first task to the last chunk on disk.

Row:

* ``zarr.dask.two_workers``: ``kind="speedup"``, ours = two workers, peer = one worker (the
  same data and store layout), target 1.6x. Conditions: every value read back (by a second
  Dask computation over the store, on the two-worker cluster) is within the bound, and the
  peak resident set size (``ru_maxrss``) of every worker process, in either run, is under
  1 GiB.

``info`` holds the compression ratio, throughput in MB/s of input, the per-worker peaks, the
largest error and the cluster start-up times. ``--quick`` writes 16 MiB (8 chunks of 2 MiB)
to check the machinery.

Standalone::

    python benchmarks/bench_zarr.py [--quick] [--json PATH]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import THREAD_ENV

if __name__ == "__main__":  # one thread per worker, before NumPy and Numba size their pools
    os.environ.update(THREAD_ENV)

import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from _common import CaseResult, Skip, group_main, skipped_row
from bench_quantizers import QUICK as RUN_QUICK
from bench_quantizers import Case

__all__ = ["GROUP", "ROWS", "CASES", "ZarrSizes", "FULL", "QUICK", "sensor_block", "case_zarr", "main"]

GROUP = "zarr"
CHANNELS = 64
MAX_ABS_ERROR = 1e-3
TARGET_SPEEDUP = 1.6
MEMORY_BUDGET = 1 << 30  # bytes per worker
ROWS: tuple[str, ...] = (f"{GROUP}.dask.two_workers",)


@dataclass(frozen=True)
class ZarrSizes:
    """Rows of the generated array and rows per chunk (the array has ``CHANNELS`` columns)."""

    rows: int
    chunk_rows: int

    @property
    def nbytes(self) -> int:
        return self.rows * CHANNELS * 4


FULL = ZarrSizes(rows=1 << 23, chunk_rows=1 << 16)  # 2 GiB, 128 chunks of 16 MiB
QUICK = ZarrSizes(rows=1 << 16, chunk_rows=1 << 13)  # 16 MiB, 8 chunks of 2 MiB


def sensor_block(block_id: tuple[int, int], chunk_rows: int) -> np.ndarray:
    """The chunk at ``block_id`` of the generated sensor log (deterministic, float32)."""
    rng = np.random.default_rng([20261130, block_id[0]])
    t = np.arange(block_id[0] * chunk_rows, (block_id[0] + 1) * chunk_rows, dtype=np.float64)[:, None]
    period = 500.0 * (1.0 + np.arange(CHANNELS) / 8.0)
    x = np.sin(2 * np.pi * t / period) * (0.5 + np.arange(CHANNELS) / CHANNELS)
    x += np.cumsum(rng.standard_normal((chunk_rows, CHANNELS)), axis=0) * 0.002
    x += rng.standard_normal((chunk_rows, CHANNELS)) * 0.001
    return x.astype(np.float32)


def _array(sizes: ZarrSizes) -> Any:
    import dask.array as da

    n_chunks = sizes.rows // sizes.chunk_rows
    return da.map_blocks(
        _block_task,
        chunks=((sizes.chunk_rows,) * n_chunks, (CHANNELS,)),
        dtype=np.float32,
        chunk_rows=sizes.chunk_rows,
        meta=np.empty((0, 0), np.float32),
    )


def _block_task(*, chunk_rows: int, block_id: tuple[int, int] | None = None) -> np.ndarray:
    assert block_id is not None
    return sensor_block(block_id, chunk_rows)


def _peak_rss() -> int:
    """Peak resident set size of the calling process, in bytes (Linux reports KiB)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _store_bytes(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def _run(workers: int, sizes: ZarrSizes, folder: str) -> dict[str, Any]:
    """Write the array on a fresh ``workers``-worker cluster; time it, measure it, check it."""
    import dask.array as da
    from distributed import Client, LocalCluster

    from quantsig.zarr import to_zarr

    t0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            env=dict(THREAD_ENV),
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(workers)
        client.run(_warm_up)  # import quantsig and load the kernels before the clock starts
        startup_s = time.perf_counter() - t0
        store = os.path.join(folder, f"w{workers}.zarr")
        t0 = time.perf_counter()
        to_zarr(_array(sizes), store, max_abs_error=MAX_ABS_ERROR)
        write_s = time.perf_counter() - t0
        peaks = client.run(_peak_rss)
        err = float(da.abs(da.from_zarr(store) - _array(sizes)).max().compute()) if workers > 1 else None
    return {
        "workers": workers,
        "write_s": write_s,
        "startup_s": startup_s,
        "peak_rss": sorted(peaks.values()),
        "store_bytes": _store_bytes(store),
        "max_error": err,
    }


def _warm_up() -> None:
    from quantsig.zarr import ChunkOptions, decode_chunk, encode_chunk

    decode_chunk(encode_chunk(sensor_block((0, 0), 512), ChunkOptions.create(max_abs_error=MAX_ABS_ERROR)))


def case_zarr(sizes: Any) -> Iterator[CaseResult]:
    """Write the array with one worker, then two; report the speed-up and the memory peaks.

    ``sizes`` is a ``ZarrSizes``, or ``run.py``'s sizes (its quick sizes select ``QUICK``)."""
    if not isinstance(sizes, ZarrSizes):
        sizes = QUICK if sizes == RUN_QUICK else FULL
    try:
        import cloudpickle
        import distributed  # noqa: F401

        import quantsig.zarr  # noqa: F401
    except ImportError as e:
        raise Skip(f"needs quantsig[dask] (distributed, zarr, dask): {e}") from e
    if (os.cpu_count() or 1) < 2:
        for name in ROWS:
            yield skipped_row(name, GROUP, "needs 2 CPUs")
        return
    # the workers import this file's functions by value: benchmarks/ is not on their path
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    folder = tempfile.mkdtemp(prefix="quantsig-bench-zarr-")
    try:
        one = _run(1, sizes, folder)
        shutil.rmtree(os.path.join(folder, "w1.zarr"))
        two = _run(2, sizes, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    mb = sizes.nbytes / 1e6
    peak = max(one["peak_rss"] + two["peak_rss"])
    ok = two["max_error"] is not None and two["max_error"] <= MAX_ABS_ERROR
    info = {
        "array": f"{sizes.rows} x {CHANNELS} float32 ({sizes.nbytes / 2**30:.3g} GiB), chunks {sizes.chunk_rows} x {CHANNELS}",
        "max_abs_error": MAX_ABS_ERROR,
        "largest_error": two["max_error"],
        "compression_ratio": sizes.nbytes / two["store_bytes"],
        "one_worker_mb_s": mb / one["write_s"],
        "two_workers_mb_s": mb / two["write_s"],
        "startup_s": [one["startup_s"], two["startup_s"]],
        "summary": (
            f"{one['write_s']:.1f} s -> {two['write_s']:.1f} s ({mb / two['write_s']:.1f} MB/s); "
            f"ratio {sizes.nbytes / two['store_bytes']:.2f}; largest error {two['max_error']:.3g}"
        ),
    }
    info["peak_rss_mib_one_worker"] = [round(p / 2**20, 1) for p in one["peak_rss"]]
    info["peak_rss_mib_two_workers"] = [round(p / 2**20, 1) for p in two["peak_rss"]]
    info["summary"] += f"; worker peak {peak / 2**20:.0f} MiB"
    yield CaseResult(
        name=ROWS[0],
        group=GROUP,
        ours="to_zarr(..., max_abs_error=1e-3) on LocalCluster, 2 workers x 1 thread",
        peer="the same on 1 worker x 1 thread",
        ours_s=two["write_s"],
        peer_s=one["write_s"],
        kind="speedup",
        target=TARGET_SPEEDUP,
        condition=f"all values within {MAX_ABS_ERROR}, worker peak RSS < 1 GiB",
        condition_ok=ok and peak < MEMORY_BUDGET,
        info=info,
    )


CASES: dict[str, Case] = {
    GROUP: Case(
        GROUP,
        "zarr + Dask: 2 GiB float32 to a quantsig-coded zarr array on a LocalCluster, 1 vs 2 workers",
        ROWS,
        case_zarr,
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the zarr group alone: print the table, write the JSON."""
    return group_main("zarr", case_zarr, QUICK, FULL, argv, __doc__ or "", quick_help="16 MiB (machinery check)")


if __name__ == "__main__":
    sys.exit(main())
