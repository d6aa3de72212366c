"""Shared pytest configuration.

* ``--runslow`` enables tests marked ``slow``.
* Tests marked ``jit_heavy`` (whole signals through the stream codec: millions of kernel
  iterations) are skipped when ``NUMBA_DISABLE_JIT=1``, where kernels run as plain Python and
  they would take hours; ``tests/test_stream_kernels.py`` drives every stream kernel path on
  small inputs in that mode instead.
"""

import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    no_jit = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow")
    skip_heavy = pytest.mark.skip(reason="jit_heavy: skipped under NUMBA_DISABLE_JIT=1 (see test_stream_kernels.py)")
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)
        if no_jit and "jit_heavy" in item.keywords:
            item.add_marker(skip_heavy)
