"""A small immutable table of rows with fixed columns, for reports (R-D sweeps, weights).

Subclasses name their columns; the table gives column arrays, filtering by the label (first)
column, concatenation, and CSV / strict JSON / Markdown / plain text / pandas output.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Self, TypeVar

import numpy as np

__all__ = ["Table"]

T = TypeVar("T", bound="Table")


class Table:
    """Rows (dicts) with the columns ``COLUMNS``, in that order; never modified in place.

    ``filter``, ``+`` and ``concat`` return new tables; ``rows``, iteration and
    indexing hand out copies. The first column is the label column.

    A subclass names its columns (``RDResult`` and ``WeightsReport`` are two).

    Parameters
    ----------
    rows : iterable of mappings
        One mapping per row with exactly the keys ``COLUMNS`` (in any order).

    Raises
    ------
    ValueError
        A row misses a column or has one the table does not know.

    Examples
    --------
    >>> from quantsig.table import Table
    >>> class Scores(Table):
    ...     COLUMNS = ("model", "bits", "error")
    ...     TEXT_COLUMNS = ("model",)
    ...     INT_COLUMNS = ("bits",)
    ...     SUMMARY_COLUMNS = COLUMNS
    >>> t = Scores([{"model": "a", "bits": 4, "error": 0.125}, {"model": "a", "bits": 2, "error": 0.5},
    ...             {"model": "b", "bits": 4, "error": 0.25}])
    >>> len(t), t.labels(), t.columns
    (3, ['a', 'b'], ('model', 'bits', 'error'))
    >>> t["error"]                                       # a column as an array
    array([0.125, 0.5  , 0.25 ])
    >>> t.filter("b")[0]
    {'model': 'b', 'bits': 4, 'error': 0.25}
    >>> print(t.to_text())
    model  bits  error
    ------------------
    a         4  0.125
    a         2    0.5
    b         4   0.25
    >>> print(t.to_csv(), end="")
    model,bits,error
    a,4,0.125
    a,2,0.5
    b,4,0.25
    >>> print(t.filter("b").to_json(indent=None), end="")
    [{"model": "b", "bits": 4, "error": 0.25}]
    >>> len(t + t.filter("a")), len(Scores.concat(t, t, t))
    (5, 9)
    >>> Scores([{"model": "c", "bits": 1}])
    Traceback (most recent call last):
    ...
    ValueError: row 0 does not have the Scores columns: missing ['error'], unknown []
    """

    #: Column names, in order (the first is the label).
    COLUMNS: ClassVar[tuple[str, ...]] = ()
    #: Columns holding text, and columns holding integer counts.
    TEXT_COLUMNS: ClassVar[tuple[str, ...]] = ()
    INT_COLUMNS: ClassVar[tuple[str, ...]] = ()
    #: Columns of ``to_text`` by default.
    SUMMARY_COLUMNS: ClassVar[tuple[str, ...]] = ()

    __slots__ = ("_rows",)

    def __init__(self, rows: Iterable[Mapping[str, Any]] = ()) -> None:
        checked = []
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise TypeError(f"row {i} must be a mapping of column -> value, got {type(row).__name__}")
            missing = [c for c in self.COLUMNS if c not in row]
            extra = [k for k in row if k not in self.COLUMNS]
            if missing or extra:
                raise ValueError(
                    f"row {i} does not have the {type(self).__name__} columns: missing {missing}, unknown {extra}"
                )
            checked.append({c: row[c] for c in self.COLUMNS})
        self._rows: tuple[dict[str, Any], ...] = tuple(checked)

    # ------------------------------------------------------------------ access
    @property
    def columns(self) -> tuple[str, ...]:
        """The column names, in order."""
        return self.COLUMNS

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows as a list of dicts (copies)."""
        return [dict(r) for r in self._rows]

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (dict(r) for r in self._rows)

    def __getitem__(self, key: str | int) -> Any:
        """``result["rate"]``: a column as an array (float64; int64 for the counts, str for
        ``quantizer``; ``param`` is float64 when every value is a number). ``result[i]``: row
        ``i`` as a dict."""
        if isinstance(key, str):
            if key not in self.COLUMNS:
                raise KeyError(f"no column {key!r}; the columns are {', '.join(self.COLUMNS)}")
            values = [r[key] for r in self._rows]
            if key in self.TEXT_COLUMNS:
                return np.array(values, dtype=str)
            if key in self.INT_COLUMNS:
                return np.array(values, dtype=np.int64)
            if not all(v is None or _is_number(v) for v in values):
                return np.array(values, dtype=object)
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            return dict(self._rows[key])
        raise TypeError(f"index a {type(self).__name__} with a column name or a row number, not {type(key).__name__}")

    def labels(self) -> list[str]:
        """The labels (the first column), in order of first appearance."""
        return list(dict.fromkeys(r[self.COLUMNS[0]] for r in self._rows))

    def filter(self, label: str | Iterable[str]) -> Self:
        """The rows of one label or of several (in the table's order).

        Raises
        ------
        ValueError
            If a label is not in the table (the message lists those that are).
        """
        wanted = {label} if isinstance(label, str) else set(label)
        unknown = wanted - set(self.labels())
        if unknown:
            raise ValueError(f"no rows for {', '.join(sorted(map(repr, unknown)))}; the labels are {self.labels()}")
        return type(self)(r for r in self._rows if r[self.COLUMNS[0]] in wanted)

    @classmethod
    def concat(cls, *results: Self) -> Self:
        """One table holding the rows of every ``results`` in turn."""
        for r in results:
            if not isinstance(r, cls):
                raise TypeError(f"can only concatenate {cls.__name__} tables, got {type(r).__name__}")
        return cls(row for r in results for row in r._rows)

    def __add__(self, other: object) -> Self:
        if not isinstance(other, type(self)):
            return NotImplemented
        return type(self).concat(self, other)

    # ------------------------------------------------------------------ output
    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str | None:
        """CSV with a header line; floats exactly (``repr``), ``inf``/``nan`` as such, a missing
        ``param`` as an empty field. Returns the text when ``path`` is None, else writes it."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.COLUMNS)
        for r in self._rows:
            w.writerow(["" if r[c] is None else _plain(r[c]) for c in self.COLUMNS])
        return _emit(buf.getvalue(), path)

    def to_json(self, path: str | os.PathLike[str] | None = None, indent: int | None = 1) -> str | None:
        """Strict JSON: a list of row objects (``pandas.read_json(orient="records")`` reads it);
        non-finite numbers (a lossless point's ``snr_db``) become ``null``. Returns the text
        when ``path`` is None, else writes it."""
        records = [{c: _json_value(r[c]) for c in self.COLUMNS} for r in self._rows]
        return _emit(json.dumps(records, indent=indent, allow_nan=False) + "\n", path)

    def to_markdown(
        self,
        path: str | os.PathLike[str] | None = None,
        columns: Sequence[str] | None = None,
        floatfmt: str = ".4g",
    ) -> str | None:
        """A GitHub Markdown table of ``columns`` (default all), floats formatted with
        ``floatfmt``. Returns the text when ``path`` is None, else writes it."""
        cols = self._columns(columns)
        lines = [
            "| " + " | ".join(cols) + " |",
            "|" + "|".join(":---" if c in self.TEXT_COLUMNS else "---:" for c in cols) + "|",
        ]
        for r in self._rows:
            cells = (_format(r[c], floatfmt).replace("|", "\\|") for c in cols)
            lines.append("| " + " | ".join(cells) + " |")
        return _emit("\n".join(lines) + "\n", path)

    def to_text(self, columns: Sequence[str] | None = None, floatfmt: str = ".4g") -> str:
        """A plain aligned table of ``columns`` (default the summary columns)."""
        cols = self._columns(columns if columns is not None else self.SUMMARY_COLUMNS)
        cells = [list(cols)] + [[_format(r[c], floatfmt) for c in cols] for r in self._rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
        lines = [
            "  ".join(
                s.ljust(w) if c in self.TEXT_COLUMNS else s.rjust(w) for s, w, c in zip(row, widths, cols)
            ).rstrip()
            for row in cells
        ]
        lines.insert(1, "-" * max(len(line) for line in lines))
        return "\n".join(lines)

    def to_pandas(self) -> Any:
        """The table as a ``pandas.DataFrame`` (columns in order).

        Raises
        ------
        ImportError
            If pandas is not installed (``pip install pandas``).
        """
        try:
            import pandas as pd  # type: ignore[import-untyped]
        except ImportError:
            raise ImportError(f"{type(self).__name__}.to_pandas() needs pandas: pip install pandas") from None
        return pd.DataFrame([dict(r) for r in self._rows], columns=list(self.COLUMNS))

    def __str__(self) -> str:
        return self.to_text() if self._rows else f"{type(self).__name__} (no rows)"

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"<{name}: {len(self)} row(s)>\n{self}" if self._rows else f"<{name}: 0 rows>"

    def _columns(self, columns: Sequence[str] | None) -> tuple[str, ...]:
        if columns is None:
            return self.COLUMNS
        if isinstance(columns, str):
            columns = [columns]
        bad = [c for c in columns if c not in self.COLUMNS]
        if bad:
            raise KeyError(f"no column(s) {bad}; the columns are {', '.join(self.COLUMNS)}")
        return tuple(columns)


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _plain(v: Any) -> Any:
    """A Python value for text output (NumPy scalars unwrapped; floats exact)."""
    if isinstance(v, np.generic):
        v = v.item()
    return repr(v) if isinstance(v, float) else v


def _format(v: Any, floatfmt: str) -> str:
    if v is None:
        return ""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return format(v, floatfmt) if math.isfinite(v) else str(v)
    return str(v)


def _json_value(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _emit(text: str, path: str | os.PathLike[str] | None) -> str | None:
    if path is None:
        return text
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return None
