"""The engine-neutral rule IR: one small frozen record per rule kind.

Every rule carries a stable ``id`` (``column.rule`` or the name the contract gave),
its ``severity``, ``mostly`` and ``where`` (user SQL, already validated). Row rules
count failing rows among the rows they apply to; dataset rules compute one metric.
Compilers dispatch on the class, so adding a kind means adding a class here and a
handler per compiler, never an optional field on a shared record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class Rule:
    """Fields every rule has."""

    id: str
    severity: str = "error"
    where: str | None = None
    columns: tuple[str, ...] = ()
    line: int = 0
    scope: str = "snapshot"  # "batch": judged on the batch alone even when appending (gate/snapshot_scope.py)

    kind: ClassVar[str] = "rule"
    row_level: ClassVar[bool] = False


@dataclass(frozen=True, kw_only=True)
class RowRule(Rule):
    """A rule each row passes or fails; ``mostly`` is the fraction that must pass."""

    mostly: float | None = None
    row_level: ClassVar[bool] = True

    @property
    def column(self) -> str:
        return self.columns[0]


@dataclass(frozen=True, kw_only=True)
class NotNull(RowRule):
    kind: ClassVar[str] = "required"


@dataclass(frozen=True, kw_only=True)
class Unique(RowRule):
    """Every row whose key occurs more than once fails.

    ``nulls_equal``: NULL is a key value like any other (``unique: {nulls: equal}``);
    otherwise rows with a NULL key column are not judged. Results also count the
    repeated keys (``duplicate_groups``) and the rows beyond one per key (``excess_rows``).
    """

    nulls_equal: bool = False
    kind: ClassVar[str] = "unique"


@dataclass(frozen=True, kw_only=True)
class Range(RowRule):
    """``min``/``max`` may be a :class:`~dqgate.contract.bounds.RelativeInstant` until the
    check runs (``ir/instants.py`` makes it an instant); ``exclusive`` opens both ends."""

    min: Any = None
    max: Any = None
    exclusive: bool = False
    exclusive_min: bool = False
    exclusive_max: bool = False
    kind: ClassVar[str] = "range"

    @property
    def open_min(self) -> bool:
        return self.exclusive or self.exclusive_min

    @property
    def open_max(self) -> bool:
        return self.exclusive or self.exclusive_max


@dataclass(frozen=True, kw_only=True)
class InSet(RowRule):
    values: tuple[Any, ...] = ()
    kind: ClassVar[str] = "in"


@dataclass(frozen=True, kw_only=True)
class Pattern(RowRule):
    """The whole value matches an RE2 regular expression."""

    regex: str = ""
    kind: ClassVar[str] = "pattern"


@dataclass(frozen=True, kw_only=True)
class Length(RowRule):
    min: int | None = None
    max: int | None = None
    kind: ClassVar[str] = "length"


@dataclass(frozen=True, kw_only=True)
class Format(RowRule):
    """A well-known string format validated by a Cython kernel (email, uuid, ...)."""

    format: str = ""
    kind: ClassVar[str] = "format"


@dataclass(frozen=True, kw_only=True)
class Expect(RowRule):
    """A row-level SQL boolean; a NULL result is not a failure (three-valued logic)."""

    sql: str = ""
    kind: ClassVar[str] = "expect"


@dataclass(frozen=True, kw_only=True)
class Reference(RowRule):
    """Every non-null value exists in ``ref_column`` of the dataset named ``ref``."""

    ref: str = ""
    ref_column: str = ""
    kind: ClassVar[str] = "references"


@dataclass(frozen=True, kw_only=True)
class ForeignKey(RowRule):
    """A composite reference: each row's ``columns`` (none NULL) equal ``ref_columns`` of one
    row of the dataset named ``ref`` (reference rows with a NULL there match nothing)."""

    ref: str = ""
    ref_columns: tuple[str, ...] = ()
    kind: ClassVar[str] = "references"


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
class Freshness(Rule):
    """The newest value of a timestamp column is at most ``max_age_s`` old at check time."""

    max_age_s: float = 0.0
    max_age: str = ""
    kind: ClassVar[str] = "freshness"


@dataclass(frozen=True, kw_only=True)
class StrictSchema(Rule):
    """No column beyond the declared ones (``schema.strict``); decided from the schema."""

    allowed: tuple[str, ...] = ()
    kind: ClassVar[str] = "schema"


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
class SlicedMetric(Rule):
    """A metric computed per group of the ``by`` columns: one result per group."""

    metric: Metric
    by: tuple[str, ...] = ()
    kind: ClassVar[str] = "metric"


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
class Change(Rule):
    """A metric's relative change against the previous published version, ``|x - prev| / |prev|``."""

    metric_id: str = ""
    max: float = 0.0
    kind: ClassVar[str] = "change"


@dataclass(frozen=True, kw_only=True)
class Anomaly(Rule):
    """A metric's distance from its last ``window`` published values, in (robust) standard deviations."""

    metric_id: str = ""
    method: str = "zscore"
    window: int = 10
    max: float = 3.0
    kind: ClassVar[str] = "anomaly"


ROW_RULES = (NotNull, Unique, Range, InSet, Pattern, Length, Format, Expect, Reference, ForeignKey)
HISTORY_RULES = (Change, Anomaly)
ALL_RULES = (*ROW_RULES, Metric, Freshness, StrictSchema, Drift, SlicedMetric, EvalMetric, *HISTORY_RULES)
