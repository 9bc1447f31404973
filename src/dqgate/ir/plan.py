"""Contract -> tuple of IR rules with stable ids. Pure: no I/O, no engines.

Ids are ``column.rule`` for column rules (``a+b.unique`` for a composite key),
the check's ``name`` when it has one, the metric as written (``mean(price)``) for
unnamed metrics, and ``checks[i].expect`` for unnamed row expressions. The same id
names the rule in results, quarantine files and manifests.
"""

from __future__ import annotations

from typing import Any

from dqgate.contract import model as m
from dqgate.contract.contract import Contract
from dqgate.contract.metric import parse_metric
from dqgate.ir import nodes as n


def plan(contract: Contract) -> tuple[n.Rule, ...]:
    """Every rule of ``contract``, in the order they are written."""
    rules: list[n.Rule] = []
    declared = {c.lower(): c for c in contract.columns}
    frag = contract.fragments

    def where_of(path: tuple[Any, ...]) -> str | None:
        f = frag.get((*path, "where"))
        return f.sql if f else None

    for name, spec in contract.columns.items():
        path = ("schema", "columns", name)
        rules += _column_rules(name, spec, None, where_of(path), contract, contract.line_of(path))
    for i, cols in enumerate(contract.model.schema_.unique):
        names = tuple(declared[c.lower()] for c in cols)
        rules.append(n.Unique(id="+".join(names) + ".unique", columns=names, line=contract.line_of(("schema", "unique", i))))
    if contract.model.schema_.strict:
        rules.append(n.StrictSchema(id="schema.strict", allowed=tuple(contract.columns), line=contract.line_of(("schema", "strict"))))
    for i, check in enumerate(contract.checks):
        path = ("checks", i)
        line = contract.line_of(path)
        if isinstance(check, m.ColumnCheck):
            col = declared[check.column.lower()]
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
        out.append(n.Unique(id=f"{col}.unique", **row))
    if spec.range is not None:
        r = spec.range
        out.append(n.Range(id=f"{col}.range", min=r.min, max=r.max, exclusive=r.exclusive, **row))
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


def _with_scope(rule: n.Rule, scope: str) -> n.Rule:
    from dataclasses import replace

    if isinstance(rule, n.SlicedMetric):
        return replace(rule, scope=scope, metric=replace(rule.metric, scope=scope))
    return replace(rule, scope=scope)


def _renamed(rule: n.Rule, new_id: str) -> n.Rule:
    from dataclasses import replace

    return replace(rule, id=new_id)


def _metric(check: m.MetricCheck, path: tuple[Any, ...], contract: Contract, declared: dict[str, str], where: str | None, line: int) -> n.Metric:
    parsed = parse_metric(check.metric, declared)
    lo, hi = (check.between[0], check.between[1]) if check.between else (check.min, check.max)
    if parsed.func == "sql":
        fragment = contract.fragments[(*path, "metric")]
        return n.Metric(
            id=check.name or check.metric.strip(), func="sql", sql=fragment.sql, columns=fragment.columns,
            min=lo, max=hi, severity=check.severity, where=where, line=line,
        )  # fmt: skip
    if parsed.func == "row_count":
        default_id = "row_count"
    elif parsed.func == "quantile":
        default_id = f"quantile({parsed.column}, {parsed.q:g})"
    else:
        default_id = f"{parsed.func}({parsed.column})"
    return n.Metric(
        id=check.name or default_id, func=parsed.func, q=parsed.q,
        columns=(parsed.column,) if parsed.column else (), min=lo, max=hi,
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

    lo, hi = (check.between[0], check.between[1]) if check.between else (check.min, check.max)
    by = tuple(declared[c.lower()] for c in check.by or ())
    func = eval_name(check.metric)
    rule: n.Rule
    if func is not None:
        label = declared[check.label.lower()] if check.label else ""
        other = check.score if func == "roc_auc" else check.prediction
        other = declared[other.lower()] if other else None
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
    for name, col in spec.columns.items():
        column = declared[name.lower()]
        out.append(
            n.Drift(
                id=f"{column}.drift", columns=(column,), method=col.method, bins=col.bins, min=col.min, max=col.max,
                reference=reference, severity=col.severity, line=contract.line_of(("drift", "columns", name)),
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
