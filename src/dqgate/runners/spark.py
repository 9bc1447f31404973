"""Run a contract's compiled plan on Spark: one fused aggregate over the DataFrame, then
samples of what failed (one small ``LIMIT`` job per failing rule).

The statement is compilers/spark.py's (the shared sqlglot tree in Spark's dialect);
results are built by :mod:`dqgate.runners.assemble`, as for DuckDB and Polars, so every
engine reports the same statuses and messages. Only the one result row and the
samples of failing rules reach the driver: key rules are a ``GROUP BY`` in Spark,
formats run in the executors as Arrow UDFs over the Cython kernels.

Spark's ANSI mode is off while the check runs (and restored after): with it on, a
division by zero or a cast of an out-of-range value aborts the whole statement, where
DuckDB, Polars and the oracle give NULL. As in the other runners, if the fused
statement fails because of one rule, each rule is run alone so that only the guilty
rule reports ``error``; data Spark cannot read is a :class:`~dqgate.errors.DataError`.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from sqlglot import exp

from dqgate.compilers import duckdb as compiler
from dqgate.compilers.spark import SPARK, SPARK_BEFORE_4_2, Spark
from dqgate.contract.sql import ref_view
from dqgate.errors import DataError, EngineError, UsageError
from dqgate.ir import instants
from dqgate.ir import nodes as n
from dqgate.runners import assemble, decide, sources
from dqgate.runners.errors import first_line
from dqgate.runners.results import CheckResult, Progress, RunResult

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from dqgate.contract.contract import Contract

ENGINE = "spark"
MASTER_ENV = "DQ_SPARK_MASTER"

# Spark's type names -> DuckDB's, so all engines share one schema check and one literal casting.
_DUCKDB_TYPES = {
    "byte": "TINYINT", "short": "SMALLINT", "integer": "INTEGER", "long": "BIGINT", "float": "FLOAT",
    "double": "DOUBLE", "string": "VARCHAR", "varchar": "VARCHAR", "char": "VARCHAR", "boolean": "BOOLEAN",
    "date": "DATE", "timestamp": "TIMESTAMP WITH TIME ZONE", "timestamp_ntz": "TIMESTAMP", "binary": "BLOB",
    "array": "LIST", "map": "MAP", "struct": "STRUCT", "void": "NULL",
}  # fmt: skip


def duckdb_type(data_type: Any) -> str:
    """The DuckDB name of a Spark type (``DecimalType(10,2)`` is ``DECIMAL(10,2)``)."""
    name = data_type.typeName()
    if name == "decimal":
        return f"DECIMAL({data_type.precision},{data_type.scale})"
    if name.startswith(("varchar", "char")):
        return "VARCHAR"
    return _DUCKDB_TYPES.get(name, name.upper())


def session(master: str | None = None) -> SparkSession:
    """The active SparkSession, else one started from ``master``, ``DQ_SPARK_MASTER``,
    Spark's own ``spark.master`` setting, or ``local[*]``; ``sc://`` URLs use Spark Connect.

    Spark's Python workers run this interpreter (``PYSPARK_PYTHON``), so the format
    kernels they load are the ones installed here.

    Raises:
        EngineError: pyspark is not installed, Java is missing, or the session cannot start.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError("engine 'spark' needs pyspark: pip install 'dqgate[spark]'", engine=ENGINE) from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    active = SparkSession.getActiveSession()
    chosen = master or os.environ.get(MASTER_ENV)
    if active is not None and chosen is None:
        return active
    if chosen and chosen.startswith("sc://"):
        return _connect(chosen)
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))):
        raise EngineError("engine 'spark' needs Java 17 or later: no 'java' on PATH and no JAVA_HOME", engine=ENGINE)
    builder = SparkSession.builder.appName("dqgate").config("spark.ui.enabled", "false")
    builder = builder.config("spark.sql.session.timeZone", "UTC").config("spark.ui.showConsoleProgress", "false")
    # dqgate writes no tables: keep Spark from creating ./spark-warehouse wherever it is run.
    builder = builder.config("spark.sql.warehouse.dir", os.path.join(tempfile.gettempdir(), "dqgate-spark-warehouse"))
    if chosen or not _configured_master():
        builder = builder.master(chosen or "local[*]")
    try:
        with warnings.catch_warnings():  # pyspark warns about pandas versions it never uses here
            warnings.simplefilter("ignore", FutureWarning)
            spark = builder.getOrCreate()
    except Exception as exc:  # pyspark raises its own runtime errors and Py4J's
        raise EngineError(f"engine 'spark' could not start a SparkSession: {first_line(exc)}", engine=ENGINE) from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _configured_master() -> bool:
    """Whether Spark's own configuration (spark-submit, PYSPARK_SUBMIT_ARGS) names a master."""
    return "--master" in os.environ.get("PYSPARK_SUBMIT_ARGS", "") or bool(os.environ.get("MASTER"))


def _connect(url: str) -> SparkSession:
    from pyspark.sql import SparkSession

    try:
        return SparkSession.builder.remote(url).getOrCreate()
    except ImportError as exc:
        raise EngineError(f"engine 'spark': Spark Connect ({url}) needs pyspark's connect extras: {exc}", engine=ENGINE) from None
    except Exception as exc:
        raise EngineError(f"engine 'spark' could not reach {url}: {first_line(exc)}", engine=ENGINE) from None


def is_spark_frame(data: Any) -> bool:
    """Whether ``data`` is a Spark DataFrame (classic or Spark Connect)."""
    return type(data).__module__.split(".")[0] == "pyspark" and type(data).__name__ == "DataFrame"


def frame(spark: SparkSession, data: Any, *, base_dir: str | None = None, declared: dict[str, str] | None = None) -> tuple[DataFrame, sources.Source]:
    """``data`` as a Spark DataFrame and where it came from; files are read by Spark itself.

    Raises:
        DataError: a file is missing, empty, of an unknown format or unreadable.
        UsageError: ``data`` is an object Spark cannot check.
    """
    if is_spark_frame(data):
        return data, sources.Source(uri="spark DataFrame", kind="spark")
    if not isinstance(data, (str, os.PathLike)):
        raise UsageError(f"engine 'spark' checks a Spark DataFrame or files, not a {type(data).__module__}.{type(data).__name__}")
    path = sources.resolve_path(os.fspath(data), base_dir)
    kind, _ = sources._reader_for(path, declared or {})  # the same existence and format checks as DuckDB
    try:
        if kind == "parquet":
            df = spark.read.parquet(path)
        elif kind == "csv":
            sep = "\t" if path.lower().endswith((".tsv", ".tsv.gz")) else ","
            df = spark.read.csv(path, header=True, inferSchema=True, sep=sep)
        else:
            df = spark.read.json(path, multiLine=_json_array(path))
    except Exception as exc:
        raise DataError(f"{path}: Spark cannot read it: {first_line(exc)}", uri=path) from None
    return df, sources.Source(uri=path, kind=kind)


def _json_array(path: str) -> bool:
    if not os.path.isfile(path):
        return False
    with open(path, "rb") as fh:
        return fh.read(64).lstrip()[:1] == b"["


def prepare(spark: SparkSession, contract: Contract, data: Any, *, base_dir: str | None = None) -> tuple[DataFrame, sources.Source, dict[str, str]]:
    """The data as a DataFrame (read as ``coerce:``/``nan:`` say), its source and its
    DuckDB-spelled types, checked against the contract."""
    declared = {name: spec.type for name, spec in contract.columns.items() if spec.type}
    df, source = frame(spark, data, base_dir=base_dir, declared=declared)
    types = {f.name: duckdb_type(f.dataType) for f in df.schema.fields}
    sources.check_names([f.name for f in df.schema.fields], source)
    sources.check_schema(types, contract, source)
    adjust = sources.adjustments(types, contract)
    if adjust:
        df = df.select(*_adjusted(df, adjust))
        types.update(adjust.casts)
    return df, source, types


def _adjusted(df: DataFrame, adjust: sources.Adjustments) -> list[Any]:
    """Every column, those ``adjust`` names read with DuckDB's meaning (sources.Adjustments):
    a number cast only when held exactly (else NULL), NaN as NULL."""
    from pyspark.sql import functions as F

    out = []
    for name in df.columns:
        c = F.col(f"`{name.replace('`', '``')}`")
        if name in adjust.casts:
            target = exp.DataType.build(adjust.casts[name], dialect="duckdb").sql(SPARK.sqlglot)
            cast = c.try_cast(target)
            c = F.when(cast == c, cast)
        elif name in adjust.nan_null:
            c = F.when(~F.isnan(c), c)
        out.append(c.alias(name))
    return out


def register_formats(spark: SparkSession, formats: tuple[str, ...]) -> None:
    """Expose the Cython format kernels as Arrow UDFs: Spark's Python workers call them on
    Arrow batches, no row at a time."""
    if not formats:
        return
    from pyspark.sql.pandas.functions import ArrowUDFType, arrow_udf
    from pyspark.sql.types import BooleanType

    for fmt in formats:
        with warnings.catch_warnings():  # it prefers type hints; these closures are typed by hand
            warnings.simplefilter("ignore", UserWarning)
            udf = arrow_udf(_kernel(fmt), BooleanType(), ArrowUDFType.SCALAR)
        spark.udf.register(compiler.FORMAT_FUNCTION.format(fmt), udf)


def _kernel(fmt: str) -> Any:
    def valid(values: Any) -> Any:
        from dqgate._kernels import format_valid

        return format_valid(values, fmt)

    return valid


def register_references(spark: SparkSession, contract: Contract, rules: tuple[n.Rule, ...], base_dir: str | None) -> dict[str, str]:
    """A temporary view per reference a rule reads; returns rule id -> why, for references
    that cannot be read (those rules report ``error``, as on DuckDB)."""
    errors: dict[str, str] = {}
    done: dict[str, str | None] = {}
    for rule in rules:
        ref = getattr(rule, "ref", None) if isinstance(rule, (n.Reference, n.ForeignKey)) else None
        if ref is None:
            continue
        if ref not in done:
            try:
                df, _ = frame(spark, sources.resolve_path(contract.model.references[ref], base_dir))
                df.createOrReplaceTempView(ref_view(ref))
                done[ref] = None
            except (DataError, UsageError) as exc:
                done[ref] = first_line(exc)
        if done[ref] is not None:
            errors[rule.id] = done[ref]  # type: ignore[assignment]
    return errors


@contextmanager
def _duckdb_semantics(spark: SparkSession) -> Iterator[None]:
    """ANSI mode off (NULL, not an abort, for x/0 and failed casts), restored afterwards."""
    before = spark.conf.get("spark.sql.ansi.enabled", None)
    spark.conf.set("spark.sql.ansi.enabled", "false")
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset("spark.sql.ansi.enabled")
        else:
            spark.conf.set("spark.sql.ansi.enabled", before)


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
    spark: SparkSession | None = None,
) -> RunResult:
    """Check ``data`` (a Spark DataFrame or files) against ``rules``: one aggregate job, then one
    small ``LIMIT`` job per rule that failed or warned (its samples).

    Raises:
        DataError: the data cannot be read, does not match the declared schema, or is empty
            (unless ``allow_empty``).
        UnsupportedRule: a rule Spark cannot run exactly (compilers/spark.py says which).
        EngineError: Spark cannot start.
    """
    t0 = time.perf_counter()
    rules = instants.resolve(rules, as_of or dt.datetime.now(dt.timezone.utc))
    compiler.compile_plan(rules, types={}, dialect=SPARK)  # refuses what Spark cannot run before a JVM starts
    if spark is None:
        spark = data.sparkSession if is_spark_frame(data) else session()
    dialect = dialect_for(spark)
    with _duckdb_semantics(spark):
        df, source, types = prepare(spark, contract, data, base_dir=base_dir)
        df.createOrReplaceTempView(compiler.SOURCE_VIEW)
        errors = register_references(spark, contract, rules, base_dir)
        runnable = tuple(r for r in rules if r.id not in errors and not isinstance(r, n.HISTORY_RULES))
        plan = compiler.compile_plan(runnable, types=types, key=contract.key_columns(), samples=samples, dialect=dialect)
        register_formats(spark, plan.formats)
        values, failed = _execute(spark, plan, runnable, types, contract, source.uri, samples, dialect)
        errors.update(failed)
        rows = int(values.get("__rows", 0) or 0)
        if rows == 0 and not allow_empty and not errors:
            raise DataError(f"{source.uri}: the dataset has 0 rows; nothing to check (use --allow-empty to check it anyway)", uri=source.uri)
        now = as_of or dt.datetime.now(dt.timezone.utc)
        results: list[CheckResult] = []
        for rule in rules:
            if rule.id in errors:
                results.append(assemble.errored(rule, errors[rule.id], contract))
            elif isinstance(rule, n.StrictSchema):
                results.append(assemble.strict(rule, types))
            elif isinstance(rule, n.HISTORY_RULES):
                continue
            else:
                results.append(assemble.result(rule, plan, values, now))
        checks = _with_samples(spark, plan, results)
    return RunResult(
        contract={"dataset": contract.dataset, "version": contract.version, "sha256": contract.sha256},
        source={"uri": source.uri, "rows": rows},
        status=decide.overall(checks),
        checks=checks,
        elapsed_s=time.perf_counter() - t0,
        engine=ENGINE,
    )


def dialect_for(spark: SparkSession) -> Spark:
    """The Spark dialect this session runs: a key rule's sample keys in its struct from Spark 4.2 on."""
    try:
        major, minor = (int(p) for p in spark.version.split(".")[:2])
    except ValueError:  # a vendor's version string: take the portable spelling
        return SPARK_BEFORE_4_2
    return SPARK if (major, minor) >= (4, 2) else SPARK_BEFORE_4_2


def _fetch(spark: SparkSession, tree: exp.Expression) -> dict[str, Any]:
    rows = spark.sql(SPARK.sql(tree)).collect()
    return rows[0].asDict(recursive=True) if rows else {}


def _execute(
    spark: SparkSession,
    plan: Any,
    rules: tuple[n.Rule, ...],
    types: dict[str, str],
    contract: Contract,
    uri: str,
    samples: int,
    dialect: Spark = SPARK,
) -> tuple[dict[str, Any], dict[str, str]]:
    try:
        return _fetch(spark, plan.statement), {}
    except Exception:  # Spark's AnalysisException, a Python worker's failure, Py4J's error
        pass
    # One rule broke the fused statement (or the data cannot be read): run each rule alone.
    try:
        values = _fetch(spark, compiler.compile_plan((), types=types, dialect=dialect).statement)
    except Exception as exc:
        raise DataError(f"{uri}: Spark cannot read the data: {first_line(exc)}", uri=uri) from None
    errors: dict[str, str] = {}
    for rule in rules:
        if isinstance(rule, n.StrictSchema):
            continue
        single = compiler.compile_plan((rule,), types=types, key=contract.key_columns(), samples=samples, dialect=dialect)
        try:
            register_formats(spark, single.formats)
            got = _fetch(spark, single.statement)
        except Exception as exc:
            errors[rule.id] = first_line(exc)
            continue
        for out_single, out_plan in zip(single.outputs[rule.id], plan.outputs[rule.id]):
            values[out_plan] = got.get(out_single)
    return values, errors


def _with_samples(spark: SparkSession, plan: Any, results: list[CheckResult]) -> tuple[CheckResult, ...]:
    """Attach failing-row samples to the rules that failed or warned: each rule's own
    ``SELECT shown FROM data WHERE fails LIMIT k`` (compilers/duckdb ``_sample_query``),
    collected on a few driver threads at once.

    A ``LIMIT`` that Spark collects scans incrementally (``executeTake``: one partition,
    then four times more, ...), so a rule failing often enough is answered from the first
    partition's first batch, and each query reads only its rule's columns. One aggregate
    scan keeping k failing rows of every rule (``max_by(row, 0, k) FILTER (WHERE fails)``,
    session 6) read the whole data a second time, slower than the counting job's own
    share of the check at 10M rows (benchmarks/README.md, session 7). Like ``LIMIT`` on
    DuckDB, each rule gets ``min(k, failed)`` rows, in the order Spark reads the data.
    """
    wanted = [r for r in results if r.status in ("fail", "warn") and not r.sample and r.id in plan.samples]
    if not wanted:
        return tuple(results)
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    def fetch(rule_id: str) -> tuple[Any, ...] | None:
        query = plan.samples[rule_id]
        shown = [s.alias_or_name for s in query.expressions]
        try:
            rows = spark.sql(SPARK.sql(query)).collect()
        except Exception:  # samples are a courtesy: a failure leaves the counts as they are
            return None
        records = [row.asDict(recursive=True) for row in rows]
        return tuple(r[shown[0]] if len(shown) == 1 else {c: r[c] for c in shown} for r in records)

    with ThreadPoolExecutor(max_workers=min(SAMPLE_THREADS, len(wanted)), thread_name_prefix="dq-samples") as pool:
        found = dict(zip((r.id for r in wanted), pool.map(_inheriting(spark, fetch), [r.id for r in wanted])))
    return tuple(replace(r, sample=found[r.id]) if found.get(r.id) is not None else r for r in results)


# Sample queries in flight at once: enough to overlap each one's planning on the driver
# with another's task in the executors; each is one small job.
SAMPLE_THREADS = 4


def _inheriting(spark: SparkSession, fn: Any) -> Any:
    """``fn`` run on another thread with the caller's Spark job group, pool, description and
    tags (pyspark's ``inheritable_thread_target``), so cancelling the caller's job group
    also cancels the sample queries."""
    from pyspark import inheritable_thread_target

    return inheritable_thread_target(spark)(fn)


# --- what an ingest on Spark needs beyond the check (gate/spark_ingest.py) -----------------

duckdb_semantics = _duckdb_semantics


def content_id(df: DataFrame) -> str:
    """40 hex digits naming the rows of ``df`` whatever their order or partitioning, computed in
    the executors (one aggregate job; nothing but four numbers reaches the driver).

    A multiset hash: the row count and the sums (exact, as DECIMAL(38,0)) of three hashes of
    each row (two xxhash64 with different leading values, one murmur3), with each value's
    NULL-ness hashed beside it (Spark skips NULLs when hashing, so (NULL, 1) and (1, NULL)
    would meet); the schema is hashed too. A Spark DataFrame has no row order, so the id
    must not depend on one.

    Raises:
        DataError: a column Spark cannot hash (a map), or data Spark cannot read.
    """
    import hashlib

    from pyspark.sql import functions as F

    values: list[Any] = []
    for name in df.columns:
        c = F.col(_quoted(name))
        values += [c, F.isnull(c)]
    hashes = [F.xxhash64(*values), F.xxhash64(F.lit(1), *values), F.hash(*values)]
    sums = [F.sum(h.cast("decimal(38,0)")) for h in hashes]
    try:
        row = df.agg(F.count(F.lit(1)), *sums).collect()[0]
    except Exception as exc:
        raise DataError(f"spark DataFrame: cannot hash its rows for a batch id ({first_line(exc)}); pass batch_id=", uri="spark DataFrame") from None
    digest = hashlib.sha256(f"{df.schema.simpleString()}\n{[str(v) for v in row]}".encode())
    return digest.hexdigest()[:40]


def _quoted(name: str) -> str:
    return f"`{name.replace('`', '``')}`"


FLAG_SOURCE = "__dq_flag_source"
_RAW = "__dq_raw_{}"


def flagged(spark: SparkSession, contract: Contract, data: DataFrame, rules: tuple[n.Rule, ...]) -> tuple[DataFrame, tuple[str, ...], list[str]]:
    """``data``'s own columns and one flag column per row rule of ``rules`` (TRUE: the row fails
    it; compilers' ``row_flags``), the rule ids in flag order, and the flag columns' names.

    The flags are computed over the data as the check reads it (``coerce:``, ``nan:``), the
    columns are the data's own values: a NaN kept as NaN, a number as the batch held it, as
    the DuckDB ingest publishes a batch's exact rows.
    """
    from pyspark.sql import functions as F

    types = {f.name: duckdb_type(f.dataType) for f in data.schema.fields}
    adjust = sources.adjustments(types, contract)
    names = list(data.columns)
    changed = [i for i, name in enumerate(names) if name in adjust.casts or name in adjust.nan_null]
    view = data.select(*_adjusted(data, adjust), *[F.col(_quoted(names[i])).alias(_RAW.format(i)) for i in changed]) if changed else data
    types.update(adjust.casts)
    view.createOrReplaceTempView(FLAG_SOURCE)
    query, ids = compiler.row_flags(rules, types=types, source=FLAG_SOURCE, dialect=SPARK)
    register_formats(spark, tuple(dict.fromkeys(r.format for r in rules if isinstance(r, n.Format))))
    flags = [compiler.flag_column(k) for k in range(len(ids))]
    out = spark.sql(SPARK.sql(query))
    columns = [F.col(_quoted(_RAW.format(i) if i in changed else name)).alias(name) for i, name in enumerate(names)]
    return out.select(*columns, *[F.col(f) for f in flags]), tuple(ids), flags


def each_partition(df: DataFrame, write: Any, schema: str) -> list[dict[str, Any]]:
    """Run ``write(rows, partition_id) -> record`` in the executors on each non-empty partition
    of ``df`` (its rows as an Arrow RecordBatchReader, streamed: one partition is never
    whole in memory), and return the records (``schema``: their Spark DDL) to the driver."""
    import functools

    with warnings.catch_warnings():  # pyspark warns about pandas versions it never uses here
        warnings.simplefilter("ignore", FutureWarning)
        mapped = df.mapInArrow(functools.partial(_in_partition, write), schema)
    return [row.asDict() for row in mapped.collect()]


def _in_partition(write: Any, batches: Iterator[Any]) -> Iterator[Any]:
    import itertools

    import pyarrow as pa
    from pyspark import TaskContext

    batches = iter(batches)
    first = next((b for b in batches if b.num_rows), None)
    if first is None:  # an empty partition writes nothing
        return
    context = TaskContext.get()
    part = context.partitionId() if context is not None else 0
    record = write(pa.RecordBatchReader.from_batches(first.schema, itertools.chain([first], batches)), part)
    yield pa.RecordBatch.from_pylist([record])
