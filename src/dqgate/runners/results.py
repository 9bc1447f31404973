"""CheckResult / RunResult: the frozen records behind the stable result JSON."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

Poll = Callable[[], "float | None"]


class Progress(Protocol):
    """What a runner calls to show progress: ``progress(poll, since=t0)`` gives a context
    manager that is open while the engine runs (``poll``: the engine's estimate of how
    far it is, in percent, or None). The display itself lives above the runners
    (:class:`dqgate.report.progress.Bar`), so runners never print."""

    def __call__(self, poll: Poll | None = None, *, since: float) -> AbstractContextManager[Any]: ...


# ``info``: a rule without bounds, recorded only (as good as a pass for the gate).
STATUS_ORDER = {"info": 0, "pass": 0, "warn": 1, "fail": 2, "error": 3}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one rule (see DESIGN.md, "Result JSON")."""

    id: str
    rule: str
    columns: tuple[str, ...]
    severity: str
    status: str
    failed_rows: int | None = None
    total_rows: int | None = None
    observed: Any = None
    threshold: dict[str, Any] = field(default_factory=dict)
    sample: tuple[Any, ...] = ()
    message: str = ""
    line: int = 0
    duplicate_groups: int | None = None  # unique rules: repeated keys, and rows beyond one per key
    excess_rows: int | None = None
    scope: str | None = None  # "snapshot" | "batch": what an appending ingest judged the rule over
    computed: str | None = None  # "merged" | "rescan" | "batch": how the snapshot's value was obtained

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "rule": self.rule,
            "columns": list(self.columns),
            "severity": self.severity,
            "status": self.status,
        }
        if self.failed_rows is not None:
            out["failed_rows"] = self.failed_rows
            out["total_rows"] = self.total_rows
        if self.duplicate_groups is not None:
            out["duplicate_groups"] = self.duplicate_groups
            out["excess_rows"] = self.excess_rows
        out["observed"] = _jsonable(self.observed)
        out["threshold"] = {k: _jsonable(v) for k, v in self.threshold.items()}
        if self.sample:
            out["sample"] = [_jsonable(s) for s in self.sample]
        out["message"] = self.message
        if self.scope is not None:
            out["scope"] = self.scope
            out["computed"] = self.computed
        return out


@dataclass(frozen=True)
class RunResult:
    """Every check of one contract over one source."""

    contract: dict[str, str]
    source: dict[str, Any]
    status: str
    checks: tuple[CheckResult, ...]
    elapsed_s: float
    engine: str = "duckdb"
    dqgate_version: str = "0.1.0"
    engine_note: str = ""  # why ``engine`` ran when it is not the one the data would get
    # data column -> DuckDB's name for it in the checked view, where DuckDB renamed it (columns that
    # differ only in case); the gate compiles more SQL over that view (compilers.duckdb.data_names)
    renamed: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return int(self.source.get("rows") or 0)

    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.status in ("fail", "error"))

    def to_json(self) -> dict[str, Any]:
        return {
            "dqgate_version": self.dqgate_version,
            "contract": dict(self.contract),
            "source": {k: _jsonable(v) for k, v in self.source.items()},
            "engine": self.engine,
            **({"engine_note": self.engine_note} if self.engine_note else {}),
            "status": self.status,
            "checks": [c.to_json() for c in self.checks],
            "elapsed_s": round(self.elapsed_s, 4),
        }


def _jsonable(value: Any) -> Any:
    """Plain JSON values for numbers, dates, decimals and nested samples."""
    import datetime as dt
    import decimal
    import math

    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
