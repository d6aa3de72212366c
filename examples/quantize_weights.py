"""Quantize a small neural network's weights with quantsig and check it still classifies.

scikit-learn's ``MLPClassifier`` (64-128-64-10) is trained on the digits data bundled with
scikit-learn (a few seconds, no download, no torch). Its weights are saved to an ``.npz`` in
PyTorch's naming and layout (``layer0.weight`` of shape (out, in), ``layer0.bias``), then
``quantsig.weights.quantize_model`` quantizes them at a budget of 8.0 and 4.0 bits per weight
(everything written counted: codes, scales, tables, headers and the biases kept exact) and with
4-bit k-means weight sharing (``method="kmeans", bits=4``). Each archive is saved, read back
with ``load_model``, put back into the classifier and scored on the held-out digits; the script
prints the accuracy, the bits per weight written and each archive's report table.

This network has only 17 k weights, so a quantized tensor's fixed cost (~1 KB) is about 1.3
bits per weight: a budget of 4.0 leaves under 2 bits of payload per matrix (see
docs/weights.md).

Usage::

    python examples/quantize_weights.py              # 150 training epochs, ./quantize_weights-out
    python examples/quantize_weights.py --quick      # 40 epochs
    python examples/quantize_weights.py --out DIR    # model.npz, the .qsg archives, report CSVs
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from quantsig.weights import load_model, quantize_model

SETTINGS = [
    ("budget8", {"bits_per_weight": 8.0}),
    ("budget4", {"bits_per_weight": 4.0}),
    ("kmeans4", {"method": "kmeans", "bits": 4}),
]


def train(max_iter: int) -> tuple[MLPClassifier, np.ndarray, np.ndarray]:
    """Train the MLP on 70 % of the digits; return it and the held-out test set."""
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.3, random_state=0, stratify=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=max_iter, random_state=0).fit(x_train, y_train)
    return clf, x_test, y_test


def save_npz(clf: MLPClassifier, path: Path) -> dict[str, np.ndarray]:
    """Save the weights as ``layerI.weight`` (out, in) and ``layerI.bias``, float32."""
    state = {}
    for i, (w, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        state[f"layer{i}.weight"] = np.ascontiguousarray(w.T, dtype=np.float32)  # sklearn keeps (in, out)
        state[f"layer{i}.bias"] = b.astype(np.float32)
    np.savez(path, **state)
    return state


def accuracy(clf: MLPClassifier, tensors: dict[str, np.ndarray], x_test: np.ndarray, y_test: np.ndarray) -> float:
    """Test accuracy (%) of a copy of ``clf`` holding ``tensors`` as its weights."""
    c = copy.copy(clf)
    n = len(clf.coefs_)
    c.coefs_ = [np.asarray(tensors[f"layer{i}.weight"], np.float64).T for i in range(n)]
    c.intercepts_ = [np.asarray(tensors[f"layer{i}.bias"], np.float64) for i in range(n)]
    return 100.0 * c.score(x_test, y_test)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="40 training epochs instead of 150")
    ap.add_argument("--out", default="quantize_weights-out", help="output folder (created)")
    args = ap.parse_args(argv)

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    clf, x_test, y_test = train(40 if args.quick else 150)
    npz = out / "model.npz"
    state = save_npz(clf, npz)
    n_weights = sum(v.size for v in state.values())
    base = accuracy(clf, state, x_test, y_test)
    print(
        f"digits MLP 64-128-64-10: {n_weights:,} values, trained in {time.perf_counter() - t0:.1f} s, "
        f"float32 test accuracy {base:.2f} %  -> {npz.name}"
    )

    rows = []
    for label, kwargs in SETTINGS:
        t0 = time.perf_counter()
        qm = quantize_model(npz, min_size=1, **kwargs)  # min_size=1: every matrix quantized
        archive = out / f"model-{label}.qsg"
        qm.save(archive, overwrite=True)
        seconds = time.perf_counter() - t0
        tensors = load_model(archive)
        acc = accuracy(clf, tensors, x_test, y_test)
        bpw = 8 * archive.stat().st_size / n_weights
        report = qm.report()
        report.to_csv(out / f"model-{label}-report.csv")
        rows.append((label, kwargs, acc, bpw, seconds))
        print()
        print(
            f"== {label} {kwargs}: accuracy {acc:.2f} % ({acc - base:+.2f}), "
            f"{bpw:.3f} bits/weight written, {archive.stat().st_size:,} bytes, {seconds:.2f} s -> {archive.name}"
        )
        print(report)

    print()
    print(f"{'setting':<9} {'accuracy %':>10} {'change':>7} {'bits/weight':>12}")
    print(f"{'float32':<9} {base:>10.2f} {0:>7.2f} {32:>12.3f}")
    for label, _, acc, bpw, _ in rows:
        print(f"{label:<9} {acc:>10.2f} {acc - base:>+7.2f} {bpw:>12.3f}")
    print(f"outputs (model.npz, .qsg archives, report CSVs) in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
