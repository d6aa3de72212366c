"""Signals the package can make without a network: synthetic speech-like and music-like audio.

They are deterministic for a given seed, band-limited, and shaped like the real thing where
it matters to a quantizer: a speech-like signal has a pitch, formants, syllable envelopes and
pauses (a heavy-tailed, Laplacian-like amplitude distribution, which is what companding laws
are designed for); a music-like signal is a sum of harmonic notes with decaying envelopes.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as _signal

__all__ = ["speech_like", "music_like"]


def speech_like(seconds: float = 5.0, sample_rate: int = 8000, seed: int = 0) -> np.ndarray:
    """A float32 speech-like signal in ``[-1, 1]`` (peak 0.9), mono.

    A glottal pulse train with jittered pitch (90-220 Hz) and breath noise is filtered by
    slowly changing formant resonators (an all-pole vocal-tract model), then shaped into
    syllables separated by short pauses.

    Parameters
    ----------
    seconds : float
        Duration.
    sample_rate : int
        Samples per second (8000 is telephony).
    seed : int
        Seed of the generator; the same seed gives the same samples.

    Returns
    -------
    ndarray of float32, shape (round(seconds * sample_rate),)

    Examples
    --------
    >>> from quantsig.datasets import speech_like
    >>> x = speech_like(1.0)
    >>> x.shape, x.dtype, float(abs(x).max()) <= 0.9
    ((8000,), dtype('float32'), True)
    """
    if seconds <= 0 or sample_rate < 1000:
        raise ValueError(f"seconds={seconds} must be > 0 and sample_rate={sample_rate} >= 1000")
    rng = np.random.default_rng(seed)
    n = round(seconds * sample_rate)
    out = np.zeros(n)
    pos = 0
    while pos < n:
        syl = int(rng.uniform(0.12, 0.35) * sample_rate)
        pause = int(rng.uniform(0.03, 0.2) * sample_rate)
        m = min(syl, n - pos)
        f0 = rng.uniform(90, 220) * (1 + 0.05 * np.sin(np.linspace(0, rng.uniform(1, 4), m)))
        phase = np.cumsum(f0 / sample_rate)
        pulses = np.diff(np.floor(phase), prepend=0.0) * (1 + 0.1 * rng.standard_normal(m))
        src = pulses + 0.03 * rng.standard_normal(m)
        # two or three formant resonators in cascade
        y = src
        for fc, bw in zip(rng.uniform([300, 900, 2200], [800, 2000, 3200]), [80, 120, 200]):
            fc = min(fc, 0.45 * sample_rate)
            r = np.exp(-np.pi * bw / sample_rate)
            a = [1.0, -2 * r * np.cos(2 * np.pi * fc / sample_rate), r * r]
            y = _signal.lfilter([1.0 - r], a, y)
        env = np.sin(np.linspace(0, np.pi, m)) ** 1.5 * rng.uniform(0.2, 1.0)
        out[pos : pos + m] = y * env
        pos += m + pause
    out -= out.mean()
    out *= 0.9 / max(np.abs(out).max(), 1e-12)
    return out.astype(np.float32)


def music_like(seconds: float = 5.0, sample_rate: int = 44100, seed: int = 0) -> np.ndarray:
    """A float32 music-like signal in ``[-1, 1]`` (peak 0.9), mono: harmonic notes with decay.

    Examples
    --------
    >>> from quantsig.datasets import music_like
    >>> music_like(0.5, 8000).shape
    (4000,)
    """
    if seconds <= 0 or sample_rate < 1000:
        raise ValueError(f"seconds={seconds} must be > 0 and sample_rate={sample_rate} >= 1000")
    rng = np.random.default_rng(seed)
    n = round(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    out = np.zeros(n)
    note_len = int(0.25 * sample_rate)
    for start in range(0, n, note_len):
        f0 = 110.0 * 2 ** (rng.integers(0, 36) / 12)
        seg = slice(start, min(n, start + 4 * note_len))
        tt = t[seg] - t[start]
        env = np.exp(-tt * rng.uniform(2, 6))
        for h in range(1, 8):
            if f0 * h < 0.45 * sample_rate:
                out[seg] += env * np.sin(2 * np.pi * f0 * h * tt + rng.uniform(0, 2 * np.pi)) / h**1.3
    out *= 0.9 / max(np.abs(out).max(), 1e-12)
    return out.astype(np.float32)
