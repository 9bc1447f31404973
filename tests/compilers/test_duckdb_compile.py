"""compilers/duckdb/: the IR becomes one fused, safe DuckDB statement.

Golden files (``tests/golden/duckdb/*.sql``) pin the SQL for small contracts: a
``-- title:``, the data's ``-- types:``, the ``-- contract:`` (commented YAML), then
the expected statement. Regenerate after a deliberate change with
``DQGATE_UPDATE_GOLDEN=1 pytest tests/compilers`` and review the diff. Every golden
statement is also run on DuckDB, so a golden file can never hold SQL that does not run.
"""

from __future__ import annotations

import datetime as dt
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
import yaml
from oracle import Oracle, sql_key
from sqlglot import exp

from dqgate.compilers import duckdb as compiler
from dqgate.contract import parse_contract
from dqgate.contract.sql import parse_expression, ref_view
from dqgate.errors import UnsupportedRule
from dqgate.ir import nodes as n
from dqgate.ir.plan import plan
from dqgate.runners.duckdb import register_formats

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "duckdb"
UPDATE = os.environ.get("DQGATE_UPDATE_GOLDEN") == "1"


@dataclass
class Golden:
    title: str
    types: dict[str, str]
    contract: str
    header: str
    sql: str


def _read(path: Path) -> Golden:
    header, body, contract_lines = [], [], []
    in_contract = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("--"):
            header.append(line)
            if line.startswith("-- contract:"):
                in_contract = True
            elif in_contract:
                contract_lines.append(line[2:])
        else:
            body.append(line)
    fields = {line[3:].split(":", 1)[0]: line[3:].split(":", 1)[1].strip() for line in header if ":" in line and not line.startswith("--  ")}
    return Golden(fields["title"], yaml.safe_load(fields["types"]), textwrap.dedent("\n".join(contract_lines)), "\n".join(header), "\n".join(body).strip())


CASES = sorted(p.stem for p in GOLDEN.glob("*.sql"))


@pytest.mark.parametrize("name", CASES)
def test_contract_compiles_to_its_golden_statement(name: str) -> None:
    path = GOLDEN / f"{name}.sql"
    golden = _read(path)
    contract = parse_contract(golden.contract, f"{name}.yaml")
    rules = plan(contract)
    compiled = compiler.compile_plan(rules, types=golden.types, key=contract.key_columns())
    if UPDATE:
        path.write_text(f"{golden.header}\n{compiled.sql}\n", encoding="utf-8")
        golden.sql = compiled.sql
    assert compiled.sql == golden.sql
    assert len(sqlglot.parse(compiled.sql, read="duckdb")) == 1  # one statement, nothing appended
    con = duckdb.connect()
    columns = ", ".join(f'{exp.to_identifier(c, quoted=True).sql("duckdb")} {t}' for c, t in golden.types.items())
    con.execute(f'CREATE TABLE "{compiler.SOURCE_VIEW}" ({columns})')
    for rule in rules:
        if isinstance(rule, n.Reference):
            con.execute(f'CREATE TABLE "{ref_view(rule.ref)}" ("{rule.ref_column}" {golden.types[rule.column]})')
    row = con.execute(compiled.sql).fetchone()
    assert row is not None and row[0] == 0  # runs, and sees the empty table


def test_every_golden_file_says_what_it_pins() -> None:
    assert len(CASES) >= 7
    assert all(_read(GOLDEN / f"{c}.sql").title for c in CASES)


def _run(contract_text: str, table_sql: str, rows: list[tuple[Any, ...]]) -> tuple[duckdb.DuckDBPyConnection, tuple[n.Rule, ...], Any]:
    contract = parse_contract(contract_text, "c.yaml")
    rules = plan(contract)
    con = duckdb.connect()
    con.execute(table_sql)
    if rows:
        con.executemany(f'INSERT INTO "{compiler.SOURCE_VIEW}" VALUES ({", ".join("?" * len(rows[0]))})', rows)
    types = {r[0]: r[1] for r in con.execute(f'DESCRIBE "{compiler.SOURCE_VIEW}"').fetchall()}
    return con, rules, types


def test_a_column_name_cannot_break_out_of_its_quotes() -> None:
    evil = 'x"; DROP TABLE keep; --'
    text = yaml.safe_dump({"dataset": "t", "schema": {"columns": {evil: {"type": "int64", "required": True, "range": {"min": 0}, "unique": True}}},
                           "checks": [{"expect": '"x""; DROP TABLE keep; --" > 1'}, {"metric": 'max("x""; DROP TABLE keep; --")'}]})  # fmt: skip
    con, rules, types = _run(text, 'CREATE TABLE "__dq_data" ("x""; DROP TABLE keep; --" BIGINT)', [(1,), (1,), (-3,), (None,)])
    con.execute("CREATE TABLE keep (k INT)")
    compiled = compiler.compile_plan(rules, types=types)
    cur = con.execute(compiled.sql)
    named = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    assert con.execute("SELECT count(*) FROM keep").fetchone() == (0,)  # still there
    got = {rid: tuple(named[o] for o in outs[:2]) for rid, outs in compiled.outputs.items()}
    assert got[f"{evil}.required"] == (1, 4)
    assert got[f"{evil}.range"] == (1, 3)
    assert got[f"{evil}.unique"] == (2, 3)
    assert got["checks[0].expect"] == (3, 4)
    assert got[f"max({evil})"] == (1,)


def test_a_rule_kind_without_a_handler_is_refused_not_skipped() -> None:
    @n.rule_class
    class Mystery(n.RowRule):
        kind = "mystery"

    with pytest.raises(UnsupportedRule, match="engine 'duckdb' cannot run rule 'x.mystery'"):
        compiler.compile_plan((Mystery(id="x.mystery", columns=("x",)),), types={"x": "BIGINT"})


@pytest.mark.parametrize(
    "value",
    [0, -7, 2**53 + 1, 0.1, -2.5, 1e-20, 12345.678, 1e300, True, False, "it's", "日本", dt.date(2024, 2, 29), dt.datetime(2024, 1, 5, 6, 7, 8, 123456)],
)
def test_literals_round_trip_through_duckdb(value: Any) -> None:
    sql = exp.select(compiler.literal(value)).sql("duckdb")
    (got,) = duckdb.connect().execute(sql).fetchone()  # type: ignore[misc]
    if isinstance(value, float):
        got = float(got)  # a decimal literal (exact) or a double, compared as the column's type
    assert got == value and type(got) is type(value)


def test_count_if_over_no_rows_is_zero_not_null() -> None:
    assert compiler.zero_for_empty(parse_expression("count_if(a > 1) + sum(a)")).sql("duckdb") == "COALESCE(COUNT_IF(a > 1), 0) + SUM(a)"
    assert compiler.zero_for_empty(parse_expression("count_if(a) FILTER (WHERE b)")).sql("duckdb") == "COALESCE(COUNT_IF(a) FILTER(WHERE b), 0)"
    assert compiler.zero_for_empty(parse_expression("count_if(a) OVER ()")).sql("duckdb") == "COUNT_IF(a) OVER ()"
    text = "dataset: t\nschema:\n  columns:\n    a: {type: int64}\nchecks:\n  - {metric: null_count(a)}\n  - {metric: count_if(a > 1)}\n"
    con, rules, types = _run(text, 'CREATE TABLE "__dq_data" (a BIGINT)', [])
    values = con.execute(compiler.compile_plan(rules, types=types).sql).fetchone()
    assert values == (0, 0, 0)


FLAG_TABLE = 'CREATE TABLE "__dq_data" (id BIGINT, a BIGINT, s VARCHAR, "my col" DOUBLE)'
FLAG_ROWS = [(1, 5, "ab", 0.5), (2, 5, "a@b.co", None), (3, None, "ab", 2.0), (4, -1, None, -3.0), (4, 7, "zz", 1.0), (None, 5, "ab", 0.5)]
FLAG_CONTRACT = """
dataset: t
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    a: {type: int64, range: {min: 0, max: 6}, in: [5, 7], where: '"my col" > 0'}
    s: {type: string, pattern: '[a-z]+', length: {max: 2}, format: email, references: ref.s}
    my col: {type: float64, range: {min: -1, max: 1, exclusive: true}, mostly: 0.5}
  unique: [[a, s]]
checks:
  - expect: '"my col" * 2 > a'
    where: s IS NOT NULL
references:
  ref: ref.parquet
"""


def test_row_flags_mark_exactly_the_rows_the_oracle_fails() -> None:
    con, rules, types = _run(FLAG_CONTRACT, FLAG_TABLE, FLAG_ROWS)
    con.execute(f'CREATE TABLE "{ref_view("ref")}" AS SELECT * FROM (VALUES (\'ab\'), (NULL)) r(s)')
    statement, ids = compiler.row_flags(rules, types=types)
    register_formats(con, ("email",))
    cur = con.execute(statement.sql("duckdb"))
    flag_of = {compiler.flag_column(k): rule_id for k, rule_id in enumerate(ids)}  # flags are named by position
    names = [flag_of.get(d[0], d[0]) for d in cur.description]
    by_row = {r[:4]: dict(zip(names, r)) for r in cur.fetchall()}  # a window may reorder the rows
    flagged = [by_row[r] for r in FLAG_ROWS]
    rows = [dict(zip(["id", "a", "s", "my col"], r)) for r in FLAG_ROWS]
    cols = ["id", "a", "s", "my col"]
    oracle = Oracle(
        rows,
        row_exprs={sql_key('"my col" > 0', cols, aggregate=False): lambda r: None if r["my col"] is None else r["my col"] > 0,
                   sql_key("s IS NOT NULL", cols, aggregate=False): lambda r: r["s"] is not None,
                   sql_key('"my col" * 2 > a', cols, aggregate=False): lambda r: None if None in (r["my col"], r["a"]) else r["my col"] * 2 > r["a"]},
        refs={"ref": [{"s": "ab"}, {"s": None}]},
    )  # fmt: skip
    row_rules = [r for r in rules if isinstance(r, n.RowRule)]
    assert list(ids) == [r.id for r in row_rules]
    for rule in row_rules:
        assert [f[rule.id] for f in flagged] == oracle.flags(rule), rule.id
    assert any(any(f[i] for f in flagged) for i in ids) and not all(all(f[i] for f in flagged) for i in ids)
