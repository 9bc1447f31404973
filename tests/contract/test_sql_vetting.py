"""contract/sql.py: user SQL is one safe expression over declared columns, or it is refused.

Every refused fragment is also tried in a real contract, as ``expect``, ``where`` and
``metric``, so no route around the vetting exists.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from dqgate.contract import parse_contract
from dqgate.contract.sql import SqlProblem, ref_view, vet
from dqgate.errors import ContractError

COLUMNS = {"x": "x", "dep_delay": "dep_delay", "höhe": "höhe", "it's": "it's", "select": "select", "my col": "my col"}

INJECTIONS = {
    "x > 1; DROP TABLE t": "expected one SQL expression, found 2 statements (';' is not allowed)",
    "COPY t TO 'x.csv'": "'COPY' statements are not allowed; write an expression over columns",
    "read_csv('/etc/passwd') IS NOT NULL": "function 'read_csv' reaches outside the data and is not allowed",
    "ATTACH 'x.db'": "'ATTACH' statements are not allowed; write an expression over columns",
    "INSTALL httpfs": "'INSTALL' statements are not allowed; write an expression over columns",
    "LOAD httpfs": "'LOAD' statements are not allowed; write an expression over columns",
    "PRAGMA version": "'PRAGMA' statements are not allowed; write an expression over columns",
    "SET threads=1": "'SET' statements are not allowed; write an expression over columns",
    "getenv('HOME') = 'x'": "function 'getenv' reaches outside the data and is not allowed",
    "(SELECT 1 FROM read_parquet('a')) = 1": "a subquery may only read a dataset declared under 'references:'",
    "$1 > 2": "parameter '$1' is not allowed; write the value into the expression",
    "x > ?": "parameter '?' is not allowed; write the value into the expression",
    "x IN (SELECT x FROM t)": "unknown dataset 't' in a subquery (declare it under 'references:')",
    "x IN (SELECT x FROM main.other)": "a subquery may only read a dataset declared under 'references:'",
    "current_setting('threads') = '1'": "function 'current_setting' reaches outside the data and is not allowed",
    "query('SELECT 1') IS NULL": "function 'query' reaches outside the data and is not allowed",
    "glob('*') IS NULL": "function 'glob' reaches outside the data and is not allowed",
    "read_text('/etc/passwd') IS NULL": "function 'read_text' reaches outside the data and is not allowed",
    "parquet_metadata('a') IS NULL": "function 'parquet_metadata' reaches outside the data and is not allowed",
    "x IN (SELECT x FROM read_csv_auto('x'))": "a subquery may only read a dataset declared under 'references:'",
    "SELECT x FROM t": "a query (SELECT) is not allowed; write an expression over columns",
    "x > 1 UNION SELECT 1": "a query (UNION) is not allowed; write an expression over columns",
    "CREATE TABLE t (a INT)": "'CREATE' statements are not allowed; write an expression over columns",
    "DELETE FROM t": "'DELETE' statements are not allowed; write an expression over columns",
    "x = 'unterminated": "invalid SQL: cannot split it into tokens (an unclosed quote?)",
    "x >": "invalid SQL at column 3: the expression is incomplete",
    "t.x > 1": "qualified column 't.x' is not allowed; name the column alone",
}


@pytest.mark.parametrize("text", list(INJECTIONS))
def test_unsafe_or_broken_sql_is_refused_with_a_clear_reason(text: str) -> None:
    with pytest.raises(SqlProblem) as info:
        vet(text, columns=COLUMNS, aggregate=False)
    assert str(info.value) == INJECTIONS[text]


@pytest.mark.parametrize("field", ["expect", "where", "metric"])
@pytest.mark.parametrize("text", list(INJECTIONS))
def test_unsafe_sql_is_refused_wherever_a_contract_carries_sql(text: str, field: str) -> None:
    check = {"expect": {"expect": text}, "where": {"expect": "x > 0", "where": text}, "metric": {"metric": text}}[field]
    contract = {"dataset": "t", "schema": {"columns": {"x": {"type": "int64"}}}, "checks": [check]}
    with pytest.raises(ContractError) as info:
        parse_contract(json.dumps(contract), "c.yaml")
    assert str(info.value).startswith(f"c.yaml:1:") and f"{field} \"" in str(info.value)


def test_vetted_sql_names_declared_columns_quoted_in_their_declared_spelling() -> None:
    frag = vet('x >= "dep_delay" - 3 AND "höhe" <> \'\'', columns=COLUMNS, aggregate=False)
    assert frag.sql == '"x" >= "dep_delay" - 3 AND "höhe" <> \'\''
    assert sorted(frag.columns) == ["dep_delay", "höhe", "x"] and not frag.is_aggregate
    with pytest.raises(SqlProblem, match="unknown column 'X'. Did you mean 'x'"):  # names match exactly
        vet("X >= 1", columns=COLUMNS, aggregate=False)


def test_quoted_awkward_names_and_keywords_are_columns() -> None:
    frag = vet('"it\'s" > 1 AND "select" IS NOT NULL AND "my col" = 2', columns=COLUMNS, aggregate=False)

    con = duckdb.connect()
    con.execute('CREATE TABLE t ("it\'s" INT, "select" INT, "my col" INT)')
    con.execute("INSERT INTO t VALUES (2, 1, 2), (0, 1, 2)")
    assert con.execute(f"SELECT count(*) FROM t WHERE {frag.sql}").fetchone() == (1,)


def test_a_metric_must_aggregate_and_a_row_expression_must_not() -> None:
    assert vet("count(*) FILTER (WHERE x > 0)", columns=COLUMNS, aggregate=True).is_aggregate
    assert vet("sum(x) - min(x)", columns=COLUMNS, aggregate=True).columns == ("x",)
    with pytest.raises(SqlProblem, match="a metric must be an aggregate expression"):
        vet("x * 2", columns=COLUMNS, aggregate=True)
    with pytest.raises(SqlProblem, match="aggregate functions are not allowed in a row-level expression; use 'metric:'"):
        vet("x > avg(x)", columns=COLUMNS, aggregate=False)
    with pytest.raises(SqlProblem, match="window functions are not allowed in a row-level expression"):
        vet("x > lag(x) OVER (ORDER BY x)", columns=COLUMNS, aggregate=False)


def test_an_unknown_column_gets_a_suggestion_or_the_list_of_columns() -> None:
    with pytest.raises(SqlProblem, match=r"^unknown column 'dep_dealy'. Did you mean 'dep_delay'\?$"):
        vet("dep_dealy > 0", columns=COLUMNS, aggregate=False)
    with pytest.raises(SqlProblem, match=r"^unknown column 'origin' \(columns: a, b\)$"):
        vet("origin = 'JFK'", columns={"a": "a", "b": "b"}, aggregate=False)


def test_a_subquery_may_read_a_declared_reference_under_its_view_name() -> None:
    frag = vet("x IN (SELECT code FROM airports)", columns=COLUMNS, references=("airports",), aggregate=False)
    assert f'"{ref_view("airports")}"' in frag.sql
    assert frag.columns == ("x",)  # the reference's own columns are not the data's
    # 'A' and 'a' are two datasets, and DuckDB's case-insensitive views keep them apart
    upper = vet("x IN (SELECT code FROM A)", columns=COLUMNS, references=("A", "a"), aggregate=False)
    lower = vet("x IN (SELECT code FROM a)", columns=COLUMNS, references=("A", "a"), aggregate=False)
    assert ref_view("A").lower() != ref_view("a").lower()
    assert f'"{ref_view("A")}"' in upper.sql and f'"{ref_view("a")}"' in lower.sql
    assert "'" not in ref_view("it's")


def test_comments_and_harmless_scalar_subqueries_are_allowed() -> None:
    assert vet("x > 1 -- a comment", columns=COLUMNS, aggregate=False).columns == ("x",)
    assert vet("x > (SELECT 1)", columns=COLUMNS, aggregate=False).sql == '"x" > (SELECT 1)'


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_sql_is_refused(text: str) -> None:
    with pytest.raises(SqlProblem, match="empty SQL expression"):
        vet(text, columns=COLUMNS, aggregate=False)
