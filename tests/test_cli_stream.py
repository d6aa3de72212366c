"""``quantsig compress`` / ``decompress`` / ``info`` on streams (run as real subprocesses), and the progress bar."""

import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import quantsig
from quantsig import datasets
from quantsig.cli import main
from quantsig.progress import Progress, format_count, format_duration, format_rate

pytestmark = pytest.mark.jit_heavy

SUMMARY = re.compile(
    r"^ratio [\d.]+x\s+[\d.]+ bits/sample\s+SNR (inf|-?[\d.]+) dB\s+max error [\d.e+-]+\s+.*samples/s\s+-> (\S+)$"
)


def run(*args, cwd=None):
    r = subprocess.run(
        [sys.executable, "-m", "quantsig", *map(str, args)], check=False, capture_output=True, timeout=300, cwd=cwd
    )
    # decoded by hand: text mode would turn the progress bar's \r into \n
    r.stdout, r.stderr = r.stdout.decode(), r.stderr.decode()
    assert "Traceback" not in r.stderr, r.stderr
    return r


@pytest.fixture
def wav(tmp_path):
    x = np.stack([datasets.speech_like(1.0, 16000, seed=4), datasets.music_like(1.0, 16000, seed=5)], axis=1)
    path = tmp_path / "talk.wav"
    sf.write(path, np.round(x * 32767).astype(np.int16), 16000, subtype="PCM_16")
    return path


def test_compress_then_decompress_a_wav(wav, tmp_path):
    r = run("compress", wav)
    assert r.returncode == 0, r.stderr
    m = SUMMARY.match(r.stdout.strip())
    assert m, r.stdout
    assert m.group(1) == "inf" and "max error 0 " in r.stdout  # integer PCM: lossless by default
    assert m.group(2) == f"{wav}.qsg" and os.path.exists(f"{wav}.qsg")
    assert r.stderr == ""  # stderr is not a terminal: no progress bar

    r = run("decompress", f"{wav}.qsg", "-o", tmp_path / "back.flac")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"wrote {tmp_path / 'back.flac'}:") and "16000 Hz" in r.stdout
    np.testing.assert_array_equal(sf.read(tmp_path / "back.flac", dtype="int16")[0], sf.read(wav, dtype="int16")[0])

    r = run("info", f"{wav}.qsg")
    assert r.returncode == 0, r.stderr
    assert "16000" in r.stdout and "bits/sample" in r.stdout and "PCM_16" in r.stdout


def test_progress_bar_and_g711(wav, tmp_path):
    r = run("compress", wav, "-o", tmp_path / "g.qsg", "--quantizer", "mu-law", "--progress")
    assert r.returncode == 0, r.stderr
    assert SUMMARY.match(r.stdout.strip()), r.stdout
    assert "\r" in r.stderr and "100%" in r.stderr and "talk.wav [" in r.stderr  # the forced progress bar
    assert "quantsig: warning:" in r.stderr and "16000 Hz" in r.stderr  # G.711 off 8 kHz: said, not resampled
    r = run("decompress", tmp_path / "g.qsg", "-o", tmp_path / "g.wav", "--subtype", "ulaw")
    assert r.returncode == 0, r.stderr
    assert sf.info(tmp_path / "g.wav").subtype == "ULAW"


def test_errors_are_one_line_with_the_right_status(tmp_path, wav):
    (tmp_path / "notes.txt").write_text("hello")
    cases = [
        (["compress", tmp_path / "notes.txt"], 1, "Format not recognised"),
        (["compress", wav, "--lossless", "--bits", "4"], 2, "not allowed with"),
    ]
    for args, status, text in cases:
        r = run(*args)
        assert r.returncode == status, (args, r.returncode, r.stderr)
        assert text in r.stderr and r.stderr.startswith("quantsig"), (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


# In-process from here on (the console script's code path, much faster than a subprocess).


def cli(*args):
    return main([str(a) for a in args])


def test_lossy_modes(wav, tmp_path, capsys):
    assert cli("compress", wav, "-o", tmp_path / "e.qsg", "--max-error", "8") == 0
    out = capsys.readouterr().out
    assert SUMMARY.match(out.strip()) and float(out.split("max error ")[1].split()[0]) <= 8
    assert cli("compress", wav, "-o", tmp_path / "b.qsg", "--bits", "3", "--quiet") == 0
    assert capsys.readouterr() == ("", "")
    assert 8 * os.path.getsize(tmp_path / "b.qsg") / 32000 <= 3  # the file is shorter than the 10 s prefix
    assert cli("compress", wav, "-o", tmp_path / "l.qsg", "--lossless", "--frame-size", "4096") == 0
    assert "max error 0 " in capsys.readouterr().out
    assert cli("info", tmp_path / "l.qsg") == 0
    out = capsys.readouterr().out
    assert "frames      4 of up to 4096" in out and "lossless" in out


def test_npy_arrays(tmp_path, capsys):
    x = np.stack([datasets.music_like(0.5, 8000), datasets.speech_like(0.5, 8000)], axis=1)
    np.save(tmp_path / "f.npy", x)
    np.save(tmp_path / "i.npy", np.round(x[:, 0] * 30000).astype(np.int16))
    assert cli("compress", tmp_path / "f.npy") == 1
    assert "--max-error" in capsys.readouterr().err  # float data: no default mode
    assert cli("compress", tmp_path / "f.npy", "--max-error", "1e-3") == 0
    assert SUMMARY.match(capsys.readouterr().out.strip())
    assert cli("compress", tmp_path / "i.npy") == 0
    assert "max error 0 " in capsys.readouterr().out
    assert cli("decompress", tmp_path / "f.npy.qsg") == 2  # default output: f.npy, which exists
    assert "exists" in capsys.readouterr().err
    assert cli("decompress", tmp_path / "f.npy.qsg", "-o", tmp_path / "f2.npy") == 0
    assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'f2.npy'}: 4000x2 <f4")
    y = np.load(tmp_path / "f2.npy")
    assert y.shape == x.shape and y.dtype == x.dtype and np.abs(y - x).max() <= 1e-3
    assert cli("decompress", tmp_path / "i.npy.qsg", "-o", tmp_path / "i2.npy") == 0
    np.testing.assert_array_equal(np.load(tmp_path / "i2.npy"), np.load(tmp_path / "i.npy"))
    assert cli("decompress", tmp_path / "i.npy.qsg", "-o", tmp_path / "i2.wav") == 2
    assert "sample rate" in capsys.readouterr().err
    assert cli("decompress", tmp_path / "i.npy.qsg", "-o", tmp_path / "i2.wav", "--rate", "8000") == 0
    assert sf.info(tmp_path / "i2.wav").samplerate == 8000
    # G.711 takes int16 arrays; float arrays get the continuous 8-bit mu-law
    assert cli("compress", tmp_path / "i.npy", "-o", tmp_path / "g.qsg", "--quantizer", "ulaw") == 0
    assert cli("compress", tmp_path / "f.npy", "-o", tmp_path / "m.qsg", "--quantizer", "mu-law") == 0
    assert cli("compress", tmp_path / "f.npy", "-o", tmp_path / "a.qsg", "--quantizer", "alaw") == 0
    assert quantsig.info(tmp_path / "a.qsg")["quantizer"].startswith("ALawQuantizer")
    assert cli("compress", tmp_path / "f.npy", "-o", tmp_path / "u.qsg", "--quantizer", "g711") == 1
    assert "int16" in capsys.readouterr().err


def test_array_files_from_save_decompress_to_npy(tmp_path, capsys):
    import quantsig

    x = np.linspace(-1, 1, 3000).reshape(30, 100).astype(np.float32)
    quantsig.save(tmp_path / "a.qsg", x, quantsig.UniformQuantizer(step=0.01))
    assert cli("decompress", tmp_path / "a.qsg") == 0
    assert "30x100" in capsys.readouterr().out
    np.testing.assert_allclose(np.load(tmp_path / "a.npy"), x, atol=0.005 + 1e-6)
    assert cli("decompress", tmp_path / "a.qsg", "-o", tmp_path / "a.wav") == 2


def test_in_process_errors(tmp_path, wav, capsys):
    """Data errors exit 1, usage errors 2, each with one line; nothing raised."""
    (tmp_path / "t.npy").write_bytes(b"\x93NUMPY garbage")
    np.save(tmp_path / "o.npy", np.zeros((2, 2, 2)))
    np.save(tmp_path / "c.npy", np.array(["a", "b"]))
    (tmp_path / "cut.qsg").write_bytes(b"")
    (tmp_path / "bad.qsg").write_bytes(b"QSG? no, garbage" * 4)
    assert cli("compress", wav, "-q") == 0
    cases = [
        (["compress", wav], 2, "exists; use --force"),
        (["decompress", f"{wav}.qsg"], 2, "exists; use --force"),  # default name: the original
        (["decompress", tmp_path / "bad.qsg", "-o", tmp_path / "o.wav"], 1, "bad.qsg: corrupt"),
        (["compress", tmp_path / "missing.wav"], 2, "missing.wav: No such file"),
        (["compress", tmp_path / "t.npy"], 1, "t.npy"),
        (["compress", tmp_path / "o.npy"], 1, "(2, 2, 2)"),
        (["compress", tmp_path / "c.npy"], 1, "<U1"),
        (["compress", wav, "--max-error", "-3", "-o", tmp_path / "z.qsg"], 2, "--max-error"),
        (["compress", wav, "--bits", "0", "-o", tmp_path / "z.qsg"], 2, "--bits"),
        (["compress", wav, "-o", tmp_path / "nodir" / "z.qsg"], 2, "nodir"),
        (["compress", wav, "--frame-size", "0", "-o", tmp_path / "z.qsg"], 2, "--frame-size"),
        (["compress", wav, "-o", wav], 2, "input"),
        (["compress", tmp_path], 2, "directory"),
        (["compress", tmp_path / "bad.qsg"], 2, "decompress"),
        (["decompress", tmp_path / "missing.qsg"], 2, "missing.qsg"),
        (["decompress", tmp_path / "cut.qsg", "-o", tmp_path / "z.wav"], 1, "cut.qsg"),
        (["info", tmp_path / "cut.qsg"], 1, "cut.qsg"),
    ]
    for args, status, text in cases:
        assert cli(*args) == status, args
        err = capsys.readouterr().err
        assert err.startswith("quantsig: error: ") and err.count("\n") == 1 and text in err, (args, err)
    assert sorted(os.listdir(tmp_path)) == ["bad.qsg", "c.npy", "cut.qsg", "o.npy", "t.npy", "talk.wav", "talk.wav.qsg"]
    assert cli("compress", wav, "--force", "--max-error", "100") == 0
    assert "max error " in capsys.readouterr().out


# ---------------------------------------------------------------------- progress bar


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_progress_draws_percent_rate_and_eta():
    out, clock = io.StringIO(), Clock()
    with Progress(1000, stream=out, force=True, clock=clock, label="x.wav", width=10) as bar:
        clock.t = 1.0
        bar.update(250)
        line = bar.render()
        clock.t = 1.05
        bar.update(250)  # within min_interval: not redrawn
        clock.t = 2.0
        bar.update(250)
    assert line == "x.wav [##........]   25%  250 samples  250 samples/s  00:01 < 00:03"
    draws = out.getvalue().split("\r")[1:]
    assert len(draws) == 3 and out.getvalue().endswith("\n")
    assert draws[-1].startswith("x.wav [#######...]   75%  750 samples  375 samples/s  00:02 < 00:01")
    assert bar.n == 750


def test_progress_silent_unless_a_terminal_or_forced():
    out = io.StringIO()  # not a TTY
    with Progress(10, stream=out) as bar:
        bar.update(10)
    assert out.getvalue() == "" and not bar.active
    with Progress(10, stream=out, force=True, enabled=False) as bar:
        bar.update(10)
    assert out.getvalue() == ""

    class TTY(io.StringIO):
        def isatty(self):
            return True

    tty = TTY()
    with Progress(10, stream=tty, clock=Clock()) as bar:
        bar.update(10)
    assert "100%" in tty.getvalue()


def test_progress_unknown_total_and_shrinking_lines():
    out, clock = io.StringIO(), Clock()
    bar = Progress(None, stream=out, force=True, clock=clock, min_interval=0)
    clock.t = 2.0
    bar.update(3_000_000)
    assert bar.render() == "3.00M samples  1.50M samples/s  00:02"
    bar.close()
    bar.close()  # idempotent
    assert out.getvalue().count("\n") == 1
    # a shorter line blanks out what is left of the longer one
    out = io.StringIO()
    bar = Progress(None, stream=out, force=True, clock=Clock(), min_interval=0, unit="rows")
    bar.update(123_456)
    bar.n = 5
    bar.update(0)
    first, second = out.getvalue().split("\r")[1:]
    assert len(second) == len(first)
    with pytest.raises(ValueError):
        Progress(10, width=0)


def test_formatting_helpers():
    assert format_count(999) == "999" and format_count(1234) == "1.23k" and format_count(45_600_000) == "45.6M"
    assert format_rate(2.5e9) == "2.50G samples/s"
    assert format_duration(75) == "01:15" and format_duration(3725) == "1:02:05"
    assert format_duration(float("inf")) == "--:--" and format_duration(float("nan")) == "--:--"
