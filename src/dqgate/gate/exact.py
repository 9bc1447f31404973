"""The exact Arrow data of a batch, so that what is published reads back equal to it.

The check reads a batch through DuckDB, whose types are narrower than Arrow's: a
``decimal256(60,2)`` arrives as DOUBLE, a ``timestamp[us, tz=America/New_York]`` as
a UTC timestamp, a dictionary as an enum. Streaming the checked view into the
snapshot would publish those conversions. So the object is written from the batch
itself instead:

* in-memory Arrow data (or anything turned into it): the table as given;
* one Parquet file: its row groups, read by pyarrow with the file's own Arrow schema;
* several Parquet files (a folder or glob) with one schema and no hive partitions:
  their row groups in the order DuckDB reads them (sorted paths).

CSV and JSON hold text, not Arrow types: DuckDB's reading of them is the data, and
they stream from the checked view. So do Parquet files whose schemas differ (DuckDB
unions them by name); publishing them is refused when that union changes a column's
type (see :func:`refuse_changed`).

Whatever Parquet cannot hold exactly is refused before anything is written
(:func:`dqgate.store.exact.refuse_inexact`).
"""

from __future__ import annotations

import glob as globlib
import os
from typing import Any, Callable

import pyarrow as pa
import pyarrow.parquet as pq

from dqgate.errors import DataError

_PARQUET = (".parquet", ".pq", ".parq")


def parquet_files(path: str) -> list[str] | None:
    """The Parquet files of a batch path, in DuckDB's order; None when it is not Parquet."""
    if os.path.isdir(path):
        files = sorted(globlib.glob(os.path.join(path, "**", "*.parquet"), recursive=True))
    elif any(ch in path for ch in "*?["):
        files = sorted(globlib.glob(path, recursive=True))
    else:
        files = [path]
    if not files or not all(f.lower().endswith(_PARQUET) or _magic(f) for f in files):
        return None
    return files


def _magic(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _hive(path: str, files: list[str]) -> bool:
    root = path if os.path.isdir(path) else os.path.dirname(path[: min((path.index(c) for c in "*?[" if c in path), default=len(path))])
    return any("=" in part for f in files for part in os.path.relpath(os.path.dirname(f), root or ".").split(os.sep))


def schema_of(batch: Any) -> pa.Schema | None:
    """The exact Arrow schema of a batch, or None when DuckDB's reading of it is the data."""
    if isinstance(batch, pa.Table):
        return batch.schema
    files = parquet_files(os.fspath(batch))
    if files is None:
        return None
    schemas = [_read_schema(f) for f in files]
    if any(s is None for s in schemas):  # unreadable: the check says so, in its own words
        return None
    if len(files) > 1 and (_hive(os.fspath(batch), files) or any(not s.equals(schemas[0]) for s in schemas[1:])):
        return None
    return schemas[0]


def _read_schema(path: str) -> pa.Schema | None:
    try:
        return pq.read_schema(path)
    except (OSError, pa.ArrowException):
        return None


def reader(batch: Any) -> pa.RecordBatchReader | None:
    """The batch's exact rows as one stream (None: stream DuckDB's checked view instead)."""
    schema = schema_of(batch)
    if schema is None:
        return None
    if isinstance(batch, pa.Table):
        return batch.to_reader()
    files = parquet_files(os.fspath(batch)) or []

    def batches() -> Any:
        for f in files:
            yield from pq.ParquetFile(f).iter_batches(batch_size=1 << 20)  # one row group's worth (objects.py)

    return pa.RecordBatchReader.from_batches(schema, batches())


def single_file(batch: Any) -> str | None:
    """The batch's path when it is one Parquet file whose own Arrow schema is the data (it may be
    page-copied), else None (a folder or glob is re-encoded: its batch id names more than the bytes)."""
    if isinstance(batch, pa.Table) or not os.path.isfile(os.fspath(batch)) or schema_of(batch) is None:
        return None
    return os.fspath(batch)


def table(batch: Any) -> pa.Table | None:
    """The batch's exact rows in memory (quarantine_rows filters them), or None."""
    got = reader(batch)
    return got.read_all() if got is not None else None


def publishable(batch: Any, checked: Callable[[], pa.RecordBatchReader]) -> pa.RecordBatchReader:
    """What to write for ``batch``: its exact rows, else ``checked()`` (the checked view's stream).

    Raises:
        DataError: a multi-file Parquet batch whose union changes a column's type.
    """
    exact = reader(batch)
    if exact is not None:
        return exact
    stream = checked()
    files = parquet_files(os.fspath(batch)) if not isinstance(batch, pa.Table) else None
    if files:
        refuse_changed(stream.schema, files)
    return stream


def refuse_changed(checked: pa.Schema, files: list[str]) -> None:
    """Refuse to publish a multi-file Parquet batch whose union by name changes a column's type."""
    first = {f.name: f.type for f in _read_schema(files[0]) or ()}
    for field in checked:
        want = first.get(field.name)
        if want is not None and want != field.type:
            msg = (
                f"{files[0]}: column '{field.name}' is {want} in the file but the files of this batch read as "
                f"{field.type} together; ingest the files one by one so the snapshot keeps the exact type"
            )
            raise DataError(msg, uri=files[0], column=field.name)
