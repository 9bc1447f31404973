"""The words of the contract language that more than its pydantic models need: type,
format and rule names, and durations (``36h``). Kept apart from ``model.py`` so the
cross-field checks (``check.py``, ``ml_check.py``) and ``shape.py`` import no pydantic.
"""

from __future__ import annotations

import re
from typing import Any

TYPE_NAMES = (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "integer",
    "float32", "float64", "number", "decimal", "string", "bool", "date", "timestamp", "time", "binary",
)  # fmt: skip
FORMAT_NAMES = ("email", "uuid", "url", "ipv4", "ipv6", "iso_date", "iso_datetime", "luhn", "iban", "json")
COLUMN_RULES = ("required", "unique", "range", "in", "pattern", "length", "format", "references", "freshness")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*w)?\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``36h``, ``2d``, ``1d12h``, ``90m``, ``45s``, ``52w``."""
    m = _DURATION.match(str(text))
    if not m or not any(m.groups()):
        msg = f"'{text}' is not a duration; write e.g. 36h, 2d, 1d12h, 90m or 45s"
        raise ValueError(msg)
    w, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    return float((((w * 7 + d) * 24 + h) * 60 + mi) * 60 + s)


def drift_methods(columns: dict[str, Any]) -> list[tuple[str, int | None, Any]]:
    """Every (column, index in its list or None for the map form, spec) of a ``drift:``
    section's ``columns``, in file order (the model's and the shape record's ``methods``)."""
    out: list[tuple[str, int | None, Any]] = []
    for name, spec in columns.items():
        if isinstance(spec, list):
            out += [(name, i, s) for i, s in enumerate(spec)]
        else:
            out.append((name, None, spec))
    return out
