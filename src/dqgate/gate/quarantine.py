"""Write a rejected batch, or its rejected rows with one reason column per rule, to quarantine.

``<store>/<dataset>/quarantine/<batch-id>/`` holds ``batch.parquet`` (the whole
batch) or ``rows.parquet`` (the failing rows, each with one boolean column per
error-severity row rule, named by rule id, TRUE where the row fails that rule), and
``report.json`` (the result JSON plus what happened). The Parquet key-value
metadata ``dqgate.rule_columns`` names the reason columns, so the file explains
itself. An ingest on Spark writes the same data from each partition, in the
executors: ``batch.parquet/`` or ``rows.parquet/`` is then a folder of
``part-NNNNN.parquet`` files (as Spark names its own output), read as one table. ``report.json`` is written last: a quarantine entry without it is a
leftover of a crash, which ``dq store gc`` may remove.
"""

from __future__ import annotations

import json
import posixpath
import uuid
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dqgate.store.layout import dataset_layout

RULE_COLUMNS_KEY = b"dqgate.rule_columns"


def quarantine_dir(store: str, dataset: str, batch_id: str) -> str:
    """The folder of one quarantined batch."""
    return dataset_layout(store, dataset).quarantine_batch_dir(batch_id)


def is_quarantined(store: str, dataset: str, batch_id: str) -> bool:
    """Whether a complete quarantine entry (with its report) exists for ``batch_id``."""
    layout = dataset_layout(store, dataset)
    from pyarrow import fs as pafs

    return layout.fs.get_file_info(layout.quarantine_report_path(batch_id)).type == pafs.FileType.File


def is_unfinished(store: str, dataset: str, batch_id: str) -> bool:
    """Whether ``quarantine/<batch-id>/`` exists without its report (a crashed ingest's leftover)."""
    layout = dataset_layout(store, dataset)
    from pyarrow import fs as pafs

    folder = layout.fs.get_file_info(layout.quarantine_batch_dir(batch_id)).type == pafs.FileType.Directory
    return folder and not is_quarantined(store, dataset, batch_id)


def write_data(
    store: str,
    dataset: str,
    batch_id: str,
    name: str,
    data: pa.RecordBatchReader | pa.Table,
    *,
    rule_columns: tuple[str, ...] = (),
) -> tuple[str, int]:
    """Stream ``data`` to ``quarantine/<batch-id>/<name>`` as zstd Parquet; returns (path, rows)."""
    layout = dataset_layout(store, dataset)
    folder = layout.quarantine_batch_dir(batch_id)
    layout.fs.create_dir(folder, recursive=True)
    schema = data.schema
    if rule_columns:
        meta = dict(schema.metadata or {})
        meta[RULE_COLUMNS_KEY] = json.dumps(list(rule_columns)).encode()
        schema = schema.with_metadata(meta)
    path = posixpath.join(folder, name)
    rows = 0
    batches = data.to_batches() if isinstance(data, pa.Table) else data
    with layout.fs.open_output_stream(path) as sink, pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for batch in batches:
            if batch.num_rows:
                writer.write_batch(batch.replace_schema_metadata(schema.metadata))
                rows += batch.num_rows
    return path, rows


def clear_part_folder(store: str, dataset: str, batch_id: str, name: str) -> None:
    """Remove ``quarantine/<batch-id>/<name>/`` if a crashed run left one: its parts would be read as rows."""
    from pyarrow import fs as pafs

    layout = dataset_layout(store, dataset)
    folder = posixpath.join(layout.quarantine_batch_dir(batch_id), name)
    if layout.fs.get_file_info(folder).type == pafs.FileType.Directory:
        layout.fs.delete_dir(folder)


def write_part(
    store: str,
    dataset: str,
    batch_id: str,
    name: str,
    part: int,
    data: pa.RecordBatchReader | pa.Table,
    *,
    rule_columns: tuple[str, ...] = (),
) -> tuple[str, int]:
    """Stream one partition's rows to ``quarantine/<batch-id>/<name>/part-<part>.parquet``."""
    layout = dataset_layout(store, dataset)
    layout.fs.create_dir(posixpath.join(layout.quarantine_batch_dir(batch_id), name), recursive=True)
    return write_data(store, dataset, batch_id, posixpath.join(name, f"part-{part:05d}.parquet"), data, rule_columns=rule_columns)


def write_report(store: str, dataset: str, batch_id: str, report: dict[str, Any]) -> str:
    """Write ``report.json`` last, through a temporary name, so it is never half-written."""
    layout = dataset_layout(store, dataset)
    folder = layout.quarantine_batch_dir(batch_id)
    layout.fs.create_dir(folder, recursive=True)
    final = layout.quarantine_report_path(batch_id)
    tmp = posixpath.join(folder, f".report-{uuid.uuid4().hex}.tmp")
    with layout.fs.open_output_stream(tmp) as out:
        out.write(json.dumps(report, indent=2, default=str).encode())
    layout.fs.move(tmp, final)
    return final
