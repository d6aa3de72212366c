"""The weights archive: many named tensors in one ``.qsg`` file, readable tensor by tensor.

An archive is an ordinary quantsig container (``docs/format.md``) whose JSON header says
``"kind": "weights"``. Each tensor is a run of frames: a *meta* frame (kind 3, a JSON
document: name, shape, dtype, how it is stored) followed by its data frames (raw scales and
offsets, then a complete ``.qsg`` array file of codes; or, for a tensor kept exactly, its raw
bytes). The container's index lists every frame, so a reader finds each tensor's meta frame
with one small read and loads only the tensors it is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Self

from .. import container as _c
from ..errors import CorruptFileError
from .schemes import EncodedTensor, n_frames, parse_meta

__all__ = ["ARCHIVE_KIND", "ArchiveWriter", "ArchiveReader"]

ARCHIVE_KIND = "weights"
ARCHIVE_VERSION = 1


def _corrupt(msg: str) -> CorruptFileError:
    return CorruptFileError(f"corrupt quantsig weights archive: {msg}")


class ArchiveWriter:
    """Append encoded tensors to a file (or any ``write`` callable), then ``close``.

    Parameters
    ----------
    write : callable
        Called with each piece of bytes, in order (``file.write``, ``list.append`` ...).
        The header is written at once.
    metadata : dict, optional
        JSON metadata stored in the header (``ArchiveReader.metadata``).
    source_bytes : int
        Size of the model the archive is made from (for the compression ratio of reports).

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.weights.archive import ArchiveReader, ArchiveWriter
    >>> from quantsig.weights.schemes import Scheme, encode_tensor
    >>> w = np.linspace(-1, 1, 256, dtype=np.float32).reshape(4, 64)
    >>> enc, _ = encode_tensor("layer.weight", w, "float32", Scheme("uniform", 8, "channel"))
    >>> parts = []
    >>> writer = ArchiveWriter(parts.append, metadata={"model": "demo"}, source_bytes=w.nbytes)
    >>> writer.add(enc)
    >>> writer.add(enc)
    Traceback (most recent call last):
    ...
    ValueError: tensor 'layer.weight' is already in the archive
    >>> writer.close()
    >>> blob = b"".join(parts)
    >>> writer.bytes_written == len(blob)
    True
    >>> ArchiveReader(blob).names()
    ['layer.weight']
    """

    def __init__(self, write: Any, metadata: dict[str, Any] | None = None, source_bytes: int = 0) -> None:
        doc = {
            "format": "quantsig",
            "kind": ARCHIVE_KIND,
            "version": ARCHIVE_VERSION,
            "source_bytes": int(source_bytes),
            "metadata": metadata or {},
        }
        self._bytes = 0

        def counted(b: bytes) -> None:
            self._bytes += len(b)
            write(b)

        self._w = _c.ContainerWriter(counted, doc)
        self._names: set[str] = set()

    def add(self, enc: EncodedTensor) -> None:
        """Write one tensor's frames (``ValueError`` if its name is already in the archive)."""
        if enc.name in self._names:
            raise ValueError(f"tensor {enc.name!r} is already in the archive")
        self._names.add(enc.name)
        for kind, n, payload in enc.frames:
            self._w.add_frame(kind, n, payload)

    def close(self) -> None:
        """Write the index and the trailer: the archive is then complete."""
        self._w.close()

    @property
    def bytes_written(self) -> int:
        """Bytes handed to ``write`` so far."""
        return self._bytes


@dataclass
class _Entry:
    meta: dict[str, Any]
    frames: list[_c.FrameInfo]

    @property
    def n_bytes(self) -> int:
        """Bytes of this tensor's frames (meta frame included) and their index entries."""
        return sum(f.size + _c._INDEX_ENTRY.size for f in self.frames)


class ArchiveReader:
    """Read the table of contents of an archive, then tensors one at a time.

    ``source`` is a path, an open binary file or a bytes-like object. A file cut off before
    its index still gives every tensor whose frames are all complete (``complete`` is then
    False).

    Attributes
    ----------
    entries : dict
        Name -> entry, each with ``meta`` (the tensor's description) and ``frames``.
    metadata : dict
        The archive's user metadata.
    source_bytes : int
        Size of the model it was made from (0 when unknown).
    complete : bool
        Whether the index was found (the file is whole).
    file_size : int

    Raises
    ------
    CorruptFileError
        Not a weights archive, or a damaged one.

    Examples
    --------
    >>> import numpy as np
    >>> from quantsig.weights.archive import ArchiveReader, ArchiveWriter
    >>> from quantsig.weights.schemes import Scheme, decode_tensor, encode_tensor
    >>> parts = []
    >>> writer = ArchiveWriter(parts.append, metadata={"model": "demo"})
    >>> rng = np.random.default_rng(0)
    >>> for name in ("a.weight", "b.weight"):
    ...     enc, _ = encode_tensor(name, rng.standard_normal((4, 64)).astype(np.float32), "float32",
    ...                            Scheme("uniform", 8, "channel"))
    ...     writer.add(enc)
    >>> writer.close()
    >>> blob = b"".join(parts)
    >>> with ArchiveReader(blob) as reader:
    ...     print(reader.names(), reader.metadata, reader.complete, "b.weight" in reader)
    ...     w = decode_tensor(reader.entries["b.weight"].meta, reader.payloads("b.weight"))
    ['a.weight', 'b.weight'] {'model': 'demo'} True True
    >>> w.shape, w.dtype
    ((4, 64), dtype('float32'))
    >>> cut = ArchiveReader(blob[: len(blob) - 40])     # the index lost: the tensors remain
    >>> cut.complete, cut.names()
    (False, ['a.weight', 'b.weight'])
    """

    def __init__(self, source: str | os.PathLike[str] | BinaryIO | bytes | memoryview) -> None:
        self._file: BinaryIO | None = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._buf: Any = memoryview(source).cast("B")
            self.file_size = len(self._buf)
        else:
            f: Any = source
            if isinstance(source, (str, os.PathLike)):
                self._file = f = open(source, "rb")  # noqa: SIM115 (the object owns the file; close() closes it)
            self._buf = _c.FileView(f.fileno())
            self.file_size = len(self._buf)
        try:
            self._read_toc()
        except BaseException:
            self.close()
            raise

    def _read_toc(self) -> None:
        header = _c.read_header(self._buf)
        doc = header.doc
        if doc.get("kind") != ARCHIVE_KIND:
            raise _corrupt(
                f"the header says kind {doc.get('kind')!r}, not a weights archive "
                "(use quantsig.load for arrays and streams)"
            )
        if doc.get("version") != ARCHIVE_VERSION:
            raise _c.UnsupportedVersionError(f"weights archive version {doc.get('version')!r} is not supported")
        self.metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        sb = doc.get("source_bytes")
        #: Bytes of the model the archive was made from (0 when unknown).
        self.source_bytes = sb if isinstance(sb, int) and not isinstance(sb, bool) and sb >= 0 else 0
        frames = _c.read_index(self._buf, header)
        self.complete = frames is not None
        if frames is None:
            frames = list(_c.scan_frames(self._buf, header))
        self.entries: dict[str, _Entry] = {}
        i = 0
        while i < len(frames):
            head = frames[i]
            if head.kind != _c.FrameKind.META:
                raise _corrupt(f"frame {i} at offset {head.offset} should describe a tensor (meta frame)")
            meta = parse_meta(_c.frame_payload(self._buf, head))
            k = n_frames(meta)
            data = frames[i + 1 : i + 1 + k]
            if len(data) < k:
                if self.complete:
                    raise _corrupt(f"tensor {meta['name']!r} lacks {k - len(data)} of its frames")
                break  # cut off inside the last tensor
            if meta["name"] in self.entries:
                raise _corrupt(f"tensor {meta['name']!r} appears twice")
            self.entries[meta["name"]] = _Entry(meta, [head, *data])
            i += 1 + k

    def names(self) -> list[str]:
        """The tensors' names, in the order they were written."""
        return list(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def payloads(self, name: str) -> list[tuple[int, int, Any]]:
        """``(kind, n_values, payload)`` of a tensor's data frames, each checked against its CRC."""
        entry = self.entries[name]
        return [(f.kind, f.n_values, _c.frame_payload(self._buf, f)) for f in entry.frames[1:]]

    def close(self) -> None:
        """Close the file this reader opened (a no-op for bytes and for files it was handed)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
