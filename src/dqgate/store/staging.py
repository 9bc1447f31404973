"""Stage the verified bytes a native reader needs in private memory, and give it that.

Polars' own Parquet reader is much faster than reading through a Python file
object, but it opens files by path, so it cannot be made to read through
:class:`~dqgate.store.verified.VerifiedFile`. Instead, before Polars runs, the
segments it will touch (the footer, and the column chunks of the columns the
query uses) are copied from the data file into an anonymous in-memory file
(``memfd_create``; a private temporary file elsewhere), hashed *there*, and
compared with the manifest. Polars then reads ``/proc/self/fd/N``: bytes that
were checked after they were copied, which no other process can change. The
rest of the staged file is a hole that reads as zeros, which no Parquet reader
accepts as data, so a reader that strays outside what was staged fails loudly.

Memory: the compressed bytes of one data file's projected columns at a time.

The faster way, used for Polars' scans whenever the kernel grants it, is
:func:`checked_in_place`: the segments are hashed in the object itself while a
Linux read lease is held on it, and Polars reads that same descriptor. A process
that opens the object for writing breaks the lease (and waits for the read to
end before it can write), so what was read is refused if the lease did not
survive the read. Only when no lease can be had does the read fall back to the
private copy above.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import signal
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from dqgate.errors import StampError
from dqgate.store.parquet_footer import column_chunks
from dqgate.store.segments import segment_digest

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

    import pyarrow as pa

    from dqgate.store.parquet_footer import Chunk
    from dqgate.store.segments import Segments

THREADS = 2


def _anonymous_file(size: int) -> tuple[int, str]:
    """A private read-write file of ``size`` bytes (sparse), and a path other readers can open."""
    if hasattr(os, "memfd_create") and sys.platform.startswith("linux"):
        fd = os.memfd_create("dqgate-verified", 0)
        path = f"/proc/self/fd/{fd}"
    else:  # pragma: no cover - no memfd: an unlinked-on-close private temporary file
        fd, path = tempfile.mkstemp(prefix="dqgate-verified-", suffix=".parquet")
    os.ftruncate(fd, size)
    return fd, path


class StagedFile:
    """One data file's verified segments in a private anonymous file; see the module docstring."""

    def __init__(self, source: str, name: str, segments: Segments) -> None:
        self._source = source
        self._name = name
        self._segments = segments
        self._fd, self.path = _anonymous_file(segments.size)
        self._map = mmap.mmap(self._fd, segments.size) if segments.size else None
        self._done: set[int] = set()

    def add(self, indexes: Collection[int]) -> None:
        """Copy, hash and check the segments ``indexes`` (those not staged yet).

        Raises:
            StampError: a segment's bytes differ from what was published.
        """
        todo = sorted(set(indexes) - self._done)
        spans: list[list[int]] = []
        for i in todo:
            if spans and spans[-1][-1] == i - 1:
                spans[-1].append(i)
            else:
                spans.append([i])
        if len(spans) > 1 and sum(self._segments.lengths[i] for i in todo) > (8 << 20):
            with ThreadPoolExecutor(max_workers=THREADS) as pool:
                list(pool.map(self._stage_span, spans))
        else:
            for span in spans:
                self._stage_span(span)
        self._done.update(todo)

    def _stage_span(self, span: list[int]) -> None:
        starts, lengths, digests = self._segments.starts, self._segments.lengths, self._segments.digests
        assert self._map is not None
        view = memoryview(self._map)
        try:
            with open(self._source, "rb", buffering=0) as f:
                f.seek(starts[span[0]])
                end = starts[span[-1]] + lengths[span[-1]]
                at = starts[span[0]]
                while at < end:
                    n = f.readinto(view[at:end])
                    if not n:
                        msg = f"file {self._name} is shorter than when it was published; refusing to read it"
                        raise StampError(msg)
                    at += n
            for i in span:
                if segment_digest(view[starts[i] : starts[i] + lengths[i]]) != digests[i]:
                    msg = (
                        f"file {self._name}: bytes {starts[i]}..{starts[i] + lengths[i]} differ from what was "
                        "published (hash mismatch); refusing to read them"
                    )
                    raise StampError(msg)
        finally:
            view.release()

    def chunks(self) -> list[list[Chunk]]:
        """Where the column chunks are, parsed from the staged (verified) footer."""
        last = len(self._segments.lengths) - 1
        self.add([0, last])
        assert self._map is not None
        return column_chunks(_metadata_bytes(self._map[self._segments.starts[last] :]), where=f"file {self._name}")

    def add_columns(self, columns: Collection[str] | None) -> None:
        """Stage the footer and every column chunk of ``columns`` (all columns when None)."""
        self.add(_wanted_segments(self.chunks(), self._segments, columns))

    def native_file(self) -> pa.NativeFile:
        """The staged file as an Arrow memory map (unstaged bytes read as zeros).

        Arrow's own map, not a view of a Python object: an Arrow worker thread that
        drops the last reference at interpreter exit must not need the GIL. A Python
        buffer there (``py_buffer`` of an mmap) made such a thread call into a
        finalizing interpreter, which ends it with ``pthread_exit`` and aborts the
        process ("terminate called without an active exception", apache/arrow#34314).
        """
        import pyarrow as pa

        return pa.memory_map(self.path)

    def close(self) -> None:
        if self._map is not None:
            with contextlib.suppress(BufferError):  # Arrow still holds a view: unmapped when it lets go
                self._map.close()
            self._map = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            if not self.path.startswith("/proc/"):  # pragma: no cover - the temporary-file fallback
                with contextlib.suppress(OSError):
                    os.unlink(self.path)


@contextlib.contextmanager
def staged(source: str, name: str, segments: Segments, columns: Collection[str] | None) -> Iterator[StagedFile]:
    """A private copy of ``source`` holding its verified footer and ``columns`` (``.path``, ``.native_file()``)."""
    staged_file = StagedFile(source, name, segments)
    try:
        staged_file.add_columns(columns)
        yield staged_file
    finally:
        staged_file.close()


def _metadata_bytes(footer_segment: bytes | memoryview) -> bytes:
    """The Thrift FileMetaData inside the footer segment (which ends with its length and ``PAR1``)."""
    footer = bytes(footer_segment)
    return footer[:-8] if len(footer) >= 8 else b""


def _wanted_segments(groups: list[list[Chunk]], segments: Segments, columns: Collection[str] | None) -> set[int]:
    """The segments holding the footer, the header and every column chunk of ``columns`` (all when None)."""
    last = len(segments.lengths) - 1
    if columns is None:
        return set(range(last + 1))
    wanted = set(columns)
    indexes = {0, last}
    for group in groups:
        for chunk in group:
            if chunk.column in wanted:
                indexes.update(segments.covering(chunk.start, chunk.length))
    return indexes


def _read_lease(fd: int) -> bool:
    """Take a Linux read lease on ``fd``'s file: then no process can open it for writing (or
    truncate it) without the lease being broken first, which :func:`_still_leased` sees.

    The kernel grants it only while nobody has the file open for writing, to the file's
    owner (or with CAP_LEASE), on filesystems that support leases. A break is announced
    with a signal; SIGURG is asked for, whose default action is to ignore it, so no
    handler is needed. False when no lease could be taken.
    """
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except (ImportError, AttributeError, OSError):
        return False
    return True


def _still_leased(fd: int) -> bool:
    """Whether the read lease on ``fd`` is unbroken: no process opened the file for writing since it was taken."""
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_GETLEASE) == fcntl.F_RDLCK


@contextlib.contextmanager
def checked_in_place(source: str, name: str, segments: Segments, columns: Collection[str] | None) -> Iterator[str]:
    """Check the segments a read of ``columns`` touches, then yield a path to that same open file,
    which no process can write while it is read.

    The faster sibling of :func:`staged` for Polars' scans: no copy, so a query of
    three numeric columns pays for hashing only (see ``benchmarks/bench_read.py``).
    The path is ``/proc/self/fd/N`` of the descriptor that was checked, so a file
    renamed over the object afterwards is not what is read. A process writing into
    the object between the check and the read is caught by a read lease
    (:func:`_read_lease`), taken before the check and looked at after the read: a
    process that opened the file for writing in between broke it (and waited for
    this read to end before it could write), and what was read is refused. Where no
    lease can be had (another user's files, a filesystem without leases, a file
    open for writing right now), the read goes through a verified private copy
    (:func:`staged`) instead: slower, with no window at all.

    Raises:
        StampError: a checked segment differs from what was published, or the file
            was opened for writing while it was read.
    """
    fd = os.open(source, os.O_RDONLY)
    if not _read_lease(fd):
        os.close(fd)
        with staged(source, name, segments, columns) as copy:
            yield copy.path
        return
    try:
        _check_in_place(fd, name, segments, columns)
        yield f"/proc/self/fd/{fd}"
        if not _still_leased(fd):
            msg = f"file {name} was opened for writing while it was read; refusing what was read"
            raise StampError(msg)
    finally:
        os.close(fd)  # the lease goes with the last descriptor


def _check_in_place(fd: int, name: str, segments: Segments, columns: Collection[str] | None) -> None:
    """Hash, in ``fd``'s file, the footer and the segments of ``columns``; raise StampError on a difference.

    The segments are hashed where the page cache holds them, through a read-only map
    of the file: no copy into a buffer first. The file cannot shrink under the map
    (a SIGBUS): its size is checked first, and the read lease the caller holds makes
    any writer wait until this read is over.
    """
    starts, lengths, digests = segments.starts, segments.lengths, segments.digests
    if os.fstat(fd).st_size < segments.size:
        msg = f"file {name} is shorter than when it was published; refusing to read it"
        raise StampError(msg)
    if not segments.size:
        return
    mapped = mmap.mmap(fd, segments.size, prot=mmap.PROT_READ)
    view = memoryview(mapped)
    try:

        def check(i: int) -> None:
            if segment_digest(view[starts[i] : starts[i] + lengths[i]]) != digests[i]:
                msg = (
                    f"file {name}: bytes {starts[i]}..{starts[i] + lengths[i]} differ from what was published "
                    "(hash mismatch); refusing to read them"
                )
                raise StampError(msg)

        last = len(lengths) - 1
        check(last)
        footer = bytes(view[starts[last] : starts[last] + lengths[last]])
        groups = column_chunks(_metadata_bytes(footer), where=f"file {name}")
        todo = sorted(_wanted_segments(groups, segments, columns) - {last})
        if len(todo) > 1 and sum(lengths[i] for i in todo) > (8 << 20):
            with ThreadPoolExecutor(max_workers=THREADS) as pool:
                list(pool.map(lambda half: [check(i) for i in half], [todo[0::2], todo[1::2]]))
        else:
            for i in todo:
                check(i)
    finally:
        view.release()
        mapped.close()
