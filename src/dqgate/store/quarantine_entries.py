"""The lifecycle of quarantine entries: read their rows, mark them released, drop them, expire them.

An entry is ``<store>/<dataset>/quarantine/<batch-id>/``: ``batch.parquet`` (a whole
batch) or ``rows.parquet`` (failing rows, one boolean column per rule named in the
``dqgate.rule_columns`` metadata), each a file or (written by Spark's partitions) a
folder of part files, and ``report.json``. A released entry also holds
``release.json`` (who released it, when, under which contract, into which version);
the gate then treats the batch as published. Dropping removes the folder; retention
(``dq store gc --quarantine-older-than 30d``) drops entries whose report is older.
"""

from __future__ import annotations

import json
import posixpath
import time
import uuid
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from dqgate.errors import StoreError
from dqgate.store.layout import dataset_layout, require_dataset, suggest

RULE_COLUMNS_KEY = b"dqgate.rule_columns"
RELEASE_NAME = "release.json"
REASONS = "reasons"


def _entry_dir(store: str, dataset: str, batch_id: str) -> tuple[Any, str]:
    layout = dataset_layout(store, dataset)
    require_dataset(layout)
    folder = layout.quarantine_batch_dir(batch_id)
    if layout.fs.get_file_info(layout.quarantine_report_path(batch_id)).type != pafs.FileType.File:
        infos = layout.fs.get_file_info(pafs.FileSelector(layout.quarantine_dir, allow_not_found=True))
        names = [i.base_name for i in infos if i.type == pafs.FileType.Directory]
        msg = f"no quarantined batch {batch_id!r} in dataset {dataset!r}{suggest(batch_id, names)}"
        raise StoreError(msg)
    return layout, folder


def entry_rows(store: str, dataset: str, batch_id: str) -> tuple[pa.Table, list[str]]:
    """The quarantined rows and the names of their reason columns (none for a whole batch).

    Raises:
        StoreError: no such entry, or its data file is missing or unreadable.
    """
    layout, folder = _entry_dir(store, dataset, batch_id)
    for name in ("rows.parquet", "batch.parquet"):
        path = posixpath.join(folder, name)
        if layout.fs.get_file_info(path).type not in (pafs.FileType.File, pafs.FileType.Directory):
            continue
        try:
            table = pq.read_table(path, filesystem=layout.fs)
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(f"{dataset}/quarantine/{batch_id}/{name} cannot be read: {exc}") from None
        rule_columns = json.loads((table.schema.metadata or {}).get(RULE_COLUMNS_KEY, b"[]"))
        return table, [c for c in rule_columns if c in table.column_names]
    raise StoreError(f"quarantined batch {batch_id!r} of {dataset!r} holds no data file (rows.parquet or batch.parquet)")


def data_rows(store: str, dataset: str, batch_id: str) -> pa.Table:
    """The quarantined rows as the batch had them: without reason columns or their metadata."""
    table, reasons = entry_rows(store, dataset, batch_id)
    meta = {k: v for k, v in (table.schema.metadata or {}).items() if k != RULE_COLUMNS_KEY}
    return table.drop_columns(reasons).replace_schema_metadata(meta or None)


def with_reasons(table: pa.Table, rule_columns: list[str]) -> pa.Table:
    """``table`` with one ``reasons`` column: the ids of the rules each row fails, in rule order."""
    flags = [table.column(c).to_pylist() for c in rule_columns]
    reasons = [[c for c, col in zip(rule_columns, flags) if col[i]] for i in range(table.num_rows)]
    name = REASONS if REASONS not in table.column_names else "__dq_reasons"
    return table.append_column(name, pa.array(reasons, pa.list_(pa.string())))


def release_record(store: str, dataset: str, batch_id: str) -> dict[str, Any] | None:
    """The ``release.json`` of an entry, or None when it was not released."""
    layout = dataset_layout(store, dataset)
    path = posixpath.join(layout.quarantine_batch_dir(batch_id), RELEASE_NAME)
    try:
        with layout.fs.open_input_stream(path) as f:
            data = json.loads(f.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StoreError(f"{dataset}/quarantine/{batch_id}/{RELEASE_NAME} is unreadable: {exc}") from None
    return data if isinstance(data, dict) else None


def mark_released(store: str, dataset: str, batch_id: str, record: dict[str, Any]) -> None:
    """Write ``release.json`` through a temporary name, so it is never half-written."""
    layout, folder = _entry_dir(store, dataset, batch_id)
    tmp = posixpath.join(folder, f".release-{uuid.uuid4().hex}.tmp")
    with layout.fs.open_output_stream(tmp) as out:
        out.write(json.dumps(record, indent=2, default=str).encode())
    layout.fs.move(tmp, posixpath.join(folder, RELEASE_NAME))


def drop(store: str, dataset: str, batch_id: str) -> str:
    """Delete one quarantine entry; returns its path relative to the dataset.

    Raises:
        StoreError: no such entry.
    """
    layout, folder = _entry_dir(store, dataset, batch_id)
    layout.fs.delete_dir(folder)
    return layout.rel(folder)


def expire(store: str, dataset: str, older_than_s: float, *, dry_run: bool = False) -> list[str]:
    """Drop every entry whose newest file is older than ``older_than_s`` seconds; their paths."""
    layout = dataset_layout(store, dataset)
    if not layout.exists():
        return []
    now = time.time()
    out = []
    dirs = layout.fs.get_file_info(pafs.FileSelector(layout.quarantine_dir, allow_not_found=True))
    for d in sorted((i for i in dirs if i.type == pafs.FileType.Directory), key=lambda i: i.base_name):
        files = [i for i in layout.fs.get_file_info(pafs.FileSelector(d.path, recursive=True)) if i.type == pafs.FileType.File]
        newest = max((i.mtime.timestamp() for i in files if i.mtime), default=d.mtime.timestamp() if d.mtime else now)
        if now - newest >= older_than_s:
            out.append(layout.rel(d.path))
            if not dry_run:
                layout.fs.delete_dir(d.path)
    return out
