"""The Polars compiler and runner: RE2 regexes in Rust's spelling, one scan, clear refusals, every input kind."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import re2

import dqgate
from dqgate.compilers import polars as compiler
from dqgate.compilers.polars_sql import rust_regex
from dqgate.contract import load_contract
from dqgate.errors import DataError, UnsupportedRule
from dqgate.ir.plan import plan
from dqgate.runners import polars as runner

PATTERNS = (
    r"\d+", r"[\d_]+", r"\w+", r"[^\d]+", r"x\D", r"\S+", r"a\sb", r"\bab\b", r"\Qa.b\E", r"[[]", r"[]a]",
    r"a{,3}", r"a{2}", r"a{1,}", r"[a&&b]+", r"(?i)é", r"[[:alpha:]]+", r"\pL+", r"a|", r"[^\s]+", r"\x{e9}",
)  # fmt: skip
VALUES = (
    "123", "١٢٣", "a.b", "axb", "[", "]", "a", "a{,3}", "aa", "é", "É", "ab", "ab cd", "a\u00a0b", "a b",
    "&", "a&&b", "x٣", "x_", "日本", "", "ab\n", "\u2003",
)  # fmt: skip


@pytest.mark.parametrize("pattern", PATTERNS)
def test_rust_regex_matches_exactly_what_re2_matches(pattern: str) -> None:
    series = pl.Series(VALUES)
    full = series.str.contains(rust_regex(pattern, full=True)).to_list()
    partial = series.str.contains(rust_regex(pattern, full=False)).to_list()
    assert full == [re2.fullmatch(pattern, v) is not None for v in VALUES]
    assert partial == [re2.search(pattern, v) is not None for v in VALUES]


CONTRACT = """
dataset: every
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    s: {type: string, pattern: '\\d[a-z]*', length: {max: 3}, format: email, in: [1a, b, 'x@y.co'], references: ref.name}
    f: {type: float64, range: {min: 0, max: 10}, mostly: 0.5}
    ts: {type: timestamp, range: {min: '2024-01-02'}, freshness: {max_age: 1d}}
  unique: [[s, f]]
checks:
  - expect: "f < id"
    where: "s IS NOT NULL"
  - {metric: row_count, min: 1}
  - {metric: 'quantile(f, 0.3)', max: 5}
  - {metric: "count(*) FILTER (WHERE s = 'b') + max(f)", max: 3}
references:
  ref: REF
"""


@pytest.fixture
def every(tmp_path: Path) -> tuple[Path, Path]:
    ref = tmp_path / "ref.parquet"
    pq.write_table(pa.table({"name": ["1a", "b", None]}), ref)
    contract = tmp_path / "contract.yaml"
    contract.write_text(CONTRACT.replace("REF", str(ref)), encoding="utf-8")
    data = tmp_path / "data.parquet"
    pq.write_table(
        pa.table({
            "id": pa.array([1, 2, 2, None, 5], pa.int64()),
            "s": ["1a", "b", "x@y.co", None, "1abcd"],
            "f": [0.5, 11.0, None, 3.0, 3.0],
            "ts": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 3), None, dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 2)],
        }),
        data,
    )  # fmt: skip
    return contract, data


def test_all_rules_of_a_contract_are_one_select_over_one_scan(every: tuple[Path, Path]) -> None:
    contract_path, data = every
    contract = load_contract(str(contract_path))
    lf, _, schema = runner.prepare(contract, str(data))
    refs, errors = runner.references(contract, plan(contract), None)
    compiled = compiler.compile_plan(plan(contract), schema=schema, refs=refs)
    assert not errors and not compiled.errors
    text = lf.select(compiled.exprs).explain()
    assert text.count("Parquet SCAN") == 1, text
    got = lf.select(compiled.exprs).collect().row(0, named=True)
    out = compiled.outputs
    assert (got[out["id.unique"][0]], got[out["id.unique"][1]]) == (2, 4)  # both rows of id 2; the NULL id is not judged
    assert (got[out["s.pattern"][0]], got[out["s.length"][0]], got[out["s.references"][0]]) == (2, 2, 2)
    assert got[out["s.format"][0]] == 3  # only x@y.co is an email: the Cython kernel ran inside the select


def test_polars_reports_what_duckdb_reports_on_every_input_kind(every: tuple[Path, Path], tmp_path: Path) -> None:
    contract, data = every
    as_of = dt.datetime(2024, 1, 5, 12, tzinfo=dt.timezone.utc)
    duck = dqgate.check(str(data), str(contract), engine="duckdb", as_of=as_of).to_json()
    table = pq.read_table(data)
    csv = tmp_path / "data.csv"
    pl.from_arrow(table).write_csv(csv)  # type: ignore[union-attr]
    ndjson = tmp_path / "data.jsonl"
    pl.from_arrow(table).write_ndjson(ndjson)  # type: ignore[union-attr]
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    for data_arg in (str(data), table, frame, frame.lazy(), str(csv), str(ndjson)):
        got = dqgate.check(data_arg, str(contract), engine="polars", as_of=as_of).to_json()
        for d, p in zip(duck["checks"], got["checks"]):
            assert {k: v for k, v in p.items() if k != "observed"} == {k: v for k, v in d.items() if k != "observed"}, type(data_arg)
            assert p["observed"] == pytest.approx(d["observed"], rel=1e-9), type(data_arg)
        assert got["status"] == duck["status"] == "fail"
    assert dqgate.check(frame, str(contract), as_of=as_of).engine == "polars"  # Polars data picks the Polars engine


def _contract(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text("dataset: d\nschema:\n  columns:\n    i: {type: int64}\n    s: {type: string}\n    f: {type: float64}\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("check", "reason"),
    [
        ("- expect: \"lower(s) = 'x'\"", r"lower\(\) differs"),
        ("- expect: 'round(f) = 1'", "rounds halves differently"),
        ("- expect: 'CAST(f AS INTEGER) = 1'", "may convert differently"),
        ("- expect: 'i IN (SELECT code FROM ref)'", "subqueries"),
        ("- {metric: 'max(i) - min(s)', max: 1, where: 'regexp_matches(s, s)'}", "must be a string literal"),
        ("- {metric: 'mode(i)', max: 1}", r"mode\(\) is not supported"),
    ],
)
def test_sql_polars_cannot_evaluate_like_duckdb_is_refused_with_the_reason(tmp_path: Path, check: str, reason: str) -> None:
    ref = tmp_path / "ref.parquet"
    pq.write_table(pa.table({"code": [1]}), ref)
    path = _contract(tmp_path, f"checks:\n  {check}\nreferences:\n  ref: {ref}\n")
    data = pl.DataFrame({"i": [1, 2], "s": ["x", "y"], "f": [0.5, 1.5]})
    with pytest.raises(UnsupportedRule, match=reason) as info:
        dqgate.check(data, str(path), engine="polars")
    assert info.value.engine == "polars" and info.value.exit_code == 2
    assert dqgate.check(data, str(path), engine="duckdb").checks  # DuckDB runs the same contract


def test_a_rule_failing_at_run_time_is_an_error_result_and_the_others_still_run(tmp_path: Path) -> None:
    path = _contract(tmp_path, "checks:\n  - {name: bad, expect: 's > 5'}\n  - {metric: row_count, min: 1}\n")
    data = pl.DataFrame({"i": [1, 2], "s": ["x", "y"], "f": [0.5, 1.5]})
    for engine in ("duckdb", "polars"):
        result = dqgate.check(data, str(path), engine=engine)
        by_id = {c.id: c for c in result.checks}
        assert by_id["bad"].status == "error", engine
        assert by_id["row_count"].status == "pass" and by_id["row_count"].observed == 2
        assert result.status == "fail"


def test_schema_problems_are_the_duckdb_engines_data_errors(tmp_path: Path) -> None:
    path = _contract(tmp_path, "")
    wrong_type = pl.DataFrame({"i": ["1"], "s": ["x"], "f": [1.0]})
    missing = pl.DataFrame({"i": [1], "ss": ["x"], "f": [1.0]})
    for data in (wrong_type, missing):
        messages = []
        for engine in ("duckdb", "polars"):
            with pytest.raises(DataError) as info:
                dqgate.check(data, str(path), engine=engine)
            messages.append(str(info.value))
        assert messages[0] == messages[1]
    with pytest.raises(DataError, match="not found"):
        dqgate.check(str(tmp_path / "nope.parquet"), str(path), engine="polars")


def test_samples_show_key_and_rule_columns_of_failing_rows_and_repeated_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "dataset: d\nschema:\n  key: [k]\n  columns:\n    k: {type: string}\n    v: {type: int64, unique: true, range: {max: 5}}\n",
        encoding="utf-8",
    )
    data = pl.DataFrame({"k": [f"r{i}" for i in range(12)], "v": [1, 9, 7, 7, 3, 3, 8, 9, 10, 11, 12, 0]})
    result = dqgate.check(data, str(path), samples=3)
    by_id = {c.id: c for c in result.checks}
    assert by_id["v.range"].sample == ({"k": "r1", "v": 9}, {"k": "r2", "v": 7}, {"k": "r3", "v": 7})
    assert sorted(by_id["v.unique"].sample) == [3, 7, 9]
    assert json.dumps(result.to_json())
