"""Shared click parameter types and output handling."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any, Callable, TypeVar

import click

from dqgate.cli.atomic import write_text

from dqgate.errors import UsageError

FORMATS = ("text", "json", "junit", "markdown")
ENGINES = ("duckdb", "polars", "postgres", "spark")  # runners/check.py's ENGINES, without importing an engine here

F = TypeVar("F", bound=Callable[..., Any])

# The options `dq check` and `dq ingest` share, defined once: a pipeline that adds `-q`
# or `--format junit` to one command can add it to the other, and a message that
# suggests one of them (``--allow-empty`` after an empty batch) names an option both have.
RUN_OPTIONS: tuple[Callable[[F], F], ...] = (
    click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
                 help="Report format."),
    click.option("--output", "-o", metavar="FILE", help="Write the report here instead of stdout."),
    click.option("--engine", type=click.Choice(ENGINES), default=None,
                 help="Engine of the check (default: duckdb)."),
    click.option("--samples", type=click.IntRange(0, 1000), default=5, show_default=True,
                 help="Failing-row samples per failing rule."),
    click.option("--allow-empty", is_flag=True, help="Check a dataset with 0 rows instead of refusing it."),
    click.option("--verbose", "-v", is_flag=True, help="List every passing rule too (text report)."),
    click.option("--quiet", "-q", is_flag=True, help=(
        "No progress bar. Without it, a check running over a second shows one on stderr"
        " when stderr is a terminal (DQ_PROGRESS=0 turns it off too).")),
)  # fmt: skip


def run_options(command: F) -> F:
    """Decorate ``command`` with :data:`RUN_OPTIONS` (in the order --help lists them)."""
    for option in reversed(RUN_OPTIONS):
        command = option(command)
    return command


def option_names(command: click.Command) -> set[str]:
    """Every spelling of every option of ``command`` (``--format``, ``-o``, ...)."""
    return {name for p in command.params if isinstance(p, click.Option) for name in (*p.opts, *p.secondary_opts)}


class Timestamp(click.ParamType):
    """An ISO-8601 time (``2025-01-31`` or ``2025-01-31T12:00:00Z``); naive means UTC."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        text = str(value).strip().replace("Z", "+00:00")
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"'{value}' is not an ISO time such as 2025-01-31T12:00:00Z", param, ctx)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


class Duration(click.ParamType):
    """A duration such as ``30d``, ``12h``, ``1d12h``, ``90m`` or ``45s``, in seconds."""

    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        from dqgate.contract.model import parse_duration

        try:
            return parse_duration(str(value).strip())
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
def check_output(output: str) -> None:
    """Refuse an ``--output`` that cannot be written: a folder, or a file in a missing folder."""
    if os.path.isdir(output):
        raise UsageError(f"--output {output}: is a folder; name a file to write the report to", param="output")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise UsageError(f"--output {output}: folder '{folder}' does not exist", param="output")


def write_output(text: str, output: str | None) -> None:
    """Print ``text`` or write it to ``output`` atomically (never a half-written report)."""
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    check_output(output)
    write_text(output, text)


def _report_folder(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Refuse a report path whose folder is missing before any work is done (not after the check)."""
    if value is not None and not os.path.isdir(os.path.dirname(os.path.abspath(value))):
        raise click.BadParameter(f"folder '{os.path.dirname(os.path.abspath(value))}' does not exist", ctx=ctx, param=param)
    return value


def report_option(help_text: str, *flags: str, required: bool = False) -> Any:
    """An HTML report path, checked up front."""
    return click.option(*(flags or ("--report",)), "report", metavar="FILE", required=required, help=help_text, callback=_report_folder)


object_option = click.option(
    "--object", "odcs_object", metavar="NAME",
    help="For an ODCS contract with several schema objects: the one to use.",
)  # fmt: skip


def _webhook_urls(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """Refuse a --notify that is not an http(s) URL before anything runs (as the contract's
    ``notify:`` does), rather than when the alert is due."""
    for url in value:
        if not url.lower().startswith(("http://", "https://")):
            raise click.BadParameter(f"'{url}' is not an http:// or https:// URL", ctx=ctx, param=param)
    return value


def notify_options(func: Any) -> Any:
    """``--notify URL`` (repeatable) and ``--notify-warn``: where to POST an alert when the check fails."""
    func = click.option("--notify-warn", is_flag=True, help="--notify webhooks fire on warnings too.")(func)
    return click.option(
        "--notify", "notify_urls", metavar="URL", multiple=True, callback=_webhook_urls,
        help="POST a JSON summary (Slack-compatible) here when the check fails; never changes the exit code.",
    )(func)  # fmt: skip


def send_alerts(result: Any, contract: Any, urls: tuple[str, ...], *, on_warn: bool, extra: str | None = None) -> None:
    """Deliver the alerts of ``result``; an undeliverable one is a warning line on stderr, nothing more."""
    if not urls and contract.model.notify is None:
        return  # nothing to send: the webhook client stays unloaded
    from dqgate.gate.notify import notify, targets

    for target in targets(contract.model.notify, urls, on_warn=on_warn):
        line = notify(result, target, extra=extra)
        if line:
            click.echo(line, err=True)


# Output of the store commands (`dq snapshots`, `dq quarantine`, `dq lineage`): one
# definition of their --format, their rich tables and their JSON.
STORE_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format."
)


def rich_console() -> Any:
    """A rich console on stdout as it is at print time (CliRunner swaps it); pipes and CI logs
    get wide lines, not ellipses."""
    from rich.console import Console

    out = Console(highlight=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = 160
    return out


def echo_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def cell(v: Any) -> str:
    """A table cell: ``-`` for nothing, thousands separators for counts, 6 digits for floats."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)
