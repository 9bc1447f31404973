"""Run a contract's compiled plan on Polars: one select over a LazyFrame, then samples of what failed.

Results are built by :mod:`dqgate.runners.assemble`, as for DuckDB, so both engines
report the same statuses and messages. The query runs on Polars' in-memory engine,
measured faster than streaming for this workload (benchmarks/bench_polars.py), except
for files that may not fit in memory. As in the DuckDB runner, if the fused query
fails because of one rule (an ``expect`` comparing text with a number), each rule is
run alone so that only the guilty rule reports ``error``; a failure to read the data
is a :class:`~dqgate.errors.DataError` instead.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

import polars as pl

from dqgate.compilers import polars as compiler
from dqgate.errors import DataError, UsageError
from dqgate.ir import instants
from dqgate.ir import nodes as n
from dqgate.runners import assemble, decide, sources
from dqgate.runners.errors import data_error, first_line
from dqgate.runners.results import CheckResult, Progress, RunResult

if TYPE_CHECKING:
    from dqgate.contract.contract import Contract

ENGINE = "polars"

_DUCKDB_TYPES: dict[Any, str] = {
    pl.Int8: "TINYINT", pl.Int16: "SMALLINT", pl.Int32: "INTEGER", pl.Int64: "BIGINT", pl.Int128: "HUGEINT",
    pl.UInt8: "UTINYINT", pl.UInt16: "USMALLINT", pl.UInt32: "UINTEGER", pl.UInt64: "UBIGINT",
    pl.Float32: "FLOAT", pl.Float64: "DOUBLE", pl.Decimal: "DECIMAL", pl.String: "VARCHAR",
    pl.Categorical: "VARCHAR", pl.Enum: "ENUM", pl.Boolean: "BOOLEAN", pl.Date: "DATE", pl.Time: "TIME",
    pl.Binary: "BLOB", pl.Duration: "INTERVAL", pl.Null: "NULL", pl.List: "LIST", pl.Array: "ARRAY",
    pl.Struct: "STRUCT",
}  # fmt: skip


def duckdb_type(dtype: pl.DataType) -> str:
    """The DuckDB name of a Polars type, so both engines share one schema check."""
    if dtype.base_type() == pl.Datetime:
        return "TIMESTAMP WITH TIME ZONE" if getattr(dtype, "time_zone", None) else "TIMESTAMP"
    return _DUCKDB_TYPES.get(dtype.base_type(), str(dtype).upper())


def frame(data: Any, *, base_dir: str | None = None, declared: dict[str, str] | None = None) -> tuple[pl.LazyFrame, sources.Source]:
    """``data`` as a LazyFrame (files are scanned, not loaded) and where it came from.

    Raises:
        DataError: a file is missing, empty or of an unknown format.
        UsageError: ``data`` is an object dqgate cannot read.
    """
    if isinstance(data, (str, os.PathLike)):
        path = sources.resolve_path(os.fspath(data), base_dir)
        kind, _ = sources._reader_for(path, declared or {})  # the same existence and format checks as DuckDB
        try:
            return _scan(path, kind, declared or {}), sources.Source(uri=path, kind=kind)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise data_error(exc, path) from None
    module = type(data).__module__.split(".")[0]
    cls = type(data).__name__
    uri = sources.describe(data)
    if module == "polars" and cls in ("DataFrame", "LazyFrame"):
        return data.lazy(), sources.Source(uri=uri, kind="polars")
    if module == "pyarrow" and cls in ("Table", "RecordBatch", "RecordBatchReader"):
        table = data.read_all() if cls == "RecordBatchReader" else data
        return pl.DataFrame(pl.from_arrow(table)).lazy(), sources.Source(uri=uri, kind="arrow")
    if module == "pyarrow" and cls in ("Dataset", "FileSystemDataset"):
        return pl.scan_pyarrow_dataset(data), sources.Source(uri=uri, kind="arrow")
    if module == "pandas" and cls == "DataFrame":
        return pl.from_pandas(data).lazy(), sources.Source(uri=uri, kind="pandas")
    if module == "duckdb" and "Relation" in cls:
        return data.pl().lazy(), sources.Source(uri=uri, kind="duckdb")
    raise UsageError(f"cannot check a {module}.{cls}; pass a file path, an Arrow table, a Polars or pandas DataFrame or a DuckDB relation")


def _scan(path: str, kind: str, declared: dict[str, str]) -> pl.LazyFrame:
    if kind == "parquet":
        if os.path.isdir(path):
            return pl.scan_parquet(os.path.join(path, "**", "*.parquet"), hive_partitioning=True, missing_columns="insert")
        return pl.scan_parquet(path, missing_columns="insert") if any(ch in path for ch in "*?[") else pl.scan_parquet(path)
    if kind == "csv":
        overrides = {c: _POLARS_TYPES[t] for c, t in declared.items() if t in _POLARS_TYPES}
        sep = "\t" if path.lower().endswith((".tsv", ".tsv.gz")) else ","
        if path.lower().endswith(".gz"):
            return pl.read_csv(path, separator=sep, schema_overrides=overrides).lazy()
        return pl.scan_csv(path, separator=sep, schema_overrides=overrides)
    with open(path, "rb") as fh:
        is_array = fh.read(64).lstrip()[:1] == b"["
    # JSON has no dates: read the declared temporal columns as such, as DuckDB's reader detects them.
    found = (pl.read_json(path) if is_array else pl.scan_ndjson(path)).collect_schema()
    temporal = {c: _POLARS_TYPES[t] for c, t in declared.items() if t in ("date", "timestamp", "time") and found.get(c) == pl.String}
    return pl.read_json(path, schema_overrides=temporal).lazy() if is_array else pl.scan_ndjson(path, schema_overrides=temporal)


_POLARS_TYPES: dict[str, Any] = {
    "int8": pl.Int8, "int16": pl.Int16, "int32": pl.Int32, "int64": pl.Int64, "uint8": pl.UInt8,
    "uint16": pl.UInt16, "uint32": pl.UInt32, "uint64": pl.UInt64, "float32": pl.Float32,
    "float64": pl.Float64, "string": pl.String, "bool": pl.Boolean, "date": pl.Date,
    "timestamp": pl.Datetime("us"), "time": pl.Time,
}  # fmt: skip


def prepare(contract: Contract, data: Any, *, base_dir: str | None = None) -> tuple[pl.LazyFrame, sources.Source, pl.Schema]:
    """The data as a LazyFrame, its source and schema, checked against the contract."""
    declared = {name: spec.type for name, spec in contract.columns.items() if spec.type}
    lf, source = frame(data, base_dir=base_dir, declared=declared)
    try:
        schema = lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise data_error(exc, source.uri) from None
    types = {name: duckdb_type(t) for name, t in schema.items()}
    sources.check_schema(types, contract, source)  # names match exactly: 'Alcohol' is not 'alcohol'
    adjust = sources.adjustments(types, contract)
    if adjust:  # coerce: and nan: missing, with DuckDB's meaning (sources.Adjustments)
        lf = lf.with_columns(*_adjusted(adjust, schema))
        schema = lf.collect_schema()
    return lf, source, schema


_FROM_DUCKDB_TYPE = {duck: dtype for dtype, duck in _DUCKDB_TYPES.items() if duck not in ("VARCHAR", "DECIMAL")}


def _adjusted(adjust: sources.Adjustments, schema: pl.Schema) -> list[pl.Expr]:
    """Columns read as ``adjust`` says: a number cast to the declared type only when it is
    held exactly (else NULL, as DuckDB's ``CASE WHEN TRY_CAST(x) = x``), NaN as NULL."""
    out = []
    for name, target in adjust.casts.items():
        cast = pl.col(name).cast(_FROM_DUCKDB_TYPE[target], strict=False)
        out.append(pl.when(cast == pl.col(name)).then(cast).otherwise(None).alias(name))
    out += [pl.col(name).fill_nan(None) for name in adjust.nan_null if name in schema]
    return out


def references(contract: Contract, rules: tuple[n.Rule, ...], base_dir: str | None) -> tuple[dict[tuple[str, str], pl.Series], dict[str, str]]:
    """The distinct non-null values of each reference column a rule reads, read once each.

    Returns the values by ``(reference, column)`` and, for rules whose reference could not
    be read, the reason (those rules report ``error``, as on DuckDB).
    """
    values: dict[tuple[str, str], pl.Series] = {}
    errors: dict[str, str] = {}
    for rule in rules:
        if isinstance(rule, n.ForeignKey):  # the distinct non-NULL keys, as a frame
            fk = (rule.ref, rule.ref_columns)
            if fk not in values:
                try:
                    lf, _ = frame(contract.model.references[rule.ref], base_dir=base_dir)
                    values[fk] = lf.select(rule.ref_columns).drop_nulls().unique().collect()  # type: ignore[index, assignment]
                except (DataError, pl.exceptions.PolarsError, OSError) as exc:
                    errors[rule.id] = first_line(exc)
            continue
        if not isinstance(rule, n.Reference):
            continue
        key = (rule.ref, rule.ref_column)
        if key not in values:
            try:
                lf, _ = frame(contract.model.references[rule.ref], base_dir=base_dir)
                values[key] = lf.select(pl.col(rule.ref_column).drop_nulls().unique()).collect().to_series()
            except (DataError, pl.exceptions.PolarsError, OSError) as exc:
                errors[rule.id] = first_line(exc)
    return values, errors


def run(
    contract: Contract,
    rules: tuple[n.Rule, ...],
    data: Any,
    *,
    as_of: dt.datetime | None = None,
    samples: int = 5,
    allow_empty: bool = False,
    base_dir: str | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Check ``data`` against ``rules`` in one Polars query and return every result.

    ``progress`` (see :class:`~dqgate.runners.results.Progress`) gets no poll: Polars
    gives no estimate of how far it is.

    Raises:
        DataError: the data cannot be read, does not match the declared schema, or is empty
            (unless ``allow_empty``).
        UnsupportedRule: a rule Polars cannot evaluate with DuckDB's meaning.
    """
    t0 = time.perf_counter()
    rules = instants.resolve(rules, as_of or dt.datetime.now(dt.timezone.utc))  # now-52w -> an instant
    lf, source, schema = prepare(contract, data, base_dir=base_dir)
    refs, errors = references(contract, rules, base_dir)
    runnable = tuple(r for r in rules if r.id not in errors)
    plan = compiler.compile_plan(runnable, schema=schema, refs=refs, samples=samples)
    errors.update(plan.errors)
    streaming = _larger_than_memory(source)
    with nullcontext() if progress is None else progress(None, since=t0):
        values, failed = _execute(lf, plan, runnable, schema, refs, source.uri, streaming=streaming)
    errors.update(failed)
    rows = int(values.get(compiler.ROWS, 0) or 0)
    if rows == 0 and not allow_empty and not errors:
        raise DataError(f"{source.uri}: the dataset has 0 rows; nothing to check (use --allow-empty to check it anyway)", uri=source.uri)
    now = as_of or dt.datetime.now(dt.timezone.utc)
    types = {name: duckdb_type(t) for name, t in schema.items()}
    results: list[CheckResult] = []
    for rule in rules:
        if rule.id in errors:
            results.append(assemble.errored(rule, errors[rule.id], contract))
        elif isinstance(rule, n.StrictSchema):
            results.append(assemble.strict(rule, types))
        else:
            results.append(assemble.result(rule, plan, values, now))
    checks = _with_samples(lf, plan, tuple(results), values, key=contract.key_columns())
    return RunResult(
        contract={"dataset": contract.dataset, "version": contract.version, "sha256": contract.sha256},
        source={"uri": source.uri, "rows": rows},
        status=decide.overall(checks),
        checks=checks,
        elapsed_s=time.perf_counter() - t0,
        engine=ENGINE,
    )


def _larger_than_memory(source: sources.Source) -> bool:
    """Whether to stream: the in-memory engine is faster (its sort-based uniqueness above all;
    measured in benchmarks/bench_polars.py) but holds the columns it reads, so files that
    may not fit (decoded at about 4x their size on disk) are streamed instead."""
    if source.kind not in ("parquet", "csv", "json"):
        return False
    import glob as globlib

    path = source.uri
    files = globlib.glob(os.path.join(path, "**", "*"), recursive=True) if os.path.isdir(path) else globlib.glob(path, recursive=True)
    size = sum(os.path.getsize(f) for f in files if os.path.isfile(f))
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on Linux
        return False
    return size * 4 > memory // 2


def _collect(lf: pl.LazyFrame, *, streaming: bool) -> pl.DataFrame:
    out = lf.collect(engine="streaming" if streaming else "in-memory")
    assert isinstance(out, pl.DataFrame)
    return out


def _evaluate(lf: pl.LazyFrame, plan: compiler.CompiledPlan, *, streaming: bool) -> dict[str, Any]:
    df = _collect(lf.select(plan.exprs), streaming=streaming)
    if plan.post:
        df = df.with_columns(plan.post)
    return df.row(0, named=True)


def _execute(
    lf: pl.LazyFrame,
    plan: compiler.CompiledPlan,
    rules: tuple[n.Rule, ...],
    schema: pl.Schema,
    refs: dict[tuple[str, str], pl.Series],
    uri: str,
    *,
    streaming: bool,
) -> tuple[dict[str, Any], dict[str, str]]:
    try:
        return _evaluate(lf, plan, streaming=streaming), {}
    except (pl.exceptions.PolarsError, OSError):
        pass
    # One rule broke the fused query (or the data cannot be read): run each rule alone.
    try:
        values = _evaluate(lf, compiler.compile_plan((), schema=schema), streaming=streaming)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise data_error(exc, uri) from None
    errors: dict[str, str] = {}
    for rule in rules:
        if rule.id in plan.errors or rule.id not in plan.outputs:
            continue
        single = compiler.compile_plan((rule,), schema=schema, refs=refs, samples=0)
        try:
            got = _evaluate(lf, single, streaming=streaming)
        except (pl.exceptions.PolarsError, OSError) as exc:
            errors[rule.id] = first_line(exc)
            continue
        for out_single, out_plan in zip(single.outputs[rule.id], plan.outputs[rule.id]):
            if out_single in got:
                values[out_plan] = got[out_single]
    return values, errors


def _with_samples(
    lf: pl.LazyFrame,
    plan: compiler.CompiledPlan,
    results: tuple[CheckResult, ...],
    values: dict[str, Any],
    *,
    key: tuple[str, ...],
) -> tuple[CheckResult, ...]:
    """Attach the key and rule columns of the first failing rows to rules that failed.

    The fused query located those rows; one more query reads them, and it stops at
    the last of them (the first failures of a file are usually near its start).
    """
    wanted = {
        r.id: values.get(plan.sample_rows[r.id]) or []
        for r in results
        if r.status in ("fail", "warn") and r.failed_rows and r.id in plan.sample_rows
    }
    positions = sorted({i for rows in wanted.values() for i in rows})
    if not positions:
        return results
    by_id = {r.id: r for r in results}
    shown = {rid: list(dict.fromkeys([*key, *by_id[rid].columns])) for rid in wanted}
    columns = list(dict.fromkeys(c for cols in shown.values() for c in cols))
    query = lf.head(positions[-1] + 1).with_row_index(_ROW).filter(pl.col(_ROW).is_in(positions)).select(_ROW, *columns)
    try:
        rows = {row[_ROW]: row for row in _collect(query, streaming=False).iter_rows(named=True)}
    except (pl.exceptions.PolarsError, OSError):
        return results
    from dataclasses import replace

    out = []
    for r in results:
        if r.id in wanted:
            picked = [rows[i] for i in wanted[r.id] if i in rows]
            cols = shown[r.id]
            r = replace(r, sample=tuple(row[cols[0]] if len(cols) == 1 else {c: row[c] for c in cols} for row in picked))
        out.append(r)
    return tuple(out)


_ROW = "__dq_row"
