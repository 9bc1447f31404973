"""What `dq ingest` publishes reads back equal to the batch, schema included (issue 12, item 4).

The batch is checked through DuckDB, whose types are narrower than Arrow's; the
snapshot is written from the batch itself (gate/exact.py). Hypothesis draws random
Arrow schemas (decimals of any precision, zones, nested, dictionary, large types) and
values, publishes them from memory and from a Parquet file, and reads them back.
What Parquet cannot hold exactly is refused before anything is written.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from gate_helpers import dq
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import dqgate
from dqgate.errors import DataError
from dqgate.gate.ingest import ingest

CONTRACT = "dataset: ex\nversion: 1.0.0\nschema:\n  columns:\n    id: {type: int64, required: true}\n"


def _decimal(precision: int, scale: int) -> st.SearchStrategy[decimal.Decimal]:
    digits = st.integers(-(10 ** precision - 1), 10 ** precision - 1)
    return digits.map(lambda i: decimal.Decimal(i).scaleb(-scale, context=decimal.Context(prec=100)))


_TZ = [None, "UTC", "America/New_York", "+05:30"]
_TIMES = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))


@st.composite
def column(draw: st.DrawFn, depth: int = 0) -> tuple[pa.DataType, st.SearchStrategy]:
    """An Arrow type and a strategy for its Python values."""
    leaves: list[tuple[pa.DataType, st.SearchStrategy]] = [
        (pa.int8(), st.integers(-128, 127)),
        (pa.uint64(), st.integers(0, 2**64 - 1)),
        (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
        (pa.float32(), st.floats(width=32, allow_nan=False)),
        (pa.float64(), st.floats(allow_nan=False)),
        (pa.bool_(), st.booleans()),
        (pa.string(), st.text(max_size=5)),
        (pa.large_string(), st.text(max_size=5)),
        (pa.binary(), st.binary(max_size=5)),
        (pa.large_binary(), st.binary(max_size=5)),
        (pa.binary(3), st.binary(min_size=3, max_size=3)),
        (pa.date32(), st.dates()),
        (pa.time64("us"), st.times()),
        (pa.duration("ms"), st.timedeltas(min_value=dt.timedelta(days=-999), max_value=dt.timedelta(days=999)).map(lambda d: d - dt.timedelta(microseconds=d.microseconds))),
    ]
    precision = draw(st.integers(1, 76))
    scale = draw(st.integers(0, min(precision, 10)))
    decimal_type = pa.decimal128(precision, scale) if precision <= 38 and draw(st.booleans()) else pa.decimal256(precision, scale)
    leaves.append((decimal_type, _decimal(precision, scale)))
    unit, tz = draw(st.sampled_from(["ms", "us", "ns"])), draw(st.sampled_from(_TZ))
    leaves.append((pa.timestamp(unit, tz), _TIMES.map(lambda t, u=unit: t.replace(microsecond=t.microsecond // 1000 * 1000) if u == "ms" else t)))
    if depth == 0:  # pa.array() builds a dictionary nested in a struct that pyarrow's writer cannot write
        leaves.append((pa.dictionary(pa.int32(), pa.string()), st.sampled_from(["a", "b", "c"])))
    typ, values = draw(st.sampled_from(leaves))
    if depth < 2:
        kind = draw(st.sampled_from(["leaf", "leaf", "list", "large_list", "struct", "map"]))
        if kind in ("list", "large_list") and not pa.types.is_dictionary(typ):
            make = pa.list_ if kind == "list" else pa.large_list
            return make(typ), st.lists(st.one_of(st.none(), values), max_size=3)
        if kind == "struct" and not pa.types.is_dictionary(typ):
            inner, inner_values = draw(column(depth + 1))
            t = pa.struct([("a", typ), ("A", inner)])  # case-distinct field names survive too
            return t, st.fixed_dictionaries({"a": st.one_of(st.none(), values), "A": st.one_of(st.none(), inner_values)})
        if kind == "map" and not pa.types.is_dictionary(typ):
            return pa.map_(pa.string(), typ), st.dictionaries(st.text(max_size=3), st.one_of(st.none(), values), max_size=3).map(lambda d: list(d.items()))  # DuckDB refuses repeated keys
    return typ, values


@st.composite
def batches(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.integers(1, 6))
    cols = {"id": pa.array(range(rows), pa.int64())}
    for i in range(draw(st.integers(1, 4))):
        typ, values = draw(column())
        cols[f"c{i}"] = pa.array(draw(st.lists(st.one_of(st.none(), values), min_size=rows, max_size=rows)), typ)
    return pa.table(cols)


@settings(max_examples=20, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate), suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(table=batches(), from_file=st.booleans())
def test_published_snapshot_reads_back_equal_to_the_batch(tmp_path: Path, table: pa.Table, from_file: bool) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    contract = folder / "c.yaml"
    contract.write_text(CONTRACT)
    batch: object = table
    if from_file:
        pq.write_table(table, folder / "batch.parquet")
        batch = folder / "batch.parquet"
    got = ingest(str(contract), batch, str(folder / "store"))
    assert got.outcome == "published", got.summary()
    back = dqgate.open_snapshot(str(folder / "store"), "ex").to_arrow()
    assert back.schema.remove_metadata().equals(table.schema.remove_metadata()), (back.schema, table.schema)
    assert back.equals(table.replace_schema_metadata(back.schema.metadata))


def test_the_issue_decimal256_and_zone(tmp_path: Path, store: Path) -> None:
    """decimal256(60,2) declared `number` stays a decimal; America/New_York stays the zone."""
    value = decimal.Decimal("123456789012345678901234567890.12")
    table = pa.table({
        "id": pa.array([1, 2], pa.int64()),
        "amount": pa.array([value, -value], pa.decimal256(60, 2)),
        "ts": pa.array([dt.datetime(2024, 1, 1, 12), None], pa.timestamp("us", tz="America/New_York")),
    })  # fmt: skip
    pq.write_table(table, tmp_path / "b.parquet")
    contract = tmp_path / "c.yaml"
    contract.write_text(CONTRACT + "    amount: {type: number}\n    ts: {type: timestamp}\n")
    r = dq("ingest", contract, tmp_path / "b.parquet", "--store", store)
    assert r.returncode == 0, r.stderr
    back = dqgate.open_snapshot(str(store), "ex").to_arrow()
    assert back.schema.field("amount").type == pa.decimal256(60, 2)
    assert back.column("amount").to_pylist() == [value, -value]
    assert back.schema.field("ts").type == pa.timestamp("us", tz="America/New_York")


@pytest.mark.parametrize(
    ("typ", "values"),
    [
        (pa.date64(), [dt.date(2024, 1, 1)]),
        (pa.time32("s"), [dt.time(1, 2, 3)]),
        (pa.timestamp("s", tz="UTC"), [dt.datetime(2024, 1, 1)]),
        (pa.month_day_nano_interval(), [pa.MonthDayNano([1, 2, 3])]),
        (pa.dictionary(pa.int16(), pa.int64()), [5]),
    ],
)
def test_what_parquet_cannot_hold_exactly_is_refused_before_anything_is_written(tmp_path: Path, store: Path, typ: pa.DataType, values: list) -> None:
    table = pa.table({"id": pa.array([1], pa.int64()), "odd": pa.array(values, typ)})
    contract = tmp_path / "c.yaml"
    contract.write_text(CONTRACT)
    with pytest.raises(DataError, match="column 'odd' of type") as err:
        ingest(str(contract), table, str(store))
    assert "nothing was written" in str(err.value)
    assert not store.exists() or not any(f for _, _, fs in os.walk(store) for f in fs)


def test_duplicate_column_names_exit_2_at_check_time(tmp_path: Path, store: Path) -> None:
    pq.write_table(pa.table([pa.array([1, 2]), pa.array([3, 4])], names=["x", "x"]), tmp_path / "dup.parquet")
    contract = tmp_path / "c.yaml"
    contract.write_text("dataset: ex\nschema:\n  columns:\n    x: {type: int64}\n")
    for args in (("check", contract, "--data", tmp_path / "dup.parquet"), ("ingest", contract, tmp_path / "dup.parquet", "--store", store)):
        r = dq(*args)
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip().count("\n") == 0 and "column 'x' appears 2 times" in r.stderr
    assert not store.exists()


def test_a_list_column_is_published_not_a_traceback(tmp_path: Path, store: Path) -> None:
    pq.write_table(pa.table({"id": [1, 2], "tags": pa.array([[1, 2], [3]])}), tmp_path / "l.parquet")
    contract = tmp_path / "c.yaml"
    contract.write_text(CONTRACT)
    r = dq("ingest", contract, tmp_path / "l.parquet", "--store", store)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    back = dqgate.open_snapshot(str(store), "ex").to_arrow()
    assert back.column("tags").to_pylist() == [[1, 2], [3]]
    objects = [f for _, _, fs in os.walk(store / "ex" / "objects") for f in fs]
    assert len(objects) == 1  # no orphan


def test_quarantine_rows_publishes_the_kept_rows_exactly(tmp_path: Path, store: Path) -> None:
    value = decimal.Decimal("1234567890123456789012345678901234567890.5")
    table = pa.table({"id": pa.array([1, -1, 3], pa.int64()), "amount": pa.array([value, value, -value], pa.decimal256(50, 1))})
    pq.write_table(table, tmp_path / "b.parquet")
    contract = tmp_path / "c.yaml"
    contract.write_text(CONTRACT.replace("required: true}", "required: true, range: {min: 0}}") + "    amount: {type: number}\ngate:\n  on_failure: quarantine_rows\n")
    got = ingest(str(contract), str(tmp_path / "b.parquet"), str(store))
    assert got.outcome == "quarantined_rows", got.summary()
    back = dqgate.open_snapshot(str(store), "ex").to_arrow()
    assert back.schema.field("amount").type == pa.decimal256(50, 1)
    assert back.to_pylist() == [{"id": 1, "amount": value}, {"id": 3, "amount": -value}]


def test_a_folder_of_parquet_files_with_one_schema_is_published_exactly(tmp_path: Path, store: Path) -> None:
    value = decimal.Decimal("98765432109876543210987654321098765432109.5")
    typ = pa.decimal256(45, 1)
    folder = tmp_path / "batch"
    folder.mkdir()
    parts = [pa.table({"id": pa.array([i, i + 10], pa.int64()), "v": pa.array([value, -value], typ)}) for i in (1, 2)]
    for i, part in enumerate(parts):
        pq.write_table(part, folder / f"part-{i}.parquet")
    contract = tmp_path / "c.yaml"
    contract.write_text(CONTRACT)
    assert ingest(str(contract), str(folder), str(store)).outcome == "published"
    back = dqgate.open_snapshot(str(store), "ex").to_arrow()
    assert back.schema.field("v").type == typ
    assert back.to_pylist() == pa.concat_tables(parts).to_pylist()


def test_files_whose_union_changes_a_type_are_refused(tmp_path: Path, store: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    pq.write_table(pa.table({"id": pa.array([1], pa.int64()), "v": pa.array([1], pa.int32())}), folder / "a.parquet")
    pq.write_table(pa.table({"id": pa.array([2], pa.int64()), "v": pa.array([2], pa.int64())}), folder / "b.parquet")
    contract = tmp_path / "c.yaml"
    contract.write_text(CONTRACT)
    with pytest.raises(DataError, match="column 'v' is int32 in the file but the files of this batch read as int64"):
        ingest(str(contract), str(folder / "*.parquet"), str(store))
    assert not (store / "ex" / "versions").exists()
