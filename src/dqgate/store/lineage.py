"""``lineage.jsonl``: one JSON line per snapshot read, appended with a single write.

Each record is ``{"consumer", "dataset", "version", "time", "host", "pid"}``. Locally
the line is written with ``O_APPEND`` in one ``write`` call, so concurrent readers
never interleave within a line. Object stores rarely support appends; there the
record is skipped with a warning rather than failing the read; so is a read of a
store mounted read-only.
"""

from __future__ import annotations

import json
import os
import socket
import warnings
from typing import TYPE_CHECKING, Any

from dqgate.store.layout import dataset_layout, require_dataset
from dqgate.store.stamp import now_utc

if TYPE_CHECKING:
    from dqgate.store.layout import DatasetLayout


def record_read(layout: DatasetLayout, version: int, consumer: str) -> dict[str, Any]:
    """Append one read record to the dataset's lineage log and return it."""
    record = {
        "consumer": consumer,
        "dataset": layout.dataset,
        "version": version,
        "time": now_utc(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
    try:
        if layout.local:
            fd = os.open(layout.lineage_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        else:
            with layout.fs.open_append_stream(layout.lineage_path) as out:
                out.write(line)
    except (OSError, NotImplementedError) as exc:  # a read-only store can still be read
        msg = f"read of {layout.dataset}@{version} not recorded in {layout.lineage_path}: {exc}"
        warnings.warn(msg, RuntimeWarning, stacklevel=3)
    return record


def read_lineage(store: str, dataset: str) -> list[dict[str, Any]]:
    """Every read record of ``dataset``, oldest first (a torn last line is skipped).

    Raises:
        StoreError: the store or dataset does not exist.
    """
    layout = dataset_layout(store, dataset, reader=True)
    require_dataset(layout)
    try:
        with layout.fs.open_input_stream(layout.lineage_path) as f:
            raw = f.read()
    except FileNotFoundError:
        return []
    records = []
    for line in raw.decode("utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            records.append(rec)
    return records
