"""The quarantine lifecycle through the real `dq` CLI (issue 12, item 6).

A batch id binds the batch's bytes and the contract's sha256, so a changed contract
judges a quarantined batch afresh; `dq quarantine release` re-checks an entry under
the current contract and publishes it (recording who), `drop` deletes it, `list`
says which were released, `show` prints failing rows with one `reasons` column, and
`dq store gc --quarantine-older-than` expires old entries.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from gate_helpers import dq as dq_process

import dqgate


class _Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.returncode, self.stdout, self.stderr = code, out, err


@pytest.fixture
def dq(run_cli):  # the real `dq` main in-process (fast); one test below runs real processes
    return lambda *args: _Run(*run_cli(*args))

STRICT = """dataset: q
version: 1.0.0
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    score: {type: float64, range: {min: 0, max: 1}}
gate:
  on_failure: %s
"""
RELAXED = STRICT.replace("version: 1.0.0", "version: 1.1.0").replace("max: 1}", "max: 10}")


def _batch(path: Path) -> Path:
    pq.write_table(pa.table({"id": pa.array([1, 2, 3, 4], pa.int64()), "score": [0.5, 5.0, 0.25, None]}), path)
    return path


def _entries(store: Path) -> list[str]:
    folder = store / "q" / "quarantine"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_changed_contract_judges_a_quarantined_batch_afresh(tmp_path: Path, dq) -> None:
    store, batch = tmp_path / "store", _batch(tmp_path / "b.parquet")
    strict, relaxed = tmp_path / "strict.yaml", tmp_path / "relaxed.yaml"
    strict.write_text(STRICT % "quarantine_batch")
    relaxed.write_text(RELAXED % "quarantine_batch")
    assert dq_process("ingest", strict, batch, "--store", store).returncode == 1
    again = dq("ingest", strict, batch, "--store", store)
    assert again.returncode == 1 and "already quarantined under this contract" in again.stdout
    [entry] = _entries(store)
    shown = json.loads(dq("quarantine", "show", store, "q", entry, "--contract", strict, "--format", "json").stdout)
    assert [(r["id"], r["reasons"]) for r in shown["quarantined_rows"]["sample"]] == [(2, ["score.range"])]
    fresh = dq_process("ingest", relaxed, batch, "--store", store)  # the issue: this said "already quarantined"
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "published q@1: 4 rows" in fresh.stdout
    # the same bytes are never appended twice, whichever contract judges them
    assert "already published" in dq("ingest", strict, batch, "--store", store).stdout


def test_release_show_list_drop_and_retention(tmp_path: Path, dq) -> None:
    store, batch = tmp_path / "store", _batch(tmp_path / "b.parquet")
    strict, relaxed = tmp_path / "strict.yaml", tmp_path / "relaxed.yaml"
    strict.write_text(STRICT % "quarantine_rows")
    relaxed.write_text(RELAXED % "quarantine_rows")
    assert dq("ingest", strict, batch, "--store", store).returncode == 0  # 3 rows published, 1 quarantined
    [entry] = _entries(store)

    shown = dq("quarantine", "show", store, "q", entry)
    assert shown.returncode == 0, shown.stderr
    assert "reasons" in shown.stdout and "score.range" in shown.stdout
    data = json.loads(dq("quarantine", "show", store, "q", entry, "--format", "json").stdout)
    sample = data["quarantined_rows"]["sample"]
    assert data["quarantined_rows"]["rule_columns"] and [r["reasons"] for r in sample] == [["score.range"]]
    assert sample[0]["id"] == 2 and sample[0]["score.range"] is True and data["status"] == "fail"

    still = dq("quarantine", "release", store, "q", entry, "--contract", strict)
    assert still.returncode == 1 and "still fails" in still.stdout
    assert dqgate.open_snapshot(str(store), "q").to_arrow().num_rows == 3  # nothing published

    released = dq("quarantine", "release", store, "q", entry, "--contract", relaxed, "--by", "alice")
    assert released.returncode == 0, released.stdout + released.stderr
    table = dqgate.open_snapshot(str(store), "q").to_arrow()
    assert sorted(table.column("id").to_pylist()) == [1, 2, 3, 4]
    assert table.column_names == ["id", "score"]  # the reason columns stay behind
    record = json.loads((store / "q" / "quarantine" / entry / "release.json").read_text())
    assert record["released_by"] == "alice" and record["version"] == 2
    assert record["contract"]["version"] == "1.1.0"
    listed = json.loads(dq("quarantine", "list", store, "q", "--format", "json").stdout)
    assert listed[0]["released"]["released_by"] == "alice"
    twice = dq("quarantine", "release", store, "q", entry, "--contract", relaxed)
    assert twice.returncode == 0 and dqgate.open_snapshot(str(store), "q").to_arrow().num_rows == 4

    dropped = dq("quarantine", "drop", store, "q", entry)
    assert dropped.returncode == 0 and _entries(store) == []
    missing = dq("quarantine", "drop", store, "q", entry)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr and "no quarantined batch" in missing.stderr


def test_gc_expires_quarantine_entries_older_than_the_retention(tmp_path: Path, dq) -> None:
    store = tmp_path / "store"
    contract = tmp_path / "strict.yaml"
    contract.write_text(STRICT % "quarantine_batch")
    old, new = _batch(tmp_path / "old.parquet"), tmp_path / "new.parquet"
    pq.write_table(pa.table({"id": pa.array([7, 7], pa.int64()), "score": [0.1, 0.2]}), new)
    assert dq("ingest", contract, old, new, "--store", store).returncode == 1
    entries = _entries(store)
    assert len(entries) == 2
    aged = store / "q" / "quarantine" / entries[0]
    month = time.time() - 31 * 86400
    for f in aged.iterdir():
        os.utime(f, (month, month))
    dry = dq("store", "gc", store, "q", "--quarantine-older-than", "30d", "--dry-run")
    assert dry.returncode == 0 and f"quarantine/{entries[0]}" in dry.stdout and _entries(store) == entries
    done = dq("store", "gc", store, "q", "--quarantine-older-than", "30d")
    assert done.returncode == 0, done.stderr
    assert _entries(store) == entries[1:]
    bad = dq("store", "gc", store, "q", "--quarantine-older-than", "30 days")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
