"""The ingest's write path: an engine writes a stamped file into objects/_tmp/, the store adopts it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dqgate.errors import StampError, StoreError
from dqgate.store import publish, verify_store
from dqgate.store.objects import adopt_object, reserve_object_path
from dqgate.store.stamp import build_file_stamp, canonical_json

BASE = {"batch_id": "b" + "2" * 40, "contract_sha256": "c" * 64, "status": "pass"}


def _write(path: str, rows: int, stamp: dict) -> None:
    """Any engine's Parquet with the stamp in its key-value metadata (ingest uses DuckDB's COPY)."""
    table = pa.table({"id": pa.array(range(rows), pa.int64()), "k": pa.array([i % 7 for i in range(rows)], pa.int64())})
    pq.write_table(table.replace_schema_metadata({"dqgate.stamp": canonical_json(stamp).decode()}), path)


def test_an_adopted_object_is_content_addressed_and_publishable(tmp_path):
    store = str(tmp_path / "store")
    stamp = build_file_stamp(BASE, dataset="flights", rows=1000, key=None)
    path = reserve_object_path(store, "flights")
    _write(path, 1000, stamp)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    info = adopt_object(store, "flights", path, rows=1000, stamp=stamp)
    assert (info.sha256, info.rows, info.path) == (digest, 1000, f"objects/{digest[:2]}/{digest}.parquet")
    assert info.bytes == (tmp_path / "store" / "flights" / info.path).stat().st_size
    assert not Path(path).exists()
    publish(store, "flights", [info], mode="append", contract={"sha256": "c" * 64}, checks={"status": "pass"},
            batch_id=BASE["batch_id"])  # fmt: skip
    assert verify_store(store, "flights", full=True) == []


@pytest.mark.parametrize("wrong", ["stamp", "rows"])
def test_a_file_without_the_promised_stamp_or_rows_is_removed_not_adopted(tmp_path, wrong):
    store = str(tmp_path / "store")
    stamp = build_file_stamp(BASE, dataset="flights", rows=1000, key=None)
    path = reserve_object_path(store, "flights")
    if wrong == "stamp":
        _write(path, 1000, {**stamp, "status": "warn"})
    else:
        _write(path, 999, stamp)
    with pytest.raises(StampError):
        adopt_object(store, "flights", path, rows=1000, stamp=stamp)
    assert not Path(path).exists()
    assert not list((tmp_path / "store" / "flights" / "objects").glob("??/*"))


def test_only_a_reserved_temporary_path_can_be_adopted(tmp_path):
    store = str(tmp_path / "store")
    stamp = build_file_stamp(BASE, dataset="flights", rows=10, key=None)
    elsewhere = tmp_path / "elsewhere.parquet"
    _write(str(elsewhere), 10, stamp)
    with pytest.raises(StoreError, match="not a temporary object path"):
        adopt_object(store, "flights", str(elsewhere), rows=10, stamp=stamp)
    assert elsewhere.exists()  # not ours to delete
