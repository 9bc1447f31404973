"""Open a published snapshot; every byte it hands out is the byte that was published.

``open_snapshot`` checks, before handing out anything (cheap: a manifest, its
parent's manifest, the head log's tail, one ``get_file_info`` call):

- the manifest parses; its stamp repeats the manifest's dataset, version, rows,
  status (pass or warn), contract hash, the hash of its file hashes and of the
  whole manifest body; the HMAC verifies when ``DQGATE_SIGNING_KEY`` is set;
- it lists no file twice, each file's segment table covers the file, and every
  file exists with the recorded size;
- history (``store/chain.py``): its ``parent_sha256`` matches the parent's
  manifest; its sha256 matches what ``head.jsonl`` and this machine's memory
  recorded for its version; and, for "latest", no newer version was published
  or seen here whose manifest is now missing (a rollback).

Then the data: by default (``verify="read"``) every read path serves only
verified bytes: pyarrow reads through :mod:`dqgate.store.verified` (each byte
range checked against its BLAKE3 in the manifest, from the very buffer that is
then decoded; ``to_arrow`` decodes a verified private copy), Polars reads the
byte ranges its query touches right after they are checked, through the same
open file, under a read lease that no writer can open it without breaking
(:mod:`dqgate.store.staging`), DuckDB scans the verified Arrow dataset (its
errors turned back into StampError, :mod:`dqgate.store.relation`). ``verify="full"`` also hashes every file whole at open;
``verify="none"`` reads the files as they are (the stamp and history checks
still run).

Without a signing key, all of this catches accidents (bit rot, truncation,
careless edits, a deleted manifest), not a forger, who can recompute every
unkeyed hash; a one-line warning on stderr says so (once per process and dataset).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import sys
from typing import TYPE_CHECKING, Any, Literal

from dqgate.errors import StampError, StoreError, UsageError
from dqgate.store.chain import manifest_problems, read_head, remember, rollback_problem
from dqgate.store.layout import dataset_layout, is_local, require_dataset, suggest
from dqgate.store.localfs import FileType, arrow_filesystem
from dqgate.store.lineage import record_read
from dqgate.store.publish import default_user, read_manifest_sha, version_numbers
from dqgate.store.stamp import (
    ENV_KEY,
    PUBLISHABLE,
    STAMP_KEY,
    SignatureStatus,
    read_file_stamp,
    signature_status,
    signing_key,
    verify_stamp,
)
from dqgate.store.segments import READ_CHUNK, footer_start
from dqgate.store.staging import checked_in_place, staged
from dqgate.store.verify import snapshot_problems

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

    import duckdb
    import polars as pl
    import pyarrow as pa
    import pyarrow.dataset as pads
    import pyarrow.fs as pafs

    from dqgate.store.manifest import FileEntry, Manifest
    from dqgate.store.relation import VerifiedRelation

Verify = Literal["read", "full", "none"]
_warned: set[tuple[str, str]] = set()


class Snapshot:
    """A verified version of a dataset; data is read lazily, and verified as it is read."""

    def __init__(
        self,
        fs: pafs.FileSystem,
        manifest: Manifest,
        files: list[str],
        signature: SignatureStatus,
        *,
        verify: Verify = "read",
    ) -> None:
        self._fs = fs
        self.manifest = manifest
        self.files = files
        self.signature = signature
        self._verify = verify
        self._entries: dict[str, FileEntry] = dict(zip(files, manifest.files))

    @property
    def dataset(self) -> str:
        return self.manifest.dataset

    @property
    def version(self) -> int:
        return self.manifest.version

    @property
    def stamp(self) -> dict[str, Any]:
        return self.manifest.stamp

    @property
    def rows(self) -> int:
        return self.manifest.rows

    def __repr__(self) -> str:
        return f"Snapshot({self.dataset!r}, version={self.version}, rows={self.rows}, files={len(self.files)})"

    def _filesystem(self) -> pafs.FileSystem:
        fs = arrow_filesystem(self._fs)
        if self._verify == "none":
            return fs
        from dqgate.store.verified import verified_filesystem

        return verified_filesystem(fs, {p: (e.path, e.segment_table) for p, e in self._entries.items()})

    def _dataset(self) -> pads.Dataset:
        import pyarrow.dataset as pads

        if self._verify == "none":
            return pads.dataset(self.files, format="parquet", filesystem=arrow_filesystem(self._fs))
        # No pre-buffering: a verified read loads whole segments anyway, and Arrow's IO
        # threads then never call into Python on their own (only the scanning threads do).
        options = pads.ParquetFragmentScanOptions(pre_buffer=False)
        parquet = pads.ParquetFileFormat(default_fragment_scan_options=options)
        return pads.dataset(self.files, format=parquet, filesystem=self._filesystem())

    def to_arrow(self, columns: list[str] | None = None) -> pa.Table:
        """All rows as one Arrow table, files in manifest order, without the stamp metadata.

        Raises:
            StampError: a byte read differs from what was published.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._verify == "none" or not is_local(self._fs):
            table = self._dataset().to_table(columns=columns)
        else:  # native pyarrow over a verified private copy: no Python in the decode path

            tables = []
            for path, entry in self._entries.items():
                with staged(path, entry.path, entry.segment_table, columns) as copy:  # decoded in place
                    tables.append(pq.read_table(copy.native_file(), columns=columns))
            table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        meta = {k: v for k, v in (table.schema.metadata or {}).items() if k != STAMP_KEY}
        return table.replace_schema_metadata(meta or None)

    def to_polars(self) -> pl.DataFrame:
        """All rows as a Polars DataFrame (read and verified as :meth:`to_arrow` does)."""
        import polars as pl

        frame = pl.from_arrow(self.to_arrow())
        assert isinstance(frame, pl.DataFrame)
        return frame

    def scan_polars(self) -> pl.LazyFrame:
        """A LazyFrame over the snapshot; each collect verifies what its query reads.

        When the query runs, one file at a time, the footer and the column chunks
        of the columns it uses (projection and filter) are hashed and checked
        against the manifest, and then Polars' own Parquet reader reads that same
        open file (:func:`~dqgate.store.staging.checked_in_place`). A byte that
        differs raises :class:`~dqgate.errors.StampError` from ``collect()``.
        A read lease held from before the check until after the read refuses what
        was read if another process opened the file for writing meanwhile; where
        no lease can be had, Polars reads a verified private copy (docs/trust.md).
        Reading a local store this way imports no pyarrow.
        """
        import polars as pl

        if self._verify == "none":
            return pl.scan_parquet(self.files) if is_local(self._fs) else pl.scan_pyarrow_dataset(self._dataset())
        if not is_local(self._fs):
            return pl.scan_pyarrow_dataset(self._dataset())
        from polars.io.plugins import register_io_source

        first = next(iter(self._entries.items()))
        with _checked(first[0], first[1], ()) as checked:
            schema = pl.scan_parquet(checked).collect_schema()
        entries = list(self._entries.items())

        def source(
            with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, _batch_size: int | None
        ) -> Iterator[pl.DataFrame]:
            needed = None
            if with_columns is not None:
                needed = set(with_columns) | (set(predicate.meta.root_names()) if predicate is not None else set())
            left = n_rows
            for path, entry in entries:
                if left is not None and left <= 0:
                    return
                with _checked(path, entry, needed) as checked:
                    frame = pl.scan_parquet(checked)
                    if predicate is not None:
                        frame = frame.filter(predicate)
                    if with_columns is not None:
                        frame = frame.select(with_columns)
                    if left is not None:
                        frame = frame.head(left)
                    out = frame.collect()
                if left is not None:
                    left -= out.height
                yield out

        return register_io_source(source, schema=dict(schema), explain_name="dqgate verified snapshot")

    def to_duckdb(self, con: duckdb.DuckDBPyConnection) -> VerifiedRelation:
        """A DuckDB relation over the snapshot, on connection ``con``.

        DuckDB scans the verified Arrow dataset, pushing its projection down, so a
        query verifies the chunks it reads. The relation is wrapped
        (:class:`~dqgate.store.relation.VerifiedRelation`: every method of a DuckDB
        relation) so that a byte that differs raises
        :class:`~dqgate.errors.StampError` naming the file, not DuckDB's own error.

        Raises:
            StampError: from the relation's methods that run the query, on a changed byte.
        """
        from dqgate.store.relation import VerifiedRelation

        if self._verify == "none" and is_local(self._fs):
            return VerifiedRelation(con.read_parquet(self.files))
        return VerifiedRelation(con.from_arrow(self._dataset()))

    def iter_batches(self, n: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Record batches of at most ``n`` rows, streaming one file at a time, verified as they are read."""
        if n < 1:
            raise UsageError(f"batch size must be positive, got {n}", param="n")
        return self._batches(n)

    def _batches(self, n: int) -> Iterator[pa.RecordBatch]:
        import pyarrow.parquet as pq

        from dqgate.store.verified import open_verified

        fs = arrow_filesystem(self._fs)
        for path, entry in self._entries.items():
            if self._verify == "none":
                opened = fs.open_input_file(path)
            else:
                opened = open_verified(fs, path, entry.path, entry.segment_table)
            with opened as f:
                yield from pq.ParquetFile(f).iter_batches(batch_size=n)


def open_snapshot(
    store: str,
    dataset: str,
    version: int | str = "latest",
    *,
    consumer: str | None = None,
    verify: Verify | Literal["stamp"] = "read",
) -> Snapshot:
    """Open a verified snapshot of ``dataset`` and record the read in its lineage.

    Every read path of the returned snapshot (``to_arrow``, ``to_polars``,
    ``iter_batches``, ``scan_polars``, ``to_duckdb``) refuses, with
    :class:`~dqgate.errors.StampError` naming the file, any byte that differs
    from what was published.

    **Without** ``DQGATE_SIGNING_KEY`` **only accidents are caught**: bit rot,
    truncation, careless edits, a deleted newest manifest. Anyone who can write
    to the store can also recompute every unkeyed hash, so ``snap.signature`` is
    "unsigned" and a one-line warning goes to stderr. Set the same secret
    ``DQGATE_SIGNING_KEY`` in the publishing job and in every training job (a CI
    secret; see docs/trust.md) to refuse forgeries too.

    Args:
        store: Store path or URI.
        dataset: Dataset name.
        version: A version number or "latest".
        consumer: Who reads (a job or model name) for ``lineage.jsonl``; ``user@host`` by default.
        verify: "read" (default) verifies every byte as it is read; "full" also
            hashes every file whole now; "none" reads files unverified (the
            manifest, stamp and history checks still run). "stamp" is an old
            name of "read".

    Returns:
        The snapshot, whose data has not been read yet.

    Raises:
        StampError: the stamp is missing, forged, unsigned or badly signed while a
            signing key is set; the files do not match it; the manifest is not
            the one published (replayed, rewritten history); or "latest" is not
            the newest version published (rolled back).
        StoreError: the store, dataset or version does not exist.
        UsageError: bad dataset name or ``verify`` value.
    """
    if verify == "stamp":
        verify = "read"
    if verify not in ("read", "full", "none"):
        raise UsageError(f"verify must be 'read', 'full' or 'none', got {verify!r}", param="verify")
    layout = dataset_layout(store, dataset, reader=True)  # local: plain os calls, no pyarrow import
    manifest, raw, manifest_sha = read_manifest_sha(layout, version)
    key = signing_key()
    problems = snapshot_problems(layout, manifest, raw, key, full=verify == "full")
    head = read_head(layout, key)
    problems += manifest_problems(
        layout, manifest.version, manifest.parent, manifest.parent_sha256, manifest_sha, head
    )
    newest = max([*version_numbers(layout), manifest.version])
    rollback = rollback_problem(layout, newest, head)
    if rollback and version == "latest":
        problems.append(rollback)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        msg = f"refusing {dataset}@{manifest.version}: {problems[0]}{more}"
        raise StampError(msg, version=manifest.version)
    if rollback:
        _warn(f"{dataset}@{manifest.version}: {rollback}")
    files = [layout.abs(f.path) for f in manifest.files]
    signature = signature_status(manifest.stamp, key)
    snapshot = Snapshot(layout.fs, manifest, files, signature, verify=verify)
    if signature != "verified" and (layout.store, dataset) not in _warned:
        _warned.add((layout.store, dataset))
        what = "is unsigned" if signature == "unsigned" else f"is signed, but {ENV_KEY} is not set here"
        _warn(
            f"{dataset}@{manifest.version} {what}: without {ENV_KEY} only accidents are caught, "
            "not forgeries (see docs/trust.md)"
        )
    if manifest.version == newest:
        remember(layout, manifest.version, manifest_sha)
    record_read(layout, manifest.version, consumer or default_user())
    from dqgate.events import lineage

    if lineage.enabled():
        lineage.emit_read(store=store, dataset=dataset, version=manifest.version, consumer=consumer or default_user())
    return snapshot


@contextlib.contextmanager
def _checked(path: str, entry: FileEntry, columns: Collection[str] | None) -> Iterator[str]:
    """A path Polars can read whose bytes for ``columns`` were checked (in place on Linux, else a copy)."""
    if sys.platform.startswith("linux"):
        with checked_in_place(path, entry.path, entry.segment_table, columns) as checked:
            yield checked
    else:  # pragma: no cover - no /proc/self/fd: a verified private copy
        with staged(path, entry.path, entry.segment_table, columns) as copy:
            yield copy.path


def _warn(message: str) -> None:
    """One line on stderr (not ``warnings``: it must reach a training job's log as one line)."""
    sys.stderr.write(f"dqgate: warning: {message}\n")


def list_quarantine(store: str, dataset: str) -> list[dict[str, Any]]:
    """One summary per ``quarantine/<batch-id>/``: its id, files, bytes, and report.json (or None).

    Raises:
        StoreError: the store or dataset does not exist.
    """
    layout = dataset_layout(store, dataset, reader=True)  # local: plain os calls, no pyarrow import
    require_dataset(layout)
    dirs = layout.listing(layout.quarantine_dir)
    out = []
    for d in sorted((i for i in dirs if i.type == FileType.Directory), key=lambda i: i.base_name):
        files = [i for i in layout.listing(d.path, recursive=True) if i.type == FileType.File]
        report = _read_json(layout.fs, posixpath.join(d.path, "report.json"))
        out.append(
            {
                "batch_id": d.base_name,
                "files": len(files),
                "bytes": sum(i.size or 0 for i in files),
                "modified": max((i.mtime for i in files if i.mtime), default=d.mtime),
                "report": report,
            }
        )
    return out


def quarantine_report(store: str, dataset: str, batch_id: str) -> dict[str, Any]:
    """The ``report.json`` of one quarantined batch.

    Raises:
        StoreError: the dataset, the batch or its report does not exist or is not JSON.
        UsageError: bad dataset name or batch id.
    """
    layout = dataset_layout(store, dataset)
    require_dataset(layout)
    path = layout.quarantine_report_path(batch_id)
    report = _read_json(layout.fs, path)
    if report is None:
        batches = [q["batch_id"] for q in list_quarantine(store, dataset)]
        msg = f"no quarantine report for batch {batch_id!r} of {dataset!r}{suggest(batch_id, batches)}"
        raise StoreError(msg)
    return report


def _read_json(fs: pafs.FileSystem, path: str) -> dict[str, Any] | None:
    try:
        with fs.open_input_stream(path) as f:
            data = json.loads(f.read())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        msg = f"{path} is not valid JSON: {exc}"
        raise StoreError(msg) from exc
    return data if isinstance(data, dict) else {"report": data}


def verify_file(path: str) -> dict[str, Any]:
    """The footer stamp of a loose Parquet file, HMAC-checked when a signing key is set.

    The stamp binds the file's data pages (``data_sha256`` of every byte before
    the footer), so they are hashed and compared too.

    Raises:
        StampError: no stamp, a stamp that is not publishable or does not match the
            file's row count or data pages, or a bad or missing HMAC while a key is set.
        UsageError: the file cannot be opened.
    """
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    if "://" in path:
        fs, inner = pafs.FileSystem.from_uri(path)
    else:
        fs, inner = pafs.LocalFileSystem(), os.path.abspath(path)
    try:
        meta = pq.read_metadata(inner, filesystem=fs)
    except (OSError, ValueError) as exc:
        msg = f"cannot read Parquet file {path!r}: {exc}"
        raise UsageError(msg, param="path") from exc
    stamp = read_file_stamp(meta.metadata, where=path)
    verify_stamp(stamp, signing_key())
    if _data_sha256(fs, inner, stamp) != stamp.get("data_sha256"):
        raise StampError(f"{path}: its data pages differ from what its stamp's data_sha256 binds")
    if stamp.get("rows") != meta.num_rows:
        raise StampError(f"{path}: stamp says {stamp.get('rows')} rows, the file has {meta.num_rows}")
    if stamp.get("status") not in PUBLISHABLE:
        raise StampError(f"{path}: stamp status {stamp.get('status')!r} is not 'pass' or 'warn'")
    return stamp


def _data_sha256(fs: pafs.FileSystem, path: str, stamp: dict[str, Any]) -> str | None:
    """sha256 of the bytes before the footer, when the stamp's ``data_bytes`` is where the footer starts."""
    data_bytes = stamp.get("data_bytes")
    with fs.open_input_file(path) as f:
        size = f.size()
        f.seek(max(size - 8, 0))
        if not isinstance(data_bytes, int) or footer_start(f.read(8), size, where=path) != data_bytes:
            return None
        f.seek(0)
        digest = hashlib.sha256()
        left = data_bytes
        while left and (block := f.read(min(left, READ_CHUNK))):
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()
