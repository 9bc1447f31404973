"""Bring any supported input into DuckDB as one view, and check its schema against the contract.

Files (Parquet, CSV, JSON), globs and hive-partitioned folders become a view over
DuckDB's reader (the data is streamed, never loaded first); Arrow tables, Polars
and pandas frames and DuckDB relations are registered as Arrow data. The view is
the only thing compiled statements read.
"""

from __future__ import annotations

import glob as globlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

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
        view = exp.Create(
            this=exp.to_table(name, quoted=True),
            kind="VIEW",
            replace=True,
            properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
            expression=exp.select(exp.Star()).from_(exp.Table(this=reader)),
        )
        try:
            con.execute(view.sql("duckdb"))
        except Exception as exc:
            raise data_error(exc, path) from None
        return Source(uri=path, kind=kind, reader=reader)
    obj, kind = _as_arrow(data)
    con.register(name, obj)
    return Source(uri=describe(data), kind=kind)


def register_rows(con: duckdb.DuckDBPyConnection, source: Source, name: str, ranges: list[tuple[int, int]]) -> None:
    """View ``name``: the rows of one Parquet file in ``ranges`` (``[start, stop)``).

    DuckDB skips every row group outside a filter on ``file_row_number``, so a scan of
    this view reads only the row groups the ranges cover.
    """
    assert source.reader is not None
    reader = source.reader.copy()
    reader.append("expressions", exp.EQ(this=exp.column("file_row_number"), expression=exp.Boolean(this=True)))
    row = exp.column("file_row_number")
    within = [exp.and_(exp.GTE(this=row.copy(), expression=exp.Literal.number(a)), exp.LT(this=row.copy(), expression=exp.Literal.number(b))) for a, b in ranges]
    query = exp.select(exp.Star(**{_EXCEPT: [row.copy()]})).from_(exp.Table(this=reader)).where(exp.or_(*within) if within else exp.false())
    view = exp.Create(
        this=exp.to_table(name, quoted=True), kind="VIEW", replace=True,
        properties=exp.Properties(expressions=[exp.TemporaryProperty()]), expression=query,
    )  # fmt: skip
    con.execute(view.sql("duckdb"))


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
    lowered = {k.lower(): k for k in actual}
    for name, spec in contract.columns.items():
        where = contract.doc.span(("schema", "columns", name))
        found = actual.get(name) or (actual.get(lowered[name.lower()]) if name.lower() in lowered else None)
        if found is None:
            from dqgate.runners.errors import csv_shape_problem

            ragged = csv_shape_problem(source.uri) if source.kind == "csv" else None
            if ragged:  # the sniffer guessed another dialect; the real problem is the file's shape
                raise DataError(f"{source.uri}: malformed CSV: {ragged}", uri=source.uri)
            hint = did_you_mean(name, actual)
            msg = f"{source.uri}: column '{name}' (declared at {where}) is not in the data.{hint}".rstrip(".")
            raise DataError(msg, uri=source.uri, column=name)
        if spec.type and not type_matches(spec.type, found, lenient=source.is_text):
            msg = f"{source.uri}: column '{name}' is {found} in the data, but the contract ({where}) says {spec.type}"
            raise DataError(msg, uri=source.uri, column=name)


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
