"""Smoke test of the benchmark runner: ``benchmarks/run.py --quick`` runs and writes sane JSON.

It checks the machinery only (every case reports every row, numbers are positive and finite);
it never asserts a speed, and a target missed is not a failure. Benchmarks are not part of
the test suite's pass/fail: this test fails only when the runner itself is broken.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "benchmarks" / "run.py"

EXPECTED_ROWS = (
    "uniform.encode.b16.vs_numpy",
    "uniform.encode.b16.vs_copyto",
    "uniform.encode.unbounded.vs_numpy",
    "uniform.encode.unbounded.vs_copyto",
    "uniform.decode.b16.vs_numpy",
    "uniform.decode.unbounded.vs_numpy",
    "g711.mu.encode.vs_audioop",
    "g711.mu.decode.vs_audioop",
    "g711.a.encode.vs_audioop",
    "g711.a.decode.vs_audioop",
    "mulaw.encode.b8.vs_numpy",
    "lloydmax.fit.L16.vs_sklearn",
    "lloydmax.fit.L32.vs_sklearn",
    *(
        f"vq.{what}.d{d}.vs_{peer}"
        for d in (2, 4, 8)
        for what, peer in (("fit", "sklearn"), ("encode", "sklearn"), ("encode", "faiss"))
    ),
    *(
        f"compile.{phase}.{subject}"
        for subject in (
            "uniform-b16",
            "uniform-unbounded",
            "mu-law",
            "a-law",
            "g711",
            "lloyd-max.fit",
            "lloyd-max",
            "kmeans-vq",
            "numba-noop",
        )
        for phase in ("cold", "warm")
    ),
    *(f"rd.sweep.{p}" for p in ("uniform", "mu-law", "lloyd-max", "kmeans", "ecsq", "total")),
    *(
        f"entropy.{op}.{source}.vs_constriction"
        for source in ("gauss2", "gauss4", "gauss8", "laplace", "cauchy")
        for op in ("encode", "decode")
    ),
    *(
        f"stream.lossless.{audio}.{what}"
        for audio in ("pluck16", "audiotest", "speech8k", "music44k")
        for what in (
            "size.vs_flac8",
            "size.vs_flac5",
            "size.vs_zstd19",
            "size.vs_zstd3",
            "encode.vs_flac5",
            "decode.vs_flac5",
        )
    ),
    *(
        f"stream.maxerr.{data}.{bound}.vs_{peer}"
        for data in (
            "ecg",
            "sst_nino3",
            "co2",
            "elnino",
            "sunspots",
            "nile",
            "pluck16",
            "audiotest",
            "speech8k",
            "music44k",
        )
        for bound in ("1e-2", "1e-3", "1e-4")
        for peer in ("pysz", "h5sz3", "zfp")
    ),
    "stream.maxerr.geomean.vs_pysz",
    *(
        f"stream.{what}.{audio}.{peer}"
        for what, peer in (("bits4", "vs_ima_adpcm"), ("g711", "vs_lin2ulaw"))
        for audio in ("pluck16", "audiotest", "speech8k", "music44k")
    ),
    "stream.memory.write.vs_10x_shorter",
    "stream.memory.read.vs_10x_shorter",
    *(
        f"weights.mse.{ours}.vs_{peer}"
        for ours, peer in (
            ("bpw4_5", "q4_0"),
            ("bpw8_0", "q8_0"),
            ("bpw5_0", "q4_1"),
            ("bpw5_5", "q5_0"),
            ("bpw6_0", "q5_1"),
            ("bpw4_25", "mxfp4"),
            ("bpw4_5", "q4_k"),
            ("bpw6_5625", "q6_k"),
            ("q4_0_layout", "q4_0"),
        )
    ),
    "weights.speed.q4_0_layout.vs_q4_0",
    "weights.kmeans.fit.vs_sklearn",
    "weights.kmeans.entropy_bpw",
    "zarr.dask.two_workers",
)


def _positive_finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@pytest.mark.jit_heavy
@pytest.mark.skipif(not RUNNER.exists(), reason="benchmarks/ is not part of this checkout")
def test_quick_run_writes_valid_json(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    # The runner measures compiled kernels: a coverage run's NUMBA_DISABLE_JIT would make
    # the quick run take many minutes.
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--quick", "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=360,
        check=False,
    )
    assert proc.returncode == 0, f"runner failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "uniform.encode.b16.vs_numpy" in proc.stdout  # the table was printed

    payload = json.loads(out.read_text(encoding="utf-8"))
    assert payload["quick"] is True
    assert payload["sizes"]["n_samples"] <= 1_000_000
    machine = payload["machine"]
    assert machine["cpu_model"] and machine["versions"]["numpy"] and machine["versions"]["numba"]

    rows = {row["name"]: row for row in payload["results"]}
    assert len(rows) == len(payload["results"]), "duplicate row names"
    missing = [name for name in EXPECTED_ROWS if name not in rows]
    assert not missing, f"rows missing from the JSON: {missing}"
    assert set(rows) == set(EXPECTED_ROWS), f"unexpected rows: {sorted(set(rows) - set(EXPECTED_ROWS))}"

    for name, row in rows.items():
        # a missing optional peer (faiss, audioop) may skip a row; nothing may fail
        assert row["status"] in ("ok", "skipped"), f"{name}: {row['status']} ({row['reason']})"
        if row["status"] == "skipped":
            assert row["reason"], f"{name} was skipped without a reason"
            continue
        for key in ("ratio", "ours_s", "peer_s"):
            assert _positive_finite(row[key]), f"{name}: {key}={row[key]!r}"
        assert row["met"] in (True, False, None)
    assert payload["summary"]["n_error"] == 0
