"""The quantizer contract every quantsig quantizer follows.

A quantizer maps samples to integer codes (``encode``) and codes back to reconstruction
values (``decode``). It knows its own parameters and nothing of files, entropy coding or
applications. ``get_config()`` returns a JSON-native dict with an ``"id"`` key, learned
arrays included, from which ``from_config()`` (or ``quantsig.get_quantizer``) rebuilds an
equal quantizer; this config is what a container stores, so a file decodes with no other
knowledge.

Conventions (scikit-learn's): ``__init__`` only stores parameters, ``fit`` returns ``self`` and
never changes parameters, learned state ends in ``_``.
"""

from __future__ import annotations

import abc
import inspect
import math
from typing import Any, ClassVar

import numpy as np

from .._validation import as_float_array
from ..errors import NotFittedError

__all__ = ["Quantizer"]


def _jsonable(value: Any) -> Any:
    """Turn numpy scalars/arrays into JSON-native values (floats keep every bit via repr)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class Quantizer(abc.ABC):
    """Base class of all quantizers: ``fit``/``encode``/``decode`` plus a config.

    Subclasses set ``codec_id`` (the config ``"id"``), list their learned array attributes
    in ``_learned`` and implement ``encode``, ``decode`` and ``n_levels``.

    Examples
    --------
    Every quantsig quantizer follows the same contract:

    >>> import numpy as np, quantsig
    >>> x = np.array([-0.8, -0.1, 0.0, 0.3, 0.9])
    >>> for q in (quantsig.UniformQuantizer(bits=4, lo=-1, hi=1), quantsig.MuLawQuantizer(bits=4)):
    ...     codes = q.encode(x)
    ...     print(type(q).__name__, codes.dtype, q.n_levels, q.decode(codes).round(3))
    UniformQuantizer uint8 16 [-0.867 -0.067  0.067  0.333  0.867]
    MuLawQuantizer uint8 16 [-0.706 -0.085  0.002  0.351  0.706]

    A new quantizer needs only ``encode``, ``decode`` and ``n_levels``; the config, equality,
    ``quantize`` and ``bits`` come from the base class:

    >>> class SignQuantizer(quantsig.Quantizer):
    ...     codec_id = "sign"  # one bit per sample: its sign
    ...     n_levels = 2
    ...
    ...     def encode(self, x):
    ...         return (np.asarray(x) >= 0).astype(np.uint8)
    ...
    ...     def decode(self, codes, dtype=np.float64):
    ...         return np.where(np.asarray(codes) == 1, 0.5, -0.5).astype(dtype)
    >>> q = SignQuantizer()
    >>> q.encode(x)
    array([0, 0, 1, 1, 1], dtype=uint8)
    >>> q.quantize(x.astype(np.float32))
    array([-0.5, -0.5,  0.5,  0.5,  0.5], dtype=float32)
    >>> q.bits, q.get_config(), SignQuantizer.from_config({"id": "sign"}) == q
    (1.0, {'id': 'sign'}, True)
    """

    codec_id: ClassVar[str] = ""
    #: Names of learned array attributes (ending in ``_``) that ``get_config`` includes.
    _learned: ClassVar[tuple[str, ...]] = ()
    #: True when ``encode`` needs a prior ``fit``.
    requires_fit: ClassVar[bool] = False
    #: Number of consecutive samples along the last axis that form one code (1 = scalar).
    dim: int = 1
    #: Input dtypes ``encode`` accepts (the conformance suite tests each of them).
    input_dtypes: ClassVar[tuple[str, ...]] = ("float32", "float64")

    # ------------------------------------------------------------------ conformance hooks
    @classmethod
    def _conformance_instances(cls) -> list[Quantizer]:
        """Instances (fitted or not) that ``quantsig.testing`` runs through every check."""
        return [cls()]

    @classmethod
    def _conformance_bad_params(cls) -> list[dict[str, Any]]:
        """Constructor arguments that must raise ``ValueError`` or ``TypeError``."""
        return []

    def _conformance_data(self, rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Valid input of ``shape`` and ``dtype`` for this instance (default: uniform in [-1, 1))."""
        return rng.uniform(-1.0, 1.0, size=shape).astype(dtype)

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        """Return the constructor parameters as a dict (JSON-native values)."""
        return {name: _jsonable(getattr(self, name)) for name in self._param_names()}

    # ------------------------------------------------------------------ learned state
    def is_fitted(self) -> bool:
        """True when every learned attribute is present (always True if nothing is learned)."""
        return all(hasattr(self, name) for name in self._learned)

    def _check_fitted(self) -> None:
        if self.requires_fit and not self.is_fitted():
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(x) first "
                "(or rebuild it from a config that holds its learned arrays)."
            )

    def _set_learned(self, learned: dict[str, Any]) -> None:
        """Validate learned arrays coming from a config and install them (override)."""
        for name, value in learned.items():
            setattr(self, name, np.asarray(value, dtype=np.float64))

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """Return the JSON-native config: ``{"id": ..., **params, **learned arrays}``.

        Learned arrays are included (as nested lists of Python floats, which JSON carries
        exactly) once the quantizer is fitted.
        """
        config: dict[str, Any] = {"id": self.codec_id}
        config.update(self.get_params())
        if self._learned and all(hasattr(self, name) for name in self._learned):
            for name in self._learned:
                config[name] = _jsonable(getattr(self, name))
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Quantizer:
        """Rebuild a quantizer from ``get_config`` output.

        Raises
        ------
        ValueError
            If the id does not match, a key is unknown, or a learned array is invalid.
        """
        if not isinstance(config, dict):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        cfg = dict(config)
        codec_id = cfg.pop("id", cls.codec_id)
        if codec_id != cls.codec_id:
            raise ValueError(f"config id {codec_id!r} does not match {cls.__name__} ({cls.codec_id!r})")
        learned = {name: cfg.pop(name) for name in cls._learned if name in cfg}
        unknown = set(cfg) - set(cls._param_names())
        if unknown:
            raise ValueError(f"unknown key(s) in {cls.__name__} config: {', '.join(sorted(unknown))}")
        obj = cls(**cfg)
        if learned:
            missing = [name for name in cls._learned if name not in learned]
            if missing:
                raise ValueError(f"{cls.__name__} config holds some learned arrays but not {missing}")
            obj._set_learned(learned)
        return obj

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.get_config() == other.get_config()  # type: ignore[union-attr]

    __hash__ = None  # type: ignore[assignment]  # mutable (fit), like scikit-learn estimators

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        parts = []
        for name in self._param_names():
            value = getattr(self, name)
            default = sig.parameters[name].default
            if default is inspect.Parameter.empty or not _same(value, default):
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    # ------------------------------------------------------------------ the contract
    def fit(self, x: Any, sample_weight: Any = None) -> Quantizer:
        """Learn from data where the quantizer learns; otherwise only validate ``x``.

        Parameters
        ----------
        x : array_like of float32 or float64
            Training samples (finite).
        sample_weight : array_like, optional
            Non-negative weight per sample; ignored by quantizers that learn nothing.

        Returns
        -------
        self
        """
        as_float_array(x)
        return self

    @abc.abstractmethod
    def encode(self, x: Any) -> np.ndarray:
        """Map samples to integer codes (the smallest unsigned dtype that holds every level)."""

    @abc.abstractmethod
    def decode(self, codes: Any, dtype: Any = np.float64) -> np.ndarray:
        """Map integer codes back to reconstruction values of float ``dtype``."""

    def quantize(self, x: Any) -> np.ndarray:
        """Return ``decode(encode(x))`` in the dtype of ``x``.

        Examples
        --------
        >>> import numpy as np, quantsig
        >>> q = quantsig.UniformQuantizer(step=0.5)
        >>> q.quantize(np.array([0.2, 0.3, -1.1], dtype=np.float32))
        array([ 0. ,  0.5, -1. ], dtype=float32)
        """
        arr = np.asarray(x)
        return self.decode(self.encode(arr), dtype=arr.dtype)

    @property
    @abc.abstractmethod
    def n_levels(self) -> int | None:
        """Number of reconstruction levels (``None`` for an unbounded quantizer)."""

    @property
    def bits(self) -> float | None:
        """``log2(n_levels)``: the fixed-rate cost of one code in bits."""
        n = self.n_levels
        return None if n is None else math.log2(n)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # pragma: no cover - array-valued parameters
        return False
