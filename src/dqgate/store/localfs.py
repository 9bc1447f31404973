"""The local filesystem for readers, without pyarrow: what ``open_snapshot`` needs to check a snapshot.

The store works through ``pyarrow.fs`` so that object stores follow. But a training
job that reads a local snapshot with Polars never needs pyarrow, and importing it
costs about 0.3 CPU seconds: more than the verified read itself adds to a
three-column ``scan_polars`` (``benchmarks/bench_read.py``). So the read path of a
local store (:func:`~dqgate.store.read.open_snapshot`: the manifest, the head log,
file sizes, the lineage line) goes through :class:`LocalFiles`, which answers the few
``pyarrow.fs.FileSystem`` calls that path makes with plain ``os`` calls, with the
same results: :class:`FileType` has pyarrow's values (an ``IntEnum``, so either
filesystem's types compare equal), and a missing file raises ``FileNotFoundError``
as pyarrow does. :meth:`LocalFiles.arrow` is the real ``pyarrow.fs`` filesystem,
for the read paths that decode with pyarrow anyway (``to_arrow``, ``iter_batches``,
``to_duckdb``). Writers keep ``pyarrow.fs`` (``layout.resolve_store``).
"""

from __future__ import annotations

import enum
import errno
import io
import os
import posixpath
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow.fs as pafs


class FileType(enum.IntEnum):
    """``pyarrow.fs.FileType``'s values, without importing pyarrow."""

    NotFound = 0
    Unknown = 1
    File = 2
    Directory = 3


@dataclass(frozen=True)
class FileInfo:
    """The fields of ``pyarrow.fs.FileInfo`` the store reads."""

    path: str
    type: FileType
    size: int | None = None
    mtime: datetime | None = None

    @property
    def base_name(self) -> str:
        return posixpath.basename(self.path)


@dataclass(frozen=True)
class FileSelector:
    """``pyarrow.fs.FileSelector`` for :class:`LocalFiles`."""

    base_dir: str
    recursive: bool = False
    allow_not_found: bool = False


class LocalInputFile(io.FileIO):
    """A local file opened for reading, with the ``size()`` and ``read_at()`` of a pyarrow file."""

    def size(self) -> int:
        return os.fstat(self.fileno()).st_size

    def read_at(self, nbytes: int, offset: int) -> bytes:
        return os.pread(self.fileno(), nbytes, offset)


class LocalFiles:
    """The part of ``pyarrow.fs.LocalFileSystem`` a snapshot reader uses, in plain Python."""

    type_name = "local"

    def get_file_info(self, what: str | list[str] | FileSelector) -> Any:
        """Like pyarrow's: one path, a list of paths, or the entries under a selector."""
        if isinstance(what, FileSelector):
            return self._listing(what)
        if isinstance(what, list):
            return [self._info(p) for p in what]
        return self._info(what)

    def open_input_stream(self, path: str) -> LocalInputFile:
        return self.open_input_file(path)

    def open_input_file(self, path: str) -> LocalInputFile:
        if os.path.isdir(path):  # worded as pyarrow words it
            raise IsADirectoryError(errno.EISDIR, f"Cannot open for reading: path '{path}' is a directory")
        return LocalInputFile(path, "r")

    def arrow(self) -> pafs.FileSystem:
        """The same filesystem as ``pyarrow.fs.LocalFileSystem`` (imports pyarrow)."""
        import pyarrow.fs as pafs

        return pafs.LocalFileSystem()

    @staticmethod
    def _info(path: str, st: os.stat_result | None = None) -> FileInfo:
        if st is None:
            try:
                st = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                return FileInfo(path, FileType.NotFound)
        if stat.S_ISDIR(st.st_mode):
            kind = FileType.Directory
        elif stat.S_ISREG(st.st_mode):
            kind = FileType.File
        else:
            kind = FileType.Unknown
        return FileInfo(path, kind, st.st_size if kind == FileType.File else None, datetime.fromtimestamp(st.st_mtime, UTC))

    def _listing(self, selector: FileSelector) -> list[FileInfo]:
        out: list[FileInfo] = []
        pending = [selector.base_dir]
        while pending:
            folder = pending.pop()
            try:
                entries = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                if folder == selector.base_dir and not selector.allow_not_found:
                    raise FileNotFoundError(folder) from None
                continue
            for entry in entries:
                path = posixpath.join(folder, entry.name)
                info = self._info(path, entry.stat(follow_symlinks=True))  # raises FileNotFoundError if gone
                out.append(info)
                if selector.recursive and info.type == FileType.Directory:
                    pending.append(path)
        return out


def arrow_filesystem(fs: Any) -> pafs.FileSystem:
    """``fs`` as a ``pyarrow.fs`` filesystem (a :class:`LocalFiles` becomes pyarrow's local one)."""
    return fs.arrow() if isinstance(fs, LocalFiles) else fs


def selector(fs: Any, path: str, *, recursive: bool = False) -> Any:
    """A selector of the entries under ``path`` that ``fs`` understands (None of them if it is absent)."""
    if isinstance(fs, LocalFiles):
        return FileSelector(path, recursive=recursive, allow_not_found=True)
    import pyarrow.fs as pafs

    return pafs.FileSelector(path, recursive=recursive, allow_not_found=True)
