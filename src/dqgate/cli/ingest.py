"""`dq ingest`: write–audit–publish one or more batches into a snapshot store."""

from __future__ import annotations

import datetime as dt
import json
import os

import click

from dqgate.cli._params import Timestamp, notify_options, object_option, report_option, send_alerts
from dqgate.errors import DataError


@click.command()
@click.argument("contract", type=click.Path(dir_okay=False))
@click.argument("batches", nargs=-1, required=True, metavar="BATCH...")
@click.option("--store", required=True, metavar="DIR", help="The snapshot store (a folder).")
@click.option("--mode", type=click.Choice(["append", "replace"]), help="How a passing batch is published (default: the contract's gate.publish).")
@click.option("--as-of", type=Timestamp(), help="The time freshness is measured against (default: now); also what now-52w style bounds mean.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@object_option
@report_option("Write the HTML report of the last batch and the store's history to FILE.")
@notify_options
def ingest(contract: str, batches: tuple[str, ...], store: str, mode: str | None, as_of: dt.datetime | None, fmt: str,
           odcs_object: str | None, report: str | None, notify_urls: tuple[str, ...], notify_warn: bool) -> int:  # fmt: skip
    """Check each BATCH against CONTRACT; publish it as a new snapshot version, or quarantine it.

    Exit 0 when every batch (or its passing rows) was published or was already there,
    1 when the gate kept a batch out, 2 when the input could not be used.
    """
    from dqgate.contract import load_contract
    from dqgate.gate.ingest import ingest as run_ingest
    from dqgate.report.console import render

    c = load_contract(contract, object=odcs_object)
    for batch in batches:  # a missing file is a typo: refuse before any batch is written
        if not any(ch in batch for ch in "*?[") and not os.path.exists(batch):
            raise DataError(f"{batch}: batch file not found", uri=batch)
    outcomes = []
    for batch in batches:
        outcome = run_ingest(c, batch, store, mode=mode, as_of=as_of)
        outcomes.append(outcome)
        if outcome.result is not None:
            send_alerts(outcome.result, c, notify_urls, on_warn=notify_warn, extra=outcome.summary())
        if fmt == "text":
            if outcome.result is not None and outcome.result.status != "pass":
                click.echo(render(outcome.result), nl=False)
            click.echo(outcome.summary())
    if fmt == "json":
        click.echo(json.dumps([o.to_json() for o in outcomes], indent=2, default=str))
    if report is not None:
        from dqgate.report.html import write

        write(report, outcomes[-1].result, c, store=store)
    return max(o.exit_code for o in outcomes)
