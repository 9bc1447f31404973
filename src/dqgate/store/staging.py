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
"""

from __future__ import annotations

import contextlib
import mmap
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from dqgate.errors import StampError
from dqgate.store.segments import MAGIC, segment_digest

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

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

    def metadata(self) -> pq.FileMetaData:
        """The Parquet metadata, parsed from the staged (verified) footer."""
        last = len(self._segments.lengths) - 1
        self.add([0, last])
        assert self._map is not None
        footer = self._map[self._segments.starts[last] :]
        try:
            return pq.read_metadata(pa.BufferReader(MAGIC + footer))
        except (OSError, ValueError) as exc:
            raise StampError(f"file {self._name}: unreadable Parquet footer: {exc}") from exc

    def add_columns(self, columns: Collection[str] | None) -> None:
        """Stage the footer and every column chunk of ``columns`` (all columns when None)."""
        meta = self.metadata()
        if columns is None:
            self.add(range(len(self._segments.lengths)))
            return
        wanted = set(columns)
        leaves = [j for j in range(meta.num_columns) if meta.schema.column(j).path.split(".")[0] in wanted]
        indexes: set[int] = set()
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for j in leaves:
                chunk = group.column(j)
                dictionary = chunk.dictionary_page_offset if chunk.has_dictionary_page else None
                start = dictionary if dictionary else chunk.data_page_offset
                indexes.update(self._segments.covering(start, chunk.total_compressed_size))
        self.add(indexes)

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            if not self.path.startswith("/proc/"):  # pragma: no cover - the temporary-file fallback
                with contextlib.suppress(OSError):
                    os.unlink(self.path)


@contextlib.contextmanager
def staged(source: str, name: str, segments: Segments, columns: Collection[str] | None) -> Iterator[str]:
    """A path to a private copy of ``source`` holding its verified footer and ``columns``."""
    staged_file = StagedFile(source, name, segments)
    try:
        staged_file.add_columns(columns)
        yield staged_file.path
    finally:
        staged_file.close()
