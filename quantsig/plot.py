"""Matplotlib plots of rate-distortion results and quantization errors.

Needs the optional extra ``pip install "quantsig[plot]"``. Importing this module does not
import matplotlib; each function imports it when called and raises an ``ImportError`` naming
the extra when it is missing.

Figures are built with the object-oriented API (``matplotlib.figure.Figure``), never
through ``matplotlib.pyplot``: no global figure state, no backend change, so the functions
work headless, in threads and inside a user's own layout (pass ``ax=`` to draw into existing
axes).

* ``plot_rd``: any measured column against another (default SNR against the rate actually
  written), one line per quantizer, with an optional theoretical bound (Gaussian ``R(D)``,
  Shannon lower bound of a ``scipy.stats`` law, or any ``rate -> distortion`` function) and the
  high-rate entropy-coded scalar quantizer curve ``quantsig.theory.ECSQ_GAP_BITS`` above it.
* ``plot_snr``: SNR against rate with the 6.02 dB per bit line of the Gaussian ``R(D)``.
* ``plot_error_histogram``: the distribution of ``x_hat - x`` with its mean, RMSE and
  largest absolute error.
* ``save_figure``: PNG, SVG or PDF, chosen by the file extension.

A *result* is a rate-distortion table in any of three forms: an object with a ``.rows``
attribute (``quantsig.rd.RDResult``), a list of dicts, or a pandas ``DataFrame``; each row
has a ``quantizer`` label and the measured columns (``rate``, ``entropy``, ``mse``, ``rmse``,
``snr_db``, ``psnr_db``, ``max_abs_error``, ``n_bytes``, ``fit_s``, ``encode_s``,
``decode_s``).

Examples
--------
>>> import numpy as np, quantsig
>>> from quantsig import metrics
>>> from quantsig.plot import plot_rd
>>> x = np.random.default_rng(0).standard_normal(5_000)
>>> rows = []
>>> for step in (0.5, 0.25, 0.125):
...     codec = quantsig.Codec(quantsig.UniformQuantizer(step=step))
...     blob = codec.compress(x)
...     x_hat = codec.decompress(blob)
...     rows.append({"quantizer": "uniform", "rate": 8 * len(blob) / x.size,
...                  "snr_db": metrics.snr_db(x, x_hat), "mse": metrics.mse(x, x_hat)})
>>> fig = plot_rd(rows, bound="gaussian", variance=1.0)
>>> [line.get_label() for line in fig.axes[0].lines]
['uniform', 'R(D) Gaussian bound']
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import metrics, theory

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_rd", "plot_snr", "plot_error_histogram", "save_figure", "SAVE_FORMATS"]

#: File extensions ``save_figure`` writes, and the matplotlib format of each.
SAVE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}

# Columns that can go on an axis: axis label (with units) and whether the axis is logarithmic
# (error magnitudes span decades as the rate grows).
_AXES: dict[str, tuple[str, bool]] = {
    "rate": ("rate (bits/sample, as written)", False),
    "entropy": ("entropy (bits/sample, estimate)", False),
    "snr_db": ("SNR (dB)", False),
    "psnr_db": ("PSNR (dB)", False),
    "mse": ("MSE", True),
    "rmse": ("RMSE", True),
    "max_abs_error": ("max |error|", True),
    "n_bytes": ("size (bytes)", False),
    "fit_s": ("fit time (s)", False),
    "encode_s": ("encode time (s)", False),
    "decode_s": ("decode time (s)", False),
}
_RATE_AXES = ("rate", "entropy")  # bits per sample: where a rate-distortion bound applies
_BOUND_AXES = ("snr_db", "mse", "rmse")  # what a distortion converts to without other knowledge

_MISSING_MPL = 'quantsig.plot needs matplotlib: pip install "quantsig[plot]"'


def _figure_class() -> type[Figure]:
    """Import matplotlib lazily; the one place that knows it is optional."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(_MISSING_MPL) from e
    return Figure


def _axes(ax: Axes | None) -> tuple[Figure, Axes]:
    """The figure to return and the axes to draw into: ``ax``'s, or a new figure's."""
    figure_class = _figure_class()
    if ax is None:
        fig = figure_class(figsize=(6.4, 4.8), layout="constrained")
        return fig, fig.add_subplot()
    parent: Any = ax.figure
    if not isinstance(parent, figure_class):  # axes in a SubFigure: its .figure is the root
        parent = parent.figure
    return parent, ax


def _finish(fig: Figure, ax: Axes, title: str | None, path: str | os.PathLike[str] | None) -> Figure:
    if title is not None:
        ax.set_title(title)
    if path is not None:
        save_figure(fig, path)
    return fig


def _rows(result: Any) -> list[Mapping[str, Any]]:
    """The rows of a result: ``.rows``, a pandas DataFrame, or an iterable of mappings."""
    if hasattr(result, "rows"):
        rows = result.rows
    elif hasattr(result, "columns") and hasattr(result, "to_dict"):  # pandas.DataFrame
        rows = result.to_dict(orient="records")
    else:
        rows = result
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise TypeError(
            f"result must be an object with .rows, a list of dicts or a pandas DataFrame, got {type(result).__name__}"
        )
    rows = list(rows)
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"result row {i} must be a dict, got {type(row).__name__}")
    if not rows:
        raise ValueError("result is empty: no rows to plot")
    return rows


def _check_axis(name: str, value: str) -> None:
    if value not in _AXES:
        raise ValueError(f"{name}={value!r} is not a plottable column; valid: {', '.join(_AXES)}")


def _column(rows: list[Mapping[str, Any]], name: str) -> np.ndarray:
    """Column ``name`` as float64 (``None`` becomes NaN); ValueError naming a missing column."""
    values = []
    for i, row in enumerate(rows):
        if name not in row:
            raise ValueError(f"result row {i} has no column {name!r} (columns: {', '.join(map(str, row))})")
        v = row[name]
        try:
            values.append(math.nan if v is None else float(v))
        except (TypeError, ValueError):
            raise ValueError(f"column {name!r} must be numeric, row {i} has {v!r}") from None
    return np.asarray(values, dtype=np.float64)


def _labels(rows: list[Mapping[str, Any]]) -> list[str]:
    for i, row in enumerate(rows):
        if "quantizer" not in row:
            raise ValueError(f"result row {i} has no column 'quantizer' (the label of each line)")
    return [str(row["quantizer"]) for row in rows]


def _draw_series(ax: Axes, rows: list[Mapping[str, Any]], x: str, y: str) -> np.ndarray:
    """One line with markers per quantizer label, points sorted by ``x``; returns the x values
    that were drawn (finite ones)."""
    labels = _labels(rows)
    xs = _column(rows, x)
    ys = _column(rows, y)
    x_label, x_log = _AXES[x]
    y_label, y_log = _AXES[y]
    keep = np.isfinite(xs) & np.isfinite(ys)
    if x_log:
        keep &= xs > 0
    if y_log:
        keep &= ys > 0
    labels_arr = np.asarray(labels, dtype=object)
    for label in dict.fromkeys(labels):  # first-seen order
        sel = keep & (labels_arr == label)
        order = np.argsort(xs[sel], kind="stable")
        ax.plot(xs[sel][order], ys[sel][order], marker="o", label=label)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    if x_log:
        ax.set_xscale("log")
    if y_log:
        ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    return xs[keep]


def _bound_function(bound: Any, variance: float | None) -> tuple[Callable[[np.ndarray], np.ndarray], float | None, str]:
    """``(rate -> distortion, variance for SNR or None, label)`` for a ``bound=`` argument."""
    if variance is not None:
        variance = float(variance)
        if not (math.isfinite(variance) and variance > 0):
            raise ValueError(f"variance must be finite and > 0, got {variance!r}")
    if isinstance(bound, str):
        if bound != "gaussian":
            raise ValueError(
                f"bound={bound!r} is not known; give 'gaussian', a frozen scipy.stats distribution or a callable"
            )
        if variance is None:
            raise ValueError("bound='gaussian' needs variance= (the source variance, data units squared)")
        v = variance

        def gaussian(r: np.ndarray) -> np.ndarray:
            return np.asarray(theory.gaussian_distortion(r, v), dtype=np.float64)

        return gaussian, variance, "R(D) Gaussian bound"
    if hasattr(bound, "entropy") and hasattr(bound, "var") and hasattr(bound, "dist"):  # frozen scipy.stats
        if variance is None:
            dist_var = float(bound.var())
            variance = dist_var if math.isfinite(dist_var) and dist_var > 0 else None
        name = getattr(bound.dist, "name", "source")

        def slb(r: np.ndarray) -> np.ndarray:
            return np.asarray(theory.shannon_lower_bound_distortion(r, bound), dtype=np.float64)

        return slb, variance, f"Shannon lower bound ({name})"
    if callable(bound):
        fn_name = getattr(bound, "__name__", "")
        label = "R(D) bound" if not fn_name or fn_name.startswith("<") else f"R(D) bound ({fn_name})"

        def custom(r: np.ndarray) -> np.ndarray:  # one rate at a time: scalar functions work
            return np.array([float(bound(float(v))) for v in r], dtype=np.float64)

        return custom, variance, label
    raise TypeError(f"bound must be 'gaussian', a frozen scipy.stats distribution or a callable, got {bound!r}")


def _draw_bound(
    ax: Axes,
    fn: Callable[[np.ndarray], np.ndarray],
    variance: float | None,
    y: str,
    rates: np.ndarray,
    label: str,
    style: str,
) -> None:
    d = fn(rates)
    if not np.all(np.isfinite(d) & (d > 0)):
        raise ValueError(
            f"the bound {label!r} gave distortions that are not finite and > 0 at rates {rates[~(np.isfinite(d) & (d > 0))][:3]}"
        )
    if y == "mse":
        values = d
    elif y == "rmse":
        values = np.sqrt(d)
    else:  # snr_db
        if variance is None:
            raise ValueError(f"y='snr_db' needs variance= to convert the bound's distortion to SNR ({label})")
        values = 10.0 * np.log10(variance / d)
    ax.plot(rates, values, style, color="black", linewidth=1.2, label=label)


def plot_rd(
    result: Any,
    *,
    x: str = "rate",
    y: str = "snr_db",
    bound: Any = None,
    variance: float | None = None,
    ecsq_gap: bool = False,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Plot a rate-distortion result: ``y`` against ``x``, one line per quantizer.

    Parameters
    ----------
    result : RDResult, list of dict or pandas.DataFrame
        Rows with a ``quantizer`` label and the ``x`` and ``y`` columns.
    x, y : str
        Columns for the axes: ``rate`` (bits/sample actually written), ``entropy``
        (bits/sample, estimate), ``snr_db``, ``psnr_db``, ``mse``, ``rmse``,
        ``max_abs_error``, ``n_bytes``, ``fit_s``, ``encode_s``, ``decode_s``. ``mse``,
        ``rmse`` and ``max_abs_error`` get a logarithmic axis. Each quantizer's points are
        joined in increasing ``x``; points with a non-finite value (a lossless row's infinite
        SNR, a missing entropy) or a non-positive value on a log axis are left out.
    bound : {None, "gaussian"}, frozen scipy.stats distribution or callable
        A theoretical limit drawn as a dashed black line over the plotted rate range:
        ``"gaussian"``, the Gaussian ``D(R) = variance * 2**(-2R)``
        (``quantsig.theory.gaussian_distortion``); a distribution, its Shannon lower bound
        (``quantsig.theory.shannon_lower_bound_distortion``); or a function called with one
        rate (bits/sample, a float) that returns the distortion (MSE). Needs ``x`` in bits per sample
        (``rate`` or ``entropy``) and ``y`` one of ``snr_db``, ``mse``, ``rmse``.
    variance : float, optional
        The source variance: required with ``bound="gaussian"``, and with a callable bound when
        ``y="snr_db"``; a distribution's own variance is the default. The bound in SNR units is
        ``10 log10(variance / D)`` (the data's SNR uses its mean power, which is its variance
        for zero-mean data).
    ecsq_gap : bool
        Also draw the bound shifted ``quantsig.theory.ECSQ_GAP_BITS`` to the right (dotted):
        where a uniform quantizer with ideal entropy coding lands at high rate.
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (their figure is returned) instead of a new figure.
    path : str or os.PathLike, optional
        Also save the figure there (``save_figure``).
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        matplotlib is not installed.
    ValueError
        An empty result, a missing column, an unknown ``x``/``y`` or an unusable bound.

    Examples
    --------
    >>> from quantsig.plot import plot_rd
    >>> rows = [{"quantizer": "uniform", "rate": r, "snr_db": 6.02 * r - 1.5} for r in (3.0, 1.0, 2.0)]
    >>> rows += [{"quantizer": "lloyd-max", "rate": r, "snr_db": 6.02 * r - 3.0} for r in (1.0, 2.0)]
    >>> fig = plot_rd(rows, bound="gaussian", variance=1.0, ecsq_gap=True)
    >>> ax = fig.axes[0]
    >>> len(ax.lines)                    # two quantizers, the bound, the ECSQ curve
    4
    >>> ax.lines[0].get_xdata().tolist()  # sorted by rate
    [1.0, 2.0, 3.0]
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('rate (bits/sample, as written)', 'SNR (dB)')
    """
    _check_axis("x", x)
    _check_axis("y", y)
    if bound is None:
        if variance is not None:
            raise ValueError("variance= is only used with bound=")
        if ecsq_gap:
            raise ValueError("ecsq_gap=True needs a bound= to shift")
    elif x not in _RATE_AXES or y not in _BOUND_AXES:
        raise ValueError(f"bound= needs x in {_RATE_AXES} (bits/sample) and y in {_BOUND_AXES}, got x={x!r}, y={y!r}")
    rows = _rows(result)
    fig, ax = _axes(ax)
    rates = _draw_series(ax, rows, x, y)
    if bound is not None:
        fn, var, label = _bound_function(bound, variance)
        lo, hi = (float(rates.min()), float(rates.max())) if rates.size else (0.0, 1.0)
        _draw_bound(ax, fn, var, y, np.linspace(lo, hi, 200), label, "--")
        if ecsq_gap:
            gap = theory.ECSQ_GAP_BITS
            shifted = np.linspace(max(lo, gap), max(hi, gap), 200)

            def ecsq(r: np.ndarray) -> np.ndarray:
                return fn(r - gap)

            _draw_bound(ax, ecsq, var, y, shifted, f"high-rate ECSQ (+{gap:.3f} bit)", ":")
    ax.legend()
    return _finish(fig, ax, title, path)


def plot_snr(
    result: Any,
    *,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
) -> Figure:
    """SNR (dB) against the rate actually written, one line per quantizer, with the Gaussian
    ``R(D)`` reference ``SNR = 20 log10(2) R`` (6.02 dB per bit) from the origin.

    The reference holds for any variance: it is the best any coder can do on a Gaussian source,
    and at high rate a uniform quantizer with ideal entropy coding runs parallel to it,
    ``quantsig.theory.ECSQ_GAP_DB`` (1.53 dB) below.

    Parameters
    ----------
    result : RDResult, list of dict or pandas.DataFrame
        Rows with ``quantizer``, ``rate`` and ``snr_db``.
    ax : matplotlib.axes.Axes, optional
        As for ``plot_rd``.
    path : str or path, optional
        As for ``plot_rd``.
    title : str, optional
        As for ``plot_rd``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from quantsig.plot import plot_snr
    >>> rows = [{"quantizer": "uniform", "rate": r, "snr_db": 6.02 * r - 1.5} for r in (1.0, 2.0, 4.0)]
    >>> ax = plot_snr(rows).axes[0]
    >>> [line.get_label() for line in ax.lines]
    ['uniform', 'Gaussian R(D): 6.02 dB/bit']
    >>> float(ax.lines[1].get_xdata()[0]), float(ax.lines[1].get_ydata()[0])   # through the origin
    (0.0, 0.0)
    """
    rows = _rows(result)
    fig, ax = _axes(ax)
    rates = _draw_series(ax, rows, "rate", "snr_db")
    hi = float(rates.max()) if rates.size else 1.0
    r = np.linspace(0.0, max(hi, 0.0), 200)
    db_per_bit = 20.0 * math.log10(2.0)
    ax.plot(r, db_per_bit * r, "--", color="black", linewidth=1.2, label=f"Gaussian R(D): {db_per_bit:.2f} dB/bit")
    ax.legend()
    return _finish(fig, ax, title, path)


def plot_error_histogram(
    x: Any,
    x_hat: Any,
    *,
    bins: int | str | Sequence[float] = 100,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    density: bool = True,
) -> Figure:
    """Histogram of the reconstruction error ``x_hat - x`` (all samples, any shape).

    The legend gives the error's mean, RMSE (``quantsig.metrics.rmse``) and largest absolute
    value (``quantsig.metrics.max_abs_error``), to four significant digits.

    Parameters
    ----------
    x, x_hat : array_like
        The original and its reconstruction; same shape, finite.
    bins : int, str or sequence of float
        As for ``numpy.histogram``.
    density : bool
        Plot a probability density (area 1) rather than counts.
    ax : matplotlib.axes.Axes, optional
        As for ``plot_rd``.
    path : str or path, optional
        As for ``plot_rd``.
    title : str, optional
        As for ``plot_rd``.

    Returns
    -------
    matplotlib.figure.Figure
        The histogram is the axes' one patch (a ``StepPatch``: ``.get_data()`` gives the values
        and bin edges).

    Raises
    ------
    ValueError
        ``x`` and ``x_hat`` differ in shape, are empty or not finite.

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> from quantsig.plot import plot_error_histogram
    >>> x = np.random.default_rng(0).standard_normal(1_000)
    >>> x_hat = quantsig.UniformQuantizer(step=0.1).quantize(x)
    >>> ax = plot_error_histogram(x, x_hat, bins=20, density=False).axes[0]
    >>> int(ax.patches[0].get_data().values.sum())
    1000
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(x_hat, dtype=np.float64)
    rmse = metrics.rmse(a, b)  # checks the shapes and emptiness
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("x and x_hat must be finite (no NaN or Inf)")
    err = (b - a).ravel()
    max_err = metrics.max_abs_error(a, b)
    mean = float(np.mean(err))
    fig, ax = _axes(ax)
    values, edges = np.histogram(err, bins=bins, density=density)
    ax.stairs(
        values,
        edges,
        fill=True,
        alpha=0.7,
        label=f"mean {mean:.4g}, RMSE {rmse:.4g}, max |error| {max_err:.4g} (n={err.size})",
    )
    ax.set_xlabel("error x_hat - x (data units)")
    ax.set_ylabel("density" if density else "count")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _finish(fig, ax, title, path)


def save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Save ``fig`` to ``path`` as PNG, SVG or PDF according to its extension.

    No directory is created: the parent must exist.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (as returned by the plot functions).
    path : str or os.PathLike
        Destination ending in ``.png``, ``.svg`` or ``.pdf`` (any case).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        Any other extension.

    Examples
    --------
    >>> import tempfile, os
    >>> from quantsig.plot import plot_snr, save_figure
    >>> fig = plot_snr([{"quantizer": "q", "rate": 1.0, "snr_db": 4.5}])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = save_figure(fig, os.path.join(d, "rd.svg"))
    ...     p.read_bytes().count(b"<svg") >= 1
    True
    """
    p = Path(os.fspath(path))
    fmt = SAVE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"cannot save a figure as {p.suffix or 'no extension'!r} ({p}); supported: {', '.join(SAVE_FORMATS)}"
        )
    if not hasattr(fig, "savefig"):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    fig.savefig(p, format=fmt)
    return p
