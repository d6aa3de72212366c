"""``quantsig rd``: the rate-distortion sweep on the command line, run as a real subprocess."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from quantsig import rd

TIMING = set(rd.TIMING_COLUMNS)


def run(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "quantsig", "rd", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
    )


def read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def same_numbers(parsed: list[dict], expected: rd.RDResult) -> None:
    """CSV rows (strings) against a library result, every column but the timings."""
    assert len(parsed) == len(expected)
    for p, e in zip(parsed, expected):
        assert p["quantizer"] == e["quantizer"]
        for c in rd.COLUMNS[1:]:
            if c not in TIMING:
                assert float(p[c]) == float(e[c]), (e["quantizer"], e["param"], c)


@pytest.mark.jit_heavy  # tens of seconds as plain Python (NUMBA_DISABLE_JIT=1)
def test_synthetic_gaussian_sweep(tmp_path):
    out = tmp_path / "rd.csv"
    r = run("--synthetic", "gaussian", "--n", "20000", "--bits", "1:3", "--csv", str(out))
    assert r.returncode == 0, r.stderr
    presets = rd.available_presets()
    rows = read_csv(out)
    assert [row["quantizer"] for row in rows] == [p for p in presets for _ in range(3)]
    assert [row["param"] for row in rows] == ["1", "2", "3"] * len(presets)
    assert all(row["n_samples"] == "20000" for row in rows)
    # the numbers are the library's on the same data (seed 0 by default)
    x = np.random.default_rng(0).standard_normal(20_000)
    same_numbers(rows, rd.compare(x, presets, [1, 2, 3]))
    # stdout: a description, the table, the files written
    lines = r.stdout.splitlines()
    assert lines[0].startswith("synthetic gaussian") and "20000 samples" in lines[0]
    assert lines[1].split()[:3] == ["quantizer", "param", "rate"]
    assert sum(1 for line in lines if line.split() and line.split()[0] in presets) == 3 * len(presets)
    assert lines[-1] == f"wrote {out}"
    assert r.stderr == ""  # stderr is not a terminal: no bar


def test_npy_input_and_json_output(tmp_path):
    x = np.random.default_rng(1).laplace(size=(300, 20)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "rd.json"
    r = run(
        str(tmp_path / "x.npy"), "--quantizers", "uniform,lloyd-max", "--bits", "2,4", "--json", str(out), "--quiet"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    records = json.loads(out.read_text(encoding="utf-8"))
    expected = rd.compare(x.reshape(-1), ["uniform", "lloyd-max"], [2, 4])
    assert len(records) == 4
    for rec, e in zip(records, expected):
        assert {k: v for k, v in rec.items() if k not in TIMING} == {k: v for k, v in e.items() if k not in TIMING}


def test_wav_input_uses_every_channel(tmp_path):
    rng = np.random.default_rng(2)
    pcm = (rng.standard_normal((4000, 2)) * 3000).astype(np.int16)
    path = tmp_path / "s.wav"
    sf.write(path, pcm, 8000, subtype="PCM_16")
    out = tmp_path / "rd.csv"
    r = run(str(path), "--quantizers", "uniform,mu-law", "--bits", "3", "--csv", str(out))
    assert r.returncode == 0, r.stderr
    rows = read_csv(out)
    assert [row["n_samples"] for row in rows] == ["8000", "8000"]
    x, _ = sf.read(path, dtype="float64")
    same_numbers(rows, rd.compare(x.reshape(-1), ["uniform", "mu-law"], [3]))
    assert "8000 Hz, 2 channel(s)" in r.stdout


def test_csv_column_input(tmp_path):
    rng = np.random.default_rng(3)
    v = rng.standard_normal(5000)
    path = tmp_path / "data.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label", "t", "value"])
        for i, val in enumerate(v):
            w.writerow([f"s{i}", i, repr(float(val))])
    for column in ("value", "2"):
        out = tmp_path / f"rd-{column}.csv"
        r = run(str(path), "--column", column, "--quantizers", "lloyd-max", "--bits", "1,2", "--csv", str(out))
        assert r.returncode == 0, r.stderr
        same_numbers(read_csv(out), rd.compare(v, ["lloyd-max"], [1, 2]))
    # default: the first numeric column (t)
    out = tmp_path / "rd-default.csv"
    r = run(str(path), "--quantizers", "uniform", "--bits", "4", "--csv", str(out))
    assert r.returncode == 0, r.stderr
    assert "column t" in r.stdout
    same_numbers(read_csv(out), rd.compare(np.arange(5000.0), ["uniform"], [4]))
    # an unknown column is a usage error naming the header
    r = run(str(path), "--column", "volts", "--bits", "2")
    assert r.returncode == 2 and "value" in r.stderr and "volts" in r.stderr


def test_npz_key(tmp_path):
    a, b = np.linspace(-1, 1, 1000), np.random.default_rng(4).standard_normal(2000)
    np.savez(tmp_path / "d.npz", a=a, b=b)
    out = tmp_path / "rd.csv"
    r = run(str(tmp_path / "d.npz"), "--key", "b", "--quantizers", "uniform", "--bits", "2", "--csv", str(out))
    assert r.returncode == 0, r.stderr
    assert read_csv(out)[0]["n_samples"] == "2000"
    r = run(str(tmp_path / "d.npz"), "--quantizers", "uniform", "--bits", "2")
    assert r.returncode == 0 and "d.npz[a]" in r.stdout  # default: the first array
    r = run(str(tmp_path / "d.npz"), "--key", "c", "--bits", "2")
    assert r.returncode == 2 and "a, b" in r.stderr


def test_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "rd.csv"
    out.write_text("keep me")
    r = run("--synthetic", "laplacian", "--n", "5000", "--quantizers", "uniform", "--bits", "2", "--csv", str(out))
    assert r.returncode == 2
    assert "exists" in r.stderr and "--force" in r.stderr and "Traceback" not in r.stderr
    assert out.read_text() == "keep me"
    r = run(
        "--synthetic",
        "laplacian",
        "--n",
        "5000",
        "--quantizers",
        "uniform",
        "--bits",
        "2",
        "--csv",
        str(out),
        "--force",
    )
    assert r.returncode == 0, r.stderr
    assert read_csv(out)[0]["quantizer"] == "uniform"
    # two outputs with one name
    r = run(
        "--synthetic",
        "gaussian",
        "--n",
        "100",
        "--bits",
        "1",
        "--csv",
        str(tmp_path / "a"),
        "--json",
        str(tmp_path / "a"),
    )
    assert r.returncode == 2 and "both name" in r.stderr


def test_bad_bits_exits_2_with_one_line():
    r = run("--synthetic", "gaussian", "--n", "1000", "--bits", "1:x")
    assert r.returncode == 2
    assert r.stderr.startswith("quantsig: error: --bits '1:x'") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stdout == ""


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--bits", "0:3"], "positive"),
        (["--bits", "3:1"], "--bits"),
        (["--bits", "1,,2"], "--bits"),
        (["--bits", "2.5", "--quantizers", "lloyd-max"], "whole number"),
        (["--quantizers", "uniform,gauss"], "unknown preset"),
        (["--quantizers", "uniform,uniform"], "twice"),
        (["--jobs", "0"], "--jobs"),
        (["--n", "0"], "--n"),
        (["--column", "x"], "--column"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, needle, capsys):
    """The same entry point in-process (``main`` is what the console script runs)."""
    from quantsig.cli import main

    size = [] if "--n" in args else ["--n", "1000"]
    status = main(["rd", "--synthetic", "gaussian", *size, *args])
    err = capsys.readouterr().err
    assert status == 2, err
    assert needle in err and err.startswith("quantsig: error: ") and len(err.strip().splitlines()) == 1


def test_input_and_synthetic_are_exclusive(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(10))
    for args in ([], [str(tmp_path / "x.npy"), "--synthetic", "gaussian"]):
        r = run(*args)
        assert r.returncode == 2 and "--synthetic" in r.stderr
    r = run(str(tmp_path / "missing.npy"))
    assert r.returncode == 2 and "No such file" in r.stderr


def test_data_errors_exit_1(tmp_path):
    x = np.random.default_rng(5).standard_normal(1000)
    x[10] = np.nan
    np.save(tmp_path / "nan.npy", x)
    r = run(str(tmp_path / "nan.npy"), "--bits", "2")
    assert r.returncode == 1 and "NaN" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,oops\n")
    r = run(str(tmp_path / "bad.csv"), "--column", "b", "--bits", "2")
    assert r.returncode == 1 and "line 3" in r.stderr and "oops" in r.stderr
    (tmp_path / "noise.wav").write_bytes(b"not audio at all")
    r = run(str(tmp_path / "noise.wav"), "--bits", "2")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    # a sweep the data cannot do (more Lloyd-Max levels than distinct values) is a data error
    np.save(tmp_path / "few.npy", np.repeat([0.0, 1.0], 50))
    r = run(str(tmp_path / "few.npy"), "--quantizers", "lloyd-max", "--bits", "3")
    assert r.returncode == 1 and "distinct" in r.stderr


def test_progress_bar_and_jobs(tmp_path):
    r = run(
        "--synthetic",
        "gaussian",
        "--n",
        "5000",
        "--quantizers",
        "uniform,lloyd-max",
        "--bits",
        "1:3",
        "--jobs",
        "2",
        "--progress",
    )
    assert r.returncode == 0, r.stderr
    assert "6 points" in r.stderr and "100%" in r.stderr


def _has_plot() -> bool:
    try:
        import matplotlib  # noqa: F401

        from quantsig import plot  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _has_plot(), reason="quantsig.plot or matplotlib is not available yet")
def test_plot_and_markdown(tmp_path):
    png, md = tmp_path / "rd.png", tmp_path / "rd.md"
    r = run(
        "--synthetic",
        "gaussian",
        "--n",
        "5000",
        "--quantizers",
        "uniform,lloyd-max",
        "--bits",
        "1:3",
        "--plot",
        str(png),
        "--markdown",
        str(md),
    )
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = md.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("| quantizer | param |") and len(lines) == 2 + 6
    assert r.stdout.splitlines()[-1] == f"wrote {md}, {png}"
    r = run("--synthetic", "gaussian", "--n", "100", "--bits", "1", "--plot", str(tmp_path / "rd.gif"))
    assert r.returncode == 2 and ".png" in r.stderr


def test_plot_without_matplotlib_exits_2(tmp_path):
    fake = tmp_path / "fake" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'matplotlib'\")\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "fake"), os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "rd.png"
    r = run("--synthetic", "gaussian", "--n", "100", "--bits", "1", "--plot", str(out), env=env)
    assert r.returncode == 2
    assert 'pip install "quantsig[plot]"' in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_help_lists_rd():
    r = subprocess.run([sys.executable, "-m", "quantsig", "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "rd" in r.stdout
    r = run("--help")
    assert r.returncode == 0 and "--synthetic" in r.stdout and "--quantizers" in r.stdout
