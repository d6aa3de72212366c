"""Conformance checks every quantizer must pass (numcodecs' ``tests/common.py`` and
scikit-learn's ``parametrize_with_checks`` are the models).

Use it on your own quantizer::

    from quantsig.testing import check_quantizer
    check_quantizer(MyQuantizer(...))          # raises AssertionError on the first failure

or parametrize a pytest module over every registered quantizer::

    from quantsig.testing import parametrize_with_checks

    @parametrize_with_checks()
    def test_conformance(quantizer, check):
        check(quantizer)

A new quantizer joins the suite by being registered and listing instances in its
``_conformance_instances`` class method.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .errors import CodeRangeError, NotFittedError
from .quantizers.base import Quantizer
from .registry import get_quantizer, registered_quantizers

__all__ = ["CHECKS", "check_quantizer", "iter_checks", "parametrize_with_checks"]

_SHAPES = ((64,), (6, 16), (2, 3, 8))


def _fresh(q: Quantizer) -> Quantizer:
    """An unfitted copy with the same parameters."""
    return type(q)(**q.get_params())


def _data(q: Quantizer, shape: tuple[int, ...] = (4096,), dtype: Any = None, seed: int = 0) -> np.ndarray:
    dtype = dtype or q.input_dtypes[-1]
    return q._conformance_data(np.random.default_rng(seed), shape, np.dtype(dtype))


def _ready(q: Quantizer) -> Quantizer:
    """``q`` itself, fitted on conformance data when it must be."""
    if q.requires_fit and not q.is_fitted():
        # fit on the data of every accepted dtype, so that float32 rounding of the same
        # samples cannot fall outside a learned range
        parts = [_data(q, dtype=dt).astype(q.input_dtypes[-1]) for dt in q.input_dtypes]
        q.fit(np.concatenate(parts, axis=-1))
    return q


def _expected_code_shape(q: Quantizer, shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape[:-1] + (shape[-1] // q.dim,)


def _raises(exc: type[BaseException] | tuple[type[BaseException], ...], func: Callable[[], Any], what: str) -> str:
    try:
        func()
    except exc as e:
        msg = str(e)
        assert msg.strip(), f"{what}: raised {type(e).__name__} with an empty message"
        return msg
    except Exception as e:  # pragma: no cover - reported as a failure
        raise AssertionError(f"{what}: expected {exc}, got {type(e).__name__}: {e}") from e
    raise AssertionError(f"{what}: expected {exc} but nothing was raised")


# ---------------------------------------------------------------------------- checks
def check_round_trip(q: Quantizer) -> None:
    """Codes are unsigned (or int32 when unbounded), in range; decode gives floats near x."""
    q = _ready(q)
    x = _data(q)
    x_before = x.copy()
    codes = q.encode(x)
    np.testing.assert_array_equal(x, x_before, err_msg="encode modified its input")
    assert codes.shape == _expected_code_shape(q, x.shape), f"code shape {codes.shape} for x {x.shape}"
    n = q.n_levels
    if n is None:
        assert codes.dtype == np.int32, f"unbounded codes should be int32, got {codes.dtype}"
    else:
        assert codes.dtype.kind == "u", f"codes should be unsigned, got {codes.dtype}"
        smallest = next(dt for dt in (np.uint8, np.uint16, np.uint32, np.uint64) if n - 1 <= np.iinfo(dt).max)
        assert codes.dtype == np.dtype(smallest), f"{n} levels should use {np.dtype(smallest)}, got {codes.dtype}"
        assert int(codes.max()) < n
    x_hat = q.decode(codes, dtype=x.dtype)
    assert x_hat.shape == x.shape and x_hat.dtype == x.dtype
    assert np.all(np.isfinite(x_hat.astype(np.float64)))
    # reconstruction is the quantizer's best guess: never further than the span of the data
    span = float(np.ptp(x.astype(np.float64))) or 1.0
    assert float(np.max(np.abs(x_hat.astype(np.float64) - x.astype(np.float64)))) <= span


def check_config_json(q: Quantizer) -> None:
    """``get_config`` survives JSON and rebuilds an equal quantizer that codes identically."""
    q = _ready(q)
    cfg = q.get_config()
    assert cfg.get("id") == q.codec_id
    text = json.dumps(cfg)
    q2 = get_quantizer(json.loads(text))
    assert type(q2) is type(q)
    assert q2 == q, f"config round trip changed the quantizer: {q2.get_config()} != {cfg}"
    x = _data(q)
    codes = q.encode(x)
    np.testing.assert_array_equal(q2.encode(x), codes)
    np.testing.assert_array_equal(q2.decode(codes, dtype=x.dtype), q.decode(codes, dtype=x.dtype))
    assert get_quantizer(text) == q


def check_repr_and_eq(q: Quantizer) -> None:
    """``repr`` names the class and is stable; equality follows the config."""
    q = _ready(q)
    r = repr(q)
    assert r.startswith(type(q).__name__ + "("), r
    assert repr(copy.deepcopy(q)) == r
    assert copy.deepcopy(q) == q
    assert q != object()


def check_dtypes_kept(q: Quantizer) -> None:
    """Each accepted input dtype comes back from ``quantize`` (float32 stays float32)."""
    q = _ready(q)
    for dt in q.input_dtypes:
        x = _data(q, dtype=dt)
        y = q.quantize(x)
        assert y.dtype == np.dtype(dt), f"quantize({dt}) returned {y.dtype}"
        assert y.shape == x.shape


def check_shapes_kept(q: Quantizer) -> None:
    """1-D, 2-D and 3-D input keep their shape through encode/decode."""
    q = _ready(q)
    for shape in _SHAPES:
        x = _data(q, shape=shape)
        codes = q.encode(x)
        assert codes.shape == _expected_code_shape(q, shape)
        assert q.decode(codes, dtype=x.dtype).shape == shape
        # non-contiguous input gives the same codes as its contiguous copy
        if x.ndim >= 2 and q.dim == 1:
            xt = x.T
            np.testing.assert_array_equal(q.encode(xt), q.encode(np.ascontiguousarray(xt)))


def check_idempotent(q: Quantizer) -> None:
    """``quantize(quantize(x)) == quantize(x)``, exactly."""
    q = _ready(q)
    for dt in q.input_dtypes:
        x = _data(q, dtype=dt)
        y = q.quantize(x)
        np.testing.assert_array_equal(q.quantize(y), y, err_msg=f"not idempotent for {dt}")


def check_monotone(q: Quantizer) -> None:
    """A scalar quantizer's output is non-decreasing in its input."""
    if q.dim != 1:
        return
    q = _ready(q)
    x = np.sort(_data(q).reshape(-1))
    y = q.quantize(x).astype(np.float64)
    assert np.all(np.diff(y) >= 0), "quantize is not monotone"


def check_deterministic(q: Quantizer) -> None:
    """Fitting the same data twice gives the same config and the same codes."""
    x = _data(q)
    a = _fresh(q).fit(x)
    b = _fresh(q).fit(x)
    assert a.get_config() == b.get_config()
    np.testing.assert_array_equal(a.encode(x), b.encode(x))


def check_not_fitted(q: Quantizer) -> None:
    """A quantizer that must learn refuses to encode before ``fit``."""
    fresh = _fresh(q)
    if not fresh.requires_fit:
        return
    x = _data(q)
    _raises(NotFittedError, lambda: fresh.encode(x), "encode before fit")


def check_bad_input(q: Quantizer) -> None:
    """NaN, Inf, empty input, wrong dtypes and bad codes raise clear errors."""
    q = _ready(q)
    floats = [dt for dt in q.input_dtypes if np.dtype(dt).kind == "f"]
    for dt in floats:
        for bad in (np.nan, np.inf, -np.inf):
            x = _data(q, dtype=dt)
            x.reshape(-1)[len(x.reshape(-1)) // 2] = bad
            _raises(ValueError, functools.partial(q.encode, x), f"encode with {bad} ({dt})")
            if type(q).fit is not Quantizer.fit or q.requires_fit:
                _raises(ValueError, functools.partial(_fresh(q).fit, x), f"fit with {bad} ({dt})")
    dt0 = q.input_dtypes[0]
    _raises(ValueError, lambda: q.encode(np.empty((0,), dtype=dt0)), "encode of empty input")
    wrong: list[Any] = [np.complex128, object] + ([np.int64] if floats else [np.float64])
    for bad_dtype in wrong:
        bad_x = np.zeros(8 * q.dim, dtype=bad_dtype)
        _raises(TypeError, functools.partial(q.encode, bad_x), f"encode of {bad_x.dtype} input")
    _raises(TypeError, lambda: q.decode(np.zeros(4, dtype=np.float64)), "decode of float codes")
    n = q.n_levels
    if n is not None:
        _raises(CodeRangeError, lambda: q.decode(np.array([0, n], dtype=np.int64)), "decode of code n_levels")
        _raises(CodeRangeError, lambda: q.decode(np.array([-1], dtype=np.int64)), "decode of code -1")
    if q.dim > 1:
        x = _data(q, shape=(4 * q.dim + 1,), dtype=dt0)
        _raises(ValueError, lambda: q.encode(x), "last axis not a multiple of dim")


def check_bad_params(q: Quantizer) -> None:
    """Invalid constructor arguments (e.g. fewer than 2 levels) raise at construction."""
    cls = type(q)
    for kwargs in q._conformance_bad_params():
        _raises((ValueError, TypeError), functools.partial(cls, **kwargs), f"{cls.__name__}(**{kwargs})")


CHECKS: tuple[Callable[[Quantizer], None], ...] = (
    check_round_trip,
    check_config_json,
    check_repr_and_eq,
    check_dtypes_kept,
    check_shapes_kept,
    check_idempotent,
    check_monotone,
    check_deterministic,
    check_not_fitted,
    check_bad_input,
    check_bad_params,
)


def check_quantizer(q: Quantizer) -> None:
    """Run every conformance check on ``q`` (a fresh copy for each); AssertionError on failure.

    The checks are ``CHECKS``, in order: round trip, config through JSON, repr and equality,
    dtypes and shapes kept, idempotence, monotonicity, determinism, refusal before ``fit``,
    clear errors for bad input and bad parameters.

    Parameters
    ----------
    q : Quantizer
        The quantizer (fitted or not: one that must learn is fitted on conformance data).
        ``q`` itself is left untouched. Its class must be registered (``register_quantizer``)
        for the config check to rebuild it.

    Raises
    ------
    AssertionError
        On the first check that fails; the message says what went wrong.

    See Also
    --------
    parametrize_with_checks : the same checks as separate pytest cases.

    Examples
    --------
    >>> import quantsig
    >>> from quantsig.testing import check_quantizer
    >>> check_quantizer(quantsig.UniformQuantizer(bits=4, lo=-1, hi=1))     # silence: all pass
    >>> class Clobbering(quantsig.UniformQuantizer):
    ...     def encode(self, x):
    ...         codes = super().encode(x)
    ...         x[...] = 0                      # a bug: it overwrites the caller's data
    ...         return codes
    >>> check_quantizer(Clobbering(bits=4, lo=-1, hi=1))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: ...encode modified its input...
    """
    for check in CHECKS:
        check(copy.deepcopy(q))


def iter_checks(quantizers: list[Quantizer] | None = None) -> Iterator[tuple[Quantizer, Callable[[Quantizer], None]]]:
    """Yield ``(quantizer, check)`` pairs: every check for every conformance instance.

    Parameters
    ----------
    quantizers : list of Quantizer, optional
        The quantizers to check; default: the conformance instances of every registered
        quantizer class (``registered_quantizers``).

    Yields
    ------
    (Quantizer, callable)
        A quantizer and one of ``CHECKS``; ``check(quantizer)`` raises ``AssertionError``
        when it fails. The same quantizer object comes with each check: pass a copy
        (``copy.deepcopy``) to keep the checks independent, as ``check_quantizer`` does.

    Examples
    --------
    >>> import copy
    >>> from quantsig import MuLawQuantizer
    >>> from quantsig.testing import CHECKS, iter_checks
    >>> pairs = list(iter_checks([MuLawQuantizer(8)]))
    >>> len(pairs) == len(CHECKS), [check.__name__ for _, check in pairs[:3]]
    (True, ['check_round_trip', 'check_config_json', 'check_repr_and_eq'])
    >>> for q, check in pairs:
    ...     check(copy.deepcopy(q))           # each passes: no AssertionError
    >>> everything = list(iter_checks())      # every registered quantizer
    >>> {"UniformQuantizer", "LloydMaxQuantizer", "ECSQuantizer"} <= {type(q).__name__ for q, _ in everything}
    True
    """
    if quantizers is None:
        quantizers = [inst for cls in registered_quantizers().values() for inst in cls._conformance_instances()]
    for q in quantizers:
        for check in CHECKS:
            yield q, check


def parametrize_with_checks(quantizers: list[Quantizer] | None = None) -> Any:
    """A ``pytest.mark.parametrize`` over ``iter_checks`` with readable ids.

    Decorate a test taking ``quantizer`` and ``check`` (see the module docstring): each
    (quantizer, check) pair becomes its own test case, named ``"<repr>-<check name>"``.
    Needs pytest.

    Parameters
    ----------
    quantizers : list of Quantizer, optional
        As for ``iter_checks`` (default: every registered quantizer). Each case gets its own
        copy.

    Returns
    -------
    pytest.MarkDecorator

    Examples
    --------
    >>> from quantsig import MuLawQuantizer
    >>> from quantsig.testing import CHECKS, parametrize_with_checks
    >>> mark = parametrize_with_checks([MuLawQuantizer(8)])
    >>> mark.name, mark.args[0], len(mark.args[1]) == len(CHECKS)
    ('parametrize', 'quantizer, check', True)
    >>> mark.kwargs["ids"][:2]
    ['MuLawQuantizer()-check_round_trip', 'MuLawQuantizer()-check_config_json']
    >>> @mark
    ... def test_conformance(quantizer, check):
    ...     check(quantizer)
    >>> [m.name for m in test_conformance.pytestmark]
    ['parametrize']
    """
    import pytest

    pairs = list(iter_checks(quantizers))
    ids = [f"{q!r}-{check.__name__}" for q, check in pairs]
    return pytest.mark.parametrize("quantizer, check", [(copy.deepcopy(q), c) for q, c in pairs], ids=ids)
