"""Committed files of every format version must keep decoding to the same arrays."""

import glob
import os

import numpy as np
import pytest

import quantsig

FILES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "golden", "v*", "*.qsg")))


def test_there_are_golden_files():
    assert len(FILES) >= 7


@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.relpath(p, os.path.dirname(__file__)))
def test_golden_file_decodes(path):
    expected = np.load(path[:-4] + ".npy")
    got = quantsig.load(path)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    info = quantsig.info(path)
    assert info["complete"] and info["shape"] == expected.shape
