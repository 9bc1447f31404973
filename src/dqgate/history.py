"""Metric history: each published version's observed metric values, and rules against them.

Every manifest keeps the check results of the batch it published (``checks``), so
the history of a metric is the ``observed`` value of its id across versions, oldest
first. Versions where the metric had no value (or did not exist) are skipped.

Rules against history (``change:`` and ``anomaly:`` on a metric check) are decided
after the query, from the run's own value and the store:

* ``change: {max: r}``: ``|x - prev| / |prev| <= r`` against the newest published
  value (``prev = 0``: 0 when ``x = 0``, else infinite);
* ``anomaly: {method: zscore, window: N, max: k}``: ``|x - mean| / stdev <= k`` over
  the last N values (sample standard deviation); ``mad``: ``|x - median| /
  (1.4826 * MAD) <= k``. A spread of 0 gives 0 when ``x`` equals the centre, else
  infinity. Fewer than 3 values: the rule passes and says so.

Without a store the rules report ``error`` ("needs --store"). A metric with ``by:``
gets one history rule result per group (``mean(x)[region=EU].change``).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import replace
from typing import Any

from dqgate.errors import DqError
from dqgate.gate import decide
from dqgate.ir import nodes as n
from dqgate.runners.results import CheckResult, RunResult

MIN_POINTS = 3


def series(store: str, dataset: str, metric_id: str | None = None, *, last: int | None = None) -> list[dict[str, Any]]:
    """``[{version, created_at, values: {metric id: observed}}]``, oldest first.

    Args:
        store: the snapshot store.
        dataset: the dataset name.
        metric_id: keep only this id (and its slices, ``id[...]``).
        last: read only the newest ``last`` versions.

    Raises:
        StoreError: the store or dataset does not exist.
    """
    from dqgate.store.layout import dataset_layout, require_dataset
    from dqgate.store.publish import list_versions, load_manifest

    require_dataset(dataset_layout(store, dataset))
    versions = list_versions(store, dataset)
    if last is not None:
        versions = versions[-last:]
    out = []
    for version in versions:
        manifest = load_manifest(store, dataset, version)
        values = {}
        for check in (manifest.checks or {}).get("checks") or []:
            cid = check.get("id")
            if not isinstance(cid, str) or not isinstance(check.get("observed"), (int, float)) or isinstance(check.get("observed"), bool):
                continue
            if metric_id is None or is_value_of(cid, metric_id):
                values[cid] = check["observed"]
        out.append({"version": version, "created_at": manifest.created_at, "values": values})
    return out


def is_value_of(cid: str, metric_id: str) -> bool:
    """Whether result id ``cid`` is metric ``metric_id`` or one of its slices (``id[...]``)."""
    return cid == metric_id or (cid.startswith(metric_id + "[") and cid.endswith("]"))


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
        past = _past(store, dataset, target.id, window, cache)
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


def anomaly_score(value: float, past: list[float], method: str) -> tuple[float, float]:
    """(score, centre) of ``value`` against ``past`` by ``zscore`` or ``mad``."""
    if method == "zscore":
        centre, spread = statistics.fmean(past), statistics.stdev(past)
    else:
        centre = statistics.median(past)
        spread = 1.4826 * statistics.median(abs(x - centre) for x in past)
    if spread == 0:
        return (0.0 if value == centre else math.inf), centre
    return abs(value - centre) / spread, centre


def _past(store: str, dataset: str, cid: str, window: int, cache: dict[int, list[dict[str, Any]]]) -> list[float]:
    """The newest ``window`` published values of ``cid``, oldest first."""
    from dqgate.store.layout import dataset_layout

    if not dataset_layout(store, dataset).exists():
        return []
    if 0 not in cache:
        cache[0] = series(store, dataset)
    values = [p["values"][cid] for p in cache[0] if cid in p["values"]]
    return [float(v) for v in values[-window:]]
