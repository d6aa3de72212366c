"""Compress an array larger than memory into zarr with Dask and quantsig's zarr codec.

A synthetic float32 "temperature" field (time x latitude x longitude: seasons, a latitude
gradient, travelling waves and sensor noise) is generated chunk by chunk, never whole in memory,
and written with :func:`quantsig.zarr.to_zarr` (every value within ``--max-abs-error``), with
Dask's progress bar. The chunk size comes from a memory cap: each worker holds a few chunks at
a time, so the array can be many times larger than the cap. Then the array is read back chunk
by chunk to measure the largest error and the compression ratio (array bytes / bytes on disk),
and, if xarray is installed, part of it is written as an xarray Dataset with the codec in its
encoding and reopened.

Usage::

    python examples/zarr_dask.py                      # 512 MiB array, 64 MiB memory cap
    python examples/zarr_dask.py --quick              # 8 MiB (seconds)
    python examples/zarr_dask.py --out DIR --size-mb 2048 --memory-cap-mb 128 --max-abs-error 0.01 \\
        --workers 2 --scheduler processes

Needs zarr 3 and dask (pip install "quantsig[zarr]"); xarray for the Dataset part
(pip install "quantsig[dask]"). Without them it says so and exits 0. No network.
"""

from __future__ import annotations

import argparse
import importlib
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

N_LAT, N_LON = 180, 360  # a 1-degree grid
MIB = 1 << 20
BUFFERS_PER_WORKER = 8


def _missing() -> list[str]:
    missing = []
    for name in ("zarr", "dask.array", "numcodecs"):
        try:
            importlib.import_module(name)
        except Exception:
            missing.append(name.split(".")[0])
    return missing


def _temperature_block(block: np.ndarray, block_info: dict[Any, Any] | None = None, seed: int = 0) -> np.ndarray:
    """One chunk of the field, from its position in the whole array (deterministic).

    Computed in place in float32: two chunk-sized buffers at the peak.
    """
    assert block_info is not None
    (t0, t1), (a0, a1), (o0, o1) = block_info[None]["array-location"]
    t = np.arange(t0, t1, dtype=np.float32)[:, None, None]  # days
    lat = np.deg2rad(np.linspace(-89.5, 89.5, N_LAT, dtype=np.float32)[a0:a1])[None, :, None]
    lon = np.deg2rad(np.linspace(0.5, 359.5, N_LON, dtype=np.float32)[o0:o1])[None, None, :]
    season = np.float32(2 * np.pi / 365.25) * t
    out = np.empty((t1 - t0, a1 - a0, o1 - o0), np.float32)
    tmp = np.empty_like(out)
    np.add(28.0 - 40.0 * np.sin(lat) ** 2, -12.0 * np.sin(lat) * np.cos(season), out=out)  # latitude, seasons
    np.multiply(4.0 * np.cos(lat), np.sin(3 * lon - np.float32(2 * np.pi / 9.0) * t), out=tmp)  # travelling waves
    out += tmp
    np.sin(5 * lon + 4 * lat + np.float32(2 * np.pi / 4.0) * t, out=tmp)
    tmp *= 1.5
    out += tmp
    np.random.default_rng([seed, t0, a0, o0]).standard_normal(out=tmp, dtype=np.float32)
    tmp *= 0.05  # sensor noise
    out += tmp
    return out


def _temperature(da: Any, n_time: int, t_chunk: int, seed: int) -> Any:
    """The lazy field: a Dask array whose chunks are computed where they are needed."""
    template = da.zeros((n_time, N_LAT, N_LON), chunks=(t_chunk, N_LAT, N_LON), dtype=np.float32)
    return da.map_blocks(_temperature_block, template, dtype=np.float32, seed=seed, meta=np.array((), np.float32))


def _peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MIB if sys.platform == "darwin" else peak / 1024


def _disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _fmt_mib(n: float) -> str:
    return f"{n / MIB:,.1f} MiB" if n >= MIB else f"{n / 1024:,.0f} KiB"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="an 8 MiB array with a 2 MiB cap (for CI)")
    p.add_argument("--out", type=Path, help="folder for the zarr stores (created; default: a temporary folder)")
    p.add_argument("--size-mb", type=float, help="array size in MiB (default 512; 8 with --quick)")
    p.add_argument(
        "--memory-cap-mb", type=float, help="memory budget of the chunks in flight (default 64; 2 with --quick)"
    )
    p.add_argument(
        "--max-abs-error", type=float, default=0.01, help="error bound of every value (default 0.01 degrees)"
    )
    p.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1), help="Dask workers (default: 2 or the CPUs)"
    )
    p.add_argument(
        "--scheduler",
        choices=("threads", "processes"),
        default="threads",
        help="Dask's local scheduler (quantsig's encoder holds the GIL much of the time: processes "
        "scale better on many cores)",
    )
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    size_mib = args.size_mb if args.size_mb is not None else (8.0 if args.quick else 512.0)
    cap_mib = args.memory_cap_mb if args.memory_cap_mb is not None else (2.0 if args.quick else 64.0)
    tmp = None
    if args.out is None:
        tmp = tempfile.TemporaryDirectory(prefix="quantsig-zarr-")
        out = Path(tmp.name)
    else:
        out = args.out
        out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()

    missing = _missing()
    if missing:
        print(
            f'this example needs {", ".join(missing)}: pip install "quantsig[zarr]" (zarr>=3, numcodecs, '
            f"dask[array]); nothing written to {out}"
        )
        return 0

    import dask
    import dask.array as da
    from dask.diagnostics import ProgressBar

    import quantsig
    from quantsig.zarr import QuantsigZarrCodec, to_zarr

    # chunks: a worker holds about eight chunk-sized buffers at its peak (two to generate the
    # chunk, about three in quantsig's encoder, zarr's copies), so eight chunks per worker fit
    step_bytes = N_LAT * N_LON * 4
    n_time = max(1, int(size_mib * MIB // step_bytes))
    t_chunk = max(1, min(n_time, int(cap_mib * MIB // (BUFFERS_PER_WORKER * args.workers * step_bytes))))
    field = _temperature(da, n_time, t_chunk, args.seed)
    nbytes = field.nbytes
    chunk_bytes = t_chunk * step_bytes
    print(
        f"quantsig {quantsig.__version__}, zarr codec with max_abs_error={args.max_abs_error}: a "
        f"{n_time} x {N_LAT} x {N_LON} float32 array ({_fmt_mib(nbytes)}) in {field.npartitions} chunks of "
        f"{t_chunk} x {N_LAT} x {N_LON} ({_fmt_mib(chunk_bytes)}); memory cap {cap_mib:g} MiB, "
        f"{args.workers} {args.scheduler}"
    )

    # warm up before measuring memory: quantsig compiles its kernels on first use, zarr starts its
    # I/O thread, Dask its thread pool
    import zarr

    with dask.config.set(scheduler=args.scheduler, num_workers=args.workers), tempfile.TemporaryDirectory() as warm:
        to_zarr(
            _temperature(da, 2, 1, args.seed),
            zarr.storage.MemoryStore() if args.scheduler == "threads" else str(Path(warm) / "warm-up.zarr"),
            max_abs_error=args.max_abs_error,
        )
    rss_before = _peak_rss_mib()

    store = out / "temperature.zarr"
    with dask.config.set(scheduler=args.scheduler, num_workers=args.workers), ProgressBar(minimum=0, dt=0.5):
        t0 = time.perf_counter()
        to_zarr(field, str(store), max_abs_error=args.max_abs_error, overwrite=True)
        seconds = time.perf_counter() - t0
    rss_growth = _peak_rss_mib() - rss_before
    on_disk = _disk_bytes(store)
    print(
        f"wrote {store}: {_fmt_mib(on_disk)} on disk for {_fmt_mib(nbytes)}: compression ratio "
        f"{nbytes / on_disk:.2f} ({8 * on_disk / field.size:.2f} bits per value, metadata included) in "
        f"{seconds:.1f} s ({nbytes / MIB / seconds:.1f} MiB/s)"
    )
    if args.scheduler == "threads":  # (with processes, the memory is in the workers)
        print(
            f"peak memory of this process grew by {rss_growth:.0f} MiB while writing the {_fmt_mib(nbytes)} "
            f"array ({nbytes / MIB / cap_mib:.1f}x the {cap_mib:g} MiB cap the chunks were sized for; the "
            "growth includes what the allocator keeps for reuse)"
        )

    # read back chunk by chunk and compare with the field, regenerated chunk by chunk
    with dask.config.set(scheduler=args.scheduler, num_workers=args.workers), ProgressBar(minimum=0, dt=0.5):
        back = da.from_zarr(str(store))
        err = float(abs(back - field).max().compute())
    ok = err <= args.max_abs_error
    print(
        f"max error {err:.6g} {'<=' if ok else '>'} {args.max_abs_error} (every value, read back with "
        f"dask.array.from_zarr)"
    )

    try:
        xr = importlib.import_module("xarray")
    except Exception as e:
        print(
            f"xarray is not installed ({type(e).__name__}: {e}): skipping the Dataset part "
            '(pip install "quantsig[dask]")'
        )
    else:
        n_sub = min(n_time, 4 * t_chunk)
        ds = xr.Dataset(
            {"temperature": (("day", "lat", "lon"), field[:n_sub], {"units": "degC"})},
            coords={
                "day": np.arange(n_sub),
                "lat": np.linspace(-89.5, 89.5, N_LAT),
                "lon": np.linspace(0.5, 359.5, N_LON),
            },
        )
        encoding = {
            "temperature": {"serializer": QuantsigZarrCodec(max_abs_error=args.max_abs_error), "compressors": None}
        }
        ds_path = out / "dataset.zarr"
        with dask.config.set(scheduler=args.scheduler, num_workers=args.workers):
            ds.to_zarr(str(ds_path), mode="w", zarr_format=3, encoding=encoding, consolidated=False)
            again = xr.open_zarr(str(ds_path), consolidated=False)
            ds_err = float(abs(again["temperature"] - ds["temperature"]).max().compute())
        print(
            f"xarray: wrote {ds_path} ({n_sub} days; temperature serializer "
            f"{again['temperature'].encoding.get('serializer')!r}); reopened: max error {ds_err:.6g}"
        )
        ok &= ds_err <= args.max_abs_error
    print(f"results in {out}" + (" (a temporary folder, removed now)" if tmp is not None else ""))
    if tmp is not None:
        tmp.cleanup()
    if not ok:
        print("the error bound was exceeded")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
