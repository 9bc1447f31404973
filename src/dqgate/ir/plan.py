"""Contract -> tuple of IR rules with stable ids. Pure: no I/O, no engines.

Ids are ``column.rule`` for column rules (``a+b.unique`` for a composite key),
the check's ``name`` when it has one, the metric as written (``mean(price)``) for
unnamed metrics, and ``checks[i].expect`` for unnamed row expressions. The same id
names the rule in results, quarantine files and manifests.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dqgate.contract import bounds
from dqgate.contract import model as m
from dqgate.contract.contract import Contract
from dqgate.contract.metric import parse_metric
from dqgate.ir import nodes as n


def plan(contract: Contract) -> tuple[n.Rule, ...]:
    """Every rule of ``contract``, in the order they are written."""
    rules: list[n.Rule] = []
    declared = {c: c for c in contract.columns}  # names match exactly (the contract was checked so)
    frag = contract.fragments

    def where_of(path: tuple[Any, ...]) -> str | None:
        f = frag.get((*path, "where"))
        return f.sql if f else None

    for name, spec in contract.columns.items():
        path = ("schema", "columns", name)
        rules += _column_rules(name, spec, None, where_of(path), contract, contract.line_of(path))
    for i, entry in enumerate(contract.model.schema_.unique):
        rules.append(_composite_unique(entry, ("schema", "unique", i), declared, where_of, contract))
    for i, fk in enumerate(contract.model.schema_.foreign_keys):
        path = ("schema", "foreign_keys", i)
        names = tuple(declared[c] for c in fk.columns)
        rules.append(
            n.ForeignKey(
                id=fk.name or "+".join(names) + ".references", columns=names, ref=fk.references,
                ref_columns=tuple(fk.to or fk.columns), mostly=fk.mostly, severity=fk.severity,
                where=where_of(path), line=contract.line_of(path),
            )
        )  # fmt: skip
    if contract.model.schema_.strict:
        rules.append(n.StrictSchema(id="schema.strict", allowed=tuple(contract.columns), line=contract.line_of(("schema", "strict"))))
    for i, check in enumerate(contract.checks):
        path = ("checks", i)
        line = contract.line_of(path)
        if isinstance(check, m.ColumnCheck):
            col = declared[check.column]
            rules += _column_rules(col, check, check.name, where_of(path), contract, line)
        elif isinstance(check, m.ExpectCheck):
            rules.append(
                n.Expect(
                    id=check.name or f"checks[{i}].expect",
                    sql=frag[(*path, "expect")].sql,
                    columns=frag[(*path, "expect")].columns,
                    mostly=check.mostly,
                    severity=check.severity,
                    where=where_of(path),
                    line=line,
                    scope=check.scope or "snapshot",
                )
            )
        elif isinstance(check, m.MetricCheck):
            rules += _ml_metric(check, path, contract, declared, where_of(path), line)
    if contract.model.drift is not None:
        rules += _drift_rules(contract, declared)
    return _link_history(_dedupe_ids(rules))


def _column_rules(col: str, spec: Any, name: str | None, where: str | None, contract: Contract, line: int) -> list[n.Rule]:
    common: dict[str, Any] = {"columns": (col,), "severity": spec.severity, "where": where, "line": line, "scope": spec.scope or "snapshot"}
    row = {**common, "mostly": spec.mostly}
    out: list[n.Rule] = []
    if spec.required:
        out.append(n.NotNull(id=f"{col}.required", **row))
    if spec.unique:
        out.append(n.Unique(id=f"{col}.unique", nulls_equal=_nulls_equal(spec.unique), **row))
    if spec.range is not None:
        r = spec.range
        ctype = contract.columns[col].type
        lo, hi = bound(r.min, ctype), bound(r.max, ctype)
        flags = {"exclusive": r.exclusive, "exclusive_min": r.open_min and not r.exclusive, "exclusive_max": r.open_max and not r.exclusive}
        out.append(n.Range(id=f"{col}.range", min=lo, max=hi, **flags, **row))
    if spec.in_ is not None:
        out.append(n.InSet(id=f"{col}.in", values=tuple(spec.in_), **row))
    if spec.pattern is not None:
        out.append(n.Pattern(id=f"{col}.pattern", regex=spec.pattern, **row))
    if spec.length is not None:
        out.append(n.Length(id=f"{col}.length", min=spec.length.min, max=spec.length.max, **row))
    if spec.format is not None:
        out.append(n.Format(id=f"{col}.format", format=spec.format, **row))
    if spec.references is not None:
        ref, _, ref_col = spec.references.partition(".")
        out.append(n.Reference(id=f"{col}.references", ref=ref, ref_column=ref_col, **row))
    if spec.freshness is not None:
        seconds = m.parse_duration(spec.freshness.max_age)
        out.append(n.Freshness(id=f"{col}.freshness", max_age_s=seconds, max_age=spec.freshness.max_age, **common))
    if name is not None and len(out) == 1:
        out[0] = _renamed(out[0], name)
    elif name is not None:
        out = [_renamed(r, f"{name}.{r.kind}") for r in out]
    return out


def _nulls_equal(spec: Any) -> bool:
    return isinstance(spec, m.UniqueOptions) and spec.nulls == "equal"


def _composite_unique(entry: Any, path: tuple[Any, ...], declared: dict[str, str], where_of: Any, contract: Contract) -> n.Unique:
    """An entry of ``schema.unique``: a list of columns, or a mapping with modifiers."""
    line = contract.line_of(path)
    if not isinstance(entry, m.UniqueKey):
        names = tuple(declared[c] for c in entry)
        return n.Unique(id="+".join(names) + ".unique", columns=names, line=line)
    names = tuple(declared[c] for c in entry.columns)
    return n.Unique(
        id=entry.name or "+".join(names) + ".unique", columns=names, mostly=entry.mostly, severity=entry.severity,
        where=where_of(path), nulls_equal=_nulls_equal(entry), line=line,
    )  # fmt: skip


def bound(value: Any, ctype: str | None) -> Any:
    """A bound as the IR keeps it: ``now-52w`` waits for the check time; ISO text on a date
    or timestamp is read as the instant it names (other values stay as written)."""
    rel = bounds.relative_or_none(value)
    if rel is not None:
        return replace(rel, date=ctype == "date")
    return value


def _metric_bound(value: Any, ctype: str | None) -> Any:
    if isinstance(value, str) and bounds.relative_or_none(value) is None:
        return bounds.instant(value) or value
    return bound(value, ctype)
def _with_scope(rule: n.Rule, scope: str) -> n.Rule:
    from dataclasses import replace

    if isinstance(rule, n.SlicedMetric):
        return replace(rule, scope=scope, metric=replace(rule.metric, scope=scope))
    return replace(rule, scope=scope)


def _renamed(rule: n.Rule, new_id: str) -> n.Rule:
    from dataclasses import replace

    return replace(rule, id=new_id)


def metric_bounds(check: m.MetricCheck, ctype: str | None) -> dict[str, Any]:
    """``min``/``max`` and whether each is exclusive, from min/max, greater_than/less_than or between."""
    lo, hi = (check.between[0], check.between[1]) if check.between else (check.min, check.max)
    out = {"exclusive_min": False, "exclusive_max": False}
    if lo is None and check.greater_than is not None:
        lo, out["exclusive_min"] = check.greater_than, True
    if hi is None and check.less_than is not None:
        hi, out["exclusive_max"] = check.less_than, True
    return {"min": _metric_bound(lo, ctype), "max": _metric_bound(hi, ctype), **out}


def _metric(check: m.MetricCheck, path: tuple[Any, ...], contract: Contract, declared: dict[str, str], where: str | None, line: int) -> n.Metric:
    parsed = parse_metric(check.metric, declared)
    ctype = contract.columns[parsed.column].type if parsed.column else None
    limits = metric_bounds(check, ctype)
    if parsed.func == "sql":
        fragment = contract.fragments[(*path, "metric")]
        return n.Metric(
            id=check.name or check.metric.strip(), func="sql", sql=fragment.sql, columns=fragment.columns,
            **limits, severity=check.severity, where=where, line=line,
        )  # fmt: skip
    if parsed.func == "row_count":
        default_id = "row_count"
    elif parsed.func == "quantile":
        default_id = f"quantile({parsed.column}, {parsed.q:g})"
    else:
        default_id = f"{parsed.func}({parsed.column})"
    return n.Metric(
        id=check.name or default_id, func=parsed.func, q=parsed.q,
        columns=(parsed.column,) if parsed.column else (), **limits,
        severity=check.severity, where=where, line=line,
    )  # fmt: skip


def _dedupe_ids(rules: list[n.Rule]) -> tuple[n.Rule, ...]:
    seen: dict[str, int] = {}
    out = []
    for rule in rules:
        count = seen.get(rule.id, 0) + 1
        seen[rule.id] = count
        out.append(rule if count == 1 else _renamed(rule, f"{rule.id}#{count}"))
    return tuple(out)


def _ml_metric(check: m.MetricCheck, path: tuple[Any, ...], contract: Contract, declared: dict[str, str], where: str | None, line: int) -> list[n.Rule]:
    """A metric check with its slices (``by``), evaluation fields and history rules."""
    from dqgate.contract.ml_check import eval_name

    lo, hi = (check.between[0], check.between[1]) if check.between else (check.min, check.max)  # numbers: contract/ml_check.py
    by = tuple(declared[c] for c in check.by or ())
    func = eval_name(check.metric)
    rule: n.Rule
    if func is not None:
        label = declared[check.label] if check.label else ""
        other = check.score if func == "roc_auc" else check.prediction
        other = declared[other] if other else None
        average = "binary" if func in ("roc_auc", "mae", "rmse") else (check.average or ("binary" if check.positive is not None else "macro"))
        rule = n.EvalMetric(
            id=check.name or f"{func}({label}, {other})", func=func, label=label,
            prediction=other if func != "roc_auc" else None, score=other if func == "roc_auc" else None,
            positive=check.positive, average=average, min=lo, max=hi, by=by,
            columns=tuple(dict.fromkeys(c for c in (label, other, *by) if c)),
            severity=check.severity, where=where, line=line,
        )  # fmt: skip
    else:
        metric = _metric(check, path, contract, declared, where, line)
        rule = n.SlicedMetric(id=metric.id, metric=metric, by=by, columns=metric.columns, severity=metric.severity, where=where, line=line) if by else metric
    scope = check.scope or ("batch" if check.change is not None or check.anomaly is not None else None)
    if scope:  # a metric watched by change:/anomaly: is a per-batch series unless the contract says otherwise
        rule = _with_scope(rule, scope)
    out = [rule]
    common = {"columns": rule.columns, "severity": check.severity, "line": line, "metric_id": rule.id}
    if check.change is not None:
        out.append(n.Change(id=f"{rule.id}.change", max=check.change.max, **common))
    if check.anomaly is not None:
        a = check.anomaly
        out.append(n.Anomaly(id=f"{rule.id}.anomaly", method=a.method, window=a.window, max=a.max, **common))
    return out


def _drift_rules(contract: Contract, declared: dict[str, str]) -> list[n.Rule]:
    spec = contract.model.drift
    assert spec is not None
    reference: int | str = spec.reference
    if isinstance(reference, str) and reference.strip().isdigit():
        reference = int(reference)
    out: list[n.Rule] = []
    for name, index, col in spec.methods():
        column = declared[name]
        path: tuple[Any, ...] = ("drift", "columns", name) if index is None else ("drift", "columns", name, index)
        where = contract.fragments.get((*path, "where"))
        out.append(
            n.Drift(
                id=f"{column}.drift" if index is None else f"{column}.drift.{col.method}", columns=(column,),
                method=col.method, bins=col.bins, min=col.min, max=col.max, reference=reference,
                severity=col.severity, where=where.sql if where else None, line=contract.line_of(path),
            )
        )  # fmt: skip
    return out


def _link_history(rules: tuple[n.Rule, ...]) -> tuple[n.Rule, ...]:
    """Point each history rule at the (deduplicated) id of the metric written just before it."""
    from dataclasses import replace

    out: list[n.Rule] = []
    metric_id = ""
    for rule in rules:
        if isinstance(rule, n.HISTORY_RULES):
            suffix = rule.id[len(rule.metric_id) :]
            out.append(replace(rule, metric_id=metric_id, id=metric_id + suffix) if rule.metric_id != metric_id else rule)
        else:
            metric_id = rule.id
            out.append(rule)
    return tuple(out)
