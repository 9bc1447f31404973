"""Tampered data, manifests and stamps are refused by open_snapshot and by verify_store."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dqgate.errors import StampError, StoreError
from dqgate.store import open_snapshot, verify_file, verify_store, write_object
from dqgate.store.stamp import body_sha256


def _manifest_path(store: str, version: int = 1) -> Path:
    return Path(store) / "flights" / "versions" / f"{version:08d}.json"


def _edit_manifest(store: str, edit, *, rehash: bool = False) -> None:
    path = _manifest_path(store)
    data = json.loads(path.read_bytes())
    edit(data)
    if rehash:  # a forger who also recomputes the unkeyed hash
        data["stamp"]["body_sha256"] = body_sha256(data)
    path.write_text(json.dumps(data, indent=2))


def _refused(store: str, match: str | None = None, *, full: bool = False) -> None:
    with pytest.raises(StoreError, match=match):
        open_snapshot(store, "flights", verify="full" if full else "stamp")
    assert verify_store(store, "flights", full=full), "verify_store found nothing"


def test_flipped_byte_in_a_data_file_fails_the_default_read_and_full_verification(store, publish_batch, make_table):
    m = publish_batch("b1", make_table(0, 500))
    path = Path(store) / "flights" / m.files[0].path
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 3] ^= 0x01
    path.write_bytes(bytes(raw))
    snap = open_snapshot(store, "flights")  # same size: opening cannot see it, reading does
    with pytest.raises(StampError, match="differ from what was published"):
        snap.to_arrow()
    _refused(store, "corrupt", full=True)
    assert any("sha256" in p for p in verify_store(store, "flights", full=True))


def test_a_flipped_bit_anywhere_in_a_manifest_is_refused(store, publish_batch):
    publish_batch("b1")
    path = _manifest_path(store)
    original = path.read_bytes()
    for i in range(0, len(original), 3):  # every third byte keeps this under a few seconds
        flipped = bytearray(original)
        flipped[i] ^= 0x01
        path.write_bytes(bytes(flipped))
        with pytest.raises(StoreError):
            open_snapshot(store, "flights")
        if i % 24 == 0:
            assert verify_store(store, "flights", full=False), f"flip at byte {i} not reported"
    path.write_bytes(original)
    assert verify_store(store, "flights", full=True) == []


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [("rows", 11, "stamp rows"), ("status", "fail", "stamp status"), ("files_sha256", "0" * 64, "files_sha256")],
)
def test_forged_stamp_field_is_refused(store, publish_batch, field, value, match):
    publish_batch("b1")
    _edit_manifest(store, lambda m: m["stamp"].__setitem__(field, value))
    _refused(store, match)


def test_consistent_forgery_of_rows_and_status_is_refused(store, publish_batch):
    publish_batch("b1")

    def forge(m: dict) -> None:
        m["rows"] = m["stamp"]["rows"] = 1000  # the files still hold 10
        m["files"][0]["rows"] = 1000

    _edit_manifest(store, forge, rehash=True)
    _refused(store, full=True)
    _edit_manifest(store, lambda m: m["stamp"].update(rows=10), rehash=True)

    def fail(m: dict) -> None:
        m["rows"] = m["files"][0]["rows"] = 10
        m["status"] = m["stamp"]["status"] = "fail"

    _edit_manifest(store, fail, rehash=True)
    _refused(store, "'pass' or 'warn'")


def test_forged_checks_break_the_body_hash(store, publish_batch):
    publish_batch("b1")
    _edit_manifest(store, lambda m: m["checks"].update(status="pass", note="all good"))
    _refused(store, "body_sha256")


def test_missing_file_is_refused(store, publish_batch):
    m = publish_batch("b1")
    (Path(store) / "flights" / m.files[0].path).unlink()
    _refused(store, "missing")


def test_manifest_copied_to_another_version_is_refused(store, publish_batch):
    publish_batch("b1")
    publish_batch("b2")
    _manifest_path(store, 2).write_bytes(_manifest_path(store, 1).read_bytes())
    with pytest.raises(StampError, match="version 1"):
        open_snapshot(store, "flights", 2)
    assert verify_store(store, "flights", full=False)


def test_bad_hmac_is_refused_with_a_key(store, publish_batch, monkeypatch):
    monkeypatch.setenv("DQGATE_SIGNING_KEY", "key-one")
    publish_batch("b1")
    monkeypatch.setenv("DQGATE_SIGNING_KEY", "key-two")
    _refused(store, "HMAC does not verify")
    monkeypatch.setenv("DQGATE_SIGNING_KEY", "key-one")
    open_snapshot(store, "flights", verify="full")
    _edit_manifest(store, lambda m: m["stamp"].update(rows=11), rehash=True)
    _refused(store, "HMAC does not verify")


def test_forger_without_the_key_cannot_restamp(store, publish_batch, monkeypatch):
    monkeypatch.setenv("DQGATE_SIGNING_KEY", "key-one")
    publish_batch("b1")

    def forge(m: dict) -> None:
        m["checks"]["status"] = "pass"
        m["created_by"] = "mallory@evil"
        m["stamp"]["body_sha256"] = body_sha256(m)

    _edit_manifest(store, forge)
    _refused(store, "HMAC does not verify")


def test_unsigned_stamp_is_refused_with_a_key(store, publish_batch, monkeypatch):
    m = publish_batch("b1")
    monkeypatch.setenv("DQGATE_SIGNING_KEY", "key-one")
    _refused(store, "unsigned")
    with pytest.raises(StampError, match="unsigned"):
        verify_file(str(Path(store) / "flights" / m.files[0].path))


def test_loose_files_without_or_with_bad_stamps(tmp_path, store, monkeypatch):
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"a": [1]}), plain)
    with pytest.raises(StampError, match="no quality stamp"):
        verify_file(str(plain))
    monkeypatch.setenv("DQGATE_SIGNING_KEY", "key-one")
    info = write_object(store, "flights", pa.table({"a": [1, 2]}),
                        stamp={"batch_id": "b1", "contract_sha256": "c" * 64, "status": "pass"})  # fmt: skip
    path = str(Path(store) / "flights" / info.path)
    assert verify_file(path)["rows"] == 2
    monkeypatch.setenv("DQGATE_SIGNING_KEY", "key-two")
    with pytest.raises(StampError, match="HMAC"):
        verify_file(path)
    monkeypatch.delenv("DQGATE_SIGNING_KEY")
    assert verify_file(path)["hmac"]  # signed, not verified: accepted without a key
