"""Log a long multichannel sensor stream under an error bound, then read back one time window.

Six float32 channels at 100 Hz (three temperatures in degrees C: slow daily cycles plus drift;
three accelerometer axes in g: gravity on z, vibration bursts and noise) are generated block by
block, as a logger would receive them, and written with ``quantsig.stream.StreamWriter`` at
``max_abs_error=0.01`` in constant memory. ``StreamReader`` then seeks to a 10-minute window
three quarters into the log and reads it: only the frames the window touches are decoded (the
index at the end of the file says where each frame starts). The window is checked against the
regenerated input, and its seek + read time is shown beside the time to decode the whole file.

Usage::

    python examples/sensor_log.py                    # 1,000,000 rows (2.8 hours), ./sensor_log-out
    python examples/sensor_log.py --quick            # 200,000 rows (33 minutes)
    python examples/sensor_log.py --out DIR          # the .qsg log goes in DIR
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from quantsig.stream import StreamReader, StreamWriter

RATE = 100  # Hz
CHANNELS = ["temp_indoor", "temp_outdoor", "temp_motor", "accel_x", "accel_y", "accel_z"]
MAX_ERROR = 0.01


def sensor_blocks(n_rows: int, block_rows: int = 4_000, seed: int = 0) -> Iterator[np.ndarray]:
    """Yield ``(rows, 6)`` float32 blocks, deterministic for a seed (so it can be replayed)."""
    rng = np.random.default_rng(seed)
    drift = np.zeros(3)
    for start in range(0, n_rows, block_rows):
        n = min(block_rows, n_rows - start)
        t = (start + np.arange(n))[:, None] / RATE  # seconds
        steps = rng.normal(0, 0.0005, (n, 3))
        walk = drift + np.cumsum(steps, axis=0)
        drift = walk[-1]
        temps = [21, 12, 45] + np.sin(2 * np.pi * t / [86_400, 43_200, 1_800]) * [0.5, 3, 5] + walk
        burst = (np.sin(2 * np.pi * t[:, 0] / 600) > 0.95)[:, None]  # a machine running now and then
        vib = np.sin(2 * np.pi * 7.3 * t + [0, 1, 2]) * [0.05, 0.03, 0.08] * burst
        accel = [0.0, 0.0, 1.0] + vib + rng.normal(0, 0.004, (n, 3))
        yield np.hstack([temps, accel]).astype(np.float32)


def write_log(path: Path, n_rows: int) -> tuple[object, float]:
    """Stream the generated blocks into ``path``; return the writer's stats and the wall time."""
    t0 = time.perf_counter()
    with StreamWriter(
        path,
        channels=len(CHANNELS),
        max_abs_error=MAX_ERROR,
        sample_rate=RATE,
        metadata={"channels": CHANNELS, "units": ["degC"] * 3 + ["g"] * 3},
    ) as w:
        for block in sensor_blocks(n_rows):
            w.write(block)
    return w.stats, time.perf_counter() - t0


def original_window(n_rows: int, start: int, rows: int) -> np.ndarray:
    """Replay the generator and keep only rows ``[start, start + rows)``."""
    parts, pos = [], 0
    for block in sensor_blocks(n_rows):
        lo, hi = max(start - pos, 0), min(start + rows - pos, len(block))
        if lo < hi:
            parts.append(block[lo:hi])
        pos += len(block)
        if pos >= start + rows:
            break
    return np.concatenate(parts)


def read_window(path: Path, start: int, rows: int) -> tuple[np.ndarray, float, int, int]:
    """Seek to ``start`` and read ``rows``: the rows, the time, frames decoded, frames in the file."""
    t0 = time.perf_counter()
    with StreamReader(path) as r:
        r.seek(start)
        part = r.read(rows)
        elapsed = time.perf_counter() - t0
        fs = r.describe()["frame_size"]
        touched = (start + rows - 1) // fs - start // fs + 1
        n_frames = r.frames
    return part, elapsed, touched, n_frames


def read_all(path: Path) -> float:
    """Time decoding the whole log, for comparison."""
    t0 = time.perf_counter()
    with StreamReader(path) as r:
        for _ in r.blocks(65_536):
            pass
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="200,000 rows instead of 1,000,000")
    ap.add_argument("--out", default="sensor_log-out", help="output folder (created)")
    args = ap.parse_args(argv)

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    n_rows = 200_000 if args.quick else 1_000_000
    path = out / "sensor_log.qsg"

    stats, t_write = write_log(path, n_rows)
    raw = n_rows * len(CHANNELS) * 4
    print(
        f"wrote {path.name}: {n_rows:,} rows x {len(CHANNELS)} channels float32 at {RATE} Hz "
        f"({n_rows / RATE / 3600:.2f} h), {raw:,} bytes raw -> {stats.file_bytes:,} bytes"
    )
    print(f"  {stats.summary()}")
    print(
        f"  ratio {stats.ratio:.1f}x, max error {stats.max_abs_error:.5f} (bound {MAX_ERROR}), "
        f"written in {t_write:.2f} s"
    )

    rows = 10 * 60 * RATE  # a 10-minute window, 3/4 into the log (or as late as fits)
    start = min((3 * n_rows) // 4, n_rows - rows)
    read_window(path, 0, 1)  # warm-up: loads the compiled decoder kernels, so the timings compare
    t_all = read_all(path)
    part, t_window, touched, n_frames = read_window(path, start, rows)
    ref = original_window(n_rows, start, rows)
    win_err = float(np.abs(part.astype(np.float64) - ref).max())
    assert part.shape == (rows, len(CHANNELS)), part.shape
    assert win_err <= MAX_ERROR, f"window error {win_err} > {MAX_ERROR}"
    print(
        f"window: rows {start:,}..{start + rows:,} (t = {start / RATE / 60:.1f} min, 10 min long), "
        f"max error {win_err:.5f}"
    )
    print(
        f"  seek + read {t_window * 1000:.1f} ms (decoded {touched} of {n_frames} frames); "
        f"whole-file decode {t_all * 1000:.1f} ms"
    )
    print(f"outputs (the .qsg log) in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
