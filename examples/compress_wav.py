"""Compress a WAV file with quantsig: lossless, within a max error, and at 4 bits per sample.

A 16-bit WAV of generated speech (``quantsig.datasets.speech_like``, 8 kHz, mono; nothing is
downloaded) is written with soundfile, then compressed three ways with
``quantsig.audio.compress_file``:

* ``lossless=True``: decoded back with ``quantsig.audio.decompress_file`` and checked bit exact;
* ``max_abs_error=4``: every decoded sample checked within 4 LSBs of the WAV's;
* ``bits_per_sample=4``: the file checked at 4 bits per sample or less (the rate is met on the
  first 10 s of the file, where the step is searched; see docs/streams.md).

Each line gives the ``.qsg`` size, its ratio against the WAV and against FLAC at its strongest
setting (written in memory with soundfile, on the same samples), the bits per sample, the
maximum error, the SNR and the encode and decode times.

Usage::

    python examples/compress_wav.py                  # 30 s of speech, into ./compress_wav-out
    python examples/compress_wav.py --quick          # 3 s
    python examples/compress_wav.py --out DIR        # the WAV, .qsg and decoded WAVs go in DIR
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from quantsig.audio import compress_file, decompress_file
from quantsig.datasets import speech_like

SAMPLE_RATE = 8_000  # telephony speech: ~6 bits/sample lossless, so 4 bits is a real cut


def make_wav(path: Path, seconds: float) -> np.ndarray:
    """Write ``seconds`` of generated speech as a 16-bit mono WAV; return its int16 samples."""
    x = speech_like(seconds, SAMPLE_RATE, seed=0)
    pcm = np.round(x * 32767).astype(np.int16)
    sf.write(path, pcm, SAMPLE_RATE, subtype="PCM_16")
    return pcm


def flac_bytes(pcm: np.ndarray) -> int:
    """Size of the same samples as FLAC at its strongest setting, written in memory."""
    buf = io.BytesIO()
    sf.write(buf, pcm, SAMPLE_RATE, format="FLAC", subtype="PCM_16", compression_level=1.0)
    return len(buf.getvalue())


def run_mode(name: str, wav: Path, out: Path, pcm: np.ndarray, **mode) -> dict:
    """Compress ``wav`` in one mode, decode it back to WAV, check it; return the numbers."""
    qsg = out / f"speech-{name}.qsg"
    t0 = time.perf_counter()
    stats = compress_file(wav, qsg, **mode)
    t_enc = time.perf_counter() - t0

    decoded = out / f"speech-{name}-decoded.wav"
    t0 = time.perf_counter()
    decompress_file(qsg, decoded)
    t_dec = time.perf_counter() - t0

    y, _ = sf.read(decoded, dtype="int16")
    err = np.abs(y.astype(np.int32) - pcm.astype(np.int32))
    max_err = int(err.max())
    if mode.get("lossless"):
        assert np.array_equal(y, pcm), "lossless round trip is not bit exact"
    if "max_abs_error" in mode:
        assert max_err <= mode["max_abs_error"], f"max error {max_err} > {mode['max_abs_error']}"
    size = qsg.stat().st_size
    return {
        "name": name,
        "path": qsg,
        "bytes": size,
        "bps": 8 * size / pcm.size,
        "max_err": max_err,
        "snr": stats.snr_db,
        "t_enc": t_enc,
        "t_dec": t_dec,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 s of audio instead of 30 s")
    ap.add_argument("--out", default="compress_wav-out", help="output folder (created)")
    args = ap.parse_args(argv)

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    seconds = 3.0 if args.quick else 30.0

    wav = out / "speech.wav"
    pcm = make_wav(wav, seconds)
    wav_bytes = wav.stat().st_size
    flac = flac_bytes(pcm)
    print(f"input: {wav.name}  {seconds:.0f} s, {SAMPLE_RATE} Hz, mono, PCM_16, {pcm.size:,} samples")
    print(f"  WAV  {wav_bytes:>9,} bytes  ({8 * wav_bytes / pcm.size:.3f} bits/sample)")
    print(f"  FLAC {flac:>9,} bytes  ({8 * flac / pcm.size:.3f} bits/sample, level 8, in memory)")
    print()

    results = [
        run_mode("lossless", wav, out, pcm, lossless=True),
        run_mode("maxerr4", wav, out, pcm, max_abs_error=4),
        run_mode("4bits", wav, out, pcm, bits_per_sample=4),
    ]
    assert results[2]["bps"] <= 4.0 + 1e-9 or seconds > 10, "4-bit file above 4 bits/sample"

    print(
        f"{'mode':<9} {'bytes':>9} {'vs WAV':>7} {'vs FLAC':>8} {'bits/smp':>9} {'max err':>8} "
        f"{'SNR dB':>7} {'encode s':>9} {'decode s':>9}"
    )
    for r in results:
        print(
            f"{r['name']:<9} {r['bytes']:>9,} {wav_bytes / r['bytes']:>6.2f}x {flac / r['bytes']:>7.2f}x "
            f"{r['bps']:>9.3f} {r['max_err']:>8d} {r['snr']:>7.2f} {r['t_enc']:>9.3f} {r['t_dec']:>9.3f}"
        )
    print()
    print("checked: lossless bit exact, max-error file within 4 LSBs")
    print(f"outputs (WAV, .qsg files, decoded WAVs) in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
