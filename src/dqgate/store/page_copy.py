"""Publish a Parquet batch by copying its pages: the batch's own bytes, a new footer with the stamp.

Re-encoding a batch that is already Parquet (decode every page, encode it again as
zstd) cost as much CPU as the whole check of it (1M peerbench rows: 1.9 s). When the
file's own bytes are what the snapshot would store, they are published as they are:

1. everything before the footer (the ``PAR1`` header and every column chunk, in the
   file's order) is copied verbatim into the temporary object, hashed (sha256) as it
   streams, in 8 MiB pieces: memory stays bounded whatever the file's size;
2. the footer is the batch's own ``FileMetaData`` (decoded and encoded again by
   ``store/thrift_compact.py``, every field kept), with the stamp added to its
   key-value metadata. The pages did not move, so every offset in it still holds.
   The stamp's ``data_sha256`` and ``data_bytes`` bind the copied bytes exactly as
   they bind a re-encoded object's (``store/objects.py``);
3. the object then takes the same way as any other: fsync, move to its content
   address, audited by ``publish`` (whole-file sha256, footer stamp, per-segment
   hashes), and read back verified by every read path.

Only files every reader of a snapshot reads the same way are copied; anything else
takes the re-encoding path (:func:`plan_copy` says why):

* one plain ``PAR1`` file: no encryption, no column chunk in another file;
* codecs the readers all decode (none, snappy, gzip, brotli, zstd, lz4_raw) and the
  standard encodings;
* the column chunks tile the bytes from the header on, with no gap, so a verified
  read that stages the chunks of its columns (``store/staging.py``) stages every
  byte its reader touches. Page indexes and bloom filters after the last chunk
  (DuckDB writes bloom filters, pyarrow a page index on request) are left out: the
  object ends with the chunks, and the footer no longer points past them (they
  only let a reader skip pages; the data is the same). Bytes between chunks (Polars
  leaves some) send the batch to re-encoding;
* row groups no larger than the store's own (``MAX_GROUP_ROWS``), which bound a
  reader's memory;
* no quality stamp already in the footer (a file taken from another store);
* the footer written reads back, through pyarrow, with the batch's own Arrow schema,
  rows and column chunks (checked before anything is moved into the store).

An ingest into a dataset that already exists *stages* the file first (:func:`staged`):
it is copied into ``objects/_tmp/`` before its check, hashed as it streams, and the
check reads that copy. The bytes checked are then the bytes published, whatever
happens to the batch file meanwhile, and one pass over the file gives both the
batch id's sha256 and the object's (a copy after the check read and hashed the file
a second time: ~0.06 s of a 1M-row append's ~1.8 s CPU). Publishing it cuts the copy
at the end of its chunks, appends the stamped footer and moves it to its content
address (:func:`copy_object`), under the publisher lease held since staging.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import mmap
import os
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dqgate.errors import DataError, StampError, StoreError
from dqgate.store.beside import Beside
from dqgate.store.layout import DatasetLayout, dataset_layout
from dqgate.store.lease import lock_path, publisher_lease
from dqgate.store.objects import place_object
from dqgate.store.segments import MAGIC, footer_start
from dqgate.store.stamp import STAMP_KEY, build_file_stamp, canonical_json, signing_key
from dqgate.store.thrift_compact import BINARY, LIST, STRUCT, Field, Struct, ThriftList, decode, encode

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    import pyarrow as pa

    from dqgate.store.objects import ObjectInfo

MAX_GROUP_ROWS = 1_048_576  # the row group size the store writes itself (objects.write_object)
COPY_CODECS = {0: "uncompressed", 1: "snappy", 2: "gzip", 4: "brotli", 6: "zstd", 7: "lz4_raw"}
KNOWN_ENCODINGS = frozenset({0, 2, 3, 4, 5, 6, 7, 8, 9})  # PLAIN .. BYTE_STREAM_SPLIT
PIECE = 8 << 20

# FileMetaData, RowGroup, ColumnChunk and ColumnMetaData field ids (parquet-format's parquet.thrift)
_ROWS, _GROUPS, _KEY_VALUE, _ENCRYPTION, _SIGNING_KEY = 3, 4, 5, 8, 9
_GROUP_COLUMNS, _GROUP_ROWS = 1, 3
_CHUNK_FILE_PATH, _CHUNK_META, _CHUNK_INDEXES, _CHUNK_CRYPTO = 1, 3, (4, 5, 6, 7), (8, 9)
_META_ENCODINGS, _META_CODEC, _META_SIZE, _META_DATA_PAGE, _META_DICTIONARY_PAGE, _META_BLOOM = 2, 4, 7, 9, 11, (14, 15)


@dataclass(frozen=True)
class PageCopy:
    """A Parquet file that can be published by copying its pages, and what its footer says."""

    path: str
    size: int
    footer_at: int
    footer: bytes  # the Thrift FileMetaData, without its length and magic
    meta: Struct
    rows: int
    data_end: int  # where the column chunks end: what is copied (page indexes and bloom filters after it are not)


def plan_copy(path: str) -> PageCopy | str:
    """How to page-copy the Parquet file ``path``, or why it cannot be (see the module docstring).

    Raises:
        DataError: the file cannot be read.
    """
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(4)
            f.seek(max(size - 8, 0))
            tail = f.read(8)
            if head != MAGIC or len(tail) < 8 or tail[-4:] != MAGIC:
                return "not a plain Parquet file (encrypted footer or no PAR1 magic)"
            at = footer_start(tail, size, where=path)
            f.seek(at)
            footer = f.read(size - at - 8)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the batch ({exc})", uri=path) from exc
    except StampError as exc:  # a broken trailer: the re-encoding path reports it in its own words
        return f"unreadable footer ({exc})"
    try:
        meta = decode(footer)
        found = _chunks_end(meta, at)
        rows = int(meta[_ROWS])
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        return f"unreadable footer ({exc})"
    return found if isinstance(found, str) else PageCopy(path, size, at, footer, meta, rows, found)


def _chunks_end(meta: Struct, footer_at: int) -> int | str:
    """Where the tiled column chunks end, or why the file cannot be copied."""
    if _ENCRYPTION in meta or _SIGNING_KEY in meta:
        return "encrypted columns"
    for item in _items(meta.get(_KEY_VALUE)):
        if item.get(1) == STAMP_KEY:
            return "the file already carries a quality stamp"
    spans = []
    for group in _items(meta[_GROUPS]):
        if int(group[_GROUP_ROWS]) > MAX_GROUP_ROWS:
            return f"a row group of {group[_GROUP_ROWS]} rows (more than the store's {MAX_GROUP_ROWS})"
        for chunk in _items(group[_GROUP_COLUMNS]):
            if _CHUNK_FILE_PATH in chunk:
                return "a column chunk in another file"
            if any(i in chunk for i in _CHUNK_CRYPTO):
                return "encrypted columns"
            column = chunk[_CHUNK_META]
            codec = int(column[_META_CODEC])
            if codec not in COPY_CODECS:
                return f"codec {codec}, which not every reader decodes"
            unknown = set(_items(column[_META_ENCODINGS])) - KNOWN_ENCODINGS
            if unknown:
                return f"encoding {sorted(unknown)[0]}"
            dictionary = column.get(_META_DICTIONARY_PAGE)
            start = int(dictionary) if dictionary else int(column[_META_DATA_PAGE])
            spans.append((start, start + int(column[_META_SIZE])))
    end = len(MAGIC)
    for start, stop in sorted(spans):
        if start != end:
            return f"bytes {min(start, end)}..{max(start, end)} outside every column chunk"
        end = stop
    if end > footer_at:
        return "column chunks that run into the footer"
    return end


def _without_indexes(meta: Struct) -> Struct:
    """``meta`` without page index and bloom filter references (they lie after the copied chunks)."""
    groups = []
    for group in _items(meta[_GROUPS]):
        chunks = []
        for chunk in _items(group[_GROUP_COLUMNS]):
            column = chunk[_CHUNK_META]
            column = Struct([f for f in column.fields if f.id not in _META_BLOOM])
            fields = [f for f in chunk.fields if f.id not in _CHUNK_INDEXES]
            chunks.append(Struct([Field(f.id, f.type, column) if f.id == _CHUNK_META else f for f in fields]))
        columns = ThriftList(STRUCT, chunks)
        groups.append(Struct([Field(f.id, f.type, columns) if f.id == _GROUP_COLUMNS else f for f in group.fields]))
    out = Struct(list(meta.fields))
    out.put(_GROUPS, LIST, ThriftList(STRUCT, groups))
    return out


def _items(value: Any) -> list[Any]:
    return value.items if isinstance(value, ThriftList) else []


def stamped_footer(meta: Struct, stamp: Mapping[str, Any]) -> bytes:
    """``meta`` encoded again with ``stamp`` as its ``dqgate.stamp`` key-value entry (others kept)."""
    entries = [item for item in _items(meta.get(_KEY_VALUE)) if item.get(1) != STAMP_KEY]
    entry = Struct([Field(1, BINARY, STAMP_KEY), Field(2, BINARY, canonical_json(dict(stamp)))])
    out = _without_indexes(meta)
    out.put(_KEY_VALUE, LIST, ThriftList(STRUCT, [*entries, entry]))
    return encode(out)


@dataclass(frozen=True)
class Staged:
    """A batch file copied into the store before its check (:func:`staged`)."""

    plan: PageCopy  # of the copy: ``plan.path`` is what the check reads and what is published
    source: str  # the batch file it was copied from
    sha256: str  # of the whole file: what the batch id names
    pages: Any  # the sha256 of the copy's first ``plan.data_end`` bytes, open for the new footer


@contextlib.contextmanager
def staged(layout: DatasetLayout, path: str) -> Iterator[Beside[Staged] | None]:
    """Copy the Parquet file ``path`` into ``layout``'s ``objects/_tmp/`` for its check and
    publish (see the module docstring), in a thread beside the caller's own work until it
    asks for the result (a :class:`Staged`); None when it is not staged: a store that is not
    local, a dataset that has not written an object yet (staging creates no folder or
    lock file: a refused batch, or a retry that finds its batch done, leaves the store as
    it was), or a file :func:`plan_copy` would not copy. The publisher lease is held
    until the block ends, so gc cannot take the copy; the copy is removed then unless
    it was published.

    Raises:
        DataError: the file cannot be read (when planned; or by ``result``: read, or
            changed while it was copied).
        StoreError: (by ``result``) the store cannot be written.
    """
    if not layout.local or not os.path.isdir(layout.tmp_dir) or not os.path.isfile(lock_path(layout)):
        yield None
        return
    plan = plan_copy(path)
    if isinstance(plan, str):
        yield None
        return
    with publisher_lease(layout):
        tmp = os.path.abspath(layout.object_tmp_path(suffix=".parquet"))  # read as Parquet by the check, from any folder
        staging = Beside(_stage, plan, tmp, layout.store, name="dqgate-staging")  # ~0.07 s of a 1M-row append, hidden
        try:
            yield staging
        finally:
            staging.wait()  # never remove the copy while it is being written
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)


def _stage(plan: PageCopy, tmp: str, store: str) -> Staged:
    """Copy ``plan.path`` to ``tmp`` (in the kernel where it can), then hash the copy: the bytes
    hashed are the bytes the check reads and the object keeps."""
    try:
        src = os.open(plan.path, os.O_RDONLY)
    except OSError as exc:
        raise DataError(f"{plan.path}: cannot read the batch ({exc})", uri=plan.path) from exc
    try:
        try:
            out = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot write to store {store!r}: {exc}") from exc
        try:
            _copy_file(src, out, plan.path, store)
            if os.fstat(out).st_size != plan.size:  # (then the footer is compared where plan_copy read it)
                raise _changed(plan.path)
            with mmap.mmap(out, plan.size, prot=mmap.PROT_READ) as mm:  # read as the hash goes: a file larger than memory is fine
                with contextlib.suppress(AttributeError, OSError):
                    mm.madvise(mmap.MADV_SEQUENTIAL)
                if mm[plan.footer_at : plan.size - 8] != plan.footer:
                    raise _changed(plan.path)
                pages = hashlib.sha256(memoryview(mm)[: plan.data_end])
                whole = pages.copy()
                whole.update(memoryview(mm)[plan.data_end :])
        finally:
            os.close(out)
    finally:
        os.close(src)
    return Staged(PageCopy(tmp, plan.size, plan.footer_at, plan.footer, plan.meta, plan.rows, plan.data_end), plan.path, whole.hexdigest(), pages)


def _changed(path: str) -> DataError:
    return DataError(f"{path}: the batch changed while it was being read; nothing was published", uri=path)


def _copy_file(src: int, out: int, path: str, store: str) -> None:
    """All of ``src`` into ``out``: copy_file_range (no copy through user space), else read and write."""
    kernel_copy = getattr(os, "copy_file_range", None)  # Linux only
    if kernel_copy is not None:
        try:
            while kernel_copy(src, out, PIECE << 4):
                pass
            return
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF):
                raise _copy_error(exc, src, path, store) from exc
    view = memoryview(bytearray(PIECE))  # on from where the kernel's copy stopped: both offsets moved by what it copied
    while True:
        try:
            n = os.readv(src, [view])
        except OSError as exc:
            raise DataError(f"{path}: cannot read the batch ({exc})", uri=path) from exc
        if not n:
            return
        try:
            os.write(out, view[:n])
        except OSError as exc:
            raise StoreError(f"cannot write to store {store!r}: {exc}") from exc


def _copy_error(exc: OSError, src: int, path: str, store: str) -> Exception:
    """A failed copy_file_range as the error of the side that failed (a read error of the
    batch, else the store's)."""
    try:
        os.pread(src, 1, 0)
    except OSError:
        return DataError(f"{path}: cannot read the batch ({exc})", uri=path)
    return StoreError(f"cannot write to store {store!r}: {exc}")


def copy_object(
    store: str, dataset: str, plan: PageCopy | Staged, *, stamp: Mapping[str, Any], source_sha256: str | None = None
) -> ObjectInfo:
    """Publish the file of ``plan`` as a stamped, content-addressed object of ``dataset`` by copying its pages.

    Args:
        store: Store path or URI.
        dataset: Dataset name.
        plan: What :func:`plan_copy` found, or a file :func:`staged` copied into the store
            (then it is not copied again: cut after its chunks, given the stamped footer, moved).
        stamp: As for :func:`~dqgate.store.objects.write_object`.
        source_sha256: A prefix of the sha256 the whole file must still have (the bytes
            the batch id names): a file changed since it was checked is refused.

    Raises:
        DataError: the file changed since it was planned or checked, or cannot be read.
        StampError: the stamp lacks a field or cannot be published.
        StoreError: the store cannot be written, or the footer written does not read back.
    """
    layout = dataset_layout(store, dataset)
    key = signing_key()
    build_file_stamp(stamp, dataset=dataset, rows=0, key=None)  # fail before writing anything
    copy = plan.plan if isinstance(plan, Staged) else plan

    def stamp_for(data_sha256: str) -> dict[str, Any]:
        return build_file_stamp(
            stamp, dataset=dataset, rows=copy.rows, key=key, data_sha256=data_sha256, data_bytes=copy.data_end
        )

    with publisher_lease(layout):
        if isinstance(plan, Staged):
            if source_sha256 and not plan.sha256.startswith(source_sha256):
                raise DataError(f"{plan.source}: the batch changed since it was checked; nothing was published", uri=plan.source)
            os.truncate(copy.path, copy.data_end)  # the pages stay; the footer is written anew
            return place_object(layout, lambda out: _finish(out, copy, plan.pages.copy(), stamp_for), staged=copy.path)
        return place_object(layout, lambda out: _copy(out, plan, stamp_for, source_sha256))


def _finish(out: pa.NativeFile, plan: PageCopy, pages: Any, stamp_for: Callable[[str], dict[str, Any]]) -> tuple[str, int, int]:
    """The stamped footer after the chunks already in ``out`` (hashed as ``pages``)."""
    footer = stamped_footer(plan.meta, stamp_for(pages.hexdigest()))
    tail = footer + struct.pack("<i", len(footer)) + MAGIC
    _require_same_reading(plan, tail)
    pages.update(tail)
    out.write(tail)
    return pages.hexdigest(), plan.rows, plan.data_end + len(tail)


def _copy(
    out: pa.NativeFile, plan: PageCopy, stamp_for: Callable[[str], dict[str, Any]], source_sha256: str | None
) -> tuple[str, int, int]:
    pages = hashlib.sha256()  # the object and the source share these bytes: hashed once for both
    piece = bytearray(PIECE)
    view = memoryview(piece)
    try:
        with open(plan.path, "rb", buffering=0) as f:
            if os.fstat(f.fileno()).st_size != plan.size:
                raise DataError(f"{plan.path}: the batch changed while it was being published", uri=plan.path)
            left = plan.data_end
            while left:
                n = f.readinto(view[: min(left, PIECE)])
                if not n:
                    raise DataError(f"{plan.path}: the batch shrank while it was being published", uri=plan.path)
                pages.update(view[:n])
                out.write(view[:n])
                left -= n
            rest = f.read()
    except OSError as exc:
        raise DataError(f"{plan.path}: cannot read the batch ({exc})", uri=plan.path) from exc
    source = pages.copy()
    source.update(rest)
    if rest[plan.footer_at - plan.data_end : -8] != plan.footer or (source_sha256 and not source.hexdigest().startswith(source_sha256)):
        raise DataError(f"{plan.path}: the batch changed since it was checked; nothing was published", uri=plan.path)
    return _finish(out, plan, pages, stamp_for)


def _require_same_reading(plan: PageCopy, tail: bytes) -> None:
    """The new footer must read (through pyarrow) as the batch's: schema, rows, column chunks."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def read(footer_tail: bytes) -> pq.FileMetaData:
        return pq.read_metadata(pa.BufferReader(MAGIC + footer_tail))

    try:
        new = read(tail)
        old = read(plan.footer + struct.pack("<i", len(plan.footer)) + MAGIC)
    except (OSError, ValueError, pa.ArrowException) as exc:  # pragma: no cover - a bug of the footer writer
        raise StoreError(f"{plan.path}: the page-copied footer does not read back ({exc})") from exc

    def shape(meta: pq.FileMetaData) -> list[Any]:
        groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
        chunks = [(c.path_in_schema, c.data_page_offset, c.dictionary_page_offset, c.total_compressed_size)
                  for g in groups for c in (g.column(j) for j in range(g.num_columns))]  # fmt: skip
        schema = meta.schema.to_arrow_schema()
        kept = {k: v for k, v in (schema.metadata or {}).items() if k != STAMP_KEY}
        return [meta.num_rows, [g.num_rows for g in groups], chunks, schema.remove_metadata(), kept]

    if shape(new) != shape(old) or (new.metadata or {}).get(STAMP_KEY) is None:  # pragma: no cover - a bug
        raise StoreError(f"{plan.path}: the page-copied footer does not read as the batch's; nothing was published")
