"""What the Parquet footer decides, and that the scan then leaves those columns alone.

The random-data proof that footer decisions equal a full scan is
tests/parity/test_footer_parity.py; these tests pin down which rules are decided
from which footers, and show with a file whose column pages are destroyed that a
decided column is not read at all.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dqgate
from dqgate.contract import load_contract
from dqgate.errors import DataError
from dqgate.ir.plan import plan
from dqgate.runners import duckdb as runner

CONTRACT = """
dataset: clean
schema:
  columns:
    id:    {type: int64, required: true, range: {min: 0, max: 1000000}}
    age:   {type: int32, required: true, range: {min: 0, max: 120}}
    ts:    {type: timestamp, range: {min: "2024-01-01T00:00:00", max: "2025-01-01T00:00:00"}}
    code:  {type: string, in: [A, B], length: {min: 1, max: 1}, pattern: '[AB]'}
    f:     {type: float64, range: {min: 0, max: 1}}
checks:
  - {metric: row_count, min: 1}
  - {metric: null_fraction(ts), max: 0.5}
  - {metric: max(age), max: 120}
  - {metric: min(f), min: 0}
  - {metric: mean(age), min: 0}
"""


def clean_table(rows: int = 3000) -> pa.Table:
    return pa.table({
        "id": pa.array(range(rows), pa.int64()),
        "age": pa.array([i % 100 for i in range(rows)], pa.int32()),
        "ts": pa.array([dt.datetime(2024, 3, 1) + dt.timedelta(minutes=i) if i % 7 else None for i in range(rows)], pa.timestamp("us")),
        "code": pa.array(["A" if i < rows // 2 else "B" for i in range(rows)]),
        "f": pa.array([(i % 10) / 10 for i in range(rows)], pa.float64()),
    })  # fmt: skip


def run(contract_path: Path, data: str, *, use_footer: bool = True) -> dqgate.RunResult:
    c = load_contract(str(contract_path))
    return runner.run(c, plan(c), data, use_footer=use_footer)


def decided(result: dqgate.RunResult) -> set[str]:
    return set(result.source.get("decided_from_footer", []))


@pytest.fixture
def contract(write_contract):
    return write_contract(CONTRACT)


def test_pyarrow_footer_decides_exact_types_but_not_floats(contract: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(clean_table(), path, row_group_size=500)
    result = run(contract, str(path))
    # pyarrow writes no NaN count, so nothing about f's values can be trusted.
    assert decided(result) == {
        "id.required", "id.range", "age.required", "age.range", "ts.range", "code.length",
        "code.in", "code.pattern", "row_count", "null_fraction(ts)", "max(age)",
    }  # fmt: skip
    assert result.status == "pass"
    full = run(contract, str(path), use_footer=False)
    assert [c.to_json() for c in result.checks] == [c.to_json() for c in full.checks]


def test_constant_row_groups_decide_any_value_rule(contract: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(clean_table(), path, row_group_size=500)  # code is "A" or "B" in every row group
    assert {"code.in", "code.pattern"} <= decided(run(contract, str(path)))
    mixed = tmp_path / "mixed.parquet"
    pq.write_table(clean_table(), mixed, row_group_size=3000)  # one row group holds both values
    assert not {"code.in", "code.pattern"} & decided(run(contract, str(mixed)))


def test_duckdb_written_files_count_nans_so_floats_are_decided(contract: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    con = duckdb.connect()
    con.register("t", clean_table())
    con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    result = run(contract, str(path))
    assert {"f.range", "min(f)"} <= decided(result)
    assert next(c for c in result.checks if c.id == "min(f)").observed == 0.0


def test_a_nan_the_footer_does_not_show_still_fails_the_range(write_contract, tmp_path: Path) -> None:
    contract = write_contract("dataset: x\nschema:\n  columns:\n    f: {type: float64, range: {min: 0, max: 1}}\n")
    path = tmp_path / "nan.parquet"
    pq.write_table(pa.table({"f": [0.25, float("nan"), 0.5]}), path)  # min 0.25, max 0.5: NaN left out
    result = run(contract, str(path))
    assert "f.range" not in decided(result)
    # What the scan then says about NaN is DuckDB's to say (DuckDB 2.0.1 itself folds the
    # range to true from these very statistics); the footer must only not change it.
    assert result.checks[0].to_json() == run(contract, str(path), use_footer=False).checks[0].to_json()


def test_files_without_statistics_are_scanned(contract: Path, tmp_path: Path) -> None:
    none, some = tmp_path / "none.parquet", tmp_path / "some.parquet"
    pq.write_table(clean_table(), none, write_statistics=False)
    pq.write_table(clean_table(), some, write_statistics=["age"])
    assert decided(run(contract, str(none))) == {"row_count"}
    assert decided(run(contract, str(some))) == {"row_count", "age.required", "age.range", "max(age)"}


def test_hive_partition_columns_are_never_decided_from_footers(write_contract, tmp_path: Path) -> None:
    contract = write_contract("dataset: x\nschema:\n  columns:\n    a: {type: int64, range: {min: 0, max: 5}}\n    k: {type: int64, range: {min: 0, max: 1}}\n")
    for k in (1, 7):
        (tmp_path / "data" / f"k={k}").mkdir(parents=True)
        pq.write_table(pa.table({"a": pa.array([1, 2], pa.int64()), "k": pa.array([0, 0], pa.int64())}), tmp_path / "data" / f"k={k}" / "p.parquet")
    result = run(contract, str(tmp_path / "data"))
    assert "k.range" not in decided(result) and "a.range" in decided(result)
    assert next(c for c in result.checks if c.id == "k.range").failed_rows == run(contract, str(tmp_path / "data"), use_footer=False).checks[1].failed_rows


def destroy_column(path: Path, column: str, groups: range | None = None) -> None:
    """Overwrite every byte of ``column``'s pages (in row ``groups``, default all); the footer stays intact."""
    con = duckdb.connect()
    chunks = con.execute(
        "SELECT coalesce(least(dictionary_page_offset, data_page_offset), data_page_offset), total_compressed_size, row_group_id "
        "FROM parquet_metadata(?) WHERE path_in_schema = ?", [str(path), column]
    ).fetchall()
    chunks = [(offset, size) for offset, size, group in chunks if groups is None or group in groups]
    with open(path, "r+b") as fh:
        for offset, size in chunks:
            fh.seek(offset)
            fh.write(b"\xff" * size)


@pytest.mark.parametrize("column", ["ts", "code"])
def test_a_decided_column_is_not_read(contract: Path, tmp_path: Path, column: str) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(clean_table(), path, row_group_size=500)
    destroy_column(path, column)  # every rule on it is decided from the footer
    with pytest.raises(DataError):
        run(contract, str(path), use_footer=False)
    result = run(contract, str(path))
    assert {c.id for c in result.checks if column in c.columns} <= decided(result) and result.status == "pass"
    destroy_column(path, "age")  # mean(age) needs the values: now the scan must fail
    with pytest.raises(DataError):
        run(contract, str(path))


def test_only_the_row_groups_the_footer_leaves_open_are_read(write_contract, tmp_path: Path) -> None:
    """Eight row groups; only the last holds a value out of range among good ones. With
    every other row group's pages destroyed, the check still gives the full-scan answer."""
    contract = write_contract("dataset: x\nschema:\n  columns:\n    a: {type: int64, required: true, range: {min: 0, max: 60}}\n    s: {type: string, in: [x]}\n")
    values = [99 if 3500 <= i < 3510 else i % 50 for i in range(4000)]
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"a": pa.array(values, pa.int64()), "s": ["x"] * 4000}), path, row_group_size=500)
    full = run(contract, str(path), use_footer=False)
    destroy_column(path, "a", range(0, 7))
    with pytest.raises(DataError):
        run(contract, str(path), use_footer=False)
    result = run(contract, str(path))
    assert result.source["row_groups_not_read"] == 7 and "a.range" not in decided(result)
    assert [c.to_json() for c in result.checks] == [c.to_json() for c in full.checks]
    assert next(c for c in result.checks if c.id == "a.range").failed_rows == 10
