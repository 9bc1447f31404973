"""RunResult -> a readable terminal table: failing rules first, observed against expected."""

from __future__ import annotations

import io
from typing import Any

from dqgate.runners.results import STATUS_ORDER, CheckResult, RunResult

_STYLE = {"info": "cyan", "pass": "green", "warn": "yellow", "fail": "bold red", "error": "bold magenta"}


def ordered(checks: tuple[CheckResult, ...]) -> list[CheckResult]:
    """Worst first, then in contract order."""
    return sorted(checks, key=lambda c: -STATUS_ORDER[c.status])


def expected_text(c: CheckResult) -> str:
    """The threshold as a person would say it."""
    t = c.threshold
    parts = []
    if any(k in t for k in ("min", "max", "greater_than", "less_than")):
        lo, hi = t.get("min", t.get("greater_than", "-inf")), t.get("max", t.get("less_than", "inf"))
        open_lo = t.get("exclusive") or t.get("exclusive_min") or "greater_than" in t
        open_hi = t.get("exclusive") or t.get("exclusive_max") or "less_than" in t
        parts.append(f"{'(' if open_lo else '['}{lo}, {hi}{')' if open_hi else ']'}")
    for key in ("in", "pattern", "format", "references", "max_age"):
        if key in t:
            value = t[key]
            if isinstance(value, list) and len(value) > 6:
                value = [*value[:6], "..."]
            parts.append(f"{key} {value}")
    if c.rule == "required":
        parts.append("not null")
    if c.rule == "unique":
        parts.append("no repeated key" + (" (NULLs equal)" if t.get("nulls") == "equal" else ""))
    if c.status == "info":
        parts.append("recorded only")
    if "mostly" in t:
        parts.append(f"mostly {t['mostly']}")
    if "where" in t:
        parts.append(f"where {t['where']}")
    return "; ".join(parts)


def observed_text(c: CheckResult) -> str:
    if c.failed_rows is not None:
        text = f"{c.failed_rows:,} / {c.total_rows:,} rows fail"
        if c.duplicate_groups:
            text += f" ({c.duplicate_groups:,} repeated keys, {c.excess_rows:,} excess rows)"
        return text
    if c.status == "error":
        return c.message
    value = c.observed
    if c.rule == "freshness" and isinstance(value, (int, float)):
        return f"{value / 86400:.1f} days old" if value >= 2 * 86400 else f"{value / 3600:.1f} hours old"
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def sample_text(c: CheckResult, limit: int = 3) -> str:
    def one(s: Any) -> str:
        if isinstance(s, dict):
            return "{" + ", ".join(f"{k}={v!r}" for k, v in s.items()) + "}"
        return repr(s)

    shown = ", ".join(one(s) for s in c.sample[:limit])
    return shown + (" ..." if len(c.sample) > limit else "")


def render(result: RunResult, *, color: bool = False, width: int = 140) -> str:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{result.contract['dataset']} {result.contract['version']}  ·  {result.source['uri']}  ·  {result.rows:,} rows", title_justify="left")
    for name in ("status", "check", "observed", "expected", "sample"):
        table.add_column(name, overflow="fold")
    for c in ordered(result.checks):
        style = _STYLE[c.status]
        cells = (escape(text) for text in (c.id, observed_text(c), expected_text(c), sample_text(c)))  # ids like "mean(x)[region=EU]" are not markup
        table.add_row(f"[{style}]{c.status.upper()}[/]", *cells)
    counts = {s: sum(1 for c in result.checks if c.status == s) for s in STATUS_ORDER}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, width=width, color_system="standard" if color else None)
    console.print(table)
    console.print(f"[{_STYLE[result.status]}]{result.status.upper()}[/]: {summary} in {result.elapsed_s:.2f}s")
    return buf.getvalue()
