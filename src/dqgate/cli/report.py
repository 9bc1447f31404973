"""`dq report`: one self-contained HTML page of a check and, with --store, of the dataset's history."""

from __future__ import annotations

import datetime as dt
import os

import click

from dqgate.cli._params import Timestamp, object_option, report_option


@click.command()
@click.argument("contract", type=click.Path(dir_okay=False))
@report_option("The HTML file to write.", "--output", "-o", required=True)
@click.option("--data", "data", metavar="PATH", help="Data to check (default: the contract's source).")
@click.option("--store", metavar="DIR", help="The snapshot store: adds versions, metric history, drift, quarantine and lineage.")
@click.option("--no-check", is_flag=True, help="Only the store's history (needs --store): run no check.")
@click.option("--as-of", type=Timestamp(), help="The time freshness is measured against (default: now).")
@object_option
def report(contract: str, report: str, data: str | None, store: str | None, no_check: bool, as_of: dt.datetime | None, odcs_object: str | None) -> int:  # noqa: FBT001
    """Write an HTML report of a check of CONTRACT (exit 1 when the check fails, as dq check)."""
    from dqgate.errors import UsageError
    from dqgate.ir.plan_cache import load, rules_of
    from dqgate.report.html import write

    if no_check and store is None:
        raise UsageError("--no-check shows only a store's history: give --store", param="no_check")
    if no_check:  # only the rules are needed: from the plan cache, without loading the contract when it hits
        known = rules_of(contract, odcs_object=odcs_object)
        write(report, None, known, store=store, rules=known.rules)
        click.echo(f"dq report: wrote {report}", err=True)
        return 0
    from dqgate.api import check as run_check

    c = load(contract, odcs_object=odcs_object)
    result = run_check(data, c, as_of=as_of, store=store)
    batch = result.source.get("uri")
    write(report, result, c, store=store, batch=batch if isinstance(batch, str) and os.path.exists(batch) else None)
    click.echo(f"dq report: wrote {report}", err=True)
    return 1 if result.status == "fail" else 0
