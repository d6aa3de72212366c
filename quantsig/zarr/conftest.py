"""pytest (doctests): skip the modules whose optional dependencies are missing or fail to import."""

import importlib


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except Exception:
        return False
    return True


_NEEDS = {"_numcodecs.py": ("numcodecs",), "_zarr3.py": ("zarr",), "_dask.py": ("zarr", "dask.array")}

collect_ignore = [name for name, modules in _NEEDS.items() if not all(_importable(m) for m in modules)]
