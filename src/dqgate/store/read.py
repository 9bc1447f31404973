"""Open a published snapshot, refusing data whose quality stamp does not hold.

``open_snapshot`` checks, before handing out any data:

- ``verify="stamp"`` (cheap: one manifest read, stamp math, one ``get_file_info``
  call): the manifest parses; its stamp repeats the manifest's dataset, version,
  rows, status (pass or warn), contract hash, the hash of its file hashes and of
  the whole manifest body; the HMAC verifies when ``DQGATE_SIGNING_KEY`` is set;
  every file exists with the recorded size.
- ``verify="full"``: also every file's sha256, footer stamp and row count.

Then it appends one line to ``lineage.jsonl`` and returns a :class:`Snapshot`.
"""

from __future__ import annotations

import json
import os
import posixpath
from typing import TYPE_CHECKING, Any, Literal

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from dqgate.errors import StampError, StoreError, UsageError
from dqgate.store.layout import dataset_layout, is_local, require_dataset, suggest
from dqgate.store.lineage import record_read
from dqgate.store.publish import default_user, read_manifest
from dqgate.store.stamp import (
    PUBLISHABLE,
    STAMP_KEY,
    SignatureStatus,
    read_file_stamp,
    signature_status,
    signing_key,
    verify_stamp,
)
from dqgate.store.verify import snapshot_problems

if TYPE_CHECKING:
    from collections.abc import Iterator

    import duckdb
    import polars as pl
    import pyarrow as pa
    import pyarrow.dataset as pads

    from dqgate.store.manifest import Manifest


class Snapshot:
    """A verified version of a dataset; data is read lazily from its Parquet files."""

    def __init__(self, fs: pafs.FileSystem, manifest: Manifest, files: list[str], signature: SignatureStatus) -> None:
        self._fs = fs
        self.manifest = manifest
        self.files = files
        self.signature = signature

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

    def _dataset(self) -> pads.Dataset:
        import pyarrow.dataset as pads

        return pads.dataset(self.files, format="parquet", filesystem=self._fs)

    def to_arrow(self, columns: list[str] | None = None) -> pa.Table:
        """All rows as one Arrow table, files in manifest order, without the stamp metadata."""
        table = self._dataset().to_table(columns=columns)
        meta = {k: v for k, v in (table.schema.metadata or {}).items() if k != STAMP_KEY}
        return table.replace_schema_metadata(meta or None)

    def to_polars(self) -> pl.DataFrame:
        import polars as pl

        frame = pl.from_arrow(self.to_arrow())
        assert isinstance(frame, pl.DataFrame)
        return frame

    def scan_polars(self) -> pl.LazyFrame:
        """A LazyFrame over the files (Polars reads them itself when they are local)."""
        import polars as pl

        if is_local(self._fs):
            return pl.scan_parquet(self.files)
        return pl.scan_pyarrow_dataset(self._dataset())

    def to_duckdb(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        """A DuckDB relation over ``read_parquet`` of the files, on connection ``con``."""
        if is_local(self._fs):
            return con.read_parquet(self.files)
        return con.from_arrow(self._dataset())

    def iter_batches(self, n: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Record batches of at most ``n`` rows, streaming one file at a time."""
        if n < 1:
            raise UsageError(f"batch size must be positive, got {n}", param="n")
        return self._batches(n)

    def _batches(self, n: int) -> Iterator[pa.RecordBatch]:
        for path in self.files:
            with self._fs.open_input_file(path) as f:
                yield from pq.ParquetFile(f).iter_batches(batch_size=n)


def open_snapshot(
    store: str,
    dataset: str,
    version: int | str = "latest",
    *,
    consumer: str | None = None,
    verify: Literal["stamp", "full"] = "stamp",
) -> Snapshot:
    """Open a verified snapshot of ``dataset`` and record the read in its lineage.

    Args:
        store: Store path or URI.
        dataset: Dataset name.
        version: A version number or "latest".
        consumer: Who reads (a job or model name) for ``lineage.jsonl``; ``user@host`` by default.
        verify: "stamp" checks the manifest, stamp and file presence; "full" also
            hashes every file and checks its footer stamp.

    Returns:
        The snapshot, whose data has not been read yet.

    Raises:
        StampError: the stamp is missing, forged, unsigned or badly signed while a
            signing key is set, or the files do not match it.
        StoreError: the store, dataset or version does not exist.
        UsageError: bad dataset name or ``verify`` value.
    """
    if verify not in ("stamp", "full"):
        raise UsageError(f"verify must be 'stamp' or 'full', got {verify!r}", param="verify")
    layout = dataset_layout(store, dataset)
    manifest, raw = read_manifest(layout, version)
    key = signing_key()
    problems = snapshot_problems(layout, manifest, raw, key, full=verify == "full")
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        msg = f"refusing {dataset}@{manifest.version}: {problems[0]}{more}"
        raise StampError(msg, version=manifest.version)
    files = [layout.abs(f.path) for f in manifest.files]
    snapshot = Snapshot(layout.fs, manifest, files, signature_status(manifest.stamp, key))
    record_read(layout, manifest.version, consumer or default_user())
    from dqgate.events import lineage

    if lineage.enabled():
        lineage.emit_read(store=store, dataset=dataset, version=manifest.version, consumer=consumer or default_user())
    return snapshot


def list_quarantine(store: str, dataset: str) -> list[dict[str, Any]]:
    """One summary per ``quarantine/<batch-id>/``: its id, files, bytes, and report.json (or None).

    Raises:
        StoreError: the store or dataset does not exist.
    """
    layout = dataset_layout(store, dataset)
    require_dataset(layout)
    dirs = layout.fs.get_file_info(pafs.FileSelector(layout.quarantine_dir, allow_not_found=True))
    out = []
    for d in sorted((i for i in dirs if i.type == pafs.FileType.Directory), key=lambda i: i.base_name):
        files = [
            i
            for i in layout.fs.get_file_info(pafs.FileSelector(d.path, recursive=True))
            if i.type == pafs.FileType.File
        ]
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

    Raises:
        StampError: no stamp, a stamp that is not publishable or does not match the
            file's row count, or a bad or missing HMAC while a key is set.
        UsageError: the file cannot be opened.
    """
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
    if stamp.get("rows") != meta.num_rows:
        raise StampError(f"{path}: stamp says {stamp.get('rows')} rows, the file has {meta.num_rows}")
    if stamp.get("status") not in PUBLISHABLE:
        raise StampError(f"{path}: stamp status {stamp.get('status')!r} is not 'pass' or 'warn'")
    return stamp
