"""Counts and metric values + severity/mostly -> a status per check and for the run. Pure.

* A row rule fails when any applicable row fails, or, with ``mostly: f``, when the
  passing fraction of applicable rows is below f. No applicable rows: it passes.
* A metric fails when its value is outside its inclusive bounds, or is NULL (no
  rows, or only NULLs) while it has bounds.
* A metric or drift rule without bounds is recorded only: ``info``, which never fails.
* A failing rule of ``severity: warn`` reports ``warn``; the run's status is the
  worst over all checks, where ``warn`` never fails the gate.
"""

from __future__ import annotations

from typing import Any

from dqgate.contract.bounds import comparable
from dqgate.runners.results import STATUS_ORDER, CheckResult


def row_status(failed: int, total: int, mostly: float | None) -> tuple[bool, float]:
    """(passed, observed pass fraction) of a row rule."""
    observed = 1.0 if total == 0 else (total - failed) / total
    if mostly is None:
        return failed == 0, observed
    return observed >= mostly, observed


def metric_status(value: Any, lo: Any, hi: Any, *, open_min: bool = False, open_max: bool = False) -> bool:
    """True when ``value`` lies within the bounds, inclusive unless ``open_min``/``open_max``
    (NULL fails any bound). Instants compare with instants: a date bound on a timestamp
    metric is its midnight, a naive one is UTC (``contract/bounds.py``)."""
    if lo is None and hi is None:
        return True
    if value is None:
        return False
    try:
        if lo is not None:
            v, b = comparable(value, lo)
            if not (v > b if open_min else v >= b):
                return False
        if hi is not None:
            v, b = comparable(value, hi)
            if not (v < b if open_max else v <= b):
                return False
        return True
    except TypeError:
        return False


def unbounded(lo: Any, hi: Any) -> bool:
    """A metric or drift rule without bounds is recorded only: status ``info``, never a failure."""
    return lo is None and hi is None


def graded(passed: bool, severity: str) -> str:
    if passed:
        return "pass"
    return "warn" if severity == "warn" else "fail"


def overall(checks: tuple[CheckResult, ...]) -> str:
    """Worst status over all checks; ``error`` (a check could not run) counts as fail."""
    worst = max((STATUS_ORDER[c.status] for c in checks), default=0)
    return "fail" if worst >= STATUS_ORDER["fail"] else ("warn" if worst == STATUS_ORDER["warn"] else "pass")
