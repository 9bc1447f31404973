"""The contract language of issue #16 without data: what lint accepts and plans, what it
refuses (one located line each), the JSON Schema, and how ``dq lint --against`` grades each
new option (tightening breaks, loosening does not)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dqgate.contract import parse_contract
from dqgate.contract.bounds import RelativeInstant
from dqgate.contract.compat import compare
from dqgate.contract.jsonschema import contract_json_schema
from dqgate.errors import ContractError
from dqgate.ir import nodes as n
from dqgate.ir.instants import resolve
from dqgate.ir.plan import plan

HEAD = """\
dataset: t
version: 1.0.0
schema:
  columns:
    a: {type: int64}
    b: {type: string}
    d: {type: date}
    ts: {type: timestamp}
"""


def _with(extra: str, head: str = HEAD) -> str:
    return head + extra


def test_new_spellings_plan_to_the_rules_they_say() -> None:
    text = HEAD.replace("a: {type: int64}", "a: {type: int64, range: {min: 0, max: 100, exclusive_min: true}, unique: {nulls: equal}}")
    text = text.replace("ts: {type: timestamp}", "ts: {type: timestamp, range: {min: now-52w, max: 'now+1h'}}")
    text += """\
  unique:
    - [a, b]
    - {columns: [b, d], mostly: 0.99, where: "a > 0", severity: warn, name: b_d_key, nulls: equal}
checks:
  - {metric: mean(a), greater_than: 0, max: 10}
  - {metric: max(ts), min: now-1d, less_than: '2030-01-01 00:00:00'}
  - {metric: min(d), between: [2024-01-01, 2024-12-31]}
  - {metric: row_count}
"""
    rules = {r.id: r for r in plan(parse_contract(text, "c.yaml"))}
    rng = rules["a.range"]
    assert isinstance(rng, n.Range) and (rng.open_min, rng.open_max, rng.exclusive) == (True, False, False)
    assert isinstance(rules["a.unique"], n.Unique) and rules["a.unique"].nulls_equal
    assert rules["a+b.unique"].severity == "error" and not rules["a+b.unique"].nulls_equal  # type: ignore[attr-defined]
    key = rules["b_d_key"]
    assert isinstance(key, n.Unique) and (key.columns, key.mostly, key.severity, key.nulls_equal) == (("b", "d"), 0.99, "warn", True)
    assert key.where is not None and '"a"' in key.where
    mean = rules["mean(a)"]
    assert isinstance(mean, n.Metric) and (mean.min, mean.exclusive_min, mean.max, mean.exclusive_max) == (0, True, 10, False)
    newest = rules["max(ts)"]
    assert isinstance(newest, n.Metric) and newest.min == RelativeInstant("now-1d", -86400.0)
    assert newest.max == dt.datetime(2030, 1, 1) and newest.exclusive_max
    assert rules["min(d)"].min == dt.date(2024, 1, 1)  # type: ignore[attr-defined]
    # relative bounds become instants only when a check runs, at --as-of
    at = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
    resolved = {r.id: r for r in resolve(tuple(rules.values()), at)}
    assert resolved["ts.range"].min == dt.datetime(2024, 3, 2, 12, 0)  # type: ignore[attr-defined]
    assert resolved["ts.range"].max == dt.datetime(2025, 3, 1, 13, 0)  # type: ignore[attr-defined]
    assert resolved["max(ts)"].min == dt.datetime(2025, 2, 28, 12, 0)  # type: ignore[attr-defined]


def test_relative_bound_on_a_date_column_is_a_date() -> None:
    rules = plan(parse_contract(HEAD.replace("d: {type: date}", "d: {type: date, range: {min: now-2w}}"), "c.yaml"))
    (rng,) = [r for r in rules if r.id == "d.range"]
    assert resolve((rng,), dt.datetime(2024, 1, 21, 1, 0))[0].min == dt.date(2024, 1, 7)  # type: ignore[attr-defined]


def test_drift_takes_several_methods_per_column_and_an_unbounded_one() -> None:
    text = HEAD.replace("a: {type: int64}", "a: {type: float64}") + """\
drift:
  reference: ref.parquet
  columns:
    a: [{method: psi, max: 0.2}, {method: ks}]
    b: {method: js, max: 0.1, where: "a > 0"}
"""
    drift = [r for r in plan(parse_contract(text, "c.yaml")) if isinstance(r, n.Drift)]
    assert [(r.id, r.method, r.max) for r in drift] == [("a.drift.psi", "psi", 0.2), ("a.drift.ks", "ks", None), ("b.drift", "js", 0.1)]
    assert drift[2].where is not None and drift[0].where is None


REFUSED: dict[str, tuple[str, str | tuple[str, ...]]] = {
    "exclusive_min without min": (
        HEAD.replace("a: {type: int64}", "a: {type: int64, range: {max: 5, exclusive_min: true}}"),
        "c.yaml:5:38: 'exclusive_min' on 'a' has no 'min' to exclude",
    ),
    "relative bound on a number": (
        HEAD.replace("a: {type: int64}", "a: {type: int64, range: {min: now-52w}}"),
        "c.yaml:5:30: range min 'now-52w' is not a number, but 'a' is int64 (relative bounds apply to date and timestamp columns)",
    ),
    "relative bound on a string": (
        HEAD.replace("b: {type: string}", "b: {type: string, range: {min: now-1d}}"),
        "c.yaml:6:31: range min 'now-1d' is relative to the check time, which applies to date and timestamp columns, but 'b' is string",
    ),
    "bad relative duration": (
        HEAD.replace("ts: {type: timestamp}", "ts: {type: timestamp, range: {min: now-5y}}"),
        "c.yaml:8:35: range min 'now-5y': '5y' is not a duration; write e.g. 36h, 2d, 1d12h, 90m or 45s",
    ),
    "nulls on a column without unique": (
        HEAD.replace("b: {type: string}", "b: {type: string, nulls: equal}"),
        "c.yaml:6:23: 'nulls' is an option of a uniqueness rule (unique: {nulls: equal}), and column 'b' has none here",
    ),
    "nulls misspelt": (
        HEAD.replace("b: {type: string}", "b: {type: string, unique: {nulls: equl}}"),
        "c.yaml:6:32: 'equl' is not a valid nulls (expected one of: distinct, equal). Did you mean 'equal'?",
    ),
    "unique entry typo": (
        _with("  unique:\n    - {columns: [a, b], mostyl: 0.9}\n"),
        "c.yaml:10:25: unknown key 'mostyl'. Did you mean 'mostly'?",
    ),
    "unique entry unknown column": (
        _with("  unique:\n    - {columns: [a, bb]}\n"),
        "c.yaml:10:21: unknown column 'bb' (not declared under schema.columns). Did you mean 'b'?",
    ),
    "greater_than beside min": (
        _with("checks:\n  - {metric: mean(a), min: 0, greater_than: 1}\n"),
        "c.yaml:10:31: give either min or greater_than (or between), not both",
    ),
    "strict bounds that meet": (
        _with("checks:\n  - {metric: mean(a), greater_than: 1, less_than: 1}\n"),
        "c.yaml:10:23: impossible bounds for metric 'mean(a)': min 1 >= max 1",
    ),
    "relative bound on a numeric metric": (
        _with("checks:\n  - {metric: mean(a), min: now-1d}\n"),
        "c.yaml:10:23: min 'now-1d' is relative to the check time, which applies to metrics of date and timestamp columns, not to 'mean(a)'",
    ),
    "number on a timestamp metric": (
        _with("checks:\n  - {metric: max(ts), max: 5}\n"),
        "c.yaml:10:23: max 5 is a number, but metric 'max(ts)' is a timestamp: write an ISO instant or now-<duration>",
    ),
    "text on a metric": (
        _with("checks:\n  - {metric: max(ts), max: soon}\n"),
        "c.yaml:10:23: max 'soon' is not a number, an ISO date or timestamp, nor now-<duration> (as in now-1d)",
    ),
    "drift where against a snapshot": (
        _with("drift:\n  columns:\n    a: {method: psi, where: \"a > 0\"}\n"),
        "c.yaml:11:22: 'where' on drift needs a file reference (reference: path/to/file.parquet): a snapshot's profile covers all of its rows",
    ),
    "foreign key to an undeclared dataset": (
        _with("  foreign_keys:\n    - {columns: [a, b], references: wether}\nreferences:\n  weather: w.parquet\n"),
        "c.yaml:10:25: unknown reference dataset 'wether' (declare it under 'references:'). Did you mean 'weather'?",
    ),
    "foreign key with too few target columns": (
        _with("  foreign_keys:\n    - {columns: [a, b], references: weather, to: [x]}\nreferences:\n  weather: w.parquet\n"),
        "c.yaml:10:46: 'to' names 1 column(s) for 2 in 'columns'; give one per column",
    ),
    "strict bound typo": (
        _with("checks:\n  - {metric: max(ts), greater_then: now-1d}\n"),
        "c.yaml:10:23: unknown key 'greater_then'. Did you mean 'greater_than'?",
    ),
    "exclusive flag typo": (
        HEAD.replace("a: {type: int64}", "a: {type: int64, range: {min: 0, exclusiv_min: true}}"),
        "c.yaml:5:38: unknown key 'exclusiv_min' in 'range'. Did you mean 'exclusive_min'?",
    ),
    "relative bounds out of order": (
        HEAD.replace("ts: {type: timestamp}", "ts: {type: timestamp, range: {min: now, max: now-1w}}"),
        "c.yaml:8:27: impossible range on 'ts': min now is not before max now-1w",
    ),
    "two keys of one name": (
        _with("  unique:\n    - {columns: [a], name: k}\n    - {columns: [b], name: k}\n"),
        "c.yaml:11:22: duplicate check name 'k'",
    ),
    "drift list typo": (
        _with("drift:\n  columns:\n    a: [{method: psi}, {methd: ks}]\n"),
        # two lines, as for the map form: the entry lacks 'method' and has an unknown key
        ("c.yaml:11:24: missing required key 'method'", "c.yaml:11:25: unknown key 'methd'. Did you mean 'method'?"),
    ),
}


@pytest.mark.parametrize("name", REFUSED)
def test_contradictions_are_refused_with_one_located_line(name: str) -> None:
    text, message = REFUSED[name]
    with pytest.raises(ContractError) as info:
        parse_contract(text, "c.yaml")
    assert info.value.problems == (message if isinstance(message, tuple) else (message,)), info.value.problems


def test_bad_option_exits_2_from_dq_check(tmp_path: object, run_cli: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    path = folder / "c.yaml"
    path.write_text(REFUSED["exclusive_min without min"][0], encoding="utf-8")
    (folder / "data.csv").write_text("a,b,d,ts\n1,x,2024-01-01,2024-01-01 00:00:00\n", encoding="utf-8")
    code, out, err = run_cli("check", str(path), "--data", str(folder / "data.csv"))  # type: ignore[operator]
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [f"dq: error: {path}:5:38: 'exclusive_min' on 'a' has no 'min' to exclude"]
    code, out, _ = run_cli("lint", str(path))  # type: ignore[operator]
    assert code == 1 and out.strip() == f"{path}:5:38: 'exclusive_min' on 'a' has no 'min' to exclude"


def test_json_schema_names_the_new_spellings() -> None:
    schema = contract_json_schema()
    text = json.dumps(schema)
    defs = schema["$defs"]
    assert {"exclusive_min", "exclusive_max"} <= set(defs["RangeSpec"]["properties"])
    assert {"greater_than", "less_than"} <= set(defs["MetricCheck"]["properties"])
    assert {"columns", "mostly", "where", "severity", "name", "nulls"} <= set(defs["UniqueKey"]["properties"])
    assert "where" in defs["DriftColumn"]["properties"] and '"equal"' in text


OLD = HEAD.replace("a: {type: int64}", "a: {type: int64, range: {min: 0, max: 100}, unique: true}").replace(
    "ts: {type: timestamp}", "ts: {type: timestamp, range: {min: now-52w}}"
) + "  unique:\n    - {columns: [a, b], mostly: 0.9}\nreferences:\n  w: w.parquet\nchecks:\n  - {metric: mean(a), min: 0, max: 10}\ndrift:\n  reference: r.parquet\n  columns:\n    a: [{method: psi, max: 0.2}]\n"

GRADES = {
    "exclusive_min added": ("range: {min: 0, max: 100}", "range: {min: 0, max: 100, exclusive_min: true}", "rule_tightened", True),
    "max raised but exclusive": ("range: {min: 0, max: 100}", "range: {min: 0, max: 101, exclusive_max: true}", "rule_loosened", False),
    "max kept but exclusive": ("range: {min: 0, max: 100}", "range: {min: 0, max: 100, exclusive_max: true}", "rule_tightened", True),
    "relative min later": ("min: now-52w", "min: now-26w", "rule_tightened", True),
    "relative min earlier": ("min: now-52w", "min: now-104w", "rule_loosened", False),
    "relative to absolute": ("min: now-52w", "min: 2024-01-01", "rule_changed", True),
    "nulls equal": ("unique: true", "unique: {nulls: equal}", "rule_tightened", True),
    "greater_than for min": ("{metric: mean(a), min: 0, max: 10}", "{metric: mean(a), greater_than: 0, max: 10}", "rule_tightened", True),
    "less_than for max": ("{metric: mean(a), min: 0, max: 10}", "{metric: mean(a), min: 0, less_than: 11}", "rule_loosened", False),
    "unique entry mostly raised": ("{columns: [a, b], mostly: 0.9}", "{columns: [a, b], mostly: 0.95}", "mostly_raised", True),
    "unique entry mostly lowered": ("{columns: [a, b], mostly: 0.9}", "{columns: [a, b], mostly: 0.8}", "mostly_lowered", False),
    "drift bound lowered": ("[{method: psi, max: 0.2}]", "[{method: psi, max: 0.1}]", "rule_tightened", True),
    "foreign key target changed": ("    - {columns: [a, b], mostly: 0.9}\n", "    - {columns: [a, b], mostly: 0.9}\n  foreign_keys:\n    - {columns: [a], references: w, name: fk}\n", "rule_added", True),
    "drift method added": ("[{method: psi, max: 0.2}]", "[{method: psi, max: 0.2}, {method: ks, max: 0.3}]", "rule_added", True),
}


@pytest.mark.parametrize("name", GRADES)
def test_lint_against_grades_each_new_option(name: str) -> None:
    before, after, kind, breaking = GRADES[name]
    assert before in OLD
    old, new = parse_contract(OLD, "old.yaml"), parse_contract(OLD.replace(before, after), "new.yaml")
    changes = [c for c in compare(old, new) if c.kind == kind]
    assert changes, [c.describe() for c in compare(old, new)]
    assert changes[0].breaking is breaking, changes[0].describe()
