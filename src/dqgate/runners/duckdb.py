"""Run a contract's compiled plan on DuckDB: one fused statement, then samples of what failed.

This and the other runners are the only modules that call an engine. If the fused
statement fails because of one rule (say an ``expect`` comparing text with a
number), each rule is re-run alone so that only the guilty rule reports ``error``;
a failure to read the data is a :class:`~dqgate.errors.DataError` instead.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import TYPE_CHECKING, Any

import duckdb

from dqgate.compilers import duckdb as compiler
from dqgate.contract.sql import ref_view
from dqgate.errors import DataError
from dqgate.gate import decide
from dqgate.ir import nodes as n
from dqgate.runners import sources
from dqgate.runners.errors import data_error, first_line
from dqgate.runners.results import CheckResult, RunResult

if TYPE_CHECKING:
    from dqgate.contract.contract import Contract

_READ_ERRORS = (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException, duckdb.SerializationException)


def connect() -> duckdb.DuckDBPyConnection:
    """A private in-memory connection."""
    return duckdb.connect(":memory:")


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
    types = {row[0]: row[1] for row in described}
    sources.check_schema(types, contract, source)
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
) -> RunResult:
    """Check ``data`` against ``rules`` in one scan and return every result.

    With ``con`` given, the data stays registered there as view ``__dq_data`` after the
    run (the ingest step streams the checked batch from it); otherwise a private
    connection is used and closed.

    Raises:
        DataError: the data cannot be read, does not match the declared schema, or is empty
            (unless ``allow_empty``).
    """
    t0 = time.perf_counter()
    own = con is None
    con = connect() if con is None else con
    try:
        source, types = prepare(con, contract, data, base_dir=base_dir)
        plan = compiler.compile_plan(rules, types=types, key=contract.key_columns(), samples=samples)
        register_formats(con, plan.formats)
        values, errors = _execute(con, plan, rules, types, contract, source.uri, samples)
        rows = int(values.get("__rows", 0) or 0)
        if rows == 0 and not allow_empty and not errors:
            raise DataError(f"{source.uri}: the dataset has 0 rows; nothing to check (use --allow-empty to check it anyway)", uri=source.uri)
        now = as_of or dt.datetime.now(dt.timezone.utc)
        results = []
        for rule in rules:
            if rule.id in errors:
                results.append(_errored(rule, errors[rule.id]))
            elif isinstance(rule, n.StrictSchema):
                results.append(_strict(rule, types))
            else:
                results.append(_result(rule, plan, values, now))
        results = [_with_sample(con, plan, r) for r in results]
    finally:
        if own:
            con.close()
    checks = tuple(results)
    return RunResult(
        contract={"dataset": contract.dataset, "version": contract.version, "sha256": contract.sha256},
        source={"uri": source.uri, "rows": rows},
        status=decide.overall(checks),
        checks=checks,
        elapsed_s=time.perf_counter() - t0,
        engine="duckdb",
    )


def _execute(
    con: duckdb.DuckDBPyConnection,
    plan: compiler.CompiledPlan,
    rules: tuple[n.Rule, ...],
    types: dict[str, str],
    contract: Contract,
    uri: str,
    samples: int,
) -> tuple[dict[str, Any], dict[str, str]]:
    try:
        return _fetch(con, plan.sql), {}
    except _READ_ERRORS as exc:
        if _is_read_error(exc):
            raise data_error(exc, uri) from None
    except duckdb.Error:
        pass
    # One rule broke the fused statement: run each rule alone to isolate it.
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    base = compiler.compile_plan((), types=types)
    try:
        values.update(_fetch(con, base.sql))
    except duckdb.Error as exc:
        raise data_error(exc, uri) from None
    for i, rule in enumerate(rules):
        if isinstance(rule, n.StrictSchema):
            continue
        single = compiler.compile_plan((rule,), types=types, key=contract.key_columns(), samples=samples)
        try:
            register_formats(con, tuple(f for f in single.formats if f not in plan.formats))
            got = _fetch(con, single.sql)
        except duckdb.Error as exc:
            errors[rule.id] = first_line(exc)
            continue
        for out_single, out_plan in zip(single.outputs[rule.id], plan.outputs[rule.id]):
            values[out_plan] = got[out_single]
    return values, errors


def _is_read_error(exc: BaseException) -> bool:
    if isinstance(exc, duckdb.IOException):
        return True
    low = str(exc).lower()
    return any(word in low for word in ("parquet", "csv", "json", "file", "magic bytes", "sniff", "line "))


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description or []]
    rows = cur.fetchall()  # fetch to the end: DuckDB 2 keeps a half-read result open
    return dict(zip(names, rows[0] if rows else ()))


def _threshold(rule: n.Rule) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(rule, n.Range):
        out.update({k: v for k, v in (("min", rule.min), ("max", rule.max)) if v is not None})
        if rule.exclusive:
            out["exclusive"] = True
    elif isinstance(rule, n.InSet):
        out["in"] = list(rule.values)
    elif isinstance(rule, n.Pattern):
        out["pattern"] = rule.regex
    elif isinstance(rule, n.Length):
        out.update({k: v for k, v in (("min", rule.min), ("max", rule.max)) if v is not None})
    elif isinstance(rule, n.Format):
        out["format"] = rule.format
    elif isinstance(rule, n.Reference):
        out["references"] = f"{rule.ref}.{rule.ref_column}"
    elif isinstance(rule, n.Metric):
        out.update({k: v for k, v in (("min", rule.min), ("max", rule.max)) if v is not None})
    elif isinstance(rule, n.Freshness):
        out["max_age"] = rule.max_age
    if isinstance(rule, n.RowRule) and rule.mostly is not None:
        out["mostly"] = rule.mostly
    if rule.where:
        out["where"] = rule.where
    return out


def _base(rule: n.Rule, status: str, **kw: Any) -> CheckResult:
    return CheckResult(
        id=rule.id, rule=rule.kind, columns=rule.columns, severity=rule.severity,
        status=status, threshold=_threshold(rule), line=rule.line, **kw,
    )  # fmt: skip


def _errored(rule: n.Rule, message: str) -> CheckResult:
    return _base(rule, "error", message=f"could not run: {message}")


def _strict(rule: n.StrictSchema, types: dict[str, str]) -> CheckResult:
    allowed = {c.lower() for c in rule.allowed}
    extra = [c for c in types if c.lower() not in allowed]
    status = decide.graded(not extra, rule.severity)
    msg = f"{len(extra)} column(s) not in the contract: {', '.join(extra)}" if extra else "no undeclared columns"
    return _base(rule, status, observed=extra, message=msg)


def _result(rule: n.Rule, plan: compiler.CompiledPlan, values: dict[str, Any], now: dt.datetime) -> CheckResult:
    outs = plan.outputs[rule.id]
    if isinstance(rule, n.RowRule):
        failed, total = int(values[outs[0]] or 0), int(values[outs[1]] or 0)
        passed, observed = decide.row_status(failed, total, rule.mostly)
        status = decide.graded(passed, rule.severity)
        msg = f"{failed:,} of {total:,} rows fail"
        if rule.mostly is not None:
            msg += f" ({observed:.4%} pass; needs at least {rule.mostly:.4%})"
        sample = tuple(values[outs[2]] or ()) if len(outs) > 2 and failed else ()
        sample = tuple(s if len(s) > 1 else next(iter(s.values())) for s in sample) if sample else ()
        return _base(rule, status, failed_rows=failed, total_rows=total, observed=observed, message=msg, sample=sample)
    value = values[outs[0]]
    if isinstance(rule, n.Freshness):
        return _freshness(rule, value, now)
    assert isinstance(rule, n.Metric)
    if hasattr(value, "__float__") and not isinstance(value, (int, float, bool)):
        value = float(value)
    passed = decide.metric_status(value, rule.min, rule.max)
    status = decide.graded(passed, rule.severity)
    if value is None:
        msg = f"{rule.id} has no value (no rows, or only NULLs)"
    else:
        msg = f"{rule.id} = {value:g}" if isinstance(value, (int, float)) else f"{rule.id} = {value}"
        if rule.min is not None or rule.max is not None:
            lo = "-inf" if rule.min is None else f"{rule.min:g}"
            hi = "inf" if rule.max is None else f"{rule.max:g}"
            msg += f", expected within [{lo}, {hi}]"
    return _base(rule, status, observed=value, message=msg)


def _freshness(rule: n.Freshness, newest: Any, now: dt.datetime) -> CheckResult:
    if newest is None:
        return _base(rule, decide.graded(False, rule.severity), message=f"no values in '{rule.columns[0]}' to judge freshness")
    if isinstance(newest, dt.date) and not isinstance(newest, dt.datetime):
        newest = dt.datetime.combine(newest, dt.time())
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    age = (now - newest).total_seconds()
    passed = age <= rule.max_age_s
    msg = f"newest value {newest.isoformat()} is {age / 3600:.1f}h old (max {rule.max_age})"
    return _base(rule, decide.graded(passed, rule.severity), observed=age, message=msg)


def _with_sample(con: duckdb.DuckDBPyConnection, plan: compiler.CompiledPlan, result: CheckResult) -> CheckResult:
    """Attach failing-row samples, querying only rules that failed and have none yet."""
    if result.status not in ("fail", "warn") or result.sample or result.id not in plan.samples:
        return result
    try:
        cur = con.execute(plan.samples[result.id].sql("duckdb"))
        rows = cur.fetchall()
        names = [d[0] for d in cur.description or []]
    except duckdb.Error:
        return result
    sample = tuple(r[0] if len(names) == 1 else dict(zip(names, r)) for r in rows)
    from dataclasses import replace

    return replace(result, sample=sample)
