"""Small ODCS documents (shapes taken from the standard's documentation) and data to run them on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

HEAD = {"apiVersion": "v3.1.0", "kind": "DataContract", "id": "orders", "version": "1.0.0", "status": "active"}


def odcs(properties: list[dict[str, Any]], *, quality: list[dict[str, Any]] | None = None, **top: Any) -> str:
    """An ODCS contract text with one schema object ``orders``."""
    obj: dict[str, Any] = {"name": "orders", "physicalType": "table", "properties": properties}
    if quality:
        obj["quality"] = quality
    return yaml.safe_dump({**HEAD, **top, "schema": [obj]}, sort_keys=False)


def write_parquet(path: Path, columns: dict[str, list[Any]], types: dict[str, pa.DataType] | None = None) -> Path:
    types = types or {}
    table = pa.table({k: pa.array(v, type=types.get(k)) for k, v in columns.items()})
    pq.write_table(table, path)
    return path
