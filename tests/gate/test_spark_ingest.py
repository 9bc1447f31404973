"""Ingest on Spark (gate/spark_ingest.py): the real local SparkSession of conftest.py.

What a broken implementation would get wrong: a snapshot that does not read back as the
DataFrame (lost or doubled partitions, NaN made NULL by the check's reading), objects
whose stamps or segment hashes do not verify, a quarantine_rows split other than the
DuckDB ingest's of the same rows, anything written for a failing batch, an append
judged over the batch alone, a retry published twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import dqgate
from dqgate.errors import UnsupportedRule
from dqgate.gate.ingest import ingest
from dqgate.store import list_versions, load_manifest, open_snapshot, verify_store
from dqgate.store.quarantine_entries import entry_rows

CONTRACT = """
dataset: sp
schema:
  columns:
    id: {{type: int64, required: true, unique: true}}
    name: {{type: string, pattern: '^[a-z]+$'}}
    score: {{type: float64, range: {{min: 0, max: 10}}}}
gate:
  on_failure: {on_failure}
  publish: {publish}
"""


def _contract(tmp_path: Path, on_failure: str = "quarantine_rows", publish: str = "append", extra: str = "") -> Path:
    path = tmp_path / f"c-{on_failure}-{publish}.yaml"
    path.write_text(CONTRACT.format(on_failure=on_failure, publish=publish) + extra, encoding="utf-8")
    return path


def _batch(start: int, rows: int, *, bad: bool) -> pa.Table:
    """Rows ``start..start+rows``; with ``bad``, a repeated id, a NULL id, a name and a score that fail,
    and a NaN score (NULL to the check, ``nan: missing``; NaN in what is published)."""
    ids: list[Any] = list(range(start, start + rows))
    names: list[Any] = [f"n{'abcdefgh'[i % 8]}" if i % 5 else None for i in range(rows)]
    names = [None if v is None else v.replace("n", "x") for v in names]
    scores: list[Any] = [float(i % 11) if i % 7 else None for i in range(rows)]
    if bad:
        ids[3] = ids[2]
        ids[5] = None
        names[7] = "Bad1"
        scores[9] = 11.5
        scores[10] = float("nan")
    return pa.table({"id": pa.array(ids, pa.int64()), "name": pa.array(names, pa.string()), "score": pa.array(scores, pa.float64())})


def _sorted(table: pa.Table) -> pa.Table:
    keys = [(c, "ascending") for c in table.column_names]
    return table.sort_by(keys)


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """The rows in a stable order, NaN spelled out (NaN != NaN would fail any comparison)."""
    return sorted((tuple("NaN" if v != v else v for v in row.values()) for row in table.to_pylist()), key=repr)


def _frame(spark: Any, table: pa.Table, partitions: int = 3) -> Any:
    return spark.createDataFrame(table).repartition(partitions)  # from Arrow: NaN stays NaN


def test_a_passing_dataframe_is_published_from_its_partitions_and_verifies(spark: Any, tmp_path: Path, store: Path) -> None:
    contract = _contract(tmp_path)
    table = _batch(0, 60, bad=False)
    df = _frame(spark, table)
    outcome = dqgate.ingest(df, contract, store)
    assert (outcome.outcome, outcome.version, outcome.rows_published) == ("published", 1, 60)
    assert outcome.result.engine == "spark"
    manifest = load_manifest(str(store), "sp", 1)
    assert len(manifest.files) == 3  # one object per partition, all named by one version
    assert sum(f.rows for f in manifest.files) == 60
    assert all(f.segments for f in manifest.files)  # per-row-group hashes recorded as for any object
    assert _sorted(open_snapshot(str(store), "sp").to_arrow()).equals(_sorted(df.toArrow()))
    assert verify_store(str(store), "sp", full=True) == []
    again = dqgate.ingest(_frame(spark, table, partitions=2), contract, store)
    assert (again.outcome, again.version) == ("already_published", 1)  # the same rows, other partitions: one id
    assert list_versions(str(store), "sp") == [1]


def test_quarantine_rows_splits_as_the_duckdb_ingest_does(spark: Any, tmp_path: Path) -> None:
    contract = _contract(tmp_path)
    table = _batch(0, 40, bad=True)
    on_duckdb = ingest(contract, table, str(tmp_path / "duck"))
    on_spark = dqgate.ingest(_frame(spark, table), contract, tmp_path / "spark")
    for got in (on_duckdb, on_spark):
        assert got.outcome == "quarantined_rows", got.summary()
    assert (on_spark.rows_published, on_spark.rows_quarantined) == (on_duckdb.rows_published, on_duckdb.rows_quarantined) == (35, 5)
    published = [open_snapshot(str(tmp_path / s), "sp").to_arrow() for s in ("duck", "spark")]
    assert published[1].schema == published[0].schema and _rows(published[1]) == _rows(published[0])
    assert pc.any(pc.is_nan(published[1].column("score"))).as_py()  # NULL to the range rule, NaN as published
    (duck_rows, duck_rules), (spark_rows, spark_rules) = (entry_rows(str(tmp_path / s), "sp", o.batch_id) for s, o in (("duck", on_duckdb), ("spark", on_spark)))
    assert duck_rules == spark_rules == ["id.required", "id.unique", "name.pattern", "score.range"]
    assert _rows(spark_rows) == _rows(duck_rows)
    report = json.loads((tmp_path / "spark" / "sp" / "quarantine" / on_spark.batch_id / "report.json").read_text())
    assert (report["outcome"], report["rows"], report["published_version"]) == ("quarantined_rows", 5, 1)
    assert on_spark.recheck is not None and on_spark.recheck.status != "fail"
    assert verify_store(str(tmp_path / "spark"), "sp", full=True) == []


def test_a_failing_batch_publishes_nothing(spark: Any, tmp_path: Path, store: Path) -> None:
    table = _batch(0, 30, bad=True)
    rejected = dqgate.ingest(_frame(spark, table), _contract(tmp_path, on_failure="fail"), store)
    assert rejected.outcome == "rejected" and rejected.exit_code == 1
    assert not list(store.rglob("*.parquet")) and not list(store.rglob("*.json"))
    whole = dqgate.ingest(_frame(spark, table), _contract(tmp_path, on_failure="quarantine_batch"), store)
    assert whole.outcome == "quarantined_batch" and whole.rows_quarantined == 30
    assert list_versions(str(store), "sp") == []
    assert not list((store / "sp" / "objects").rglob("*.parquet"))
    rows, reasons = entry_rows(str(store), "sp", whole.batch_id)
    assert reasons == [] and rows.schema == table.schema and _rows(rows) == _rows(table)


def test_append_merges_row_rules_and_refuses_a_key_rule_by_name(spark: Any, tmp_path: Path, store: Path) -> None:
    rows_only = tmp_path / "rows.yaml"
    rows_only.write_text(CONTRACT.format(on_failure="fail", publish="append").replace("required: true, unique: true", "required: true"), encoding="utf-8")
    assert dqgate.ingest(_frame(spark, _batch(0, 20, bad=False)), rows_only, store).version == 1
    second = dqgate.ingest(_frame(spark, _batch(20, 25, bad=False)), rows_only, store)
    assert second.version == 2 and second.result.rows == 45  # judged over the snapshot: parent + batch
    req = next(c for c in second.result.checks if c.id == "id.required")
    assert (req.total_rows, req.scope, req.computed) == (45, "snapshot", "merged")
    before = sorted(p.relative_to(store) for p in store.rglob("*"))
    with pytest.raises(UnsupportedRule) as refused:
        dqgate.ingest(_frame(spark, _batch(45, 5, bad=False)), _contract(tmp_path, on_failure="fail"), store)
    assert str(refused.value).startswith("engine 'spark' cannot run rule 'id.unique' (kind Unique): on publish: append it is judged over the snapshot (sp@2")
    assert sorted(p.relative_to(store) for p in store.rglob("*")) == before  # nothing written


def test_dq_ingest_engine_spark_over_a_file(spark: Any, tmp_path: Path, store: Path, run_cli: Any) -> None:
    contract = _contract(tmp_path, on_failure="fail")
    data = tmp_path / "batch.parquet"
    pq.write_table(_batch(0, 25, bad=False), data)
    code, out, err = run_cli("ingest", contract, data, "--store", store, "--engine", "spark", "--format", "json")
    assert code == 0, err
    [done] = json.loads(out)
    assert (done["outcome"], done["version"], done["rows_published"], done["check"]["engine"]) == ("published", 1, 25, "spark")
    assert _sorted(open_snapshot(str(store), "sp").to_arrow()).equals(_sorted(pq.read_table(data)))
    code, out, err = run_cli("ingest", contract, data, "--store", store)  # the DuckDB ingest: the same file is the same batch
    assert code == 0 and "already published in sp@1" in out, out + err


def test_duckdb_quarantine_rows_flags_what_its_check_counted(tmp_path: Path) -> None:
    """The split reads the rows as the check does: a NaN score is NULL to the range rule
    (``nan: missing``), so it is not quarantined for it (it was, before the Spark ingest's
    parity test found it) while the row keeps its NaN."""
    outcome = ingest(_contract(tmp_path), _batch(0, 40, bad=True), str(tmp_path / "duck"))
    rows, rules = entry_rows(str(tmp_path / "duck"), "sp", outcome.batch_id)
    counted = {c.id: c.failed_rows for c in outcome.result.checks}
    assert {r: pc.sum(rows.column(r)).as_py() for r in rules} == {r: counted[r] for r in rules}
    kept = open_snapshot(str(tmp_path / "duck"), "sp").to_arrow()
    assert pc.sum(pc.is_nan(kept.column("score"))).as_py() == 1
