"""Engine outputs -> CheckResults: the pure result-building every runner shares.

A runner evaluates its compiled plan into one flat mapping ``{output name: value}``
(``failed``/``total`` counts per row rule, one value per metric); the functions here
turn that mapping into results with the same statuses, thresholds and messages
whatever the engine, which is what makes engine results comparable at all. Pure: no
engine is imported here, so the Polars runner does not pay for importing DuckDB.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from dqgate.contract.bounds import show
from dqgate.ir import nodes as n
from dqgate.runners import decide
from dqgate.runners.results import CheckResult

# SQL fragments already made readable. A compiled check kept on disk brings the readable
# forms of its fragments (runners/replay.py), so its results are assembled without sqlglot.
_READABLE: dict[str, str] = {}


def readable(sql: str) -> str:
    """``contract.sql.readable(sql)``, remembered (:data:`_READABLE`)."""
    got = _READABLE.get(sql)
    if got is None:
        from dqgate.contract.sql import readable as make

        got = _READABLE[sql] = make(sql)
    return got


def remember_readable(known: dict[str, str]) -> None:
    """Take the readable forms ``known`` (fragment -> readable) as made already."""
    _READABLE.update(known)


class HasOutputs(Protocol):
    """A compiled plan: for each rule id, the names of its outputs in the values mapping."""

    @property
    def outputs(self) -> dict[str, tuple[str, ...]]: ...


def threshold(rule: n.Rule) -> dict[str, Any]:
    """What the rule demands, as shown in results (``{"min": 1, "mostly": 0.99}``)."""
    out: dict[str, Any] = {}
    if isinstance(rule, n.Metric):
        out.update(metric_threshold(rule.min, rule.max, rule.exclusive_min, rule.exclusive_max))
    elif isinstance(rule, (n.Range, n.Length)):
        out.update({k: v for k, v in (("min", rule.min), ("max", rule.max)) if v is not None})
        if isinstance(rule, n.Range) and rule.exclusive:
            out["exclusive"] = True
        elif isinstance(rule, n.Range):
            out.update({k: True for k in ("exclusive_min", "exclusive_max") if getattr(rule, k)})
    elif isinstance(rule, n.Unique) and rule.nulls_equal:
        out["nulls"] = "equal"
    elif isinstance(rule, n.InSet):
        out["in"] = list(rule.values)
    elif isinstance(rule, n.Pattern):
        out["pattern"] = rule.regex
    elif isinstance(rule, n.Format):
        out["format"] = rule.format
    elif isinstance(rule, n.Reference):
        out["references"] = f"{rule.ref}.{rule.ref_column}"
    elif isinstance(rule, n.ForeignKey):
        out["references"] = f"{rule.ref}({', '.join(rule.ref_columns)})"
    elif isinstance(rule, n.Freshness):
        out["max_age"] = rule.max_age
    elif isinstance(rule, n.Expect):
        out["expect"] = readable(rule.sql)
    if isinstance(rule, n.Metric) and rule.sql:
        out["metric"] = readable(rule.sql)
    if isinstance(rule, n.RowRule) and rule.mostly is not None:
        out["mostly"] = rule.mostly
    if rule.where:
        out["where"] = readable(rule.where)
    return out


def metric_threshold(lo: Any, hi: Any, open_min: bool = False, open_max: bool = False) -> dict[str, Any]:
    """Bounds as the contract spells them: ``min``/``max``, or ``greater_than``/``less_than``."""
    out: dict[str, Any] = {}
    if lo is not None:
        out["greater_than" if open_min else "min"] = lo
    if hi is not None:
        out["less_than" if open_max else "max"] = hi
    return out


def bounds_text(lo: Any, hi: Any, open_min: bool = False, open_max: bool = False) -> str:
    """``, expected within [0, 1)``, or nothing for a rule without bounds."""
    if lo is None and hi is None:
        return ""
    left = "-inf" if lo is None else show(lo)
    right = "inf" if hi is None else show(hi)
    return f", expected within {'(' if open_min else '['}{left}, {right}{')' if open_max else ']'}"


def base(rule: n.Rule, status: str, **kw: Any) -> CheckResult:
    return CheckResult(
        id=rule.id, rule=rule.kind, columns=rule.columns, severity=rule.severity,
        status=status, threshold=threshold(rule), line=rule.line, **kw,
    )  # fmt: skip


def errored(rule: n.Rule, message: str, contract: Any = None) -> CheckResult:
    """The result of a rule the engine could not evaluate, naming where the contract says it
    (``flights.yaml:31``): the SQL there is what to fix, not the data."""
    where = f"{contract.path}:{rule.line}: " if contract is not None and getattr(contract, "path", None) and rule.line else ""
    return base(rule, "error", message=f"{where}could not run: {message}")


def strict(rule: n.StrictSchema, types: dict[str, str]) -> CheckResult:
    """``schema.strict``, decided from the data's column names alone."""
    allowed = set(rule.allowed)  # exactly: 'Alcohol' is undeclared when the contract says 'alcohol'
    extra = [c for c in types if c not in allowed]
    status = decide.graded(not extra, rule.severity)
    msg = f"{len(extra)} column(s) not in the contract: {', '.join(extra)}" if extra else "no undeclared columns"
    return base(rule, status, observed=extra, message=msg)


def _keyed(rule: n.Rule, row: dict[str, Any]) -> dict[str, Any]:
    """A sample struct keyed by the rule's columns: DuckDB keys it by its own names for the
    columns (``A_1`` for the second of "a" and "A"), in the rule's column order."""
    if set(row) == set(rule.columns) or len(row) != len(rule.columns):
        return row
    return dict(zip(rule.columns, row.values()))


def result(rule: n.Rule, plan: HasOutputs, values: dict[str, Any], now: dt.datetime) -> CheckResult:
    """The result of ``rule`` read from the engine's output ``values``.

    A row rule's third output, when present, holds its sample as a list of structs
    (dicts); one-column structs are shown as their bare value.
    """
    outs = plan.outputs[rule.id]
    if isinstance(rule, n.RowRule):
        failed, total = int(values[outs[0]] or 0), int(values[outs[1]] or 0)
        passed, observed = decide.row_status(failed, total, rule.mostly)
        status = decide.graded(passed, rule.severity)
        msg = f"{failed:,} of {total:,} rows fail"
        if rule.mostly is not None:
            msg += f" ({observed:.4%} pass; needs at least {rule.mostly:.4%})"
        sample = tuple(values.get(outs[2]) or ()) if len(outs) > 2 and failed else ()
        sample = tuple(_keyed(rule, s) for s in sample)
        sample = tuple(s if len(s) > 1 else next(iter(s.values())) for s in sample) if sample else ()
        extra: dict[str, Any] = {}
        if isinstance(rule, n.Unique):
            groups = int(values.get(outs[3]) or 0) if len(outs) > 3 and failed else 0
            extra = {"duplicate_groups": groups, "excess_rows": failed - groups}
            if failed:
                msg += f" ({groups:,} repeated keys; {failed - groups:,} rows beyond the first of each)"
        return base(rule, status, failed_rows=failed, total_rows=total, observed=observed, message=msg, sample=sample, **extra)
    value = values[outs[0]]
    if isinstance(rule, n.Freshness):
        return freshness(rule, value, now)
    assert isinstance(rule, n.Metric)
    if hasattr(value, "__float__") and not isinstance(value, (int, float, bool)):
        value = float(value)
    passed = decide.metric_status(value, rule.min, rule.max, open_min=rule.exclusive_min, open_max=rule.exclusive_max)
    status = "info" if decide.unbounded(rule.min, rule.max) else decide.graded(passed, rule.severity)
    if value is None:
        msg = f"{rule.id} has no value (no rows, or only NULLs)"
    else:
        msg = f"{rule.id} = {value:g}" if isinstance(value, (int, float)) else f"{rule.id} = {show(value)}"
        msg += bounds_text(rule.min, rule.max, rule.exclusive_min, rule.exclusive_max)
    return base(rule, status, observed=value, message=msg)


def freshness(rule: n.Freshness, newest: Any, now: dt.datetime) -> CheckResult:
    """Age of the newest value against ``max_age``; naive times are taken as UTC."""
    if newest is None:
        return base(rule, decide.graded(False, rule.severity), message=f"no values in '{rule.columns[0]}' to judge freshness")
    if isinstance(newest, dt.date) and not isinstance(newest, dt.datetime):
        newest = dt.datetime.combine(newest, dt.time())
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    age = (now - newest).total_seconds()
    passed = age <= rule.max_age_s
    msg = f"newest value {newest.isoformat()} is {age / 3600:.1f}h old (max {rule.max_age})"
    return base(rule, decide.graded(passed, rule.severity), observed=age, message=msg)
