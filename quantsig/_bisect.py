"""Geometric bisection on a monotone predicate: the search behind each "find the step" in quantsig."""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["geometric_bisect"]


def geometric_bisect(ok: Callable[[float], bool], good: float, bad: float, integer: bool) -> float:
    """The step nearest ``bad`` where ``ok`` still holds, given ``ok(good)`` and not ``ok(bad)``
    (a monotone predicate); midpoints are geometric, so the search takes log-many steps over
    ranges of many octaves. Integer steps stop at adjacent integers, real ones at 0.1 %."""
    while True:
        if integer:
            if abs(good - bad) <= 1:
                return good
            lo, hi = min(good, bad), max(good, bad)
            mid: float = min(max(round(math.sqrt(good * bad)), lo + 1), hi - 1)
        else:
            if abs(math.log2(good / bad)) < 1e-3:
                return good
            mid = math.sqrt(good * bad)
        if ok(mid):
            good = mid
        else:
            bad = mid
