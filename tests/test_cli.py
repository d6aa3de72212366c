"""The command line, run as a real subprocess."""

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import quantsig
from quantsig import datasets


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "quantsig", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_info_lists_quantizers():
    r = run("info")
    assert r.returncode == 0, r.stderr
    for cid in ("uniform", "mu-law", "a-law", "g711", "lloyd-max", "kmeans-vq"):
        assert cid in r.stdout
    assert "numba" in r.stdout


@pytest.mark.jit_heavy
def test_demo_streams_recordings_and_prints_a_table(tmp_path):
    r = run("demo", "--seconds", "2", "--output", str(tmp_path))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    # the streaming part: a summary line per job, and where each file went
    lossless = [line for line in lines if line.strip().startswith("lossless")]
    assert len(lossless) >= 2 and all("FLAC -8" in line and "max error 0" in line for line in lossless)
    paths = [line.split("-> ")[1] for line in lines if "-> " in line]
    assert len(paths) >= 6 and all(os.path.exists(p) for p in paths)
    for path in paths:
        d = quantsig.info(path)
        assert d["kind"] == "stream" and d["complete"]
    music = next(p for p in paths if "music" in p and p.endswith(".lossless.qsg"))
    pcm, rate = sf.read(tmp_path / "music_44k_stereo.wav", dtype="int16")
    assert rate == 44100 and pcm.shape == (88200, 2)
    np.testing.assert_array_equal(quantsig.load(music), pcm)
    # the quantizer table
    assert any(line.startswith("G.711 mu-law") for line in lines)
    row = next(line for line in lines if line.startswith("mu-law 8-bit"))
    fields = row.split()
    fixed, written, snr = float(fields[3]), float(fields[4]), float(fields[6])
    assert fixed == 8.0 and 2.0 < written < 8.0  # entropy coding beats the fixed 8 bits on speech
    assert 30 < snr < 45  # 8-bit mu-law on speech: about 38 dB


@pytest.mark.parametrize("args", [["demo", "--seconds", "-1"], ["demo", "--seconds", "abc"], ["nope"]])
def test_bad_arguments_give_one_line_and_nonzero_exit(args):
    r = run(*args)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert r.stderr.strip()


def test_no_command_prints_help():
    r = run()
    assert r.returncode == 2 and "usage" in r.stdout.lower()


def test_datasets_are_deterministic_and_bounded():
    a = datasets.speech_like(1.0, seed=3)
    b = datasets.speech_like(1.0, seed=3)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a).max() <= 0.9 + 1e-6
    # speech is peaky: kurtosis well above a Gaussian's 3
    k = np.mean(a.astype(float) ** 4) / np.mean(a.astype(float) ** 2) ** 2
    assert k > 4
    m = datasets.music_like(0.5, 8000)
    assert m.dtype == np.float32 and m.size == 4000
    with pytest.raises(ValueError):
        datasets.speech_like(-1)


def test_info_on_a_file(tmp_path):
    import quantsig

    path = tmp_path / "x.qsg"
    quantsig.save(
        path, np.linspace(-1, 1, 5000).astype(np.float32), quantsig.MuLawQuantizer(bits=8), metadata={"rate": 8000}
    )
    r = run("info", str(path))
    assert r.returncode == 0, r.stderr
    assert "5000 <f4" in r.stdout and "MuLawQuantizer" in r.stdout and "rate" in r.stdout
    assert "bits/sample" in r.stdout


def test_info_on_bad_files(tmp_path):
    bad = tmp_path / "bad.qsg"
    bad.write_bytes(b"not a quantsig file at all")
    r = run("info", str(bad))
    assert r.returncode != 0 and "magic" in r.stderr and "Traceback" not in r.stderr
    r = run("info", str(tmp_path / "missing.qsg"))
    assert r.returncode != 0 and "cannot read" in r.stderr and "Traceback" not in r.stderr
