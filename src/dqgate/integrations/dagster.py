"""Dagster asset checks from a dqgate contract (``pip install 'dqgate[dagster]'``).

::

    from dqgate.integrations.dagster import asset_checks

    flights_checks = asset_checks("contracts/flights.yaml", asset="flights", data="warehouse/flights.parquet")
    defs = Definitions(assets=[flights], asset_checks=[flights_checks])

One Dagster check per contract rule (named after its rule id: ``tailnum.pattern`` is
``tailnum_pattern``), all computed by one dqgate check (one pass over the data) in one
``multi_asset_check``. A rule with ``severity: warn`` is a Dagster WARN check; each result
carries dqgate's numbers as metadata (failed rows, observed value, threshold, samples).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from dqgate.contract import Contract


def check_name(rule_id: str) -> str:
    """A Dagster check name for a dqgate rule id (letters, digits and underscores)."""
    return re.sub(r"\W+", "_", rule_id).strip("_") or "rule"


def asset_checks(
    contract: Contract | str | os.PathLike[str],
    *,
    asset: Any,
    data: Any = None,
    store: str | None = None,
    engine: str | None = None,
    name: str | None = None,
    blocking: bool = False,
) -> Any:
    """A ``multi_asset_check`` running ``contract`` against ``asset``'s data.

    Args:
        contract: a Contract or the path of a contract (dqgate or ODCS).
        asset: the asset key (or asset) the checks belong to.
        data: what to check: a path, a frame, or a callable returning one (called at run time);
            default the contract's ``source:``.
        store: the snapshot store for drift and history rules.
        engine: ``duckdb`` or ``polars``.
        name: the Dagster op name (default ``dqgate_<dataset>``).
        blocking: failing error-severity checks block downstream materializations.
    """
    import dagster as dg

    from dqgate.contract import load_contract
    from dqgate.ir.plan import plan

    c = contract if not isinstance(contract, (str, os.PathLike)) else load_contract(os.fspath(contract))
    rules = plan(c)
    names: dict[str, str] = {}
    for rule in rules:
        base = candidate = check_name(rule.id)
        n = 2
        while candidate in names.values():
            candidate, n = f"{base}_{n}", n + 1
        names[rule.id] = candidate
    key = asset if isinstance(asset, dg.AssetKey) else dg.AssetKey(asset) if isinstance(asset, (str, list)) else asset.key
    specs = [
        dg.AssetCheckSpec(name=names[r.id], asset=key, description=f"dqgate rule {r.id} ({r.kind})", blocking=blocking and r.severity == "error")
        for r in rules
    ]

    @dg.multi_asset_check(specs=specs, name=name or check_name(f"dqgate_{c.dataset}"))
    def _dqgate_checks(context):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202 - dagster resolves annotations itself
        import dqgate

        source = data() if callable(data) else data
        result = dqgate.check(source, c, store=store, engine=engine)
        grouped: dict[str, list[Any]] = {}
        for check in result.checks:
            rule_id = check.id.split("[", 1)[0] if check.id not in names else check.id  # slices of a sliced metric
            grouped.setdefault(rule_id, []).append(check)
        for rule in rules:
            found = grouped.get(rule.id, [])
            yield _result(dg, key, names[rule.id], rule, found)

    return _dqgate_checks


def _result(dg: Any, key: Any, name: str, rule: Any, checks: list[Any]) -> Any:
    severity = dg.AssetCheckSeverity.WARN if rule.severity == "warn" else dg.AssetCheckSeverity.ERROR
    if not checks:
        return dg.AssetCheckResult(asset_key=key, check_name=name, passed=False, severity=severity,
                                   metadata={"dqgate_status": "no result"})  # fmt: skip
    worst = max(checks, key=lambda c: ("pass", "warn", "fail", "error").index(c.status))
    meta: dict[str, Any] = {"dqgate_status": worst.status, "dqgate_id": worst.id}
    if worst.failed_rows is not None:
        meta["failed_rows"] = int(worst.failed_rows)
        meta["total_rows"] = int(worst.total_rows or 0)
    if isinstance(worst.observed, (int, float)) and not isinstance(worst.observed, bool):
        meta["observed"] = float(worst.observed)
    if worst.threshold:
        meta["threshold"] = dg.MetadataValue.json({k: v if isinstance(v, (int, float, str, bool, list, dict)) or v is None else str(v) for k, v in worst.threshold.items()})
    if worst.sample:
        meta["sample"] = dg.MetadataValue.text(", ".join(repr(s) for s in worst.sample[:5]))
    if worst.message:
        meta["message"] = dg.MetadataValue.text(worst.message)
    return dg.AssetCheckResult(asset_key=key, check_name=name, passed=worst.status == "pass", severity=severity, metadata=meta)
