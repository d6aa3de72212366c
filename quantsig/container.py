"""The ``.qsg`` container: bytes, sections, checksums and limits (no quantizer maths).

Layout (little-endian throughout; the full specification is ``docs/format.md``)::

    file    = preamble header_json arrays header_crc frame* index trailer
    preamble= MAGIC(8) version:u16 flags:u16 header_len:u32
    arrays  = n_arrays:u32 { name_len:u16 name dtype_len:u8 dtype ndim:u8 shape:u64*ndim data }
    frame   = b"QF" kind:u8 reserved:u8 n_values:u32 payload_len:u32 payload crc32:u32
    index   = b"QIDX" n_frames:u32 { offset:u64 first:u64 n_values:u32 } crc32:u32
    trailer = index_offset:u64 b"QEND"

``header_crc`` covers the preamble, the JSON header and the arrays. Each frame's CRC covers
its own header and payload. The index lets a reader seek to any frame; a file cut off before
its index still holds every complete frame, which ``scan_frames`` recovers.

Every length, count and offset read from a file is checked against the bytes actually present
and against hard limits before anything is allocated; any violation raises
``CorruptFileError`` naming what is wrong.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .errors import CorruptFileError

__all__ = [
    "MAGIC",
    "FORMAT_VERSION",
    "FrameKind",
    "Header",
    "FrameInfo",
    "ContainerWriter",
    "read_header",
    "read_index",
    "scan_frames",
    "frame_payload",
    "UnsupportedVersionError",
    "FileView",
]

MAGIC = b"\x89QSG\r\n\x1a\n"
FORMAT_VERSION = 1

MAX_HEADER_BYTES = 16 << 20
MAX_ARRAYS = 4096
MAX_NDIM = 32
MAX_FRAME_VALUES = (1 << 31) - 1
MAX_ARRAY_DIM = 1 << 32

_PREAMBLE = struct.Struct("<8sHHI")
_ARRAY_HEAD = struct.Struct("<H")
_FRAME_HEAD = struct.Struct("<2sBBII")
_INDEX_HEAD = struct.Struct("<4sI")
_INDEX_ENTRY = struct.Struct("<QQI")
_TRAILER = struct.Struct("<Q4s")
_CRC = struct.Struct("<I")

_ALLOWED_ARRAY_DTYPES = {"<f8", "<f4", "<i8", "<i4", "<u8", "<u4", "<u2", "<u1", "<i2", "|u1", "|i1"}


class UnsupportedVersionError(CorruptFileError):
    """The file was written by a newer quantsig format version than this reader knows.

    Examples
    --------
    The format version is the ``u16`` after the 8 magic bytes; a file claiming version 2:

    >>> import numpy as np, quantsig
    >>> blob = quantsig.compress(np.zeros(100), quantsig.UniformQuantizer(step=0.1))
    >>> newer = blob[:8] + (2).to_bytes(2, "little") + blob[10:]
    >>> quantsig.decompress(newer)
    Traceback (most recent call last):
        ...
    quantsig.container.UnsupportedVersionError: file format version 2 is newer than this quantsig reads (1); upgrade quantsig to read it

    It is a ``CorruptFileError``, so code that handles those handles it too:

    >>> issubclass(quantsig.container.UnsupportedVersionError, quantsig.CorruptFileError)
    True
    """


class FrameKind:
    """Frame payload kinds.

    ``RAW``: bit-packed codes; ``RANS``: an rANS block of codes; ``STREAM``: a stream frame
    (predictor parameters and coded residuals); ``META``: a JSON document describing the
    frames that follow (weights archives). ``NAMES`` maps each kind to its name.

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> from quantsig.container import FrameKind, read_header, read_index
    >>> FrameKind.RANS, FrameKind.NAMES[FrameKind.RANS]
    (1, 'rans')
    >>> x = np.zeros(1000)
    >>> for entropy in ("rans", "raw"):
    ...     blob = quantsig.Codec(quantsig.UniformQuantizer(step=0.1), entropy=entropy).compress(x)
    ...     frames = read_index(blob, read_header(blob))
    ...     print(entropy, [FrameKind.NAMES[f.kind] for f in frames])
    rans ['rans']
    raw ['raw']
    """

    RAW = 0
    RANS = 1
    STREAM = 2  # a stream frame: predictor parameters and coded residuals (see stream.py)
    META = 3  # a JSON document describing the frames that follow (weights archives)
    NAMES: ClassVar[dict[int, str]] = {RAW: "raw", RANS: "rans", STREAM: "stream", META: "meta"}


@dataclass
class Header:
    """The parsed file header: the JSON document and its binary arrays.

    Attributes
    ----------
    doc : dict
        The JSON document, with the binary arrays put back in place.
    arrays : dict of str to ndarray
        The arrays stored in binary after the JSON text (learned tables of 4 or more values).
    version : int
        The file's format version.
    end : int
        Offset of the first frame (the header's size in bytes).

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> from quantsig.container import read_header
    >>> q = quantsig.LloydMaxQuantizer(8).fit(np.random.default_rng(0).standard_normal(500))
    >>> blob = quantsig.compress(np.zeros(100), q, metadata={"units": "V"})
    >>> h = read_header(blob)
    >>> h.version, h.doc["kind"], h.doc["shape"], h.doc["metadata"], h.doc["quantizer"]["id"]
    (1, 'array', [100], {'units': 'V'}, 'lloyd-max')

    The learned tables (7 thresholds, 8 levels) travel as exact float64 binary, not decimal text:

    >>> sorted(h.arrays), [a.shape for a in h.arrays.values()]
    (['a0', 'a1'], [(7,), (8,)])
    >>> np.array_equal(h.doc["quantizer"]["levels_"], q.levels_)
    True
    """

    doc: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    version: int = FORMAT_VERSION
    end: int = 0  # offset of the first frame


@dataclass
class FrameInfo:
    """Where a frame is and what it holds.

    Attributes
    ----------
    offset : int
        Offset of the frame's header in the file.
    first : int
        Index of the frame's first value among all the file's values.
    n_values : int
        Values in the frame.
    kind : int
        A ``FrameKind``.
    payload_len : int
        Payload bytes (between the frame's header and its CRC).

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> from quantsig.container import read_header, read_index
    >>> codec = quantsig.Codec(quantsig.UniformQuantizer(step=0.1), entropy="raw", frame_size=400)
    >>> blob = codec.compress(np.zeros(1000))
    >>> frames = read_index(blob, read_header(blob))
    >>> [(f.first, f.n_values) for f in frames]
    [(0, 400), (400, 400), (800, 200)]
    >>> frames[1].offset == frames[0].offset + frames[0].size
    True
    """

    offset: int
    first: int
    n_values: int
    kind: int = FrameKind.RANS
    payload_len: int = 0

    @property
    def size(self) -> int:
        """Bytes the frame occupies in the file (header, payload, CRC)."""
        return _FRAME_HEAD.size + self.payload_len + _CRC.size


def _corrupt(msg: str) -> CorruptFileError:
    return CorruptFileError(f"corrupt quantsig file: {msg}")


class FileView:
    """A file's bytes by slicing, read on demand with ``os.pread``.

    ``read_header``, ``read_index``, ``scan_frames`` and ``frame_payload``
    accept it in place of a buffer, so a reader touches only the bytes it parses (the header,
    the index, one frame header per frame) and its memory does not grow with the file. (A
    memory map would do the same in principle, but the kernel maps pages around each touched
    one, so parsing one frame header per 30 KB frame maps the whole file.)

    Parameters
    ----------
    fileno : int
        A file descriptor open for reading (the caller keeps it open while the view is used).

    Examples
    --------
    >>> import tempfile, numpy as np, quantsig
    >>> from quantsig.container import FileView, read_header, read_index
    >>> blob = quantsig.compress(np.zeros(1000), quantsig.UniformQuantizer(step=0.1))
    >>> with tempfile.TemporaryFile() as f:
    ...     _ = f.write(blob)
    ...     f.flush()
    ...     view = FileView(f.fileno())
    ...     header = read_header(view)
    ...     print(len(view) == len(blob), view[:8] == blob[:8], header.doc["shape"], len(read_index(view, header)))
    True True [1000] 1
    """

    def __init__(self, fileno: int) -> None:
        self._fd = fileno
        self._size = os.fstat(fileno).st_size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, key: slice) -> bytes:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("FileView supports contiguous slices only")
        start, stop, _ = key.indices(self._size)
        if stop <= start:
            return b""
        data = os.pread(self._fd, stop - start, start)
        if len(data) != stop - start:
            raise _corrupt(f"the file changed while reading: {stop - start} bytes at {start} are not all there")
        return data


def _view(buf: Any) -> Any:
    return buf if isinstance(buf, FileView) else memoryview(buf).cast("B")


# ---------------------------------------------------------------------------- arrays in JSON
def _extract_arrays(value: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    """Replace numeric lists/arrays of the config by ``{"__array__": name}`` references."""
    if isinstance(value, dict):
        return {k: _extract_arrays(v, arrays, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value) if not isinstance(value, np.ndarray) else value
        if arr.dtype.kind in "fiu" and arr.ndim >= 1 and arr.size >= 4 and arr.dtype != object:
            name = f"a{len(arrays)}"
            store = arr.astype("<f8") if arr.dtype.kind == "f" else arr.astype("<i8")
            arrays[name] = np.ascontiguousarray(store)
            return {"__array__": name, "path": path}
        if isinstance(value, np.ndarray):
            return value.tolist()
        return [_extract_arrays(v, arrays, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _restore_arrays(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__array__", "path"}:
            name = value["__array__"]
            if name not in arrays:
                raise _corrupt(f"header refers to array {name!r} that the file does not hold")
            return arrays[name]
        return {k: _restore_arrays(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore_arrays(v, arrays) for v in value]
    return value


def encode_header(doc: dict[str, Any]) -> bytes:
    """Serialize a header document.

    Numeric arrays of its ``"quantizer"`` entry (codebooks, thresholds, levels) are stored as
    exact little-endian binary after the JSON text, not as decimal text.
    """
    arrays: dict[str, np.ndarray] = {}
    doc = dict(doc)
    if "quantizer" in doc:
        doc["quantizer"] = _extract_arrays(doc["quantizer"], arrays, "quantizer")
    text = json.dumps(doc, separators=(",", ":"), sort_keys=True, allow_nan=False).encode("utf-8")
    if len(text) > MAX_HEADER_BYTES:
        raise ValueError(f"header is {len(text)} bytes; the limit is {MAX_HEADER_BYTES}")
    parts = [_PREAMBLE.pack(MAGIC, FORMAT_VERSION, 0, len(text)), text, struct.pack("<I", len(arrays))]
    for name, arr in arrays.items():
        nb = name.encode("ascii")
        dt = arr.dtype.str.encode("ascii")
        parts.append(_ARRAY_HEAD.pack(len(nb)) + nb + struct.pack("<B", len(dt)) + dt + struct.pack("<B", arr.ndim))
        parts.append(struct.pack(f"<{arr.ndim}Q", *arr.shape))
        parts.append(arr.tobytes())
    body = b"".join(parts)
    return body + _CRC.pack(zlib.crc32(body))


class _Reader:
    """Bounds-checked reads from a buffer."""

    def __init__(self, buf: memoryview, pos: int, end: int, what: str) -> None:
        self.buf, self.pos, self.end, self.what = buf, pos, end, what

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > self.end:
            raise _corrupt(
                f"{self.what} is truncated: {what} needs {n} bytes at offset {self.pos}, "
                f"only {max(self.end - self.pos, 0)} remain"
            )
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, st: struct.Struct, what: str) -> tuple[Any, ...]:
        return st.unpack(self.take(st.size, what))


def read_header(buf: bytes | memoryview | FileView) -> Header:
    """Parse and verify the header of a file held in ``buf``.

    Raises
    ------
    UnsupportedVersionError
        The file's format version is newer than this reader.
    CorruptFileError
        Wrong magic, truncation, checksum mismatch, malformed JSON or arrays.

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> from quantsig.container import read_header
    >>> blob = quantsig.compress(np.zeros((10, 20), np.float32), quantsig.MuLawQuantizer(bits=8))
    >>> h = read_header(blob)
    >>> h.doc["shape"], h.doc["dtype"], h.doc["quantizer"]["id"], h.end < len(blob)
    ([10, 20], '<f4', 'mu-law', True)

    The header has its own checksum:

    >>> damaged = bytearray(blob)
    >>> damaged[20] ^= 1
    >>> read_header(bytes(damaged))
    Traceback (most recent call last):
        ...
    quantsig.errors.CorruptFileError: corrupt quantsig file: header checksum mismatch (the header was altered or damaged)
    """
    mv = _view(buf)
    r = _Reader(mv, 0, len(mv), "header")
    if len(mv) < len(MAGIC) or bytes(mv[: len(MAGIC)]) != MAGIC:
        raise _corrupt("not a quantsig file (bad magic bytes)")
    _magic, version, _flags, hlen = r.unpack(_PREAMBLE, "preamble")
    if version > FORMAT_VERSION:
        raise UnsupportedVersionError(
            f"file format version {version} is newer than this quantsig reads ({FORMAT_VERSION}); "
            "upgrade quantsig to read it"
        )
    if version < 1:
        raise _corrupt(f"format version {version} does not exist")
    if hlen > MAX_HEADER_BYTES:
        raise _corrupt(f"header length {hlen} exceeds the limit of {MAX_HEADER_BYTES} bytes")
    text = r.take(hlen, "JSON header")
    (n_arrays,) = r.unpack(struct.Struct("<I"), "array count")
    if n_arrays > MAX_ARRAYS:
        raise _corrupt(f"{n_arrays} arrays in the header exceed the limit of {MAX_ARRAYS}")
    arrays: dict[str, np.ndarray] = {}
    for _ in range(n_arrays):
        (nlen,) = r.unpack(_ARRAY_HEAD, "array name length")
        name = bytes(r.take(nlen, "array name")).decode("ascii", errors="replace")
        (dlen,) = r.unpack(struct.Struct("<B"), "array dtype length")
        dstr = bytes(r.take(dlen, "array dtype")).decode("ascii", errors="replace")
        if dstr not in _ALLOWED_ARRAY_DTYPES:
            raise _corrupt(f"array {name!r} has unsupported dtype {dstr!r}")
        (ndim,) = r.unpack(struct.Struct("<B"), "array ndim")
        if ndim > MAX_NDIM:
            raise _corrupt(f"array {name!r} has {ndim} dimensions (limit {MAX_NDIM})")
        shape = r.unpack(struct.Struct(f"<{ndim}Q"), "array shape")
        if any(s > MAX_ARRAY_DIM for s in shape):
            raise _corrupt(f"array {name!r} has a dimension above {MAX_ARRAY_DIM}: {shape}")
        dt = np.dtype(dstr)
        nbytes = dt.itemsize
        for s in shape:
            nbytes *= s
        if nbytes > r.end - r.pos:
            raise _corrupt(f"array {name!r} claims {nbytes} bytes but only {r.end - r.pos} remain")
        data = r.take(nbytes, f"array {name!r}")
        arrays[name] = np.frombuffer(data, dtype=dt).reshape(shape).copy()
    body_end = r.pos
    (crc,) = r.unpack(_CRC, "header checksum")
    if zlib.crc32(mv[:body_end]) != crc:
        raise _corrupt("header checksum mismatch (the header was altered or damaged)")
    try:
        doc = json.loads(bytes(text).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise _corrupt(f"header is not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise _corrupt("header JSON is not an object")
    doc = _restore_arrays(doc, arrays)
    return Header(doc=doc, arrays=arrays, version=version, end=r.pos)


# ---------------------------------------------------------------------------- frames
def encode_frame(kind: int, n_values: int, payload: bytes) -> bytes:
    """One frame: header, payload and CRC32."""
    if not 0 <= n_values <= MAX_FRAME_VALUES:
        raise ValueError(f"a frame holds at most {MAX_FRAME_VALUES} values, got {n_values}")
    if len(payload) >= 1 << 32:
        raise ValueError(f"a frame payload is limited to 4 GiB, got {len(payload)} bytes")
    head = _FRAME_HEAD.pack(b"QF", kind, 0, n_values, len(payload))
    crc = zlib.crc32(payload, zlib.crc32(head))
    return head + payload + _CRC.pack(crc)


def _parse_frame_head(mv: memoryview, offset: int, end: int) -> FrameInfo:
    if offset + _FRAME_HEAD.size > end:
        raise _corrupt(f"frame at offset {offset} is truncated (no room for its header)")
    tag, kind, _, n_values, plen = _FRAME_HEAD.unpack(mv[offset : offset + _FRAME_HEAD.size])
    if tag != b"QF":
        raise _corrupt(f"no frame marker at offset {offset}")
    if kind not in FrameKind.NAMES:
        raise _corrupt(f"frame at offset {offset} has unknown kind {kind}")
    info = FrameInfo(offset=offset, first=-1, n_values=n_values, kind=kind, payload_len=plen)
    if offset + info.size > end:
        raise _corrupt(
            f"frame at offset {offset} claims a {plen}-byte payload but only "
            f"{max(end - offset - _FRAME_HEAD.size - _CRC.size, 0)} bytes remain"
        )
    return info


def frame_payload(buf: bytes | memoryview | FileView, info: FrameInfo) -> Any:
    """The verified payload of a frame (CRC checked).

    Raises
    ------
    CorruptFileError
        The frame's checksum does not match its header and payload.

    Examples
    --------
    >>> from quantsig.container import ContainerWriter, FrameKind, frame_payload, read_header, read_index
    >>> parts = []
    >>> w = ContainerWriter(parts.append, {"format": "example"})
    >>> w.add_frame(FrameKind.RAW, 5, b"hello")
    >>> w.close()
    >>> blob = b"".join(parts)
    >>> (frame,) = read_index(blob, read_header(blob))
    >>> bytes(frame_payload(blob, frame))
    b'hello'
    >>> damaged = blob.replace(b"hello", b"jello")
    >>> frame_payload(damaged, frame)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    quantsig.errors.CorruptFileError: corrupt quantsig file: frame at offset ... fails its checksum (damaged data)
    """
    mv = _view(buf)
    head_end = info.offset + _FRAME_HEAD.size
    pend = head_end + info.payload_len
    (crc,) = _CRC.unpack(mv[pend : pend + _CRC.size])
    if zlib.crc32(mv[info.offset : pend]) != crc:
        raise _corrupt(f"frame at offset {info.offset} fails its checksum (damaged data)")
    return mv[head_end:pend]


def read_index(buf: bytes | memoryview | FileView, header: Header) -> list[FrameInfo] | None:
    """Read and verify the index at the end of the file (None when the file has no trailer).

    Raises
    ------
    CorruptFileError
        The trailer is there but the index is damaged or disagrees with the frames.

    Examples
    --------
    >>> import numpy as np, quantsig
    >>> from quantsig.container import read_header, read_index
    >>> blob = quantsig.Codec(quantsig.UniformQuantizer(step=0.1), frame_size=300).compress(np.zeros(1000))
    >>> header = read_header(blob)
    >>> [(f.first, f.n_values) for f in read_index(blob, header)]
    [(0, 300), (300, 300), (600, 300), (900, 100)]

    A file cut off before its trailer (a stream whose writer never closed) has no index:

    >>> read_index(blob[:-10], header) is None
    True
    """
    mv = _view(buf)
    n = len(mv)
    if n - header.end < _TRAILER.size:
        return None
    index_offset, tag = _TRAILER.unpack(mv[n - _TRAILER.size :])
    if tag != b"QEND":
        return None
    if not header.end <= index_offset <= n - _TRAILER.size - _INDEX_HEAD.size - _CRC.size:
        raise _corrupt(f"index offset {index_offset} lies outside the file")
    r = _Reader(mv, index_offset, n - _TRAILER.size, "index")
    itag, n_frames = r.unpack(_INDEX_HEAD, "index header")
    if itag != b"QIDX":
        raise _corrupt(f"no index marker at offset {index_offset}")
    if n_frames * _INDEX_ENTRY.size > r.end - r.pos - _CRC.size:
        raise _corrupt(f"index claims {n_frames} frames, more than its {r.end - r.pos} bytes hold")
    raw = r.take(n_frames * _INDEX_ENTRY.size, "index entries")
    (crc,) = r.unpack(_CRC, "index checksum")
    if zlib.crc32(mv[index_offset : r.pos - _CRC.size]) != crc:
        raise _corrupt("index checksum mismatch")
    if r.pos != r.end:
        raise _corrupt("unexpected bytes between the index and the trailer")
    frames = []
    expect_offset = header.end
    expect_first = 0
    for off, first, nv in _INDEX_ENTRY.iter_unpack(raw):
        if off != expect_offset:
            raise _corrupt(f"index says a frame starts at {off}, but the previous one ends at {expect_offset}")
        if first != expect_first:
            raise _corrupt(f"index says frame values start at {first}, expected {expect_first}")
        info = _parse_frame_head(mv, off, index_offset)
        if info.n_values != nv:
            raise _corrupt(f"frame at {off} holds {info.n_values} values but the index says {nv}")
        info.first = first
        frames.append(info)
        expect_offset = off + info.size
        expect_first = first + nv
    if expect_offset != index_offset:
        raise _corrupt(f"{index_offset - expect_offset} unaccounted bytes between the last frame and the index")
    return frames


def scan_frames(buf: bytes | memoryview | FileView, header: Header) -> Iterator[FrameInfo]:
    """Walk the frames from the header on, without the index (recovery of a cut-off file).

    Stops quietly at the index marker, at the end of the buffer, or at an incomplete frame;
    a damaged complete frame raises.

    Examples
    --------
    Four frames, the file cut off in the middle of the last one:

    >>> import numpy as np, quantsig
    >>> from quantsig.container import read_header, read_index, scan_frames
    >>> codec = quantsig.Codec(quantsig.UniformQuantizer(step=0.1), entropy="raw", frame_size=300)
    >>> blob = codec.compress(np.linspace(-1, 1, 1000))
    >>> header = read_header(blob)
    >>> last = read_index(blob, header)[-1]
    >>> cut = blob[: last.offset + 20]
    >>> read_index(cut, header) is None
    True
    >>> [(f.first, f.n_values) for f in scan_frames(cut, header)]
    [(0, 300), (300, 300), (600, 300)]
    """
    mv = _view(buf)
    n = len(mv)
    offset = header.end
    first = 0
    while offset + 4 <= n and bytes(mv[offset : offset + 2]) == b"QF":
        try:
            info = _parse_frame_head(mv, offset, n)
        except CorruptFileError:
            return  # an incomplete frame at the end of a cut-off stream
        info.first = first
        yield info
        offset += info.size
        first += info.n_values


class ContainerWriter:
    """Assemble a file: header, frames appended one by one, then index and trailer.

    ``write`` is any callable taking bytes (``file.write`` or ``list.append``), so the same
    writer serves in-memory compression and streaming to disk.

    Parameters
    ----------
    write : callable
        Called with each piece of the file, in order.
    doc : dict
        The JSON header document (the header is written at once).

    Examples
    --------
    >>> from quantsig.container import ContainerWriter, FrameKind, frame_payload, read_header, read_index
    >>> parts = []
    >>> w = ContainerWriter(parts.append, {"format": "example"})
    >>> w.add_frame(FrameKind.RAW, 3, b"abc")
    >>> w.add_frame(FrameKind.RAW, 2, b"de")
    >>> w.n_values
    5
    >>> w.close()
    >>> blob = b"".join(parts)
    >>> header = read_header(blob)
    >>> header.doc
    {'format': 'example'}
    >>> [(f.first, f.n_values, bytes(frame_payload(blob, f))) for f in read_index(blob, header)]
    [(0, 3, b'abc'), (3, 2, b'de')]
    """

    def __init__(self, write: Any, doc: dict[str, Any]) -> None:
        self._write = write
        head = encode_header(doc)
        self._write(head)
        self._offset = len(head)
        self._first = 0
        self._entries: list[tuple[int, int, int]] = []
        self.closed = False

    def add_frame(self, kind: int, n_values: int, payload: bytes) -> None:
        """Append one frame of ``n_values`` values."""
        if self.closed:
            raise ValueError("the container is already closed")
        frame = encode_frame(kind, n_values, payload)
        self._write(frame)
        self._entries.append((self._offset, self._first, n_values))
        self._offset += len(frame)
        self._first += n_values

    @property
    def n_values(self) -> int:
        """Values written so far."""
        return self._first

    def close(self) -> None:
        """Write the index and trailer."""
        if self.closed:
            return
        body = _INDEX_HEAD.pack(b"QIDX", len(self._entries)) + b"".join(_INDEX_ENTRY.pack(*e) for e in self._entries)
        self._write(body + _CRC.pack(zlib.crc32(body)) + _TRAILER.pack(self._offset, b"QEND"))
        self.closed = True
