"""Appends are judged over the snapshot they make (issue 11): parent ∪ batch, from merged state.

The example of the issue first (two overlapping batches), then ``scope: batch``,
``dq check --store``, what the manifest records, a state or key run that cannot be
trusted, and a rule that cannot be judged over an older version.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from gate_helpers import dq

from dqgate.gate.ingest import ingest
from dqgate.runners.check import run as full_check

CONTRACT = """\
dataset: w
version: 1.0.0
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    x: {type: float64}
checks:
  - metric: row_count
    max: 150
  - metric: mean(x)
  - metric: stddev(x)
  - metric: median(x)
gate: {publish: append}
"""


def _write(folder: Path, text: str = CONTRACT, name: str = "w.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _batch(folder: Path, name: str, ids: range, scale: float) -> Path:
    path = folder / name
    pq.write_table(pa.table({"id": pa.array(list(ids), pa.int64()), "x": [i * scale for i in range(len(ids))]}), path)
    return path


def _latest(store: Path, dataset: str = "w") -> dict:
    versions = sorted((store / dataset / "versions").glob("0*.json"))
    return json.loads(versions[-1].read_text()) if versions else {}


def test_the_issue_example_second_overlapping_batch_is_quarantined_not_stamped_pass(tmp_path):
    """Before: both batches were published and the 200-row snapshot with 150 ids was stamped pass."""
    store = tmp_path / "store"
    contract = _write(tmp_path)
    first = dq("ingest", contract, _batch(tmp_path, "a.parquet", range(0, 100), 1.5), "--store", store)
    assert first.returncode == 0, first.stderr
    second = dq("ingest", contract, _batch(tmp_path, "b.parquet", range(50, 150), 0.5), "--store", store)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "quarantined" in second.stdout
    latest = _latest(store)
    assert latest["version"] == 1 and latest["rows"] == 100 and latest["status"] == "pass"
    (report,) = (store / "w" / "quarantine").glob("*/report.json")
    doc = json.loads(report.read_text())
    assert doc["note"] == "50 keys of id.unique already published in w@1"
    checks = {c["id"]: c for c in doc["checks"]}
    assert (checks["id.unique"]["status"], checks["id.unique"]["failed_rows"], checks["id.unique"]["total_rows"]) == ("fail", 100, 200)
    assert checks["id.unique"]["sample"] == list(range(50, 55))
    assert (checks["row_count"]["observed"], checks["row_count"]["status"]) == (200, "fail")
    # every value equals one check of the union of both batches
    union = pa.concat_tables([pq.read_table(tmp_path / "a.parquet"), pq.read_table(tmp_path / "b.parquet")])
    whole = {c.id: c for c in full_check(union, contract).checks}
    for rule_id, got in checks.items():
        assert got["status"] == whole[rule_id].status, rule_id
        if isinstance(got["observed"], float):
            assert math.isclose(got["observed"], whole[rule_id].observed, rel_tol=1e-12), rule_id
        else:
            assert got["observed"] == whole[rule_id].observed, rule_id
    computed = {k: (c["scope"], c["computed"]) for k, c in checks.items()}
    assert computed == {
        "id.required": ("snapshot", "merged"), "id.unique": ("snapshot", "merged"), "row_count": ("snapshot", "merged"),
        "mean(x)": ("snapshot", "merged"), "stddev(x)": ("snapshot", "merged"), "median(x)": ("snapshot", "rescan"),
    }  # fmt: skip


def test_manifest_records_scope_and_how_and_binds_the_state(tmp_path):
    store = tmp_path / "store"
    contract = _write(tmp_path, CONTRACT.replace("max: 150", "max: 1000"))
    for i, ids in enumerate((range(0, 100), range(100, 180))):
        assert dq("ingest", contract, _batch(tmp_path, f"{i}.parquet", ids, 1.0 + i), "--store", store).returncode == 0
    m = _latest(store)
    assert m["version"] == 2 and m["rows"] == 180
    checks = {c["id"]: c for c in m["checks"]["checks"]}
    assert checks["row_count"]["observed"] == 180 and checks["row_count"]["computed"] == "merged"
    assert checks["median(x)"]["computed"] == "rescan"
    assert m["checks"]["batch"]["source"]["rows"] == 80  # the batch's own results are kept beside
    ref = m["checks"]["state"]
    state = (store / "w" / ref["path"]).read_bytes()
    import hashlib

    assert hashlib.sha256(state).hexdigest() == ref["sha256"]  # the stamp covers checks, checks name the state's hash
    runs = json.loads(state)["rules"]["id.unique"]["runs"]
    assert [r["rows"] for r in runs] == [100, 80] and [r["batch_id"] for r in runs] == m["batch_ids"]


def test_scope_batch_judges_a_rule_on_the_batch_alone(tmp_path):
    store = tmp_path / "store"
    text = CONTRACT.replace("  - metric: row_count\n    max: 150\n", "  - metric: row_count\n    min: 60\n    scope: batch\n")
    contract = _write(tmp_path, text)
    assert dq("ingest", contract, _batch(tmp_path, "a.parquet", range(0, 100), 1.0), "--store", store).returncode == 0
    small = dq("ingest", contract, _batch(tmp_path, "b.parquet", range(100, 150), 1.0), "--store", store)
    assert small.returncode == 1  # 50 rows in this batch, though the snapshot would have 150
    (report,) = (store / "w" / "quarantine").glob("*/report.json")
    row_count = next(c for c in json.loads(report.read_text())["checks"] if c["id"] == "row_count")
    assert (row_count["observed"], row_count["scope"], row_count["computed"]) == (50, "batch", "batch")
    assert dq("ingest", contract, _batch(tmp_path, "c.parquet", range(100, 170), 1.0), "--store", store).returncode == 0


def test_dq_check_with_store_reports_the_batch_and_the_would_be_snapshot_and_writes_nothing(tmp_path):
    store = tmp_path / "store"
    contract = _write(tmp_path)
    assert dq("ingest", contract, _batch(tmp_path, "a.parquet", range(0, 100), 1.5), "--store", store).returncode == 0
    before = sorted(str(p) for p in store.rglob("*"))
    run = dq("check", contract, "--data", _batch(tmp_path, "b.parquet", range(50, 150), 0.5), "--store", store, "--format", "json")
    assert run.returncode == 1, run.stderr
    doc = json.loads(run.stdout)
    assert doc["status"] == "pass" and doc["snapshot"]["status"] == "fail"
    snap = {c["id"]: c for c in doc["snapshot"]["checks"]}
    assert snap["id.unique"]["failed_rows"] == 100 and snap["row_count"]["observed"] == 200
    assert sorted(str(p) for p in store.rglob("*")) == before


def test_missing_or_corrupt_state_and_key_runs_are_rebuilt_by_rescanning_and_said(tmp_path):
    store = tmp_path / "store"
    contract = _write(tmp_path, CONTRACT.replace("max: 150", "max: 1000"))
    assert dq("ingest", contract, _batch(tmp_path, "a.parquet", range(0, 100), 1.5), "--store", store).returncode == 0
    ref = _latest(store)["checks"]["state"]
    state_path = store / "w" / ref["path"]
    runs = json.loads(state_path.read_text())["rules"]["id.unique"]["runs"]
    (store / "w" / runs[0]["path"]).unlink()  # the key run is gone: the index cannot be trusted
    out = ingest(str(contract), _table(range(90, 120)), str(store))
    assert out.outcome == "quarantined_batch"
    assert any("rebuilt by rescanning" in m and "key run" in m for m in out.messages), out.messages
    unique = next(c for c in out.result.checks if c.id == "id.unique")
    assert unique.failed_rows == 20 and unique.computed == "merged"
    state_path.write_text(state_path.read_text().replace('"failed":0', '"failed":7'))  # altered: its hash no longer matches
    out = ingest(str(contract), _table(range(100, 130)), str(store))
    assert out.outcome == "published", out.summary()
    assert any("does not match its sha256" in m and "rebuilt by rescanning" in m for m in out.messages), out.messages
    unique = next(c for c in out.result.checks if c.id == "id.unique")
    assert (unique.failed_rows, unique.total_rows) == (0, 130)


def test_a_key_run_whose_bytes_changed_is_rebuilt_by_rescanning_not_trusted(tmp_path):
    """Before: a run was trusted when its size and row count matched, so a byte changed in its
    keys went unseen (wrong keys, or a read error); now its sha256 is checked before it is read."""
    store = tmp_path / "store"
    contract = _write(tmp_path, CONTRACT.replace("max: 150", "max: 1000"))
    assert ingest(str(contract), _table(range(0, 100)), str(store)).outcome == "published"
    state = json.loads((store / "w" / _latest(store)["checks"]["state"]["path"]).read_text())
    run = store / "w" / state["rules"]["id.unique"]["runs"][0]["path"]
    chunk = pq.read_metadata(run).row_group(0).column(0)  # the keys' column chunk: same size, same rows, other bytes
    data = bytearray(run.read_bytes())
    data[chunk.data_page_offset + chunk.total_compressed_size - 2] ^= 0x5A
    run.write_bytes(bytes(data))
    out = ingest(str(contract), _table(range(95, 105)), str(store))
    assert out.outcome == "quarantined_batch", out.summary()
    assert any("does not match its sha256" in m and "rebuilt by rescanning" in m for m in out.messages), out.messages
    unique = next(c for c in out.result.checks if c.id == "id.unique")
    assert (unique.failed_rows, unique.total_rows, unique.computed) == (10, 110, "merged")


def _table(ids: range) -> pa.Table:
    return pa.table({"id": pa.array(list(ids), pa.int64()), "x": [float(i) for i in ids]})


def test_a_rule_that_cannot_be_judged_over_an_older_version_is_refused_in_one_line(tmp_path):
    store = tmp_path / "store"
    old = _write(tmp_path, CONTRACT.replace("max: 150", "max: 1000"))
    assert dq("ingest", old, _batch(tmp_path, "a.parquet", range(0, 100), 1.5), "--store", store).returncode == 0
    new = _write(tmp_path, CONTRACT.replace("max: 150", "max: 1000").replace(
        "    x: {type: float64}\n", "    x: {type: float64}\n    k: {type: int64, unique: true}\n"), name="w2.yaml")  # fmt: skip
    batch = tmp_path / "k.parquet"
    pq.write_table(pa.table({"id": pa.array([500, 501], pa.int64()), "x": [1.0, 2.0], "k": pa.array([1, 2], pa.int64())}), batch)
    before = sorted(str(p) for p in store.rglob("*"))
    run = dq("ingest", new, batch, "--store", store)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "dq: error: rule k.unique cannot be judged over the snapshot: column 'k' is missing from w@1 "
        "(publish with mode replace, or give the rule scope: batch)"
    ]
    assert sorted(str(p) for p in store.rglob("*")) == before and "Traceback" not in run.stderr


def test_quarantine_rows_quarantines_only_the_rows_whose_keys_are_published_with_rule_and_version(tmp_path):
    store = tmp_path / "store"
    contract = _write(tmp_path, CONTRACT.replace("max: 150", "max: 1000").replace("{publish: append}", "{publish: append, on_failure: quarantine_rows}"))
    assert ingest(str(contract), _table(range(0, 100)), str(store)).outcome == "published"
    assert ingest(str(contract), _table(range(200, 240)), str(store)).version == 2
    batch = pa.table({"id": pa.array([95, 96, 150, 151, 230, None], pa.int64()), "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    out = ingest(str(contract), batch, str(store))
    assert (out.outcome, out.rows_published, out.rows_quarantined, out.version) == ("quarantined_rows", 2, 4, 3)
    rows = pq.read_table(os.path.join(out.quarantine_path, "rows.parquet")).to_pylist()
    by_id = {r["id"]: r for r in rows}
    assert sorted(by_id, key=str) == sorted([95, 96, 230, None], key=str)
    assert by_id[None]["id.required"] and by_id[None]["__dq_collides_with"] is None  # failed in the batch itself
    assert [(by_id[k]["id.unique"], by_id[k]["__dq_collides_with"]) for k in (95, 96, 230)] == [(True, 1), (True, 1), (True, 2)]
    report = json.loads((Path(out.quarantine_path) / "report.json").read_text())
    assert report["note"] == "3 keys of id.unique already published in w@1"
    m = _latest(store)
    ids = [r["id"] for r in pq.read_table([store / "w" / f["path"] for f in m["files"]][-1]).to_pylist()]
    assert sorted(ids) == [150, 151]
    unique = next(c for c in m["checks"]["checks"] if c["id"] == "id.unique")
    assert (unique["failed_rows"], unique["total_rows"], unique["status"]) == (0, 142, "pass")


def test_null_keys_that_are_equal_collide_across_versions_and_count_as_the_union(tmp_path: Path) -> None:
    """``unique: {nulls: equal}`` (issue 16) over the snapshot: a NULL key already published
    collides with the batch's NULL key, and the merged counts (failing rows, repeated keys,
    excess rows) equal one check of the union."""
    contract = _write(tmp_path, "dataset: k\nversion: 1.0.0\nschema:\n  columns:\n    id: {type: int64, unique: {nulls: equal}}\ngate: {publish: append}\n", "k.yaml")
    first = pa.table({"id": pa.array([1, None, 5, 5], pa.int64())})
    second = pa.table({"id": pa.array([3, None, 4, 4], pa.int64())})
    pq.write_table(first, tmp_path / "a.parquet")
    pq.write_table(second, tmp_path / "b.parquet")
    store = str(tmp_path / "wh")
    contract_ok = _write(tmp_path, contract.read_text().replace("unique: {nulls: equal}}", "unique: {nulls: equal}, mostly: 0.1}"), "k2.yaml")
    assert ingest(contract_ok, str(tmp_path / "a.parquet"), store).outcome == "published"
    outcome = ingest(contract_ok, str(tmp_path / "b.parquet"), store)
    assert outcome.outcome == "published"
    got = next(c for c in outcome.result.checks if c.id == "id.unique")
    union = next(c for c in full_check(pa.concat_tables([first, second]), contract_ok).checks if c.id == "id.unique")
    assert (got.failed_rows, got.total_rows, got.duplicate_groups, got.excess_rows) == (
        union.failed_rows, union.total_rows, union.duplicate_groups, union.excess_rows,
    ) == (6, 8, 3, 3)
    assert got.computed == "merged"
    strict = ingest(contract, str(tmp_path / "b.parquet"), str(tmp_path / "wh2"))
    assert strict.outcome == "quarantined_batch"  # 4 repeats inside the batch alone
