"""quantsig.realdata: real signals read from the packages that ship them, checked against
those packages' own readers (and the standard library's), never against numbers we made up."""

from __future__ import annotations

import importlib.util
import sysconfig
import wave
from pathlib import Path

import numpy as np
import pytest

from quantsig import realdata

PLUCK = tuple(f"cpython.pluck-pcm{bits}" for bits in (8, 16, 24, 32))


def _need(name: str) -> None:
    reason = realdata.unavailable().get(name)
    if reason is not None:
        pytest.skip(reason)


# ---------------------------------------------------------------------- catalogue


def test_catalogue_is_consistent() -> None:
    series, audio = realdata.list_series(), realdata.audio_recordings()
    assert not set(series) & set(audio)
    assert set(series) | set(audio) == set(realdata.available())
    assert set(realdata.available()).isdisjoint(realdata.unavailable())
    assert set(realdata.available()) | set(realdata.unavailable()) == set(realdata.KNOWN)
    assert len(set(realdata.KNOWN)) == len(realdata.KNOWN)
    for name in realdata.KNOWN:
        meta = realdata.info(name)
        assert meta["name"] == name and meta["kind"] in ("series", "audio")
        assert meta["available"] is (name in realdata.available())
        assert (meta["missing"] is None) is meta["available"]
        assert meta["description"] and meta["units"] and meta["sampling"]


@pytest.mark.parametrize("bad", ["no.such", "", "pywt", None, 3])
def test_unknown_name_is_a_lookup_error_listing_the_known(bad: object) -> None:
    with pytest.raises(LookupError, match=r"unknown real signal.*known: pywt.ecg"):
        realdata.load_series(bad)  # type: ignore[arg-type]
    with pytest.raises(LookupError):
        realdata.info(bad)  # type: ignore[arg-type]


def test_missing_package_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        if name.split(".")[0] in ("pywt", "statsmodels", "pygame"):
            return None
        return real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    for name, pip_name in (("pywt.ecg", "PyWavelets"), ("statsmodels.co2", "statsmodels"), ("pygame.boom", "pygame")):
        with pytest.raises(ImportError, match=f"pip install {pip_name}"):
            realdata.load_series(name)
        assert f"pip install {pip_name}" in realdata.unavailable()[name]
        assert name not in realdata.available()
    assert not any(n.startswith(("pywt.", "statsmodels.")) for n in realdata.list_series())


def test_python_without_its_test_package_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sysconfig, "get_paths", lambda *a, **k: {"stdlib": str(tmp_path)})
    with pytest.raises(LookupError, match="testsuite"):
        realdata.load_series("cpython.pluck-pcm16")
    assert not any(n.startswith("cpython.") for n in realdata.audio_recordings())


def test_package_without_the_file_is_a_lookup_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("pywt")
    spec = importlib.util.spec_from_loader("pywt", loader=None, is_package=True)
    assert spec is not None
    spec.submodule_search_locations = [str(tmp_path)]  # an installed pywt with no data folder
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: spec if name == "pywt" else real_find_spec(name, *a)
    )
    with pytest.raises(LookupError, match=r"does not ship data/ecg.npz"):
        realdata.load_series("pywt.ecg")


# ---------------------------------------------------------------------- PyWavelets


def test_pywt_ecg_is_pywavelets_own_ecg() -> None:
    pywt_data = pytest.importorskip("pywt.data")
    x, meta = realdata.load_series("pywt.ecg")
    assert x.dtype == np.float64 and x.shape == (1024,) and x.flags.c_contiguous
    np.testing.assert_array_equal(x, pywt_data.ecg().astype(np.float64))
    assert np.all(np.isfinite(x)) and np.all(x == np.round(x))  # integer ADC counts
    assert meta["kind"] == "series" and meta["dtype"] == "float64" and meta["n_samples"] == 1024
    assert meta["source"].endswith("ecg.npz") and meta["package"] == "PyWavelets"


def test_pywt_sst_is_the_raw_series_behind_pywt_nino() -> None:
    pywt_data = pytest.importorskip("pywt.data")
    x, meta = realdata.load_series("pywt.sst_nino3")
    assert x.dtype == np.float64 and x.shape == (800,)
    assert meta["units"] == "deg C" and x.min() > 20.0 and x.max() < 30.0  # tropical Pacific
    # pywt.data.nino() averages full years of this column by three months and standardizes
    n = len(x) // 12 * 12
    seasonal = x[:n].reshape(-1, 3).mean(axis=1)
    _, sst = pywt_data.nino()
    np.testing.assert_allclose((seasonal - seasonal.mean()) / seasonal.std(ddof=1), sst, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------- statsmodels


@pytest.mark.parametrize(
    ("name", "n", "first"),
    [
        ("statsmodels.co2", 2225, [316.1, 317.3, 317.6, 317.5]),  # statsmodels' NOTE: 2225 observations
        ("statsmodels.elnino", 61 * 12, [23.11, 24.20, 25.37, 23.86]),
        ("statsmodels.sunspots", 309, [5.0, 11.0, 16.0, 23.0]),
        ("statsmodels.nile", 100, [1120.0, 1160.0, 963.0, 1210.0]),
    ],
)
def test_statsmodels_series(name: str, n: int, first: list[float]) -> None:
    pytest.importorskip("statsmodels")
    x, meta = realdata.load_series(name)
    assert x.dtype == np.float64 and x.shape == (n,) and np.all(np.isfinite(x))
    np.testing.assert_array_equal(x[:4], first)
    assert meta["package"] == "statsmodels" and meta["sample_rate"] > 0


def test_statsmodels_values_are_statsmodels_own() -> None:
    pytest.importorskip("statsmodels")
    from statsmodels.datasets import co2, elnino, sunspots

    frame = co2.load_pandas().data["co2"]
    np.testing.assert_array_equal(realdata.load_series("statsmodels.co2")[0], frame.dropna().to_numpy())
    table = elnino.load_pandas().data
    np.testing.assert_array_equal(
        realdata.load_series("statsmodels.elnino")[0][12:24], table.iloc[1, 1:].to_numpy(dtype=float)
    )  # 1951, Jan..Dec
    np.testing.assert_array_equal(
        realdata.load_series("statsmodels.sunspots")[0], sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
    )


# ---------------------------------------------------------------------- audio


def _wave_frames(path: str) -> tuple[np.ndarray, int]:
    """Decode a PCM WAV with the standard library only (the reference for our reader)."""
    with wave.open(path) as w:
        width, channels, raw = w.getsampwidth(), w.getnchannels(), w.readframes(w.getnframes())
    if width == 1:
        pcm = np.frombuffer(raw, np.uint8).astype(np.int16) - 128
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        pcm = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        pcm = np.where(pcm >= 1 << 23, pcm - (1 << 24), pcm)
    else:
        pcm = np.frombuffer(raw, f"<i{width}")
    return pcm.reshape(-1, channels) if channels > 1 else pcm, width * 8


@pytest.mark.parametrize("name", PLUCK)
def test_cpython_pluck_matches_the_wave_module(name: str) -> None:
    _need(name)
    x, meta = realdata.load_series(name)
    ref, bits = _wave_frames(meta["source"])
    assert x.dtype == {8: np.int8, 16: np.int16, 24: np.int32, 32: np.int32}[bits]
    assert x.shape == (3307, 2) and meta["channels"] == 2 and meta["sample_rate"] == 11025
    assert meta["bits"] == bits and meta["dtype"] == str(x.dtype)
    np.testing.assert_array_equal(x, ref)
    if bits == 24:  # the stored values, not libsndfile's left-justified ones
        assert x.min() >= -(1 << 23) and x.max() < 1 << 23 and np.abs(x).max() > 1 << 22


def test_cpython_pluck_resolutions_are_one_recording() -> None:
    for name in PLUCK:
        _need(name)
    x = {
        bits: realdata.load_series(f"cpython.pluck-pcm{bits}")[0].astype(np.float64) / 2.0 ** (bits - 1)
        for bits in (8, 16, 24, 32)
    }
    for bits in (8, 16, 24):
        assert np.abs(x[bits] - x[32]).max() <= 2.0 ** (1 - bits) * 8  # same samples, coarser grid
    assert np.corrcoef(x[16][:, 0], x[16][:, 1])[0, 1] < 0.99  # two different channels


def test_cpython_audiotest_is_g711_mu_law() -> None:
    _need("cpython.audiotest")
    from quantsig import G711Quantizer

    x, meta = realdata.load_series("cpython.audiotest")
    assert x.dtype == np.int16 and x.shape == (28110,) and meta["sample_rate"] == 8012
    assert meta["subtype"] == "ULAW" and meta["channels"] == 1
    raw = Path(meta["source"]).read_bytes()
    assert raw[:4] == b".snd" and int.from_bytes(raw[12:16], "big") == 1  # Sun .au, 8-bit mu-law
    codes = np.frombuffer(raw[int.from_bytes(raw[4:8], "big") :], np.uint8)
    np.testing.assert_array_equal(G711Quantizer(law="mu").decode(codes), x)
    assert len(np.unique(x)) <= 256


def test_pygame_sounds_match_the_wave_module() -> None:
    names = [n for n in realdata.KNOWN if n.startswith("pygame.")]
    if any(n in realdata.unavailable() for n in names):
        pytest.skip(realdata.unavailable()[names[0]])
    for name in names:
        x, meta = realdata.load_series(name)
        assert x.ndim == 1 and meta["sample_rate"] == 11025 and x.shape[0] > 1000
        if meta["subtype"] == "PCM_U8":
            assert x.dtype == np.int8
            np.testing.assert_array_equal(x, _wave_frames(meta["source"])[0])
        else:
            assert x.dtype == np.int16 and meta["subtype"] == "MS_ADPCM"


def test_loads_are_fresh_arrays() -> None:
    names = realdata.available()
    if not names:
        pytest.skip("no package shipping real data is installed")
    for name in names:
        a, _ = realdata.load_series(name)
        a[...] = 0
        b, _ = realdata.load_series(name)
        assert np.any(b != 0), name
