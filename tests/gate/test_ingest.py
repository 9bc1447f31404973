"""`dq ingest` end to end, one real process per step: every gate policy, append and replace, re-runs."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from gate_helpers import BAD_BATCH, FLIGHTS, batch_ids_of, dq, make_batch, rows, split_rows, tree, write_contract

from dqgate.store import load_manifest, open_snapshot


def _batch_id(path: Path, contract: Path | None = None) -> str:
    """The batch's content id, followed by 8 hex digits of the contract's sha256 when given."""
    from dqgate.runners.check import as_contract

    suffix = as_contract(str(contract)).sha256[:8] if contract is not None else ""
    return "b" + hashlib.sha256(path.read_bytes()).hexdigest()[:40] + suffix


def _published_files(store: Path) -> list[Path]:
    return sorted((store / "flights" / "objects").glob("??/*.parquet"))


@pytest.mark.parametrize(
    ("warn_checks", "status"), [(False, "pass"), (True, "warn")], ids=["clean-pass", "warn-only-failures"]
)
def test_passing_batch_becomes_a_version_holding_exactly_its_rows(tmp_path, store, warn_checks, status):
    # on_failure: fail is the strictest gate; warnings must still publish under it
    contract = write_contract(tmp_path, on_failure="fail", warn_checks=warn_checks)
    run = dq("ingest", contract, FLIGHTS, "--store", store, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"{_batch_id(FLIGHTS, contract)}: published flights@1: 5,000 rows" in run.stdout
    manifest = load_manifest(str(store), "flights", 1)
    assert manifest.status == status
    assert manifest.batch_ids == (_batch_id(FLIGHTS, contract),)
    assert manifest.rows == 5000 and len(manifest.files) == 1
    source = pq.read_table(FLIGHTS)
    data = open_snapshot(str(store), "flights", verify="full").to_arrow()
    assert data.schema.remove_metadata() == source.schema.remove_metadata()
    assert rows(data) == rows(source)
    verify = dq("snapshots", "verify", store, "flights", "--full", cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "ok (full verification)" in verify.stdout
    assert not (store / "flights" / "quarantine").exists()


def test_append_adds_the_batch_files_and_replace_starts_a_new_file_set(tmp_path, store):
    contract = write_contract(tmp_path)
    a = make_batch(tmp_path / "a.parquet", 1500, 1, start_id=1)
    b = make_batch(tmp_path / "b.parquet", 1200, 2, start_id=10_001)
    c = make_batch(tmp_path / "c.parquet", 1100, 3, start_id=20_001)
    run = dq("ingest", contract, tmp_path / "a.parquet", tmp_path / "b.parquet", "--store", store, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "published flights@1: 1,500 rows" in run.stdout and "published flights@2: 1,200 rows" in run.stdout
    v1, v2 = load_manifest(str(store), "flights", 1), load_manifest(str(store), "flights", 2)
    assert v2.parent == 1 and v2.files[0] == v1.files[0] and len(v2.files) == 2
    assert [f.batch_id for f in v2.files] == [_batch_id(tmp_path / "a.parquet", contract), _batch_id(tmp_path / "b.parquet", contract)]
    assert rows(open_snapshot(str(store), "flights", 2).to_arrow()) == rows(a) + rows(b)
    assert rows(open_snapshot(str(store), "flights", 1).to_arrow()) == rows(a)

    run = dq("ingest", contract, tmp_path / "c.parquet", "--mode", "replace", "--store", store, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    v3 = load_manifest(str(store), "flights", 3)
    assert v3.parent == 2 and v3.batch_ids == (_batch_id(tmp_path / "c.parquet", contract),)
    assert len(v3.files) == 1 and v3.files[0].path not in {f.path for f in v2.files}
    assert rows(open_snapshot(str(store), "flights").to_arrow()) == rows(c)
    assert len(_published_files(store)) == 3  # replace keeps the older versions' files
    assert dq("snapshots", "verify", store, "flights", "--full", cwd=tmp_path).returncode == 0

    # each batch is found where it was published, also behind the replace
    again = dq("ingest", contract, *(tmp_path / f"{x}.parquet" for x in "cba"), "--store", store, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert [line.split(": ", 1)[1] for line in again.stdout.splitlines()] == [
        f"batch already published in flights@{v}; nothing to do" for v in (3, 2, 1)
    ]
    assert len(batch_ids_of(store)) == 3


def test_quarantine_batch_keeps_the_whole_batch_out_with_its_report(tmp_path, store):
    contract = write_contract(tmp_path, on_failure="quarantine_batch")
    bid = _batch_id(BAD_BATCH, contract)
    run = dq("ingest", contract, BAD_BATCH, "--store", store, cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert "gate failed: whole batch (2,000 rows) quarantined" in run.stdout
    assert not list((store / "flights").glob("versions/*.json")) and not _published_files(store)
    folder = store / "flights" / "quarantine" / bid
    assert sorted(p.name for p in folder.iterdir()) == ["batch.parquet", "report.json"]
    kept = pq.read_table(folder / "batch.parquet")
    source = pq.read_table(BAD_BATCH)
    assert kept.schema.remove_metadata() == source.schema.remove_metadata()
    assert rows(kept) == rows(source)
    report = json.loads((folder / "report.json").read_text())
    assert report["status"] == "fail" and report["batch_id"] == bid and report["outcome"] == "quarantined_batch"
    assert report["source"]["rows"] == 2000
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert statuses["month.range"] == "fail" and statuses["id.required"] == "pass"
    shown = dq("quarantine", "show", store, "flights", bid, "--format", "json", cwd=tmp_path)
    shown_json = json.loads(shown.stdout)
    assert shown.returncode == 0 and {k: v for k, v in shown_json.items() if k != "quarantined_rows"} == report
    assert shown_json["quarantined_rows"]["rows"] == report["rows"]

    before = tree(store)
    again = dq("ingest", contract, BAD_BATCH, "--store", store, cwd=tmp_path)
    assert again.returncode == 1, again.stderr
    assert f"{bid}: batch already quarantined under this contract; nothing to do" in again.stdout
    assert tree(store) == before


def test_quarantine_rows_quarantines_exactly_the_failing_rows_and_publishes_the_rest(tmp_path, store):
    contract = write_contract(tmp_path, on_failure="quarantine_rows")
    source = pq.read_table(BAD_BATCH)
    bad, good, flags = split_rows(source)  # the plain-Python oracle
    assert 0 < sum(bad.values()) < source.num_rows
    run = dq("ingest", contract, BAD_BATCH, "--store", store, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    n_bad, n_good = sum(bad.values()), sum(good.values())
    assert f"{n_bad:,} failing rows quarantined; {n_good:,} rows published as flights@1" in run.stdout

    quarantined = pq.read_table(store / "flights" / "quarantine" / _batch_id(BAD_BATCH, contract) / "rows.parquet")
    rule_columns = json.loads(quarantined.schema.metadata[b"dqgate.rule_columns"])
    assert sorted(rule_columns) == sorted(flags)
    assert quarantined.column_names == source.column_names + rule_columns
    assert all(quarantined.schema.field(r).type == pa.bool_() for r in rule_columns)
    data = zip(*(quarantined.column(n).to_pylist() for n in source.column_names))
    marks = zip(*(quarantined.column(r).to_pylist() for r in rule_columns))
    got = [row + tuple(sorted(zip(rule_columns, m))) for row, m in zip(data, marks)]
    assert sorted(got, key=repr) == sorted(bad.elements(), key=repr)
    assert rows(open_snapshot(str(store), "flights", verify="full").to_arrow()) == good

    report = json.loads((store / "flights" / "quarantine" / _batch_id(BAD_BATCH, contract) / "report.json").read_text())
    assert (report["status"], report["outcome"], report["rows"]) == ("fail", "quarantined_rows", n_bad)
    assert report["published_version"] == 1 and report["rows_published"] == n_good

    before = tree(store)
    again = dq("ingest", contract, BAD_BATCH, "--store", store, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "batch already published in flights@1; nothing to do" in again.stdout
    assert tree(store) == before


def test_quarantine_rows_quarantines_the_whole_batch_when_kept_rows_fail_a_dataset_rule(tmp_path, store):
    # 2,000 rows pass row_count >= 1950, the 1,907 rows left after the split do not
    contract = write_contract(tmp_path, on_failure="quarantine_rows", row_count=(1950, 400000))
    run = dq("ingest", contract, BAD_BATCH, "--store", store, "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    [outcome] = json.loads(run.stdout)
    assert outcome["outcome"] == "quarantined_batch" and outcome["rows_quarantined"] == 2000
    assert outcome["version"] is None and outcome["rows_published"] == 0
    folder = store / "flights" / "quarantine" / _batch_id(BAD_BATCH, contract)
    assert sorted(p.name for p in folder.iterdir()) == ["batch.parquet", "report.json"]
    assert rows(pq.read_table(folder / "batch.parquet")) == rows(pq.read_table(BAD_BATCH))
    assert not list((store / "flights").glob("versions/*.json")) and not _published_files(store)


def test_fail_policy_writes_nothing_at_all(tmp_path, store):
    contract = write_contract(tmp_path, on_failure="fail")
    assert dq("ingest", contract, FLIGHTS, "--store", store, cwd=tmp_path).returncode == 0
    fresh = tmp_path / "fresh"
    before = tree(store)
    for target in (store, fresh):
        run = dq("ingest", contract, BAD_BATCH, "--store", target, cwd=tmp_path)
        assert run.returncode == 1, run.stderr
        assert "gate failed: nothing written (on_failure: fail)" in run.stdout
        assert "FAIL" in run.stdout and "month.range" in run.stdout  # the reason is shown
    assert tree(store) == before
    assert not fresh.exists()


def test_the_same_bytes_under_another_name_are_the_same_batch(tmp_path, store):
    contract = write_contract(tmp_path)
    copy = tmp_path / "landing-copy.parquet"
    shutil.copyfile(FLIGHTS, copy)
    run = dq("ingest", contract, FLIGHTS, copy, "--store", store, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "batch already published in flights@1; nothing to do" in run.stdout
    assert batch_ids_of(store) == [[_batch_id(FLIGHTS, contract)]]


def test_a_rerun_finishes_a_rows_quarantine_whose_report_was_lost(tmp_path, store):
    """A kill between publishing the kept rows and writing report.json leaves exactly this state."""
    contract = write_contract(tmp_path, on_failure="quarantine_rows")
    assert dq("ingest", contract, BAD_BATCH, "--store", store, cwd=tmp_path).returncode == 0
    report = store / "flights" / "quarantine" / _batch_id(BAD_BATCH, contract) / "report.json"
    written = json.loads(report.read_text())
    report.unlink()
    run = dq("ingest", contract, BAD_BATCH, "--store", store, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "93 failing rows quarantined; 1,907 rows published as flights@1" in run.stdout
    again = json.loads(report.read_text())
    for key in ("status", "outcome", "rows", "rule_columns", "published_version", "rows_published", "source"):
        assert again[key] == written[key], key
    assert [(c["id"], c["status"]) for c in again["checks"]] == [(c["id"], c["status"]) for c in written["checks"]]
    assert batch_ids_of(store) == [[_batch_id(BAD_BATCH, contract)]]  # published once


def test_the_batch_id_is_a_file_s_bytes_or_a_folder_s_files_and_where_they_sit(tmp_path):
    from dqgate.gate.ingest import batch_id_of

    copy = tmp_path / "renamed.parquet"
    shutil.copyfile(FLIGHTS, copy)
    assert batch_id_of(copy) == batch_id_of(str(FLIGHTS)) == _batch_id(FLIGHTS)
    # the contract's sha256 is bound in: another contract judges the same bytes afresh
    assert batch_id_of(copy, contract_sha256="ab" * 32) == _batch_id(FLIGHTS) + "abababab" != batch_id_of(copy, contract_sha256="cd" * 32)
    for root, partition in (("x", "year=2024"), ("y", "year=2025"), ("z", "year=2024")):
        (tmp_path / root / partition).mkdir(parents=True)
        shutil.copyfile(FLIGHTS, tmp_path / root / partition / "part-0.parquet")
    # a folder moved elsewhere is the same batch; the same file in another partition is not
    assert batch_id_of(tmp_path / "x") == batch_id_of(tmp_path / "z") != batch_id_of(tmp_path / "y")
    assert batch_id_of(str(tmp_path / "x" / "*" / "*.parquet")) == batch_id_of(str(tmp_path / "z" / "*" / "*.parquet"))
    table = pq.read_table(FLIGHTS)
    assert batch_id_of(table) == batch_id_of(pa.Table.from_batches(table.to_batches())) != batch_id_of(table.slice(1))


def test_with_a_signing_key_the_objects_and_the_manifest_are_signed(tmp_path, store):
    contract = write_contract(tmp_path, on_failure="quarantine_rows")
    key = {"DQGATE_SIGNING_KEY": "k1"}
    run = dq("ingest", contract, BAD_BATCH, "--store", store, cwd=tmp_path, extra_env=key)
    assert run.returncode == 0, run.stderr
    [entry] = load_manifest(str(store), "flights", 1).files
    stamp = json.loads(pq.read_metadata(store / "flights" / entry.path).metadata[b"dqgate.stamp"])
    assert len(stamp["hmac"]) == 64 and stamp["rows"] == entry.rows == 1907
    assert dq("snapshots", "verify", store, "flights", "--full", cwd=tmp_path, extra_env=key).returncode == 0
    forged = dq("snapshots", "verify", store, "flights", "--full", cwd=tmp_path, extra_env={"DQGATE_SIGNING_KEY": "k2"})
    assert forged.returncode == 1 and "HMAC does not verify" in forged.stdout
