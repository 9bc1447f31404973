"""A batch with columns that differ only in case ("a" and "A") is ingested exactly.

Issue #12: DuckDB's identifiers ignore case, so such a batch failed on DuckDB. Now
every rule checks its own column, rows are split by the right column's rule, and
the published snapshot and the quarantined rows keep both names, exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

import dqgate
from dqgate.store import open_snapshot

CONTRACT = """
dataset: twins
schema:
  strict: true
  columns:
    a: {type: int64, range: {min: 0, max: 9}}
    A: {type: int64, required: true, range: {min: 100, max: 199}}
    "my Col": {type: string, in: [x, y]}
    "My col": {type: string}
  unique: [[a, A]]
checks:
  - expect: '"A" > a'
  - metric: sum("A")
    min: 0
gate:
  on_failure: quarantine_rows
"""


def _batch(tmp_path: Path, name: str, big_a: list[int | None]) -> Path:
    n = len(big_a)
    table = pa.table({
        "a": pa.array([i % 10 for i in range(n)], pa.int64()),
        "A": pa.array(big_a, pa.int64()),
        "my Col": pa.array(["x" if i % 2 else "y" for i in range(n)]),
        "My col": pa.array(["not in the set"] * n),
    })  # fmt: skip
    path = tmp_path / name
    pq.write_table(table, path)
    return path


def test_check_ingest_and_read_keep_case_twins_apart(tmp_path: Path) -> None:
    contract = tmp_path / "twins.yaml"
    contract.write_text(CONTRACT)
    store = str(tmp_path / "store")
    good = _batch(tmp_path, "good.parquet", [100 + i for i in range(20)])
    result = dqgate.check(str(good), str(contract))
    by_id = {c.id: c for c in result.checks}
    assert result.status == "pass", [c for c in result.checks if c.status != "pass"]
    assert by_id["sum(A)"].observed == sum(100 + i for i in range(20))  # A's values, not a's
    assert dqgate.ingest(str(good), str(contract), store=store).outcome == "published"
    snap = open_snapshot(store, "twins")
    got = snap.to_arrow()
    assert got.schema.names == ["a", "A", "my Col", "My col"]
    assert got.equals(pq.read_table(good))
    assert snap.scan_polars().select("A").collect()["A"].to_list() == [100 + i for i in range(20)]

    # rows 3 and 7 break A's range (and row 5 A's required): only A's rules fail; a's rules see a
    bad_values: list[int | None] = [120 + i for i in range(20)]  # keys (a, A) not published yet
    bad_values[3], bad_values[5], bad_values[7] = 5, None, 250
    bad = _batch(tmp_path, "bad.parquet", bad_values)
    checked = {c.id: c for c in dqgate.check(str(bad), str(contract)).checks}
    assert (checked["A.range"].failed_rows, checked["a.range"].failed_rows, checked["A.required"].failed_rows) == (2, 0, 1)
    assert sorted(checked["A.range"].sample) == [5, 250]
    outcome = dqgate.ingest(str(bad), str(contract), store=store)
    assert outcome.outcome == "quarantined_rows" and outcome.rows_quarantined == 3
    assert open_snapshot(store, "twins").to_arrow().num_rows == 20 + 17
    rows = pq.read_table(Path(outcome.quarantine_path) / "rows.parquet")
    assert rows.column("A").to_pylist() == [5, None, 250] and rows.column("a").to_pylist() == [3, 5, 7]
    report = json.loads((Path(outcome.quarantine_path) / "report.json").read_text())
    assert "A.range" in report["rule_columns"]


def test_to_duckdb_of_case_twins_reads_each_column(tmp_path: Path) -> None:
    contract = tmp_path / "twins.yaml"
    contract.write_text(CONTRACT)
    store = str(tmp_path / "store")
    good = _batch(tmp_path, "good.parquet", [100 + i for i in range(20)])
    assert dqgate.ingest(str(good), str(contract), store=store).outcome == "published"
    rel = open_snapshot(store, "twins").to_duckdb(duckdb.connect())
    assert rel.columns[:2] == ["a", "A_1"]  # DuckDB's own name for the second twin (docs/trust.md)
    assert rel.aggregate('sum("a"), sum("A_1")').fetchall() == [(sum(i % 10 for i in range(20)), sum(100 + i for i in range(20)))]
