"""A small, dependency-free progress bar for the command line.

It draws one line on stderr and redraws it in place with ``\\r``: a bar, the percentage, the
rate (samples per second) and the elapsed and remaining time. It stays silent when disabled,
and when its stream is not a terminal (a pipe, a log file, a test) unless forced, so scripted
output never fills with redraws.

Examples
--------
>>> import io
>>> from quantsig.progress import Progress
>>> out = io.StringIO()
>>> with Progress(1000, stream=out, force=True, clock=iter(range(100)).__next__) as bar:
...     bar.update(500)
...     bar.update(500)
>>> out.getvalue().rstrip().rsplit("\\r", 1)[-1]
'[##############################]  100%  1.00k samples  333 samples/s  00:03'
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Self, TextIO

__all__ = ["Progress", "make_progress", "format_count", "format_rate", "format_duration"]


def format_rate(per_second: float, unit: str = "samples") -> str:
    """``1234567.0 -> '1.23M samples/s'``: three significant digits and an SI prefix.

    Examples
    --------
    >>> from quantsig.progress import format_rate
    >>> format_rate(1234567.0)
    '1.23M samples/s'
    >>> format_rate(48000, unit="frames")
    '48.0k frames/s'
    """
    return f"{format_count(per_second)} {unit}/s"


def format_count(value: float) -> str:
    """``1234 -> '1.23k'``, ``12 -> '12'``: three significant digits and an SI prefix.

    Examples
    --------
    >>> from quantsig.progress import format_count
    >>> [format_count(v) for v in (12, 1234, 56_789, 2.5e9, -1500)]
    ['12', '1.23k', '56.8k', '2.50G', '-1.50k']
    >>> [format_count(v) for v in (999.6, 9996, 999_501, -15_000)]  # rounded before the prefix is chosen
    ['1.00k', '10.0k', '1.00M', '-15.0k']
    """
    rounded = float(f"{value:.3g}")
    for prefix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0)):
        if abs(rounded) >= scale or scale == 1.0:
            v = rounded / scale
            if not prefix:
                return f"{v:.0f}"
            return (f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}" if abs(v) < 100 else f"{v:.0f}") + prefix
    raise AssertionError("unreachable")  # pragma: no cover


def format_duration(seconds: float) -> str:
    """``75 -> '01:15'``, ``3725 -> '1:02:05'``; ``'--:--'`` when unknown.

    Examples
    --------
    >>> from quantsig.progress import format_duration
    >>> [format_duration(s) for s in (4.4, 75, 3725)]
    ['00:04', '01:15', '1:02:05']
    >>> format_duration(float("inf")), format_duration(float("nan"))
    ('--:--', '--:--')
    """
    if not seconds >= 0 or seconds == float("inf"):
        return "--:--"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Progress:
    """A one-line progress bar, usable as a context manager with ``update``.

    Parameters
    ----------
    total : int, optional
        Units expected; unknown (None or negative) gives a counter without bar or ETA.
    enabled : bool
        False makes every call a no-op.
    force : bool
        Draw even when ``stream`` is not a terminal.
    stream : text file, optional
        Where to draw (default ``sys.stderr``, looked up when the bar is made).
    unit : str
        Name of the units in the rate (``"samples"``).
    label : str
        Text before the bar (e.g. a file name).
    width : int
        Characters of the bar itself.
    min_interval : float
        Seconds between redraws (the last state is always drawn on close).
    clock : callable, optional
        Returns the time in seconds (default ``time.monotonic``); for tests.

    Attributes
    ----------
    n : int
        Units done so far.
    active : bool
        Whether anything is drawn.

    Examples
    --------
    A fake clock (start at 0 s, then 2 s and 5 s) makes the line predictable:

    >>> import io
    >>> from quantsig.progress import Progress
    >>> clock = iter([0.0, 2.0, 2.0, 5.0, 5.0]).__next__
    >>> bar = Progress(1000, force=True, stream=io.StringIO(), label="a.wav", clock=clock)
    >>> bar.update(250)
    >>> bar.render()
    'a.wav [#######.......................]   25%  250 samples  125 samples/s  00:02 < 00:06'
    >>> bar.update(750)
    >>> bar.close()
    >>> bar.stream.getvalue().rsplit("\\r", 1)[-1]
    'a.wav [##############################]  100%  1.00k samples  200 samples/s  00:05\\n'

    Without ``force``, nothing is drawn unless the stream is a terminal:

    >>> Progress(1000, stream=io.StringIO()).active
    False
    """

    def __init__(
        self,
        total: int | None = None,
        *,
        enabled: bool = True,
        force: bool = False,
        stream: TextIO | None = None,
        unit: str = "samples",
        label: str = "",
        width: int = 30,
        min_interval: float = 0.1,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if total is not None and not isinstance(total, int):
            raise TypeError(f"total must be an int or None, got {type(total).__name__}")
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int, got {width!r}")
        self.total = total if total is not None and total >= 0 else None
        self.stream = sys.stderr if stream is None else stream
        self.unit = unit
        self.label = label
        self.width = width
        self.min_interval = float(min_interval)
        self._clock = clock or time.monotonic
        self.active = bool(enabled) and (force or _isatty(self.stream))
        self.n = 0
        self._start = self._clock() if self.active else 0.0
        self._last_draw = -float("inf")
        self._last_len = 0
        self._closed = False

    # ------------------------------------------------------------------ public
    def update(self, n: int = 1) -> None:
        """Add ``n`` units done and redraw (at most once per ``min_interval``)."""
        self.n += int(n)
        if not self.active or self._closed:
            return
        now = self._clock()
        if now - self._last_draw >= self.min_interval:
            self._draw(now)

    def close(self) -> None:
        """Draw the final state and end the line (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.active:
            self._draw(self._clock())
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ drawing
    def render(self, now: float | None = None) -> str:
        """The line as it would be drawn now (no ``\\r``)."""
        if now is None:
            now = self._clock()
        elapsed = max(now - self._start, 0.0)
        rate = self.n / elapsed if elapsed > 0 else 0.0
        parts = [self.label] if self.label else []
        if self.total:
            frac = min(self.n / self.total, 1.0)
            filled = int(frac * self.width)
            parts.append("[" + "#" * filled + "." * (self.width - filled) + "]")
            parts.append(f"{int(100 * frac):3d}%")
        parts.append(f"{format_count(self.n)} {self.unit}")
        parts.append(format_rate(rate, self.unit) if elapsed > 0 else f"-- {self.unit}/s")
        timing = format_duration(elapsed)
        if self.total and self.n < self.total:
            eta = (self.total - self.n) / rate if rate > 0 else float("inf")
            timing += f" < {format_duration(eta)}"
        parts.append(timing)
        if self.label and self.total:
            parts[:2] = [f"{parts[0]} {parts[1]}"]
        return "  ".join(parts)

    def _draw(self, now: float) -> None:
        line = self.render(now)
        pad = " " * max(self._last_len - len(line), 0)
        self.stream.write("\r" + line + pad)
        self.stream.flush()
        self._last_len = len(line)
        self._last_draw = now


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def make_progress(progress: Any, total: int | None, label: str = "", unit: str = "samples") -> Any:
    """Normalise the ``progress`` argument: None/False -> None, True -> a stderr ``Progress``
    (drawn only on a terminal), an object with ``update(n)`` -> itself (its ``total`` filled in
    when it is a ``Progress`` without one).

    Raises
    ------
    TypeError
        ``progress`` is neither a bool nor None and has no ``update`` method.

    Examples
    --------
    >>> import io
    >>> from quantsig.progress import Progress, make_progress
    >>> make_progress(None, 100) is None, make_progress(False, 100) is None
    (True, True)
    >>> bar = make_progress(True, 100, label="a.wav")
    >>> type(bar).__name__, bar.total, bar.label
    ('Progress', 100, 'a.wav')
    >>> mine = Progress(stream=io.StringIO())
    >>> make_progress(mine, 500) is mine, mine.total
    (True, 500)
    >>> make_progress("yes", 100)
    Traceback (most recent call last):
        ...
    TypeError: progress must be a bool or have an update(n) method, got str
    """
    if progress is None or progress is False:
        return None
    if progress is True:
        return Progress(total, label=label, unit=unit)
    if not callable(getattr(progress, "update", None)):
        raise TypeError(f"progress must be a bool or have an update(n) method, got {type(progress).__name__}")
    if isinstance(progress, Progress) and progress.total is None and total is not None and total >= 0:
        progress.total = total
    return progress
