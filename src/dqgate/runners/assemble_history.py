"""Results of the rules against metric history (``change:``, ``anomaly:``), added to a run.

They are decided after the query, from the run's own metric value and the values the
store's manifests kept (:mod:`dqgate.stats.history` says how each is scored). Without a
store they report ``error``; with too little history they pass and say so.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from dqgate.errors import DqError
from dqgate.ir import nodes as n
from dqgate.runners import decide
from dqgate.runners.results import CheckResult, RunResult
from dqgate.stats.history import MIN_POINTS, anomaly_score, is_value_of, past_values


def apply(result: RunResult, rules: tuple[n.Rule, ...], *, store: str | None, dataset: str) -> RunResult:
    """``result`` with one result per history rule and metric value (or slice) added."""
    rules = tuple(r for r in rules if isinstance(r, n.HISTORY_RULES))
    if not rules:
        return result
    cache: dict[int, list[dict[str, Any]]] = {}
    added: list[CheckResult] = []
    for rule in rules:
        targets = [c for c in result.checks if c.rule == "metric" and is_value_of(c.id, rule.metric_id)]
        for target in targets or [None]:
            added.append(_judge(rule, target, store, dataset, cache))
    checks = result.checks + tuple(added)
    return replace(result, checks=checks, status=decide.overall(checks))


def _judge(rule: n.Rule, target: CheckResult | None, store: str | None, dataset: str, cache: dict[int, list[dict[str, Any]]]) -> CheckResult:
    assert isinstance(rule, (n.Change, n.Anomaly))
    rid = rule.id if target is None or target.id == rule.metric_id else target.id + rule.id[len(rule.metric_id) :]
    threshold: dict[str, Any] = {"max": rule.max}
    if isinstance(rule, n.Anomaly):
        threshold.update(method=rule.method, window=rule.window)

    def made(status: str, observed: Any, message: str) -> CheckResult:
        return CheckResult(
            id=rid, rule=rule.kind, columns=rule.columns, severity=rule.severity, status=status,
            observed=observed, threshold=threshold, message=message, line=rule.line,
        )  # fmt: skip

    if store is None:
        return made("error", None, f"{rule.kind} of '{rule.metric_id}' compares with published versions and needs the snapshot store: pass --store (dq check) or store= (dqgate.check)")
    value = target.observed if target is not None else None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return made(decide.graded(False, rule.severity), None, f"'{rule.metric_id}' has no value in this run to compare with its history")
    window = rule.window if isinstance(rule, n.Anomaly) else 1
    assert target is not None
    try:
        past = past_values(store, dataset, target.id, window, cache)
    except DqError as exc:
        return made("error", None, f"cannot read the history of '{target.id}': {exc}")
    if isinstance(rule, n.Change):
        if not past:
            return made("pass", None, f"no published value of '{target.id}' yet; nothing to compare with")
        prev = past[-1]
        change = (0.0 if value == prev else math.inf) if prev == 0 else abs(value - prev) / abs(prev)
        status = decide.graded(change <= rule.max, rule.severity)
        return made(status, change, f"'{target.id}' = {value:g}, {_pct(change)} change from {prev:g} (max {rule.max:.4g})")
    if len(past) < MIN_POINTS:
        return made("pass", None, f"not enough history for '{target.id}' ({len(past)} published values, at least {MIN_POINTS} needed)")
    score, centre = anomaly_score(value, past, rule.method)
    status = decide.graded(score <= rule.max, rule.severity)
    return made(status, score, f"'{target.id}' = {value:g} is {score:.3g} {rule.method} units from {centre:g} over the last {len(past)} versions (max {rule.max:g})")


def _pct(change: float) -> str:
    return "infinite" if math.isinf(change) else f"{change:.2%}"


