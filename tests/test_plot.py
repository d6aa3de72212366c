"""quantsig.plot: the drawn data equal the input and the theory, files are real, matplotlib
stays optional and pyplot untouched."""

from __future__ import annotations

import importlib
import importlib.util
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

import quantsig
from quantsig import metrics
from quantsig import theory as th

needs_mpl = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib not installed")

N = 20_000


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    return np.random.default_rng(6).standard_normal(N)


def _row(label: str, param, q, x: np.ndarray) -> dict:
    codec = quantsig.Codec(q)
    blob = codec.compress(x)
    x_hat = codec.decompress(blob)
    return {
        "quantizer": label,
        "param": param,
        "n_samples": x.size,
        "n_bytes": len(blob),
        "rate": 8 * len(blob) / x.size,
        "entropy": metrics.code_entropy(q.encode(x)),
        "mse": metrics.mse(x, x_hat),
        "rmse": metrics.rmse(x, x_hat),
        "snr_db": metrics.snr_db(x, x_hat),
        "psnr_db": metrics.psnr_db(x, x_hat),
        "max_abs_error": metrics.max_abs_error(x, x_hat),
        "fit_s": 0.0,
        "encode_s": 0.0,
        "decode_s": 0.0,
    }


@pytest.fixture(scope="module")
def rows(signal) -> list[dict]:
    """Real measurements of two quantizer families, deliberately shuffled."""
    out = [_row("uniform", s, quantsig.UniformQuantizer(step=s), signal) for s in (1.0, 0.5, 0.25, 0.1, 0.05)]
    out += [_row("lloyd-max", n, quantsig.LloydMaxQuantizer(n).fit(signal), signal) for n in (2, 4, 8, 16)]
    order = np.random.default_rng(1).permutation(len(out))
    return [out[i] for i in order]


def _by_label(rows: list[dict], label: str, x: str, y: str) -> tuple[np.ndarray, np.ndarray]:
    pts = sorted((r[x], r[y]) for r in rows if r["quantizer"] == label)
    return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])


def _line(ax, label: str):
    found = [line for line in ax.lines if line.get_label() == label]
    assert len(found) == 1, [line.get_label() for line in ax.lines]
    return found[0]


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


# ---- the data drawn are the data given ---------------------------------------------------------


@needs_mpl
@pytest.mark.parametrize(
    ("x", "y"), [("rate", "snr_db"), ("rate", "mse"), ("entropy", "rmse"), ("rate", "max_abs_error")]
)
def test_lines_equal_rows_sorted_by_x(rows, x, y):
    from quantsig.plot import plot_rd

    ax = plot_rd(rows, x=x, y=y).axes[0]
    assert len(ax.lines) == 2
    assert _legend(ax) == list(dict.fromkeys(r["quantizer"] for r in rows))  # first-seen order
    for label in ("uniform", "lloyd-max"):
        xs, ys = _by_label(rows, label, x, y)
        line = _line(ax, label)
        np.testing.assert_array_equal(line.get_xdata(), xs)
        np.testing.assert_array_equal(line.get_ydata(), ys)
        assert np.all(np.diff(line.get_xdata()) > 0)
    assert ax.get_yscale() == ("log" if y in ("mse", "rmse", "max_abs_error") else "linear")
    assert (
        ax.get_xlabel() == {"rate": "rate (bits/sample, as written)", "entropy": "entropy (bits/sample, estimate)"}[x]
    )
    assert ax.get_ylabel() == {"snr_db": "SNR (dB)", "mse": "MSE", "rmse": "RMSE", "max_abs_error": "max |error|"}[y]


@needs_mpl
def test_result_object_list_and_dataframe_draw_the_same(rows):
    pd = pytest.importorskip("pandas")
    from quantsig.plot import plot_rd

    class Result:  # what quantsig.rd.RDResult looks like to the plots
        def __init__(self, r):
            self.rows = r

    drawn = []
    for source in (rows, Result(rows), pd.DataFrame(rows), tuple(rows)):
        ax = plot_rd(source, y="mse").axes[0]
        drawn.append([(line.get_label(), line.get_xdata().tolist(), line.get_ydata().tolist()) for line in ax.lines])
    assert all(d == drawn[0] for d in drawn[1:])
    assert len(drawn[0]) == 2


@needs_mpl
def test_non_finite_points_are_left_out_of_their_line():
    from quantsig.plot import plot_rd

    rows = [
        {"quantizer": "q", "rate": r, "snr_db": s} for r, s in ((1.0, 5.0), (8.0, math.inf), (2.0, 11.0), (3.0, None))
    ]
    line = plot_rd(rows).axes[0].lines[0]
    assert line.get_xdata().tolist() == [1.0, 2.0]
    assert line.get_ydata().tolist() == [5.0, 11.0]


# ---- bounds equal the theory --------------------------------------------------------------------


@needs_mpl
@pytest.mark.parametrize("y", ["snr_db", "mse", "rmse"])
def test_gaussian_bound_is_theory_and_measurements_lie_on_the_right_side(rows, signal, y):
    from quantsig.plot import plot_rd

    var = 1.7  # not the data's: the line must use what was given
    ax = plot_rd(rows, y=y, bound="gaussian", variance=var).axes[0]
    line = _line(ax, "R(D) Gaussian bound")
    r = np.asarray(line.get_xdata())
    d = th.gaussian_distortion(r, var)
    expect = {"snr_db": 10 * np.log10(var / d), "mse": d, "rmse": np.sqrt(d)}[y]
    np.testing.assert_allclose(line.get_ydata(), expect, rtol=1e-12)
    rates = [row["rate"] for row in rows]
    assert r.min() == pytest.approx(min(rates)) and r.max() == pytest.approx(max(rates))
    assert line.get_linestyle() == "--" and line.get_color() == "black"
    assert "R(D) Gaussian bound" in _legend(ax)

    # no real quantizer beats R(D) of the source it was measured on
    v = float(np.mean(signal**2))
    ax = plot_rd(rows, y="snr_db", bound="gaussian", variance=v).axes[0]
    for row in rows:
        assert row["snr_db"] < 10 * math.log10(v / th.gaussian_distortion(row["rate"], v))


@needs_mpl
@pytest.mark.parametrize("y", ["snr_db", "mse"])
def test_scipy_distribution_bound_is_the_shannon_lower_bound(rows, y):
    from quantsig.plot import plot_rd

    lap = stats.laplace(scale=0.8)
    ax = plot_rd(rows, y=y, bound=lap, ecsq_gap=True).axes[0]
    line = _line(ax, "Shannon lower bound (laplace)")
    r = np.asarray(line.get_xdata())
    d = th.shannon_lower_bound_distortion(r, lap)
    expect = 10 * np.log10(lap.var() / d) if y == "snr_db" else d
    np.testing.assert_allclose(line.get_ydata(), expect, rtol=1e-12)

    ecsq = _line(ax, f"high-rate ECSQ (+{th.ECSQ_GAP_BITS:.3f} bit)")
    assert ecsq.get_linestyle() == ":"
    re_ = np.asarray(ecsq.get_xdata())
    d = th.ecsq_high_rate_distortion(re_, lap)  # 1.53 dB above the SLB at the same rate
    expect = 10 * np.log10(lap.var() / d) if y == "snr_db" else d
    np.testing.assert_allclose(ecsq.get_ydata(), expect, rtol=1e-10)


@needs_mpl
def test_callable_bound_and_its_variance(rows):
    from quantsig.plot import plot_rd

    def half_per_bit(r):
        return 3.0 * 2.0 ** (-r)

    ax = plot_rd(rows, y="mse", bound=half_per_bit).axes[0]
    line = _line(ax, "R(D) bound (half_per_bit)")
    np.testing.assert_allclose(line.get_ydata(), half_per_bit(np.asarray(line.get_xdata())))

    ax = plot_rd(rows, y="snr_db", bound=lambda r: math.exp(-r), variance=2.0).axes[0]  # scalar-only
    line = _line(ax, "R(D) bound")
    np.testing.assert_allclose(line.get_ydata(), 10 * np.log10(2.0 / np.exp(-np.asarray(line.get_xdata()))))

    with pytest.raises(ValueError, match="variance"):
        plot_rd(rows, y="snr_db", bound=half_per_bit)


@needs_mpl
def test_plot_snr_has_the_6_02_db_per_bit_line(rows):
    from quantsig.plot import plot_snr

    ax = plot_snr(rows).axes[0]
    assert _legend(ax) == [*dict.fromkeys(r["quantizer"] for r in rows), "Gaussian R(D): 6.02 dB/bit"]
    ref = _line(ax, "Gaussian R(D): 6.02 dB/bit")
    r = np.asarray(ref.get_xdata())
    assert r[0] == 0.0 and r[-1] == pytest.approx(max(row["rate"] for row in rows))
    np.testing.assert_allclose(ref.get_ydata(), 20 * math.log10(2) * r, rtol=1e-12)
    _xs, ys = _by_label(rows, "uniform", "rate", "snr_db")
    np.testing.assert_array_equal(_line(ax, "uniform").get_ydata(), ys)
    assert ax.get_ylabel() == "SNR (dB)"


# ---- error histogram ----------------------------------------------------------------------------


@needs_mpl
def test_error_histogram_counts_and_stats(signal):
    from quantsig.plot import plot_error_histogram

    x = signal.reshape(100, -1)
    x_hat = quantsig.UniformQuantizer(step=0.3).quantize(x)
    ax = plot_error_histogram(x, x_hat, bins=37, density=False, title="step 0.3").axes[0]
    values, edges = ax.patches[0].get_data()[:2]
    assert values.sum() == x.size and len(values) == 37
    np.testing.assert_array_equal(values, np.histogram((x_hat - x).ravel(), bins=37)[0])
    assert edges[0] == pytest.approx((x_hat - x).min()) and edges[-1] == pytest.approx((x_hat - x).max())
    assert ax.get_title() == "step 0.3" and ax.get_ylabel() == "count"

    (text,) = _legend(ax)
    found = dict(re.findall(r"(mean|RMSE|max \|error\|) (-?[0-9.e+-]+)", text))
    assert float(found["RMSE"]) == pytest.approx(metrics.rmse(x, x_hat), rel=1e-3)
    assert float(found["max |error|"]) == pytest.approx(metrics.max_abs_error(x, x_hat), rel=1e-3)
    assert float(found["mean"]) == pytest.approx(float(np.mean(x_hat - x)), rel=1e-3, abs=1e-6)
    assert float(found["max |error|"]) <= 0.15 * (1 + 1e-3)  # half a step

    ax = plot_error_histogram(x, x_hat).axes[0]  # density: area one
    values, edges = ax.patches[0].get_data()[:2]
    assert float(np.sum(values * np.diff(edges))) == pytest.approx(1.0)
    assert ax.get_ylabel() == "density"


@needs_mpl
def test_error_histogram_bad_inputs():
    from quantsig.plot import plot_error_histogram

    with pytest.raises(ValueError, match="shape"):
        plot_error_histogram(np.zeros(10), np.zeros(11))
    with pytest.raises(ValueError, match="empty"):
        plot_error_histogram([], [])
    with pytest.raises(ValueError, match="finite"):
        plot_error_histogram([0.0, np.nan], [0.0, 1.0])


# ---- files and axes -----------------------------------------------------------------------------


@needs_mpl
def test_save_png_svg_pdf_and_bad_extension(rows, tmp_path):
    from quantsig.plot import plot_rd, plot_snr, save_figure

    fig = plot_rd(rows, path=tmp_path / "rd.png")
    assert (tmp_path / "rd.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plot_snr(rows, path=str(tmp_path / "snr.SVG"))
    assert b"<svg" in (tmp_path / "snr.SVG").read_bytes()
    assert save_figure(fig, tmp_path / "rd.pdf") == tmp_path / "rd.pdf"
    assert (tmp_path / "rd.pdf").read_bytes()[:5] == b"%PDF-"

    for bad in ("rd.jpg", "rd", "rd.png.txt"):
        with pytest.raises(ValueError, match=r"\.png, \.svg, \.pdf"):
            save_figure(fig, tmp_path / bad)
        assert not (tmp_path / bad).exists()
    with pytest.raises(ValueError, match="supported"):
        plot_rd(rows, path=tmp_path / "rd.eps")
    with pytest.raises(FileNotFoundError):  # no directory is created
        save_figure(fig, tmp_path / "missing" / "rd.png")
    assert not (tmp_path / "missing").exists()


@needs_mpl
def test_ax_draws_into_the_given_axes(rows, signal):
    from matplotlib.figure import Figure

    from quantsig.plot import plot_error_histogram, plot_rd, plot_snr

    fig = Figure()
    ax1, ax2, ax3 = fig.subplots(1, 3)
    assert plot_rd(rows, ax=ax1, title="RD") is fig
    assert plot_snr(rows, ax=ax2) is fig
    assert plot_error_histogram(signal, signal + 0.01, ax=ax3) is fig
    assert len(fig.axes) == 3
    assert len(ax1.lines) == 2 and ax1.get_title() == "RD"
    assert len(ax2.lines) == 3 and len(ax3.patches) == 1

    sub = Figure().subfigures(1, 2)[1]  # axes inside a subfigure: the root figure comes back
    ax = sub.add_subplot()
    assert plot_snr(rows, ax=ax) is sub.figure


# ---- bad input ----------------------------------------------------------------------------------


@needs_mpl
def test_bad_results_name_the_problem(rows):
    from quantsig.plot import plot_rd, plot_snr

    for empty in ([], ()):
        with pytest.raises(ValueError, match="empty"):
            plot_rd(empty)
    with pytest.raises(ValueError, match="empty"):
        plot_snr(type("R", (), {"rows": []})())
    broken = [dict(r) for r in rows]
    del broken[3]["snr_db"]
    with pytest.raises(ValueError, match="'snr_db'"):
        plot_rd(broken)
    with pytest.raises(ValueError, match="'quantizer'"):
        plot_rd([{"rate": 1.0, "snr_db": 3.0}])
    with pytest.raises(ValueError, match=r"'rate'.*numeric"):
        plot_rd([{"quantizer": "q", "rate": "fast", "snr_db": 3.0}])
    with pytest.raises(ValueError, match=r"y='bitrate'.*valid: rate, entropy, snr_db"):
        plot_rd(rows, y="bitrate")
    with pytest.raises(ValueError, match=r"x='size'.*valid:.*n_bytes"):
        plot_rd(rows, x="size")
    with pytest.raises(TypeError, match="list of dicts"):
        plot_rd(rows[0])
    with pytest.raises(TypeError, match="row 0"):
        plot_rd([1.0, 2.0])


@needs_mpl
def test_bad_bounds(rows):
    from quantsig.plot import plot_rd

    with pytest.raises(ValueError, match="variance"):
        plot_rd(rows, bound="gaussian")
    with pytest.raises(ValueError, match="variance"):
        plot_rd(rows, bound="gaussian", variance=-1.0)
    with pytest.raises(ValueError, match="laplace"):
        plot_rd(rows, bound="laplace")
    with pytest.raises(TypeError, match="bound"):
        plot_rd(rows, bound=3.0)
    with pytest.raises(ValueError, match="bits/sample"):
        plot_rd(rows, x="mse", y="snr_db", bound="gaussian", variance=1.0)
    with pytest.raises(ValueError, match="psnr_db"):
        plot_rd(rows, y="psnr_db", bound="gaussian", variance=1.0)
    with pytest.raises(ValueError, match="ecsq_gap"):
        plot_rd(rows, ecsq_gap=True)
    with pytest.raises(ValueError, match="variance"):
        plot_rd(rows, variance=1.0)
    with pytest.raises(ValueError, match="finite and > 0"):
        plot_rd(rows, y="mse", bound=lambda r: 0.0 * r)


# ---- matplotlib stays optional and pyplot untouched ---------------------------------------------


def test_missing_matplotlib_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")] + [
        "matplotlib",
        "matplotlib.figure",
    ]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "quantsig.plot", raising=False)
    monkeypatch.setattr(quantsig, "plot", getattr(quantsig, "plot", None), raising=False)
    plot = importlib.import_module("quantsig.plot")  # the module itself imports fine
    rows = [{"quantizer": "q", "rate": 1.0, "snr_db": 4.0}]
    for call in (
        lambda: plot.plot_rd(rows),
        lambda: plot.plot_snr(rows),
        lambda: plot.plot_error_histogram([0.0, 1.0], [0.0, 1.1]),
    ):
        with pytest.raises(ImportError, match=re.escape('pip install "quantsig[plot]"')):
            call()


@needs_mpl
def test_no_pyplot_and_no_eager_matplotlib_import(tmp_path):
    code = (
        "import sys\n"
        "import quantsig.plot as p\n"
        "assert 'matplotlib' not in sys.modules, 'imported eagerly'\n"
        "rows = [{'quantizer': 'q', 'rate': r, 'snr_db': 6 * r} for r in (1.0, 2.0)]\n"
        f"p.plot_rd(rows, bound='gaussian', variance=1.0, path={str(tmp_path / 'a.png')!r})\n"
        f"p.plot_error_histogram([0.0, 1.0], [0.1, 0.9], path={str(tmp_path / 'b.svg')!r})\n"
        "assert 'matplotlib' in sys.modules\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.png").stat().st_size > 0 and (tmp_path / "b.svg").stat().st_size > 0
