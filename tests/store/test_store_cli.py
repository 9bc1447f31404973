"""The snapshots, lineage, quarantine and store commands, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dqgate.cli.quarantine import quarantine
from dqgate.cli.snapshots import lineage, snapshots
from dqgate.cli.snapshots import store as store_group
from dqgate.errors import StoreError, UsageError
from dqgate.store import open_snapshot, write_object


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def two_versions(store, publish_batch, make_table) -> str:
    publish_batch("b1", make_table(0, 10))
    publish_batch("b2", make_table(5, 10), mode="replace")
    return store


def test_list_text_and_json(runner, two_versions):
    text = runner.invoke(snapshots, ["list", two_versions, "flights"])
    assert text.exit_code == 0, text.output
    assert "2 version(s)" in text.output and "flights@2.1.0" in text.output
    res = runner.invoke(snapshots, ["list", two_versions, "flights", "--format", "json"])
    rows = json.loads(res.output)
    assert [(r["version"], r["rows"], r["status"]) for r in rows] == [(1, 10, "pass"), (2, 10, "pass")]


def test_show_latest_and_a_version(runner, two_versions):
    res = runner.invoke(snapshots, ["show", two_versions, "flights"])
    assert res.exit_code == 0, res.output
    assert "signature" in res.output and "unsigned" in res.output and "b2" in res.output
    res = runner.invoke(snapshots, ["show", two_versions, "flights@1", "--format", "json"])
    manifest = json.loads(res.output)
    assert manifest["version"] == 1 and manifest["stamp"]["rows"] == 10


def test_show_errors_are_dqgate_errors(runner, two_versions):
    res = runner.invoke(snapshots, ["show", two_versions, "flights@9"])
    assert isinstance(res.exception, StoreError) and "version 9" in str(res.exception)
    res = runner.invoke(snapshots, ["show", two_versions, "flights@x"])
    assert isinstance(res.exception, UsageError)
    res = runner.invoke(snapshots, ["show", two_versions, "flight"])
    assert isinstance(res.exception, StoreError) and "Did you mean 'flights'" in str(res.exception)


def test_verify_exit_codes(runner, two_versions):
    ok = runner.invoke(snapshots, ["verify", two_versions, "flights", "--full"])
    assert ok.exit_code == 0 and "ok (full verification)" in ok.output
    victim = open_snapshot(two_versions, "flights", 1).files[0]
    Path(victim).unlink()
    bad = runner.invoke(snapshots, ["verify", two_versions, "flights"])
    assert bad.exit_code == 1 and "version 1: file" in bad.output and "missing" in bad.output
    res = runner.invoke(snapshots, ["verify", two_versions, "flights", "--format", "json"])
    assert res.exit_code == 1 and json.loads(res.output)["ok"] is False


def test_diff_text_and_json(runner, two_versions):
    res = runner.invoke(snapshots, ["diff", two_versions, "flights@1", "flights@2", "--key", "id"])
    assert res.exit_code == 0, res.output
    assert "by key id: 5 added, 5 removed, 0 changed" in res.output
    res = runner.invoke(snapshots, ["diff", two_versions, "flights@1", "flights@latest", "--format", "json"])
    assert json.loads(res.output)["b"] == 2
    res = runner.invoke(snapshots, ["diff", two_versions, "flights@1", "airports@2"])
    assert isinstance(res.exception, UsageError)


def test_lineage(runner, two_versions):
    open_snapshot(two_versions, "flights", consumer="train-job")
    res = runner.invoke(lineage, [two_versions, "flights", "--format", "json"])
    assert [(r["consumer"], r["version"]) for r in json.loads(res.output)] == [("train-job", 2)]
    assert "train-job" in runner.invoke(lineage, [two_versions, "flights"]).output


def test_quarantine_list_and_show(runner, two_versions):
    batch = Path(two_versions) / "flights" / "quarantine" / "batch-0042"
    batch.mkdir(parents=True)
    report = {
        "status": "fail",
        "source": {"rows": 12},
        "checks": [{"id": "tailnum.pattern", "severity": "error", "status": "fail", "failed_rows": 3, "message": "m"}],
    }
    (batch / "report.json").write_text(json.dumps(report))
    res = runner.invoke(quarantine, ["list", two_versions, "flights"])
    assert res.exit_code == 0 and "batch-0042" in res.output and "fail" in res.output
    res = runner.invoke(quarantine, ["show", two_versions, "flights", "batch-0042"])
    assert res.exit_code == 0 and "tailnum.pattern" in res.output
    res = runner.invoke(quarantine, ["show", two_versions, "flights", "batch-0042", "--format", "json"])
    assert json.loads(res.output) == report
    res = runner.invoke(quarantine, ["show", two_versions, "flights", "batch-0043"])
    assert isinstance(res.exception, StoreError) and "Did you mean 'batch-0042'" in str(res.exception)


def test_gc_dry_run_then_delete(runner, two_versions):
    orphan = write_object(two_versions, "flights", __import__("pyarrow").table({"id": [1]}),
                          stamp={"batch_id": "bx", "contract_sha256": "c" * 64, "status": "pass"})  # fmt: skip
    res = runner.invoke(store_group, ["gc", two_versions, "--dry-run", "--min-age", "0"])
    assert res.exit_code == 0 and orphan.path in res.output and "would delete 1 file(s)" in res.output
    assert (Path(two_versions) / "flights" / orphan.path).exists()
    res = runner.invoke(store_group, ["gc", two_versions, "flights", "--min-age", "0", "--format", "json"])
    assert json.loads(res.output)["removed"] == {"flights": [orphan.path]}
    assert not (Path(two_versions) / "flights" / orphan.path).exists()
    assert runner.invoke(snapshots, ["verify", two_versions, "flights", "--full"]).exit_code == 0
