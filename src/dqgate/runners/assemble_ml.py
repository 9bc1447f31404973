"""Engine outputs of the ML rules -> CheckResults. Pure, shared by every engine.

* a drift rule gives one result, its statistic computed from the batch's counts and
  the bound reference (:mod:`dqgate.stats.drift`);
* a metric with ``by:`` gives one result per group, ids like ``mean(x)[region=EU]``;
* an evaluation metric gives one result per group (and per class with
  ``average: per_class``), computed from the group's confusion matrix (classification)
  or read as is (MAE, RMSE, ROC AUC).

Undefined values (a precision with no predicted positives, an AUC with one class
only) are ``None``: like any metric without a value, they fail their bounds. In
``macro``/``weighted`` averages a class whose value is undefined counts as 0, as
scikit-learn does by default.
"""

from __future__ import annotations

from typing import Any

from dqgate.ir import nodes as n
from dqgate.runners import decide
from dqgate.runners.assemble import bounds_text, metric_threshold
from dqgate.runners.results import CheckResult
from dqgate.stats import drift as d

ML_RULES = n.ML_RULES


def results(rule: n.Rule, outputs: tuple[str, ...], values: dict[str, Any]) -> list[CheckResult]:
    """Every result of one ML rule from the engine's output ``values``."""
    if isinstance(rule, n.Drift):
        return [drift_result(rule, {name.rsplit("_", 1)[-1]: values.get(name) for name in outputs})]
    rows = (values.get(outputs[0]) if outputs else None) or []
    if isinstance(rule, n.SlicedMetric):
        groups = [(_key(r, len(rule.by)), r["v"]) for r in rows]
        flags = (rule.metric.exclusive_min, rule.metric.exclusive_max)
        return _per_group(rule, rule.metric.min, rule.metric.max, rule.by, groups, flags)
    assert isinstance(rule, n.EvalMetric)
    by = rule.by
    if rule.func in ("mae", "rmse", "roc_auc"):
        return _per_group(rule, rule.min, rule.max, by, [(_key(r, len(by)), r["v"]) for r in rows] or [((), None)])
    matrices: dict[tuple[Any, ...], list[tuple[Any, Any, int]]] = {}
    for r in rows:
        matrices.setdefault(_key(r, len(by)), []).append((r["l"], r["p"], int(r["n"])))
    if not by and not matrices:
        matrices[()] = []
    groups: list[tuple[tuple[Any, ...], Any]] = []
    names = by
    for key, matrix in matrices.items():
        if rule.average == "per_class":
            names = (*by, "class")
            groups += [((*key, c), value) for c, value in per_class(rule.func, matrix)]
        else:
            groups.append((key, classification(rule.func, matrix, rule.average, rule.positive)))
    return _per_group(rule, rule.min, rule.max, names, groups)


def _key(row: dict[str, Any], width: int) -> tuple[Any, ...]:
    return tuple(row[f"g{j}"] for j in range(width))


def _order(value: Any) -> tuple[int, str, Any]:
    if value is None:
        return (2, "", 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, "", value)
    return (1, type(value).__name__, str(value))


def slice_id(rule_id: str, names: tuple[str, ...], key: tuple[Any, ...]) -> str:
    """``mean(x)[region=EU,tier=1]``; a NULL group is ``null``."""
    if not names:
        return rule_id
    parts = ",".join(f"{k}={'null' if v is None else v}" for k, v in zip(names, key))
    return f"{rule_id}[{parts}]"


def _per_group(
    rule: n.Rule, lo: Any, hi: Any, names: tuple[str, ...], groups: list[tuple[tuple[Any, ...], Any]],
    flags: tuple[bool, bool] = (False, False),
) -> list[CheckResult]:  # fmt: skip
    threshold = metric_threshold(lo, hi, *flags)
    if rule.where:
        threshold["where"] = rule.where

    def status_of(value: Any) -> str:
        if decide.unbounded(lo, hi):
            return "info"
        return decide.graded(decide.metric_status(value, lo, hi, open_min=flags[0], open_max=flags[1]), rule.severity)

    if not groups:
        return [_make(rule, rule.id, status_of(None), None, threshold, f"{rule.id}: no groups (no rows)")]
    out = []
    for key, value in sorted(groups, key=lambda g: tuple(_order(v) for v in g[0])):
        if hasattr(value, "__float__") and not isinstance(value, (int, float, bool)):
            value = float(value)
        rid = slice_id(rule.id, names, key)
        out.append(_make(rule, rid, status_of(value), value, threshold, _message(rid, value, lo, hi, flags, _measured(rule))))
    return out


def _measured(rule: n.Rule) -> tuple[str, ...]:
    """The columns whose values a metric is computed from (not its ``by:`` columns)."""
    if isinstance(rule, n.SlicedMetric):
        return rule.metric.columns
    return tuple(c for c in rule.columns if c not in getattr(rule, "by", ()))


def _message(rid: str, value: Any, lo: Any, hi: Any, flags: tuple[bool, bool] = (False, False), measured: tuple[str, ...] = ()) -> str:
    if value is None:
        named = " or ".join(f"'{c}'" for c in measured)
        why = f"every {named} in these rows is NULL" if named else "it is undefined for these rows"
        return f"{rid} has no value: {why}, and a metric without a value fails its bounds"
    msg = f"{rid} = {value:g}" if isinstance(value, (int, float)) else f"{rid} = {value}"
    return msg + bounds_text(lo, hi, *flags)


def _make(rule: n.Rule, rid: str, status: str, observed: Any, threshold: dict[str, Any], message: str) -> CheckResult:
    return CheckResult(
        id=rid, rule=rule.kind, columns=rule.columns, severity=rule.severity, status=status,
        observed=observed, threshold=dict(threshold), message=message, line=rule.line,
    )  # fmt: skip


def _same(value: Any, positive: Any) -> bool:
    if value == positive and isinstance(value, bool) == isinstance(positive, bool):
        return True
    return str(d.norm_key(value)).lower() == str(d.norm_key(positive)).lower()


def _counts(matrix: list[tuple[Any, Any, int]], cls: Any) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) of ``cls`` as the positive class."""
    tp = fp = fn = tn = 0
    for label, pred, count in matrix:
        is_l, is_p = _same(label, cls), _same(pred, cls)
        if is_l and is_p:
            tp += count
        elif is_p:
            fp += count
        elif is_l:
            fn += count
        else:
            tn += count
    return tp, fp, fn, tn


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def binary(func: str, tp: int, fp: int, fn: int, tn: int) -> float | None:
    """One classification metric from a 2 x 2 confusion matrix; None when undefined."""
    if func == "accuracy":
        return _ratio(tp + tn, tp + fp + fn + tn)
    if func == "precision":
        return _ratio(tp, tp + fp)
    if func == "recall":
        return _ratio(tp, tp + fn)
    if func == "f1":
        return _ratio(2 * tp, 2 * tp + fp + fn)
    if func == "false_negative_rate":
        return _ratio(fn, tp + fn)
    if func == "false_positive_rate":
        return _ratio(fp, fp + tn)
    raise ValueError(func)


def _classes(matrix: list[tuple[Any, Any, int]]) -> list[Any]:
    seen: dict[Any, Any] = {}
    for label, pred, _ in matrix:
        for value in (label, pred):
            seen.setdefault(str(d.norm_key(value)).lower(), value)
    return sorted(seen.values(), key=_order)


def per_class(func: str, matrix: list[tuple[Any, Any, int]]) -> list[tuple[Any, float | None]]:
    """``func`` with each class in turn as the positive class."""
    return [(c, binary(func, *_counts(matrix, c))) for c in _classes(matrix)]


def classification(func: str, matrix: list[tuple[Any, Any, int]], average: str, positive: Any) -> float | None:
    """A classification metric over one confusion matrix ``[(label, prediction, count)]``."""
    total = sum(c for _, _, c in matrix)
    if func == "accuracy":
        return _ratio(sum(c for label, pred, c in matrix if _same(label, pred)), total)
    if average == "binary":
        return binary(func, *_counts(matrix, positive))
    classes = _classes(matrix)
    if not classes:
        return None
    if average == "micro":
        tp, fp, fn, tn = (sum(x) for x in zip(*(_counts(matrix, c) for c in classes)))
        return binary(func, tp, fp, fn, tn)
    values = [binary(func, *_counts(matrix, c)) or 0.0 for c in classes]
    if average == "macro":
        return sum(values) / len(values)
    support = [sum(cnt for label, _, cnt in matrix if _same(label, c)) for c in classes]
    return _ratio(sum(v * s for v, s in zip(values, support)), sum(support))


def _at_points(hist: dict[Any, int], points: tuple[float, ...]) -> tuple[list[int], list[int], int]:
    """Counts ``<=`` and ``==`` each point, and the total, of an exact distribution."""
    ordered = sorted((float(k), int(v)) for k, v in hist.items())
    le, eq, running, i = [], [], 0, 0
    for p in points:
        while i < len(ordered) and ordered[i][0] <= p:
            running += ordered[i][1]
            i += 1
        le.append(running)
        eq.append(int(hist.get(int(p), 0)) if float(p).is_integer() else 0)
    return le, eq, sum(v for _, v in ordered)


def drift_result(rule: n.Drift, got: dict[str, Any]) -> CheckResult:
    """The drift statistic of one column, from the batch's counts and the bound reference."""
    threshold: dict[str, Any] = {"method": rule.method, **{k: v for k, v in (("min", rule.min), ("max", rule.max)) if v is not None}}
    threshold["reference"] = rule.ref.source if rule.ref is not None else rule.reference
    if rule.ref is None:
        status = "pass" if rule.ref_error and rule.ref_error.startswith("no reference yet") else "error"
        return _make(rule, rule.id, status, None, threshold, rule.ref_error or "no reference to compare with")
    ref: d.Reference = rule.ref
    query = d.batch_query(rule.method, rule.bins, ref)
    note = ""
    if query.kind == "points":
        if "values" in got:  # the batch's exact distribution (integer columns)
            le, eq, m = _at_points(got.get("values") or {}, query.points)
        else:
            le_map = {float(k): int(v) for k, v in (got.get("le") or {}).items()}
            eq_map = {float(k): int(v) for k, v in (got.get("eq") or {}).items()}
            m = int(got.get("n") or 0)
            running, le = 0, []
            for p in query.points:
                running += le_map.get(p, 0)
                le.append(running)
            eq = [eq_map.get(p, 0) for p in query.points]
        value, upper = d.ks_from_points(ref, le, eq, m) if m else (None, None)
        if value is not None and not ref.exact:
            note = f" (over {len(query.points)} reference knots; the exact statistic is between {value:.4g} and {upper:.4g})"
    else:
        if query.kind == "bins":
            ref_counts, cur_counts = d.reference_bins(ref, query.points), d.batch_bins(got.get("bins") or [])
        else:
            _, ref_counts, cur_counts = d.category_counts(ref, got.get("categories"))
        m = sum(cur_counts)
        value = d.statistic(rule.method, ref_counts, cur_counts) if m else None
    passed = decide.metric_status(value, rule.min, rule.max)
    if rule.where:
        threshold["where"] = rule.where
    if value is None:
        msg = f"no non-null values of '{rule.columns[0]}' in the batch to compare with {ref.source}"
    else:
        name = "p-value" if rule.method == "chi2" else rule.method
        msg = f"{name} {value:.4g} against {ref.source}{note}"
        if rule.max is not None:
            msg += f", max {rule.max:g}"
        if rule.min is not None:
            msg += f", min {rule.min:g}"
    status = "info" if decide.unbounded(rule.min, rule.max) else decide.graded(passed, rule.severity)
    return _make(rule, rule.id, status, value, threshold, msg)
