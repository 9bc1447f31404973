"""`dq ingest`: write–audit–publish one or more batches into a snapshot store."""

from __future__ import annotations

import datetime as dt
import json
import os

import click

from dqgate.cli._params import Timestamp
from dqgate.errors import DataError


@click.command()
@click.argument("contract", type=click.Path(dir_okay=False))
@click.argument("batches", nargs=-1, required=True, metavar="BATCH...")
@click.option("--store", required=True, metavar="DIR", help="The snapshot store (a folder).")
@click.option("--mode", type=click.Choice(["append", "replace"]), help="How a passing batch is published (default: the contract's gate.publish).")
@click.option("--as-of", type=Timestamp(), help="The time freshness is measured against (default: now).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def ingest(contract: str, batches: tuple[str, ...], store: str, mode: str | None, as_of: dt.datetime | None, fmt: str) -> int:
    """Check each BATCH against CONTRACT; publish it as a new snapshot version, or quarantine it.

    Exit 0 when every batch (or its passing rows) was published or was already there,
    1 when the gate kept a batch out, 2 when the input could not be used.
    """
    from dqgate.runners.check import as_contract
    from dqgate.gate.ingest import ingest as run_ingest
    from dqgate.report.console import render

    c = as_contract(contract)
    for batch in batches:  # a missing file is a typo: refuse before any batch is written
        if not any(ch in batch for ch in "*?[") and not os.path.exists(batch):
            raise DataError(f"{batch}: batch file not found", uri=batch)
    outcomes = []
    for batch in batches:
        outcome = run_ingest(c, batch, store, mode=mode, as_of=as_of)
        outcomes.append(outcome)
        if fmt == "text":
            if outcome.result is not None and outcome.result.status != "pass":
                click.echo(render(outcome.result), nl=False)
            click.echo(outcome.summary())
            for note in outcome.messages:  # state rebuilt by rescanning, keys already published
                click.echo(f"  note: {note}")
    if fmt == "json":
        click.echo(json.dumps([o.to_json() for o in outcomes], indent=2, default=str))
    return max(o.exit_code for o in outcomes)
