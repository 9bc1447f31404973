"""Serve a snapshot's files so that every byte handed to a reader was checked first.

Readers (pyarrow, Polars through pyarrow, DuckDB through Arrow) do not read the
files directly: they read through :class:`VerifiedFile`, a read-only file object.
A read of bytes ``a .. b`` loads the whole segments that hold them
(``store/segments.py``) in one read, checks each segment's BLAKE3 digest against the
manifest, and only then returns the bytes, from the same buffer that was hashed.
So there is no window between the check and the use: a byte changed on disk a
moment later is simply not the byte that is read, and a byte that differs from
what was published is refused with :class:`~dqgate.errors.StampError` naming
the file and the byte range.

What is verified is exactly what is read: a query over three of twelve columns
hashes the footer and those columns' chunks, not the file. The segment that ends
the file (the footer) and its neighbours are kept for the life of the file
object, since Parquet readers come back to them; other bytes are not cached.

:func:`verified_filesystem` wraps this in a ``pyarrow.fs`` filesystem, which any
``pyarrow.dataset`` (and so Polars' and DuckDB's Arrow scans) can read from.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.fs as pafs

from dqgate.errors import StampError
from dqgate.store.segments import segment_digest

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dqgate.store.segments import Segments



class VerifiedFile:
    """A seekable, read-only file object over ``raw`` that returns only verified bytes.

    Args:
        raw: The underlying random-access file (not read before it is checked).
        name: How errors name the file (its path relative to the dataset).
        segments: The published segment table of the file.
    """

    closed = False

    def __init__(self, raw: pa.NativeFile, name: str, segments: Segments) -> None:
        self._raw = raw
        self._name = name
        self._segments = segments
        self._size = segments.size
        self._pos = 0
        self._lock = threading.Lock()
        self._kept: tuple[int, memoryview] | None = None  # (offset, bytes) of the verified tail

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(base + offset, 0)
        return self._pos

    def size(self) -> int:
        return self._size

    def read(self, nbytes: int | None = -1) -> memoryview:
        with self._lock:
            start = self._pos
            n = self._size - start if nbytes is None or nbytes < 0 else min(nbytes, self._size - start)
            if n <= 0:
                return memoryview(b"")
            out = self._read_verified(start, n)
            self._pos = start + n
            return out

    def read_at(self, nbytes: int, offset: int) -> memoryview:
        with self._lock:
            n = min(nbytes, self._size - offset)
            return self._read_verified(offset, n) if n > 0 else memoryview(b"")

    def _read_verified(self, offset: int, n: int) -> memoryview:
        kept = self._kept
        if kept is not None and kept[0] <= offset and offset + n <= kept[0] + len(kept[1]):
            return kept[1][offset - kept[0] : offset - kept[0] + n]
        covering = self._segments.covering(offset, n)
        starts, lengths = self._segments.starts, self._segments.lengths
        span_start = starts[covering[0]]
        span_end = starts[covering[-1]] + lengths[covering[-1]]
        data = memoryview(self._raw.read_at(span_end - span_start, span_start))
        if len(data) != span_end - span_start:
            self._refuse(span_start, span_end, "is shorter than when it was published")
        for i in covering:
            a = starts[i] - span_start
            piece = data[a : a + lengths[i]]
            if segment_digest(piece) != self._segments.digests[i]:
                self._refuse(starts[i], starts[i] + lengths[i], "differ from what was published")
        if span_end == self._size:  # the footer: readers come back to it
            self._kept = (span_start, data)
        return data[offset - span_start : offset - span_start + n]

    def _refuse(self, a: int, b: int, what: str) -> None:
        msg = f"file {self._name}: bytes {a}..{b} {what} (hash mismatch); refusing to read them"
        raise StampError(msg)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._kept = None
            self._raw.close()


def open_verified(fs: pafs.FileSystem, path: str, name: str, segments: Segments) -> pa.PythonFile:
    """``path`` opened through :class:`VerifiedFile`, as a pyarrow file."""
    return pa.PythonFile(VerifiedFile(fs.open_input_file(path), name, segments), mode="r")


class _VerifiedHandler(pafs.FileSystemHandler):
    """A read-only ``pyarrow.fs`` filesystem that knows only a snapshot's files."""

    def __init__(self, fs: pafs.FileSystem, files: Mapping[str, tuple[str, Segments]]) -> None:
        self._fs = fs
        self._files = dict(files)

    def get_type_name(self) -> str:
        return "dqgate-verified"

    def equals(self, other: Any) -> bool:
        return other is self

    def normalize_path(self, path: str) -> str:
        return path

    def get_file_info(self, paths: list[str]) -> list[pafs.FileInfo]:
        return [
            pafs.FileInfo(p, pafs.FileType.File, size=self._files[p][1].size)
            if p in self._files
            else pafs.FileInfo(p, pafs.FileType.NotFound)
            for p in paths
        ]

    def get_file_info_selector(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
        raise NotImplementedError("a snapshot's files are listed by its manifest")

    def open_input_file(self, path: str) -> pa.PythonFile:
        if path not in self._files:
            raise FileNotFoundError(path)
        name, segments = self._files[path]
        return open_verified(self._fs, path, name, segments)

    def open_input_stream(self, path: str) -> pa.PythonFile:
        return self.open_input_file(path)

    def _read_only(self, *_: Any) -> None:
        raise PermissionError("a snapshot is read-only")

    create_dir = delete_dir = delete_dir_contents = delete_root_dir_contents = _read_only
    delete_file = move = copy_file = open_output_stream = open_append_stream = _read_only


def verified_filesystem(fs: pafs.FileSystem, files: Mapping[str, tuple[str, Segments]]) -> pafs.PyFileSystem:
    """A filesystem serving ``files`` (path → (name for errors, segment table)) through VerifiedFile."""
    return pafs.PyFileSystem(_VerifiedHandler(fs, files))
