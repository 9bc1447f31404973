"""Keep what a full `dq check` of a Parquet file ran, as a compiled check that the next
check of the same contract replays without loading it (``runners/replay.py``).

The full path runs as always; :func:`keeping` hands its DuckDB runner a callback
(``runners/duckdb.KEEP``) that, at the end of a clean run and on the same connection,
builds the statements again with what depends on the data made variables (the file
path, each dense key's span) and adds them to the contract's entry: the schema of this
data (:class:`~dqgate.runners.replay.Schema`) and the plan for what its footer decided
(:class:`~dqgate.runners.replay.Plan`). A run is kept only when every rule it ran can
replay exactly: one plain Parquet file, no rule that waits for the check time
(``now-52w``), for a store (drift, history) or for a reference dataset, no Python
format kernels, no ``notify:``, no rule that could not run. Keeping never changes nor
breaks the check: any failure while keeping only means nothing is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

from sqlglot import exp

from dqgate.compilers import duckdb as compiler
from dqgate.ir import plan_cache
from dqgate.ir.instants import has_relative
from dqgate.ir import nodes as n
from dqgate.ir.plan import plan as plan_rules
from dqgate.runners import dense_unique, footer, native, replay, sources
from dqgate.runners import duckdb as runner


@contextlib.contextmanager
def keeping(contract_path: str, samples: int) -> Iterator[None]:
    """Keep the compiled check of a run of the contract at ``contract_path`` inside this block."""
    try:
        with open(contract_path, "rb") as fh:
            text = fh.read()
    except OSError:
        text = None
    entry = plan_cache.compiled_entry(text, samples) if text is not None else None
    if entry is None:
        yield
        return

    def keep(trace: runner.Trace) -> None:
        try:
            if hashlib.sha256(text).hexdigest() == trace.contract.sha256:  # the bytes keyed are the bytes loaded
                add(entry, trace)
        except Exception:  # noqa: BLE001 - keeping is never the check's failure
            pass

    token = runner.KEEP.set(keep)
    try:
        yield
    finally:
        runner.KEEP.reset(token)


def keepable(trace: runner.Trace) -> bool:
    """Whether the run of ``trace`` replays exactly (see the module docstring)."""
    c, source, planned = trace.contract, trace.source, trace.planned
    if source.kind != "parquet" or source.reader is None or replay.data_path(source.uri, None) != source.uri:
        return False
    if c.model.references or c.model.notify is not None or planned.plan.formats:
        return False
    rules = plan_rules(c)
    return rules == trace.rules and not any(has_relative(r) or isinstance(r, (*n.HISTORY_RULES, n.Drift)) for r in rules)


def add(entry: str, trace: runner.Trace) -> None:
    """Add the schema and plan of ``trace`` to the compiled check at ``entry``."""
    if not keepable(trace):
        return
    kept = plan_cache.read_compiled(entry)
    check = kept if isinstance(kept, replay.CompiledCheck) and kept.sha256 == trace.contract.sha256 else _new(trace)
    con = trace.con
    variable = exp.func("getvariable", exp.Literal.string(replay.SOURCE_VARIABLE))
    con.execute(check.set_source, [trace.source.uri])
    con.execute(check.view)  # the plain view, as a replay describes it first (the run is over: its views are done with)
    key = replay.schema_key(con.execute(check.describe).fetchall(), con.execute(check.parquet_schema).fetchall())
    reader = sources.parquet_reader(variable)
    source = sources.Source(
        uri=trace.source.uri, kind="parquet", reader=reader, base=exp.Table(this=reader.copy()),
        adjust=trace.source.adjust, names=dict(trace.source.names),
    )  # the same source, read through the variable
    schema = check.schemas.get(key)
    if schema is None:
        schema = check.schemas[key] = _schema(trace, source)
    pk, plan = _plan(trace, source)
    schema.plans[pk] = plan
    plan_cache.write_compiled(entry, check)


def _new(trace: runner.Trace) -> replay.CompiledCheck:
    c = trace.contract
    variable = exp.func("getvariable", exp.Literal.string(replay.SOURCE_VARIABLE))
    fragments = {f for r in trace.rules for f in (getattr(r, "sql", None), getattr(r, "where", None)) if isinstance(f, str)}
    from dqgate.contract.sql import readable

    set_source = exp.Set(expressions=[exp.SetItem(this=exp.EQ(this=exp.column(replay.SOURCE_VARIABLE), expression=exp.Placeholder()), kind="VARIABLE")])
    schema_query = exp.select("name", "num_children").from_(exp.Table(this=exp.Anonymous(this="parquet_schema", expressions=[variable.copy()])))
    return replay.CompiledCheck(
        dataset=c.dataset, version=c.version, sha256=c.sha256, source=c.model.source, rules=trace.rules,
        readable={f: readable(f) for f in fragments},
        set_source=set_source.sql(compiler.DIALECT),
        view=sources.reader_view(compiler.SOURCE_VIEW, sources.parquet_reader(variable.copy())),
        describe=_describe(exp.to_table(compiler.SOURCE_VIEW, quoted=True)),
        parquet_schema=schema_query.sql(compiler.DIALECT),
        load=native.load_statement(),
        threads=dense_unique.threads_query(),
    )  # fmt: skip


def _describe(table: exp.Table) -> str:
    return exp.Describe(this=exp.select(exp.Star()).from_(table)).sql(compiler.DIALECT)


def _schema(trace: runner.Trace, source: sources.Source) -> replay.Schema:
    """What the contract makes of this schema of data, with statements over ``source``."""
    types, adjust = trace.types, source.adjust
    with compiler.data_names(source.names):
        adjust_view = sources.adjusted_view(source, compiler.SOURCE_VIEW, adjust) if adjust else None
        found_keys = dense_unique.candidates(trace.rules, types, source)
        span_query = dense_unique.span_query(found_keys) if found_keys else None
        casts = frozenset(adjust.casts) if adjust else frozenset()
        trusted = tuple(r for r in trace.rules if not casts.intersection(r.columns))
        found = footer.candidates(trusted, types)
        footer_query = footer.query(source.reader, found, types) if found else None
    return replay.Schema(
        types=dict(types), renamed=dict(source.names), casts=casts, adjust_view=adjust_view,
        span_query=span_query, footer_query=footer_query,
    )  # fmt: skip


def _plan(trace: runner.Trace, source: sources.Source) -> tuple[tuple[Any, ...], replay.Plan]:
    """The fused statement of ``trace``'s run with each marked key's span a variable."""
    planned, rules = trace.planned, trace.rules
    marked = sorted(k for k, d in planned.dense.items() if d.marked)
    names = {k: (f"__dq_key_low_{i}", f"__dq_key_span_{i}") for i, k in enumerate(marked)}
    marks = {k: (exp.func("getvariable", exp.Literal.string(lo)), exp.func("getvariable", exp.Literal.string(sp))) for k, (lo, sp) in names.items()}
    setters = {k: (_set_variable(lo), _set_variable(sp)) for k, (lo, sp) in names.items()}
    narrowed = planned.source == runner.NARROW_VIEW
    args = runner.plan_args(trace.contract, trace.types, planned.dense, planned.decided, samples=trace.samples, native=planned.native, marks=marks)
    with compiler.data_names(source.names):
        full = compiler.compile_plan(rules, **args)
        statement = compiler.compile_plan(rules, source=runner.NARROW_VIEW, **args).sql if narrowed else full.sql
        narrow_view = sources.rows_view(source, runner.NARROW_VIEW, planned.ranges) if narrowed else None
    kept = replay.Plan(
        sql=statement, outputs=dict(full.outputs), samples={k: q.sql(compiler.DIALECT) for k, q in full.samples.items()},
        marks=dict(full.marks), key_variables=setters, narrow_view=narrow_view,
    )  # fmt: skip
    key = replay.plan_key(planned.native, planned.decided, planned.dense, list(planned.ranges) if narrowed else None)
    return key, kept


def _set_variable(name: str) -> str:
    item = exp.SetItem(this=exp.EQ(this=exp.column(name), expression=exp.Placeholder()), kind="VARIABLE")
    return exp.Set(expressions=[item]).sql(compiler.DIALECT)



