"""`dq ingest`: write–audit–publish one or more batches into a snapshot store."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

import click

from dqgate.cli._params import (
    Timestamp, check_output, notify_options, object_option, report_option, run_options, send_alerts, write_output,
)  # fmt: skip
from dqgate.errors import DataError


@click.command()
@click.argument("contract", type=click.Path(dir_okay=False))
@click.argument("batches", nargs=-1, required=True, metavar="BATCH...")
@click.option("--store", required=True, metavar="DIR", help="The snapshot store (a folder).")
@click.option("--mode", type=click.Choice(["append", "replace"]), help="How a passing batch is published (default: the contract's gate.publish).")
@click.option("--as-of", type=Timestamp(), help="The time freshness is measured against (default: now); also what now-52w style bounds mean.")
@run_options
@object_option
@report_option("Write the HTML report of the last batch and the store's history to FILE.")
@notify_options
def ingest(contract: str, batches: tuple[str, ...], store: str, mode: str | None, as_of: dt.datetime | None, fmt: str,
           output: str | None, engine: str | None, samples: int, allow_empty: bool, verbose: bool, quiet: bool,
           odcs_object: str | None, report: str | None, notify_urls: tuple[str, ...], notify_warn: bool) -> int:  # fmt: skip
    """Check each BATCH against CONTRACT; publish it as a new snapshot version, or quarantine it.

    Exit 0 when every batch (or its passing rows) was published or was already there,
    1 when the gate kept a batch out, 2 when the input could not be used. The report of a
    batch that did not pass (text: and of the rows published after quarantine_rows) is
    printed before the line saying what became of it; --verbose prints it for every batch.
    """
    from dqgate.cli.check import render
    from dqgate.gate.ingest import ingest as run_ingest
    from dqgate.ir.plan_cache import load
    from dqgate.report.progress import wanted

    if output is not None:
        check_output(output)
    c = load(contract, odcs_object=odcs_object)  # and keep its rules for `dq report --no-check`
    for batch in batches:  # a missing file is a typo: refuse before any batch is written
        if not batch.startswith(("postgresql://", "postgres://")) and not any(ch in batch for ch in "*?[") and not os.path.exists(batch):
            raise DataError(f"{batch}: batch file not found", uri=batch)
    bar = None
    if wanted(quiet):
        from functools import partial

        from dqgate.report.progress import Bar

        bar = partial(Bar, True, label="dq ingest")
    color = output is None and fmt == "text" and sys.stdout.isatty()
    outcomes, parts = [], []
    for batch in batches:
        outcome = run_ingest(c, batch, store, mode=mode, as_of=as_of, engine=engine, samples=samples,
                             allow_empty=allow_empty, progress=bar)  # fmt: skip
        if outcome.result is not None:
            send_alerts(outcome.result, c, notify_urls, on_warn=notify_warn, extra=outcome.summary())
        outcomes.append(outcome)
        if fmt == "text":
            parts.append(_text(outcome, verbose=verbose, color=color))
            parts += [f"  note: {note}\n" for note in outcome.messages]  # state rebuilt, keys already published
        elif fmt in ("junit", "markdown"):
            for result in (outcome.result, outcome.recheck):
                if result is not None:
                    parts.append(render(result, fmt))
    if fmt == "json":
        parts.append(json.dumps([o.to_json() for o in outcomes], indent=2, default=str) + "\n")
    elif fmt == "junit" and len(parts) > 1:
        parts = [_merge_junit(parts)]
    write_output("".join(parts), output)
    if report is not None:
        from dqgate.report.html import write

        write(report, outcomes[-1].result, c, store=store)
    return max(o.exit_code for o in outcomes)


def _text(outcome: object, *, verbose: bool, color: bool) -> str:
    """The text report of one batch: its check when it did not pass (or with --verbose),
    the re-check of the rows kept after quarantine_rows, then what became of it."""
    from dqgate.cli.check import render

    out = []
    result, recheck = getattr(outcome, "result", None), getattr(outcome, "recheck", None)
    if result is not None and (verbose or result.status != "pass"):
        out.append(render(result, "text", color=color, verbose=verbose))
    if recheck is not None:
        out.append(f"re-check of the {recheck.rows:,} rows kept (published only because it does not fail):\n")
        out.append(render(recheck, "text", color=color, verbose=verbose))
    out.append(outcome.summary() + "\n")  # type: ignore[attr-defined]
    return "".join(out)


def _merge_junit(documents: list[str]) -> str:
    """One JUnit document holding the test suites of several (one per batch and re-check)."""
    import xml.etree.ElementTree as ET

    merged = ET.Element("testsuites", name="dqgate")
    for doc in documents:
        merged.extend(ET.fromstring(doc.split("?>", 1)[1]))
    ET.indent(merged)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(merged, encoding="unicode") + "\n"
