"""Every script in examples/ runs: ``python examples/X.py --quick --out DIR`` exits 0 and writes
the files it promises (figures as real PNGs)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

#: The files each example writes into --out (an example not listed here must still exit 0 and
#: write only valid PNGs).
EXPECTED = {
    "rd_textbook.py": (
        "lloyd_max.png",
        "six_db_per_bit.png",
        "ecsq_gap.png",
        "rd.png",
        "snr.png",
        "error_histogram.png",
        "rd.csv",
    ),
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

needs_mpl = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib not installed")


def test_examples_exist():
    assert EXAMPLES, "examples/ holds no scripts"
    assert {p.name for p in EXAMPLES} >= set(EXPECTED)


@needs_mpl
@pytest.mark.jit_heavy
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path):
    out = tmp_path / "out" / "nested"  # the script creates it
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    assert "Traceback" not in proc.stderr
    for name in EXPECTED.get(script.name, ()):
        path = out / name
        assert path.is_file(), f"{script.name} did not write {name}; it wrote {sorted(p.name for p in out.iterdir())}"
        assert path.stat().st_size > 0
    pngs = sorted(out.glob("*.png"))
    if script.name in EXPECTED:
        assert {p.name for p in pngs} >= {n for n in EXPECTED[script.name] if n.endswith(".png")}
    for png in pngs:
        assert png.read_bytes()[:8] == PNG_MAGIC, f"{png.name} is not a PNG"
    assert str(out.resolve()) in proc.stdout  # it says where the figures went
