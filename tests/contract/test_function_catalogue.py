"""`dq lint` knows DuckDB's functions and their argument counts without importing DuckDB:
the checked-in catalogue agrees with the installed DuckDB's binder, and lint uses it."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import duckdb
import pytest

from dqgate.contract import parse_contract
from dqgate.contract.functions import calls, catalogue
from dqgate.errors import ContractError

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # scripts/ is not a package
    spec = importlib.util.spec_from_file_location("gen_duckdb_functions", ROOT / "scripts" / "gen_duckdb_functions.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_catalogue_names_the_installed_duckdbs_functions() -> None:
    gen = _generator()
    known, most = catalogue()
    con = duckdb.connect()
    listed = {r[0] for r in con.execute(
        "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type IN ('scalar', 'aggregate', 'macro')"
    ).fetchall()}  # fmt: skip
    callable_names = {n for n in listed if n.isidentifier() and not n.startswith("__")}
    assert set(known) - set(gen.SPECIAL_FORMS) <= callable_names  # nothing invented
    missing = callable_names - set(known)
    assert len(missing) <= 0.02 * len(callable_names), sorted(missing)[:20]  # only functions no count binds
    # argument counts: what the binder of this DuckDB accepts, on a random sample of names
    rng = random.Random(13)
    for name in rng.sample(sorted(known), 60):
        kind = con.execute("SELECT any_value(function_type) FROM duckdb_functions() WHERE function_name = ?", [name]).fetchone()[0] or "scalar"
        assert tuple(gen.accepted_counts(con, name, kind)) == known[name], name
    assert most == gen.MAX_ARGS


def test_calls_are_read_as_written() -> None:
    got = calls("lenght(a) > 0 AND round(x, 1, 2) = count(*) FILTER (WHERE f(g(1, 2))) AND s.h(1) AND now() IS NOT NULL")
    assert [(c.name, c.args) for c in got] == [("lenght", 1), ("round", 3), ("count", 1), ("f", 1), ("g", 2), ("now", 0)]


CONTRACT = """\
dataset: wine
schema:
  columns:
    cultivar: {type: string}
    hue: {type: float64}
checks:
  - expect: "EXPR"
"""


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("lenght(cultivar) > 0", "unknown function 'lenght'. Did you mean 'length'?"),
        ("round(hue, 1, 2) > 0", "function 'round' takes 1 or 2 arguments, not 3"),
        ("jaro_similarity(cultivar) > 0", "function 'jaro_similarity' takes 2 or 3 arguments, not 1"),
        ("nosuchfunctionatall(hue)", "unknown function 'nosuchfunctionatall' (not a DuckDB function)"),
    ],
)
def test_lint_refuses_unknown_functions_and_wrong_argument_counts(expr: str, message: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_contract(CONTRACT.replace("EXPR", expr), "wine.yaml")
    assert info.value.problems == (f'wine.yaml:7:5: expect "{expr}": {message}',)


@pytest.mark.parametrize("expr", [
    "length(cultivar) > 0", "json_serialize_sql('SELECT 1') <> ''", "coalesce(hue, 0, 1) >= 0",
    "CAST(hue AS INTEGER) = 1", "concat(cultivar, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h') <> ''",
    "hamming(cultivar, 'a') >= 0", "regexp_matches(cultivar, '^a')",
])  # fmt: skip
def test_lint_accepts_what_duckdb_binds(expr: str) -> None:
    parse_contract(CONTRACT.replace("EXPR", expr), "wine.yaml")
    con = duckdb.connect()
    con.execute("CREATE TABLE t (cultivar VARCHAR, hue DOUBLE)")
    con.execute(f"SELECT count(*) FILTER (WHERE {expr}) FROM t").fetchall()  # a test's own probe, not dqgate SQL


def test_lint_refuses_nan_bounds() -> None:
    text = "dataset: x\nschema:\n  columns:\n    a: {type: float64, range: {min: .nan, max: 3}}\nchecks:\n  - metric: mean(a)\n    max: .NaN\n"
    with pytest.raises(ContractError) as info:
        parse_contract(text, "nan.yaml")
    assert [p.split(": ", 1)[0] for p in info.value.problems] == ["nan.yaml:4:32", "nan.yaml:7:5"]
    assert all("NaN is not a usable value" in p for p in info.value.problems)
