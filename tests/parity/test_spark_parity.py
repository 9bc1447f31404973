"""DuckDB == Spark == the plain-Python oracle on random tables and random contracts.

The contracts come from ``random_contracts.py`` (every rule kind and modifier Spark
runs, NULLs, awkward identifiers, references, composite keys), plus SQL fragments
beyond the oracle's templates where both engines must agree with each other. Counts
are exact, metrics within 1e-9; Spark reads the Parquet file itself, or is handed a
Spark DataFrame. Each example is a few Spark jobs on the shared local[2] session
(conftest.py), so there are few of them (DQGATE_SPARK_EXAMPLES for a long hunt).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from oracle import Oracle, quote, sql_key
from random_contracts import AS_OF, AWKWARD, PLAIN, TYPES, ContractBuilder, arrow_table, named, ref_rows, rows
from test_duckdb_oracle import assert_matches
from test_engines import assert_same

import dqgate
from dqgate.contract import load_contract
from dqgate.ir.plan import plan

SETTINGS = settings(
    max_examples=int(os.environ.get("DQGATE_SPARK_EXAMPLES", "12")),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: each step is a Spark job; the failing draw is printed whole
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# SQL the oracle has no template for, in DuckDB's spelling: Spark must mean the same.
EXTRA_ROW_SQL = (
    "regexp_full_match({S}, '\\w+')",
    "regexp_matches({S}, '^[^\\s]+$')",
    "{S} ILIKE 'A%'",
    "{I} IS DISTINCT FROM 2",
    "CASE WHEN {I} > 0 THEN {F} ELSE -{F} END >= 0",
    "greatest({I}, {J}) < 5",
    "{T} >= '2024-01-05'",
    "{D} < '2024-01-10'",
    "{I} NOT IN (1, 3)",
)
EXTRA_AGG_SQL = (
    "quantile_cont({F}, 0.37)",
    "median({I})",
    "stddev_samp({F})",
    "sum({F}) FILTER (WHERE {B})",
    "count({I}) / count(*)",
)


def _write(folder: Path, contract: dict[str, Any]) -> Path:
    path = folder / "contract.yaml"
    path.write_text(yaml.safe_dump(contract, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@SETTINGS
@given(data=st.data())
def test_duckdb_spark_and_the_oracle_agree_on_random_contracts(spark: Any, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    names = data.draw(st.sampled_from([PLAIN, AWKWARD]), label="names")
    table_rows = data.draw(rows(), label="rows")
    refs = data.draw(ref_rows(), label="ref")
    extra = data.draw(st.booleans(), label="undeclared column")
    ref_path = folder / "ref.parquet"
    pq.write_table(pa.table({"code": pa.array([r["code"] for r in refs], pa.int64()), "name": pa.array([r["name"] for r in refs], pa.string())}), ref_path)

    builder = ContractBuilder(data.draw, names, str(ref_path))
    contract = builder.contract()
    oracle_path = _write(folder, contract)
    rules = plan(load_contract(str(oracle_path)))
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
    parquet = folder / "data.parquet"
    pq.write_table(arrow_table(table_rows, names, extra), parquet)
    frame = data.draw(st.booleans(), label="spark DataFrame")
    spark_data: Any = spark.read.parquet(str(parquet)) if frame else str(parquet)

    # 1. Both engines against the oracle, on the rules it models.
    duck = dqgate.check(str(parquet), str(oracle_path), engine="duckdb", as_of=AS_OF)
    on_spark = dqgate.check(spark_data, str(oracle_path), engine="spark", as_of=AS_OF)
    assert on_spark.engine == "spark"
    assert_matches(duck, expected, rules, named(table_rows, names))
    assert_matches(on_spark, expected, rules, named(table_rows, names))
    assert_same(duck, on_spark)

    # 2. SQL in DuckDB's spelling the oracle does not model: the engines are each other's oracle.
    quoted = {role: quote(name) for role, name in names.items()}
    more = [{"expect": t.format(**quoted)} for t in data.draw(st.lists(st.sampled_from(EXTRA_ROW_SQL), max_size=3, unique=True), label="expect")]
    more += [{"metric": t.format(**quoted), "max": 3} for t in data.draw(st.lists(st.sampled_from(EXTRA_AGG_SQL), max_size=2, unique=True), label="metric")]
    if more:
        wider = _write(folder, {**contract, "checks": [*contract["checks"], *more]})
        duck = dqgate.check(str(parquet), str(wider), engine="duckdb", as_of=AS_OF)
        assert_same(duck, dqgate.check(spark_data, str(wider), engine="spark", as_of=AS_OF))
