"""What the HTML report shows of a snapshot store: versions, metric history with anomaly
bands, drift distributions, quarantined batches and lineage, as plain values.

Everything is read once from the manifests (one pass over ``versions/``), so a report
over a long history costs one read of each manifest; the charts are drawn from these
values by ``report/charts.py``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dqgate.ir import nodes as n
from dqgate.stats.drift import Reference
from dqgate.stats.profile import reference_of

if TYPE_CHECKING:
    from dqgate.contract import Contract
    from dqgate.ir.plan_cache import ContractRules

MAX_VERSIONS = 500
"""The newest versions a report reads; older ones are summarised by count."""


@dataclass
class MetricSeries:
    id: str
    versions: list[int]
    values: list[float]
    band: list[tuple[float, float] | None]
    bounds: tuple[float | None, float | None]
    anomaly: str | None = None


@dataclass
class DriftView:
    column: str
    method: str
    reference: str
    labels: list[str]
    ref_share: list[float]
    batch_share: list[float]


@dataclass
class Dashboard:
    dataset: str
    versions: list[dict[str, Any]] = field(default_factory=list)
    older: int = 0
    metrics: list[MetricSeries] = field(default_factory=list)
    drift: list[DriftView] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    lineage: list[dict[str, Any]] = field(default_factory=list)


def gather(store: str, contract: Contract | ContractRules, rules: tuple[n.Rule, ...], *, batch: str | None = None) -> Dashboard:
    """Read what the report shows about ``contract``'s dataset from ``store``; with ``batch``
    (the checked file), drift shows it against the newest version, as the drift rules see it.

    Raises:
        StoreError: the store is unusable (a dataset not yet published gives an empty dashboard).
    """
    from dqgate.store.layout import dataset_layout
    from dqgate.store.lineage import read_lineage
    from dqgate.store.publish import list_versions, load_manifest
    from dqgate.store.read import list_quarantine

    board = Dashboard(contract.dataset)
    if not dataset_layout(store, contract.dataset, reader=True).exists():  # reading only: no pyarrow import
        return board
    numbers = list_versions(store, contract.dataset)
    board.older = max(0, len(numbers) - MAX_VERSIONS)
    manifests = [load_manifest(store, contract.dataset, v) for v in numbers[-MAX_VERSIONS:]]
    for mf in manifests:
        checks = (mf.checks or {}).get("checks") or []
        board.versions.append({
            "version": mf.version, "created_at": mf.created_at, "created_by": mf.created_by, "rows": mf.rows,
            "status": mf.status, "batches": list(mf.batch_ids),
            "failed": [c.get("id") for c in checks if isinstance(c, dict) and c.get("status") in ("fail", "warn", "error")],
        })  # fmt: skip
    board.metrics = _metrics(manifests, rules)
    board.drift = _drift(manifests, rules, batch)
    for q in sorted(list_quarantine(store, contract.dataset), key=lambda q: str(q["modified"])):
        report = q.get("report") or {}
        checks = report.get("checks") if isinstance(report.get("checks"), list) else []
        reasons = [f"{c.get('id')}: {c.get('status')}" + (f" ({c.get('failed_rows')} rows)" if c.get("failed_rows") else "")
                   for c in checks if isinstance(c, dict) and c.get("status") in ("fail", "error")]  # fmt: skip
        board.quarantine.append({"batch_id": q["batch_id"], "modified": str(q["modified"])[:19], "files": q["files"],
                                 "status": report.get("status"), "outcome": report.get("outcome"), "reasons": reasons})  # fmt: skip
    board.lineage = read_lineage(store, contract.dataset)[-200:]
    return board


def _metrics(manifests: list[Any], rules: tuple[n.Rule, ...]) -> list[MetricSeries]:
    anomalies = {r.metric_id: r for r in rules if isinstance(r, n.Anomaly)}
    observed: list[tuple[int, dict[Any, list[Any]]]] = []  # per manifest: rule id -> observed values, indexed once
    for mf in manifests:
        seen: dict[Any, list[Any]] = {}
        for c in (mf.checks or {}).get("checks") or []:
            if isinstance(c, dict):
                seen.setdefault(c.get("id"), []).append(c.get("observed"))
        observed.append((mf.version, seen))
    out = []
    for rule in rules:
        if not isinstance(rule, n.Metric):
            continue
        versions, values = [], []
        for version, seen in observed:
            for v in seen.get(rule.id, ()):
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    versions.append(version)
                    values.append(float(v))
        anomaly = anomalies.get(rule.id)
        band = [_band(values[:i], anomaly) if anomaly else None for i in range(len(values))]
        how = f"{anomaly.method}, window {anomaly.window}, max {anomaly.max:g}" if anomaly else None
        out.append(MetricSeries(rule.id, versions, values, band, (rule.min, rule.max), how))
    return out


def _band(past: list[float], rule: n.Anomaly) -> tuple[float, float] | None:
    """The values the anomaly rule would have accepted for the next version (None before 3 points)."""
    window = past[-rule.window :]
    if len(window) < 3:
        return None
    if rule.method == "zscore":
        centre, spread = statistics.fmean(window), statistics.stdev(window)
    else:
        centre = statistics.median(window)
        spread = 1.4826 * statistics.median(abs(x - centre) for x in window)
    return centre - rule.max * spread, centre + rule.max * spread


def _drift(manifests: list[Any], rules: tuple[n.Rule, ...], batch: str | None) -> list[DriftView]:
    """For each drift rule: the batch (else the newest version) against the newest (else the one before)."""
    drift = [r for r in rules if isinstance(r, n.Drift)]
    if not drift or not manifests or (batch is None and len(manifests) < 2):
        return []
    if batch is not None:
        reference, label = manifests[-1], "batch"
        current = _profile_of(batch, {r.columns[0] for r in drift}, reference.profile)
    else:
        reference, label = manifests[-2], f"version {manifests[-1].version}"
        current = manifests[-1].profile
    if current is None:
        return []
    out = []
    for rule in drift:
        col = rule.columns[0]
        ref = reference_of(reference.profile, col, source=f"version {reference.version}")
        cur = reference_of(current, col, source=label)
        if isinstance(ref, str) or isinstance(cur, str):
            continue
        labels, a, b = _shares(ref, cur)
        out.append(DriftView(col, rule.method, f"version {reference.version} → {label}", labels, a, b))
    return out


def _profile_of(path: str, columns: set[str], reference: dict[str, Any] | None) -> dict[str, Any] | None:
    """The profile of a data file, counted at the reference's knots (None when it cannot be read)."""
    import duckdb

    from dqgate.errors import DqError
    from dqgate.runners import sources
    from dqgate.stats import profile as prof

    con = duckdb.connect(":memory:")
    try:
        sources.register(con, path, "__dq_report_batch")
        profile, _ = prof.profile_view(con, "__dq_report_batch", knots_for=columns, knots_at=prof.knots_of(reference))
        return profile
    except (DqError, duckdb.Error):
        return None
    finally:
        con.close()


def _shares(ref: Reference, cur: Reference, bins: int = 12) -> tuple[list[str], list[float], list[float]]:
    """Both distributions on shared bins (categories as they are, numbers in equal-width bins)."""
    if not ref.numeric or ref.values is None or cur.values is None:
        if ref.values is not None and cur.values is not None and not ref.numeric:
            keys = sorted({str(v) for v, _ in ref.values} | {str(v) for v, _ in cur.values})[:30]
            ra = {str(v): c for v, c in ref.values}
            cb = {str(v): c for v, c in cur.values}
            return keys, [ra.get(k, 0) / ref.n for k in keys], [cb.get(k, 0) / cur.n for k in keys]
        pairs_a = _from_knots(ref)
        pairs_b = _from_knots(cur)
    else:
        pairs_a, pairs_b = list(ref.values), list(cur.values)
    lo = min(float(v) for v, _ in pairs_a + pairs_b)
    hi = max(float(v) for v, _ in pairs_a + pairs_b)
    width = (hi - lo) / bins or 1.0
    edges = [lo + i * width for i in range(bins + 1)]

    def hist(pairs: list[tuple[Any, int]], total: int) -> list[float]:
        counts = [0] * bins
        for v, c in pairs:
            counts[min(bins - 1, int((float(v) - lo) / width))] += c
        return [x / total for x in counts]

    labels = [f"{edges[i]:.3g}" for i in range(bins)]
    return labels, hist(pairs_a, ref.n), hist(pairs_b, cur.n)


def _from_knots(ref: Reference) -> list[tuple[float, int]]:
    """Counts between consecutive knots (cumulative counts), placed at each knot."""
    out, before = [], 0
    for point, cumulative in ref.knots or ():
        out.append((point, cumulative - before))
        before = cumulative
    return out
