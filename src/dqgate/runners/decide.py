"""Counts and metric values + severity/mostly -> a status per check and for the run. Pure.

* A row rule fails when any applicable row fails, or, with ``mostly: f``, when the
  passing fraction of applicable rows is below f. No applicable rows: it passes.
* A metric fails when its value is outside its inclusive bounds, or is NULL (no
  rows, or only NULLs) while it has bounds.
* A failing rule of ``severity: warn`` reports ``warn``; the run's status is the
  worst over all checks, where ``warn`` never fails the gate.
"""

from __future__ import annotations

from typing import Any

from dqgate.runners.results import STATUS_ORDER, CheckResult


def row_status(failed: int, total: int, mostly: float | None) -> tuple[bool, float]:
    """(passed, observed pass fraction) of a row rule."""
    observed = 1.0 if total == 0 else (total - failed) / total
    if mostly is None:
        return failed == 0, observed
    return observed >= mostly, observed


def metric_status(value: Any, lo: Any, hi: Any) -> bool:
    """True when ``value`` lies within the inclusive bounds (NULL fails any bound)."""
    if lo is None and hi is None:
        return True
    if value is None:
        return False
    try:
        return (lo is None or value >= lo) and (hi is None or value <= hi)
    except TypeError:
        return False


def graded(passed: bool, severity: str) -> str:
    if passed:
        return "pass"
    return "warn" if severity == "warn" else "fail"


def overall(checks: tuple[CheckResult, ...]) -> str:
    """Worst status over all checks; ``error`` (a check could not run) counts as fail."""
    worst = max((STATUS_ORDER[c.status] for c in checks), default=0)
    return "fail" if worst >= STATUS_ORDER["fail"] else ("warn" if worst == STATUS_ORDER["warn"] else "pass")
