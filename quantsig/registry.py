"""Registry of quantizer classes by their config ``"id"`` (numcodecs' ``get_codec`` idea).

Third-party quantizers register through the ``quantsig.quantizers`` entry-point group, so a
plug-in needs no import hack: ``get_quantizer({"id": "my-quantizer", ...})`` finds it.
"""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from .quantizers.base import Quantizer

__all__ = ["register_quantizer", "get_quantizer", "registered_quantizers"]

ENTRY_POINT_GROUP = "quantsig.quantizers"
_REGISTRY: dict[str, type[Quantizer]] = {}
_entry_points_loaded = False

Q = TypeVar("Q", bound="type[Quantizer]")


def register_quantizer(cls: Q) -> Q:
    """Class decorator adding a quantizer class to the registry under ``cls.codec_id``.

    A registered quantizer is rebuilt from its config by ``get_quantizer``, so files written
    with it decode by themselves. Registering the same class again is a no-op.

    Parameters
    ----------
    cls : type
        A ``Quantizer`` subclass with a non-empty string ``codec_id``.

    Returns
    -------
    type
        ``cls`` itself.

    Raises
    ------
    TypeError
        ``cls`` has no ``codec_id``.
    ValueError
        Another class is registered under the same ``codec_id``.

    Examples
    --------
    A one-bit quantizer (the sign of each sample), registered so that its files decode:

    >>> import numpy as np, quantsig
    >>> @quantsig.register_quantizer
    ... class SignQuantizer(quantsig.Quantizer):
    ...     codec_id = "example-sign"
    ...     n_levels = 2
    ...
    ...     def encode(self, x):
    ...         return (np.asarray(x) >= 0).astype(np.uint8)
    ...
    ...     def decode(self, codes, dtype=np.float64):
    ...         return np.where(np.asarray(codes) == 1, 0.5, -0.5).astype(dtype)
    >>> quantsig.get_quantizer({"id": "example-sign"})
    SignQuantizer()
    >>> blob = quantsig.compress(np.array([-2.0, 0.1, 3.0]), SignQuantizer())
    >>> quantsig.decompress(blob)
    array([-0.5,  0.5,  0.5])

    An id names one class only:

    >>> class Impostor(SignQuantizer):
    ...     pass
    >>> quantsig.register_quantizer(Impostor)
    Traceback (most recent call last):
        ...
    ValueError: codec id 'example-sign' is already registered by SignQuantizer
    >>> del quantsig.registry._REGISTRY["example-sign"]  # (keep this example out of the registry)
    """
    codec_id = getattr(cls, "codec_id", None)
    if not isinstance(codec_id, str) or not codec_id:
        raise TypeError(f"{cls.__name__} needs a non-empty string attribute codec_id")
    existing = _REGISTRY.get(codec_id)
    if existing is not None and existing is not cls:
        raise ValueError(f"codec id {codec_id!r} is already registered by {existing.__name__}")
    _REGISTRY[codec_id] = cls
    return cls


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _REGISTRY:
            register_quantizer(ep.load())


def registered_quantizers() -> dict[str, type[Quantizer]]:
    """Return a copy of the registry: ``{codec id: quantizer class}``, entry points included.

    Examples
    --------
    >>> import quantsig
    >>> registry = quantsig.registered_quantizers()
    >>> registry["mu-law"] is quantsig.MuLawQuantizer
    True
    >>> {"uniform", "mu-law", "a-law", "g711", "lloyd-max", "kmeans-vq", "ecsq"} <= set(registry)
    True
    """
    _load_entry_points()
    return dict(_REGISTRY)


def get_quantizer(config: dict[str, Any] | str) -> Quantizer:
    """Rebuild a quantizer from its config (as returned by ``get_config``).

    Parameters
    ----------
    config : dict or str
        A config dict with an ``"id"`` key, its JSON text, or a bare id (default parameters).

    Returns
    -------
    Quantizer
        A new quantizer equal to the one that produced ``config``, learned arrays included.

    Examples
    --------
    >>> import quantsig
    >>> q = quantsig.get_quantizer({"id": "mu-law", "bits": 8, "mu": 255.0})
    >>> q == quantsig.MuLawQuantizer(bits=8, mu=255)
    True
    """
    if isinstance(config, str):
        text = config.strip()
        config = json.loads(text) if text.startswith("{") else {"id": text}
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict with an 'id' key, got {type(config).__name__}")
    codec_id = config.get("id")
    if codec_id is None:
        raise ValueError("config has no 'id' key; expected e.g. {'id': 'uniform', ...}")
    cls = _REGISTRY.get(codec_id)
    if cls is None:
        _load_entry_points()
        cls = _REGISTRY.get(codec_id)
    if cls is None:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown quantizer id {codec_id!r}; registered ids: {known}")
    return cls.from_config(config)
