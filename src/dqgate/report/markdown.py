"""RunResult -> Markdown, for pull-request comments and CI step summaries."""

from __future__ import annotations

from dqgate.report.console import expected_text, observed_text, ordered, sample_text
from dqgate.runners.results import RunResult

_ICON = {"info": "ℹ️ info", "pass": "✅ pass", "warn": "⚠️ warn", "fail": "❌ fail", "error": "💥 error"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(result: RunResult) -> str:
    c = result.contract
    lines = [
        f"### dqgate: `{c['dataset']}` {c['version']} — {_ICON[result.status]}",
        "",
        f"Source `{result.source['uri']}`, {result.rows:,} rows, {len(result.checks)} checks in {result.elapsed_s:.2f}s.",
        "",
        "| status | check | observed | expected | sample |",
        "|---|---|---|---|---|",
    ]
    for check in ordered(result.checks):
        row = (_ICON[check.status], f"`{check.id}`", observed_text(check), expected_text(check), sample_text(check))
        lines.append("| " + " | ".join(_cell(x) for x in row) + " |")
    return "\n".join(lines) + "\n"
