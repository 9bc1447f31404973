"""`dq check` and `dq explain`."""

from __future__ import annotations

import datetime as dt
import sys
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

import click

from dqgate.cli._params import Timestamp, check_output, notify_options, object_option, report_option, run_options, send_alerts, write_output

if TYPE_CHECKING:
    from dqgate.contract import Contract


@click.command()
@click.argument("contract", type=click.Path(dir_okay=False))
@click.option("--data", "data", metavar="PATH", help="Data to check (file, glob or folder); default: the contract's source.")
@click.option("--as-of", type=Timestamp(), help="The time freshness is measured against (default: now); also what now-52w style bounds mean.")
@click.option("--store", metavar="DIR", help="The snapshot store: reference of drift: rules, history of change:/anomaly: rules.")
@run_options
@object_option
@report_option("Also write the self-contained HTML report of this check to FILE.")
@notify_options
def check(contract: str, data: str | None, as_of: dt.datetime | None, store: str | None, fmt: str, output: str | None,
          engine: str | None, samples: int, allow_empty: bool, verbose: bool, quiet: bool,
          odcs_object: str | None, report: str | None, notify_urls: tuple[str, ...], notify_warn: bool) -> int:  # fmt: skip
    """Check data against CONTRACT (a dqgate or ODCS v3 contract). Exit 0 passed (warnings allowed), 1 a check failed, 2 unusable input."""
    from dqgate.api import check as run_check
    from dqgate.ir.plan_cache import load
    from dqgate.report.progress import wanted

    if output is not None:
        check_output(output)  # before the check runs: a typo in -o must not cost a whole check
    if store is None:  # nothing to report on later: no rules to keep
        from dqgate.contract import load_contract

        c = load_contract(contract, object=odcs_object)
    else:
        c = load(contract, odcs_object=odcs_object)  # and keep its rules for `dq report --store --no-check`
    simple = store is None and engine is None and as_of is None and odcs_object is None and report is None and not notify_urls
    with _keeping(contract, samples) if simple and fmt in ("text", "json") else nullcontext():  # the next such check replays it
        result = run_check(
            data, c, engine=engine, as_of=as_of, samples=samples, allow_empty=allow_empty, store=store,
            progress=wanted(quiet),
        )  # fmt: skip
    color = output is None and sys.stdout.isatty()
    snapshot = _would_be_snapshot(c, data, store, result, as_of) if store else None
    if snapshot is not None:  # "would this publish?": the batch's results and the would-be snapshot's
        write_output(_render_both(result, snapshot, fmt, color=color, verbose=verbose), output)
    else:
        write_output(render(result, fmt, color=color, verbose=verbose), output)
    if report is not None:
        from dqgate.report.html import write

        write(report, result, c)
    send_alerts(result, c, notify_urls, on_warn=notify_warn)
    judged = snapshot if snapshot is not None else result
    return 1 if judged.status == "fail" else 0  # type: ignore[attr-defined]


def _keeping(contract: str, samples: int) -> Any:
    """Keep the compiled check of this run for `dq check`'s next run (cli/fastcheck.py)."""
    from dqgate.runners.compiled import keeping

    return keeping(contract, samples)


def _would_be_snapshot(c: Contract, data: str | None, store: str, result: object, as_of: dt.datetime | None) -> object:
    """With ``publish: append`` and a published version: the results of parent ∪ this data."""
    from dqgate.gate.snapshot_scope import preview

    judged = preview(c, data, store, result, as_of=as_of)  # type: ignore[arg-type]
    return judged.result if judged is not None else None


def _render_both(batch: object, snapshot: object, fmt: str, *, color: bool, verbose: bool) -> str:
    if fmt == "json":
        import json

        doc = {**batch.to_json(), "snapshot": snapshot.to_json()}  # type: ignore[attr-defined]
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if fmt != "text":
        return render(snapshot, fmt, color=color)
    head = f"would-be snapshot ({snapshot.source['uri']}), if this data were appended:\n"  # type: ignore[attr-defined]
    return render(batch, fmt, color=color, verbose=verbose) + "\n" + head + render(snapshot, fmt, color=color, verbose=verbose)


def render(result: object, fmt: str, *, color: bool = False, verbose: bool = False) -> str:
    """The report of ``result`` in ``fmt``."""
    if fmt == "json":
        from dqgate.report.json_result import render as r
    elif fmt == "junit":
        from dqgate.report.junit_xml import render as r  # type: ignore[no-redef]
    elif fmt == "markdown":
        from dqgate.report.markdown import render as r  # type: ignore[no-redef]
    else:
        from dqgate.report.console import render as console

        return console(result, color=color, verbose=verbose)  # type: ignore[arg-type]
    return r(result)  # type: ignore[arg-type]


@click.command()
@click.argument("contract", type=click.Path(dir_okay=False))
@click.option("--data", "data", metavar="PATH", help="Show the statement this data gets (footer decisions, key bitmaps).")
@click.option(
    "--engine", "engine", default="duckdb", show_default=True, metavar="NAME",
    help="The SQL dialect: duckdb, postgres, spark; snowflake, bigquery, trino (compiled only, never run by dqgate).",
)  # fmt: skip
def explain(contract: str, data: str | None, engine: str) -> int:
    """Print the one fused statement CONTRACT compiles to."""
    from dqgate.compilers.dialects import COMPILED_ONLY, dialect
    from dqgate.compilers.duckdb import compile_plan
    from dqgate.contract import load_contract
    from dqgate.errors import UsageError
    from dqgate.ir.instants import resolve
    from dqgate.ir.plan import plan

    chosen = dialect(engine)
    c = load_contract(contract)
    rules = resolve(plan(c), dt.datetime.now(dt.timezone.utc))  # now-52w style bounds, as of now
    if data is not None and engine == "duckdb":
        return _explain_for_data(c, data)
    if data is not None:
        raise UsageError(f"--data shows DuckDB's statement for a file; drop it with --engine {engine}", param="data")
    compiled = compile_plan(rules, types={}, key=c.key_columns(), dialect=chosen)
    click.echo(f"-- dqgate explain: {c.dataset} {c.version} ({len(rules)} rules, one statement, {engine})")
    if engine in COMPILED_ONLY:
        click.echo(f"-- {engine}: compiled only; dqgate does not run it and it is not tested against a live server")
    if engine != "duckdb":
        click.echo('-- "__dq_data" stands for the table to check: replace it with yours')
    else:
        click.echo('-- "__dq_data" is a view over the data (read_parquet / read_csv / read_json or an Arrow table)')
    for ref in c.model.references:
        click.echo(f'-- "__dq_ref_{ref}" is a view over the reference dataset {ref}')
    if compiled.formats:
        click.echo(f"-- __dq_format_* are the Cython format kernels, run inside the scan: {', '.join(compiled.formats)}")
    click.echo(compiled.sql + ";")
    return 0


def _pattern_engine(regex: str) -> str:
    """Which engine a pattern runs on, and why RE2 when it is."""
    from dqgate.compilers import regex_dfa
    from dqgate.compilers.duckdb import DFA_MATCH

    try:
        table = regex_dfa.compile_dfa(regex)
    except regex_dfa.Unsupported as exc:
        return f"RE2 (regexp_full_match): {exc}"
    return f"a DFA of {table[1] - 1} states run by {DFA_MATCH} (the UNHEX literal is its table)"


def _explain_for_data(c: Contract, data: str) -> int:
    """The statement as ``dq check`` would run it on ``data``: what the Parquet footer
    decides is left out, dense integer keys are counted by the bitmap pass."""
    from dqgate.runners.check import planned
    from dqgate.compilers.duckdb import FORMAT_DFAS, KEY_REPEATS, data_names
    from dqgate.ir.nodes import HISTORY_RULES, Format, Pattern
    from dqgate.runners import duckdb as runner
    from dqgate.runners import native

    rules = tuple(r for r in planned(c, store=None, base_dir=c.base_dir) if not isinstance(r, HISTORY_RULES))
    con = runner.connect()
    try:
        source, types = runner.prepare(con, c, data, base_dir=c.base_dir)
        with data_names(source.names):
            planned = runner.plan_for(con, c, rules, types, source)
    finally:
        con.close()
    compiled, dense, decided = planned.plan, planned.dense, planned.decided
    click.echo(f"-- dqgate explain: {c.dataset} {c.version} on {source.uri}")
    off = native.why_not()
    if off:
        click.echo(f"-- dqgate's DuckDB extension is not used: {off}")
    if planned.ranges:
        shown = ", ".join(f"{a}-{b - 1}" for a, b in planned.ranges)
        click.echo(f'-- "{runner.NARROW_VIEW}" is rows {shown} only: the footer settles every other row group')
    for rule in rules:
        if rule.id in decided:
            click.echo(f"-- {rule.id}: decided from the Parquet footer, not scanned")
        elif rule.id in dense:
            key = dense[rule.id]
            how = f"in the scan by {KEY_REPEATS}" if key.marked else f"in one more pass over {key.column}"
            click.echo(f"-- {rule.id}: repeated keys marked in bitmaps over [{key.low}, {key.low + key.span - 1}], {how}")
        elif isinstance(rule, Pattern) and not off:
            click.echo(f"-- {rule.id}: {_pattern_engine(rule.regex)}")
        elif isinstance(rule, Format) and rule.format in FORMAT_DFAS and not off:
            click.echo(f"-- {rule.id}: {_pattern_engine(FORMAT_DFAS[rule.format][0])}")
    click.echo(compiled.sql + ";")
    return 0
