"""Columns whose names differ only in case are checked exactly, each against its own data, on every engine.

Issue #12: a data file with both a column ``a`` and a column ``A`` failed on DuckDB,
whose identifiers are case-insensitive. Random contracts over such columns (case
pairs, quotes, spaces, unicode) must agree with the plain-Python oracle, on an
Arrow table and on the same rows in Parquet, as the other parity tests do.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import Oracle, sql_key
from random_contracts import AS_OF, CASED, TYPES, ContractBuilder, arrow_table, named, ref_rows, rows
from test_duckdb_oracle import _write, assert_matches

import dqgate
from dqgate.contract import load_contract
from dqgate.ir.plan import plan

SETTINGS = settings(max_examples=int(os.environ.get("DQGATE_PARITY_EXAMPLES", "25")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(data=st.data())
def test_case_pairs_agree_with_the_oracle(engine: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    names = CASED
    table_rows = data.draw(rows(), label="rows")
    refs = data.draw(ref_rows(), label="ref")
    extra = data.draw(st.booleans(), label="undeclared column")
    ref_path = folder / "ref.parquet"
    pq.write_table(pa.table({"code": pa.array([r["code"] for r in refs], pa.int64()), "name": pa.array([r["name"] for r in refs], pa.string())}), ref_path)
    builder = ContractBuilder(data.draw, names, str(ref_path))
    contract_path = _write(folder, builder.contract())
    rules = plan(load_contract(str(contract_path)))
    columns = [names[r] for r in TYPES]
    oracle = Oracle(
        named(table_rows, names),
        row_exprs={sql_key(t.render(names), columns, aggregate=False): t.row_fn(names) for t in builder.row_templates},
        aggregates={sql_key(t.render(names), columns, aggregate=True): t.agg_fn(names) for t in builder.agg_templates},
        refs={"ref": refs},
        as_of=AS_OF,
        data_columns=[*columns, *(["undeclared"] if extra else [])],
    )
    expected = oracle.evaluate(rules)
    table = arrow_table(table_rows, names, extra)
    parquet = folder / "data.parquet"
    pq.write_table(table, parquet)
    for data_arg in (table, str(parquet)):
        result = dqgate.check(data_arg, str(contract_path), engine=engine, as_of=AS_OF)
        assert_matches(result, expected, rules, named(table_rows, names))
