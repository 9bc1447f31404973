"""Frozen pydantic models of the contract language: per-field validation only.

Cross-field checks (unknown columns, impossible thresholds, regexes, SQL) live in
``contract/check.py``; this module only says what shape each part must have, which
is also what ``dq schema`` exports as JSON Schema for editors.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from dqgate.contract.bounds import OpenEnds
from dqgate.contract.names import COLUMN_RULES, FORMAT_NAMES, TYPE_NAMES, drift_methods, parse_duration

Scalar = int | float | str | bool | dt.date | dt.datetime
Bound = int | float | dt.date | dt.datetime | str
# A metric bound: a number, or for metrics of dates and timestamps an ISO instant or
# ``now-1d`` (contract/bounds.py); contract/check.py says which fits which metric.
MetricBound = float | int | dt.datetime | dt.date | str

class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def shape_of(value: Any) -> str:
    """Which member of a "short or long form" union a value takes, by its YAML shape.

    The tags are written in angle brackets so ``contract/check.py`` can drop them from
    error locations: a message points at the key the user wrote, not at a union member.
    """
    if isinstance(value, (dict, BaseModel)):
        return "<mapping>"
    return "<list>" if isinstance(value, list) else "<scalar>"


def is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and part.startswith("<") and part.endswith(">")


class RangeSpec(_Model, OpenEnds):
    """Bounds on values; inclusive unless ``exclusive`` (both bounds) or ``exclusive_min`` /
    ``exclusive_max`` (one). On date and timestamp columns a bound may be an ISO instant or
    relative to the check time (``now-52w``, see ``contract/bounds.py``)."""

    min: Bound | None = None
    max: Bound | None = None
    exclusive: bool = False
    exclusive_min: bool = False
    exclusive_max: bool = False


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


class Modifiers(_Model):
    """What every rule accepts: how strict (``mostly``), how serious, which rows."""

    mostly: Annotated[float, Field(gt=0, le=1)] | None = None
    severity: Literal["error", "warn"] = "error"
    where: str | None = None
    scope: Literal["snapshot", "batch"] | None = None  # with publish: append, what a dataset-level rule is judged over


class UniqueOptions(_Model):
    """``unique: {nulls: equal}``: whether NULL keys are values that can repeat.

    ``distinct`` (the default, as SQL's UNIQUE): rows with a NULL key column are not
    judged. ``equal``: NULL is one more key value, so two rows with NULL keys repeat.
    """

    nulls: Literal["distinct", "equal"] = "distinct"


class RuleFields(_Model):
    """The column rules, shared by a column's declaration and a ``column:`` check."""

    required: bool = False
    unique: Annotated[
        Annotated[bool, Tag("<scalar>")] | Annotated[UniqueOptions, Tag("<mapping>")], Discriminator(shape_of)
    ] = False
    range: RangeSpec | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1)
    pattern: str | None = None
    length: LengthSpec | None = None
    format: Literal[FORMAT_NAMES] | None = None  # type: ignore[valid-type]
    references: str | None = None
    freshness: FreshnessSpec | None = None


class ColumnSpec(RuleFields, Modifiers):
    """One declared column: its type and the rules its values obey."""

    type: Literal[TYPE_NAMES] | None = None  # type: ignore[valid-type]
    description: str | None = None
    coerce: bool | None = None  # read numbers of another number type as ``type`` (default: schema.coerce)


class UniqueKey(Modifiers, UniqueOptions):
    """An entry of ``schema.unique`` with modifiers: ``{columns: [a, b], mostly: 0.99, where: ...}``."""

    columns: Annotated[list[str], Field(min_length=1)]
    name: str | None = None


class ForeignKey(Modifiers):
    """``schema.foreign_keys`` entry: every row's ``columns`` (all non-NULL) exist together as
    ``to`` (default: the same names) in a row of the dataset ``references`` names."""

    columns: Annotated[list[str], Field(min_length=1)]
    references: str
    to: Annotated[list[str], Field(min_length=1)] | None = None
    name: str | None = None


class SchemaSpec(_Model):
    """The declared columns; ``strict`` rejects columns not listed."""

    strict: bool = False
    coerce: bool = False  # every column: read numbers of another number type as the declared type
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    unique: list[
        Annotated[
            Annotated[list[str], Field(min_length=1), Tag("<list>")] | Annotated[UniqueKey, Tag("<mapping>")],
            Discriminator(shape_of),
        ]
    ] = Field(default_factory=list)
    key: list[str] | None = None
    foreign_keys: list[ForeignKey] = Field(default_factory=list)


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
    min: MetricBound | None = None
    max: MetricBound | None = None
    greater_than: MetricBound | None = None
    less_than: MetricBound | None = None
    between: Annotated[list[MetricBound], Field(min_length=2, max_length=2)] | None = None
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
    """How one column may drift from the reference snapshot; without ``max``/``min`` the
    statistic is recorded only (status ``info``). ``where`` scopes both the batch and a
    file reference to the rows it holds for."""

    method: Literal["psi", "ks", "js", "linf", "chi2"]
    bins: Annotated[int, Field(ge=2, le=1000)] = 10
    max: float | None = None
    min: float | None = None
    severity: Literal["error", "warn"] = "error"
    where: str | None = None


class DriftSpec(_Model):
    """Distribution drift of this batch against a published snapshot."""

    reference: int | str = "latest"
    columns: dict[
        str,
        Annotated[
            Annotated[DriftColumn, Tag("<mapping>")] | Annotated[list[DriftColumn], Field(min_length=1), Tag("<list>")],
            Discriminator(shape_of),
        ],
    ] = Field(default_factory=dict)

    def methods(self) -> list[tuple[str, int | None, DriftColumn]]:
        """Every (column, index in its list or None for the map form, spec), in file order."""
        return drift_methods(self.columns)


class GateSpec(_Model):
    """What the gate does with a failing batch, and how a passing one is published."""

    on_failure: Literal["quarantine_batch", "quarantine_rows", "fail"] = "quarantine_batch"
    publish: Literal["append", "replace"] = "append"


class NotifySpec(_Model):
    """Where to POST a summary when a check fails (``on: [fail, warn]`` for warnings too).

    Delivery never changes the gate's decision: an undeliverable alert is one warning line.
    """

    url: Annotated[str, Field(pattern=r"^https?://")]
    on: list[Literal["fail", "warn"]] = Field(default_factory=lambda: ["fail"])
    timeout: Annotated[float, Field(gt=0, le=120)] = 5.0
    retries: Annotated[int, Field(ge=0, le=10)] = 3


class ContractModel(_Model):
    """A whole data contract (the YAML file)."""

    dataset: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")] = "0.1.0"
    owner: str | None = None
    description: str | None = None
    source: str | None = None
    nan: Literal["missing", "value"] = "missing"  # a float NaN is a missing value (as in pandas), or a value
    schema_: SchemaSpec = Field(default_factory=SchemaSpec, alias="schema")
    checks: list[dict[str, Any]] = Field(default_factory=list)
    drift: DriftSpec | None = None
    gate: GateSpec = Field(default_factory=GateSpec)
    references: dict[str, str] = Field(default_factory=dict)
    notify: NotifySpec | None = None


CHECK_MODELS: dict[str, type[_Model]] = {"column": ColumnCheck, "expect": ExpectCheck, "metric": MetricCheck}
__all__ = ["COLUMN_RULES", "FORMAT_NAMES", "TYPE_NAMES", "parse_duration"]  # re-exported from names.py
