"""dqgate -> ODCS -> dqgate gives the same rules; the ODCS written is valid for the standard's models."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from dqgate.contract import load_contract
from dqgate.contract.load import load_text
from dqgate.contract.odcs import validate
from dqgate.contract.odcs_export import to_odcs
from dqgate.ir.nodes import Freshness
from dqgate.ir.plan import plan

ROOT = Path(__file__).resolve().parents[2]

ALL_FEATURES = """
dataset: orders
version: 2.3.1
description: every rule dqgate can say
source: data/orders.parquet
schema:
  strict: true
  key: [order_id, line]
  columns:
    order_id: {type: int64, required: true}
    line:     {type: int32, required: true, range: {min: 1, max: 99}}
    amount:   {type: float64, range: {min: 0, max: 1000, exclusive: true}}
    code:     {type: string, pattern: '[A-Z]{2}-[0-9]+|X', length: {min: 3, max: 12}}
    plain:    {type: string, pattern: '^[a-z]+$'}
    mail:     {type: string, format: email, unique: true}
    site:     {type: string, format: url}
    day:      {type: date, format: null, range: {min: 2020-01-01}}
    status:   {type: string, in: [new, shipped, 'N/A']}
    country:  {type: string, references: countries.code}
    loaded:   {type: timestamp, freshness: {max_age: 1d12h}}
    tail:     {type: string, pattern: '^N', mostly: 0.9}
    note:     {type: string, severity: warn, length: {max: 5}}
  unique: [[order_id, line]]
checks:
  - metric: row_count
    between: [1, 1000000]
  - metric: null_fraction(amount)
    max: 0.07
  - metric: null_count(mail)
    max: 3
    severity: warn
  - name: big_orders
    metric: "count(*) FILTER (WHERE amount > 500)"
    max: 10
  - metric: "sum(amount)"
    min: 0
    where: "status = 'shipped'"
  - metric: mean(amount)
    between: [0, 900]
  - expect: "line <= 50 OR status = 'new'"
    name: long_orders_new
  - column: code
    required: true
    name: code_present
  - metric: mean(amount)
    by: [status]
    max: 800
    name: per_status
drift:
  reference: latest
  columns:
    amount: {method: psi, max: 0.2}
gate:
  on_failure: quarantine_rows
references:
  countries: data/countries.parquet
"""


def _rules(contract: object) -> list[object]:
    """The planned rules without their YAML line; freshness by its seconds (ODCS writes one unit: 1d12h comes back as 36h)."""
    out = []
    for rule in plan(contract):  # type: ignore[arg-type]
        rule = dataclasses.replace(rule, line=0)
        for f in dataclasses.fields(rule):  # rules nested in a rule (a sliced metric's metric) have lines too
            inner = getattr(rule, f.name)
            if dataclasses.is_dataclass(inner) and hasattr(inner, "line"):
                rule = dataclasses.replace(rule, **{f.name: dataclasses.replace(inner, line=0)})
        if isinstance(rule, Freshness):
            rule = dataclasses.replace(rule, max_age="")
        out.append(rule)
    return sorted(out, key=lambda r: r.id)


def _contracts() -> list[tuple[str, str]]:
    found = [("all-features", ALL_FEATURES.replace("format: null, ", ""))]
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        found.append((path.name, path.read_text()))
    return found


@pytest.mark.parametrize("name,text", _contracts(), ids=[n for n, _ in _contracts()])
def test_round_trip_keeps_every_rule(name: str, text: str, tmp_path: Path) -> None:
    original = tmp_path / "contract.yaml"
    original.write_text(text)
    before = load_contract(str(original))
    document = to_odcs(before)
    OpenDataContractStandard.model_validate(document)  # the standard's own models accept it
    written = yaml.safe_dump(document, sort_keys=False)
    assert validate(load_text(written, "x.odcs.yaml")) == []  # and no key the standard lacks
    odcs_file = tmp_path / "contract.odcs.yaml"
    odcs_file.write_text(written)
    after = load_contract(str(odcs_file))
    assert _rules(after) == _rules(before)
    assert after.model.schema_.key == before.model.schema_.key
    assert after.model.gate == before.model.gate and after.model.drift == before.model.drift
    assert after.model.references == before.model.references and after.model.source == before.model.source


def test_native_parts_are_written_the_standard_way(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(ALL_FEATURES.replace("format: null, ", ""))
    doc = to_odcs(load_contract(str(path)))
    props = {p["name"]: p for p in doc["schema"][0]["properties"]}
    assert props["order_id"]["primaryKey"] and props["line"]["primaryKeyPosition"] == 2
    assert props["amount"]["logicalTypeOptions"] == {"exclusiveMinimum": 0, "exclusiveMaximum": 1000}
    assert props["code"]["logicalTypeOptions"]["pattern"] == "^(?:[A-Z]{2}-[0-9]+|X)$"
    assert props["plain"]["logicalTypeOptions"]["pattern"] == "^^[a-z]+$$"
    assert props["site"]["logicalTypeOptions"]["format"] == "uri"
    assert props["status"]["quality"][0]["arguments"] == {"validValues": ["new", "shipped", "N/A"]}
    assert props["country"]["relationships"] == [{"type": "foreignKey", "to": "countries.code"}]
    assert doc["slaProperties"] == [{"property": "latency", "value": 36, "unit": "h", "element": "orders.loaded"}]
    assert props["amount"]["quality"][0]["mustBeLessOrEqualTo"] == 7.0  # null_fraction 0.07 as percent
    kinds = [(q.get("metric"), q.get("type")) for q in doc["schema"][0]["quality"]]
    assert ("duplicateValues", "library") in kinds and ("rowCount", "library") in kinds and (None, "sql") in kinds
    custom = doc["customProperties"][0]["value"]
    assert set(custom) == {"checks", "columns", "strict", "drift", "gate", "references"}
    assert set(custom["columns"]) == {"tail", "note"}
