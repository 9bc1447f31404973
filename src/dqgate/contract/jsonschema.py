"""JSON Schema of the contract language, generated from ``model.py`` for editors."""

from __future__ import annotations

from typing import Any

from dqgate.contract import model as m


def contract_json_schema() -> dict[str, Any]:
    """The schema of a whole contract, with ``checks`` items typed as the three check forms."""
    schema = m.ContractModel.model_json_schema(by_alias=True, mode="validation")
    defs = schema.setdefault("$defs", {})
    variants = []
    for cls in (m.ColumnCheck, m.ExpectCheck, m.MetricCheck):
        sub = cls.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        defs[cls.__name__] = sub
        variants.append({"$ref": f"#/$defs/{cls.__name__}"})
    schema["properties"]["checks"] = {"type": "array", "items": {"anyOf": variants}, "description": "Named rules, expressions and metrics."}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dqgate data contract"
    return schema
