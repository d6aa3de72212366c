"""``quantsig weights`` and ``quantsig info`` on weights archives, run as real subprocesses."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import quantsig
from quantsig import weights
from quantsig.weights import load_model, quantize_model, report


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "quantsig", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def _matrix(rng, rows, cols):
    return (0.02 * np.exp(rng.normal(0, 0.5, (rows, 1))) * rng.laplace(size=(rows, cols))).astype(np.float32)


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    return {
        "embed.weight": _matrix(rng, 64, 96),
        "l0.weight": _matrix(rng, 128, 96),
        "l0.bias": np.zeros(128, np.float32),
        "l1.weight": _matrix(rng, 96, 128),
        "steps": np.arange(4, dtype=np.int64),
    }


@pytest.fixture()
def files(tmp_path, model):
    """The model as a hand-written .safetensors file and as an .npz file."""
    st = tmp_path / "model.safetensors"
    header, offset = {}, 0
    for name, v in model.items():
        code = {"float32": "F32", "int64": "I64"}[v.dtype.name]
        header[name] = {"dtype": code, "shape": list(v.shape), "data_offsets": [offset, offset + v.nbytes]}
        offset += v.nbytes
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    st.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(v.tobytes() for v in model.values()))
    npz = tmp_path / "model.npz"
    np.savez(npz, **model)
    return st, npz


def _table_rows(stdout: str) -> dict[str, list[str]]:
    lines = stdout.splitlines()
    assert lines[0].split()[:4] == ["name", "shape", "scheme", "entropy"], stdout
    assert set(lines[1]) == {"-"}
    rows = {}
    for line in lines[2:]:
        if line.startswith("total:") or line.startswith("wrote "):
            break
        rows[line.split()[0]] = line.split()
    return rows


@pytest.mark.jit_heavy  # tens of seconds as plain Python (NUMBA_DISABLE_JIT=1)
def test_budget_on_a_safetensors_file(files, model):
    st, _ = files
    r = run("weights", str(st), "--bits-per-weight", "4", "--min-size", "1000")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # stderr is not a terminal: no bar
    out = st.with_suffix(".qsg")  # the default name: IN with the suffix .qsg
    assert out.is_file()
    rows = _table_rows(r.stdout)
    assert list(rows) == list(model)
    assert rows["l0.bias"][2] == rows["steps"][2] == "exact"
    assert all(rows[n][2] != "exact" for n in ("embed.weight", "l0.weight", "l1.weight"))
    lines = r.stdout.splitlines()
    total = next(line for line in lines if line.startswith("total:"))
    rep = report(out)
    assert f"{rep.total['n_bytes']:,} bytes" in total and f"{rep.total['bits_per_weight']:.4f} bits/weight" in total
    assert rep.total["bits_per_weight"] <= 4.0
    assert lines[-1].startswith(f"wrote {out} in ")
    deq = load_model(out)
    np.testing.assert_array_equal(deq["steps"], model["steps"])
    assert deq["l0.weight"].shape == model["l0.weight"].shape
    # the report of the archive is what was printed
    r2 = run("weights", "--report", str(out))
    assert r2.returncode == 0, r2.stderr
    assert r2.stdout.strip() == rep.to_text().strip() == r.stdout.rsplit("\nwrote ", 1)[0].strip()


def test_explicit_scheme_on_an_npz_file_matches_the_library(files, tmp_path):
    _, npz = files
    out = tmp_path / "q4.qsg"
    r = run(
        "weights",
        str(npz),
        "-o",
        str(out),
        "--method",
        "uniform",
        "--bits",
        "4",
        "--group-size",
        "32",
        "--entropy",
        "raw",
        "--skip",
        "embed.*",
        "--min-size",
        "1",
    )
    assert r.returncode == 0, r.stderr
    rows = _table_rows(r.stdout)
    assert rows["embed.weight"][2] == "exact"
    assert rows["l0.weight"][2:4] == rows["l1.weight"][2:4] == ["uniform:4:g32", "raw"]
    lib = quantize_model(
        npz,
        method="uniform",
        bits=4,
        group_size=32,
        entropy="raw",
        skip=["embed.*"],
        min_size=1,
        metadata={"source": "model.npz"},
        out=tmp_path / "lib.qsg",
    )
    assert out.read_bytes() == (tmp_path / "lib.qsg").read_bytes()
    assert lib.names == list(rows)


def test_jobs_progress_quiet_and_force(files, tmp_path):
    st, _ = files
    out1, out2 = tmp_path / "one.qsg", tmp_path / "two.qsg"
    r = run("weights", str(st), "-o", str(out1), "--method", "kmeans", "--bits", "3", "--min-size", "1", "--progress")
    assert r.returncode == 0, r.stderr
    assert "100%" in r.stderr and "weights" in r.stderr  # the bar, forced on a pipe
    r = run(
        "weights",
        str(st),
        "-o",
        str(out2),
        "--method",
        "kmeans",
        "--bits",
        "3",
        "--min-size",
        "1",
        "--jobs",
        "2",
        "--quiet",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    assert out1.read_bytes() == out2.read_bytes()
    # never overwrite without --force
    before = out1.read_bytes()
    r = run("weights", str(st), "-o", str(out1), "--method", "uniform", "--bits", "8", "--min-size", "1")
    assert r.returncode == 2 and "exists" in r.stderr and "--force" in r.stderr
    assert out1.read_bytes() == before
    r = run("weights", str(st), "-o", str(out1), "--method", "uniform", "--bits", "8", "--min-size", "1", "--force")
    assert r.returncode == 0, r.stderr
    assert load_model(out1, dequantize=False)["l0.weight"].quantizer.n_levels == 256


def test_info_describes_a_weights_archive(files, tmp_path, model):
    st, _ = files
    out = tmp_path / "m.qsg"
    quantize_model(st, method="nf", bits=4, min_size=1, out=out, metadata={"source": "model.safetensors"})
    r = run("info", str(out))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    d = quantsig.info(out)
    assert lines[0] == f"{out}: quantsig weights archive"
    assert "5 (3 quantized, 2 exact)" in lines[1] and f"{d['n_weights']:,} weights" in lines[1]
    assert f"{d['n_bytes']:,} bytes" in lines[2] and f"{d['bits_per_weight']:.4f} bits/weight" in lines[2]
    assert "mse" in lines[3] and "model.safetensors" in lines[4]
    assert lines[5].split()[:3] == ["name", "shape", "scheme"]
    assert sum(1 for line in lines if line.split() and line.split()[0] in model) == len(model)
    assert "total:" not in r.stdout
    # an archive cut off inside its index: the complete tensors, and it says so
    blob = out.read_bytes()
    (tmp_path / "cut.qsg").write_bytes(blob[:-30])
    r = run("info", str(tmp_path / "cut.qsg"))
    assert r.returncode == 0, r.stderr
    assert "INCOMPLETE" in r.stdout.splitlines()[0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["weights"], "give a model file"),
        (["weights", "{st}"], "say how to quantize"),
        (["weights", "{st}", "--method", "gptq"], "invalid choice"),
        (["weights", "{st}", "--granularity", "row", "--bits", "4"], "invalid choice"),
        (
            ["weights", "{st}", "--method", "uniform", "--granularity", "channel", "--group-size", "32"],
            "--group-size applies",
        ),
        (["weights", "{st}", "--method", "uniform", "--bits", "1"], "bits >= 2"),
        (["weights", "{st}", "--bits-per-weight", "-1"], "--bits-per-weight"),
        (["weights", "{st}", "--bits", "4", "--jobs", "0"], "--jobs must be positive"),
        (["weights", "{st}", "--bits", "4", "--min-size", "0"], "--min-size must be positive"),
        (["weights", "{missing}", "--bits", "4"], "No such file"),
        (["weights", "{txt}", "--bits", "4"], "weights files are"),
        (["weights", "{qsg}", "--bits", "4"], "--report"),
        (["weights", "{st}", "-o", "{st}", "--bits", "4"], "is the input file"),
        (["weights", "{st}", "--report", "{qsg}"], "give no IN"),
        (["weights", "--report", "{missing}"], "No such file"),
    ],
)
def test_usage_errors_exit_2(files, tmp_path, args, message):
    st, _ = files
    (tmp_path / "notes.txt").write_text("hello")
    quantize_model({"w": np.ones((4, 4), np.float32)}, method="uniform", bits=4, out=tmp_path / "a.qsg")
    names = {
        "st": str(st),
        "missing": str(tmp_path / "nope.safetensors"),
        "txt": str(tmp_path / "notes.txt"),
        "qsg": str(tmp_path / "a.qsg"),
    }
    r = run(*[a.format(**names) for a in args])
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "model.qsg").exists()


def test_data_errors_exit_1(files, tmp_path):
    st, _ = files
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(struct.pack("<Q", 10) + b"not json!!")
    r = run("weights", str(bad), "--bits", "4")
    assert r.returncode == 1 and "not a valid safetensors file" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "bad.qsg").exists()
    # a budget the exact tensors already exceed
    r = run("weights", str(st), "-o", str(tmp_path / "x.qsg"), "--bits-per-weight", "0.5")
    assert r.returncode == 1 and "bits per quantized weight" in r.stderr
    assert not (tmp_path / "x.qsg").exists()
    # a damaged archive
    good = tmp_path / "good.qsg"
    quantize_model(st, method="uniform", bits=4, min_size=1, out=good)
    blob = bytearray(good.read_bytes())
    blob[blob.index(b'"stored"') + 2] ^= 0x01  # inside a tensor's description (a meta frame)
    (tmp_path / "damaged.qsg").write_bytes(bytes(blob))
    for args in (["weights", "--report", str(tmp_path / "damaged.qsg")], ["info", str(tmp_path / "damaged.qsg")]):
        r = run(*args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert "corrupt" in r.stderr and "checksum" in r.stderr and "Traceback" not in r.stderr
    # an array file is not a weights archive
    quantsig.save(tmp_path / "arr.qsg", np.linspace(-1, 1, 100), quantsig.UniformQuantizer(step=0.1))
    r = run("weights", "--report", str(tmp_path / "arr.qsg"))
    assert r.returncode == 1 and "not a weights archive" in r.stderr


def test_cli_choices_are_the_library_s():
    from quantsig import cli

    assert cli._WEIGHTS_METHODS == weights.METHODS
    parser = cli._parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["weights"]
    choices = {a.dest: a.choices for a in sub._actions if a.choices}
    assert tuple(choices["granularity"]) == weights.GRANULARITIES
    from quantsig.weights.schemes import ENTROPIES

    assert tuple(choices["entropy"]) == ENTROPIES
    assert os.path.splitext("a/model.safetensors")[0] + ".qsg" == "a/model.qsg"
