"""The id of a batch: 40 hex digits of the sha256 of its content, then 8 of the contract's.

Files are named by their bytes (and, in a folder or glob, by where each file sits),
in-memory data by its Arrow IPC stream, so a retried ingest of the same data finds
what it did before (``gate/ingest.py``, ``gate/spark_ingest.py``).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from dqgate.errors import DataError

_CHUNK = 8 << 20


def batch_id_of(data: Any, *, contract_sha256: str | None = None) -> str:
    """A stable id from the batch's content (files by their bytes, Arrow data by its IPC
    stream), followed by 8 hex digits of the contract's sha256 when one is given."""
    h = hashlib.sha256()
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        for name, p in _batch_files(path):
            if name is not None:  # a folder or glob: where a file sits (e.g. its hive partition) is content too
                h.update(name.encode() + b"\0")
            try:
                with open(p, "rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        h.update(chunk)
            except FileNotFoundError:
                raise DataError(f"{p}: batch file not found", uri=p) from None
            except IsADirectoryError:
                continue
    else:
        import pyarrow as pa

        table = arrow_table(data)
        # Stream the IPC bytes straight into the hash: no second copy of the batch in memory.
        with pa.ipc.new_stream(pa.PythonFile(_HashSink(h), mode="w"), table.schema) as writer:
            writer.write_table(table)
    return named(h.hexdigest(), contract_sha256)


def named(sha256: str, contract_sha256: str | None = None) -> str:
    """The batch id of content whose sha256 is ``sha256`` (hex): "b", 40 of its digits, then
    8 of the contract's sha256 when one is given (a staged file is hashed by the store)."""
    return "b" + sha256[:40] + (contract_sha256[:8] if contract_sha256 else "")


class _HashSink:
    """A write-only file object that feeds every byte written to it into a hash."""

    closed = False

    def __init__(self, h: Any) -> None:
        self.h = h

    def write(self, data: Any) -> int:
        self.h.update(data)
        return len(memoryview(data))

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def arrow_table(data: Any) -> Any:
    """In-memory batch data (Arrow, Polars, pandas, DuckDB relation) as one Arrow table."""
    import pyarrow as pa

    from dqgate.runners.sources import _as_arrow

    table, _ = _as_arrow(data)
    if isinstance(table, pa.Table):
        return table
    return pa.Table.from_pandas(table) if type(table).__module__.startswith("pandas") else pa.table(table)


def _batch_files(path: str) -> list[tuple[str | None, str]]:
    """(name, path) of each file of a batch; name is None for a single file, whose id is its bytes alone."""
    if os.path.isdir(path):
        root = path
        paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs if not f.startswith("."))
    elif any(ch in path for ch in "*?["):
        import glob

        root = os.path.dirname(path[: min(path.index(ch) for ch in "*?[" if ch in path)]) or "."
        paths = sorted(glob.glob(path, recursive=True))
    else:
        return [(None, path)]
    return [(os.path.relpath(p, root).replace(os.sep, "/"), p) for p in paths]
