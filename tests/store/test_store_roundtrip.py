"""Publish and read back: Arrow, Polars, DuckDB, batches; append, replace, idempotence."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dqgate.errors import StampError, StoreError, UsageError
from dqgate.store import (
    diff,
    gc,
    latest_version,
    list_versions,
    load_manifest,
    open_snapshot,
    publish,
    read_lineage,
    verify_file,
    verify_store,
    write_object,
)

STAMP = {"batch_id": "b1", "contract_sha256": "c" * 64, "status": "pass"}


def test_round_trip_arrow_polars_duckdb_batches(store, publish_batch, make_table):
    data = make_table(0, 25)
    manifest = publish_batch("b1", data)
    assert (manifest.version, manifest.parent, manifest.rows, manifest.batch_ids) == (1, None, 25, ("b1",))
    snap = open_snapshot(store, "flights")
    assert snap.version == 1 and snap.stamp["rows"] == 25 and snap.signature == "unsigned"
    assert all(os.path.isabs(f) and os.path.exists(f) for f in snap.files)
    assert snap.to_arrow().equals(data)
    assert snap.to_arrow().schema.metadata is None  # the stamp stays in the files
    assert snap.to_polars().equals(pl.from_arrow(data))
    assert snap.scan_polars().select(pl.col("id").sum()).collect().item() == sum(range(25))
    con = duckdb.connect()
    assert snap.to_duckdb(con).aggregate("count(*), sum(id)").fetchall() == [(25, sum(range(25)))]
    batches = list(snap.iter_batches(10))
    assert [b.num_rows for b in batches] == [10, 10, 5]
    assert pa.Table.from_batches(batches).equals(data)


def test_object_is_content_addressed_zstd_and_stamped(store, make_table):
    data = make_table(0, 100).replace_schema_metadata({"origin": "landing"})
    info = write_object(store, "flights", data, stamp=STAMP, row_group_size=30)
    path = Path(store) / "flights" / info.path
    raw = path.read_bytes()
    assert info.sha256 == hashlib.sha256(raw).hexdigest() and info.bytes == len(raw) and info.rows == 100
    assert info.path == f"objects/{info.sha256[:2]}/{info.sha256}.parquet"
    meta = pq.read_metadata(path)
    assert meta.num_row_groups == 4
    assert meta.row_group(0).column(0).compression == "ZSTD"
    stamp = json.loads(meta.metadata[b"dqgate.stamp"])
    assert stamp["rows"] == 100 and stamp["dataset"] == "flights" and "version" not in stamp
    assert verify_file(str(path)) == stamp
    assert pq.read_table(path).schema.metadata[b"origin"] == b"landing"
    assert not list((Path(store) / "flights" / "objects" / "_tmp").iterdir())


def test_reader_streams_small_batches_into_row_groups(store, make_table):
    data = make_table(0, 1000)
    reader = pa.RecordBatchReader.from_batches(data.schema, data.to_batches(max_chunksize=7))
    info = write_object(store, "flights", reader, stamp=STAMP, row_group_size=400)
    meta = pq.read_metadata(Path(store) / "flights" / info.path)
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [400, 400, 200]
    assert pq.read_table(Path(store) / "flights" / info.path).equals(data)


def test_append_lists_parent_files_plus_new(store, publish_batch, make_table):
    m1 = publish_batch("b1", make_table(0, 10))
    m2 = publish_batch("b2", make_table(10, 5))
    assert m2.parent == 1 and m2.batch_ids == ("b1", "b2") and m2.rows == 15
    assert m2.files[: len(m1.files)] == m1.files
    assert [f.batch_id for f in m2.files] == ["b1", "b2"]
    assert open_snapshot(store, "flights").to_arrow().column("id").to_pylist() == list(range(15))
    assert open_snapshot(store, "flights", 1).rows == 10
    assert list_versions(store, "flights") == [1, 2] and latest_version(store, "flights") == 2


def test_replace_starts_fresh(store, publish_batch, make_table):
    publish_batch("b1", make_table(0, 10))
    m2 = publish_batch("b2", make_table(100, 3), mode="replace")
    assert m2.parent == 1 and m2.batch_ids == ("b2",) and m2.rows == 3 and len(m2.files) == 1
    assert open_snapshot(store, "flights").to_arrow().column("id").to_pylist() == [100, 101, 102]


def test_same_batch_id_publishes_once(store, publish_batch, make_table):
    m1 = publish_batch("b1", make_table(0, 10))
    publish_batch("b2", make_table(10, 10))
    again = publish_batch("b1", make_table(0, 10))
    assert again == m1
    assert list_versions(store, "flights") == [1, 2]


def test_manifest_records_what_was_checked(store, publish_batch):
    publish_batch("b1", created_by="ci@runner", profile={"delay": {"mean": float("nan"), "bins": [1, 2]}})
    m = load_manifest(store, "flights", "latest")
    assert m.created_by == "ci@runner" and m.contract["sha256"] == "c" * 64
    assert m.checks == {"status": "pass", "checks": []} and m.profile == {"delay": {"mean": None, "bins": [1, 2]}}
    assert [c["name"] for c in m.schema] == ["id", "carrier", "delay"] and m.schema[0]["type"] == "int64"
    assert m.created_at.endswith("+00:00") and m.stamp["version"] == 1


def test_warn_publishes_and_fail_is_refused(store, publish_batch):
    assert publish_batch("b1", status="warn").status == "warn"
    with pytest.raises(StampError, match="not publishable"):
        publish_batch("b2", status="fail")
    info = write_object(store, "flights", pa.table({"id": [1]}), stamp=STAMP | {"batch_id": "b3"})
    with pytest.raises(StoreError, match="status 'fail'"):
        publish(store, "flights", [info], mode="append", contract={"sha256": "c" * 64},
                checks={"status": "fail"}, batch_id="b3")  # fmt: skip


def test_append_with_another_schema_is_refused(store, publish_batch):
    publish_batch("b1")
    with pytest.raises(StoreError, match="mode='replace'"):
        publish_batch("b2", pa.table({"other": [1, 2]}))
    assert publish_batch("b3", pa.table({"other": [1, 2]}), mode="replace").version == 2


def test_publish_audits_objects_of_the_batch(store, make_table):
    info = write_object(store, "flights", make_table(0, 5), stamp=STAMP)
    with pytest.raises(StampError, match="batch_id"):
        publish(store, "flights", [info], mode="append", contract={"sha256": "c" * 64},
                checks={"status": "pass"}, batch_id="other")  # fmt: skip
    with pytest.raises(StampError, match="contract_sha256"):
        publish(store, "flights", [info], mode="append", contract={"sha256": "d" * 64},
                checks={"status": "pass"}, batch_id="b1")  # fmt: skip
    with pytest.raises(UsageError, match="at least one object"):
        publish(store, "flights", [], mode="append", contract={"sha256": "c" * 64},
                checks={"status": "pass"}, batch_id="b1")  # fmt: skip
    assert list_versions(store, "flights") == []


def test_signed_round_trip(store, publish_batch, monkeypatch):
    monkeypatch.setenv("DQGATE_SIGNING_KEY", "s3cret")
    publish_batch("b1")
    snap = open_snapshot(store, "flights", verify="full")
    assert snap.signature == "verified" and len(snap.stamp["hmac"]) == 64
    assert "hmac" in verify_file(snap.files[0])
    monkeypatch.delenv("DQGATE_SIGNING_KEY")
    assert open_snapshot(store, "flights", verify="full").signature == "signed, not verified"
    assert verify_store(store, "flights", full=True) == []


def test_reads_are_recorded_in_lineage(store, publish_batch):
    publish_batch("b1")
    publish_batch("b2")
    open_snapshot(store, "flights", 1, consumer="train.py")
    open_snapshot(store, "flights")
    records = read_lineage(store, "flights")
    assert [(r["consumer"], r["version"]) for r in records][0] == ("train.py", 1)
    assert records[1]["version"] == 2 and "@" in records[1]["consumer"]
    assert set(records[0]) == {"consumer", "dataset", "version", "time", "host", "pid"}
    assert records[0]["pid"] == os.getpid()


def test_gc_keeps_named_objects(store, publish_batch, make_table):
    m1 = publish_batch("b1", make_table(0, 10))
    orphan = write_object(store, "flights", make_table(50, 3), stamp=STAMP | {"batch_id": "b9"})
    publish_batch("b2", make_table(10, 10), mode="replace")
    assert gc(store, "flights", dry_run=True, min_age=0) == [orphan.path]
    assert gc(store, "flights") == []  # younger than the grace period
    assert gc(store, "flights", min_age=0) == [orphan.path]
    assert (Path(store) / "flights" / m1.files[0].path).exists()  # named by version 1
    assert verify_store(store, "flights", full=True) == []


def test_diff_schema_rows_stats_and_keys(store, publish_batch, make_table):
    publish_batch("b1", make_table(0, 10))
    publish_batch("b2", make_table(8, 5).append_column("extra", pa.array([1] * 5)), mode="replace")
    d = diff(store, "flights", 1, 2, key=["id"])
    assert d["rows"] == {"a": 10, "b": 5, "delta": -5}
    assert d["schema"]["added"] == [{"name": "extra", "type": "int64"}]
    ids = d["columns"]["id"]
    assert (ids["a"]["min"], ids["a"]["max"], ids["a"]["mean"], ids["a"]["distinct"]) == (0, 9, 4.5, 10)
    assert (ids["b"]["min"], ids["b"]["max"]) == (8, 12)
    assert d["columns"]["delay"]["a"]["null_count"] == 2  # ids 0 and 7
    assert d["columns"]["carrier"]["a"]["null_count"] == 2 and "mean" not in d["columns"]["carrier"]["a"]
    assert d["columns"]["extra"]["a"] is None
    assert d["keys"] | {"sample_added": None} == {
        "key": ["id"], "added": 3, "removed": 8, "changed": 0, "sample_added": None,
        "sample_removed": [0, 1, 2, 3, 4],
    }  # fmt: skip
    with pytest.raises(UsageError, match="key column"):
        diff(store, "flights", 1, 2, key=["nope"])
    json.dumps(d)
