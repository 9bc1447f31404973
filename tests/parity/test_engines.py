"""DuckDB and Polars give the same results on random tables and random contracts.

The contracts come from ``random_contracts.py`` (every rule kind and modifier), plus
SQL fragments beyond the oracle's templates (regexes with Perl classes, literals
compared with typed columns, CASE, DISTINCT FROM, FILTER, quantiles...), and the
tables may hold NaN, which the oracle does not model: here the engines are each
other's oracle (DuckDB on Arrow data then: its Parquet reader compares NaN differently). Counts must be equal, metrics within 1e-9 relative, statuses and
messages equal; Polars is run on the Parquet file and on an in-memory frame.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import quote
from random_contracts import AS_OF, AWKWARD, PLAIN, ContractBuilder, arrow_table, ref_rows, rows

import dqgate
from dqgate.runners.results import CheckResult, RunResult

SETTINGS = settings(
    max_examples=int(os.environ.get("DQGATE_PARITY_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Row-level SQL whose spelling differs between the engines (DuckDB reads it as written).
EXTRA_ROW_SQL = (
    "regexp_matches({S}, '\\d')",
    "regexp_full_match({S}, '\\w+')",
    "regexp_matches({S}, '^[^\\s]+$')",
    "{S} ILIKE 'A%'",
    "{S} NOT LIKE '_b%'",
    "{I} IS DISTINCT FROM 2",
    "CASE WHEN {I} > 0 THEN {F} ELSE -{F} END >= 0",
    "nullif({I}, 1) > 0",
    "greatest({I}, {J}) < 5",
    "abs({F}) <= 2.5",
    "{T} >= '2024-01-05'",
    "{D} < '2024-01-10'",
    "{F} / 0.5 < {J}",
    "CAST({I} AS DOUBLE) / 4 > 0.25",
    "starts_with({S}, 'a')",
    "{S} || 'x' = 'ax'",
    "EXTRACT(day FROM {D}) > 5",
    "{I} NOT IN (1, 3)",
    "{F} NOT BETWEEN 0 AND 1",
)
EXTRA_AGG_SQL = (
    "stddev_samp({F})",
    "quantile_cont({F}, 0.37)",
    "median({I})",
    "max({F})",
    "min({F})",
    "max({T})",
    "sum({F}) FILTER (WHERE {B})",
    "avg({I}) + 1",
    "count({I}) / count(*)",
    "var_samp({J})",
    "sum({J}) FILTER (WHERE {S} LIKE 'a%')",
)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def assert_same(duck: RunResult, polars: RunResult) -> None:
    """Every check agrees: counts, observed values, statuses, messages and sample sizes."""
    assert [c.id for c in duck.checks] == [c.id for c in polars.checks]
    assert (duck.status, duck.rows) == (polars.status, polars.rows)
    for d, p in zip(duck.checks, polars.checks):
        where = f"{d.id}:\nduckdb {d}\npolars {p}"
        assert d.status == p.status, where
        assert (d.failed_rows, d.total_rows) == (p.failed_rows, p.total_rows), where
        assert _close(d.observed, p.observed), where
        if not isinstance(d.observed, float):
            assert d.message == p.message, where
        assert len(d.sample) == len(p.sample), where
        assert _same_threshold(d, p), where


def _same_threshold(d: CheckResult, p: CheckResult) -> bool:
    return d.threshold == p.threshold and (d.rule, d.columns, d.severity, d.line) == (p.rule, p.columns, p.severity, p.line)


def _with_nans(table: pa.Table, column: str, flags: list[bool]) -> pa.Table:
    values = [float("nan") if nan and v is not None else v for v, nan in zip(table[column].to_pylist(), flags)]
    return table.set_column(table.schema.get_field_index(column), column, pa.array(values, pa.float64()))


@SETTINGS
@given(data=st.data())
def test_duckdb_and_polars_agree_on_random_contracts(data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    names = data.draw(st.sampled_from([PLAIN, AWKWARD]), label="names")
    table_rows = data.draw(rows(), label="rows")
    refs = data.draw(ref_rows(), label="ref")
    ref_path = folder / "ref.parquet"
    ref_table = pa.table({"code": pa.array([r["code"] for r in refs], pa.int64()), "name": pa.array([r["name"] for r in refs], pa.string())})
    pq.write_table(ref_table, ref_path)

    contract = ContractBuilder(data.draw, names, str(ref_path)).contract()
    quoted = {role: quote(name) for role, name in names.items()}
    for text in data.draw(st.lists(st.sampled_from(EXTRA_ROW_SQL), max_size=3, unique=True), label="extra expect"):
        check: dict[str, Any] = {"expect": text.format(**quoted)}
        if data.draw(st.booleans(), label="mostly"):
            check["mostly"] = 0.5
        contract["checks"].append(check)
    for text in data.draw(st.lists(st.sampled_from(EXTRA_AGG_SQL), max_size=3, unique=True), label="extra metric"):
        metric: dict[str, Any] = {"metric": text.format(**quoted), "max": data.draw(st.integers(-2, 10), label="max")}
        if "{T}" in text:  # a timestamp metric takes an instant bound (contract/check.py refuses a number)
            metric["max"] = data.draw(st.sampled_from(["2024-01-10 12:00:00", "now-1w", "2024-01-20"]), label="instant max")
        if data.draw(st.booleans(), label="metric where"):
            metric["where"] = f"{quoted['I']} > 0"
        contract["checks"].append(metric)
    path = folder / "contract.yaml"
    path.write_text(yaml.safe_dump(contract, sort_keys=False, allow_unicode=True), encoding="utf-8")

    table = arrow_table(table_rows, names, data.draw(st.booleans(), label="undeclared column"))
    nan = data.draw(st.booleans(), label="nan")
    if nan:
        table = _with_nans(table, names["F"], data.draw(st.lists(st.booleans(), min_size=len(table_rows), max_size=len(table_rows))))
    parquet = folder / "data.parquet"
    pq.write_table(table, parquet)

    # DuckDB 2.0.1 compares NaN differently when it reads Parquet ('nan' < 54.75 is true there,
    # false on Arrow data, where NaN is the largest double as documented): with NaN, DuckDB reads Arrow.
    duck = dqgate.check(table if nan else str(parquet), str(path), engine="duckdb", as_of=AS_OF, allow_empty=True)
    frame = pl.DataFrame(pl.from_arrow(table)) if data.draw(st.booleans(), label="in-memory frame") else str(parquet)
    polars = dqgate.check(frame, str(path), engine="polars", as_of=AS_OF, allow_empty=True)
    assert polars.engine == "polars"
    assert_same(duck, polars)
