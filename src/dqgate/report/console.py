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
    for key in ("expect", "metric", "in", "pattern", "format", "references", "max_age"):
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
    """What the data showed; a metric without a value says why (its message)."""
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
    if value is None:
        return c.message if c.status != "pass" else ""
    return str(value)


def sample_text(c: CheckResult, limit: int = 3) -> str:
    def one(s: Any) -> str:
        if isinstance(s, dict):
            return "{" + ", ".join(f"{k}={v!r}" for k, v in s.items()) + "}"
        return repr(s)

    shown = ", ".join(one(s) for s in c.sample[:limit])
    return shown + (" ..." if len(c.sample) > limit else "")


def _short(uri: str) -> str:
    """A path under the working folder as a relative path (what the user typed, usually)."""
    import os

    if not os.path.isabs(uri):
        return uri
    rel = os.path.relpath(uri)
    return uri if rel.startswith("..") else rel


def terminal_width(default: int = 100) -> int:
    """The width to draw for: ``COLUMNS`` when set, else the terminal's, else ``default``
    (a report piped to a file or a CI log is not squeezed to a guessed 80)."""
    import shutil

    return max(40, shutil.get_terminal_size((default, 24)).columns)


def render(result: RunResult, *, color: bool = False, width: int | None = None, verbose: bool = False) -> str:
    """The report: failures, errors and warnings first, each with what its rule expected;
    passing rules as one summary row unless ``verbose``. No line is wider than ``width``
    (default :func:`terminal_width`): long cells wrap inside their column."""
    width = width or terminal_width()
    shown = ordered(result.checks) if verbose else [c for c in ordered(result.checks) if c.status != "pass"]
    passed = sum(1 for c in result.checks if c.status == "pass")
    title = f"{result.contract['dataset']} {result.contract['version']}  ·  {_short(str(result.source['uri']))}  ·  {result.rows:,} rows  ·  {result.engine}"
    counts = {s: sum(1 for c in result.checks if c.status == s) for s in STATUS_ORDER}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no rules to check"
    if passed and not verbose:
        summary += " (--verbose lists the passing rules)"
    status_line = f"{result.status.upper()}: {summary} in {result.elapsed_s:.2f}s"
    if not shown and not color:  # no table, no colour: plain lines, without rich's import (~0.1 s a check)
        note = [f"note: {result.engine_note}"] if result.engine_note else []
        return "".join(_wrapped(line, width) for line in (title, *note, status_line))
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title), title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    with_sample = any(c.sample for c in shown)
    table.add_column("status", no_wrap=True, min_width=5)
    # ids and counts are short; what a rule expected and the failing rows get the room
    table.add_column("check", overflow="fold", max_width=max(16, width // 4))
    table.add_column("observed", overflow="fold", max_width=max(12, width // 6))
    table.add_column("expected", overflow="fold")
    if with_sample:
        table.add_column("sample", overflow="fold")
    for c in shown:
        style = _STYLE[c.status]
        cells = [c.id, observed_text(c), expected_text(c)] + ([sample_text(c, limit=2)] if with_sample else [])
        table.add_row(f"[{style}]{c.status.upper()}[/]", *(escape(t) for t in cells))  # ids like "mean(x)[region=EU]" are not markup
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, width=width, color_system="standard" if color else None, soft_wrap=False)
    if shown:
        console.print(table)
    else:
        console.print(escape(title))
    if result.engine_note:
        console.print(escape(f"note: {result.engine_note}"))
    console.print(f"[{_STYLE[result.status]}]{result.status.upper()}[/]: {escape(summary)} in {result.elapsed_s:.2f}s")
    return buf.getvalue()


def _wrapped(line: str, width: int) -> str:
    """``line`` broken into lines of at most ``width`` characters as rich wraps it: at
    spaces, a word longer than a line on lines of its own, folded."""
    import re

    out, current = [], ""
    for word in re.findall(r"\S+\s*", line):  # each word with the spaces after it
        if len(current) + len(word.rstrip()) <= width:
            current += word
            continue
        if current:
            out.append(current)
        while len(word.rstrip()) > width:
            out.append(word[:width])
            word = word[width:]
        current = word
    out.append(current)
    return "".join(part[:width] + "\n" for part in out)
