"""Run a compiled check kept on disk: the statements a check of one Parquet file sent
DuckDB, replayed over another file of the same schema without planning anything again.

`dq check` of a small file spends most of its time importing what plans a check
(PyYAML, pydantic, the contract models, sqlglot and its DuckDB dialect): ~0.5 s of a
0.8 s run, where running the statements costs about one ``import duckdb``. A check of a
Parquet file that a full run has compiled once (``runners/compiled.py`` keeps it, keyed
in ``ir/plan_cache.py`` by the contract's bytes) replays here with duckdb and a few
small modules of this package only.

What depends on the data is not baked into the kept statements:

* the file is the DuckDB variable ``__dq_source`` (``read_parquet(getvariable(...))``);
* each dense key's span (``dq_key_repeats(key, low, span, n)``) is a pair of variables,
  set from the span query's answer;
* which rules the Parquet footer decides, which keys are counted by bitmaps and which
  row ranges a narrowed scan reads are decided here, by the same functions as the full
  path (``runners/footer.py``, ``runners/dense_unique.py``) on the answers of the kept
  queries; each combination is its own kept statement (:class:`Plan`), found by
  :func:`plan_key`;
* the data's schema (DuckDB's ``DESCRIBE`` and the Parquet schema) picks the
  :class:`Schema` entry, which holds what the full path derived from the contract and
  that schema: the column types, the ``coerce:``/``nan:`` view, the renamed columns.

Anything not kept (another schema, another footer outcome), a statement that fails,
or an empty file returns None: the caller runs the full path, which keeps the new
variant and says what is wrong as it always did. This module imports neither
sqlglot nor pydantic; the result is assembled by the functions the full path uses
(:func:`judge`), so the two cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import duckdb

from dqgate.ir import nodes as n
from dqgate.runners import assemble, decide, dense_unique, footer, native
from dqgate.runners.results import CheckResult, Progress, RunResult

SOURCE_VARIABLE = "__dq_source"  # the DuckDB variable holding the checked file's path
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


@dataclass(frozen=True)
class Plan:
    """The fused statement one footer outcome and one choice of dense keys get."""

    sql: str
    outputs: dict[str, tuple[str, ...]]
    samples: dict[str, str]  # rule id -> its failing-row sample query
    marks: dict[str, str]  # rule id -> the output of dq_key_repeats
    key_variables: dict[str, tuple[str, str]]  # rule id -> SET statements of its key's low and span
    narrow_view: str | None = None  # the view over the row ranges read, when narrowed


@dataclass
class Schema:
    """What a contract makes of data of one schema (types, views), and its plans."""

    types: dict[str, str]
    renamed: dict[str, str]  # data column -> DuckDB's name, where they differ
    casts: frozenset[str]  # columns read as another type (coerce:): their footers are not trusted
    adjust_view: str | None  # the view reading coerce:/nan: columns, over the plain one
    span_query: str | None  # dense key candidates' minimum and maximum
    footer_query: str | None
    plans: dict[tuple[Any, ...], Plan] = field(default_factory=dict)


@dataclass
class CompiledCheck:
    """A contract compiled for checks of Parquet files: its rules and, per schema of
    data seen, the statements to run (see the module docstring)."""

    dataset: str
    version: str
    sha256: str
    source: str | None  # the contract's ``source:``
    rules: tuple[n.Rule, ...]
    readable: dict[str, str]  # its SQL fragments as reports show them
    set_source: str  # SET VARIABLE __dq_source = ?
    view: str  # the data view over read_parquet(getvariable('__dq_source'))
    describe: str
    parquet_schema: str
    load: str  # LOAD of dqgate's DuckDB extension
    threads: str
    schemas: dict[tuple[Any, ...], Schema] = field(default_factory=dict)


class _ParquetFile:
    """What the candidate finders ask of a source: a Parquet file is not text."""

    kind = "parquet"
    is_text = False


def data_path(data: str, base_dir: str | None) -> str | None:
    """The file ``data`` names as the full path resolves it (``sources.resolve_path``),
    when it is one plain Parquet file; None for anything else (globs, folders, other
    formats, missing or empty files), which the full path handles."""
    if any(ch in data for ch in "*?[") or not data.lower().endswith(PARQUET_SUFFIXES):
        return None
    path = data
    if not os.path.isabs(data) and base_dir is not None and os.path.exists(os.path.join(base_dir, data)):
        path = os.path.join(base_dir, data)
    try:
        return path if os.path.isfile(path) and os.path.getsize(path) > 0 else None
    except OSError:
        return None


def plan_key(fast: bool, decided: Any, dense: dict[str, dense_unique.DenseKey], ranges: list[tuple[int, int]] | None) -> tuple[Any, ...]:
    """Which kept statement fits: the extension loaded or not, the rules the footer
    decided, the keys counted by bitmaps (marked in the scan or not), the rows read."""
    keys = tuple(sorted((k, d.marked) for k, d in dense.items()))
    return (fast, frozenset(decided), keys, None if ranges is None else tuple(ranges))


def schema_key(described: list[tuple[Any, ...]], parquet_schema: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The data's schema as DuckDB describes the view and as the Parquet footer lists it."""
    return (tuple(tuple(r) for r in described), tuple(tuple(r) for r in parquet_schema))


def run(
    entry: CompiledCheck, path: str, *, samples: int = 5, allow_empty: bool = False, progress: Progress | None = None
) -> RunResult | None:
    """The result of checking the Parquet file ``path`` with ``entry``, exactly as the
    full path gives it; None when this entry cannot say (the caller runs the full path).
    ``progress`` follows the scans as on the full path (a terminal's bar, drawn only
    once a check has run for a second)."""
    t0 = time.perf_counter()
    now = dt.datetime.now(dt.timezone.utc)
    rules = entry.rules
    con = native.session()
    try:
        con.execute(entry.set_source, [path])
        con.execute(entry.view)
        described = con.execute(entry.describe).fetchall()
        schema = entry.schemas.get(schema_key(described, con.execute(entry.parquet_schema).fetchall()))
        if schema is None:
            return None
        types = schema.types
        if schema.adjust_view is not None:
            con.execute(schema.adjust_view)
        fast = native.run_load(con, entry.load)
        dense = _dense(con, entry, schema, rules, fast)
        found = _footer(con, schema, rules)
        scanned = tuple(r for r in rules if r.id not in found.decided and not isinstance(r, n.StrictSchema))
        narrow = footer.narrowing(found, scanned, types)
        plan = schema.plans.get(plan_key(fast, found.decided, dense, None if narrow is None else narrow[0]))
        if plan is None:
            return None
        for rule_id, (low, span) in plan.key_variables.items():
            con.execute(low, [dense[rule_id].low])
            con.execute(span, [dense[rule_id].span])
        if plan.narrow_view is not None:
            con.execute(plan.narrow_view)
        with watched(con, progress, since=t0):
            try:
                values = fetch(con, plan.sql)
            except duckdb.Error:
                return None  # the full path isolates the rule to blame, or names what is wrong with the data
            dense_unique.fill(con, dense, plan, values, rules, types, samples)  # type: ignore[arg-type]
        outside = narrow[1] if narrow is not None else {}
        rows = add_settled(plan, values, found.decided, outside, narrow[2] if narrow is not None else 0, errors={})
        if rows == 0 and not allow_empty:
            return None  # the full path's one-line error
        results = judge(rules, plan, values, types, now, errors={}, errored=None)
        checks = tuple(with_sample(con, plan.samples.get(r.id), r, schema.renamed) for r in results)
    finally:
        con.close()
    return RunResult(
        contract={"dataset": entry.dataset, "version": entry.version, "sha256": entry.sha256},
        source={"uri": path, "rows": rows, **footer_facts(rules, found.decided, narrow[3] if narrow is not None else 0)},
        status=decide.overall(checks),
        checks=checks,
        elapsed_s=time.perf_counter() - t0,
        engine="duckdb",
        renamed=dict(schema.renamed),
    )


def _dense(con: duckdb.DuckDBPyConnection, entry: CompiledCheck, schema: Schema, rules: tuple[n.Rule, ...], fast: bool) -> dict[str, dense_unique.DenseKey]:
    """``dense_unique.find`` with the kept span query."""
    found = dense_unique.candidates(rules, schema.types, _ParquetFile())  # type: ignore[arg-type]
    if not found or schema.span_query is None:
        return {}
    try:
        row = con.execute(schema.span_query).fetchall()[0]
    except duckdb.Error:
        return {}
    threads = int(con.execute(entry.threads).fetchall()[0][0]) if fast else 0
    return dense_unique.choose(row, found, schema.types, native=fast, threads=threads)


def _footer(con: duckdb.DuckDBPyConnection, schema: Schema, rules: tuple[n.Rule, ...]) -> footer.Footer:
    """``footer.read`` with the kept footer query."""
    trusted = tuple(r for r in rules if not schema.casts.intersection(r.columns))
    found = footer.candidates(trusted, schema.types)
    if not found or schema.footer_query is None:
        return footer.Footer()
    try:
        rows = con.execute(schema.footer_query).fetchall()
    except Exception:  # noqa: BLE001 - no footer answer just means: scan
        return footer.Footer()
    return footer.decide(rows, found, schema.types)


def fetch(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    """The one row of ``sql`` by output name."""
    cur = con.execute(sql)
    names = [d[0] for d in cur.description or []]
    rows = cur.fetchall()  # fetch to the end: DuckDB 2 keeps a half-read result open
    return dict(zip(names, rows[0] if rows else ()))


def watched(con: duckdb.DuckDBPyConnection, progress: Progress | None, *, since: float) -> AbstractContextManager[Any]:
    """The progress display (if any) polling DuckDB's estimate of the running statement.
    ``query_progress()`` answers only with DuckDB's progress bar enabled, so it is, with
    its own printing kept off (it writes to stdout)."""
    if progress is None:
        return nullcontext()
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return progress(con.query_progress, since=since)


def add_settled(
    plan: Any, values: dict[str, Any], decided: dict[str, tuple[Any, ...]], outside: dict[str, tuple[int, int]],
    rows_outside: int, *, errors: dict[str, str],
) -> int:  # fmt: skip
    """Put what the footer settled into ``values`` (rules it decided; the counts of the
    row groups a narrowed scan left out); the data's row count."""
    for rule_id, got in decided.items():
        values.update(zip(plan.outputs[rule_id], got))
    for rule_id, (failed, total) in outside.items():
        if rule_id not in errors:
            failed_out, total_out = plan.outputs[rule_id][:2]
            values[failed_out] = (values.get(failed_out) or 0) + failed
            values[total_out] = (values.get(total_out) or 0) + total
    if rows_outside:
        values["__rows"] = (values.get("__rows") or 0) + rows_outside
    return int(values.get("__rows", 0) or 0)


def judge(
    rules: tuple[n.Rule, ...], plan: Any, values: dict[str, Any], types: dict[str, str], now: dt.datetime,
    *, errors: dict[str, str], errored: Callable[[n.Rule, str], CheckResult] | None,
) -> list[CheckResult]:  # fmt: skip
    """Each rule's result from the statement's ``values`` (``errors``: rule id -> why it
    could not run, made a result by ``errored``)."""
    results: list[CheckResult] = []
    for rule in rules:
        if rule.id in errors:
            assert errored is not None
            results.append(errored(rule, errors[rule.id]))
        elif isinstance(rule, n.StrictSchema):
            results.append(assemble.strict(rule, types))
        elif isinstance(rule, n.HISTORY_RULES):
            continue  # judged against the store afterwards (history.apply)
        elif isinstance(rule, n.ML_RULES):
            from dqgate.runners import assemble_ml  # with the drift statistics: only for contracts that have such rules

            results += assemble_ml.results(rule, plan.outputs[rule.id], values)
        else:
            results.append(assemble.result(rule, plan, values, now))
    return results


def with_sample(con: duckdb.DuckDBPyConnection, sql: str | None, result: CheckResult, renamed: dict[str, str] | None = None) -> CheckResult:
    """``result`` with failing-row samples from ``sql`` when it failed or warned and has
    none yet; their keys are the data's column names (``renamed``: data name -> DuckDB's)."""
    if result.status not in ("fail", "warn") or result.sample or sql is None:
        return result
    try:
        cur = con.execute(sql)
        rows = cur.fetchall()
        back = {duck: name for name, duck in (renamed or {}).items()}
        names = [back.get(d[0], d[0]) for d in cur.description or []]
    except duckdb.Error:
        return result
    sample = tuple(r[0] if len(names) == 1 else dict(zip(names, r)) for r in rows)
    return replace(result, sample=sample)


def footer_facts(rules: tuple[n.Rule, ...], decided: Any, groups_outside: int) -> dict[str, Any]:
    """What the result JSON says about the work the Parquet footer saved."""
    out: dict[str, Any] = {}
    if decided:
        out["decided_from_footer"] = [r.id for r in rules if r.id in decided]
    if groups_outside:
        out["row_groups_not_read"] = groups_outside
    return out
