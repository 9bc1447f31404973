"""Bring any supported input into DuckDB as one view, and check its schema against the contract.

Files (Parquet, CSV, JSON), globs and hive-partitioned folders become a view over
DuckDB's reader (the data is streamed, never loaded first); Arrow tables, Polars
and pandas frames and DuckDB relations are registered as Arrow data. The view is
the only thing compiled statements read.
"""

from __future__ import annotations

import glob as globlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from dqgate.compilers import duckdb as compiler
from dqgate.errors import DataError, UsageError
from dqgate.span import did_you_mean

if TYPE_CHECKING:
    import duckdb

    from dqgate.contract.contract import Contract

_PARQUET = (".parquet", ".pq", ".parq")
_EXCEPT = "except_" if "except_" in exp.Star.arg_types else "except"  # renamed in newer sqlglot
_CSV = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")
_JSON = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")

_INTS = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"]
_UINTS = ["UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"]
ACCEPTED: dict[str, tuple[str, ...]] = {
    "int8": ("TINYINT",),
    "int16": ("TINYINT", "SMALLINT", "UTINYINT"),
    "int32": ("TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT"),
    "int64": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"),
    "uint8": ("UTINYINT",),
    "uint16": ("UTINYINT", "USMALLINT"),
    "uint32": ("UTINYINT", "USMALLINT", "UINTEGER"),
    "uint64": ("UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"),
    "integer": (*_INTS, *_UINTS),
    "float32": ("FLOAT",),
    "float64": ("FLOAT", "DOUBLE"),
    "number": (*_INTS, *_UINTS, "FLOAT", "DOUBLE", "DECIMAL"),
    "decimal": ("DECIMAL",),
    "string": ("VARCHAR", "ENUM"),
    "bool": ("BOOLEAN",),
    "date": ("DATE",),
    "timestamp": ("TIMESTAMP",),
    "time": ("TIME",),
    "binary": ("BLOB",),
}
_FAMILY = {
    "int": ("int", "uint", "integer"),
    "float": ("float", "number"),
}


@dataclass(frozen=True)
class Source:
    """Where the data came from and the DuckDB expression that reads it."""

    uri: str
    kind: str
    reader: exp.Expression | None = None
    base: exp.Expression | None = None  # what the view selects from (the reader, or the registered Arrow data)
    adjust: Adjustments | None = None  # columns read differently (coerce:, nan:), set by adjust_view
    names: dict[str, str] = field(default_factory=dict)  # data column -> DuckDB's name for it, where they differ

    @property
    def is_text(self) -> bool:
        return self.kind in ("csv", "json")


def describe(data: Any) -> str:
    """A short printable name for a data argument."""
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    return f"<{type(data).__module__.split('.')[0]}.{type(data).__name__}>"


def resolve_path(path: str, base_dir: str | None) -> str:
    """A relative path in a contract is relative to the contract's folder, else to the cwd."""
    if os.path.isabs(path) or base_dir is None:
        return path
    candidate = os.path.join(base_dir, path)
    if os.path.exists(candidate) or globlib.glob(candidate):
        return candidate
    return path


def _reader_for(path: str, declared: dict[str, str]) -> tuple[str, exp.Expression]:
    has_glob = any(ch in path for ch in "*?[")
    lower = path.lower()
    if not has_glob:
        if not os.path.exists(path):
            hint = ""
            folder = os.path.dirname(path) or "."
            if os.path.isdir(folder):
                hint = did_you_mean(os.path.basename(path), os.listdir(folder))
            raise DataError(f"{path}: data file not found.{hint}".rstrip("."), uri=path)
        if os.path.isdir(path):
            files = globlib.glob(os.path.join(path, "**", "*.parquet"), recursive=True)
            if not files:
                raise DataError(f"{path}: folder holds no .parquet files", uri=path)
            pattern = os.path.join(path, "**", "*.parquet")
            return "parquet", _call("read_parquet", pattern, hive_partitioning=True, union_by_name=True)
        if os.path.getsize(path) == 0:
            raise DataError(f"{path}: the file is empty (0 bytes)", uri=path)
    elif not globlib.glob(path, recursive=True):
        raise DataError(f"{path}: no file matches this pattern", uri=path)
    if lower.endswith(_PARQUET) or (not has_glob and not lower.endswith(_CSV + _JSON) and _is_parquet(path)):
        extra = {"hive_partitioning": True, "union_by_name": True} if has_glob else {}
        return "parquet", _call("read_parquet", path, **extra)
    if lower.endswith(_CSV):
        types = {name: _duckdb_type(t) for name, t in declared.items() if _duckdb_type(t)}
        kwargs: dict[str, Any] = {"header": True, "auto_detect": True}
        if lower.endswith((".tsv", ".tsv.gz")):
            kwargs["delim"] = "\t"
        if types:
            kwargs["types"] = types
        return "csv", _call("read_csv", path, **kwargs)
    if lower.endswith(_JSON):
        return "json", _call("read_json_auto", path)
    raise DataError(f"{path}: unknown data format (use .parquet, .csv, .tsv, .json or .jsonl)", uri=path)


def _is_parquet(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _duckdb_type(contract_type: str) -> str | None:
    return {
        "int8": "TINYINT", "int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT",
        "uint8": "UTINYINT", "uint16": "USMALLINT", "uint32": "UINTEGER", "uint64": "UBIGINT",
        "float32": "FLOAT", "float64": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN",
        "date": "DATE", "timestamp": "TIMESTAMP", "time": "TIME",
    }.get(contract_type or "")  # fmt: skip


def _value(v: Any) -> exp.Expression:
    if isinstance(v, bool):
        return exp.Boolean(this=v)
    if isinstance(v, dict):
        return exp.Struct(expressions=[exp.PropertyEQ(this=exp.Literal.string(k), expression=_value(x)) for k, x in v.items()])
    return exp.Literal.string(str(v))


def _call(func: str, path: str, **kwargs: Any) -> exp.Expression:
    args: list[exp.Expression] = [exp.Literal.string(path)]
    args += [exp.EQ(this=exp.column(k), expression=_value(v)) for k, v in kwargs.items()]
    return exp.Anonymous(this=func, expressions=args)


def register(con: duckdb.DuckDBPyConnection, data: Any, name: str, *, declared: dict[str, str] | None = None) -> Source:
    """Make ``data`` readable as view ``name`` on ``con``.

    Raises:
        DataError: a file is missing, empty, unreadable or of an unknown format.
        UsageError: ``data`` is an object dqgate cannot read.
    """
    from dqgate.runners.errors import data_error

    declared = declared or {}
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        kind, reader = _reader_for(path, declared)
        try:
            con.execute(reader_view(name, reader))
        except Exception as exc:
            raise data_error(exc, path) from None
        return Source(uri=path, kind=kind, reader=reader, base=exp.Table(this=reader))
    obj, kind = _as_arrow(data)
    held = f"{name}__input"  # the data under its own name, so the view can be redefined over it (adjust_view)
    con.register(held, duckdb_readable(obj))
    base = exp.to_table(held, quoted=True)
    con.execute(_temp_view(name, exp.select(exp.Star()).from_(base.copy())).sql("duckdb"))
    return Source(uri=describe(data), kind=kind, base=base)


def reader_view(name: str, reader: exp.Expression) -> str:
    """``CREATE OR REPLACE TEMPORARY VIEW name AS SELECT * FROM reader``."""
    return _temp_view(name, exp.select(exp.Star()).from_(exp.Table(this=reader))).sql("duckdb")


def parquet_reader(path: exp.Expression) -> exp.Expression:
    """``read_parquet(path)``, the reader of one Parquet file (``path`` an expression)."""
    return exp.Anonymous(this="read_parquet", expressions=[path])


def _temp_view(name: str, query: exp.Expression) -> exp.Expression:
    return exp.Create(
        this=exp.to_table(name, quoted=True), kind="VIEW", replace=True,
        properties=exp.Properties(expressions=[exp.TemporaryProperty()]), expression=query,
    )  # fmt: skip


def adjust_view(con: duckdb.DuckDBPyConnection, source: Source, name: str, adjust: Adjustments) -> Source:
    """View ``name`` again over the same data, reading the columns ``adjust`` names as it
    says; returns the source, which then knows it (narrowed views read the same way)."""
    from dataclasses import replace

    con.execute(adjusted_view(source, name, adjust))
    return replace(source, adjust=adjust)


def adjusted_view(source: Source, name: str, adjust: Adjustments) -> str:
    """The statement of :func:`adjust_view`."""
    assert source.base is not None
    return _temp_view(name, adjust.select_from(source.base.copy())).sql("duckdb")


def _readable_type(t: Any) -> Any:
    """An Arrow type DuckDB can scan, reading a decimal256 as its Parquet reader does (narrowed)."""
    import pyarrow as pa

    if pa.types.is_decimal256(t):
        return pa.decimal128(t.precision, t.scale) if t.precision <= 38 else pa.float64()
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        inner = _readable_type(t.value_type)
        return t if inner == t.value_type else pa.list_(inner)
    if pa.types.is_map(t):
        inner = _readable_type(t.item_type)
        return t if inner == t.item_type else pa.map_(t.key_type, inner)
    if pa.types.is_struct(t):
        fields = [f.with_type(_readable_type(f.type)) for f in t]
        return pa.struct(fields) if any(f.type != g.type for f, g in zip(fields, t)) else t
    return t


def duckdb_readable(obj: Any) -> Any:
    """``obj`` (an Arrow table) with the columns DuckDB cannot scan cast to ones it can; the check
    reads this, the snapshot keeps the original (gate/exact.py)."""
    import pyarrow as pa

    if not isinstance(obj, pa.Table):
        return obj
    schema = pa.schema([f.with_type(_readable_type(f.type)) for f in obj.schema], metadata=obj.schema.metadata)
    return obj if schema.equals(obj.schema) else obj.cast(schema)


def register_rows(con: duckdb.DuckDBPyConnection, source: Source, name: str, ranges: list[tuple[int, int]]) -> None:
    """View ``name``: the rows of one Parquet file in ``ranges`` (``[start, stop)``).

    DuckDB skips every row group outside a filter on ``file_row_number``, so a scan of
    this view reads only the row groups the ranges cover.
    """
    con.execute(rows_view(source, name, ranges))


def rows_view(source: Source, name: str, ranges: list[tuple[int, int]]) -> str:
    """The statement of :func:`register_rows`."""
    assert source.reader is not None
    reader = source.reader.copy()
    reader.append("expressions", exp.EQ(this=exp.column("file_row_number"), expression=exp.Boolean(this=True)))
    row = exp.column("file_row_number")
    within = [exp.and_(exp.GTE(this=row.copy(), expression=exp.Literal.number(a)), exp.LT(this=row.copy(), expression=exp.Literal.number(b))) for a, b in ranges]
    star = exp.Star(**{_EXCEPT: [row.copy()]}, **({"replace": source.adjust.replace()} if source.adjust else {}))
    query = exp.select(star).from_(exp.Table(this=reader)).where(exp.or_(*within) if within else exp.false())
    return _temp_view(name, query).sql("duckdb")


def _as_arrow(data: Any) -> tuple[Any, str]:
    module = type(data).__module__.split(".")[0]
    cls = type(data).__name__
    if module == "pyarrow" and cls in ("Table", "RecordBatch", "Dataset", "FileSystemDataset", "UnionDataset", "InMemoryDataset"):
        return data, "arrow"
    if module == "pyarrow" and cls == "RecordBatchReader":
        return data.read_all(), "arrow"
    if module == "polars" and cls == "DataFrame":
        return data.to_arrow(), "polars"
    if module == "polars" and cls == "LazyFrame":
        return data.collect().to_arrow(), "polars"
    if module == "pandas" and cls == "DataFrame":
        return data, "pandas"
    if module == "duckdb" and "Relation" in cls:
        return data.to_arrow_table(), "duckdb"
    raise UsageError(f"cannot check a {module}.{cls}; pass a file path, an Arrow table, a Polars or pandas DataFrame or a DuckDB relation")


def check_schema(actual: dict[str, str], contract: Contract, source: Source) -> None:
    """Every declared column exists with a type that does not contradict the contract.

    Raises:
        DataError: naming the first missing or contradicting column and where it is declared.
    """
    for name, spec in contract.columns.items():
        where = contract.doc.span(("schema", "columns", name))
        found = actual.get(name)  # exactly: a column 'Alcohol' is not the contract's 'alcohol'
        if found is None:
            from dqgate.runners.errors import csv_shape_problem

            ragged = csv_shape_problem(source.uri) if source.kind == "csv" else None
            if ragged:  # the sniffer guessed another dialect; the real problem is the file's shape
                raise DataError(f"{source.uri}: malformed CSV: {ragged}", uri=source.uri)
            hint = did_you_mean(name, actual)
            msg = f"{source.uri}: column '{name}' (declared at {where}) is not in the data.{hint}".rstrip(".")
            raise DataError(msg, uri=source.uri, column=name)
        if spec.type and not type_matches(spec.type, found, lenient=source.is_text):
            if coerces(contract, name) and _coercible(spec.type, found):
                continue  # read as the declared type (see adjustments)
            uri, found = _file_with_type(source, name, spec.type) or (source.uri, found)
            msg = f"{uri}: column '{name}' is {found} in the data, but the contract ({where}) says {spec.type}"
            raise DataError(msg, uri=uri, column=name)


def _file_with_type(source: Source, column: str, declared: str) -> tuple[str, str] | None:
    """(file, its type) of the first Parquet file of a folder or glob whose ``column``
    contradicts ``declared``: the folder's unified type names no file to fix. Only
    called once the schema check has failed; reads footers only."""
    if source.kind != "parquet" or not (os.path.isdir(source.uri) or any(ch in source.uri for ch in "*?[")):
        return None
    import duckdb

    pattern = os.path.join(source.uri, "**", "*.parquet") if os.path.isdir(source.uri) else source.uri
    con = duckdb.connect(":memory:")
    try:
        for path in sorted(globlib.glob(pattern, recursive=True)):
            query = exp.select(exp.Star()).from_(exp.Table(this=_call("read_parquet", path))).limit(0)
            types = {row[0].lower(): row[1] for row in con.execute(exp.Describe(this=query).sql("duckdb")).fetchall()}
            found = types.get(column.lower())
            if found is not None and not type_matches(declared, found):
                return path, found
    except duckdb.Error:
        return None
    finally:
        con.close()
    return None


def type_matches(declared: str, actual: str, *, lenient: bool = False) -> bool:
    """Whether data of DuckDB type ``actual`` can be what the contract calls ``declared``."""
    base = actual.upper().split("(")[0].strip()
    if base.startswith("TIMESTAMP"):
        base = "TIMESTAMP"
    if lenient:
        fam = "int" if base in _INTS + _UINTS else "float" if base in ("FLOAT", "DOUBLE", "DECIMAL") else None
        decl_fam = next((f for f, prefixes in _FAMILY.items() if declared.startswith(prefixes)), None)
        if fam is not None and decl_fam is not None:
            return fam == decl_fam or decl_fam == "float"
    return base in ACCEPTED.get(declared, ())


def source_names(con: duckdb.DuckDBPyConnection, data: Any, source: Source) -> list[str] | None:
    """The column names as the source spells them (DuckDB renames a repeated or case-repeated name)."""
    if not isinstance(data, (str, os.PathLike)):
        obj, _ = _as_arrow(data)
        names = getattr(getattr(obj, "schema", None), "names", None)
        if names is None and hasattr(obj, "columns"):
            names = [str(c) for c in obj.columns]
        return list(names) if names is not None else None
    path = os.fspath(data)
    if source.kind == "parquet" and not os.path.isdir(path) and not any(ch in path for ch in "*?["):
        return _parquet_top_names(con, path)
    if source.kind == "csv" and not path.lower().endswith(".gz") and os.path.isfile(path):
        import csv

        try:
            with open(path, newline="", encoding="utf-8", errors="replace") as fh:
                dialect = csv.excel_tab if path.lower().endswith(".tsv") else csv.excel
                return next(csv.reader(fh, dialect), None)
        except (OSError, csv.Error):
            return None
    return None


def check_names(names: list[str] | None, source: Source) -> None:
    """Refuse repeated column names (a table cannot say which of two ``x`` a rule means).

    Raises:
        DataError: one line naming the column.
    """
    if names is None:
        return
    seen: set[str] = set()
    for name in names:
        if name in seen:
            msg = f"{source.uri}: column '{name}' appears {names.count(name)} times; column names must be unique"
            raise DataError(msg, uri=source.uri, column=name)
        seen.add(name)


def engine_names(names: list[str] | None, duck_names: list[str]) -> dict[str, str]:
    """Data column -> the name DuckDB gave it, for the columns it renamed.

    DuckDB's identifiers ignore case, quoted or not, so it renames the second of two
    columns that differ only in case ("a", "A" become "a", "A_1"). Its names come in the
    data's order, so the two lists are matched by position: every data column keeps its
    exact name in rules and results, and compiled SQL spells it as DuckDB does
    (:func:`dqgate.compilers.duckdb.data_names`). Empty when the data's own names are
    unknown (globs, folders: DuckDB's names are all there is).
    """
    if names is None or len(names) != len(duck_names):
        return {}
    return {name: duck for name, duck in zip(names, duck_names) if name != duck}


def _parquet_top_names(con: duckdb.DuckDBPyConnection, path: str) -> list[str] | None:
    """The top-level column names in a Parquet footer, read by DuckDB (no pyarrow import).

    ``parquet_schema`` lists the schema tree depth first with each element's child
    count; the root's children are the columns.
    """
    query = exp.select("name", "num_children").from_(exp.Table(this=exp.Anonymous(this="parquet_schema", expressions=[exp.Literal.string(path)])))
    try:
        rows = con.execute(query.sql("duckdb")).fetchall()
    except Exception:  # unreadable footers are reported by the check itself
        return None
    if not rows:
        return None
    names: list[str] = []
    pending = [int(rows[0][1] or 0)]  # children still to visit, per open level
    for name, children in rows[1:]:
        while pending and pending[-1] == 0:
            pending.pop()
        if not pending:
            break
        pending[-1] -= 1
        if len(pending) == 1:
            names.append(name)
        if children:
            pending.append(int(children))
    return names


_NUMBER_TYPES = (*_INTS, *_UINTS, "FLOAT", "DOUBLE", "DECIMAL")
FLOAT_TYPES = ("FLOAT", "DOUBLE")


def coerces(contract: Contract, column: str) -> bool:
    """Whether ``column`` is read as its declared type when the data has another number type."""
    spec = contract.columns[column]
    own = getattr(spec, "coerce", None)
    return bool(contract.model.schema_.coerce if own is None else own)


def _coercible(declared: str, actual: str) -> bool:
    return _duckdb_type(declared) in _NUMBER_TYPES and actual.upper().split("(")[0].strip() in _NUMBER_TYPES


@dataclass(frozen=True)
class Adjustments:
    """How columns are read before any rule sees them (the contract's ``coerce:`` and ``nan:``).

    ``casts``: column -> the DuckDB type it is read as (a number another type of number
    holds; a value the new type cannot hold exactly, such as 1.5 as int64, reads as NULL,
    so ``required`` catches it). ``nan_null``: float columns whose NaN reads as NULL
    (``nan: missing``, the default: NaN is a missing value, as in pandas).
    """

    casts: dict[str, str]
    nan_null: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.casts or self.nan_null)

    @property
    def columns(self) -> frozenset[str]:
        return frozenset({*self.casts, *self.nan_null})

    def replace(self) -> list[exp.Expression]:
        """``* REPLACE (...)`` items reading each adjusted column."""
        items: list[exp.Expression] = []
        for name, target in self.casts.items():
            col = compiler.col(name)
            cast = exp.TryCast(this=col.copy(), to=exp.DataType.build(target, dialect="duckdb"))
            exact = exp.EQ(this=cast.copy(), expression=col.copy())
            items.append(exp.alias_(exp.Case(ifs=[exp.If(this=exact, true=cast)]), compiler.engine_name(name), quoted=True))
        for name in self.nan_null:
            col = compiler.col(name)
            # isnan(NULLIF(x, 0.5)), not isnan(x): DuckDB 2.0 folds isnan(x) to false from a
            # Parquet footer's min/max, which leave NaN out (pyarrow writes no NaN count); it
            # cannot see through NULLIF. x = 0.5 gives NULL there, and the CASE keeps x.
            shield = exp.Nullif(this=col.copy(), expression=exp.Literal.number("0.5"))
            nan = exp.Anonymous(this="isnan", expressions=[shield])
            items.append(exp.alias_(exp.Case(ifs=[exp.If(this=nan, true=exp.null())], default=col.copy()), compiler.engine_name(name), quoted=True))
        return items

    def select_from(self, source: exp.Expression) -> exp.Select:
        """``SELECT * REPLACE (...) FROM source``."""
        return exp.select(exp.Star(replace=self.replace())).from_(source)


def adjustments(actual: dict[str, str], contract: Contract) -> Adjustments:
    """The columns to read differently from how the data stores them (see :class:`Adjustments`)."""
    casts: dict[str, str] = {}
    for name, spec in contract.columns.items():
        found_name = name if name in actual else None  # names match exactly, case included
        if found_name is None or not spec.type or not coerces(contract, name):
            continue
        found, target = actual[found_name], _duckdb_type(spec.type)
        if target and not type_matches(spec.type, found) and _coercible(spec.type, found):
            casts[found_name] = target
    nan_null: tuple[str, ...] = ()
    if contract.model.nan == "missing":
        nan_null = tuple(c for c, t in actual.items() if t.upper() in FLOAT_TYPES and c not in casts)
    return Adjustments(casts, nan_null)
