"""Timing helpers and result records shared by the quantsig benchmarks.

Only the standard library is imported at module level, so that the compile-latency probe
(which imports this module in a fresh interpreter) can time the imports of NumPy, Numba and
quantsig itself.

Conventions
-----------
Every benchmark row compares *ours* (a quantsig call) with a *peer* measured side by side, in
the same process, on the same data, on one core. Its ``ratio`` is always "higher is better
for quantsig":

* ``kind="speedup"``: ``ratio = peer_s / ours_s``, how many times faster quantsig is than the
  peer. A peer that is a memory copy (``np.copyto``) gives the fraction of copy throughput
  that quantsig reaches (0.8 means 80% of the speed of copying the input).
* ``kind="budget"``: the peer is a fixed time budget (compile latency); ``ratio =
  budget_s / ours_s``, so 1.0 or more means the budget was kept.

A row's ``target`` is the smallest acceptable ratio. Some rows carry an extra condition
(e.g. "MSE <= scikit-learn's MSE") that must also hold for the target to count as met.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import gc
import json
import math
import os
import platform
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "THREAD_ENV",
    "Timing",
    "CaseResult",
    "Skip",
    "time_interleaved",
    "speedup_row",
    "skipped_row",
    "error_row",
    "machine_info",
    "format_seconds",
    "format_table",
    "write_json",
    "now_iso",
]

#: Environment variables that pin every thread pool we touch to one thread. ``run.py`` sets
#: them before NumPy, Numba, scikit-learn or faiss are imported.
THREAD_ENV: dict[str, str] = {
    "NUMBA_NUM_THREADS": "1",
    "QUANTSIG_THREADS": "1",  # stream writer and reader workers
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}

Status = Literal["ok", "skipped", "error"]
Kind = Literal["speedup", "budget"]


class Skip(Exception):
    """Raised inside a case when a peer (or a quantsig part) is unavailable.

    The runner records the affected rows as ``status="skipped"`` with the message as reason.
    """


@dataclass(frozen=True)
class Timing:
    """Wall-clock times of repeated calls of one function.

    Attributes
    ----------
    times : tuple of float
        Seconds per call, in call order (warm-up excluded).
    """

    times: tuple[float, ...]

    @property
    def best(self) -> float:
        """The fastest call: the least disturbed by other work on a shared machine."""
        return min(self.times)

    @property
    def median(self) -> float:
        """The median call (reported next to the best, to show the noise)."""
        s = sorted(self.times)
        n = len(s)
        return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def time_interleaved(
    fns: dict[str, Callable[[], object]],
    *,
    repeat: int,
    warmups: dict[str, Callable[[], object] | None] | None = None,
    budget_s: float | None = None,
    min_repeat: int = 2,
) -> dict[str, Timing]:
    """Time several functions round-robin: call 1 of each, then call 2 of each, ...

    Interleaving makes a slow spell of the (shared) machine hit every contender alike;
    the best of the rounds is then compared.

    Parameters
    ----------
    fns : dict of name -> callable
        The functions to time (no arguments).
    repeat : int
        Rounds.
    warmups : dict of name -> callable or None, optional
        A cheaper untimed warm-up per function; by default each function is called once.
        ``None`` as a value skips the warm-up of that function.
    budget_s : float, optional
        Stop after ``min_repeat`` rounds once the timed calls have used this many seconds.
    min_repeat : int
        Rounds that always run.

    Returns
    -------
    dict of name -> Timing
    """
    if repeat < 1:
        raise ValueError(f"repeat={repeat} should be >= 1")
    warmups = warmups or {}
    for name, fn in fns.items():
        warm = warmups.get(name, fn)
        if warm is not None:
            warm()
    times: dict[str, list[float]] = {name: [] for name in fns}
    spent = 0.0
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # a cyclic collection inside a timed call is noise, not the code under test
    try:
        for k in range(repeat):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                result = fn()
                dt = time.perf_counter() - t0
                del result
                times[name].append(dt)
                spent += dt
            if budget_s is not None and k + 1 >= min_repeat and spent >= budget_s:
                break
    finally:
        if was_enabled:
            gc.enable()
    return {name: Timing(tuple(ts)) for name, ts in times.items()}


@dataclass
class CaseResult:
    """One row of the benchmark table.

    Attributes
    ----------
    name : str
        Stable identifier, ``group.what.variant`` (e.g. ``"uniform.encode.b16.vs_numpy"``).
    group : str
        The case group that produced the row (``--only`` selects groups).
    ours, peer : str
        What was timed on each side.
    ours_s, peer_s : float or None
        Best time in seconds (``peer_s`` is the budget for ``kind="budget"``).
    kind : {"speedup", "budget"}
        How ``ratio`` is defined, see the module docstring.
    target : float or None
        Smallest acceptable ratio.
    condition : str or None
        An extra requirement for the target (e.g. ``"MSE <= sklearn MSE"``).
    condition_ok : bool or None
        Whether ``condition`` holds.
    status : {"ok", "skipped", "error"}
        ``skipped`` when a peer or part is unavailable, ``error`` when the case failed.
    reason : str or None
        Why a row was skipped or failed.
    info : dict
        Extra facts: data size, MSEs, mismatch counts, median times...
    """

    name: str
    group: str
    ours: str = ""
    peer: str = ""
    ours_s: float | None = None
    peer_s: float | None = None
    kind: Kind = "speedup"
    target: float | None = None
    condition: str | None = None
    condition_ok: bool | None = None
    status: Status = "ok"
    reason: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """``peer_s / ours_s`` (higher is better for quantsig), None unless both are known."""
        if self.status != "ok" or not self.ours_s or self.peer_s is None:
            return None
        return self.peer_s / self.ours_s

    @property
    def met(self) -> bool | None:
        """Whether the target (and the extra condition, if any) is met; None without a target."""
        ratio = self.ratio
        if ratio is None or self.target is None:
            return None
        return ratio >= self.target and self.condition_ok is not False

    def to_json(self) -> dict[str, Any]:
        """A JSON-native dict of every field plus ``ratio`` and ``met``."""
        out = dataclasses.asdict(self)
        out["ratio"] = self.ratio
        out["met"] = self.met
        out["info"] = _jsonable(self.info)
        return out


def speedup_row(
    name: str,
    group: str,
    *,
    ours: str,
    peer: str,
    t_ours: Timing,
    t_peer: Timing,
    target: float | None = None,
    info: dict[str, Any] | None = None,
    condition: str | None = None,
    condition_ok: bool | None = None,
) -> CaseResult:
    """Build a ``kind="speedup"`` row from two timings (best times; medians go to ``info``)."""
    extra = dict(info or {})
    extra.setdefault("ours_median_s", t_ours.median)
    extra.setdefault("peer_median_s", t_peer.median)
    extra.setdefault("repeats", [len(t_ours.times), len(t_peer.times)])
    return CaseResult(
        name=name,
        group=group,
        ours=ours,
        peer=peer,
        ours_s=t_ours.best,
        peer_s=t_peer.best,
        kind="speedup",
        target=target,
        condition=condition,
        condition_ok=condition_ok,
        info=extra,
    )


def skipped_row(name: str, group: str, reason: str, **fields: Any) -> CaseResult:
    """A row whose peer (or quantsig part) is unavailable."""
    return CaseResult(name=name, group=group, status="skipped", reason=reason, **fields)


def error_row(name: str, group: str, reason: str, **fields: Any) -> CaseResult:
    """A row whose case failed (the runner exits non-zero when there is one)."""
    return CaseResult(name=name, group=group, status="error", reason=reason, **fields)


# ---------------------------------------------------------------------- machine description


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(module: str) -> str | None:
    """The ``__version__`` of an importable module, None when it cannot be imported."""
    try:
        mod = __import__(module)
    except Exception:
        return None
    return str(getattr(mod, "__version__", "unknown"))


def machine_info() -> dict[str, Any]:
    """CPU model, core count, OS, Python and library versions, thread settings.

    Returns
    -------
    dict
        JSON-native description of where the numbers were measured.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # importing audioop warns on 3.11+
        versions = {name: _version(name) for name in ("numpy", "numba", "scipy", "sklearn", "faiss", "quantsig")}
        versions["audioop"] = "stdlib" if _version("audioop") is not None else None
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_allowed": affinity,
        "machine": platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "thread_env": {key: os.environ.get(key) for key in THREAD_ENV},
        "numba_disable_jit": os.environ.get("NUMBA_DISABLE_JIT"),
    }


# ---------------------------------------------------------------------- output


def format_seconds(seconds: float | None) -> str:
    """Human-readable duration: ``"812 us"``, ``"4.87 ms"``, ``"1.29 s"``; ``"-"`` for None."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def _verdict(row: CaseResult) -> str:
    if row.status != "ok":
        return row.status.upper()
    met = row.met
    if met is None:
        return ""
    return "met" if met else "MISSED"


def _cell(row: CaseResult) -> tuple[str, ...]:
    ratio = row.ratio
    target = "-" if row.target is None else f">= {row.target:g}x"
    if row.condition:
        target += f" & {row.condition}"
    peer = format_seconds(row.peer_s)
    if row.kind == "budget" and row.peer_s is not None:
        peer += " budget"
    info = row.reason if row.status != "ok" and row.reason else row.info.get("summary", "")
    return (
        row.name,
        format_seconds(row.ours_s),
        peer,
        "-" if ratio is None else f"{ratio:.2f}x",
        target,
        _verdict(row),
        str(info),
    )


def format_table(rows: Sequence[CaseResult]) -> str:
    """Plain-text table: case, our time, peer time (or budget), ratio, target, verdict, info.

    The peers themselves are described in the JSON (``peer``) and in ``docs/benchmarks.md``.
    """
    header = ("case", "ours", "peer", "ratio", "target", "verdict", "info")
    cells = [header] + [_cell(row) for row in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    left = {0, 4, 5, 6}
    lines = []
    for c in cells:
        parts = [s.ljust(w) if i in left else s.rjust(w) for i, (s, w) in enumerate(zip(c, widths, strict=True))]
        lines.append("  ".join(parts).rstrip())
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    """Convert NumPy scalars/arrays (duck-typed) and tuples to JSON-native values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # NumPy scalar or array
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON, creating the parent folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_jsonable(payload), indent=2, allow_nan=False)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)


def now_iso() -> str:
    """The current UTC time, ISO 8601, seconds precision."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def group_main(
    name: str,
    cases: Callable[[Any], Iterable[CaseResult]],
    quick: Any,
    full: Any,
    argv: Sequence[str] | None,
    description: str = "",
    quick_help: str = "tiny sizes (a smoke run)",
) -> int:
    """``main`` of a group run alone (``python benchmarks/bench_<name>.py [--quick]``): stream
    the row statuses to stderr, print the table, write ``results/<name>.json``; exit 1 on an
    error row."""
    import argparse
    import sys
    import time

    parser = argparse.ArgumentParser(prog=f"benchmarks/bench_{name}.py", description=description.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results" / f"{name}.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows: list[CaseResult] = []
    for row in cases(quick if args.quick else full):
        rows.append(row)
        print(f"  {row.name}: {row.status}", file=sys.stderr, flush=True)
    print(format_table(rows))
    elapsed = time.perf_counter() - started
    write_json(
        args.json,
        {
            "schema": 1,
            "created": now_iso(),
            "command": " ".join(
                ["python", f"benchmarks/bench_{name}.py", *(argv if argv is not None else sys.argv[1:])]
            ),
            "quick": bool(args.quick),
            "elapsed_s": elapsed,
            "machine": machine_info(),
            "results": [r.to_json() for r in rows],
        },
    )
    print(f"\n{format_seconds(elapsed)}; wrote {args.json}")
    return 1 if any(r.status == "error" for r in rows) else 0


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Numba and the BLAS/OpenMP pools (scikit-learn) at one thread for the block
    (``run.py`` also sets the environment before anything is imported)."""
    import numba
    from threadpoolctl import threadpool_limits

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        numba.set_num_threads(before)
