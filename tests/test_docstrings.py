"""Every public name of quantsig has a numpydoc docstring with an example (``>>>``).

The examples themselves run as doctests: ``testpaths`` in pyproject.toml includes the package
and ``--doctest-modules`` is on, so ``python -m pytest`` executes every one of them.

A public name is a class or function listed in the ``__all__`` of a public module (no part
of its dotted name starts with an underscore; the Numba kernels in ``quantsig.kernels`` are
internal). Public methods of public classes need a docstring, not an example of their own.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import quantsig

INTERNAL = ("quantsig.kernels", "quantsig.zarr.conftest")


def public_modules() -> list[str]:
    names = ["quantsig"]
    for info in pkgutil.walk_packages(quantsig.__path__, "quantsig."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]) or info.name.startswith(INTERNAL):
            continue
        names.append(info.name)
    return names


def public_objects() -> dict[str, object]:
    """``{dotted name: object}`` for the classes and functions in the ``__all__`` lists, each once."""
    found: dict[str, object] = {}
    seen: set[int] = set()
    for modname in public_modules():
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            found[f"{modname}.{name}"] = obj
    return found


OBJECTS = public_objects()


def test_the_audit_sees_the_api():
    # the walk must find the API; an import error or an emptied __all__ would make the audit vacuous
    assert len(OBJECTS) > 120
    for name in (
        "quantsig.compress",
        "quantsig.Codec",
        "quantsig.zarr.QuantsigCodec",
        "quantsig.weights.quantize_model",
    ):
        assert name in OBJECTS


@pytest.mark.parametrize("module", public_modules())
def test_public_module_declares_all(module):
    mod = importlib.import_module(module)
    assert inspect.getdoc(mod), f"{module} has no module docstring"
    assert isinstance(getattr(mod, "__all__", None), (list, tuple)), f"{module} has no __all__"


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_public_name_has_an_example(name):
    doc = inspect.getdoc(OBJECTS[name])
    assert doc, f"{name} has no docstring"
    assert ">>>" in doc, f"{name}: the docstring has no example (an 'Examples' section with >>> lines)"
    assert "Examples\n--------" in doc, f"{name}: the example is not in a numpydoc 'Examples' section"


@pytest.mark.parametrize("name", sorted(n for n, o in OBJECTS.items() if inspect.isclass(o)))
def test_public_methods_have_docstrings(name):
    cls = OBJECTS[name]
    missing = []
    for attr, value in vars(cls).items():
        if attr.startswith("_"):
            continue
        func = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        if inspect.isfunction(func) and not inspect.getdoc(func):
            missing.append(attr)
    assert not missing, f"{name}: public methods without a docstring: {missing}"
