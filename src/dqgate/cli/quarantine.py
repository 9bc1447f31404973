"""``dq quarantine list | show | release | drop``: inspect and settle batches the gate rejected.

``release`` judges a batch again under the contract given with ``--contract`` and
publishes it if that passes (exit 0), else writes nothing (exit 1); ``drop`` deletes
an entry. Retention is ``dq store gc --quarantine-older-than 30d``.
"""

from __future__ import annotations

import click
import pyarrow as pa
from rich.table import Table

from dqgate.cli._params import STORE_FORMAT, cell, echo_json, rich_console
from dqgate.errors import StoreError
from dqgate.store.quarantine_entries import drop, entry_rows, release_record, with_reasons
from dqgate.store.read import list_quarantine, quarantine_report


@click.group("quarantine")
def quarantine() -> None:
    """Inspect, release and drop batches the gate rejected."""


@quarantine.command("list")
@click.argument("store")
@click.argument("dataset")
@STORE_FORMAT
def list_cmd(store: str, dataset: str, fmt: str) -> None:
    """List the quarantined batches of DATASET."""
    batches = list_quarantine(store, dataset)
    for q in batches:
        q["released"] = release_record(store, dataset, q["batch_id"]) if q["report"] is not None else None
    if fmt == "json":
        echo_json(batches)
        return
    table = Table(title=f"{dataset}: {len(batches)} quarantined batch(es)")
    for col in ("batch", "modified", "status", "contract", "rows", "files", "bytes", "released"):
        table.add_column(col, justify="right" if col in ("rows", "files", "bytes") else "left")
    for q in batches:
        report = q["report"] or {}
        source = report.get("source") if isinstance(report.get("source"), dict) else {}
        contract = report.get("contract") if isinstance(report.get("contract"), dict) else {}
        released = q["released"]
        table.add_row(
            q["batch_id"],
            str(q["modified"])[:19],
            str(report.get("status", "-" if q["report"] is None else "?")),
            f"{contract.get('version', '?')} {str(contract.get('sha256', ''))[:8]}" if contract else "-",
            cell(report.get("rows", source.get("rows"))),
            cell(q["files"]),
            cell(q["bytes"]),
            f"v{released.get('version')} by {released.get('released_by')}" if released else "-",
        )
    rich_console().print(table)


@quarantine.command("show")
@click.argument("store")
@click.argument("dataset")
@click.argument("batch_id", metavar="BATCH")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True, help="Rows to print.")
@click.option("--contract", type=click.Path(dir_okay=False), help="For a whole-batch entry: flag its rows under this contract.")
@STORE_FORMAT
def show_cmd(store: str, dataset: str, batch_id: str, limit: int, contract: str | None, fmt: str) -> None:
    """Show the checks that failed BATCH and its failing rows, with a `reasons` column.

    A `quarantine_rows` entry keeps one flag column per rule; a whole batch has none,
    so with --contract its rows are flagged now and only failing ones are shown.
    """
    report = quarantine_report(store, dataset, batch_id)
    try:
        rows, rule_columns = entry_rows(store, dataset, batch_id)
    except StoreError:  # a report without its data (written by hand, or the data was removed)
        rows, rule_columns = pa.table({}), []
    if contract is not None and not rule_columns and rows.num_columns:
        from dqgate.gate.release import flag_rows

        rows, rule_columns = flag_rows(contract, rows)
    shown = with_reasons(rows.slice(0, limit), rule_columns) if rule_columns else rows.slice(0, limit)
    if fmt == "json":  # the report as written, plus the failing rows when the entry holds them
        extra = {"quarantined_rows": {"rows": rows.num_rows, "rule_columns": rule_columns, "sample": shown.to_pylist()}} if rows.num_columns else {}
        echo_json({**report, **extra})
        return
    console = rich_console()
    console.print(f"[bold]{dataset}[/] batch {batch_id}: status {report.get('status', '?')}, {rows.num_rows:,} row(s)")
    checks = report.get("checks")
    if isinstance(checks, list):
        table = Table(title="checks")
        for col in ("id", "severity", "status", "failed_rows", "message"):
            table.add_column(col)
        for c in checks:
            if isinstance(c, dict) and c.get("status") != "pass":
                table.add_row(*(cell(c.get(col)) for col in ("id", "severity", "status", "failed_rows", "message")))
        console.print(table)
    if not shown.num_columns:
        return
    table = Table(title=f"rows (first {shown.num_rows:,} of {rows.num_rows:,})")
    for name in shown.column_names:
        table.add_column(name)
    for record in shown.to_pylist():
        table.add_row(*(", ".join(v) if isinstance(v, list) and k in ("reasons", "__dq_reasons") else cell(v) for k, v in record.items()))
    console.print(table)


@quarantine.command("release")
@click.argument("store")
@click.argument("dataset")
@click.argument("batch_id", metavar="BATCH")
@click.option("--contract", "contract", required=True, type=click.Path(dir_okay=False), help="The current contract to judge the batch under.")
@click.option("--by", "created_by", help="Who releases it (default: user@host).")
@click.pass_context
def release_cmd(ctx: click.Context, store: str, dataset: str, batch_id: str, contract: str, created_by: str | None) -> None:
    """Check BATCH again under --contract; publish it if it passes (exit 0), else exit 1."""
    from dqgate.gate.release import release
    from dqgate.report.console import render

    outcome = release(contract, store, dataset, batch_id, created_by=created_by)
    if outcome.outcome in ("published", "already_published"):
        click.echo(f"released {batch_id}: {outcome.summary()}")
        return
    if outcome.result is not None:
        click.echo(render(outcome.result), nl=False)
    click.echo(f"{batch_id}: still fails under the contract; nothing published, the batch stays in quarantine")
    ctx.exit(1)


@quarantine.command("drop")
@click.argument("store")
@click.argument("dataset")
@click.argument("batch_id", metavar="BATCH")
def drop_cmd(store: str, dataset: str, batch_id: str) -> None:
    """Delete quarantined BATCH of DATASET."""
    click.echo(f"{dataset}: dropped {drop(store, dataset, batch_id)}")
