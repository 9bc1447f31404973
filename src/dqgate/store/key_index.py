"""The key index beside a snapshot: sorted runs of (key, count) in Parquet.

Each appended version writes one run holding the distinct keys of its batch and
how often each occurs, sorted by key, under ``<dataset>/keys/<sha256>.parquet``.
A snapshot's index is the list of its versions' runs (kept in its state), so an
append writes only its own keys, never a copy of the parent's index (as an LSM
tree keeps sorted runs rather than rewriting one table). A batch's keys are
checked against the runs by a join whose build side is the batch: DuckDB pushes the
batch's key range into the scan of the sorted runs, which skips every row group
outside it, so new keys cost little however large the snapshot is.

The store knows nothing of contracts: a run is a table of key columns plus the
count column :data:`COUNT`. Runs are checked by size and row count when a state
names them (``run_problems``), and by the sha256 the state binds before they are read
(``verify``); a run that fails either is rebuilt by rescanning, never trusted.
"""

from __future__ import annotations

import hashlib
import io
from typing import TYPE_CHECKING, Any

from dqgate.store.layout import dataset_layout
from dqgate.store.state import write_once

if TYPE_CHECKING:
    import pyarrow as pa

KEYS_DIR = "keys"
COUNT = "__dq_n"
ROW_GROUP = 64 * 1024  # small row groups: the min/max of each lets a lookup skip most of a run


def encode_run(table: pa.Table) -> tuple[dict[str, Any], bytes]:
    """One run (``table`` sorted by its key columns, with :data:`COUNT`) as Parquet bytes, and its
    reference ``{"path", "sha256", "rows", "bytes"}``; nothing is written yet (:func:`write_run`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    # Keys are distinct within a run: a dictionary would only be built to be dropped. Integer
    # columns are delta-encoded: sorted keys and counts of 1 become a few bits a row (1M ids:
    # 1.4 MB -> 20 KB, a fifth of the CPU). A ParquetWriter, not write_table, which imports pandas.
    deltas = {f.name: "DELTA_BINARY_PACKED" for f in table.schema if pa.types.is_integer(f.type)}
    with pq.ParquetWriter(sink, table.schema, compression="zstd", write_statistics=True, use_dictionary=False, column_encoding=deltas or None) as writer:
        writer.write_table(table, row_group_size=ROW_GROUP)
    data = sink.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    ref = {"path": f"{KEYS_DIR}/{sha[:2]}/{sha}.parquet", "sha256": sha, "rows": table.num_rows, "bytes": len(data)}
    span = integer_span(table.column(0)) if table.num_rows else None
    if span is not None:  # kept in the state, which binds it: what may_hold trusts
        ref.update(low=span[0], high=span[1])
    return ref, data


def integer_span(column: Any) -> tuple[int, int] | None:
    """(min, max) of an integer column without NULLs (Arrow, not empty), else None; read with
    numpy over the column's buffer (importing pyarrow.compute for it costs more than the scan)."""
    import numpy as np
    import pyarrow as pa

    if not pa.types.is_integer(column.type) or column.null_count or len(column) == 0:
        return None
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    width = column.type.bit_width // 8
    kind = "i" if pa.types.is_signed_integer(column.type) else "u"
    values = np.frombuffer(arr.buffers()[1], dtype=f"{kind}{width}", count=len(arr), offset=arr.offset * width)
    return int(values.min()), int(values.max())


def write_run(store: str, dataset: str, ref: dict[str, Any], data: bytes) -> None:
    """Write an encoded run under its content address (before any state names it)."""
    write_once(store, dataset, ref["path"], data)


def named_runs(state: object) -> set[str]:
    """Every key run a state names: each ``{"path": "keys/..."}`` anywhere in its JSON (gc keeps them)."""
    out: set[str] = set()
    todo = [state]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            path = item.get("path")
            if isinstance(path, str) and path.startswith(f"{KEYS_DIR}/"):
                out.add(path)
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return out


def run_path(store: str, dataset: str, run: dict[str, Any]) -> str:
    return dataset_layout(store, dataset).abs(run["path"])


class CorruptRun(Exception):
    """A key run whose bytes are not those its state names (its sha256 differs, or it is gone)."""


def verify(store: str, dataset: str, runs: list[dict[str, Any]]) -> None:
    """Check the sha256 of each run about to be read (a lookup reads only the runs that may hold
    the batch's keys, so this costs nothing for new keys).

    Raises:
        CorruptRun: a run is missing or its bytes changed since its state named it.
    """
    for run in runs:
        h = hashlib.sha256()
        try:
            with open(run_path(store, dataset, run), "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
        except OSError:
            raise CorruptRun(f"key run {run.get('path')} is missing") from None
        if h.hexdigest() != run.get("sha256"):
            raise CorruptRun(f"key run {run.get('path')} does not match its sha256")


def may_hold(store: str, dataset: str, runs: list[dict[str, Any]], low: int, high: int) -> list[dict[str, Any]]:
    """The runs that may hold a key whose first column (an integer) is within ``[low, high]``.

    A run whose range (``low``/``high`` of its reference, kept in the state that binds it)
    misses ``[low, high]`` holds none of those keys, so an append of new keys (ids past
    every published one, as a daily append has) reads no run at all. Runs written before
    references kept a range are judged by the min and max of each of their row groups
    (footer statistics); a run whose row groups lack them is kept.

    Raises:
        CorruptRun: a run without a range whose footer cannot be read.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = []
    for run in runs:
        if isinstance(run.get("low"), int) and isinstance(run.get("high"), int):
            if run["low"] <= high and run["high"] >= low:
                out.append(run)
            continue
        try:
            meta = pq.read_metadata(run_path(store, dataset, run))
        except (OSError, pa.ArrowException):
            raise CorruptRun(f"key run {run.get('path')} is not a readable Parquet file") from None
        for i in range(meta.num_row_groups):
            stats = meta.row_group(i).column(0).statistics
            if stats is None or not stats.has_min_max or (stats.min <= high and stats.max >= low):
                out.append(run)
                break
    return out


def run_problems(store: str, dataset: str, runs: list[dict[str, Any]]) -> str | None:
    """Why the runs cannot be trusted (missing, wrong size, wrong row count), or None."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    for run in runs:
        try:
            path = run_path(store, dataset, run)
            size = os.path.getsize(path)
        except (OSError, KeyError, TypeError):
            return f"key run {run.get('path') if isinstance(run, dict) else run!r} is missing"
        if size != run.get("bytes"):
            return f"key run {run['path']} has {size} bytes, expected {run.get('bytes')}"
        try:
            rows = pq.read_metadata(path).num_rows
        except (OSError, pa.ArrowException):
            return f"key run {run['path']} is not a readable Parquet file"
        if rows != run.get("rows"):
            return f"key run {run['path']} has {rows} rows, expected {run.get('rows')}"
    return None
