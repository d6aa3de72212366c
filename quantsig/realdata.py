"""Real measured signals that installed packages ship: no network, ever.

Tests and benchmarks need real data next to the generated signals of
``quantsig.datasets``: measured sensor series and audio recordings whose statistics no
generator imitates. Nothing here downloads anything; every signal is a file that an
installed package already carries, read straight from that package:

=========================  ======================================  ==============================
name                       what it is                              shipped by (pip install ...)
=========================  ======================================  ==============================
``pywt.ecg``               1,024 samples of an electrocardiogram   ``PyWavelets``
``pywt.sst_nino3``         monthly Nino 3 sea surface temperature  ``PyWavelets``
                           (deg C), 1950-2016, 800 months
``statsmodels.co2``        weekly Mauna Loa CO2 (ppmv), 1958-2001  ``statsmodels``
``statsmodels.elnino``     monthly sea surface temperature         ``statsmodels``
                           (deg C), 1950-2010
``statsmodels.sunspots``   yearly sunspot numbers, 1700-2008       ``statsmodels``
``statsmodels.nile``       yearly Nile flow at Aswan, 1871-1970    ``statsmodels``
``cpython.pluck-pcm8``     a plucked string, stereo, 11,025 Hz,    CPython's ``test`` package
``cpython.pluck-pcm16``    0.3 s, at 8, 16, 24 and 32 bits         (Debian/Ubuntu:
``cpython.pluck-pcm24``                                            ``libpython3.X-testsuite``)
``cpython.pluck-pcm32``
``cpython.audiotest``      a mono mu-law recording, 8,012 Hz, 3.5 s  CPython's ``test`` package
``pygame.house_lo`` ...    the sound files of pygame's examples    ``pygame``
                           (8-bit PCM and MS ADPCM, 11,025 Hz)
=========================  ======================================  ==============================

Series come back as float64 arrays of shape ``(n,)``. Audio comes back as integer PCM in the
file's own resolution, shape ``(n,)`` for mono and ``(n, channels)`` otherwise: ``int8`` for
8-bit files, ``int16`` for 16-bit files and for mu-law, A-law and ADPCM files (decoded to 16
bits, as every player does), and ``int32`` for 24- and 32-bit files. A 24-bit file keeps its
sample values as stored, in ``[-2**23, 2**23)`` (not shifted up to fill 32 bits); its
``info["bits"]`` is 24.

Examples
--------
>>> from quantsig import realdata
>>> names = realdata.list_series()          # what this machine has
>>> all(realdata.info(name)["kind"] == "series" for name in names)
True
>>> realdata.load_series("no.such.series")
Traceback (most recent call last):
...
LookupError: unknown real signal 'no.such.series'; known: ...
"""

from __future__ import annotations

import importlib.util
import sysconfig
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "KNOWN",
    "audio_recordings",
    "available",
    "info",
    "list_series",
    "load_series",
    "unavailable",
]

_SECONDS_PER_YEAR = 365.2425 * 86400.0


@dataclass(frozen=True)
class _Source:
    """One real signal: where it lives and how to read it (loaded only on request)."""

    name: str
    kind: str  # "series" or "audio"
    package: str  # the pip package that ships it ("" for CPython's own test package)
    module: str  # the importable module that holds the file
    description: str
    units: str
    sampling: str
    sample_rate: float | None
    locate: Callable[[], Path]  # raises ImportError / LookupError when missing
    read: Callable[[Path], np.ndarray]


# ---------------------------------------------------------------------- locating files


def _package_dir(module: str, pip_name: str) -> Path:
    """The folder of an installed package, found without importing it (pygame greets on import)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"this real signal is shipped by the {pip_name!r} package, which is not installed; pip install {pip_name}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _package_file(module: str, pip_name: str, relative: str) -> Path:
    path = _package_dir(module, pip_name) / relative
    if not path.is_file():
        raise LookupError(f"{pip_name} is installed but does not ship {relative} ({path} is missing)")
    return path


def _cpython_test_file(*candidates: str) -> Path:
    """A data file of CPython's own ``test`` package (the first candidate path that exists)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for relative in candidates:
        path = stdlib / "test" / relative
        if path.is_file():
            return path
    major, minor = sysconfig.get_python_version().split(".")
    raise LookupError(
        f"this Python ({stdlib}) has no test/{candidates[0]}: its 'test' package is not installed "
        f"(Debian/Ubuntu: apt install libpython{major}.{minor}-testsuite)"
    )


# ---------------------------------------------------------------------- readers


def _read_npz_column(path: Path, column: int | None = None) -> np.ndarray:
    with np.load(path) as npz:
        data = np.asarray(npz["data"])
    if column is not None:
        data = data[:, column]
    return np.ascontiguousarray(data, dtype=np.float64)


def _statsmodels_reader(dataset: str) -> Callable[[Path], np.ndarray]:
    """Read a statsmodels dataset through statsmodels' own loader; return its series as float64."""

    def read(_path: Path) -> np.ndarray:
        import importlib

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas/statsmodels deprecation chatter
            frame = importlib.import_module(f"statsmodels.datasets.{dataset}").load_pandas().data
        if dataset == "co2":
            values = frame["co2"].to_numpy(dtype=np.float64)
            values = values[np.isfinite(values)]  # 59 weeks without a measurement are dropped
        elif dataset == "elnino":
            values = frame.drop(columns="YEAR").to_numpy(dtype=np.float64).ravel()  # row by row
        elif dataset == "sunspots":
            values = frame["SUNACTIVITY"].to_numpy(dtype=np.float64)
        else:  # nile
            values = frame["volume"].to_numpy(dtype=np.float64)
        return np.ascontiguousarray(values)

    return read


def _read_pcm(path: Path) -> np.ndarray:
    """Integer PCM in the file's own resolution (see the module docstring)."""
    import soundfile as sf

    subtype = sf.info(str(path)).subtype
    if subtype in ("PCM_24", "PCM_32"):
        data, _ = sf.read(str(path), dtype="int32", always_2d=False)
        if subtype == "PCM_24":
            data >>= 8  # libsndfile left-justifies 24-bit samples in int32; undo it exactly
    else:
        data, _ = sf.read(str(path), dtype="int16", always_2d=False)
        if subtype in ("PCM_S8", "PCM_U8"):
            data = (data >> 8).astype(np.int8)  # 8-bit samples come back shifted up by 8
    return np.ascontiguousarray(data)


# ---------------------------------------------------------------------- the catalogue


def _pywt(relative: str) -> Callable[[], Path]:
    return lambda: _package_file("pywt", "PyWavelets", f"data/{relative}")


def _statsmodels(dataset: str) -> Callable[[], Path]:
    return lambda: _package_file("statsmodels", "statsmodels", f"datasets/{dataset}/{dataset}.csv")


def _cpython(*candidates: str) -> Callable[[], Path]:
    return lambda: _cpython_test_file(*candidates)


def _pygame(file: str) -> Callable[[], Path]:
    return lambda: _package_file("pygame", "pygame", f"examples/data/{file}")


_MONTHLY = 12.0 / _SECONDS_PER_YEAR
_YEARLY = 1.0 / _SECONDS_PER_YEAR

_SOURCES: tuple[_Source, ...] = (
    _Source(
        "pywt.ecg",
        "series",
        "PyWavelets",
        "pywt",
        "1,024 samples of an electrocardiogram (pywt.data.ecg, data/ecg.npz)",
        "integer ADC units, as shipped",
        "unstated by PyWavelets",
        None,
        _pywt("ecg.npz"),
        _read_npz_column,
    ),
    _Source(
        "pywt.sst_nino3",
        "series",
        "PyWavelets",
        "pywt",
        "monthly mean sea surface temperature of the Nino 3 region, Jan 1950 to Aug 2016 "
        "(NOAA ERSSTv4; column 4 of data/sst_nino3.npz, the raw series behind pywt.data.nino)",
        "deg C",
        "monthly",
        _MONTHLY,
        _pywt("sst_nino3.npz"),
        lambda p: _read_npz_column(p, 4),
    ),
    _Source(
        "statsmodels.co2",
        "series",
        "statsmodels",
        "statsmodels",
        "weekly atmospheric CO2 at Mauna Loa, Mar 1958 to Dec 2001 (statsmodels.datasets.co2; "
        "the 59 weeks without a measurement are dropped)",
        "ppmv",
        "weekly",
        1.0 / (7 * 86400.0),
        _statsmodels("co2"),
        _statsmodels_reader("co2"),
    ),
    _Source(
        "statsmodels.elnino",
        "series",
        "statsmodels",
        "statsmodels",
        "monthly sea surface temperature, Jan 1950 to Dec 2010 (statsmodels.datasets.elnino, row by row)",
        "deg C",
        "monthly",
        _MONTHLY,
        _statsmodels("elnino"),
        _statsmodels_reader("elnino"),
    ),
    _Source(
        "statsmodels.sunspots",
        "series",
        "statsmodels",
        "statsmodels",
        "yearly sunspot numbers, 1700 to 2008 (statsmodels.datasets.sunspots)",
        "sunspot number",
        "yearly",
        _YEARLY,
        _statsmodels("sunspots"),
        _statsmodels_reader("sunspots"),
    ),
    _Source(
        "statsmodels.nile",
        "series",
        "statsmodels",
        "statsmodels",
        "yearly flow of the Nile at Aswan, 1871 to 1970 (statsmodels.datasets.nile)",
        "1e8 m^3",
        "yearly",
        _YEARLY,
        _statsmodels("nile"),
        _statsmodels_reader("nile"),
    ),
    *(
        _Source(
            f"cpython.pluck-pcm{bits}",
            "audio",
            "",
            "test",
            f"a plucked string, stereo, {bits}-bit PCM WAV (CPython's test/audiodata/pluck-pcm{bits}.wav)",
            "PCM",
            "11025 Hz",
            11025.0,
            _cpython(f"audiodata/pluck-pcm{bits}.wav"),
            _read_pcm,
        )
        for bits in (8, 16, 24, 32)
    ),
    _Source(
        "cpython.audiotest",
        "audio",
        "",
        "test",
        "a short mono recording, G.711 mu-law, 8012 Hz (CPython's test/audiotest.au, also "
        "test/test_email/data/sndhdr.au), decoded to 16-bit PCM",
        "PCM",
        "8012 Hz",
        8012.0,
        _cpython("audiotest.au", "test_email/data/sndhdr.au"),
        _read_pcm,
    ),
    *(
        _Source(
            f"pygame.{stem}",
            "audio",
            "pygame",
            "pygame",
            f"{what} from pygame's examples (examples/data/{stem}.wav, {fmt})",
            "PCM",
            "11025 Hz",
            11025.0,
            _pygame(f"{stem}.wav"),
            _read_pcm,
        )
        for stem, what, fmt in (
            ("house_lo", "a music loop", "8-bit PCM"),
            ("secosmic_lo", "a music excerpt", "MS ADPCM, decoded to 16 bits"),
            ("boom", "a sound effect", "8-bit PCM"),
            ("car_door", "a sound effect", "8-bit PCM"),
            ("punch", "a sound effect", "8-bit PCM"),
            ("whiff", "a sound effect", "8-bit PCM"),
        )
    ),
)
_BY_NAME: dict[str, _Source] = {s.name: s for s in _SOURCES}

#: Every real signal this module knows, available on this machine or not.
KNOWN: tuple[str, ...] = tuple(_BY_NAME)


def _source(name: str) -> _Source:
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise LookupError(f"unknown real signal {name!r}; known: {', '.join(KNOWN)}") from None


def _missing_reason(source: _Source) -> str | None:
    try:
        source.locate()
    except (ImportError, LookupError) as exc:
        return str(exc)
    return None


# ---------------------------------------------------------------------- public API


def unavailable() -> dict[str, str]:
    """The known signals this machine lacks, each with what to install to get it.

    Returns
    -------
    dict of str -> str
        Name -> the reason (naming the package to install).

    Examples
    --------
    >>> from quantsig import realdata
    >>> missing = realdata.unavailable()
    >>> set(missing).isdisjoint(realdata.available())      # every known signal is in exactly one
    True
    >>> sorted([*missing, *realdata.available()]) == sorted(realdata.KNOWN)
    True
    >>> all("install" in reason for reason in missing.values())   # each says what to install
    True
    """
    reasons = {s.name: _missing_reason(s) for s in _SOURCES}
    return {name: reason for name, reason in reasons.items() if reason is not None}


def available() -> list[str]:
    """Names of every real signal (series and audio) present on this machine, in catalogue order.

    Returns
    -------
    list of str
        The names of ``KNOWN`` whose package (and file) is installed: ``list_series`` and
        ``audio_recordings`` together.

    Examples
    --------
    >>> from quantsig import realdata
    >>> names = realdata.available()
    >>> names == [n for n in realdata.KNOWN if n in names]       # a part of the catalogue, in order
    True
    >>> sorted(names) == sorted(realdata.list_series() + realdata.audio_recordings())
    True
    >>> all(realdata.info(n)["available"] for n in names)
    True
    """
    missing = unavailable()
    return [name for name in KNOWN if name not in missing]


def list_series() -> list[str]:
    """Names of the real measured 1-D series present on this machine.

    Returns
    -------
    list of str
        Names for ``load_series``, e.g. ``"statsmodels.co2"``; empty when no package that
        ships one is installed.

    Examples
    --------
    The series this module knows (installed or not), and those this machine has:

    >>> from quantsig import realdata
    >>> [n for n in realdata.KNOWN if realdata.info(n)["kind"] == "series"]
    ['pywt.ecg', 'pywt.sst_nino3', 'statsmodels.co2', 'statsmodels.elnino', 'statsmodels.sunspots', 'statsmodels.nile']
    >>> set(realdata.list_series()) <= set(realdata.KNOWN)
    True
    >>> all(realdata.info(n)["kind"] == "series" for n in realdata.list_series())
    True
    """
    return [name for name in available() if _BY_NAME[name].kind == "series"]


def audio_recordings() -> list[str]:
    """Names of the real audio recordings present on this machine.

    Returns
    -------
    list of str
        Names for ``load_series``, e.g. ``"cpython.pluck-pcm16"``.

    Examples
    --------
    >>> from quantsig import realdata
    >>> known = [n for n in realdata.KNOWN if realdata.info(n)["kind"] == "audio"]
    >>> known[:5]
    ['cpython.pluck-pcm8', 'cpython.pluck-pcm16', 'cpython.pluck-pcm24', 'cpython.pluck-pcm32', 'cpython.audiotest']
    >>> set(realdata.audio_recordings()) <= set(known)     # those this machine has
    True
    >>> realdata.info("cpython.pluck-pcm16")["sample_rate"]
    11025.0
    """
    return [name for name in available() if _BY_NAME[name].kind == "audio"]


def info(name: str) -> dict[str, Any]:
    """What a signal is, without loading it (and whether this machine has it).

    Parameters
    ----------
    name : str
        One of ``KNOWN``.

    Returns
    -------
    dict
        ``name``, ``kind`` (``"series"`` or ``"audio"``), ``description``, ``units``,
        ``sampling`` (in words), ``sample_rate`` (Hz, None when the package does not say),
        ``package`` (what to ``pip install``; ``""`` for CPython's test package) and
        ``available`` / ``missing`` (the reason it is unavailable, or None).

    Raises
    ------
    LookupError
        For an unknown name.

    Examples
    --------
    >>> from quantsig import realdata
    >>> meta = realdata.info("statsmodels.nile")             # nothing is loaded
    >>> meta["kind"], meta["units"], meta["sampling"], meta["package"]
    ('series', '1e8 m^3', 'yearly', 'statsmodels')
    >>> meta["available"] == ("statsmodels.nile" in realdata.available())
    True
    >>> meta["available"] or "statsmodels" in meta["missing"]     # else: what to install
    True
    >>> realdata.info("nile")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    LookupError: unknown real signal 'nile'; known: pywt.ecg, pywt.sst_nino3, ...
    """
    source = _source(name)
    reason = _missing_reason(source)
    return {
        "name": source.name,
        "kind": source.kind,
        "description": source.description,
        "units": source.units,
        "sampling": source.sampling,
        "sample_rate": source.sample_rate,
        "package": source.package,
        "available": reason is None,
        "missing": reason,
    }


def load_series(name: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Load a real measured series or audio recording from the package that ships it.

    Parameters
    ----------
    name : str
        A name from ``list_series`` or ``audio_recordings`` (any of ``KNOWN``).

    Returns
    -------
    data : ndarray
        A series: float64, shape ``(n,)``. Audio: integer PCM (``int8``, ``int16`` or
        ``int32``, see the module docstring), shape ``(n,)`` mono or ``(n, channels)``.
        A fresh array the caller may modify.
    info : dict
        ``info``'s description plus ``source`` (the file read), ``dtype``, ``shape``,
        ``n_samples`` (rows) and, for audio, ``channels``, ``subtype`` and ``bits``.

    Raises
    ------
    LookupError
        For an unknown name, or a package installed without the file.
    ImportError
        When the package that ships the signal is not installed (the message says what to
        ``pip install``).

    Examples
    --------
    >>> from quantsig.realdata import load_series
    >>> load_series("pywt.nothing")
    Traceback (most recent call last):
    ...
    LookupError: unknown real signal 'pywt.nothing'; known: ...
    """
    source = _source(name)
    path = source.locate()
    data = source.read(path)
    if not (data.flags.writeable and data.flags.c_contiguous and data.flags.owndata):
        data = np.array(data, order="C")  # e.g. pandas hands out read-only views
    meta = info(name)
    meta.update(source=str(path), dtype=str(data.dtype), shape=tuple(data.shape), n_samples=int(data.shape[0]))
    if source.kind == "audio":
        import soundfile as sf

        file_info = sf.info(str(path))
        meta.update(
            channels=int(file_info.channels),
            subtype=str(file_info.subtype),
            bits={"PCM_S8": 8, "PCM_U8": 8, "PCM_24": 24, "PCM_32": 32}.get(file_info.subtype, 16),
            sample_rate=float(file_info.samplerate),
        )
    return data, meta
