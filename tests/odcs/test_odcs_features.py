"""One ODCS document per mapped feature (shapes from the standard's documentation):
each is checked on data that passes and on data that fails exactly that feature."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import dqgate
from dqgate.contract import load_contract
from odcs_helpers import odcs, write_parquet

ID = {"name": "id", "logicalType": "integer", "physicalType": "int64"}

# (name, properties, schema-level quality, passing data, failing data, id of the rule that must fail)
CASES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]] | None, dict[str, list[Any]], dict[str, list[Any]], str]] = [
    ("required", [{**ID, "required": True}], None, {"id": [1, 2]}, {"id": [1, None]}, "id.required"),
    ("unique", [{**ID, "unique": True}], None, {"id": [1, 2]}, {"id": [1, 1]}, "id.unique"),
    ("minimum/maximum", [{**ID, "logicalTypeOptions": {"minimum": 1, "maximum": 10}}], None, {"id": [1, 10]}, {"id": [1, 11]}, "id.range"),
    ("exclusiveMaximum (v3.1 value)", [{**ID, "logicalTypeOptions": {"exclusiveMaximum": 10}}], None, {"id": [9]}, {"id": [10]}, "id.range"),
    ("exclusiveMinimum (v3.0 flag)", [{**ID, "logicalTypeOptions": {"minimum": 0, "exclusiveMinimum": True}}], None, {"id": [1]}, {"id": [0]}, "id.range"),
    ("pattern (searched)", [{"name": "code", "logicalType": "string", "logicalTypeOptions": {"pattern": "[0-9]{2}"}}], None,
     {"code": ["ab12cd", "99"]}, {"code": ["ab1cd"]}, "code.pattern"),
    ("pattern (anchored)", [{"name": "code", "logicalType": "string", "logicalTypeOptions": {"pattern": "^[A-Z]{2}$"}}], None,
     {"code": ["AB"]}, {"code": ["ABC"]}, "code.pattern"),
    ("format email", [{"name": "mail", "logicalType": "string", "logicalTypeOptions": {"format": "email"}}], None,
     {"mail": ["a@b.org"]}, {"mail": ["not-an-email"]}, "mail.format"),
    ("minLength/maxLength", [{"name": "code", "logicalType": "string", "logicalTypeOptions": {"minLength": 2, "maxLength": 3}}], None,
     {"code": ["ab", "abc"]}, {"code": ["abcd"]}, "code.length"),
    ("nullValues mustBe 0", [{**ID, "quality": [{"metric": "nullValues", "mustBe": 0}]}], None, {"id": [1]}, {"id": [1, None]}, "id.required"),
    ("nullValues percent", [{**ID, "quality": [{"metric": "nullValues", "mustBeLessThan": 50, "unit": "percent"}]}], None,
     {"id": [1, 2, None]}, {"id": [1, None]}, "null_fraction(id)"),
    ("missingValues", [{"name": "mail", "logicalType": "string",
                        "quality": [{"metric": "missingValues", "arguments": {"missingValues": [None, "", "N/A"]}, "mustBeLessThan": 2}]}],
     None, {"mail": ["a", "", "b"]}, {"mail": ["N/A", None, "x"]}, "mail.missingValues"),
    ("invalidValues validValues", [{"name": "unit", "logicalType": "string",
                                    "quality": [{"metric": "invalidValues", "arguments": {"validValues": ["pounds", "kg"]}, "mustBe": 0}]}],
     None, {"unit": ["kg", None]}, {"unit": ["kg", "stone"]}, "unit.in"),
    ("invalidValues pattern with threshold", [{"name": "iban", "logicalType": "string",
                                               "quality": [{"metric": "invalidValues", "arguments": {"pattern": "^[A-Z]{2}[0-9]{2}"},
                                                            "mustBeLessOrEqualTo": 1}]}],
     None, {"iban": ["DE12x", "zz"]}, {"iban": ["zz", "yy", "DE12"]}, "iban.invalidValues"),
    ("duplicateValues mustBe 0", [{**ID, "quality": [{"metric": "duplicateValues", "mustBe": 0}]}], None, {"id": [1, 2]}, {"id": [2, 2]}, "id.unique"),
    ("duplicateValues percent", [{**ID, "quality": [{"metric": "duplicateValues", "mustBeLessThan": 30, "unit": "percent"}]}],
     None, {"id": [1, 2, 3, 3]}, {"id": [1, 1, 2]}, "id.duplicateValues"),
    ("rowCount mustBeBetween", [ID], [{"metric": "rowCount", "mustBeBetween": [2, 3]}], {"id": [1, 2]}, {"id": [1]}, "row_count"),
    ("rowCount mustBeGreaterThan", [ID], [{"metric": "rowCount", "mustBeGreaterThan": 1}], {"id": [1, 2]}, {"id": [1]}, "row_count"),
    ("schema duplicateValues over properties", [ID, {"name": "line", "logicalType": "integer"}],
     [{"metric": "duplicateValues", "mustBe": 0, "arguments": {"properties": ["id", "line"]}}],
     {"id": [1, 1], "line": [1, 2]}, {"id": [1, 1], "line": [2, 2]}, "id+line.unique"),
    ("sql with {object} and {property}", [{**ID, "quality": [{"type": "sql", "name": "few_big",
                                                             "query": "SELECT COUNT(*) FROM {object} WHERE {property} > 100",
                                                             "mustBeLessThan": 2}]}],
     None, {"id": [1, 200]}, {"id": [300, 200]}, "few_big"),
    ("sql with ${object}", [ID], [{"type": "sql", "name": "total", "query": "SELECT sum(id) FROM ${object}", "mustBeLessOrEqualTo": 10}],
     {"id": [1, 2]}, {"id": [10, 2]}, "total"),
    ("severity warning", [{"name": "unit", "logicalType": "string",
                           "quality": [{"metric": "invalidValues", "arguments": {"validValues": ["kg"]}, "mustBe": 0, "severity": "warning"}]}],
     None, {"unit": ["kg"]}, {"unit": ["lb"]}, "unit.in"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_feature_passes_and_fails(case: tuple[Any, ...], tmp_path: Path) -> None:
    _, props, quality, good, bad, rule_id = case
    path = tmp_path / "orders.odcs.yaml"
    path.write_text(odcs(props, quality=quality))
    contract = load_contract(str(path))
    ok = dqgate.check(str(write_parquet(tmp_path / "good.parquet", good)), contract)
    assert ok.status == "pass", [(c.id, c.status, c.observed) for c in ok.checks]
    failed = dqgate.check(str(write_parquet(tmp_path / "bad.parquet", bad)), contract)
    by_id = {c.id: c for c in failed.checks}
    assert rule_id in by_id, list(by_id)
    expected = "warn" if "warning" in case[0] else "fail"
    assert by_id[rule_id].status == expected
    assert [c.id for c in failed.checks if c.status != "pass"] == [rule_id]


def test_primary_key_composite_by_position(tmp_path: Path) -> None:
    props = [{"name": "line", "logicalType": "integer", "primaryKey": True, "primaryKeyPosition": 2},
             {"name": "order", "logicalType": "integer", "primaryKey": True, "primaryKeyPosition": 1}]  # fmt: skip
    path = tmp_path / "c.yaml"
    path.write_text(odcs(props))
    assert load_contract(str(path)).key_columns() == ("order", "line")


def test_foreign_key_relationship_reads_the_referenced_data(tmp_path: Path) -> None:
    write_parquet(tmp_path / "customers.parquet", {"id": [1, 2]})
    props = [ID, {"name": "customer_id", "logicalType": "integer", "relationships": [{"type": "foreignKey", "to": "customers.id"}]}]
    path = tmp_path / "c.yaml"
    path.write_text(odcs(props, customProperties=[{"property": "dqgate", "value": {"references": {"customers": "customers.parquet"}}}]))
    contract = load_contract(str(path))
    assert dqgate.check(str(write_parquet(tmp_path / "a.parquet", {"id": [1], "customer_id": [2]})), contract).status == "pass"
    bad = dqgate.check(str(write_parquet(tmp_path / "b.parquet", {"id": [1], "customer_id": [3]})), contract)
    assert {c.id: c.status for c in bad.checks}["customer_id.references"] == "fail"


def test_sla_latency_is_freshness(tmp_path: Path) -> None:
    props = [{"name": "loaded_at", "logicalType": "timestamp"}]
    path = tmp_path / "c.yaml"
    path.write_text(odcs(props, slaProperties=[{"property": "latency", "value": 4, "unit": "d", "element": "orders.loaded_at"}]))
    contract = load_contract(str(path))
    assert contract.columns["loaded_at"].freshness.max_age == "4d"
    now = dt.datetime(2025, 1, 10, tzinfo=dt.timezone.utc)
    data = write_parquet(tmp_path / "d.parquet", {"loaded_at": [dt.datetime(2025, 1, 7)]}, {"loaded_at": pa.timestamp("us")})
    assert dqgate.check(str(data), contract, as_of=now).status == "pass"
    assert dqgate.check(str(data), contract, as_of=now + dt.timedelta(days=2)).status == "fail"


def test_object_is_chosen_among_several(tmp_path: Path, run_cli: Any) -> None:
    text = odcs([ID]).replace("schema:\n", "schema:\n- name: customers\n  properties:\n  - name: cid\n    logicalType: string\n")
    path = tmp_path / "c.yaml"
    path.write_text(text)
    data = write_parquet(tmp_path / "d.parquet", {"id": [1]})
    code, _, err = run_cli("check", path, "--data", data)
    assert code == 2 and "2 schema objects (customers, orders); choose one with --object" in err
    code, out, _ = run_cli("check", path, "--data", data, "--object", "orders")
    assert code == 0, out
    code, _, err = run_cli("check", path, "--data", data, "--object", "order")
    assert code == 2 and "Did you mean 'orders'?" in err
