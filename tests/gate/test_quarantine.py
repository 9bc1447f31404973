"""gate/quarantine.py in-process: the rejected data, its reason columns, and report.json written last."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dqgate.errors import UsageError
from dqgate.gate import quarantine

BATCH = "b" + "1" * 40


def _reader() -> pa.RecordBatchReader:
    schema = pa.schema([("id", pa.int64()), ("month.range", pa.bool_()), ("id.unique", pa.bool_())])
    parts = [
        pa.record_batch([pa.array([1, 2]), pa.array([True, False]), pa.array([False, True])], schema=schema),
        pa.record_batch([pa.array([], pa.int64()), pa.array([], pa.bool_()), pa.array([], pa.bool_())], schema=schema),
        pa.record_batch([pa.array([3]), pa.array([True]), pa.array([True])], schema=schema),
    ]
    return pa.RecordBatchReader.from_batches(schema, parts)


def test_rows_file_names_its_reason_columns_in_the_parquet_metadata(tmp_path):
    store = str(tmp_path / "store")
    path, n = quarantine.write_data(store, "flights", BATCH, "rows.parquet", _reader(),
                                    rule_columns=("month.range", "id.unique"))  # fmt: skip
    assert n == 3 and path.endswith(f"flights/quarantine/{BATCH}/rows.parquet")
    table = pq.read_table(path)
    assert json.loads(table.schema.metadata[b"dqgate.rule_columns"]) == ["month.range", "id.unique"]
    assert table.column("id").to_pylist() == [1, 2, 3]
    assert table.column("month.range").to_pylist() == [True, False, True]
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"


def test_a_whole_batch_keeps_its_rows_and_carries_no_reason_metadata(tmp_path):
    store = str(tmp_path / "store")
    table = pa.table({"id": [5, 6], "carrier": ["AA", None]})
    path, n = quarantine.write_data(store, "flights", BATCH, "batch.parquet", table)
    written = pq.read_table(path)
    assert n == 2 and written.equals(table)
    assert b"dqgate.rule_columns" not in (written.schema.metadata or {})


def test_the_report_is_the_commit_mark_of_a_quarantine_entry(tmp_path):
    store = str(tmp_path / "store")
    assert not quarantine.is_quarantined(store, "flights", BATCH)
    assert not quarantine.is_unfinished(store, "flights", BATCH)  # nothing there at all
    quarantine.write_data(store, "flights", BATCH, "batch.parquet", pa.table({"id": [1]}))
    assert not quarantine.is_quarantined(store, "flights", BATCH)
    assert quarantine.is_unfinished(store, "flights", BATCH)  # data without report: a crash's leftover
    report = {"status": "fail", "batch_id": BATCH, "checks": [{"id": "id.unique", "status": "fail"}]}
    final = quarantine.write_report(store, "flights", BATCH, report)
    assert quarantine.is_quarantined(store, "flights", BATCH)
    assert not quarantine.is_unfinished(store, "flights", BATCH)
    with open(final, encoding="utf-8") as f:
        assert json.load(f) == report
    folder = tmp_path / "store" / "flights" / "quarantine" / BATCH
    assert sorted(p.name for p in folder.iterdir()) == ["batch.parquet", "report.json"]  # no temporary file left


@pytest.mark.parametrize("batch_id", ["../escape", "a/b", "..", ""])
def test_a_batch_id_cannot_leave_the_quarantine_folder(tmp_path, batch_id):
    store = str(tmp_path / "store")
    with pytest.raises(UsageError, match="invalid batch id"):
        quarantine.write_data(store, "flights", batch_id, "batch.parquet", pa.table({"id": [1]}))
    with pytest.raises(UsageError, match="invalid batch id"):
        quarantine.write_report(store, "flights", batch_id, {})
    assert not (tmp_path / "store").exists()
