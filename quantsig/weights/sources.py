"""Where model weights come from: read one tensor at a time, whatever holds them.

``open_source`` accepts a ``.safetensors`` file, an ``.npz`` file, a PyTorch checkpoint
(``.pt``/``.pth``/``.bin``, loaded with ``weights_only=True`` and memory-mapped), a PyTorch
state dict or any mapping of names to NumPy arrays or torch tensors. Every source answers the
same three questions: the names, each tensor's shape and dtype (without reading its data), and
the tensor itself, read only when asked for.

``.safetensors`` files are parsed here (an 8-byte length, a JSON header, raw little-endian
data) rather than through ``safetensors.safe_open``, because NumPy has no bfloat16: a
``BF16`` tensor is widened exactly to float32 here (a bfloat16 is the top half of a float32),
and its dtype is still reported as ``"bfloat16"`` so the archive and ``load_model`` can give
it back as such. Every length and offset of the header is checked against the file before
anything is read.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import struct
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

__all__ = [
    "TensorInfo",
    "TensorSource",
    "open_source",
    "FLOAT_DTYPES",
    "to_numpy",
    "bf16_to_float32",
    "float32_to_bf16",
]

#: Dtype names of floating tensors (the ones that can be quantized).
FLOAT_DTYPES = ("float64", "float32", "float16", "bfloat16")

_ST_DTYPES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U8": "uint8",
    "U16": "uint16",
    "U32": "uint32",
    "U64": "uint64",
    "BOOL": "bool",
}
_MAX_ST_HEADER = 100 << 20  # the safetensors reference implementation's own limit
#: Largest single read of tensor data (Linux's read/pread return at most 2 GiB - 4 KiB).
_READ_CHUNK = 1 << 30


def _storage(dtype: str) -> np.dtype:
    """The NumPy dtype whose bytes hold a tensor of ``dtype`` (bfloat16: uint16)."""
    return np.dtype("<u2") if dtype == "bfloat16" else np.dtype(dtype).newbyteorder("<")


def bf16_to_float32(bits: np.ndarray) -> np.ndarray:
    """Widen raw bfloat16 bits (uint16) to float32, exactly.

    A bfloat16 is the top 16 bits of a float32, so every value (infinities and NaN included)
    has a float32 twin.

    Parameters
    ----------
    bits : ndarray of uint16
        Raw bfloat16 values, any shape.

    Returns
    -------
    ndarray of float32
        Same shape.

    See Also
    --------
    float32_to_bf16 : the other way, rounding to nearest even.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.weights.sources import bf16_to_float32, float32_to_bf16
    >>> bf16_to_float32(np.array([0x3F80, 0xC000, 0x3EAA, 0x7F80], dtype=np.uint16))
    array([ 1.        , -2.        ,  0.33203125,         inf], dtype=float32)
    >>> every = np.arange(1 << 16, dtype=np.uint16)            # all 65,536 bfloat16 values
    >>> x = bf16_to_float32(every)
    >>> ok = ~np.isnan(x)
    >>> np.array_equal(float32_to_bf16(x[ok]), every[ok])      # the round trip is exact
    True
    """
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


def float32_to_bf16(x: np.ndarray) -> np.ndarray:
    """Round float32 to bfloat16 bits (uint16), to nearest even (NaN kept NaN).

    Parameters
    ----------
    x : array_like
        Values (converted to float32 first), any shape.

    Returns
    -------
    ndarray of uint16
        The bfloat16 bits, same shape; every NaN becomes the quiet NaN ``0x7FC0``.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.weights.sources import bf16_to_float32, float32_to_bf16
    >>> x = np.array([1.0, 0.1, -2.5, 1 + 2**-8, 1 + 3 * 2**-8, np.nan], dtype=np.float32)
    >>> bits = float32_to_bf16(x)
    >>> [hex(b) for b in bits]          # ties (1 + 2**-8, 1 + 3 * 2**-8) go to the even neighbour
    ['0x3f80', '0x3dcd', '0xc020', '0x3f80', '0x3f82', '0x7fc0']
    >>> bf16_to_float32(bits)            # 8 bits of mantissa: 0.1 becomes 0.10009766
    array([ 1.        ,  0.10009766, -2.5       ,  1.        ,  1.015625  ,
                   nan], dtype=float32)
    """
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = (u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
    nan = np.isnan(x)
    out = rounded.astype(np.uint16)
    out[nan] = np.uint16(0x7FC0)
    return out


@dataclass(frozen=True)
class TensorInfo:
    """A tensor's name, shape and dtype name (``"float32"``, ``"bfloat16"``, ``"int64"`` ...).

    What ``TensorSource.infos`` gives, before any tensor data is read.

    Examples
    --------
    >>> from quantsig.weights.sources import TensorInfo
    >>> info = TensorInfo("embed.weight", (1000, 64), "bfloat16")
    >>> info.size, info.nbytes                  # bfloat16: 2 bytes a value
    (64000, 128000)
    >>> TensorInfo("step", (), "int64").nbytes  # a scalar
    8
    """

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def size(self) -> int:
        """Number of values (1 for a scalar)."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of the tensor in its own dtype (2 a value for bfloat16)."""
        return self.size * _storage(self.dtype).itemsize


class TensorSource:
    """Names, infos and lazily read tensors (float tensors come back as float32 for bfloat16).

    ``open_source`` makes one from a file or a mapping; subclass it (``infos`` and ``load``)
    to feed ``quantize_model`` from anything else, one tensor at a time. A source is a
    context manager (``close`` on exit).

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig import weights
    >>> from quantsig.weights.sources import TensorInfo, TensorSource
    >>> class Ramps(TensorSource):              # tensors computed when asked for
    ...     def __init__(self, shapes):
    ...         self.shapes = shapes
    ...     def infos(self):
    ...         return [TensorInfo(name, shape, "float32") for name, shape in self.shapes.items()]
    ...     def load(self, name):
    ...         return np.linspace(-1, 1, int(np.prod(self.shapes[name])), dtype=np.float32).reshape(self.shapes[name])
    >>> src = Ramps({"w": (64, 64), "b": (64,)})
    >>> weights.open_source(src) is src
    True
    >>> [(i.name, i.nbytes) for i in src.infos()]
    [('w', 16384), ('b', 256)]
    >>> qm = weights.quantize_model(src, method="uniform", bits=8)
    >>> qm.report()["scheme"].tolist()
    ['uniform:8:g32', 'exact']
    """

    def infos(self) -> list[TensorInfo]:  # pragma: no cover - interface
        """Name, shape and dtype of every tensor, in order (no data is read)."""
        raise NotImplementedError

    def load(self, name: str) -> np.ndarray:  # pragma: no cover - interface
        """The tensor ``name`` as a NumPy array (bfloat16 widened to float32)."""
        raise NotImplementedError

    #: Size of the source on disk (None for in-memory sources: the tensors' bytes are used).
    file_size: int | None = None

    def close(self) -> None:
        """Release the file, if any (the base class holds none)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def to_numpy(value: Any) -> tuple[np.ndarray, str]:
    """A NumPy array and its dtype name from a NumPy array or a torch tensor (bfloat16 ->
    float32, exactly).

    Parameters
    ----------
    value : array_like or torch.Tensor
        A tensor (moved to the CPU and detached) or anything ``numpy.asarray`` takes.

    Returns
    -------
    arr : ndarray
    dtype : str
        The tensor's own dtype name: ``"bfloat16"`` for a torch bfloat16 tensor (``arr``
        is then float32), ``arr.dtype.name`` otherwise.

    Raises
    ------
    TypeError
        A value that is not numeric data.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.weights.sources import to_numpy
    >>> arr, name = to_numpy(np.ones((2, 3), np.float16))
    >>> arr.shape, name
    ((2, 3), 'float16')
    >>> to_numpy([0.5, 1.5])
    (array([0.5, 1.5]), 'float64')
    >>> to_numpy({"not": "a tensor"})
    Traceback (most recent call last):
    ...
    TypeError: cannot use a value of type dict as a tensor
    """
    if hasattr(value, "detach") and hasattr(value, "dtype") and not isinstance(value, np.ndarray):
        t = value.detach().cpu()
        name = str(t.dtype).replace("torch.", "")
        if name == "bfloat16":
            import torch

            return bf16_to_float32(t.contiguous().view(torch.int16).numpy().view(np.uint16)), "bfloat16"
        return t.numpy(), name
    arr = np.asarray(value)
    if arr.dtype == object:
        raise TypeError(f"cannot use a value of type {type(value).__name__} as a tensor")
    return arr, arr.dtype.name


class _MappingSource(TensorSource):
    def __init__(self, mapping: Mapping[str, Any]) -> None:
        self._m = mapping
        self._infos = []
        for name, value in mapping.items():
            if not isinstance(name, str):
                raise TypeError(f"tensor names must be strings, got {name!r}")
            shape = tuple(int(s) for s in getattr(value, "shape", np.shape(value)))
            dtype = getattr(value, "dtype", None)
            dname = str(dtype).replace("torch.", "") if dtype is not None else to_numpy(value)[1]
            if isinstance(dtype, np.dtype):
                dname = dtype.name
            self._infos.append(TensorInfo(name, shape, dname))

    def infos(self) -> list[TensorInfo]:
        return list(self._infos)

    def load(self, name: str) -> np.ndarray:
        return to_numpy(self._m[name])[0]


class _SafetensorsSource(TensorSource):
    def __init__(self, path: str) -> None:
        self.path = path
        self._f = open(path, "rb")  # noqa: SIM115 (the object owns the file; close() closes it)
        self.file_size = os.fstat(self._f.fileno()).st_size
        try:
            self._parse()
        except BaseException:
            self._f.close()
            raise

    def _parse(self) -> None:
        from ..errors import CorruptFileError

        def bad(msg: str) -> CorruptFileError:
            return CorruptFileError(f"{self.path}: not a valid safetensors file: {msg}")

        head = os.pread(self._f.fileno(), 8, 0)
        if len(head) < 8:
            raise bad("shorter than its 8-byte header length")
        (n,) = struct.unpack("<Q", head)
        if n > _MAX_ST_HEADER or 8 + n > self.file_size:
            raise bad(f"header length {n} exceeds the file ({self.file_size} bytes) or the limit")
        try:
            doc = json.loads(os.pread(self._f.fileno(), n, 8))
        except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError; deep nesting
            raise bad(f"header is not JSON ({e})") from None
        if not isinstance(doc, dict):
            raise bad("header is not a JSON object")
        self.metadata = doc.pop("__metadata__", None)
        base = 8 + n
        self._where: dict[str, tuple[int, int]] = {}
        self._infos = []
        for name, entry in doc.items():
            if not isinstance(entry, dict):
                raise bad(f"entry {name!r} is not an object")
            dt = _ST_DTYPES.get(entry["dtype"]) if isinstance(entry.get("dtype"), str) else None
            shape = entry.get("shape")
            offs = entry.get("data_offsets")
            if dt is None:
                raise bad(f"tensor {name!r} has unsupported dtype {entry.get('dtype')!r}")
            if not (
                isinstance(shape, list)
                and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
            ):
                raise bad(f"tensor {name!r} has invalid shape {shape!r}")
            if not (
                isinstance(offs, list)
                and len(offs) == 2
                and all(isinstance(o, int) and not isinstance(o, bool) for o in offs)
            ):
                raise bad(f"tensor {name!r} has invalid data_offsets {offs!r}")
            info = TensorInfo(name, tuple(shape), dt)
            begin, end = offs
            if not (0 <= begin <= end and base + end <= self.file_size and end - begin == info.nbytes):
                raise bad(f"tensor {name!r}: data_offsets {offs} do not fit its {info.nbytes} bytes in the file")
            self._where[name] = (base + begin, info.nbytes)
            self._infos.append(info)

    def infos(self) -> list[TensorInfo]:
        return list(self._infos)

    def load(self, name: str) -> np.ndarray:
        info = next(i for i in self._infos if i.name == name)
        offset, nbytes = self._where[name]
        arr = np.frombuffer(self._read(offset, nbytes, name), dtype=_storage(info.dtype)).reshape(info.shape)
        if info.dtype == "bfloat16":
            return bf16_to_float32(arr)
        return arr.astype(arr.dtype.newbyteorder("="), copy=False)

    def _read(self, offset: int, nbytes: int, name: str) -> Any:
        """``nbytes`` at ``offset``: one ``pread``, or several for tensors larger than
        ``_READ_CHUNK`` (Linux returns at most about 2 GiB per call)."""
        fd = self._f.fileno()
        if nbytes <= _READ_CHUNK:
            data: Any = os.pread(fd, nbytes, offset)
            pos = len(data)
        else:
            data = np.empty(nbytes, dtype=np.uint8)
            pos = 0
            while pos < nbytes:
                chunk = os.pread(fd, min(nbytes - pos, _READ_CHUNK), offset + pos)
                if not chunk:
                    break
                data[pos : pos + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
                pos += len(chunk)
        if pos != nbytes:
            raise OSError(f"{self.path}: short read of tensor {name!r}")
        return data

    def close(self) -> None:
        self._f.close()


class _NpzSource(TensorSource):
    def __init__(self, path: str) -> None:
        from ..errors import CorruptFileError

        self.path = path
        self.file_size = os.path.getsize(path)
        self._infos = []
        try:
            with zipfile.ZipFile(path) as zf:
                members = set(zf.namelist())
                self._npz = np.load(path, allow_pickle=False)
                for key in self._npz.files:
                    member = key + ".npy" if key + ".npy" in members else key
                    with zf.open(member) as f:
                        shape, dtype = _npy_header(f)
                    self._infos.append(TensorInfo(key, shape, dtype.name))
        except (zipfile.BadZipFile, ValueError, EOFError, KeyError) as e:
            if hasattr(self, "_npz"):
                self._npz.close()
            raise CorruptFileError(f"{path}: not a valid .npz file: {e}") from None

    def infos(self) -> list[TensorInfo]:
        return list(self._infos)

    def load(self, name: str) -> np.ndarray:
        return np.asarray(self._npz[name])

    def close(self) -> None:
        self._npz.close()


def _npy_header(f: Any) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a ``.npy`` header, without reading the data."""
    fmt = np.lib.format
    version = fmt.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, _, dtype = fmt.read_array_header_2_0(f)
    else:  # 3.0 (utf-8 field names): NumPy's private reader, where this NumPy keeps it
        import importlib

        impl = getattr(fmt, "_read_array_header", None)
        if impl is None:
            impl = importlib.import_module("numpy.lib._format_impl")._read_array_header
        shape, _, dtype = impl(f, version)
    return tuple(shape), np.dtype(dtype)


def _torch_file(path: str) -> TensorSource:
    try:
        import torch
    except ImportError:
        raise ImportError(f"reading {path} needs PyTorch (pip install torch)") from None
    from ..errors import CorruptFileError

    try:  # a memory map needs the zip format of torch.save (the default since PyTorch 1.6)
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except (RuntimeError, pickle.UnpicklingError, EOFError) as e:
        raise CorruptFileError(f"{path}: not a PyTorch checkpoint of tensors: {' '.join(str(e).split())}") from None
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise TypeError(f"{path} holds a {type(obj).__name__}, not a state dict")
    src = _MappingSource({k: v for k, v in obj.items() if hasattr(v, "shape")})
    src.file_size = os.path.getsize(path)
    return src


def open_source(source: Any) -> TensorSource:
    """A ``TensorSource`` for a path (``.safetensors``, ``.npz``, ``.pt``/``.pth``/``.bin``),
    a mapping of names to arrays/tensors, or a ``torch.nn.Module`` (its ``state_dict()``).

    Raises
    ------
    FileNotFoundError, ValueError, TypeError
        A missing file, an unknown extension, or an object that holds no tensors.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from quantsig.weights import open_source
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "model.npz")
    ...     np.savez(path, weight=np.ones((4, 8), np.float32), step=np.array(3, dtype=np.int64))
    ...     with open_source(path) as src:                     # headers only, so far
    ...         infos = src.infos()
    ...         w = src.load("weight")
    >>> infos
    [TensorInfo(name='weight', shape=(4, 8), dtype='float32'), TensorInfo(name='step', shape=(), dtype='int64')]
    >>> w.shape, w.dtype
    ((4, 8), dtype('float32'))
    >>> open_source({"fc.weight": np.zeros((2, 3))}).infos()   # a dict (or a torch state dict)
    [TensorInfo(name='fc.weight', shape=(2, 3), dtype='float64')]
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "model.onnx")
    ...     open(path, "wb").close()
    ...     open_source(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...model.onnx: unknown weights format '.onnx'; expected .safetensors, .npz, .pt, .pth or .bin
    """
    if isinstance(source, TensorSource):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(2, "No such file or directory", path)
        ext = os.path.splitext(path)[1].lower()
        if ext == ".safetensors":
            return _SafetensorsSource(path)
        if ext == ".npz":
            return _NpzSource(path)
        if ext in (".pt", ".pth", ".bin"):
            return _torch_file(path)
        raise ValueError(f"{path}: unknown weights format {ext!r}; expected .safetensors, .npz, .pt, .pth or .bin")
    if hasattr(source, "state_dict") and callable(source.state_dict):
        return _MappingSource(source.state_dict())
    if isinstance(source, Mapping):
        return _MappingSource(source)
    raise TypeError(
        f"source must be a path, a mapping of names to arrays/tensors or a torch module, got {type(source).__name__}"
    )
