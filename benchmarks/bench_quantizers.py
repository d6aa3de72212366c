"""The benchmark cases: each quantsig quantizer against the tool its users already have.

Every case generates its own data (seeded), checks that ours and the peer agree on it, then
times both side by side in this process, interleaved call by call so that a burst of other
work on the machine hits both. Rows are produced by generators so that a case that fails
half-way still reports the rows it finished. See :mod:`_common` for what a ratio means.

Run through ``benchmarks/run.py``, which pins every thread pool to one thread before NumPy is
imported. Running this file directly is reserved for the compile-latency probe
(``python bench_quantizers.py --compile-probe SUBJECT...``), which ``case_compile`` starts in
fresh interpreters.
"""

from __future__ import annotations

import time

# Measured before NumPy is imported: the compile-latency probe reports it next to the import
# times of Numba and quantsig (which it times itself).
_T_BEFORE_NUMPY = time.perf_counter()
import numpy as np  # noqa: E402

_NUMPY_IMPORT_S = time.perf_counter() - _T_BEFORE_NUMPY

import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

from _common import (  # noqa: E402
    CaseResult,
    Skip,
    error_row,
    format_seconds,
    skipped_row,
    speedup_row,
    time_interleaved,
)

__all__ = ["Sizes", "FULL", "QUICK", "Case", "CASES", "compile_probe"]


# ---------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Sizes:
    """Data sizes and repeat counts of one benchmark run.

    Attributes
    ----------
    n_samples : int
        Samples of the streaming scalar cases (uniform, G.711, mu-law).
    n_lloyd : int
        Training samples of the Lloyd-Max fit.
    n_vectors : int
        Vectors encoded by the VQ case.
    n_vq_train : int
        Vectors of the subsample the VQ codebook is fitted on.
    vq_levels : int
        Codewords of the VQ codebook.
    repeat : int
        Timed calls of fast functions (best of ``repeat``).
    slow_repeat : int
        Timed calls of slow ones (k-means fits, scikit-learn predict), at least two.
    slow_budget_s : float
        Seconds after which a slow comparison stops repeating (after two rounds).
    compile_isolated : bool
        Run each compile-latency subject in its own interpreter with its own cache folder
        (otherwise all subjects share one interpreter and one cache, which is faster but lets
        later subjects reuse kernels compiled for earlier ones).
    cold_repeat, warm_repeat : int
        Fresh interpreters per compile subject and cache state; the fastest first call is
        kept (each cold run starts from its own empty cache folder).
    """

    n_samples: int
    n_lloyd: int
    n_vectors: int
    n_vq_train: int
    vq_levels: int
    repeat: int
    slow_repeat: int
    slow_budget_s: float
    compile_isolated: bool
    cold_repeat: int
    warm_repeat: int


FULL = Sizes(
    n_samples=10_000_000,
    n_lloyd=1_000_000,
    n_vectors=1_000_000,
    n_vq_train=16_384,
    vq_levels=256,
    repeat=5,
    slow_repeat=3,
    slow_budget_s=8.0,
    compile_isolated=True,
    cold_repeat=2,
    warm_repeat=3,
)
QUICK = Sizes(
    n_samples=100_000,
    n_lloyd=100_000,
    n_vectors=100_000,
    n_vq_train=10_000,
    vq_levels=256,
    repeat=3,
    slow_repeat=2,
    slow_budget_s=1.0,
    compile_isolated=False,
    cold_repeat=1,
    warm_repeat=1,
)

SEED = 0


# ---------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """A group of benchmark rows.

    Attributes
    ----------
    group : str
        Name used by ``run.py --only``.
    title : str
        One line describing the comparison.
    rows : tuple of str
        Every row name the case reports (on success, skip or error alike).
    run : callable
        ``run(sizes)`` yields :class:`~_common.CaseResult` rows; raising
        :class:`~_common.Skip` skips the rows not yet reported.
    """

    group: str
    title: str
    rows: tuple[str, ...]
    run: Callable[[Sizes], Iterator[CaseResult]]


def _audio_float32(rng: np.random.Generator, n: int, hi: float = 1.0) -> np.ndarray:
    """Laplacian "audio" (scale 0.1, about -20 dBFS RMS) clipped to ``[-1, hi]``, float32."""
    return np.clip(rng.laplace(scale=0.1, size=n), -1.0, hi).astype(np.float32)


def _mismatch_summary(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """Count elements of two integer arrays that differ, and the largest difference."""
    diff = a.astype(np.int64) - b.astype(np.int64)
    n_diff = int(np.count_nonzero(diff))
    return {"mismatches": n_diff, "max_abs_code_diff": int(np.abs(diff).max()) if n_diff else 0}


def _tie_summary(mism: dict[str, Any]) -> str:
    """One line for the table: how many uniform codes differ from NumPy's, and whether all are ties."""
    kind = "all exact .5 ties" if mism["all_ties"] else "NOT all ties"
    return f"{mism['mismatches']} code mismatches ({kind})" if mism["mismatches"] else "codes equal"


# -- 1. uniform -----------------------------------------------------------------------------

_UNIFORM_ROWS = (
    "uniform.encode.b16.vs_numpy",
    "uniform.encode.b16.vs_copyto",
    "uniform.encode.unbounded.vs_numpy",
    "uniform.encode.unbounded.vs_copyto",
    "uniform.decode.b16.vs_numpy",
    "uniform.decode.unbounded.vs_numpy",
)


def case_uniform(sizes: Sizes) -> Iterator[CaseResult]:
    """Uniform encode/decode against the NumPy expression and against ``np.copyto``.

    The bounded ``UniformQuantizer(bits=16, step=2**-15)`` (uint16 codes ``k + 32768``) is
    float-to-int16 PCM; the NumPy peer is ``np.round(x / step).astype(np.int16)``. The
    unbounded ``UniformQuantizer(step=2**-15)`` gives int32 codes; its NumPy peer casts to
    int32 so both write the same number of bytes. NumPy rounds half to even, quantsig half
    away from zero: codes may differ on exact ties, which are counted.
    """
    from quantsig import UniformQuantizer

    group = "uniform"
    n = sizes.n_samples
    step = 2.0**-15
    rng = np.random.default_rng(SEED)
    x = _audio_float32(rng, n, hi=1.0 - step)
    bounded = UniformQuantizer(bits=16, step=step)
    unbounded = UniformQuantizer(step=step)
    dst = np.empty_like(x)

    codes16 = bounded.encode(x)
    ref16 = np.round(x / step).astype(np.int16)
    enc16 = _mismatch_summary(codes16.astype(np.int32) - 32768, ref16)
    codes32 = unbounded.encode(x)
    ref32 = np.round(x / step).astype(np.int32)
    enc32 = _mismatch_summary(codes32, ref32)
    u = x.astype(np.float64) / step
    tie = np.abs(u - np.trunc(u)) == 0.5  # where half-to-even and half-away-from-zero differ
    enc16["all_ties"] = bool(tie[codes16.astype(np.int32) - 32768 != ref16].all())
    enc32["all_ties"] = bool(tie[codes32 != ref32].all())
    del u, tie

    t = time_interleaved(
        {
            "ours16": lambda: bounded.encode(x),
            "ours32": lambda: unbounded.encode(x),
            "np16": lambda: np.round(x / step).astype(np.int16),
            "np32": lambda: np.round(x / step).astype(np.int32),
            "copyto": lambda: np.copyto(dst, x),
            "copy": lambda: x.copy(),
        },
        repeat=sizes.repeat,
    )
    base = {"n_samples": n, "dtype": "float32", "step": step}
    copy_note = {
        "copy_alloc_s": t["copy"].best,  # x.copy(): copy into a freshly allocated array
        "bytes_in": int(x.nbytes),
    }
    yield speedup_row(
        "uniform.encode.b16.vs_numpy",
        group,
        ours="UniformQuantizer(bits=16, step=2**-15).encode(x) -> uint16",
        peer="np.round(x / step).astype(np.int16)",
        t_ours=t["ours16"],
        t_peer=t["np16"],
        target=4.0,
        info={**base, **enc16, "summary": _tie_summary(enc16)},
    )
    yield speedup_row(
        "uniform.encode.b16.vs_copyto",
        group,
        ours="UniformQuantizer(bits=16, step=2**-15).encode(x) -> uint16",
        peer="np.copyto(dst, x) (float32 -> preallocated float32)",
        t_ours=t["ours16"],
        t_peer=t["copyto"],
        target=0.8,
        info={
            **base,
            **copy_note,
            "encode_over_copy_time": t["ours16"].best / t["copyto"].best,
            "summary": f"encode/copy time {t['ours16'].best / t['copyto'].best:.2f}; "
            f"x.copy() {format_seconds(t['copy'].best)}",
        },
    )
    yield speedup_row(
        "uniform.encode.unbounded.vs_numpy",
        group,
        ours="UniformQuantizer(step=2**-15).encode(x) -> int32",
        peer="np.round(x / step).astype(np.int32)",
        t_ours=t["ours32"],
        t_peer=t["np32"],
        target=4.0,
        info={**base, **enc32, "summary": _tie_summary(enc32)},
    )
    yield speedup_row(
        "uniform.encode.unbounded.vs_copyto",
        group,
        ours="UniformQuantizer(step=2**-15).encode(x) -> int32",
        peer="np.copyto(dst, x) (float32 -> preallocated float32)",
        t_ours=t["ours32"],
        t_peer=t["copyto"],
        target=0.8,
        info={
            **base,
            **copy_note,
            "encode_over_copy_time": t["ours32"].best / t["copyto"].best,
            "summary": f"encode/copy time {t['ours32'].best / t['copyto'].best:.2f}; "
            f"x.copy() {format_seconds(t['copy'].best)}",
        },
    )

    # decode the same codes on both sides (NumPy's int16 k, ours as uint16 k + 32768)
    ours16_codes = (ref16.astype(np.int32) + 32768).astype(np.uint16)
    dec16_equal = bool(np.array_equal(bounded.decode(ours16_codes, dtype=np.float32), ref16.astype(np.float32) * step))
    dec32_equal = bool(np.array_equal(unbounded.decode(ref32, dtype=np.float32), ref32.astype(np.float32) * step))
    td = time_interleaved(
        {
            "ours16": lambda: bounded.decode(ours16_codes, dtype=np.float32),
            "np16": lambda: ref16.astype(np.float32) * step,
            "ours32": lambda: unbounded.decode(ref32, dtype=np.float32),
            "np32": lambda: ref32.astype(np.float32) * step,
        },
        repeat=sizes.repeat,
    )
    yield speedup_row(
        "uniform.decode.b16.vs_numpy",
        group,
        ours="UniformQuantizer(bits=16, step=2**-15).decode(uint16 codes, dtype=float32)",
        peer="codes.astype(np.float32) * step (int16 codes)",
        t_ours=td["ours16"],
        t_peer=td["np16"],
        info={**base, "outputs_equal": dec16_equal, "summary": f"outputs equal: {dec16_equal}"},
    )
    yield speedup_row(
        "uniform.decode.unbounded.vs_numpy",
        group,
        ours="UniformQuantizer(step=2**-15).decode(int32 codes, dtype=float32)",
        peer="codes.astype(np.float32) * step (int32 codes)",
        t_ours=td["ours32"],
        t_peer=td["np32"],
        info={**base, "outputs_equal": dec32_equal, "summary": f"outputs equal: {dec32_equal}"},
    )


# -- 2. G.711 ---------------------------------------------------------------------------------

_G711_ROWS = tuple(f"g711.{law}.{op}.vs_audioop" for law in ("mu", "a") for op in ("encode", "decode"))


def _import_audioop() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import audioop
        except ImportError as exc:
            raise Skip(f"audioop is not available ({exc}); on Python >= 3.13 pip install audioop-lts") from exc
    return audioop


def case_g711(sizes: Sizes) -> Iterator[CaseResult]:
    """G.711 (audioop variant) against ``audioop.lin2ulaw/ulaw2lin`` and ``lin2alaw/alaw2lin``.

    Speech-like int16 PCM: Laplacian with scale 2000 (about -21 dBFS RMS), rounded and
    clipped. Both directions are checked to be bit-identical before timing; audioop works on
    bytes, quantsig on the int16 array (the form each is used in).
    """
    audioop = _import_audioop()
    rng = np.random.default_rng(SEED)
    pcm = np.clip(np.round(rng.laplace(scale=2000.0, size=sizes.n_samples)), -32768, 32767).astype(np.int16)
    yield from _g711_law(sizes, pcm, "mu", audioop.lin2ulaw, audioop.ulaw2lin)
    yield from _g711_law(sizes, pcm, "a", audioop.lin2alaw, audioop.alaw2lin)


def _g711_law(
    sizes: Sizes,
    pcm: np.ndarray,
    law: str,
    lin2law: Callable[[bytes, int], bytes],
    law2lin: Callable[[bytes, int], bytes],
) -> Iterator[CaseResult]:
    """The encode and decode rows of one G.711 law."""
    from quantsig import G711Quantizer

    group, n = "g711", pcm.size
    fname = "ulaw" if law == "mu" else "alaw"
    q = G711Quantizer(law=law, variant="audioop")
    pcm_bytes = pcm.astype("<i2").tobytes()
    codes = q.encode(pcm)
    peer_codes = lin2law(pcm_bytes, 2)
    diffs = {
        "encode": int(np.count_nonzero(codes != np.frombuffer(peer_codes, np.uint8))),
        "decode": int(np.count_nonzero(q.decode(codes) != np.frombuffer(law2lin(peer_codes, 2), "<i2"))),
    }
    if any(diffs.values()):
        for op, diff in diffs.items():
            yield error_row(
                f"g711.{law}.{op}.vs_audioop",
                group,
                f"outputs differ from audioop on {diff} of {n} samples"
                if diff
                else "not timed: the other direction differs from audioop",
            )
        return
    t = time_interleaved(
        {
            "enc": lambda: q.encode(pcm),
            "peer_enc": lambda: lin2law(pcm_bytes, 2),
            "dec": lambda: q.decode(codes),
            "peer_dec": lambda: law2lin(peer_codes, 2),
        },
        repeat=sizes.repeat,
    )
    info = {"n_samples": n, "outputs_equal": True, "summary": "bit-identical to audioop"}
    yield speedup_row(
        f"g711.{law}.encode.vs_audioop",
        group,
        ours=f"G711Quantizer(law={law!r}, variant='audioop').encode(int16 array)",
        peer=f"audioop.lin2{fname}(bytes, 2)",
        t_ours=t["enc"],
        t_peer=t["peer_enc"],
        target=20.0,
        info=dict(info),
    )
    yield speedup_row(
        f"g711.{law}.decode.vs_audioop",
        group,
        ours=f"G711Quantizer(law={law!r}, variant='audioop').decode(uint8 codes)",
        peer=f"audioop.{fname}2lin(bytes, 2)",
        t_ours=t["dec"],
        t_peer=t["peer_dec"],
        target=1.0,
        info=dict(info),
    )


# -- 3. continuous mu-law ---------------------------------------------------------------------

_MULAW_ROWS = ("mulaw.encode.b8.vs_numpy",)


def _mulaw_numpy(x: np.ndarray, mu: float = 255.0) -> np.ndarray:
    """The textbook NumPy mu-law encoder (float32 arithmetic on float32 input)."""
    return np.floor((np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) + 1) / 2 * 256).clip(0, 255).astype(np.uint8)


def case_mulaw(sizes: Sizes) -> Iterator[CaseResult]:
    """Continuous mu-law encode (``MuLawQuantizer(bits=8)``) against the NumPy log1p formula.

    Both compute ``floor((C(x) + 1) / 2 * 256)``; quantsig compares ``x`` with thresholds
    mapped exactly (float64) to the linear domain, NumPy evaluates the log in float32, so a
    few samples next to a threshold get neighbouring codes; they are counted.
    """
    from quantsig import MuLawQuantizer

    group = "mulaw"
    n = sizes.n_samples
    rng = np.random.default_rng(SEED)
    x = _audio_float32(rng, n)
    q = MuLawQuantizer(bits=8)
    mism = _mismatch_summary(q.encode(x), _mulaw_numpy(x))
    t = time_interleaved({"ours": lambda: q.encode(x), "peer": lambda: _mulaw_numpy(x)}, repeat=sizes.repeat)
    yield speedup_row(
        "mulaw.encode.b8.vs_numpy",
        group,
        ours="MuLawQuantizer(bits=8).encode(x) (mu=255, float32 x)",
        peer="np.floor((sign(x) log1p(mu|x|) / log1p(mu) + 1) / 2 * 256).clip(0, 255).astype(uint8)",
        t_ours=t["ours"],
        t_peer=t["peer"],
        target=10.0,
        info={
            "n_samples": n,
            "dtype": "float32",
            **mism,
            "summary": f"{mism['mismatches']} code mismatches (max diff {mism['max_abs_code_diff']})",
        },
    )


# -- 4. Lloyd-Max -----------------------------------------------------------------------------

_LLOYD_LEVELS = (16, 32)
_LLOYD_ROWS = tuple(f"lloydmax.fit.L{k}.vs_sklearn" for k in _LLOYD_LEVELS)


def _nearest_level_mse(x: np.ndarray, levels: np.ndarray) -> float:
    """MSE of ``x`` quantized to its nearest level (cells closed on the left), float64."""
    y = np.sort(np.asarray(levels, dtype=np.float64).reshape(-1))
    t = 0.5 * (y[:-1] + y[1:])
    return float(np.mean((x - y[np.searchsorted(t, x, side="right")]) ** 2))


def case_lloydmax(sizes: Sizes) -> Iterator[CaseResult]:
    """``LloydMaxQuantizer(k).fit(x)`` against ``KMeans(k, n_init=1, random_state=0)``.

    1-D standard Gaussian float64 samples. Both MSEs are computed the same way (each sample
    to its nearest level of the fitted codebook); the target needs quantsig's MSE to be no
    larger than scikit-learn's.
    """
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal(sizes.n_lloyd)
    for k in _LLOYD_LEVELS:
        yield _lloyd_row(sizes, x, k)


def _lloyd_row(sizes: Sizes, x: np.ndarray, k: int) -> CaseResult:
    """One Lloyd-Max fit comparison at ``k`` levels."""
    from sklearn.cluster import KMeans

    from quantsig import LloydMaxQuantizer

    n = x.size
    x2 = x[:, None]
    ours = LloydMaxQuantizer(k)
    peer = KMeans(n_clusters=k, n_init=1, random_state=0)
    t = time_interleaved(
        {"ours": lambda: ours.fit(x), "peer": lambda: peer.fit(x2)},
        repeat=sizes.slow_repeat,
        warmups={
            "ours": lambda: LloydMaxQuantizer(k).fit(x[:20_000]),
            "peer": lambda: KMeans(n_clusters=k, n_init=1, random_state=0).fit(x2[:20_000]),
        },
        budget_s=sizes.slow_budget_s,
    )
    mse_ours = _nearest_level_mse(x, ours.levels_)
    mse_peer = _nearest_level_mse(x, peer.cluster_centers_)
    return speedup_row(
        f"lloydmax.fit.L{k}.vs_sklearn",
        "lloydmax",
        ours=f"LloydMaxQuantizer({k}).fit(x)",
        peer=f"KMeans(n_clusters={k}, n_init=1, random_state=0).fit(x[:, None])",
        t_ours=t["ours"],
        t_peer=t["peer"],
        target=20.0,
        condition="MSE <= sklearn",
        condition_ok=mse_ours <= mse_peer,
        info={
            "n_samples": n,
            "levels": k,
            "mse_ours": mse_ours,
            "mse_sklearn": mse_peer,
            "sklearn_inertia_per_sample": float(peer.inertia_) / n,
            "iterations_ours": int(ours.n_iter_),
            "iterations_sklearn": int(peer.n_iter_),
            "summary": f"MSE ours {mse_ours:.6g} vs sklearn {mse_peer:.6g} "
            f"({100 * (mse_peer / mse_ours - 1):+.2f}% for sklearn)",
        },
    )


# -- 5. VQ -------------------------------------------------------------------------------------

_VQ_DIMS = (2, 4, 8)
_VQ_ROWS = tuple(
    name
    for d in _VQ_DIMS
    for name in (f"vq.fit.d{d}.vs_sklearn", f"vq.encode.d{d}.vs_sklearn", f"vq.encode.d{d}.vs_faiss")
)


def _import_kmeans_vq() -> type:
    try:
        from quantsig.quantizers.kmeans import KMeansVectorQuantizer
    except Exception as exc:
        raise Skip(f"KMeansVectorQuantizer is not importable yet ({type(exc).__name__}: {exc})") from exc
    return KMeansVectorQuantizer


def _import_faiss() -> ModuleType | None:
    try:
        import faiss
    except ImportError:
        return None
    faiss.omp_set_num_threads(1)
    return faiss


def _tie_report(x: np.ndarray, codebook: np.ndarray, ours: np.ndarray, peer: np.ndarray) -> dict[str, Any]:
    """Classify the vectors whose codes differ: near-ties or real disagreements.

    A mismatch is a near-tie when the two codewords' float64 distances differ by less than
    ``1e-5 * (|x|^2 + |c|^2)``, the rounding error of the float32 expanded form
    ``|x|^2 - 2 x.c + |c|^2`` that BLAS-based searches use.
    """
    bad = np.flatnonzero(ours != peer)
    out: dict[str, Any] = {"mismatches": int(bad.size), "not_near_tie": 0, "ours_farther": 0}
    if bad.size:
        xb = x[bad].astype(np.float64)
        co = codebook[ours[bad]]
        cp = codebook[peer[bad]]
        d_ours = ((xb - co) ** 2).sum(axis=1)
        d_peer = ((xb - cp) ** 2).sum(axis=1)
        scale = (xb**2).sum(axis=1) + np.maximum((co**2).sum(axis=1), (cp**2).sum(axis=1))
        out["not_near_tie"] = int(np.count_nonzero(np.abs(d_ours - d_peer) > 1e-5 * scale))
        out["ours_farther"] = int(np.count_nonzero(d_ours > d_peer))
    return out


def case_vq(sizes: Sizes) -> Iterator[CaseResult]:
    """K-means VQ encode against ``KMeans.predict`` and ``faiss.IndexFlatL2.search``; VQ fit
    against scikit-learn's ``KMeans`` with the same parameters.

    Standard Gaussian float32 vectors, one codebook per dimension, fitted on a random
    subsample. All three encoders get the very same float32 codebook. Codes are compared
    with faiss' (mismatches classified as near-ties or not) and with scikit-learn's.
    """
    quantizer_cls = _import_kmeans_vq()
    faiss = _import_faiss()
    rng = np.random.default_rng(SEED)
    for d in _VQ_DIMS:
        x = rng.standard_normal((sizes.n_vectors, d)).astype(np.float32)
        train = x[rng.choice(sizes.n_vectors, size=sizes.n_vq_train, replace=False)]
        yield from _vq_rows(sizes, quantizer_cls, faiss, x, train)


def _vq_rows(
    sizes: Sizes, quantizer_cls: type, faiss: ModuleType | None, x: np.ndarray, train: np.ndarray
) -> Iterator[CaseResult]:
    """The fit row and the two encode rows of one vector dimension."""
    from sklearn.cluster import KMeans

    group = "vq"
    n, d = x.shape
    k = sizes.vq_levels
    base = {"n_vectors": n, "dim": d, "levels": k, "n_train": int(train.shape[0]), "dtype": "float32"}

    # fit: ours wraps scikit-learn (full Lloyd up to 2**17 vectors, one thread); same params
    ours = quantizer_cls(k, dim=d, random_state=0)
    peer = KMeans(n_clusters=k, n_init=1, random_state=0, algorithm="lloyd", max_iter=300)
    tiny = train[: 4 * k]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny warm-up fits warn about training size
        tf = time_interleaved(
            {"ours": lambda: ours.fit(train), "peer": lambda: peer.fit(train)},
            repeat=sizes.slow_repeat,
            warmups={
                "ours": lambda: quantizer_cls(k, dim=d, random_state=0).fit(tiny),
                "peer": lambda: KMeans(n_clusters=k, n_init=1, random_state=0).fit(tiny),
            },
            budget_s=sizes.slow_budget_s,
        )
    same_codebook = bool(np.array_equal(ours.codebook_, peer.cluster_centers_.astype(np.float64)))
    yield speedup_row(
        f"vq.fit.d{d}.vs_sklearn",
        group,
        ours=f"KMeansVectorQuantizer({k}, dim={d}, random_state=0).fit(train)",
        peer=f"KMeans(n_clusters={k}, n_init=1, random_state=0, algorithm='lloyd').fit(train)",
        t_ours=tf["ours"],
        t_peer=tf["peer"],
        info={**base, "same_codebook": same_codebook, "summary": f"identical codebook: {same_codebook}"},
    )

    # encode: the same float32 codebook everywhere
    cb32 = np.ascontiguousarray(ours.codebook_, dtype=np.float32)
    peer.cluster_centers_ = cb32
    fns: dict[str, Callable[[], object]] = {"ours": lambda: ours.encode(x), "sklearn": lambda: peer.predict(x)}
    index = None
    if faiss is not None:
        index = faiss.IndexFlatL2(d)
        index.add(cb32)
        fns["faiss"] = lambda: index.search(x, 1)
    te = time_interleaved(
        fns,
        repeat=sizes.slow_repeat,
        warmups={"sklearn": lambda: peer.predict(x[:10_000])},
        budget_s=sizes.slow_budget_s,
    )
    codes = ours.encode(x)[:, 0].astype(np.int64)
    vs_sk = _tie_report(x, ours.codebook_, codes, peer.predict(x))
    yield speedup_row(
        f"vq.encode.d{d}.vs_sklearn",
        group,
        ours=f"KMeansVectorQuantizer({k}, dim={d}).encode(x)",
        peer="KMeans.predict(x) (same float32 codebook)",
        t_ours=te["ours"],
        t_peer=te["sklearn"],
        info={
            **base,
            **vs_sk,
            "summary": f"{vs_sk['mismatches']} code mismatches ({vs_sk['not_near_tie']} not near-ties)",
        },
    )
    if index is None:
        yield skipped_row(f"vq.encode.d{d}.vs_faiss", group, "faiss is not installed (pip install faiss-cpu)")
        return
    vs_faiss = _tie_report(x, ours.codebook_, codes, index.search(x, 1)[1][:, 0])
    yield speedup_row(
        f"vq.encode.d{d}.vs_faiss",
        group,
        ours=f"KMeansVectorQuantizer({k}, dim={d}).encode(x)",
        peer=f"faiss.IndexFlatL2({d}).search(x, 1) (same float32 codebook)",
        t_ours=te["ours"],
        t_peer=te["faiss"],
        info={
            **base,
            **vs_faiss,
            "summary": f"{vs_faiss['mismatches']} code mismatches ({vs_faiss['not_near_tie']} not near-ties)",
        },
    )


# -- 6. compile latency --------------------------------------------------------------------

#: Compile-latency subjects: row suffix -> what is timed. ``numba-noop`` is a reference, not
#: a quantizer: the first call of a trivial cached function shows Numba's own one-off cost
#: per process (its typing and lowering registries load on the first dispatch), which the
#: first quantsig call of a process pays whatever the quantizer.
COMPILE_SUBJECTS: dict[str, str] = {
    "uniform-b16": "first encode+decode of UniformQuantizer(bits=16, step=2**-15)",
    "uniform-unbounded": "first encode+decode of UniformQuantizer(step=2**-15)",
    "mu-law": "first encode+decode of MuLawQuantizer(bits=8)",
    "a-law": "first encode+decode of ALawQuantizer(bits=8)",
    "g711": "first encode+decode of G711Quantizer(law='mu', variant='audioop')",
    "lloyd-max.fit": "first LloydMaxQuantizer(16).fit(x)",
    "lloyd-max": "first encode+decode of a fitted LloydMaxQuantizer(16) (from a config)",
    "kmeans-vq": "first encode+decode of KMeansVectorQuantizer(16, dim=2) (from a config)",
    "numba-noop": "reference: first call of a trivial @njit(cache=True) function",
}
_REFERENCE_SUBJECTS = ("numba-noop",)
COLD_BUDGET_S = 2.0
WARM_BUDGET_S = 0.2
_COMPILE_ROWS = tuple(f"compile.{phase}.{s}" for s in COMPILE_SUBJECTS for phase in ("cold", "warm"))


def _noop(a: int) -> int:
    """The trivial function of the ``numba-noop`` reference subject."""
    return a + 1


def _subject_call(subject: str, rng: np.random.Generator) -> Callable[[], object]:
    """Build (untimed) the quantizer of ``subject`` and return the call whose first run is timed.

    Inputs are tiny: 1,000 float64 samples (int16 for G.711, 500 vectors of dim 2 for VQ).
    Fitted quantizers are rebuilt from a config, so that only encode/decode kernels compile.
    """
    import quantsig

    x = rng.uniform(-0.9, 0.9, size=1000)
    q: Any
    if subject == "uniform-b16":
        q = quantsig.UniformQuantizer(bits=16, step=2.0**-15)
    elif subject == "uniform-unbounded":
        q = quantsig.UniformQuantizer(step=2.0**-15)
    elif subject == "mu-law":
        q = quantsig.MuLawQuantizer(bits=8)
    elif subject == "a-law":
        q = quantsig.ALawQuantizer(bits=8)
    elif subject == "g711":
        q = quantsig.G711Quantizer(law="mu", variant="audioop")
        x = np.round(x * 30000).astype(np.int16)
    elif subject == "lloyd-max.fit":
        return lambda: quantsig.LloydMaxQuantizer(16).fit(x)
    elif subject == "lloyd-max":
        t = np.linspace(-1.5, 1.5, 15)
        y = np.concatenate(([-2.0], 0.5 * (t[:-1] + t[1:]), [2.0]))
        q = quantsig.LloydMaxQuantizer.from_config(
            {"id": "lloyd-max", "levels": 16, "thresholds_": t.tolist(), "levels_": y.tolist()}
        )
    elif subject == "kmeans-vq":
        try:
            from quantsig.quantizers.kmeans import KMeansVectorQuantizer
        except Exception as exc:
            raise Skip(f"KMeansVectorQuantizer is not importable yet ({type(exc).__name__}: {exc})") from exc
        codebook = rng.standard_normal((16, 2)).tolist()
        q = KMeansVectorQuantizer.from_config({"id": "kmeans-vq", "levels": 16, "dim": 2, "codebook_": codebook})
        x = x.reshape(-1, 2)
    elif subject == "numba-noop":
        import numba

        noop = numba.njit(cache=True)(_noop)
        return lambda: noop(1)
    else:
        raise ValueError(f"unknown compile subject {subject!r}; known: {', '.join(COMPILE_SUBJECTS)}")
    return lambda: q.decode(q.encode(x))


def _compile_events() -> Any:
    """A context manager recording Numba's compile events (per-kernel compile times); it
    yields None where this Numba has no event API."""
    try:
        from numba.core import event
    except ImportError:  # pragma: no cover - very old Numba
        return contextlib.nullcontext()
    return event.install_recorder("numba:compile")


def _slowest_compiles(recorder: Any, top: int = 3) -> list[list[Any]]:
    """``[[kernel, seconds], ...]``: the quantsig kernels that took longest to compile.

    Times are inclusive (a kernel's time includes the helpers it compiled on the way).
    """
    if recorder is None:
        return []
    starts: dict[tuple[int, str], float] = {}
    spans: list[list[Any]] = []
    for ts, ev in recorder.buffer:
        dispatcher = ev.data.get("dispatcher")
        func = getattr(dispatcher, "py_func", None)
        if func is None or not getattr(func, "__module__", "").startswith("quantsig"):
            continue
        key = (id(dispatcher), str(ev.data.get("args")))
        if ev.is_start:
            starts[key] = ts
        elif key in starts:
            spans.append([f"{func.__module__.rsplit('.', 1)[-1]}.{func.__qualname__}", ts - starts.pop(key)])
    spans.sort(key=lambda s: -s[1])
    return spans[:top]


def compile_probe(subjects: list[str]) -> dict[str, Any]:
    """Body of the compile-latency subprocess: import times, then first calls per subject.

    Returns
    -------
    dict
        ``import_numpy_s``, ``import_numba_s``, ``import_quantsig_s`` and ``subjects``:
        subject -> ``{"first_s", "second_s", "slowest_compiles"}`` or ``{"skipped": reason}``.
    """
    t0 = time.perf_counter()
    import numba  # noqa: F401

    t1 = time.perf_counter()
    import quantsig  # noqa: F401

    t2 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    results: dict[str, Any] = {}
    for subject in subjects:
        try:
            call = _subject_call(subject, rng)
        except Skip as exc:
            results[subject] = {"skipped": str(exc)}
            continue
        with _compile_events() as recorder:
            t = time.perf_counter()
            call()
            first = time.perf_counter() - t
        t = time.perf_counter()
        call()
        second = time.perf_counter() - t
        results[subject] = {"first_s": first, "second_s": second, "slowest_compiles": _slowest_compiles(recorder)}
    return {
        "import_numpy_s": _NUMPY_IMPORT_S,
        "import_numba_s": t1 - t0,
        "import_quantsig_s": t2 - t1,
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR"),
        "subjects": results,
    }


def _run_probe(subjects: list[str], cache_dir: str) -> dict[str, Any]:
    """Run :func:`compile_probe` in a fresh interpreter with ``NUMBA_CACHE_DIR=cache_dir``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--compile-probe", *subjects],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"compile probe failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _best_probe(probes: list[dict[str, Any]], subject: str) -> dict[str, Any]:
    """The probe run in which ``subject``'s first call was fastest, with every first time."""
    done = [p for p in probes if "first_s" in p["subjects"][subject]]
    if not done:
        return probes[0]
    best = min(done, key=lambda p: p["subjects"][subject]["first_s"])
    return {**best, "all_first_s": [p["subjects"][subject]["first_s"] for p in done]}


def _compile_row(subject: str, phase: str, probe: dict[str, Any], isolated: bool) -> CaseResult:
    name = f"compile.{phase}.{subject}"
    res = probe["subjects"][subject]
    if "skipped" in res:
        return skipped_row(name, "compile", res["skipped"])
    imports = {k: probe[k] for k in ("import_numpy_s", "import_numba_s", "import_quantsig_s")}
    slowest = res["slowest_compiles"]
    runs = probe.get("all_first_s", [res["first_s"]])
    summary = f"best of {len(runs)}; 2nd call {format_seconds(res['second_s'])}"
    if phase == "cold" and slowest:
        summary += "; slowest: " + ", ".join(f"{k} {format_seconds(s)}" for k, s in slowest[:2])
    if phase == "warm":
        summary += (
            f"; imports: numba {format_seconds(imports['import_numba_s'])}, "
            f"quantsig {format_seconds(imports['import_quantsig_s'])}"
        )
    reference = subject in _REFERENCE_SUBJECTS
    return CaseResult(
        name=name,
        group="compile",
        ours=COMPILE_SUBJECTS[subject],
        peer=f"{phase}-cache budget",
        ours_s=res["first_s"],
        peer_s=COLD_BUDGET_S if phase == "cold" else WARM_BUDGET_S,
        kind="budget",
        target=None if reference else 1.0,
        info={
            **imports,
            "first_call_all_runs_s": runs,
            "second_call_s": res["second_s"],
            "slowest_compiles": slowest,
            "isolated": isolated,
            "reference_only": reference,
            "summary": summary,
        },
    )


def case_compile(sizes: Sizes) -> Iterator[CaseResult]:
    """First-call latency of each quantizer's kernels, cold cache and warm cache.

    Each subject runs in a fresh interpreter with ``NUMBA_CACHE_DIR`` set to an empty
    temporary folder (cold: every kernel it uses is compiled and written to the cache), then
    in fresh interpreters with the same folder (warm: the kernels are loaded from the cache);
    ``sizes.cold_repeat`` / ``warm_repeat`` interpreters each, the fastest kept. Imports are
    timed separately and excluded; Numba's one-off first-dispatch cost is included (a user
    pays it on the first call) and shown alone by the ``numba-noop`` rows. ``ratio`` is
    budget / first-call time. With ``sizes.compile_isolated`` false (``--quick``) all subjects
    share one interpreter and cache, so later ones reuse kernels compiled for earlier ones.
    """
    subjects = list(COMPILE_SUBJECTS)
    batches = [[s] for s in subjects] if sizes.compile_isolated else [subjects]
    for batch in batches:
        cold: list[dict[str, Any]] = []
        warm: list[dict[str, Any]] = []
        for i in range(sizes.cold_repeat):
            with tempfile.TemporaryDirectory(prefix="quantsig-numba-cache-") as cache_dir:
                cold.append(_run_probe(batch, cache_dir))
                if i == sizes.cold_repeat - 1:
                    warm = [_run_probe(batch, cache_dir) for _ in range(sizes.warm_repeat)]
        for subject in batch:
            yield _compile_row(subject, "cold", _best_probe(cold, subject), sizes.compile_isolated)
            yield _compile_row(subject, "warm", _best_probe(warm, subject), sizes.compile_isolated)


# ---------------------------------------------------------------------- registry

CASES: dict[str, Case] = {
    case.group: case
    for case in (
        Case("uniform", "uniform encode/decode vs NumPy and np.copyto", _UNIFORM_ROWS, case_uniform),
        Case("g711", "G.711 vs audioop", _G711_ROWS, case_g711),
        Case("mulaw", "continuous mu-law encode vs NumPy log1p", _MULAW_ROWS, case_mulaw),
        Case("lloydmax", "Lloyd-Max fit vs scikit-learn KMeans", _LLOYD_ROWS, case_lloydmax),
        Case("vq", "k-means VQ encode vs scikit-learn/faiss, fit vs scikit-learn", _VQ_ROWS, case_vq),
        Case("compile", "first-call latency, cold and warm Numba cache", _COMPILE_ROWS, case_compile),
    )
}


def sizes_dict(sizes: Sizes) -> dict[str, Any]:
    """The sizes as a JSON-native dict."""
    return asdict(sizes)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--compile-probe":
        print(json.dumps(compile_probe(sys.argv[2:])))
    else:
        sys.exit("bench_quantizers.py only runs the compile probe; use benchmarks/run.py")
