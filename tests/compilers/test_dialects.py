"""One contract, every SQL dialect: golden statements, and refusals named per engine.

``tests/golden/dialects/<engine>.sql`` pins the statement ``dq explain --engine`` prints
for ``contract.yaml`` (DQGATE_UPDATE_GOLDEN=1 rewrites them after a deliberate change).
Snowflake, BigQuery and Trino are compiled only: their files are what a person would
run by hand, parsed back here by sqlglot in their dialect, never run against a server.
What a dialect cannot run exactly is refused with UnsupportedRule naming the rule.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest
import sqlglot

from dqgate.compilers.dialects import NAMES, dialect
from dqgate.compilers.duckdb import compile_plan
from dqgate.contract import load_contract, parse_contract
from dqgate.errors import UnsupportedRule
from dqgate.ir.plan import plan

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "dialects"
UPDATE = os.environ.get("DQGATE_UPDATE_GOLDEN") == "1"
TYPES = {"id": "BIGINT", "amount": "DOUBLE", "status": "VARCHAR", "Created At": "TIMESTAMP"}


@pytest.mark.parametrize("sql_engine", NAMES)
def test_each_dialect_compiles_the_contract_to_its_golden_statement(sql_engine: str) -> None:
    engine = sql_engine
    contract = load_contract(str(GOLDEN / "contract.yaml"))
    compiled = compile_plan(plan(contract), types=TYPES, key=contract.key_columns(), dialect=dialect(engine))
    path = GOLDEN / f"{engine}.sql"
    if UPDATE:
        path.write_text(compiled.sql + "\n", encoding="utf-8")
    assert compiled.sql + "\n" == path.read_text(encoding="utf-8")
    assert len(sqlglot.parse(compiled.sql, read=dialect(engine).sqlglot)) == 1  # one statement, in that dialect


def test_the_dialects_differ_where_their_engines_do() -> None:
    text = {e: (GOLDEN / f"{e}.sql").read_text(encoding="utf-8") for e in NAMES}
    assert "COUNT_IF(" in text["duckdb"] and "COUNT_IF(" not in text["postgres"]
    assert "COUNT(*) FILTER(WHERE" in text["postgres"]  # 0 over no rows, as count_if on DuckDB
    assert "JSON_AGG(JSON_BUILD_OBJECT(" in text["postgres"] and "LIST({" in text["duckdb"]
    assert "MAX_BY(STRUCT(" in text["spark"] and "OBJECT_CONSTRUCT(" in text["snowflake"]  # Spark: k samples in the counting job
    assert '"Created At"' in text["postgres"] and "`Created At`" in text["spark"] and "`Created At`" in text["bigquery"]


RULES = {
    "pattern": "    s: {type: string, pattern: '[a-z]+@x\\.com'}",
    "email": "    s: {type: string, format: email}",
    "url": "    s: {type: string, format: url}",
    "median": "    x: {type: float64}\nchecks:\n  - {metric: median(x), max: 1}",
}
# engine -> the rules it refuses (UnsupportedRule), of RULES
REFUSED = {
    "duckdb": set(),
    "postgres": {"url"},
    "spark": set(),  # patterns as anchored RLIKE, formats through the kernels as Arrow UDFs
    "snowflake": {"pattern", "email", "url"},
    "bigquery": {"email", "url", "median"},
    "trino": {"pattern", "email", "url", "median"},
}


@pytest.mark.parametrize("sql_engine", NAMES)
def test_each_dialect_refuses_by_name_what_it_cannot_run_exactly(sql_engine: str) -> None:
    engine = sql_engine
    refused = set()
    for name, columns in RULES.items():
        contract = parse_contract(f"dataset: t\nschema:\n  columns:\n{columns}\n", "c.yaml")
        try:
            compile_plan(plan(contract), types={}, dialect=dialect(engine))
        except UnsupportedRule as exc:
            assert str(exc).startswith(f"engine '{engine}' cannot run rule '"), exc
            refused.add(name)
    assert refused == REFUSED[engine]


def test_dq_explain_prints_each_engines_statement(run_cli: Callable[..., tuple[int, str, str]]) -> None:
    for engine in NAMES:
        code, out, _ = run_cli("explain", GOLDEN / "contract.yaml", "--engine", engine)
        assert code == 0 and f"one statement, {engine})" in out
        assert ("compiled only" in out) == (engine in ("snowflake", "bigquery", "trino"))
    code, _, err = run_cli("explain", GOLDEN / "contract.yaml", "--engine", "oracle")
    assert code == 2 and "unknown SQL engine 'oracle' (choose from duckdb, postgres, spark" in err
