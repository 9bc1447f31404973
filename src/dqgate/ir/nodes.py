"""The engine-neutral rule IR: one small frozen record per rule kind.

Every rule carries a stable ``id`` (``column.rule`` or the name the contract gave),
its ``severity``, ``mostly`` and ``where`` (user SQL, already validated). Row rules
count failing rows among the rows they apply to; dataset rules compute one metric.
Compilers dispatch on the class, so adding a kind means adding a class here and a
handler per compiler, never an optional field on a shared record.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from dqgate.contract.bounds import OpenEnds

def rule_class(cls: type) -> type:
    """Declare a rule class (every class below, and any new kind, uses it).

    Each is a dataclass for its fields (``dataclasses.fields`` and ``replace`` work on
    rules) but shares :class:`Rule`'s frozen, keyword-only methods instead of having them
    generated: ``@dataclass(frozen=True)`` compiles six methods per class, ~120 for the
    classes below, which took 17 ms (quiet) to 40 ms (loaded) of every process that
    imports the IR, among them the ~0.3 s replayed `dq check` of a small file
    (runners/replay.py). ``tests/ir/test_rule_records.py`` holds them equal to the
    generated ones.
    """
    return dataclass(kw_only=True, init=False, repr=False, eq=False)(cls)


@rule_class
class Rule:
    """Fields every rule has.

    A rule is immutable, equal to another of the same class with equal fields, hashed by
    its fields, and built from keywords only, like a ``@dataclass(frozen=True,
    kw_only=True)``.
    """

    id: str
    severity: str = "error"
    where: str | None = None
    columns: tuple[str, ...] = ()
    line: int = 0
    scope: str = "snapshot"  # "batch": judged on the batch alone even when appending (gate/snapshot_scope.py)

    kind: ClassVar[str] = "rule"
    row_level: ClassVar[bool] = False

    def __init__(self, **values: Any) -> None:
        fields = _fields_of(type(self))
        if len(values) > len(fields) or not values.keys() <= fields.keys():
            extra = next(name for name in values if name not in fields)
            raise TypeError(f"{type(self).__qualname__}() got an unexpected keyword argument {extra!r}")
        for name, default in fields.items():
            if name in values:
                object.__setattr__(self, name, values[name])
            elif default is dataclasses.MISSING:
                raise TypeError(f"{type(self).__qualname__}() missing the required keyword argument {name!r}")
            else:
                object.__setattr__(self, name, default)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _fields_of(type(self)))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _fields_of(type(self)))
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _fields_of(cls: type) -> dict[str, Any]:
    """``{name: default}`` of every field of rule class ``cls`` in declaration order, kept on
    the class the first time it is asked (default ``MISSING`` when the field must be given)."""
    got = cls.__dict__.get("_rule_fields")
    if got is None:
        got = {f.name: f.default for f in dataclasses.fields(cls)}
        type.__setattr__(cls, "_rule_fields", got)
    return got  # type: ignore[no-any-return]


@rule_class
class RowRule(Rule):
    """A rule each row passes or fails; ``mostly`` is the fraction that must pass."""

    mostly: float | None = None
    row_level: ClassVar[bool] = True

    @property
    def column(self) -> str:
        return self.columns[0]


@rule_class
class NotNull(RowRule):
    kind: ClassVar[str] = "required"


@rule_class
class Unique(RowRule):
    """Every row whose key occurs more than once fails.

    ``nulls_equal``: NULL is a key value like any other (``unique: {nulls: equal}``);
    otherwise rows with a NULL key column are not judged. Results also count the
    repeated keys (``duplicate_groups``) and the rows beyond one per key (``excess_rows``).
    """

    nulls_equal: bool = False
    kind: ClassVar[str] = "unique"


@rule_class
class Range(RowRule, OpenEnds):
    """``min``/``max`` may be a :class:`~dqgate.contract.bounds.RelativeInstant` until the
    check runs (``ir/instants.py`` makes it an instant); ``exclusive`` opens both ends."""

    min: Any = None
    max: Any = None
    exclusive: bool = False
    exclusive_min: bool = False
    exclusive_max: bool = False
    kind: ClassVar[str] = "range"


@rule_class
class InSet(RowRule):
    values: tuple[Any, ...] = ()
    kind: ClassVar[str] = "in"


@rule_class
class Pattern(RowRule):
    """The whole value matches an RE2 regular expression."""

    regex: str = ""
    kind: ClassVar[str] = "pattern"


@rule_class
class Length(RowRule):
    min: int | None = None
    max: int | None = None
    kind: ClassVar[str] = "length"


@rule_class
class Format(RowRule):
    """A well-known string format validated by a Cython kernel (email, uuid, ...)."""

    format: str = ""
    kind: ClassVar[str] = "format"


@rule_class
class Expect(RowRule):
    """A row-level SQL boolean; a NULL result is not a failure (three-valued logic)."""

    sql: str = ""
    kind: ClassVar[str] = "expect"


@rule_class
class Reference(RowRule):
    """Every non-null value exists in ``ref_column`` of the dataset named ``ref``."""

    ref: str = ""
    ref_column: str = ""
    kind: ClassVar[str] = "references"


@rule_class
class ForeignKey(RowRule):
    """A composite reference: each row's ``columns`` (none NULL) equal ``ref_columns`` of one
    row of the dataset named ``ref`` (reference rows with a NULL there match nothing)."""

    ref: str = ""
    ref_columns: tuple[str, ...] = ()
    kind: ClassVar[str] = "references"


@rule_class
class Metric(Rule):
    """A dataset-level value with optional bounds, inclusive unless ``exclusive_min`` /
    ``exclusive_max`` (``greater_than:`` / ``less_than:``); without bounds it is recorded only.

    ``func`` is one of the builtin metrics, or ``sql`` for a user aggregate in ``sql``.
    Bounds are numbers, or instants for metrics of dates and timestamps (relative ones
    until the check runs, as for :class:`Range`).
    """

    func: str = "row_count"
    q: float | None = None
    sql: str | None = None
    min: Any = None
    max: Any = None
    exclusive_min: bool = False
    exclusive_max: bool = False
    kind: ClassVar[str] = "metric"


@rule_class
class Freshness(Rule):
    """The newest value of a timestamp column is at most ``max_age_s`` old at check time."""

    max_age_s: float = 0.0
    max_age: str = ""
    kind: ClassVar[str] = "freshness"


@rule_class
class StrictSchema(Rule):
    """No column beyond the declared ones (``schema.strict``); decided from the schema."""

    allowed: tuple[str, ...] = ()
    kind: ClassVar[str] = "schema"


@rule_class
class Drift(Rule):
    """Distribution drift of one column against a reference snapshot or file (``drift:``).

    ``reference`` is what the contract names ("latest", a version, a path); ``ref`` is
    the bound :class:`dqgate.stats.drift.Reference`, or ``ref_error`` says why there is none.
    Binding reads the store, so it happens before compiling (``profile.bind_drift``).
    """

    method: str = "psi"
    bins: int = 10
    min: float | None = None
    max: float | None = None
    reference: int | str = "latest"
    ref: Any = None
    ref_error: str | None = None
    kind: ClassVar[str] = "drift"


@rule_class
class SlicedMetric(Rule):
    """A metric computed per group of the ``by`` columns: one result per group."""

    metric: Metric
    by: tuple[str, ...] = ()
    kind: ClassVar[str] = "metric"


@rule_class
class EvalMetric(Rule):
    """A model-evaluation metric over label and prediction (or score) columns, maybe per group.

    ``average`` is ``binary`` (``positive`` is the positive class), ``macro``,
    ``micro``, ``weighted``, or ``per_class`` (one result per class).
    """

    func: str = "accuracy"
    label: str = ""
    prediction: str | None = None
    score: str | None = None
    positive: Any = None
    average: str = "binary"
    min: float | None = None
    max: float | None = None
    by: tuple[str, ...] = ()
    kind: ClassVar[str] = "metric"


@rule_class
class Change(Rule):
    """A metric's relative change against the previous published version, ``|x - prev| / |prev|``."""

    metric_id: str = ""
    max: float = 0.0
    kind: ClassVar[str] = "change"


@rule_class
class Anomaly(Rule):
    """A metric's distance from its last ``window`` published values, in (robust) standard deviations."""

    metric_id: str = ""
    method: str = "zscore"
    window: int = 10
    max: float = 3.0
    kind: ClassVar[str] = "anomaly"


ROW_RULES = (NotNull, Unique, Range, InSet, Pattern, Length, Format, Expect, Reference, ForeignKey)
HISTORY_RULES = (Change, Anomaly)
ML_RULES = (Drift, SlicedMetric, EvalMetric)  # assembled by runners/assemble_ml.py
ALL_RULES = (*ROW_RULES, Metric, Freshness, StrictSchema, Drift, SlicedMetric, EvalMetric, *HISTORY_RULES)
