"""Run a contract inside PostgreSQL: the fused statement executes in the server, and only
its one result row and the samples of failing rules leave it.

The data is a table named by a URL, ``postgresql://host:port/db?table=schema.name``
(a contract's ``source:`` or ``--data``). Credentials come from libpq's environment
(``PGPASSWORD``, ``PGSERVICE``...), a password file or a service file, never from the
contract (``dq lint`` refuses a password in a URL). The session is read-only.

The table's column types are read from the catalogue and named as DuckDB names them,
so the schema check (runners/sources.py) and result building (runners/assemble.py)
are the DuckDB runner's. If the fused statement fails because of one rule, each rule is
run alone so only the guilty rule reports ``error``, as on DuckDB.
"""

from __future__ import annotations

import datetime as dt
import decimal
import time
import urllib.parse
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from dqgate.compilers.duckdb import compile_plan
from dqgate.compilers.duckdb.common import CompiledPlan
from dqgate.compilers.postgres import POSTGRES
from dqgate.errors import DataError, UsageError
from dqgate.ir import instants
from dqgate.ir import nodes as n
from dqgate.runners import assemble_ml, decide, sources
from dqgate.runners.assemble import errored, result, strict
from dqgate.runners.errors import first_line
from dqgate.runners.results import CheckResult, Progress, RunResult

if TYPE_CHECKING:
    import psycopg

    from dqgate.contract.contract import Contract

SCHEMES = ("postgresql://", "postgres://")

# PostgreSQL's type names (format_type) -> DuckDB's, which the schema check speaks.
_TYPES = {
    "smallint": "SMALLINT", "integer": "INTEGER", "bigint": "BIGINT", "real": "FLOAT", "double precision": "DOUBLE",
    "numeric": "DECIMAL", "text": "VARCHAR", "character varying": "VARCHAR", "character": "VARCHAR", "name": "VARCHAR",
    "boolean": "BOOLEAN", "date": "DATE", "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMP WITH TIME ZONE", "time without time zone": "TIME", "bytea": "BLOB",
    "uuid": "UUID", "json": "JSON", "jsonb": "JSON", "interval": "INTERVAL",
}  # fmt: skip


def is_url(data: Any) -> bool:
    return isinstance(data, str) and data.startswith(SCHEMES)


@dataclass(frozen=True)
class Table:
    """A table of a PostgreSQL server: where to connect, and which table."""

    conninfo: str  # the URL without its ``table`` parameter (libpq reads the rest)
    schema: str | None
    name: str
    shown: str  # the URL as results show it (never with a password)

    @property
    def ref(self) -> exp.Table:
        db = exp.to_identifier(self.schema, quoted=True) if self.schema else None
        return exp.Table(this=exp.to_identifier(self.name, quoted=True), db=db)


def parse_url(url: str) -> Table:
    """``postgresql://host/db?table=schema.name`` -> :class:`Table` (UsageError when no table).

    ``schema.name`` splits at the first dot; a name with a dot is written ``"my.table"``.
    """
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    tables = [v for k, v in query if k == "table"]
    if not tables or not tables[0]:
        raise UsageError(f"{_shown(url)}: name the table to check: add ?table=schema.name", param="data")
    rest = urllib.parse.urlencode([(k, v) for k, v in query if k != "table"])
    conninfo = urllib.parse.urlunsplit(parts._replace(query=rest))
    schema, name = _split_name(tables[0])
    return Table(conninfo, schema, name, _shown(url))


def _split_name(text: str) -> tuple[str | None, str]:
    if text.startswith('"') and text.endswith('"') and text.count('"') == 2:
        return None, text[1:-1]
    schema, dot, name = text.partition(".")
    return (schema, name) if dot else (None, schema)


def password_in(url: str) -> bool:
    """Whether a postgresql:// URL carries a password (``user:secret@`` or ``?password=``)."""
    parts = urllib.parse.urlsplit(url)
    return parts.password is not None or any(k == "password" for k, _ in urllib.parse.parse_qsl(parts.query))


def _shown(url: str) -> str:
    """The URL without any password."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    if len(netloc) == 2 and ":" in netloc[0]:
        netloc[0] = netloc[0].split(":", 1)[0] + ":***"
    query = [(k, "***" if k == "password" else v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)]
    return urllib.parse.urlunsplit(parts._replace(netloc="@".join(netloc), query=urllib.parse.urlencode(query, safe=".\"*")))


def connect(table: Table) -> psycopg.Connection[Any]:
    """A read-only autocommit session (one statement cannot abort the next), or a DataError."""
    try:
        import psycopg
    except ImportError:
        raise UsageError("checking a PostgreSQL table needs psycopg: pip install 'dqgate[postgres]'", param="data") from None
    try:
        con = psycopg.connect(table.conninfo, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise DataError(f"{table.shown}: cannot connect to PostgreSQL: {first_line(exc)}", uri=table.shown) from None
    con.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")  # every statement of the session
    return con


_COLUMNS = (
    "SELECT a.attname, format_type(a.atttypid, NULL), format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
    "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
)  # the catalogue, with the table's name as a bound parameter (sqlglot has no pg_attribute to build)


def _columns(con: psycopg.Connection[Any], table: Table) -> list[tuple[str, str, str]]:
    """(name, type, type with modifiers) of every column, or a DataError naming the table."""
    import psycopg

    relation = table.ref.sql("postgres")
    try:
        found = con.execute("SELECT to_regclass(%s) IS NOT NULL", (relation,)).fetchone()
        if not found or not found[0]:
            raise DataError(f"{table.shown}: table {relation} does not exist (or is not visible to this user)", uri=table.shown)
        return con.execute(_COLUMNS, (relation,)).fetchall()
    except psycopg.Error as exc:
        raise DataError(f"{table.shown}: cannot read the table's columns: {first_line(exc)}", uri=table.shown) from None


def column_types(con: psycopg.Connection[Any], table: Table) -> dict[str, str]:
    """The table's columns and their types, named as DuckDB names them (others upper-cased)."""
    out = {}
    for name, base, full in _columns(con, table):
        duck = _TYPES.get(base)
        if duck == "DECIMAL" and "(" in full:
            duck = "DECIMAL" + full[full.index("(") :]
        out[name] = duck or full.upper()
    return out


# PostgreSQL's type names (format_type) -> Arrow types, for reading a table out (dq ingest).
def _arrow_type(base: str, full: str) -> Any:
    import pyarrow as pa

    simple = {
        "smallint": pa.int16(), "integer": pa.int32(), "bigint": pa.int64(), "real": pa.float32(),
        "double precision": pa.float64(), "text": pa.string(), "character varying": pa.string(), "character": pa.string(),
        "boolean": pa.bool_(), "date": pa.date32(), "timestamp without time zone": pa.timestamp("us"),
        "timestamp with time zone": pa.timestamp("us", tz="UTC"), "bytea": pa.binary(), "uuid": pa.string(),
    }  # fmt: skip
    if base in simple:
        return simple[base]
    if base == "numeric" and "(" in full:
        precision, _, scale = full[full.index("(") + 1 : -1].partition(",")
        return pa.decimal128(int(precision), int(scale or 0))
    return None


def read_arrow(url: str, *, batch_rows: int = 100_000) -> Any:
    """The whole table as one Arrow table, read in one consistent snapshot (one statement
    through a server-side cursor, binary rows), so what ``dq ingest`` checks and publishes
    is one state of the table. A column with no exact Arrow type is a DataError naming it."""
    import psycopg
    import pyarrow as pa

    table = parse_url(url)
    con = connect(table)
    try:
        schema = []
        for name, base, full in _columns(con, table):
            typ = _arrow_type(base, full)
            if typ is None:
                raise DataError(f"{table.shown}: column '{name}' is PostgreSQL type {full}, which a snapshot cannot hold exactly", uri=table.shown, column=name)
            schema.append(pa.field(name, typ))
        con.autocommit = False  # a named (server-side) cursor lives in a transaction
        query = exp.select(*[exp.column(f.name, quoted=True) for f in schema]).from_(table.ref).sql("postgres")
        batches = []
        with con.cursor(name="dq_read", binary=True) as cur:
            cur.execute(query.encode())
            while chunk := cur.fetchmany(batch_rows):
                columns = list(zip(*chunk))
                batches.append(pa.record_batch([pa.array(c, type=f.type) for c, f in zip(columns, schema)], schema=pa.schema(schema)))
        return pa.Table.from_batches(batches, schema=pa.schema(schema))
    except psycopg.Error as exc:
        raise DataError(f"{table.shown}: cannot read the table: {first_line(exc)}", uri=table.shown) from None
    finally:
        con.close()


def _checkable(rules: tuple[n.Rule, ...], types: dict[str, str], table: Table) -> None:
    """Every column a rule reads has a type the engine can check (not an array, a point...);
    ``required`` can check any column (IS NULL means the same for every type)."""
    known = set(_TYPES.values()) | {t for t in types.values() if t.startswith("DECIMAL")}
    for rule in rules:
        if isinstance(rule, n.NotNull):
            continue
        for column in rule.columns:
            typ = types.get(column)
            if typ is not None and typ not in known:
                raise DataError(
                    f"{table.shown}: column '{column}' is PostgreSQL type {typ.lower()}, which rule '{rule.id}' cannot check",
                    uri=table.shown, column=column,
                )  # fmt: skip


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
    """Check the PostgreSQL table ``data`` (a URL) against ``rules`` in one statement."""
    t0 = time.perf_counter()
    rules = instants.resolve(rules, as_of or dt.datetime.now(dt.timezone.utc))
    table = parse_url(data)
    plan_rules = tuple(r for r in rules if not isinstance(r, n.HISTORY_RULES))
    con = connect(table)
    try:
        types = column_types(con, table)
        source = sources.Source(uri=table.shown, kind="postgres")
        sources.check_schema(types, contract, source)
        _checkable(plan_rules, types, table)
        key = contract.key_columns()
        plan = compile_plan(plan_rules, types=types, key=key, samples=samples, source=table.ref, dialect=POSTGRES)  # type: ignore[arg-type]
        values, errors = _execute(con, plan, plan_rules, types, key, samples, table)
        _typed_json(plan, plan_rules, values, types)
        rows = int(values.get("__rows", 0) or 0)
        if rows == 0 and not allow_empty and not errors:
            raise DataError(f"{table.shown}: the table has 0 rows; nothing to check (use --allow-empty to check it anyway)", uri=table.shown)
        now = as_of or dt.datetime.now(dt.timezone.utc)
        results = []
        for rule in rules:
            if rule.id in errors:
                results.append(errored(rule, errors[rule.id], contract))
            elif isinstance(rule, n.StrictSchema):
                results.append(strict(rule, types))
            elif isinstance(rule, n.HISTORY_RULES):
                continue
            elif isinstance(rule, assemble_ml.ML_RULES):
                results += assemble_ml.results(rule, plan.outputs[rule.id], values)
            else:
                results.append(result(rule, plan, values, now))
        results = [_with_sample(con, plan, r) for r in results]
    finally:
        con.close()
    checks = tuple(results)
    return RunResult(
        contract={"dataset": contract.dataset, "version": contract.version, "sha256": contract.sha256},
        source={"uri": table.shown, "rows": rows},
        status=decide.overall(checks),
        checks=checks,
        elapsed_s=time.perf_counter() - t0,
        engine="postgres",
    )


def _execute(
    con: psycopg.Connection[Any], plan: CompiledPlan, rules: tuple[n.Rule, ...], types: dict[str, str],
    key: tuple[str, ...], samples: int, table: Table,
) -> tuple[dict[str, Any], dict[str, str]]:  # fmt: skip
    """The fused statement's row; when it fails, each rule alone (its error is the rule's)."""
    import psycopg

    try:
        return _fetch(con, plan.sql), {}
    except psycopg.OperationalError as exc:  # the server went away: nothing was checked
        raise DataError(f"{table.shown}: {first_line(exc)}", uri=table.shown) from None
    except psycopg.Error:
        pass
    base = compile_plan((), types=types, source=table.ref, dialect=POSTGRES)  # type: ignore[arg-type]
    try:
        values = _fetch(con, base.sql)
    except psycopg.Error as exc:
        raise DataError(f"{table.shown}: cannot read the table: {first_line(exc)}", uri=table.shown) from None
    errors: dict[str, str] = {}
    for rule in rules:
        if isinstance(rule, n.StrictSchema):
            continue
        single = compile_plan((rule,), types=types, key=key, samples=samples, source=table.ref, dialect=POSTGRES)  # type: ignore[arg-type]
        try:
            got = _fetch(con, single.sql)
        except psycopg.Error as exc:
            errors[rule.id] = first_line(exc)
            continue
        for out_single, out_plan in zip(single.outputs[rule.id], plan.outputs[rule.id]):
            values[out_plan] = got[out_single]
    return values, errors


def _typed_json(plan: CompiledPlan, rules: tuple[n.Rule, ...], values: dict[str, Any], types: dict[str, str]) -> None:
    """Samples of repeated keys and the groups of ``by:`` metrics come back as JSON
    (``json_agg``): dates, timestamps and non-finite floats as text, whole floats as
    integers. Read them back as the column's type, as DuckDB gives them."""
    for rule in rules:
        outs = plan.outputs.get(rule.id, ())
        if isinstance(rule, n.Unique) and len(outs) >= 3 and values.get(outs[2]):
            values[outs[2]] = [{c: _from_json(v, types.get(c, "")) for c, v in record.items()} for record in values[outs[2]]]
        elif isinstance(rule, n.SlicedMetric) and values.get(outs[0]):  # group keys g0, g1... of the by: columns
            by = {f"g{j}": types.get(c, "") for j, c in enumerate(rule.by)}
            values[outs[0]] = [{k: _from_json(v, by.get(k, "")) for k, v in record.items()} for record in values[outs[0]]]


def _from_json(value: Any, typ: str) -> Any:
    if typ in ("DOUBLE", "FLOAT") and isinstance(value, int):
        return float(value)  # JSON writes 1.0 as 1
    if not isinstance(value, str):
        return value
    if typ == "DATE":
        return dt.date.fromisoformat(value)
    if typ.startswith("TIMESTAMP"):
        return dt.datetime.fromisoformat(value)
    if typ in ("DOUBLE", "FLOAT"):
        return float(value.replace("Infinity", "inf"))
    if typ.startswith("DECIMAL"):
        return _plain(decimal.Decimal(value))
    return value


def _plain(value: Any) -> Any:
    """PostgreSQL's numeric (sum of integers, numeric columns) as the int or float DuckDB gives."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and value.is_finite() else float(value)
    return value


def _fetch(con: psycopg.Connection[Any], sql: str) -> dict[str, Any]:
    cur = con.execute(sql.encode())  # built by sqlglot; bytes: psycopg takes it as is, '%' included
    names = [d.name for d in cur.description or []]
    row = cur.fetchone()
    return {k: _plain(v) for k, v in zip(names, row or ())}


def _with_sample(con: psycopg.Connection[Any], plan: CompiledPlan, res: CheckResult) -> CheckResult:
    """Failing-row samples, queried only for rules that failed and have none yet."""
    import psycopg

    if res.status not in ("fail", "warn") or res.sample or res.id not in plan.samples:
        return res
    try:
        cur = con.execute(plan.sample_sql(res.id).encode())
        rows = cur.fetchall()
        names = [d.name for d in cur.description or []]
    except psycopg.Error:
        return res
    return replace(res, sample=tuple(r[0] if len(names) == 1 else dict(zip(names, r)) for r in rows))
