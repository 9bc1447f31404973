"""`dq check`: exit codes, the report formats, --output and --as-of (run in-process via main())."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dqgate.contract import load_contract
from dqgate.ir.plan import plan

Run = Callable[..., tuple[int, str, str]]

CONTRACT = """\
dataset: flights
version: 2.1.0
source: data/flights.parquet
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    month: {type: int64, required: true, range: {min: 1, max: 12}}
    carrier: {type: string, in: [AA, B6, DL], severity: warn}
    tailnum: {type: string, pattern: '^N[0-9]+$', mostly: 0.5}
    loaded_at: {type: timestamp, freshness: {max_age: 36h}}
checks:
  - metric: row_count
    between: [1, 1000]
  - name: no_big_delays
    expect: "month <= MAXMONTH"
"""


def _table(bad_month: bool = False, bad_carrier: bool = False) -> pa.Table:
    return pa.table({
        "id": [1, 2, 3, 4],
        "month": [1, 5, 13 if bad_month else 12, 7],
        "carrier": ["AA", "DL", "ZZ" if bad_carrier else "B6", None],
        "tailnum": ["N123", "N9", "X1", None],
        "loaded_at": pa.array([dt.datetime(2024, 1, 1, 12)] * 4, pa.timestamp("us")),
    })  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """A contract at tmp/contracts/flights.yaml whose source is tmp/contracts/data/flights.parquet."""

    def make(*, bad_month: bool = False, bad_carrier: bool = False, max_month: int = 12) -> Path:
        folder = tmp_path / "contracts"
        (folder / "data").mkdir(parents=True, exist_ok=True)
        pq.write_table(_table(bad_month, bad_carrier), folder / "data" / "flights.parquet")
        path = folder / "flights.yaml"
        path.write_text(CONTRACT.replace("MAXMONTH", str(max_month)), encoding="utf-8")
        return path

    return make


AS_OF = "2024-01-02T00:00:00Z"


def test_a_passing_run_exits_0_and_prints_a_table(run_cli: Run, project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    contract = project()
    monkeypatch.chdir(tmp_path)  # the contract's source is found relative to the contract, not the cwd
    code, out, err = run_cli("check", contract, "--as-of", AS_OF)
    assert code == 0, err
    assert "flights 2.1.0" in out and "PASS: 9 pass (--verbose lists the passing rules)" in out
    assert "id.unique" not in out  # passing rules are summarised, not listed
    assert err == ""
    code, out, err = run_cli("check", contract, "--as-of", AS_OF, "--verbose")
    assert code == 0 and "id.unique" in out and "month.range" in out


def test_a_failing_error_check_exits_1(run_cli: Run, project: Callable[..., Path]) -> None:
    code, out, _ = run_cli("check", project(bad_month=True), "--as-of", AS_OF)
    assert code == 1
    assert "FAIL" in out and "month.range" in out


def test_a_failing_warn_check_still_exits_0(run_cli: Run, project: Callable[..., Path]) -> None:
    code, out, _ = run_cli("check", project(bad_carrier=True), "--as-of", AS_OF, "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert report["status"] == "warn"
    assert {c["id"]: c["status"] for c in report["checks"]}["carrier.in"] == "warn"


def test_as_of_decides_freshness(run_cli: Run, project: Callable[..., Path]) -> None:
    contract = project()
    fresh = run_cli("check", contract, "--as-of", "2024-01-02T12:00:00Z", "--format", "json")
    stale = run_cli("check", contract, "--as-of", "2024-01-03T00:00:01", "--format", "json")  # naive means UTC
    assert (fresh[0], stale[0]) == (0, 1)
    by_id = {c["id"]: c for c in json.loads(stale[1])["checks"]}
    assert by_id["loaded_at.freshness"]["status"] == "fail"
    assert by_id["loaded_at.freshness"]["observed"] == 36 * 3600 + 1


def test_json_has_the_stable_keys_of_the_design(run_cli: Run, project: Callable[..., Path]) -> None:
    contract = project(bad_month=True)
    code, out, _ = run_cli("check", contract, "--as-of", AS_OF, "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert {"dqgate_version", "contract", "source", "status", "checks", "elapsed_s"} <= set(report)
    assert report["contract"] == {"dataset": "flights", "version": "2.1.0", "sha256": hashlib.sha256(contract.read_bytes()).hexdigest()}
    assert report["source"]["rows"] == 4 and report["source"]["uri"].endswith("flights.parquet")
    assert report["status"] == "fail" and isinstance(report["elapsed_s"], float)
    checks = {c["id"]: c for c in report["checks"]}
    assert list(checks) == [r.id for r in plan(load_contract(str(contract)))]
    for c in report["checks"]:
        assert {"id", "rule", "columns", "severity", "status", "observed", "threshold", "message"} <= set(c)
        assert c["status"] in ("pass", "warn", "fail", "error")
    month = checks["month.range"]
    assert (month["rule"], month["columns"], month["severity"], month["status"]) == ("range", ["month"], "error", "fail")
    assert (month["failed_rows"], month["total_rows"], month["observed"]) == (1, 4, 0.75)
    assert month["threshold"] == {"min": 1, "max": 12} and month["sample"] == [{"id": 3, "month": 13}]
    tail = checks["tailnum.pattern"]
    assert tail["threshold"] == {"pattern": "^N[0-9]+$", "mostly": 0.5} and tail["status"] == "pass"
    assert checks["row_count"]["observed"] == 4 and "failed_rows" not in checks["row_count"]


def test_junit_has_one_testcase_per_rule_and_failures_for_failing_ones(run_cli: Run, project: Callable[..., Path]) -> None:
    contract = project(bad_month=True, bad_carrier=True, max_month=11)
    code, out, _ = run_cli("check", contract, "--as-of", AS_OF, "--format", "junit")
    assert code == 1
    suite = ET.fromstring(out).find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    ids = [r.id for r in plan(load_contract(str(contract)))]
    assert [c.get("name") for c in cases] == ids
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {"month.range", "no_big_delays"}
    assert suite.get("tests") == str(len(ids)) and suite.get("failures") == "2" and suite.get("errors") == "0"
    warned = [c for c in cases if c.get("name") == "carrier.in"][0]
    assert warned.find("failure") is None and "WARN" in (warned.findtext("system-out") or "")


def test_markdown_lists_every_check_worst_first(run_cli: Run, project: Callable[..., Path]) -> None:
    contract = project(bad_month=True)
    code, out, _ = run_cli("check", contract, "--as-of", AS_OF, "--format", "markdown")
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("### dqgate: `flights` 2.1.0") and "fail" in lines[0]
    rows = [line for line in lines if line.startswith("| ") and "`" in line]
    assert sorted(row.split("`")[1] for row in rows) == sorted(r.id for r in plan(load_contract(str(contract))))
    assert [row.split("`")[1] for row in rows[:2]] == ["month.range", "no_big_delays"] and all("fail" in r for r in rows[:2])
    assert all("pass" in r for r in rows[2:])


def test_output_is_written_atomically_and_equals_stdout(run_cli: Run, project: Callable[..., Path], tmp_path: Path) -> None:
    contract = project(bad_month=True)
    target = tmp_path / "reports" / "result.json"
    target.parent.mkdir()
    target.write_text("old report", encoding="utf-8")
    code, out, _ = run_cli("check", contract, "--as-of", AS_OF, "--format", "json", "--output", target)
    assert code == 1 and out == ""
    written = json.loads(target.read_text(encoding="utf-8"))
    _, printed, _ = run_cli("check", contract, "--as-of", AS_OF, "--format", "json")
    assert {k: v for k, v in written.items() if k != "elapsed_s"} == {k: v for k, v in json.loads(printed).items() if k != "elapsed_s"}
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.json"]  # no temporary file left behind


def test_output_into_a_missing_folder_is_a_usage_error(run_cli: Run, project: Callable[..., Path], tmp_path: Path) -> None:
    code, out, err = run_cli("check", project(), "--as-of", AS_OF, "--output", tmp_path / "nope" / "r.json")
    assert code == 2 and out == ""
    assert err.startswith("dq: error:") and "does not exist" in err and len(err.splitlines()) == 1


def test_data_overrides_the_contract_source(run_cli: Run, project: Callable[..., Path], tmp_path: Path) -> None:
    contract = project()
    other = tmp_path / "other.parquet"
    pq.write_table(_table(bad_month=True), other)
    code, out, _ = run_cli("check", contract, "--data", other, "--as-of", AS_OF, "--format", "json")
    assert code == 1 and json.loads(out)["source"]["uri"] == str(other)


def test_a_bad_as_of_is_a_usage_error(run_cli: Run, project: Callable[..., Path]) -> None:
    code, out, err = run_cli("check", project(), "--as-of", "yesterday")
    assert code == 2 and out == ""
    assert "'yesterday' is not an ISO time" in err and len(err.splitlines()) == 1


def test_explain_prints_one_statement_that_parses(run_cli: Run, project: Callable[..., Path]) -> None:
    import sqlglot

    code, out, err = run_cli("explain", project())
    assert code == 0, err
    statement = sqlglot.parse(out, read="duckdb")
    assert len([s for s in statement if s is not None]) == 1
    assert "REGEXP_FULL_MATCH" in out and "GROUP BY" in out  # the pattern rule and the uniqueness CTE


def test_explain_with_data_shows_what_the_footer_decides(run_cli: Run, project: Callable[..., Path]) -> None:
    contract = project()
    code, out, err = run_cli("explain", contract, "--data", contract.parent / "data" / "flights.parquet")
    assert code == 0, err
    decided = {line.split(":")[0].removeprefix("-- ") for line in out.splitlines() if "decided from the Parquet footer" in line}
    assert {"id.required", "month.required", "month.range", "row_count"} <= decided
    sql = out[out.index("SELECT"):]
    assert '"month" >= 1' not in sql  # month.range is decided: not in the statement
    assert '"tailnum"' in sql  # the pattern rule is not
    code, _, err = run_cli("explain", contract, "--data", contract.parent / "data" / "nope.parquet")
    assert code == 2 and "not found" in err


def test_explain_with_data_says_which_patterns_run_as_dfas(
    run_cli: Run, tmp_path: Path, write_contract: Callable[..., Path]
) -> None:
    """A pattern in the DFA subset and a regular format run as dq_dfa_match; a pattern
    outside it stays on RE2, with the reason."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dqgate.runners import native

    pq.write_table(pa.table({"a": ["ab", "x"], "b": ["é", "e"], "m": ["a@b.io", "no"]}), tmp_path / "d.parquet")
    contract = write_contract(
        "dataset: t\nschema:\n  columns:\n    a: {pattern: '[ab]+'}\n    b: {pattern: 'é+'}\n    m: {format: email}\n"
    )
    code, out, err = run_cli("explain", contract, "--data", tmp_path / "d.parquet")
    assert code == 0, err
    lines = {line.split(":")[0].removeprefix("-- "): line for line in out.splitlines() if line.startswith("-- ")}
    assert native.enabled()  # the extension is built in CI (build_native.py), so the DFA lines must show
    assert "a DFA of 2 states run by dq_dfa_match" in lines["a.pattern"]
    assert "RE2 (regexp_full_match): non-ASCII" in lines["b.pattern"]
    assert "run by dq_dfa_match" in lines["m.format"]
    sql = out[out.index("SELECT"):]
    assert sql.count("DQ_DFA_MATCH") == 2 and sql.count("REGEXP_FULL_MATCH") == 1
