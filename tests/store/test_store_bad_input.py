"""Bad stores, names and versions: a clear StoreError or UsageError, and the store unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pytest

from dqgate.errors import StoreError, UsageError
from dqgate.store import (
    gc,
    latest_version,
    list_versions,
    load_manifest,
    open_snapshot,
    publish,
    verify_store,
    write_object,
)

STAMP = {"batch_id": "b1", "contract_sha256": "c" * 64, "status": "pass"}


def _tree(root: str) -> dict[str, str]:
    base = Path(root)
    if not base.exists():
        return {}
    return {
        str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(base.rglob("*"))
        if p.name != "lineage.jsonl"
    }


def test_store_path_that_is_a_file(tmp_path):
    path = tmp_path / "not-a-dir"
    path.write_text("hello")
    for call in (
        lambda: write_object(str(path), "flights", pa.table({"a": [1]}), stamp=STAMP),
        lambda: open_snapshot(str(path), "flights"),
        lambda: list_versions(str(path), "flights"),
    ):
        with pytest.raises(StoreError, match="is not a directory"):
            call()
    assert path.read_text() == "hello"


@pytest.mark.parametrize("name", ["../x", "..", "a/b", "", ".hidden", "x" * 129, "a..b", "sp ace"])
def test_bad_dataset_names_are_usage_errors(store, publish_batch, name):
    publish_batch("b1")
    before = _tree(store)
    with pytest.raises(UsageError, match="invalid dataset name"):
        write_object(store, name, pa.table({"a": [1]}), stamp=STAMP)
    with pytest.raises(UsageError, match="invalid dataset name"):
        open_snapshot(store, name)
    assert _tree(store) == before
    assert not (Path(store).parent / "x").exists()


def test_missing_version_and_dataset(store, publish_batch):
    publish_batch("b1")
    publish_batch("b2")
    before = _tree(store)
    with pytest.raises(StoreError, match=r"version 7 of dataset 'flights' does not exist \(versions 1\.\.2\)"):
        open_snapshot(store, "flights", 7)
    with pytest.raises(StoreError, match="Did you mean 'flights'"):
        load_manifest(store, "flihgts", 1)
    with pytest.raises(UsageError, match="number or 'latest'"):
        load_manifest(store, "flights", "newest")
    with pytest.raises(StoreError, match="does not exist"):
        open_snapshot(str(Path(store) / "nowhere"), "flights")
    assert latest_version(store, "airports") is None and list_versions(store, "airports") == []
    with pytest.raises(StoreError, match="not found"):
        verify_store(store, "airports", full=False)
    with pytest.raises(StoreError, match="not found"):
        gc(store, "airports")
    assert _tree(store) == before


def test_dataset_without_versions(store):
    write_object(store, "flights", pa.table({"a": [1]}), stamp=STAMP)
    with pytest.raises(StoreError, match="has no published version"):
        open_snapshot(store, "flights")


def test_bad_publish_arguments_change_nothing(store, publish_batch):
    publish_batch("b1")
    info = write_object(store, "flights", pa.table({"id": [1]}), stamp=STAMP | {"batch_id": "b2"})
    before = _tree(store)
    good = {"mode": "append", "contract": {"sha256": "c" * 64}, "checks": {"status": "pass"}, "batch_id": "b2"}
    for bad, error, match in [
        ({"mode": "upsert"}, UsageError, "append' or 'replace"),
        ({"batch_id": "../b2"}, UsageError, "invalid batch id"),
        ({"contract": {"version": "1"}}, UsageError, "sha256"),
        ({"checks": {}}, StoreError, "status None"),
    ]:
        with pytest.raises(error, match=match):
            publish(store, "flights", [info], **(good | bad))
    assert _tree(store) == before
    with pytest.raises(UsageError, match="verify"):
        open_snapshot(store, "flights", verify="everything")  # type: ignore[arg-type]


def test_stamp_must_name_batch_contract_and_status(store):
    from dqgate.errors import StampError

    with pytest.raises(StampError, match="batch_id"):
        write_object(store, "flights", pa.table({"a": [1]}), stamp={"status": "pass", "contract_sha256": "c"})
    assert not (Path(store) / "flights").exists()


def test_object_store_publish_needs_exclusive_create():
    info = write_object("mock:///store", "flights", pa.table({"a": [1]}), stamp=STAMP)
    with pytest.raises(StoreError, match="exclusive create not supported on mock"):
        publish("mock:///store", "flights", [info], mode="append", contract={"sha256": "c" * 64},
                checks={"status": "pass"}, batch_id="b1")  # fmt: skip
