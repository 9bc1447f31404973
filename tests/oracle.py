"""A plain-Python oracle: what each planned rule must report on a list of rows.

Written from the semantics in DESIGN.md, never from the SQL the compilers emit:

* a row rule judges the rows its ``where`` holds for (a NULL ``where`` does not
  hold); every rule but ``required`` and ``expect`` also skips rows whose columns
  are NULL; ``expect`` passes a row on a NULL result (three-valued logic);
* ``mostly: f`` passes when at least fraction f of the judged rows pass;
* ranges are inclusive unless ``exclusive`` (both ends) or ``exclusive_min`` /
  ``exclusive_max`` (one end); bounds relative to the check time (``now-52w``) are
  the instant they name at ``as_of``; ``length`` counts characters;
  ``pattern`` must match the whole value; formats follow ``_kernels/reference.py``;
* a foreign key (``schema.foreign_keys``) passes a row whose key columns equal those of
  a reference row with no NULL among them;
* uniqueness fails every judged row whose key occurs more than once among the
  judged rows (rows with a NULL key column are not judged, unless ``nulls: equal``,
  where NULL is a key value like any other); its repeated keys are the
  ``duplicate_groups``, the failing rows beyond one per key the ``excess_rows``;
* a metric without bounds is recorded only (``info``); ``greater_than`` /
  ``less_than`` are strict; instants compare with instants (a date is its midnight);
* metrics are computed over the ``where`` rows: ``null_fraction`` is None without
  rows, ``stddev`` is the sample one, ``quantile``/``median`` interpolate linearly;
* ``nan: missing`` (the contract's default): a float NaN is a missing value, exactly
  as NULL (``required`` fails it, every other rule skips it, metrics count it in
  ``null_count``); ``nan: value`` is not modelled here (the engines are compared with
  each other on it).

SQL fragments (``expect``, ``where``, SQL metrics) are evaluated by Python
functions written by hand for a small set of templates (:data:`ROW_TEMPLATES`,
:data:`AGG_TEMPLATES`), looked up by the fragment's canonical SQL.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
import statistics
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

from dqgate._kernels import reference as kernels
from dqgate.contract.sql import vet
from dqgate.ir import nodes as n

Row = Mapping[str, Any]
Get = Callable[[str], Any]
RowFn = Callable[[Row], Any]
AggFn = Callable[[Sequence[Row]], Any]
ORDER = {"info": 0, "pass": 0, "warn": 1, "fail": 2, "error": 3}


# --- three-valued logic -------------------------------------------------------------------------


def cmp(op: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    """``a op b`` with SQL's NULL propagation."""
    return None if a is None or b is None else op(a, b)


def and3(*xs: Any) -> bool | None:
    if any(x is False for x in xs):
        return False
    return None if any(x is None for x in xs) else True


def or3(*xs: Any) -> bool | None:
    if any(x is True for x in xs):
        return True
    return None if any(x is None for x in xs) else False


def not3(x: Any) -> bool | None:
    return None if x is None else not x


def tmod(a: Any, b: int) -> Any:
    """SQL's ``%`` on integers: the remainder takes the dividend's sign (-2 % 3 = -2)."""
    return None if a is None else int(math.fmod(a, b))


def nonnull(values: Sequence[Any]) -> list[Any]:
    return [v for v in values if v is not None]


# --- SQL templates with hand-written Python meaning ---------------------------------------------


def quote(name: str) -> str:
    """A column name as a user writes it in SQL: double-quoted, inner quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Template:
    """SQL with ``{ROLE}`` slots, and its meaning as a Python function of a value getter."""

    sql: str
    fn: Callable[..., Any]
    roles: tuple[str, ...]

    def render(self, names: Mapping[str, str]) -> str:
        return self.sql.format(**{role: quote(names[role]) for role in self.roles})

    def row_fn(self, names: Mapping[str, str]) -> RowFn:
        return lambda row: self.fn(lambda role: row[names[role]])

    def agg_fn(self, names: Mapping[str, str]) -> AggFn:
        return lambda rows: self.fn([(lambda role, r=r: r[names[role]]) for r in rows])


def _t(sql: str, fn: Callable[..., Any]) -> Template:
    return Template(sql, fn, tuple(dict.fromkeys(re.findall(r"\{(\w+)\}", sql))))


D10 = dt.date(2024, 1, 10)
T5 = dt.datetime(2024, 1, 5)

ROW_TEMPLATES: tuple[Template, ...] = (
    _t("{J} >= {F} - 3", lambda v: cmp(operator.ge, v("J"), cmp(operator.sub, v("F"), 3))),
    _t("{I} IS NOT NULL AND {S} = 'x'", lambda v: and3(v("I") is not None, cmp(operator.eq, v("S"), "x"))),
    _t("{S} <> ''", lambda v: cmp(operator.ne, v("S"), "")),
    _t("{B}", lambda v: v("B")),
    _t("NOT {B} OR {I} > 2", lambda v: or3(not3(v("B")), cmp(operator.gt, v("I"), 2))),
    _t("{J} % 3 = 1", lambda v: cmp(operator.eq, tmod(v("J"), 3), 1)),
    _t("length({S}) <= 2", lambda v: None if v("S") is None else len(v("S")) <= 2),
    _t("{D} >= DATE '2024-01-10'", lambda v: cmp(operator.ge, v("D"), D10)),
    _t("{F} BETWEEN -1 AND 1", lambda v: and3(cmp(operator.ge, v("F"), -1), cmp(operator.le, v("F"), 1))),
    _t("{I} IN (1, 2, 3)", lambda v: None if v("I") is None else v("I") in (1, 2, 3)),
    _t("{S} LIKE 'a%'", lambda v: None if v("S") is None else v("S").startswith("a")),
    _t("coalesce({I}, 0) > 0", lambda v: (0 if v("I") is None else v("I")) > 0),
    _t("{T} < TIMESTAMP '2024-01-05 00:00:00'", lambda v: cmp(operator.lt, v("T"), T5)),
    _t("{I} + {J} > 0", lambda v: cmp(operator.gt, cmp(operator.add, v("I"), v("J")), 0)),
    _t("{F} * 2 > {I}", lambda v: cmp(operator.gt, cmp(operator.mul, v("F"), 2), v("I"))),
)


def _sum_minus_min(vs: Sequence[Get]) -> Any:
    xs = nonnull([v("I") for v in vs])
    return sum(xs) - min(xs) if xs else None


def _avg_times_two(vs: Sequence[Get]) -> Any:
    xs = nonnull([v("F") for v in vs])
    return math.fsum(xs) / len(xs) * 2 if xs else None


AGG_TEMPLATES: tuple[Template, ...] = (
    _t("count(*) FILTER (WHERE {J} > 0)", lambda vs: sum(1 for v in vs if cmp(operator.gt, v("J"), 0) is True)),
    _t("sum({I}) - min({I})", _sum_minus_min),
    _t("count_if({S} = 'x')", lambda vs: sum(1 for v in vs if v("S") == "x")),
    _t("max(length({S}))", lambda vs: max((len(s) for s in nonnull([v("S") for v in vs])), default=None)),
    _t("avg({F}) * 2", _avg_times_two),
    _t("count(DISTINCT {S})", lambda vs: len(set(nonnull([v("S") for v in vs])))),
    _t("sum(CASE WHEN {B} THEN 1 ELSE 0 END)", lambda vs: sum(1 for v in vs if v("B") is True) if vs else None),
)


def sql_key(text: str, columns: Sequence[str], *, aggregate: bool, references: tuple[str, ...] = ()) -> str:
    """The canonical SQL a planned rule carries for a fragment written as ``text``."""
    return vet(text, columns={c: c for c in columns}, references=references, aggregate=aggregate).sql


# --- the oracle ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """What one rule must report. ``failing`` holds the values (over the rule's columns) of failing rows."""

    id: str
    status: str
    failed_rows: int | None = None
    total_rows: int | None = None
    observed: Any = None
    failing: frozenset[tuple[Any, ...]] = frozenset()
    bounds: tuple[Any, ...] = ()
    duplicate_groups: int | None = None


def graded(passed: bool, severity: str) -> str:
    return "pass" if passed else ("warn" if severity == "warn" else "fail")


def overall(statuses: Sequence[str]) -> str:
    worst = max((ORDER[s] for s in statuses), default=0)
    return "fail" if worst >= ORDER["fail"] else ("warn" if worst == ORDER["warn"] else "pass")


def _as_comparable(bound: Any, value: Any) -> Any:
    """A contract bound in the value's type: DuckDB casts a string (or date) bound to the column's type."""
    if isinstance(bound, RelativeBound):
        bound = bound.at
    if isinstance(value, dt.datetime):
        if isinstance(bound, str):
            return dt.datetime.fromisoformat(bound)
        if isinstance(bound, dt.date) and not isinstance(bound, dt.datetime):
            return dt.datetime.combine(bound, dt.time())
    elif isinstance(value, dt.date) and isinstance(bound, str):
        return dt.date.fromisoformat(bound)
    return bound


@dataclass(frozen=True)
class RelativeBound:
    """A bound written ``now-<duration>``: the test works out ``at`` from ``as_of`` by hand."""

    at: Any


def relative_at(text: str, as_of: dt.datetime, *, date: bool) -> Any:
    """``now-3d`` / ``now+12h`` / ``now-1w`` / ``now`` at ``as_of`` (naive UTC), written out here
    independently of dqgate's parser: units s, m, h, d, w; one term."""
    m = re.fullmatch(r"now(?:([+-])(\d+)([smhdw]))?", text.replace(" ", ""))
    assert m is not None, text
    seconds = 0
    if m.group(1):
        seconds = int(m.group(2)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(3)]
        seconds = -seconds if m.group(1) == "-" else seconds
    moment = as_of.astimezone(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(seconds=seconds)
    return moment.date() if date else moment


class Oracle:
    """Evaluates planned rules over rows, given the Python meaning of each SQL fragment."""

    def __init__(
        self,
        rows: Sequence[Row],
        *,
        row_exprs: Mapping[str, RowFn] | None = None,
        aggregates: Mapping[str, AggFn] | None = None,
        refs: Mapping[str, Sequence[Row]] | None = None,
        as_of: dt.datetime | None = None,
        data_columns: Sequence[str] = (),
        nan: str = "missing",
    ) -> None:
        assert nan == "missing", "the oracle models nan: missing only"
        self.rows = [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()} for r in rows]
        self.row_exprs = dict(row_exprs or {})
        self.aggregates = dict(aggregates or {})
        self.refs = dict(refs or {})
        self.as_of = as_of
        self.data_columns = tuple(data_columns)

    def evaluate(self, rules: Sequence[n.Rule]) -> dict[str, Expected]:
        return {rule.id: self.rule(rule) for rule in rules}

    def scoped(self, rule: n.Rule) -> list[Row]:
        if rule.where is None:
            return self.rows
        where = self.row_exprs[rule.where]
        return [r for r in self.rows if where(r) is True]

    def rule(self, rule: n.Rule) -> Expected:
        if isinstance(rule, n.Unique):
            return self._unique(rule)
        if isinstance(rule, n.RowRule):
            return self._row(rule)
        if isinstance(rule, n.Metric):
            return self._metric(rule)
        if isinstance(rule, n.Freshness):
            return self._freshness(rule)
        if isinstance(rule, n.StrictSchema):
            allowed = set(rule.allowed)  # names match exactly, case included
            extra = [c for c in self.data_columns if c not in allowed]
            return Expected(rule.id, graded(not extra, rule.severity), observed=extra)
        raise AssertionError(f"the oracle has no meaning for {type(rule).__name__}")

    def flags(self, rule: n.RowRule) -> list[bool]:
        """Per row, whether it fails ``rule`` (the quarantine view of the same semantics)."""
        scoped = {id(r) for r in self.scoped(rule)}
        keeps_nulls = isinstance(rule, (n.NotNull, n.Expect)) or (isinstance(rule, n.Unique) and rule.nulls_equal)
        judged = [id(r) in scoped and (keeps_nulls or all(r[c] is not None for c in rule.columns)) for r in self.rows]
        if isinstance(rule, n.Unique):
            counts = Counter(tuple(r[c] for c in rule.columns) for r, j in zip(self.rows, judged) if j)
            return [j and counts[tuple(r[c] for c in rule.columns)] > 1 for r, j in zip(self.rows, judged)]
        return [j and self._passes(rule, r) is False for r, j in zip(self.rows, judged)]

    def _row_result(self, rule: n.RowRule, judged: list[Row], failing: list[Row]) -> Expected:
        total, failed = len(judged), len(failing)
        observed = 1.0 if total == 0 else (total - failed) / total
        passed = failed == 0 if rule.mostly is None else observed >= rule.mostly
        values = frozenset(tuple(r[c] for c in rule.columns) for r in failing)
        return Expected(rule.id, graded(passed, rule.severity), failed, total, observed, values)

    def _row(self, rule: n.RowRule) -> Expected:
        scoped = self.scoped(rule)
        if isinstance(rule, (n.NotNull, n.Expect)):
            judged = scoped
        else:
            judged = [r for r in scoped if all(r[c] is not None for c in rule.columns)]
        failing = [r for r in judged if self._passes(rule, r) is False]
        return self._row_result(rule, judged, failing)

    def _passes(self, rule: n.RowRule, row: Row) -> bool | None:
        if isinstance(rule, n.Expect):
            return False if self.row_exprs[rule.sql](row) is False else True
        if isinstance(rule, n.ForeignKey):
            keys = {tuple(r[c] for c in rule.ref_columns) for r in self.refs[rule.ref]}
            return tuple(row[c] for c in rule.columns) in {k for k in keys if None not in k}
        v = row[rule.column]
        if isinstance(rule, n.NotNull):
            return v is not None
        if isinstance(rule, n.Range):
            ok = True
            if rule.min is not None:
                lo = _as_comparable(self._bound(rule.min, v), v)
                ok = ok and (v > lo if rule.exclusive or rule.exclusive_min else v >= lo)
            if rule.max is not None:
                hi = _as_comparable(self._bound(rule.max, v), v)
                ok = ok and (v < hi if rule.exclusive or rule.exclusive_max else v <= hi)
            return ok
        if isinstance(rule, n.InSet):
            return any(v == _as_comparable(x, v) and isinstance(x, bool) == isinstance(v, bool) for x in rule.values)
        if isinstance(rule, n.Pattern):
            return re.fullmatch(rule.regex, v, flags=re.ASCII) is not None
        if isinstance(rule, n.Length):
            return (rule.min is None or len(v) >= rule.min) and (rule.max is None or len(v) <= rule.max)
        if isinstance(rule, n.Format):
            return bool(kernels.valid_list([v.encode("utf-8")], rule.format)[0])
        if isinstance(rule, n.Reference):
            return v in {r[rule.ref_column] for r in self.refs[rule.ref] if r[rule.ref_column] is not None}
        raise AssertionError(f"the oracle has no meaning for {type(rule).__name__}")

    def _bound(self, bound: Any, value: Any) -> Any:
        """A planned bound as this oracle reads it: ``now-...`` at ``as_of``, by hand."""
        text = getattr(bound, "text", None)  # dqgate's RelativeInstant: only its spelling is used
        if text is None:
            return bound
        assert self.as_of is not None, "relative bounds need as_of"
        is_date = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
        return relative_at(text, self.as_of, date=is_date)

    def _unique(self, rule: n.Unique) -> Expected:
        scoped = self.scoped(rule)
        judged = scoped if rule.nulls_equal else [r for r in scoped if all(r[c] is not None for c in rule.columns)]
        counts = Counter(tuple(r[c] for c in rule.columns) for r in judged)
        failing = [r for r in judged if counts[tuple(r[c] for c in rule.columns)] > 1]
        groups = sum(1 for c in counts.values() if c > 1)
        return replace(self._row_result(rule, judged, failing), duplicate_groups=groups)

    def _metric(self, rule: n.Metric) -> Expected:
        rows = self.scoped(rule)
        value = self.aggregates[rule.sql](rows) if rule.func == "sql" else metric_value(rule, rows)
        lo = None if rule.min is None else self._bound(rule.min, value)
        hi = None if rule.max is None else self._bound(rule.max, value)
        if lo is None and hi is None:
            return Expected(rule.id, "info", observed=value, bounds=(None, None))
        passed = within(value, lo, hi, open_min=rule.exclusive_min, open_max=rule.exclusive_max)
        return Expected(rule.id, graded(passed, rule.severity), observed=value, bounds=(lo, hi))

    def _freshness(self, rule: n.Freshness) -> Expected:
        assert self.as_of is not None, "freshness needs as_of"
        values = nonnull([r[rule.columns[0]] for r in self.scoped(rule)])
        if not values:
            return Expected(rule.id, graded(False, rule.severity))
        newest = max(values)
        if not isinstance(newest, dt.datetime):
            newest = dt.datetime.combine(newest, dt.time())
        age = (self.as_of - newest.replace(tzinfo=dt.timezone.utc)).total_seconds()
        return Expected(rule.id, graded(age <= rule.max_age_s, rule.severity), observed=age)


def within(value: Any, lo: Any, hi: Any, *, open_min: bool = False, open_max: bool = False) -> bool:
    """Inclusive bounds unless open; no value fails any bound; a date against a timestamp is its midnight."""
    if lo is None and hi is None:
        return True
    if value is None:
        return False

    def pair(b: Any) -> tuple[Any, Any]:
        if isinstance(value, dt.date) and isinstance(b, dt.date) and isinstance(value, dt.datetime) != isinstance(b, dt.datetime):
            as_dt = [x if isinstance(x, dt.datetime) else dt.datetime.combine(x, dt.time()) for x in (value, b)]
            return as_dt[0], as_dt[1]
        return value, b

    ok_lo = lo is None or (pair(lo)[0] > pair(lo)[1] if open_min else pair(lo)[0] >= pair(lo)[1])
    ok_hi = hi is None or (pair(hi)[0] < pair(hi)[1] if open_max else pair(hi)[0] <= pair(hi)[1])
    return ok_lo and ok_hi


def quantile(xs: Sequence[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (DuckDB's ``quantile_cont``)."""
    if not xs:
        return None
    s = sorted(float(x) for x in xs)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def metric_value(rule: n.Metric, rows: Sequence[Row]) -> Any:
    """A builtin metric over ``rows`` (already scoped by ``where``)."""
    if rule.func == "row_count":
        return len(rows)
    values = [r[rule.columns[0]] for r in rows]
    xs = nonnull(values)
    func = rule.func
    if func == "null_count":
        return len(values) - len(xs)
    if func == "null_fraction":
        return (len(values) - len(xs)) / len(values) if values else None
    if func == "distinct_count":
        return len(set(xs))
    if not xs:
        return None
    if func == "min":
        return min(xs)
    if func == "max":
        return max(xs)
    if func == "sum":
        return math.fsum(xs) if any(isinstance(x, float) for x in xs) else sum(xs)
    if func == "mean":
        return math.fsum(xs) / len(xs)
    if func == "stddev":
        return statistics.stdev([float(x) for x in xs]) if len(xs) > 1 else None
    if func == "median":
        return quantile(xs, 0.5)
    if func == "quantile":
        assert rule.q is not None
        return quantile(xs, rule.q)
    raise AssertionError(f"unknown metric {func}")


def close(actual: Any, expected: Any, *, scale: float = 0.0, rel: float = 1e-9) -> bool:
    """Equal, or for numbers within ``rel`` of the larger of the two values and ``scale``."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, (int, float)) and not isinstance(expected, bool) and isinstance(actual, (int, float)):
        return abs(actual - expected) <= rel * max(abs(actual), abs(expected), scale)
    return bool(actual == expected)
