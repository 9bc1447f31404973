"""The attacks issue #12 quoted, each refused; and rollback, replay and chain breaks, each said.

Quoted (all returned `signature == "verified"` or "ok" before):
- with DQGATE_SIGNING_KEY set, a data file rewritten with other values, padded to the
  same size and carrying the old footer stamp;
- a footer whose "status":"warn" was edited to "pass";
- deleting the newest manifest: readers got the previous version, "verified", and
  `dq snapshots verify --full` said ok;
- a replayed or rolled-back manifest; a file listed twice.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from dqgate.cli.snapshots import snapshots
from dqgate.errors import StampError, StoreError
from dqgate.store import open_snapshot, publish, read_lineage, verify_file, verify_store, write_object
from dqgate.store.layout import dataset_layout
from dqgate.store.publish import version_numbers
from dqgate.store.stamp import STAMP_KEY, body_sha256, files_sha256

CONTRACT = {"dataset": "flights", "version": "2.1.0", "sha256": "c" * 64}
KEY = "ci-secret-key"


@pytest.fixture
def keyed(monkeypatch):
    monkeypatch.setenv("DQGATE_SIGNING_KEY", KEY)


def _manifest(store: str, version: int) -> Path:
    return Path(store) / "flights" / "versions" / f"{version:08d}.json"


def _object(store: str, manifest) -> Path:
    return Path(store) / "flights" / manifest.files[0].path


def _pad_to(raw: bytes, size: int) -> bytes:
    """Insert bytes just before the footer so the file keeps ``size`` bytes and still parses."""
    assert len(raw) <= size
    footer_len = int.from_bytes(raw[-8:-4], "little")
    at = len(raw) - 8 - footer_len
    return raw[:at] + b"\0" * (size - len(raw)) + raw[at:]


def test_rewritten_data_padded_to_size_with_the_old_footer_stamp_is_refused(
    store, publish_batch, make_table, keyed
):
    rng = random.Random(3)
    genuine = make_table(0, 200).set_column(2, "delay", pa.array([rng.random() for _ in range(200)]))
    manifest = publish_batch("b1", genuine)
    path = _object(store, manifest)
    old_stamp = pq.read_metadata(path).metadata[STAMP_KEY]
    forged = genuine.set_column(2, "delay", pa.array([-7.27e253] * 200))  # compresses far better
    forged = forged.replace_schema_metadata({STAMP_KEY: old_stamp})
    sink = pa.BufferOutputStream()
    pq.write_table(forged, sink, compression="zstd")
    raw = sink.getvalue().to_pybytes()
    path.write_bytes(_pad_to(raw, path.stat().st_size))
    assert pq.read_table(path).column("delay")[0].as_py() == -7.27e253  # the forgery reads fine on its own
    snap = open_snapshot(store, "flights")
    assert snap.signature == "verified"  # the manifest is genuine: the data is not
    with pytest.raises(StampError, match="differ from what was published"):
        snap.to_arrow()
    with pytest.raises(StampError, match="data pages differ"):
        verify_file(str(path))  # on its own, the old footer stamp no longer matches the data either
    assert any("corrupt" in p for p in verify_store(store, "flights", full=True))


def test_footer_status_warn_edited_to_pass_is_refused(store, publish_batch, make_table, keyed):
    manifest = publish_batch("b1", make_table(0, 50), status="warn")
    path = _object(store, manifest)
    raw = path.read_bytes()
    assert raw.count(b'"status":"warn"') == 1
    path.write_bytes(raw.replace(b'"status":"warn"', b'"status":"pass"'))
    assert json.loads(pq.read_metadata(path).metadata[STAMP_KEY])["status"] == "pass"
    snap = open_snapshot(store, "flights")
    for read in (snap.to_arrow, lambda: snap.scan_polars().collect(), lambda: list(snap.iter_batches())):
        with pytest.raises(StampError, match="differ from what was published"):
            read()
    with pytest.raises(StampError, match="HMAC does not verify"):
        verify_file(str(path))


def test_deleting_the_newest_manifest_is_a_rollback_readers_and_verify_report(store, publish_batch, make_table):
    publish_batch("b1", make_table(0, 10))
    publish_batch("b2", make_table(10, 10))
    _manifest(store, 2).unlink()
    with pytest.raises(StampError, match=r"version 2 was published \(head.jsonl\).*missing.*rolled back"):
        open_snapshot(store, "flights")
    assert open_snapshot(store, "flights", 1).to_arrow().num_rows == 10  # a pinned version still reads
    problems = verify_store(store, "flights", full=True)
    assert any("version 2 was published" in p for p in problems)
    res = CliRunner().invoke(snapshots, ["verify", store, "flights", "--full"])
    assert res.exit_code == 1 and "rolled back" in res.output


def test_rollback_with_the_head_log_truncated_is_caught_by_this_machines_memory(store, publish_batch, make_table):
    publish_batch("b1", make_table(0, 10))
    publish_batch("b2", make_table(10, 10))
    assert open_snapshot(store, "flights").version == 2  # this machine has now seen version 2
    _manifest(store, 2).unlink()
    (Path(store) / "flights" / "head.jsonl").write_text("")
    with pytest.raises(StampError, match="version 2 was opened on this machine before"):
        open_snapshot(store, "flights")


def test_replayed_manifest_from_another_history_is_refused(store, tmp_path, publish_batch, make_table, keyed):
    """A genuinely signed version 2 of the same dataset (same key), from another store, copied over ours."""
    publish_batch("b1", make_table(0, 10))
    publish_batch("b2", make_table(10, 10))
    other = str(tmp_path / "other")
    for batch, start in (("b1", 0), ("x2", 100)):
        info = write_object(other, "flights", make_table(start, 10),
                            stamp={"batch_id": batch, "contract_sha256": CONTRACT["sha256"], "status": "pass"})  # fmt: skip
        publish(other, "flights", [info], mode="append", contract=CONTRACT, checks={"status": "pass"}, batch_id=batch)
        (Path(store) / "flights" / info.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(other) / "flights" / info.path, Path(store) / "flights" / info.path)
    shutil.copy(_manifest(other, 2), _manifest(store, 2))
    with pytest.raises(StampError, match="replaced or replayed"):
        open_snapshot(store, "flights")
    assert any("replaced or replayed" in p for p in verify_store(store, "flights", full=False))


def test_rewritten_ancestor_breaks_the_chain_of_every_descendant(store, publish_batch, make_table):
    publish_batch("b1", make_table(0, 10))
    publish_batch("b2", make_table(10, 10))
    publish_batch("b3", make_table(20, 10))
    path = _manifest(store, 1)
    data = json.loads(path.read_bytes())
    data["created_by"] = "mallory@evil"  # an unkeyed forger recomputes the stamp: the chain still breaks
    data["stamp"]["body_sha256"] = body_sha256(data)
    path.write_text(json.dumps(data, indent=2))
    with pytest.raises(StampError, match="history was rewritten"):
        open_snapshot(store, "flights", 2)
    problems = verify_store(store, "flights", full=False)
    assert any(p.startswith("version 2:") and "history was rewritten" in p for p in problems)


def test_a_file_listed_twice_is_refused_at_publish_and_at_read(store, publish_batch, make_table):
    info = write_object(store, "flights", make_table(0, 10),
                        stamp={"batch_id": "b1", "contract_sha256": CONTRACT["sha256"], "status": "pass"})  # fmt: skip
    with pytest.raises(StoreError, match="lists one object twice"):
        publish(store, "flights", [info, info], mode="append", contract=CONTRACT, checks={"status": "pass"},
                batch_id="b1")  # fmt: skip
    assert version_numbers(dataset_layout(store, "flights")) == []
    publish_batch("b1", make_table(0, 10))
    path = _manifest(store, 1)
    data = json.loads(path.read_bytes())
    data["files"].append(data["files"][0])
    data["rows"] = data["stamp"]["rows"] = 20
    data["stamp"]["files_sha256"] = files_sha256(f["sha256"] for f in data["files"])
    data["stamp"]["body_sha256"] = body_sha256(data)
    path.write_text(json.dumps(data, indent=2))
    with pytest.raises(StampError, match="listed twice"):
        open_snapshot(store, "flights")


def test_hand_written_manifest_and_object_without_the_key_are_refused(store, publish_batch, make_table, monkeypatch):
    monkeypatch.setenv("DQGATE_SIGNING_KEY", KEY)
    publish_batch("b1", make_table(0, 10))
    monkeypatch.setenv("DQGATE_SIGNING_KEY", "the-forgers-guess")
    publish_batch("b2", make_table(10, 10), mode="replace")  # a well-formed version, signed with the wrong key
    monkeypatch.setenv("DQGATE_SIGNING_KEY", KEY)
    with pytest.raises(StampError, match="HMAC does not verify"):
        open_snapshot(store, "flights")
    assert any("HMAC" in p for p in verify_store(store, "flights", full=False))


def test_unsigned_reads_say_so_on_stderr_once(store, publish_batch, make_table, capfd):
    from dqgate.store import read as read_module

    read_module._warned.clear()
    publish_batch("b1", make_table(0, 10))
    snap = open_snapshot(store, "flights")
    open_snapshot(store, "flights")
    err = capfd.readouterr().err
    assert snap.signature == "unsigned"
    lines = [line for line in err.splitlines() if "unsigned" in line]
    assert lines == [
        "dqgate: warning: flights@1 is unsigned: without DQGATE_SIGNING_KEY only accidents are caught, "
        "not forgeries (see docs/trust.md)"
    ]
    assert "only accidents are caught" in " ".join((open_snapshot.__doc__ or "").split())
    assert read_lineage(store, "flights")[-1]["version"] == 1


def test_signed_reads_do_not_warn(store, publish_batch, make_table, capfd, keyed):
    from dqgate.store import read as read_module

    read_module._warned.clear()
    publish_batch("b1", make_table(0, 10))
    assert open_snapshot(store, "flights").signature == "verified"
    assert "warning" not in capfd.readouterr().err
