"""A dqgate contract as an ODCS v3 document (``dq export odcs``).

What ODCS can say is written the standard's way, so other ODCS tools read it:
types, ``required``, ``unique``, the key as ``primaryKey``/``primaryKeyPosition``,
ranges, lengths, patterns and formats as ``logicalTypeOptions``, ``in`` as an
``invalidValues`` rule, references as foreign-key ``relationships``, composite
uniqueness and row counts and null counts as library metrics, SQL metrics as
``sql`` rules, freshness as a ``latency`` SLA. What ODCS has no words for (row
expressions, ``mostly``/``where`` modifiers, drift, history and ML metrics, the gate,
reference data paths) is kept verbatim in one ``customProperties`` entry named
``dqgate``, so ``dq import odcs`` gives back a contract with the same rules.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from dqgate.contract import model as m
from dqgate.contract.metric import MetricProblem, parse_metric
from dqgate.contract.odcs_rules import FORMATS, TYPE_TO_LOGICAL, fraction_to_percent, searched, severity_name

if TYPE_CHECKING:
    from dqgate.contract.contract import Contract

API_VERSION = "v3.1.0"
_FORMAT_NAMES = {dq: odcs for odcs, dq in reversed(list(FORMATS.items()))}
_NATIVE_METRIC_KEYS = {"metric", "name", "min", "max", "between", "severity", "where"}
_RULE_KEYS = set(m.COLUMN_RULES)


def to_odcs(contract: Contract) -> dict[str, Any]:
    """The ODCS v3 document of ``contract`` (a plain mapping, ready for YAML)."""
    raw: dict[str, Any] = contract.doc.value
    model = contract.model
    name = model.dataset
    custom: dict[str, Any] = {}
    doc: dict[str, Any] = {"apiVersion": API_VERSION, "kind": "DataContract", "id": name, "name": name,
                           "version": model.version, "status": "active"}  # fmt: skip
    if model.description:
        doc["description"] = {"purpose": model.description}
    if model.source:
        ext = os.path.splitext(model.source)[1].lstrip(".").lower() or "parquet"
        doc["servers"] = [{"server": "default", "type": "local", "format": ext, "path": model.source}]
    obj: dict[str, Any] = {"name": name, "physicalType": "table", "logicalType": "object", "properties": []}
    raw_columns = (raw.get("schema") or {}).get("columns") or {}
    key = list(model.schema_.key or [])
    sla: list[dict[str, Any]] = []
    for col, spec in model.schema_.columns.items():
        prop = _property(col, spec, raw_columns.get(col) or {}, custom, sla, name)
        if col in key:
            prop["primaryKey"] = True
            prop["primaryKeyPosition"] = key.index(col) + 1
        obj["properties"].append(prop)
    by_name = {p["name"]: p for p in obj["properties"]}
    for cols in model.schema_.unique:
        obj.setdefault("quality", []).append({"type": "library", "metric": "duplicateValues", "mustBe": 0, "arguments": {"properties": list(cols)}})
    for i, check in enumerate(contract.checks):
        written = (raw.get("checks") or [])[i]
        if not _native_metric(check, written, obj, by_name, contract):
            custom.setdefault("checks", []).append(written)
    if model.schema_.strict:
        custom["strict"] = True
    for key_name in ("owner", "drift", "gate", "references", "notify"):
        if raw.get(key_name) is not None:
            custom[key_name] = raw[key_name]
    doc["schema"] = [obj]
    if sla:
        doc["slaProperties"] = sla
    if custom:
        doc["customProperties"] = [{"property": "dqgate", "value": custom}]
    return doc


def _property(col: str, spec: m.ColumnSpec, written: dict[str, Any], custom: dict[str, Any], sla: list[dict[str, Any]], obj: str) -> dict[str, Any]:
    prop: dict[str, Any] = {"name": col}
    if spec.type:
        prop["logicalType"] = TYPE_TO_LOGICAL[spec.type]
        prop["physicalType"] = spec.type
    if spec.description:
        prop["description"] = spec.description
    rules = {k: v for k, v in written.items() if k in _RULE_KEYS or k in ("mostly", "where", "severity")}
    if spec.mostly is not None or spec.where is not None or spec.severity != "error":
        if rules:  # a modifier applies to every rule of the column: ODCS cannot say that, keep them together
            custom.setdefault("columns", {})[col] = rules
        return prop
    if spec.required:
        prop["required"] = True
    if spec.unique:
        prop["unique"] = True
    options: dict[str, Any] = {}
    if spec.range is not None:
        for bound, value in (("minimum", spec.range.min), ("maximum", spec.range.max)):
            if value is not None:
                options[("exclusiveM" + bound[1:]) if spec.range.exclusive else bound] = value
    if spec.length is not None:
        options.update({k: v for k, v in (("minLength", spec.length.min), ("maxLength", spec.length.max)) if v is not None})
    if spec.pattern is not None:
        options["pattern"] = searched(spec.pattern)
    if spec.format is not None:
        options["format"] = _FORMAT_NAMES.get(spec.format, spec.format)
    if options:
        prop["logicalTypeOptions"] = options
    if spec.in_ is not None:
        prop["quality"] = [{"type": "library", "metric": "invalidValues", "arguments": {"validValues": list(spec.in_)}, "mustBe": 0}]
    if spec.references is not None:
        prop["relationships"] = [{"type": "foreignKey", "to": spec.references}]
    if spec.freshness is not None:
        seconds = int(m.parse_duration(spec.freshness.max_age))
        value, unit = next((seconds // size, u) for u, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)) if seconds % size == 0)
        sla.append({"property": "latency", "value": value, "unit": unit, "element": f"{obj}.{col}"})
    return prop


def _native_metric(check: Any, written: dict[str, Any], obj: dict[str, Any], props: dict[str, dict[str, Any]], contract: Contract) -> bool:
    """Write a metric check as an ODCS library or sql rule when ODCS can say all of it."""
    if not isinstance(check, m.MetricCheck) or set(written) - _NATIVE_METRIC_KEYS:
        return False
    declared = {c.lower(): c for c in contract.columns}
    try:
        parsed = parse_metric(check.metric, declared)
    except MetricProblem:
        return False
    rule: dict[str, Any] = {"name": check.name or check.metric}
    if check.severity != "error":
        rule["severity"] = severity_name(check.severity)
    lo, hi = (check.between if check.between else (check.min, check.max))
    if parsed.func == "row_count" and check.where is None:
        target = obj
        rule.update({"type": "library", "metric": "rowCount"})
    elif parsed.func in ("null_count", "null_fraction") and check.where is None and parsed.column in props:
        target = props[parsed.column]
        rule.update({"type": "library", "metric": "nullValues", "unit": "rows" if parsed.func == "null_count" else "percent"})
        if parsed.func == "null_fraction":
            lo, hi = fraction_to_percent(lo), fraction_to_percent(hi)
    elif parsed.func == "sql":
        import sqlglot

        select = exp.select(sqlglot.parse_one(check.metric, read="duckdb")).from_(exp.to_table("__object__"))
        if check.where is not None:
            select = select.where(sqlglot.parse_one(check.where, read="duckdb"))
        target = obj
        rule.update({"type": "sql", "query": select.sql("duckdb").replace("__object__", "{object}")})
    else:
        return False
    if check.between:
        rule["mustBeBetween"] = [lo, hi]
    else:
        if lo is not None:
            rule["mustBeGreaterOrEqualTo"] = lo
        if hi is not None:
            rule["mustBeLessOrEqualTo"] = hi
    target.setdefault("quality", []).append(rule)
    return True


__all__ = ["API_VERSION", "to_odcs"]
