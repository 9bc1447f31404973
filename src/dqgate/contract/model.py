"""Frozen pydantic models of the contract language: per-field validation only.

Cross-field checks (unknown columns, impossible thresholds, regexes, SQL) live in
``contract/check.py``; this module only says what shape each part must have, which
is also what ``dq schema`` exports as JSON Schema for editors.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Scalar = int | float | str | bool | dt.date | dt.datetime
Bound = int | float | dt.date | dt.datetime | str

TYPE_NAMES = (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "integer",
    "float32", "float64", "number", "decimal", "string", "bool", "date", "timestamp", "time", "binary",
)  # fmt: skip
FORMAT_NAMES = ("email", "uuid", "url", "ipv4", "ipv6", "iso_date", "iso_datetime", "luhn", "iban", "json")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RangeSpec(_Model):
    """Bounds on values; inclusive unless ``exclusive``."""

    min: Bound | None = None
    max: Bound | None = None
    exclusive: bool = False


class LengthSpec(_Model):
    """Bounds on string length in characters (inclusive)."""

    min: Annotated[int, Field(ge=0)] | None = None
    max: Annotated[int, Field(ge=0)] | None = None


class FreshnessSpec(_Model):
    """The newest value of a timestamp column may be at most ``max_age`` old."""

    max_age: str

    @field_validator("max_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``36h``, ``2d``, ``1d12h``, ``90m``, ``45s``."""
    m = _DURATION.match(str(text))
    if not m or not any(m.groups()):
        msg = f"'{text}' is not a duration; write e.g. 36h, 2d, 1d12h, 90m or 45s"
        raise ValueError(msg)
    d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    return float(((d * 24 + h) * 60 + mi) * 60 + s)


class Modifiers(_Model):
    """What every rule accepts: how strict (``mostly``), how serious, which rows."""

    mostly: Annotated[float, Field(gt=0, le=1)] | None = None
    severity: Literal["error", "warn"] = "error"
    where: str | None = None
    scope: Literal["snapshot", "batch"] | None = None  # with publish: append, what a dataset-level rule is judged over


class RuleFields(_Model):
    """The column rules, shared by a column's declaration and a ``column:`` check."""

    required: bool = False
    unique: bool = False
    range: RangeSpec | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1)
    pattern: str | None = None
    length: LengthSpec | None = None
    format: Literal[FORMAT_NAMES] | None = None  # type: ignore[valid-type]
    references: str | None = None
    freshness: FreshnessSpec | None = None


COLUMN_RULES = ("required", "unique", "range", "in", "pattern", "length", "format", "references", "freshness")


class ColumnSpec(RuleFields, Modifiers):
    """One declared column: its type and the rules its values obey."""

    type: Literal[TYPE_NAMES] | None = None  # type: ignore[valid-type]
    description: str | None = None


class SchemaSpec(_Model):
    """The declared columns; ``strict`` rejects columns not listed."""

    strict: bool = False
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    unique: list[Annotated[list[str], Field(min_length=1)]] = Field(default_factory=list)
    key: list[str] | None = None


class ColumnCheck(RuleFields, Modifiers):
    """A column rule written under ``checks:`` (to give it a name or its own modifiers)."""

    column: str
    name: str | None = None


class ExpectCheck(Modifiers):
    """A row-level SQL boolean every applicable row must satisfy."""

    expect: str
    name: str | None = None


class ChangeSpec(_Model):
    """Bound on the relative change of a metric against the previous published version."""

    max: Annotated[float, Field(ge=0)]


class AnomalySpec(_Model):
    """Bound on a metric's distance from its last ``window`` published values."""

    method: Literal["zscore", "mad"] = "zscore"
    window: Annotated[int, Field(ge=3, le=1000)] = 10
    max: Annotated[float, Field(gt=0)] = 3.0


class MetricCheck(_Model):
    """A dataset-level metric and its bounds; per group with ``by``, against history with
    ``change``/``anomaly``; evaluation metrics (``recall``, ``roc_auc``, ...) name their
    ``label`` and ``prediction`` (or ``score``) columns and the ``positive`` class."""

    metric: str
    name: str | None = None
    min: float | int | None = None
    max: float | int | None = None
    between: Annotated[list[float | int], Field(min_length=2, max_length=2)] | None = None
    severity: Literal["error", "warn"] = "error"
    where: str | None = None
    by: Annotated[list[str], Field(min_length=1)] | None = None
    label: str | None = None
    prediction: str | None = None
    score: str | None = None
    positive: int | float | str | bool | None = None
    average: Literal["binary", "macro", "micro", "weighted", "per_class"] | None = None
    change: ChangeSpec | None = None
    anomaly: AnomalySpec | None = None
    scope: Literal["snapshot", "batch"] | None = None  # with publish: append, judged over parent ∪ batch or the batch alone


class DriftColumn(_Model):
    """How one column may drift from the reference snapshot."""

    method: Literal["psi", "ks", "js", "linf", "chi2"]
    bins: Annotated[int, Field(ge=2, le=1000)] = 10
    max: float | None = None
    min: float | None = None
    severity: Literal["error", "warn"] = "error"


class DriftSpec(_Model):
    """Distribution drift of this batch against a published snapshot."""

    reference: int | str = "latest"
    columns: dict[str, DriftColumn] = Field(default_factory=dict)


class GateSpec(_Model):
    """What the gate does with a failing batch, and how a passing one is published."""

    on_failure: Literal["quarantine_batch", "quarantine_rows", "fail"] = "quarantine_batch"
    publish: Literal["append", "replace"] = "append"


class ContractModel(_Model):
    """A whole data contract (the YAML file)."""

    dataset: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")] = "0.1.0"
    owner: str | None = None
    description: str | None = None
    source: str | None = None
    schema_: SchemaSpec = Field(default_factory=SchemaSpec, alias="schema")
    checks: list[dict[str, Any]] = Field(default_factory=list)
    drift: DriftSpec | None = None
    gate: GateSpec = Field(default_factory=GateSpec)
    references: dict[str, str] = Field(default_factory=dict)


CHECK_MODELS: dict[str, type[_Model]] = {"column": ColumnCheck, "expect": ExpectCheck, "metric": MetricCheck}
