"""Run a contract's compiled plan on DuckDB: one fused statement, then samples of what failed.

This and the other runners are the only modules that call an engine. If the fused
statement fails because of one rule (say an ``expect`` comparing text with a
number), each rule is re-run alone so that only the guilty rule reports ``error``;
a failure to read the data is a :class:`~dqgate.errors.DataError` instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import duckdb

from sqlglot import exp

from dqgate.compilers import duckdb as compiler
from dqgate.contract.sql import ref_view
from dqgate.errors import DataError
from dqgate.ir import instants
from dqgate.ir import nodes as n
from dqgate.runners import decide, dense_unique, footer, native, replay, sources
from dqgate.runners.errors import data_error, first_line
from dqgate.runners.assemble import base as _base  # noqa: F401  (old names, kept working)
from dqgate.runners.assemble import errored as _errored
from dqgate.runners.assemble import freshness as _freshness  # noqa: F401
from dqgate.runners.assemble import result as _result  # noqa: F401
from dqgate.runners.assemble import strict as _strict  # noqa: F401
from dqgate.runners.assemble import threshold as _threshold  # noqa: F401
from dqgate.runners.results import CheckResult, Progress, RunResult

if TYPE_CHECKING:
    from dqgate.contract.contract import Contract


def connect() -> duckdb.DuckDBPyConnection:
    """A private in-memory connection able to load dqgate's DuckDB extension (:func:`native.session`)."""
    return native.session()


def prepare(
    con: duckdb.DuckDBPyConnection, contract: Contract, data: Any, *, base_dir: str | None = None
) -> tuple[sources.Source, dict[str, str]]:
    """Register the data and its references on ``con``; check the schema; return the source and column types."""
    declared = {name: spec.type for name, spec in contract.columns.items() if spec.type}
    if isinstance(data, (str, os.PathLike)):
        data = sources.resolve_path(os.fspath(data), base_dir)
    source = sources.register(con, data, compiler.SOURCE_VIEW, declared=declared)
    try:
        described = con.execute(f'DESCRIBE SELECT * FROM "{compiler.SOURCE_VIEW}"').fetchall()
    except duckdb.Error as exc:
        raise data_error(exc, source.uri) from None
    duck_types = {row[0]: row[1] for row in described}
    names = sources.source_names(con, data, source)
    sources.check_names(names, source)
    renamed = sources.engine_names(names, list(duck_types))  # columns that differ only in case: "A" is "A_1"
    if renamed:
        source = dataclasses.replace(source, names=renamed)
    back = {duck: name for name, duck in renamed.items()}
    types = {back.get(duck, duck): t for duck, t in duck_types.items()}  # the data's exact names
    sources.check_schema(types, contract, source)
    adjust = sources.adjustments(types, contract)
    if adjust:  # coerce: and nan: missing read some columns differently, for every rule alike
        with compiler.data_names(source.names):
            source = sources.adjust_view(con, source, compiler.SOURCE_VIEW, adjust)
        types.update(adjust.casts)
    for ref, path in contract.model.references.items():
        ref_path = sources.resolve_path(path, base_dir)
        sources.register(con, ref_path, ref_view(ref))
    return source, types


def register_formats(con: duckdb.DuckDBPyConnection, formats: tuple[str, ...]) -> None:
    """Expose the Cython format kernels as vectorised Arrow UDFs inside the same scan."""
    if not formats:
        return
    from dqgate._kernels import format_valid

    def kernel(fmt: str) -> Any:
        # A closure, not ``lambda values, _fmt=fmt``: DuckDB counts every parameter of the callable.
        def valid(values: Any) -> Any:
            return format_valid(values, fmt)

        return valid

    for fmt in formats:
        con.create_function(
            compiler.FORMAT_FUNCTION.format(fmt),
            kernel(fmt),
            [duckdb.sqltype("VARCHAR")],
            duckdb.sqltype("BOOLEAN"),
            type="arrow",
            side_effects=False,
        )


def run(
    contract: Contract,
    rules: tuple[n.Rule, ...],
    data: Any,
    *,
    as_of: dt.datetime | None = None,
    samples: int = 5,
    allow_empty: bool = False,
    base_dir: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    use_footer: bool = True,
    progress: Progress | None = None,
    keys: KeyCounter | None = None,
    ride: Ride | None = None,
) -> RunResult:
    """Check ``data`` against ``rules`` in one scan and return every result.

    Rules that Parquet footer statistics decide exactly are not scanned for
    (runners/footer.py; ``use_footer=False`` scans for everything).

    With ``con`` given, the data stays registered there as view ``__dq_data`` after the
    run (the ingest step streams the checked batch from it); otherwise a private
    connection is used and closed. ``progress`` (see :class:`~dqgate.runners.results.Progress`)
    follows the scans with DuckDB's own estimate. ``keys``: the caller counts the keys of
    some unique rules itself (see :data:`KeyCounter`); the statement leaves their GROUP BYs out.
    ``ride``: aggregates another step needs over the same rows, computed by the fused statement
    when it reads every row (see :class:`Ride`).

    Raises:
        DataError: the data cannot be read, does not match the declared schema, or is empty
            (unless ``allow_empty``).
    """
    t0 = time.perf_counter()
    rules = instants.resolve(rules, as_of or dt.datetime.now(dt.timezone.utc))  # now-52w -> an instant
    own = con is None
    con = connect() if con is None else con
    try:
        source, types = prepare(con, contract, data, base_dir=base_dir)
        with compiler.data_names(source.names):  # SQL spells the data's columns as DuckDB names them
            given = _count_keys(con, keys, samples)
            planned = plan_for(con, contract, rules, types, source, samples=samples, use_footer=use_footer, given=frozenset(given))
            plan, dense, decided = planned.plan, planned.dense, planned.decided
            register_formats(con, plan.formats)
            scanned = tuple(r for r in rules if r.id not in decided)
            carried = _carry(con, planned, ride)
            with replay.watched(con, progress, since=t0):
                values, errors = _execute(con, plan, scanned, types, contract, source.uri, samples, planned.source)
                if ride is not None and carried and all(name in values for name in carried):
                    ride.values = {"__rows": values.get("__rows"), **{name: values.pop(name) for name in carried}}
                dense = {k: v for k, v in dense.items() if k not in errors}
                dense_unique.fill(con, dense, plan, values, rules, types, samples)
                for rule_id in planned.given:
                    if rule_id not in errors:  # where the statement's GROUP BY would have put them
                        failed_out, _, sample_out, groups_out = plan.outputs[rule_id]
                        values[failed_out], values[sample_out], values[groups_out] = given[rule_id]
            # the rules the footer decided, the row groups the narrowed scan left out
            rows = replay.add_settled(plan, values, decided, planned.outside, planned.rows_outside, errors=errors)
            if rows == 0 and not allow_empty and not errors:
                raise DataError(f"{source.uri}: the dataset has 0 rows; nothing to check (use --allow-empty to check it anyway)", uri=source.uri)
            now = as_of or dt.datetime.now(dt.timezone.utc)
            results = replay.judge(rules, plan, values, types, now, errors=errors, errored=lambda r, why: _errored(r, why, contract))
            results = [_with_sample(con, plan, r, source.names) for r in results]
            keep = KEEP.get()
            if keep is not None and own and not errors and not planned.given:  # a compiled check to keep (runners/compiled.py)
                keep(Trace(con, contract, rules, source, types, planned, samples))
    finally:
        if own:
            con.close()
    checks = tuple(results)
    return RunResult(
        contract={"dataset": contract.dataset, "version": contract.version, "sha256": contract.sha256},
        source={"uri": source.uri, "rows": rows, **replay.footer_facts(rules, planned.decided, planned.groups_outside)},
        status=decide.overall(checks),
        checks=checks,
        elapsed_s=time.perf_counter() - t0,
        engine="duckdb",
        renamed=dict(source.names),
    )


KeyCounter = Callable[[duckdb.DuckDBPyConnection, str, int], dict[str, tuple[int, list[dict[str, Any]], int]]]
"""``keys(con, view, samples)`` counts the keys of some unique rules over the data's ``view``
itself: rule id -> (failing rows, up to ``samples`` repeated keys as records keyed by the
rule's columns, repeated keys), exactly what the statement's GROUP BY would give. An ingest
counts every key of the batch anyway, for the key index (``gate/key_counts.py``), and the
check then reuses those counts instead of grouping the same keys a second time."""


def _count_keys(con: duckdb.DuckDBPyConnection, keys: KeyCounter | None, samples: int) -> dict[str, tuple[int, list[dict[str, Any]], int]]:
    """The caller's key counts (:data:`KeyCounter`); none when it cannot count them (data DuckDB
    cannot read, say): then the statement groups the keys and reports what is wrong."""
    if keys is None:
        return {}
    try:
        return keys(con, compiler.SOURCE_VIEW, samples)
    except duckdb.Error:
        return {}


@dataclass
class Ride:
    """Aggregates another step needs over the rows being checked, carried by the check's fused
    statement: an ingest profiles the batch and computes its snapshot state with them. One
    statement for both costs less than two (on peerbench's 1M rows 0.65 s of CPU against
    0.19 + 0.57 s: the columns are decoded once; benchmarks/README.md, session 7).

    ``aggregates(con)`` gives aliased aggregate expressions over the data's view (called once
    the view exists, inside the data's column names); ``values`` is filled with their values
    (and the row count, ``__rows``) when the statement read every row and succeeded. It stays
    None when the scan was narrowed to some row groups by the Parquet footer or the fused
    statement failed: the step then runs its own statement, as without a ride.
    """

    aggregates: Callable[[duckdb.DuckDBPyConnection], list[exp.Expression]]
    values: dict[str, Any] | None = None


def _carry(con: duckdb.DuckDBPyConnection, planned: Planned, ride: Ride | None) -> list[str]:
    """Add ``ride``'s aggregates to the fused statement if it reads every row; their names."""
    if ride is None or planned.source != compiler.SOURCE_VIEW:
        return []
    extra = [e for e in ride.aggregates(con) if e.alias != "__rows"]  # the statement counts the rows itself
    if not extra:
        return []
    planned.plan.statement = planned.plan.statement.select(*extra)
    return [e.alias for e in extra]


@dataclass
class Planned:
    """The statement this data gets and what was settled without it."""

    plan: compiler.CompiledPlan
    dense: dict[str, dense_unique.DenseKey]  # keys the bitmap pass counts
    decided: dict[str, tuple[Any, ...]]  # rule id -> outputs, from the Parquet footer
    source: str = compiler.SOURCE_VIEW  # what the fused statement reads
    outside: dict[str, tuple[int, int]] = field(default_factory=dict)  # (failed, total) in row groups not read
    rows_outside: int = 0
    groups_outside: int = 0
    ranges: list[tuple[int, int]] = field(default_factory=list)  # the row ranges read, when narrowed
    given: frozenset[str] = frozenset()  # unique rules whose key counts the caller gave (KeyCounter)
    native: bool = False  # dqgate's DuckDB extension was loaded


NARROW_VIEW = "__dq_data_groups"


def plan_args(
    contract: Contract, types: dict[str, str], dense: dict[str, dense_unique.DenseKey], decided: Any, *,
    samples: int, native: bool, marks: dict[str, tuple[Any, Any]] | None = None, given: frozenset[str] = frozenset(),
) -> dict[str, Any]:  # fmt: skip
    """``compile_plan``'s arguments for this data (``marks``: each marked key's low and span,
    by default the numbers ``dense`` found; ``given``: unique rules whose keys the caller
    counted, left out of the statement as the bitmap-counted ones are)."""
    if marks is None:
        marks = {k: (d.low, d.span) for k, d in dense.items() if d.marked}
    return dict(
        types=types, key=contract.key_columns(), samples=samples, counted=frozenset(dense) | given, marks=marks,
        decided=frozenset(decided), native=native,
    )  # fmt: skip


@dataclass(frozen=True)
class Trace:
    """One run's connection (data still registered) and what it decided, handed to
    :data:`KEEP` before the connection closes."""

    con: duckdb.DuckDBPyConnection
    contract: Contract
    rules: tuple[n.Rule, ...]
    source: sources.Source
    types: dict[str, str]
    planned: Planned
    samples: int


# Set by `dq check` (runners/compiled.py's ``keeping``) around a check whose statements it
# keeps for the next run of the same contract: called with the run's Trace.
KEEP: ContextVar[Callable[[Trace], None] | None] = ContextVar("dqgate_keep_compiled_check", default=None)


def plan_for(
    con: duckdb.DuckDBPyConnection, contract: Contract, rules: tuple[n.Rule, ...], types: dict[str, str],
    source: sources.Source, *, samples: int = 5, use_footer: bool = True, given: frozenset[str] = frozenset(),
) -> Planned:
    """The statement this data gets: keys the bitmap pass counts, rules the footer decides,
    the rest fused, over only the row groups the footer leaves open when it can say so.
    ``given``: unique rules whose keys the caller counted (:data:`KeyCounter`), left out of the
    statement (and of the bitmap pass) unless the footer settles them."""
    fast = native.load(con)
    dense = dense_unique.find(con, rules, types, source, native=fast)  # keys marked in bitmaps, not GROUP BY
    cast = set(source.adjust.casts) if source.adjust else set()
    trusted = tuple(r for r in rules if not cast.intersection(r.columns))  # a cast column's footer describes the stored type
    found = footer.read(con, trusted, types, source) if use_footer else footer.Footer()
    given = frozenset(given - set(found.decided))
    dense = {k: d for k, d in dense.items() if k not in given}  # counted already: no bitmaps to mark in the scan
    args = plan_args(contract, types, dense, found.decided, samples=samples, native=fast, given=given)
    planned = Planned(compiler.compile_plan(rules, **args), dense, found.decided, given=given, native=fast)  # type: ignore[arg-type]
    scanned = tuple(r for r in rules if r.id not in found.decided and not isinstance(r, n.StrictSchema))
    narrow = footer.narrowing(found, scanned, types) if source.reader is not None else None
    if narrow is not None:
        planned.ranges, planned.outside, planned.rows_outside, planned.groups_outside = narrow
        sources.register_rows(con, source, NARROW_VIEW, planned.ranges)
        planned.source = NARROW_VIEW
        # Samples stay over every row (a left-out row group may hold all of a rule's failures).
        planned.plan.statement = compiler.compile_plan(rules, source=NARROW_VIEW, **args).statement  # type: ignore[arg-type]
    return planned


def _execute(
    con: duckdb.DuckDBPyConnection,
    plan: compiler.CompiledPlan,
    rules: tuple[n.Rule, ...],
    types: dict[str, str],
    contract: Contract,
    uri: str,
    samples: int,
    source: str = compiler.SOURCE_VIEW,
) -> tuple[dict[str, Any], dict[str, str]]:
    try:
        return _fetch(con, plan.sql), {}
    except duckdb.Error as exc:
        if _is_broken_file(exc):
            raise data_error(exc, uri) from None
    # One rule broke the fused statement: run each rule alone to isolate it. Whether the
    # data or the rule is to blame is decided by reading every column without any rule
    # (once, only when a rule failed): an `expect:` casting 'abc' to a number fails with
    # the same exception class as a CSV cell that cannot be read as the declared type.
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    base = compiler.compile_plan((), types=types, source=source)
    try:
        values.update(_fetch(con, base.sql))
    except duckdb.Error as exc:
        raise data_error(exc, uri) from None
    data_read = False
    for i, rule in enumerate(rules):
        if isinstance(rule, n.StrictSchema):
            continue
        single = compiler.compile_plan((rule,), types=types, key=contract.key_columns(), samples=samples, source=source)
        try:
            register_formats(con, tuple(f for f in single.formats if f not in plan.formats))
            got = _fetch(con, single.sql)
        except duckdb.Error as exc:
            if _is_broken_file(exc):
                raise data_error(exc, uri) from None
            if not data_read:
                _read_all(con, source, uri)  # raises the data's DataError when the data is to blame
                data_read = True
            errors[rule.id] = first_line(exc)
            continue
        for out_single, out_plan in zip(single.outputs[rule.id], plan.outputs[rule.id]):
            values[out_plan] = got[out_single]
    return values, errors


def _read_all(con: duckdb.DuckDBPyConnection, source: str, uri: str) -> None:
    """Decode every value of ``source`` once (a hash of each whole row); raise the
    DataError of the data when that fails: else the data reads, and a rule is to blame."""
    row = exp.to_identifier("__dq_row")
    query = exp.select(exp.Max(this=exp.func("hash", exp.column(row)))).from_(
        exp.alias_(exp.to_table(source, quoted=True), row, table=True)
    )
    try:
        _fetch(con, query.sql("duckdb"))
    except duckdb.Error as exc:
        raise data_error(exc, uri) from None


def _is_broken_file(exc: BaseException) -> bool:
    """A file that cannot be opened or decoded at all, whatever the rules (I/O, corrupt pages)."""
    return isinstance(exc, duckdb.IOException) or type(exc) is duckdb.Error


_fetch = replay.fetch


def _with_sample(
    con: duckdb.DuckDBPyConnection, plan: compiler.CompiledPlan, result: CheckResult, renamed: dict[str, str] | None = None
) -> CheckResult:
    """Attach failing-row samples, querying only rules that failed and have none yet
    (:func:`replay.with_sample`)."""
    query = plan.samples.get(result.id)
    if result.status not in ("fail", "warn") or result.sample or query is None:
        return result
    return replay.with_sample(con, query.sql("duckdb"), result, renamed)
