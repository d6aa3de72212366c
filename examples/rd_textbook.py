"""Textbook rate-distortion results, reproduced with quantsig alone.

Five classical results of quantization theory, each measured on synthetic data and printed as
a Markdown table beside what the theory says, with PNG figures:

a. Max (1960): the MSE of the optimal L-level quantizer of a unit Gaussian, and its
   Panter-Dite asymptote.
b. The 6.02 dB per bit rule of the uniform quantizer.
c. The 1.53 dB (0.2546 bit) gap of entropy-coded uniform quantization to Shannon's R(D), and
   the entropy-constrained scalar quantizer (ECSQ) that beats it at low rate.
d. The space-filling gain of vector quantization (hexagon in 2-D, D4 in 4-D), and on Gaussian
   data the shape gain besides.
e. The five presets of quantsig.rd compared on Gaussian data.

Every rate in sections c and e is the size of a complete .qsg file written in memory
(header, tables and all), not an entropy estimate.

Usage::

    python examples/rd_textbook.py                    # 1,000,000 samples, figures in ./rd-figures
    python examples/rd_textbook.py --quick            # 100,000 samples, fewer points (seconds)
    python examples/rd_textbook.py --out docs/figures --n 1000000 --seed 0

Needs matplotlib for the figures (pip install "quantsig[plot]"). No network, no downloads.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
from scipy import stats

import quantsig
from quantsig import metrics, rd, theory
from quantsig.plot import plot_error_histogram, plot_rd, plot_snr

#: Max (1960), "Quantizing for minimum distortion", Table I: MSE of the optimal L-level
#: quantizer of a unit-variance Gaussian.
MAX_1960 = {2: 0.3634, 4: 0.1175, 8: 0.03454, 16: 0.009497, 32: 0.002499}

#: Normalized second moments G of the best known lattice cells (Conway & Sloane, SPLAG ch. 2 and 21).
G_CUBE = 1.0 / 12.0  # any dimension: the scalar quantizer
G_HEXAGON = 5.0 / (36.0 * math.sqrt(3.0))  # A2, dim 2: 0.080188
G_D4 = 13.0 / (120.0 * math.sqrt(2.0))  # D4, dim 4: 0.076603
G_BEST = {1: G_CUBE, 2: G_HEXAGON, 4: G_D4}


# ------------------------------------------------------------------------------ helpers


def md_table(header: list[str], rows: list[list[object]]) -> str:
    """A GitHub Markdown table; the first column left-aligned, the others right-aligned."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(":---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def db(ratio: float) -> float:
    return 10.0 * math.log10(ratio)


def section(title: str) -> None:
    print(f"\n## {title}\n")


def fixed_rate_row(label: str, bits: float, x: np.ndarray, x_hat: np.ndarray) -> dict:
    """A result row (for quantsig.plot) of a fixed-rate quantizer: rate = its bits per sample."""
    return {"quantizer": label, "rate": bits, "mse": metrics.mse(x, x_hat), "snr_db": metrics.snr_db(x, x_hat)}


# ------------------------------------------------------------------------------ a. Lloyd-Max


def lloyd_max_table(x: np.ndarray, out: Path) -> None:
    section("a. Lloyd-Max quantizer of a unit Gaussian (Max, 1960)")
    norm = stats.norm()
    rows, plot_rows = [], []
    for levels, published in MAX_1960.items():
        exact = quantsig.LloydMaxQuantizer(levels).fit_distribution(norm).distortion_
        fitted = quantsig.LloydMaxQuantizer(levels).fit(x)
        on_data = metrics.mse(x, fitted.quantize(x))
        pd = theory.panter_dite_distortion(norm, levels)
        rows.append(
            [
                levels,
                int(math.log2(levels)),
                f"{published:.4g}",
                f"{exact:.5g}",
                f"{100 * (exact / published - 1):+.2f} %",
                f"{on_data:.5g}",
                f"{pd:.5g}",
                f"{db(pd / exact):+.2f}",
            ]
        )
        bits = math.log2(levels)
        plot_rows += [
            {"quantizer": "Lloyd-Max, N(0,1)", "rate": bits, "mse": exact},
            {"quantizer": f"Lloyd-Max fitted on {x.size:,} samples", "rate": bits, "mse": on_data},
            {"quantizer": "Panter-Dite asymptote", "rate": bits, "mse": pd},
        ]
    print(
        md_table(
            [
                "levels L",
                "bits",
                "Max (1960)",
                "fit_distribution(norm)",
                "vs Max",
                f"fit(x), n = {x.size:,}",
                "Panter-Dite",
                "PD above LM (dB)",
            ],
            rows,
        )
    )
    print(
        "\nThe MSE of fit(x) is measured on the same samples it was fitted on. Max's 32-level "
        "entry is 0.23 % below the exact fixed point (0.0025047, also found by a plain Lloyd "
        "iteration on the closed-form Gaussian centroids): his table's precision."
    )
    plot_rd(
        plot_rows,
        y="mse",
        bound="gaussian",
        variance=1.0,
        path=out / "lloyd_max.png",
        title="Lloyd-Max on N(0,1): MSE at log2(L) bits/sample (fixed rate)",
    )


# ------------------------------------------------------------------------------ b. 6.02 dB per bit


def six_db_per_bit(x: np.ndarray, u: np.ndarray, out: Path) -> None:
    section("b. 6.02 dB per bit: the uniform quantizer at fixed rate")
    bits = list(range(1, 13))
    cases = {
        "uniform data in [-1, 1)": (u, lambda b: quantsig.UniformQuantizer(bits=b, lo=-1.0, hi=1.0, mode="midrise")),
        "Gaussian, range = data min..max": (x, lambda b: quantsig.UniformQuantizer(bits=b, mode="midrise").fit(x)),
        "Gaussian, +-4 sigma (clipped)": (
            x,
            lambda b: quantsig.UniformQuantizer(bits=b, lo=-4.0, hi=4.0, mode="midrise", clip=True),
        ),
    }
    snr: dict[str, list[float]] = {}
    plot_rows: list[dict] = []
    for label, (data, make) in cases.items():
        snr[label] = []
        for b in bits:
            row = fixed_rate_row(label, b, data, make(b).quantize(data))
            snr[label].append(row["snr_db"])
            plot_rows.append(row)
    rows = [[b, f"{6.0206 * b:.2f}"] + [f"{snr[k][i]:.2f}" for k in cases] for i, b in enumerate(bits)]
    print(md_table(["bits b", "6.02 b"] + list(cases), rows))
    print()
    for label in cases:
        s = np.array(snr[label])
        slope_all = np.polyfit(bits, s, 1)[0]
        slope_hi = np.polyfit(bits[3:], s[3:], 1)[0]
        print(
            f"- {label}: least-squares slope {slope_all:.3f} dB/bit over b = 1..12, "
            f"{slope_hi:.3f} dB/bit over b = 4..12; SNR - 6.02 b at b = 8: {s[7] - 6.0206 * 8:+.2f} dB"
        )
    print(
        "\nOn uniform data the cells tile the range and SNR = 6.02 b dB exactly. On Gaussian data the "
        "slope is the same while nothing overloads (offset 10 log10(12 sigma^2 / range^2)); a fixed "
        "+-4 sigma range stops gaining once the clipped tails dominate the error (b >= 9)."
    )
    plot_snr(plot_rows, path=out / "six_db_per_bit.png", title="Uniform quantizer, fixed rate: 6.02 dB per bit")


# ------------------------------------------------------------------------------ c. 1.53 dB ECSQ gap


def ecsq_gap(x: np.ndarray, rates: list[float], out: Path) -> None:
    section("c. The 1.53 dB gap: entropy-coded uniform quantization and ECSQ against R(D)")
    var = float(np.var(x))  # R(D) of a Gaussian with the data's variance
    res = rd.compare(x, {"uniform + rANS": "uniform", "ECSQ": "ecsq"}, values=rates)
    gap_bits = rd.gap_to_gaussian_bound(res, variance=var)
    gap_bits_h = rd.gap_to_gaussian_bound(res, variance=var, rate="entropy")
    # distance in distortion at the written rate: 10 log10(D / D(R)), D(R) = var 2**(-2R)
    gap_db = np.array([db(m / theory.gaussian_distortion(r, var)) for m, r in zip(res["mse"], res["rate"])])
    by = {lab: np.flatnonzero(res["quantizer"] == lab) for lab in res.labels()}
    rows = []
    for i, target in enumerate(rates):
        cells: list[object] = [f"{target:g}"]
        for lab in ("uniform + rANS", "ECSQ"):
            j = by[lab][i]
            cells += [f"{res['rate'][j]:.3f}", f"{res['snr_db'][j]:.2f}", f"{gap_bits[j]:.3f}", f"{gap_db[j]:.2f}"]
        rows.append(cells)
    print(
        md_table(
            [
                "target bits",
                "uniform: rate",
                "SNR dB",
                "gap bits",
                "gap dB",
                "ECSQ: rate",
                "SNR dB",
                "gap bits",
                "gap dB",
            ],
            rows,
        )
    )
    u, e = by["uniform + rANS"][-1], by["ECSQ"][-1]
    print(
        f"\nTheory (high rate): {theory.ECSQ_GAP_BITS:.4f} bit = {theory.ECSQ_GAP_DB:.3f} dB. "
        f"Rate is the bytes written; R(D) = 1/2 log2(var/D) with var = {var:.5f}, the data's variance."
    )
    print(
        f"At {rates[-1]:g} bits, counting the entropy of the codes instead of the bytes written, the gaps are "
        f"{gap_bits_h[u]:.4f} bit (uniform) and {gap_bits_h[e]:.4f} bit (ECSQ); the bytes add "
        f"{res['rate'][u] - res['entropy'][u]:.4f} and {res['rate'][e] - res['entropy'][e]:.4f} bit/sample "
        "(ECSQ stores its thresholds and levels in the file, the uniform quantizer only its step)."
    )
    low = [i for i, r in enumerate(rates) if r <= 1.0]
    better = [
        f"{rates[i]:g} bit: {res['snr_db'][by['ECSQ'][i]] - res['snr_db'][by['uniform + rANS'][i]]:+.2f} dB"
        for i in low
    ]
    print("ECSQ minus uniform SNR at low rate: " + ", ".join(better) + ".")
    plot_rd(
        res,
        bound="gaussian",
        variance=var,
        ecsq_gap=True,
        path=out / "ecsq_gap.png",
        title=f"Unit Gaussian, n = {x.size:,}: uniform + rANS and ECSQ",
    )


# ------------------------------------------------------------------------------ d. VQ gains


def split_vectors(x: np.ndarray, dim: int, sizes: list[int]) -> tuple[list[np.ndarray], np.ndarray]:
    """Vectors of ``dim`` consecutive samples in a random order (seed 0, as quantsig.rd's kmeans
    preset draws its training vectors): nested training sets of each of ``sizes`` (capped at
    half the vectors) and the vectors none of them holds, for testing."""
    v = x.reshape(-1, dim)
    order = np.random.default_rng(0).permutation(v.shape[0])
    sizes = [min(m, v.shape[0] // 2) for m in sizes]
    return [v[np.sort(order[:m])] for m in sizes], v[np.sort(order[max(sizes) :])]


def lloyd_refine(codebook: np.ndarray, train: np.ndarray, iters: int) -> quantsig.Quantizer:
    """Plain Lloyd iterations from a given codebook (quantsig's exact nearest-codeword encode,
    centroids with NumPy); returns the quantizer."""
    k, dim = codebook.shape
    cb = np.array(codebook, dtype=np.float64)
    for _ in range(iters):
        q = quantsig.get_quantizer({"id": "kmeans-vq", "levels": k, "dim": dim, "codebook_": cb.tolist()})
        codes = q.encode(train.reshape(1, -1)).ravel()
        count = np.bincount(codes, minlength=k)
        sums = np.stack([np.bincount(codes, weights=train[:, j], minlength=k) for j in range(dim)], axis=1)
        cb[count > 0] = sums[count > 0] / count[count > 0, None]
    return quantsig.get_quantizer({"id": "kmeans-vq", "levels": k, "dim": dim, "codebook_": cb.tolist()})


def zador_gaussian(dim: int) -> float:
    """High-rate MSE constant of the best dim-dimensional quantizer of iid N(0,1):
    D = G * 2 pi ((dim+2)/dim)**((dim+2)/2) * 2**(-2R) (Zador; dim 1 is Panter-Dite)."""
    return G_BEST[dim] * 2.0 * math.pi * ((dim + 2) / dim) ** ((dim + 2) / 2)


def vq_gains(x: np.ndarray, u: np.ndarray, per_codeword: list[int], hex_iters: int) -> None:
    section("d. Vector quantization: space-filling gain (uniform data) and shape gain (Gaussian data)")
    rows = []
    for data_name, data in (("uniform", u), ("Gaussian", x)):
        for dim, bits in ((2, 4), (4, 2)):
            k = 2 ** (dim * bits)
            trains, test = split_vectors(data, dim, [m * k for m in per_codeword])
            space = db(G_CUBE / G_BEST[dim])
            scalar: quantsig.Quantizer
            if data_name == "uniform":
                scalar = quantsig.UniformQuantizer(bits=bits, lo=-1.0, hi=1.0, mode="midrise")
                theory_gain = f"{space:.2f} (space filling)"
            else:
                scalar = quantsig.LloydMaxQuantizer(2**bits).fit(trains[0])
                total = db(zador_gaussian(1) / zador_gaussian(dim))
                theory_gain = f"{total:.2f} ({space:.2f} space filling + {total - space:.2f} shape)"
            found: list[tuple[str, quantsig.Quantizer, np.ndarray]] = []
            for train in trains:  # k-means++ then Lloyd (scikit-learn, full algorithm)
                vq = quantsig.KMeansVectorQuantizer(k, dim=dim, random_state=0, algorithm="full").fit(train)
                found.append((f"k-means, {train.shape[0]:,} training vectors", vq, train))
            if data_name == "uniform" and dim == 2:
                # the same Lloyd iteration started from a staggered (hexagon-like) 16 x 16 grid
                side = math.isqrt(k)
                r, c = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
                start = np.stack([-1 + (c + 0.25 + 0.5 * (r % 2)) * 2 / side, -1 + (r + 0.5) * 2 / side], -1)
                q = lloyd_refine(start.reshape(-1, 2), trains[0], hex_iters)
                found.append(
                    (
                        f"Lloyd from a staggered grid ({hex_iters} it.), {trains[0].shape[0]:,} training vectors",
                        q,
                        trains[0],
                    )
                )
            d_sq = metrics.mse(test, scalar.quantize(test))
            for how, q, train in found:
                d_test = metrics.mse(test, q.quantize(test))
                in_sample = db(metrics.mse(train, scalar.quantize(train)) / metrics.mse(train, q.quantize(train)))
                rows.append(
                    [
                        data_name,
                        dim,
                        k,
                        bits,
                        how,
                        f"{d_sq:.5g}",
                        f"{d_test:.5g}",
                        f"{db(d_sq / d_test):+.3f}",
                        f"{in_sample:+.3f}",
                        theory_gain,
                    ]
                )
    print(
        md_table(
            [
                "data",
                "dim",
                "codewords",
                "bits/sample",
                "VQ",
                "scalar MSE",
                "VQ MSE",
                "gain dB (held out)",
                "gain dB (on its training vectors)",
                "high-rate theory dB",
            ],
            rows,
        )
    )
    print(
        "\nScalar quantizer at the same fixed rate: the uniform quantizer whose cells tile [-1, 1) "
        "for uniform data (optimal there), Lloyd-Max for Gaussian data. VQ: KMeansVectorQuantizer "
        "(k-means++ and Lloyd, random_state=0) trained on a random subset of the vectors, "
        f"{' or '.join(str(m) for m in per_codeword)} per codeword (at most half of them); every "
        "MSE is measured on the vectors no training set holds. Theory: G = 1/12 (cube), 0.080188 "
        "(hexagon), 0.076603 (D4), and Zador's high-rate constant for the Gaussian shape."
    )
    print(
        "\nThe measured gains are smaller than the asymptotic ones: 256 codewords are far from high "
        "resolution (in 4-D they are 4 per axis, so almost every cell touches the boundary of the "
        "cube, where a lattice cell does not fit); k-means from a random start settles in a "
        "disordered local optimum rather than a lattice (the same Lloyd iteration started from a "
        "staggered, hexagon-like grid does better); its training set is small enough to "
        "overfit by more than the space-filling gain (compare the two gain columns); and at 16 "
        "levels Lloyd-Max is already better than its Panter-Dite asymptote, which shrinks the "
        "Gaussian gain."
    )


# ------------------------------------------------------------------------------ e. presets


def presets(x: np.ndarray, bits: list[int], out: Path) -> None:
    section("e. The presets of quantsig.rd on a unit Gaussian")
    names = rd.available_presets()
    var = float(np.var(x))
    res = rd.compare(x, names, values=bits)
    gap = rd.gap_to_gaussian_bound(res, variance=var)
    by = {lab: np.flatnonzero(res["quantizer"] == lab) for lab in res.labels()}
    rows = []
    for i, b in enumerate(bits):
        cells: list[object] = [b, f"{20 * math.log10(2) * b:.2f}"]
        for lab in names:
            j = by[lab][i]
            cells.append(f"{res['snr_db'][j]:.2f} @ {res['rate'][j]:.3f} ({gap[j]:+.3f})")
        rows.append(cells)
    print(md_table(["bits", "R(D) SNR"] + names, rows))
    print(
        "\nEach cell: SNR in dB @ bits/sample written (gap to the Gaussian R(D) in bits, "
        "rate - 1/2 log2(var/MSE)). The full table (entropy, max error, timings) is in rd.csv."
    )
    res.to_csv(out / "rd.csv")
    plot_rd(
        res,
        bound="gaussian",
        variance=var,
        ecsq_gap=True,
        path=out / "rd.png",
        title=f"Presets on a unit Gaussian, n = {x.size:,}",
    )
    plot_snr(res, path=out / "snr.png", title="SNR against the rate written")
    # one point in detail: the uniform quantizer at 4 bits; its error is uniform, variance step**2/12
    q = rd.quantizer_for("uniform", 4, x)  # a UniformQuantizer(step=...)
    assert isinstance(q, quantsig.UniformQuantizer)
    step = q.get_config()["step"]
    codec = quantsig.Codec(q)
    x_hat = codec.decompress(codec.compress(x))  # through a file, as the sweep did
    plot_error_histogram(x, x_hat, path=out / "error_histogram.png", title=f"uniform preset at 4 bits: step {step:.4g}")
    print(
        f"\nUniform preset at 4 bits: step {step:.5g}, MSE {metrics.mse(x, x_hat):.5g} "
        f"against step**2/12 = {step**2 / 12:.5g}."
    )


# ------------------------------------------------------------------------------ main


FIGURES = ("lloyd_max.png", "six_db_per_bit.png", "ecsq_gap.png", "rd.png", "snr.png", "error_histogram.png")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", default="rd-figures", metavar="DIR", help="where the figures go (default ./rd-figures)")
    p.add_argument("--n", type=int, default=None, metavar="N", help="samples per source (default 1000000)")
    p.add_argument("--quick", action="store_true", help="100000 samples and fewer points (seconds)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic data (default 0)")
    args = p.parse_args(argv)
    n = args.n if args.n is not None else (100_000 if args.quick else 1_000_000)
    if n < 20_000:
        p.error(f"--n {n}: use at least 20000 samples (k-means needs 39 training vectors per codeword)")
    n -= n % 4  # whole 4-D vectors for section d
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal(n)  # unit Gaussian
    u = rng.uniform(-1.0, 1.0, n)  # uniform in [-1, 1)
    print(f"# Textbook rate-distortion results with quantsig {quantsig.__version__}\n")
    print(f"n = {n:,} samples per source, seed {args.seed}{', --quick' if args.quick else ''}.")

    ecsq_rates = [0.25, 0.5, 1, 2, 4, 6] if args.quick else [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 6, 8]
    preset_bits = [1, 2, 3, 4] if args.quick else list(range(1, 9))
    steps = [
        ("a", lambda: lloyd_max_table(x, out)),
        ("b", lambda: six_db_per_bit(x, u, out)),
        ("c", lambda: ecsq_gap(x, ecsq_rates, out)),
        (
            "d",
            lambda: vq_gains(
                x, u, per_codeword=[256] if args.quick else [256, 1024], hex_iters=30 if args.quick else 100
            ),
        ),
        ("e", lambda: presets(x, preset_bits, out)),
    ]
    timings = []
    for name, run in steps:
        t0 = time.perf_counter()
        run()
        timings.append(f"{name} {time.perf_counter() - t0:.1f} s")
    print(f"\nSection times: {', '.join(timings)}.")
    print(f"Figures ({', '.join(FIGURES)}) and rd.csv written to {out.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
