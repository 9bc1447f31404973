"""Engines against the plain-Python oracle, on random tables and random contracts.

Every rule kind and modifier is drawn (see ``random_contracts.py``); each contract is
checked on an Arrow table and on the same rows written to Parquet, and must agree with
``tests/oracle.py``: counts exactly, metrics within 1e-9 (relative to the data's
magnitude), every check status and the overall status. ``engine`` comes from
``ENGINES`` in conftest.py, so a new engine joins these tests by being listed there.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import Expected, Oracle, close, overall, quote, sql_key
from random_contracts import AS_OF, AWKWARD, PLAIN, TYPES, ContractBuilder, arrow_table, named, ref_rows, rows

import dqgate
from dqgate.contract import load_contract
from dqgate.errors import DataError
from dqgate.ir import nodes as n
from dqgate.ir.plan import plan

# DQGATE_PARITY_EXAMPLES=2000 for a long hunt; the default keeps the suite fast.
SETTINGS = settings(max_examples=int(os.environ.get("DQGATE_PARITY_EXAMPLES", "70")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _scale(rule: n.Rule, table_rows: list[dict[str, Any]]) -> float:
    """The magnitude a metric's rounding error is measured against: its columns' largest value."""
    cols = rule.columns or tuple({c for r in table_rows for c, v in r.items() if isinstance(v, (int, float))})
    values = [abs(r[c]) for r in table_rows for c in cols if isinstance(r.get(c), (int, float)) and not isinstance(r.get(c), bool)]
    return max(values, default=1.0)


def _near_bound(rule: n.Metric, exp: Expected, scale: float) -> bool:
    value = exp.observed
    if not isinstance(value, (int, float)):
        return False
    return any(b is not None and abs(value - b) <= 1e-9 * max(abs(b), scale, 1.0) for b in (rule.min, rule.max))


def _sample_key(rule: n.RowRule, item: Any) -> tuple[Any, ...]:
    return tuple(item[c] for c in rule.columns) if isinstance(item, dict) else (item,)


def assert_matches(result: Any, expected: dict[str, Expected], rules: tuple[n.Rule, ...], table_rows: list[dict[str, Any]]) -> None:
    """Every check of ``result`` agrees with the oracle; ties at a metric bound may go either way."""
    got_by_id = {c.id: c for c in result.checks}
    assert list(got_by_id) == [r.id for r in rules]
    assert result.source["rows"] == len(table_rows)
    statuses = []
    for rule in rules:
        got, exp = got_by_id[rule.id], expected[rule.id]
        where = f"{rule.id}: got {got}\nexpected {exp}"
        tie = False
        if isinstance(rule, n.RowRule):
            assert (got.failed_rows, got.total_rows, got.observed) == (exp.failed_rows, exp.total_rows, exp.observed), where
            if isinstance(rule, n.Unique):
                assert (got.duplicate_groups, got.excess_rows) == (exp.duplicate_groups, exp.failed_rows - exp.duplicate_groups), where
            if got.status != "pass" and got.failed_rows:
                assert got.sample, where
                assert all(_sample_key(rule, s) in exp.failing for s in got.sample), where
        elif isinstance(rule, n.Metric):
            scale = _scale(rule, table_rows)
            assert close(got.observed, exp.observed, scale=scale), where
            tie = _near_bound(rule, exp, scale)
        elif isinstance(rule, n.Freshness):
            assert close(got.observed, exp.observed), where
        else:
            assert got.observed == exp.observed, where
        if not tie:
            assert got.status == exp.status, where
        statuses.append(got.status if tie else exp.status)
    assert result.status == overall(statuses)
    json.dumps(result.to_json())  # the result JSON is always serialisable


def _write(folder: Path, contract: dict[str, Any]) -> Path:
    path = folder / "contract.yaml"
    path.write_text(yaml.safe_dump(contract, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@SETTINGS
@given(data=st.data())
def test_random_contracts_agree_with_the_oracle(engine: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    names = data.draw(st.sampled_from([PLAIN, AWKWARD]), label="names")
    table_rows = data.draw(rows(), label="rows")
    refs = data.draw(ref_rows(), label="ref")
    extra = data.draw(st.booleans(), label="undeclared column")
    ref_path = folder / "ref.parquet"
    pq.write_table(pa.table({"code": pa.array([r["code"] for r in refs], pa.int64()), "name": pa.array([r["name"] for r in refs], pa.string())}), ref_path)

    builder = ContractBuilder(data.draw, names, str(ref_path))
    contract_path = _write(folder, builder.contract())
    contract = load_contract(str(contract_path))
    rules = plan(contract)
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


EVERY_RULE = """
dataset: empty
schema:
  strict: true
  columns:
    i: {type: int64, required: true, unique: true, range: {min: 0, max: 9}, in: [1, 2]}
    s: {type: string, pattern: '[a-z]+', length: {max: 3}, format: email, references: ref.name}
    ts: {type: timestamp, freshness: {max_age: 1d}}
  unique: [[i, s]]
checks:
  - expect: "i > 0"
    where: "s IS NOT NULL"
  - {metric: row_count, min: 1}
  - {metric: null_count(i), max: 0}
  - {metric: null_fraction(i), max: 0.5}
  - {metric: distinct_count(s), min: 1}
  - {metric: mean(i), min: 0}
  - {metric: stddev(i), min: 0}
  - {metric: sum(i), min: 0}
  - {metric: min(i), min: 0}
  - {metric: max(i), max: 9}
  - {metric: median(i), max: 9}
  - {metric: 'quantile(i, 0.9)', max: 9}
  - {metric: "count(*) FILTER (WHERE s = 'x')", max: 5}
references:
  ref: REF
"""


def _empty_case(tmp_path: Path) -> tuple[Path, pa.Table]:
    ref = tmp_path / "ref.parquet"
    pq.write_table(pa.table({"name": pa.array(["a"], pa.string())}), ref)
    path = tmp_path / "contract.yaml"
    path.write_text(EVERY_RULE.replace("REF", str(ref)), encoding="utf-8")
    schema = pa.schema([("i", pa.int64()), ("s", pa.string()), ("ts", pa.timestamp("us"))])
    return path, schema.empty_table()


def test_an_empty_dataset_passes_row_rules_vacuously_and_fails_metric_bounds(engine: str, tmp_path: Path) -> None:
    path, empty = _empty_case(tmp_path)
    contract = load_contract(str(path))
    rules = plan(contract)
    expected = Oracle([], refs={"ref": [{"name": "a"}]}, as_of=AS_OF, data_columns=["i", "s", "ts"],
                      row_exprs={sql_key("s IS NOT NULL", ["i", "s", "ts"], aggregate=False): lambda r: r["s"] is not None},
                      aggregates={sql_key("count(*) FILTER (WHERE s = 'x')", ["i", "s", "ts"], aggregate=True): lambda rs: 0},
                      ).evaluate(rules)  # fmt: skip
    parquet = tmp_path / "empty.parquet"
    pq.write_table(empty, parquet)
    for data_arg in (empty, str(parquet)):
        result = dqgate.check(data_arg, str(path), engine=engine, as_of=AS_OF, allow_empty=True)
        assert_matches(result, expected, rules, [])
        by_id = {c.id: c for c in result.checks}
        for rule in rules:
            got = by_id[rule.id]
            if isinstance(rule, n.RowRule):
                assert (got.failed_rows, got.total_rows, got.observed, got.status) == (0, 0, 1.0, "pass")
        assert by_id["row_count"].observed == 0 and by_id["row_count"].status == "fail"
        for metric in ("mean(i)", "stddev(i)", "sum(i)", "min(i)", "max(i)", "median(i)", "quantile(i, 0.9)", "null_fraction(i)"):
            assert by_id[metric].observed is None and by_id[metric].status == "fail", metric
        assert by_id["null_count(i)"].observed == 0 and by_id["distinct_count(s)"].observed == 0  # counts of nothing are 0
        assert by_id["ts.freshness"].status == "fail"
        assert result.status == "fail"


def test_an_empty_dataset_is_refused_without_allow_empty(engine: str, tmp_path: Path) -> None:
    path, empty = _empty_case(tmp_path)
    parquet = tmp_path / "empty.parquet"
    pq.write_table(empty, parquet)
    for data_arg in (empty, str(parquet)):
        with pytest.raises(DataError, match="0 rows"):
            dqgate.check(data_arg, str(path), engine=engine, as_of=AS_OF)


AWKWARD_ROWS = [
    {"I": 1, "J": 4, "F": 0.5, "S": "ab", "B": True, "D": dt.date(2024, 1, 12), "T": dt.datetime(2024, 1, 4)},
    {"I": 1, "J": -7, "F": 9.0, "S": "höhe", "B": False, "D": dt.date(2024, 1, 2), "T": dt.datetime(2024, 1, 20)},
    {"I": None, "J": 2, "F": None, "S": "", "B": None, "D": None, "T": None},
    {"I": 3, "J": 5, "F": -2.25, "S": "ab", "B": True, "D": dt.date(2024, 1, 12), "T": dt.datetime(2024, 1, 6)},
]


def test_awkward_column_names_work_in_every_rule_kind(engine: str, tmp_path: Path) -> None:
    """Spaces, quotes, double quotes, unicode, keywords and dots, in column rules and in user SQL."""
    a = AWKWARD
    q = {role: quote(name) for role, name in a.items()}
    ref = tmp_path / "ref.parquet"
    pq.write_table(pa.table({"code": pa.array([1, 3], pa.int64()), "name": pa.array(["ab", "ab"], pa.string())}), ref)
    contract = {
        "dataset": "awkward",
        "schema": {
            "strict": True,
            "columns": {
                a["I"]: {"type": "int64", "required": True, "unique": True, "range": {"min": 0, "max": 2}, "in": [1, 3], "references": "ref.code"},
                a["J"]: {"type": "int64", "range": {"min": -5, "exclusive": True}, "where": f"{q['B']}"},
                a["F"]: {"type": "float64", "required": True, "mostly": 0.7},
                a["S"]: {"type": "string", "pattern": "[a-zö]+", "length": {"min": 1, "max": 3}, "format": "email", "references": "ref.name"},
                a["B"]: {"type": "bool", "in": [True]},
                a["D"]: {"type": "date", "unique": True, "freshness": {"max_age": "10d"}},
                a["T"]: {"type": "timestamp", "freshness": {"max_age": "12h"}, "severity": "warn"},
            },
            "unique": [[a["I"], a["S"]]],
            "foreign_keys": [{"columns": [a["I"], a["S"]], "references": "ref", "to": ["code", "name"]}],
        },
        "checks": [
            {"column": a["J"], "name": "j_in", "in": [4, 5], "where": f"{q['S']} = 'ab'"},
            {"expect": f"{q['J']} >= {q['F']} - 3", "where": f"{q['I']} IS NOT NULL AND {q['S']} = 'ab'"},
            {"expect": f"length({q['S']}) <= 2 OR {q['D']} >= DATE '2024-01-10'", "name": "mixed"},
            {"metric": f"mean({q['F']})", "max": 5},
            {"metric": f"null_fraction({q['S']})", "max": 0.1},
            {"metric": f"sum({q['J']}) - min({q['I']})", "min": 0},
            {"metric": f"count(*) FILTER (WHERE {q['B']})", "min": 1, "where": f"{q['T']} > TIMESTAMP '2024-01-01 00:00:00'"},
        ],
        "references": {"ref": str(ref)},
    }
    path = _write(tmp_path, contract)
    rules = plan(load_contract(str(path)))
    cols = list(a.values())
    rows_named = named(AWKWARD_ROWS, a)
    exprs = {
        f"{q['B']}": lambda r: r[a["B"]],
        f"{q['S']} = 'ab'": lambda r: None if r[a["S"]] is None else r[a["S"]] == "ab",
        f"{q['J']} >= {q['F']} - 3": lambda r: None if r[a["F"]] is None else r[a["J"]] >= r[a["F"]] - 3,
        f"{q['I']} IS NOT NULL AND {q['S']} = 'ab'": lambda r: r[a["I"]] is not None and r[a["S"]] == "ab",
        f"length({q['S']}) <= 2 OR {q['D']} >= DATE '2024-01-10'": lambda r: (len(r[a["S"]]) <= 2) or (r[a["D"]] is not None and r[a["D"]] >= dt.date(2024, 1, 10)),
        f"{q['T']} > TIMESTAMP '2024-01-01 00:00:00'": lambda r: None if r[a["T"]] is None else r[a["T"]] > dt.datetime(2024, 1, 1),
    }
    aggs = {
        f"sum({q['J']}) - min({q['I']})": lambda rs: sum(r[a["J"]] for r in rs) - min(r[a["I"]] for r in rs if r[a["I"]] is not None),
        f"count(*) FILTER (WHERE {q['B']})": lambda rs: sum(1 for r in rs if r[a["B"]] is True),
    }
    oracle = Oracle(
        rows_named,
        row_exprs={sql_key(k, cols, aggregate=False): f for k, f in exprs.items()},
        aggregates={sql_key(k, cols, aggregate=True): f for k, f in aggs.items()},
        refs={"ref": [{"code": 1, "name": "ab"}, {"code": 3, "name": "ab"}]},
        as_of=AS_OF,
        data_columns=cols,
    )
    expected = oracle.evaluate(rules)
    kinds = {type(r) for r in rules}
    assert kinds >= {*n.ROW_RULES, n.Metric, n.Freshness, n.StrictSchema}  # every rule kind is exercised
    table = arrow_table(AWKWARD_ROWS, a)
    parquet = tmp_path / "awkward.parquet"
    pq.write_table(table, parquet)
    for data_arg in (table, str(parquet)):
        result = dqgate.check(data_arg, str(path), engine=engine, as_of=AS_OF)
        assert_matches(result, expected, rules, rows_named)
        assert {c.status for c in result.checks} >= {"pass", "fail", "warn"}  # the data makes rules disagree
