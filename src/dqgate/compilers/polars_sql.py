"""A contract's SQL fragments (canonical DuckDB SQL) as Polars expressions, or a clear refusal.

Row-level SQL (``expect``, ``where``) goes through :func:`polars.sql_expr` after two
passes over the sqlglot tree: an allow-list of constructs whose meaning is the same
in both engines (anything else raises :class:`Unsupported` with the reason, never an
approximation), and rewrites where the spelling differs (regex operators and RE2
classes, string literals compared with typed columns, ``count_if``). Aggregates are
not handed to Polars SQL: each becomes an expression built here with DuckDB's NULL
and NaN semantics (``sum`` of nothing is NULL, ``max`` sees NaN as largest), and the
scalar arithmetic around them is evaluated afterwards on the one-row result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import polars as pl
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB

from dqgate.contract.sql import parse_expression

_ROW_OPS: tuple[type[exp.Expression], ...] = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren, exp.DataType, exp.Var,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ,
    exp.And, exp.Or, exp.Not, exp.Is, exp.In, exp.Between, exp.Like, exp.ILike, exp.RegexpLike,
    exp.RegexpFullMatch, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg, exp.DPipe,
    exp.Abs, exp.Ceil, exp.Floor, exp.Sqrt, exp.Coalesce, exp.Nullif, exp.Greatest, exp.Least,
    exp.Length, exp.StartsWith, exp.If, exp.Case, exp.Cast, exp.Extract,
)  # fmt: skip
_WHY = {
    exp.Subquery: "subqueries (over references) run on DuckDB only",
    exp.Select: "subqueries (over references) run on DuckDB only",
    exp.Window: "window functions run on DuckDB only",
    exp.Lower: "lower() differs on some Unicode letters (DuckDB: 'İ' -> 'i')",
    exp.Upper: "upper() differs on some Unicode letters (DuckDB: 'ß' -> 'ẞ')",
    exp.Round: "round() rounds halves differently (DuckDB: away from zero)",
    exp.Ln: "ln() of 0 is an error in DuckDB",
}
_AGGS = (exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Stddev, exp.StddevSamp, exp.Variance,
         exp.Median, exp.PercentileCont, exp.Quantile, exp.CountIf)  # fmt: skip
_TEMPORAL = {pl.Date: "DATE", pl.Datetime: "TIMESTAMP", pl.Time: "TIME"}
_NUMERIC_SQL = {pl.Float32: "DOUBLE", pl.Float64: "DOUBLE", pl.Decimal: "DOUBLE"}
_RE2_CLASSES = {  # RE2's Perl classes are ASCII-only; Rust's are Unicode-aware
    "d": ("[0-9]", "0-9"), "D": ("[^0-9]", "[^0-9]"),
    "w": ("[0-9A-Za-z_]", "0-9A-Za-z_"), "W": ("[^0-9A-Za-z_]", "[^0-9A-Za-z_]"),
    "s": ("[\\t\\n\\f\\r ]", "\\t\\n\\f\\r "), "S": ("[^\\t\\n\\f\\r ]", "[^\\t\\n\\f\\r ]"),
    "b": ("(?-u:\\b)", None), "B": ("(?-u:\\B)", None),
}  # fmt: skip


class Unsupported(ValueError):
    """Polars cannot evaluate this fragment with DuckDB's meaning; the message says why."""


def rust_regex(pattern: str, *, full: bool) -> str:
    """An RE2 pattern as a Rust-regex pattern with the same matches.

    ASCII-only Perl classes, ``\\Q...\\E`` quoting, a literal ``[`` inside a class and a
    ``{`` that starts no repetition are spelled the way Rust reads them; ``full``
    anchors the pattern to the whole value.
    """
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        nxt = pattern[i + 1] if i + 1 < len(pattern) else ""
        if ch == "\\" and nxt == "Q":
            end = pattern.find("\\E", i + 2)
            end = len(pattern) if end < 0 else end
            out.append("".join("\\" + c if not c.isalnum() and c.isascii() and c != " " else c for c in pattern[i + 2 : end]))
            i = end + 2
            continue
        if ch == "\\" and nxt in "xpP" and pattern[i + 2 : i + 3] == "{":  # \x{e9}, \p{Greek}: copied whole
            end = pattern.find("}", i + 3)
            end = len(pattern) - 1 if end < 0 else end
            out.append(pattern[i : end + 1])
            i = end + 1
            continue
        if ch == "\\" and nxt:
            spelled = _RE2_CLASSES.get(nxt)
            if spelled is not None and (not in_class or spelled[1] is not None):
                out.append(spelled[1] if in_class else spelled[0])
            else:
                out.append(ch + nxt)
            i += 2
            continue
        if in_class:
            if ch == "]" and not _class_opens_here(out):
                in_class = False
            elif ch == "[" and nxt != ":":
                ch = "\\["
            elif ch == "[":  # [:alpha:] stays as it is
                close = pattern.find(":]", i + 2)
                if close > 0:
                    out.append(pattern[i : close + 2])
                    i = close + 2
                    continue
            elif ch in "&~" and nxt == ch:  # Rust class set operators; literal in RE2
                ch = "\\" + ch
        elif ch == "[":
            in_class = True
            out.append("[")
            i += 1
            if pattern[i : i + 1] == "^":
                out.append("^")
                i += 1
            if pattern[i : i + 1] == "]":
                out.append("\\]")
                i += 1
            out.append("\0")  # marks "class just opened" for the ']' test; removed below
            continue
        elif ch == "{" and not _repetition_at(pattern, i):
            ch = "\\{"
        out.append(ch)
        i += 1
    body = "".join(out).replace("\0", "")
    return f"^(?:{body})$" if full else body


def _class_opens_here(out: list[str]) -> bool:
    return bool(out) and out[-1] == "\0"


def _repetition_at(pattern: str, i: int) -> bool:
    j = i + 1
    digits = 0
    while j < len(pattern) and pattern[j].isdigit():
        j, digits = j + 1, digits + 1
    if digits and j < len(pattern) and pattern[j] == ",":
        j += 1
        while j < len(pattern) and pattern[j].isdigit():
            j += 1
    return digits > 0 and j < len(pattern) and pattern[j] == "}"


def _regex_sql(gen: Any, node: exp.Expression, *, full: bool) -> str:
    pattern = node.expression
    if not isinstance(pattern, exp.Literal) or not pattern.is_string:
        raise Unsupported("a regular expression must be a string literal")
    rust = exp.Literal.string(rust_regex(pattern.this, full=full))
    return f"{gen.sql(node, 'this')} ~ {gen.sql(rust)}"


class _PolarsSQL(DuckDB):
    """DuckDB's SQL, spelled the way Polars' SQL front end reads it."""

    class Generator(DuckDB.Generator):
        TRANSFORMS = {
            **DuckDB.Generator.TRANSFORMS,
            exp.RegexpLike: lambda self, e: _regex_sql(self, e, full=False),
            exp.RegexpFullMatch: lambda self, e: _regex_sql(self, e, full=True),
        }


def row_expr(sql: str, schema: pl.Schema) -> pl.Expr:
    """A vetted row-level fragment as a Polars expression (NULL stays NULL).

    Raises:
        Unsupported: the fragment uses something Polars does not evaluate like DuckDB.
    """
    tree = _prepare(parse_expression(sql), schema)
    return _to_polars(tree)


def _prepare(tree: exp.Expression, schema: pl.Schema) -> exp.Expression:
    for node in tree.walk():
        if isinstance(node, _ROW_OPS) or isinstance(node, exp.Star):
            if isinstance(node, exp.Cast):
                _check_cast(node, schema)
            if isinstance(node, exp.Column) and node.name not in schema:
                raise Unsupported(f"column '{node.name}' is not in the data")
            continue
        why = next((w for k, w in _WHY.items() if isinstance(node, k)), None)
        raise Unsupported(why or f"{_name(node)} is not supported by the Polars engine")
    return tree.transform(lambda node: _typed_literals(node, schema))


def _name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return f"function {str(node.name).lower()}()"
    if isinstance(node, exp.Func):
        return f"function {node.sql_name().lower()}()"
    return f"'{type(node).__name__}'"


def _dtype(node: exp.Expression, schema: pl.Schema) -> pl.DataType | None:
    return schema.get(node.name) if isinstance(node, exp.Column) else None


def _check_cast(node: exp.Cast, schema: pl.Schema) -> None:
    """Casts that mean the same in both engines: float -> int rounds in DuckDB and truncates in Polars."""
    target = node.to.this
    source = node.this
    dtype = _dtype(source, schema)
    if isinstance(source, exp.Literal) and source.is_string:
        if target in exp.DataType.TEMPORAL_TYPES:
            return
    if target in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT) and (
        isinstance(source, exp.Literal) and not source.is_string or (dtype is not None and dtype.is_numeric())
    ):
        return
    if target in exp.DataType.INTEGER_TYPES and dtype is not None and dtype.is_integer():
        return
    if target in exp.DataType.TEXT_TYPES and dtype is not None and (dtype.is_integer() or dtype == pl.String):
        return
    if target == exp.DataType.Type.DATE and dtype is not None and dtype in (pl.Date, pl.Datetime):
        return
    raise Unsupported(f"{node.sql('duckdb')} may convert differently in Polars")


def _typed_literals(node: exp.Expression, schema: pl.Schema) -> exp.Expression:
    """``ts >= '2024-01-01'``: DuckDB casts the string to the column's type; Polars must be told."""
    if isinstance(node, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ)):
        for mine, other in (("this", "expression"), ("expression", "this")):
            cast = _sql_type(_dtype(node.args[other], schema))
            if cast and isinstance(node.args[mine], exp.Literal) and node.args[mine].is_string:
                node.set(mine, exp.cast(node.args[mine], cast))
    elif isinstance(node, (exp.Between, exp.In)):
        cast = _sql_type(_dtype(node.this, schema))
        if cast:
            for key in ("low", "high", "expressions"):
                items = node.args.get(key)
                for item in items if isinstance(items, list) else [items]:
                    if isinstance(item, exp.Literal) and item.is_string:
                        item.replace(exp.cast(item.copy(), cast))
    return node


def _sql_type(dtype: pl.DataType | None) -> str | None:
    if dtype is None:
        return None
    base = dtype.base_type()
    if base in _TEMPORAL:
        return _TEMPORAL[base]
    if dtype.is_integer():
        return "BIGINT"
    return _NUMERIC_SQL.get(base)


def _to_polars(tree: exp.Expression) -> pl.Expr:
    text = tree.sql(dialect=_PolarsSQL)
    try:
        return pl.sql_expr(text)
    except Exception as exc:  # Polars' SQL front end raises several exception types
        raise Unsupported(f"Polars SQL cannot read '{text}': {str(exc).splitlines()[0]}") from None


@dataclass
class Aggregate:
    """A SQL metric split into aggregates (evaluated in the scan) and the arithmetic around them."""

    parts: dict[str, pl.Expr] = field(default_factory=dict)
    outer: pl.Expr | None = None


def aggregate_expr(sql: str, schema: pl.Schema, mask: pl.Expr | None, prefix: str) -> Aggregate:
    """A vetted SQL aggregate: each aggregate call as an expression named ``{prefix}_{k}``.

    ``mask`` restricts every aggregate to the rule's ``where`` rows. When the metric is
    more than one aggregate call, ``outer`` computes its value from the named parts.

    Raises:
        Unsupported: the fragment uses something Polars does not evaluate like DuckDB.
    """
    tree = parse_expression(sql)
    out = Aggregate()

    def lift(node: exp.Expression) -> exp.Expression:
        agg, cond = (node.this, node.expression.this) if isinstance(node, exp.Filter) else (node, None)
        if not isinstance(agg, _AGGS):
            if isinstance(node, exp.AggFunc):
                raise Unsupported(f"aggregate {_name(node)} is not supported by the Polars engine")
            return node
        name = f"{prefix}_{len(out.parts)}"
        out.parts[name] = _aggregate(agg, cond, schema, mask).alias(name)
        return exp.column(name, quoted=True)

    outer = tree.transform(lift, copy=True)
    if isinstance(outer, exp.Column) and outer.name in out.parts:
        return out
    outer_schema = pl.Schema({name: pl.Float64 for name in out.parts})
    out.outer = _to_polars(_prepare(outer, outer_schema))
    return out


_AGG_NAMES: dict[type[exp.Expression], str] = {
    exp.Count: "count", exp.CountIf: "count_if", exp.Sum: "sum", exp.Avg: "mean", exp.Min: "min",
    exp.Max: "max", exp.Stddev: "stddev", exp.StddevSamp: "stddev", exp.Variance: "variance",
    exp.Median: "median", exp.PercentileCont: "quantile", exp.Quantile: "quantile",
}  # fmt: skip


def _aggregate(agg: exp.Expression, cond: exp.Expression | None, schema: pl.Schema, mask: pl.Expr | None) -> pl.Expr:
    rows = [m for m in (mask, row_expr(cond.sql("duckdb"), schema).fill_null(False) if cond is not None else None) if m is not None]
    keep = rows[0] if len(rows) == 1 else (rows[0] & rows[1] if rows else None)
    arg_node = agg.this
    if isinstance(agg, exp.Count) and (arg_node is None or isinstance(arg_node, exp.Star)):
        return keep.sum() if keep is not None else pl.len()
    name = _AGG_NAMES[type(agg)]
    if isinstance(arg_node, exp.Distinct):
        if name != "count" or len(arg_node.expressions) != 1:
            raise Unsupported("DISTINCT is supported only as count(DISTINCT one_expression) by the Polars engine")
        arg_node, name = arg_node.expressions[0], "distinct_count"
    q = None
    if name == "quantile":
        q_node = agg.args.get("expression") or agg.args.get("quantile")
        if not isinstance(q_node, exp.Literal) or q_node.is_string:
            raise Unsupported("quantile_cont needs a constant fraction")
        q = float(q_node.this)
    arg = row_expr(arg_node.sql("duckdb"), schema)
    dtype = pl.LazyFrame(schema=schema).select(arg.alias("x")).collect_schema()["x"]
    return aggregate(name, arg.filter(keep) if keep is not None else arg, dtype, q)


def aggregate(name: str, values: pl.Expr, dtype: pl.DataType, q: float | None = None) -> pl.Expr:
    """An aggregate of non-NULL ``values`` with DuckDB's result: NULL over no values (but counts),
    NaN as the largest float, sample (n-1) deviations, linearly interpolated quantiles.

    Raises:
        TypeError: DuckDB refuses this aggregate of a ``dtype`` value.
    """
    numeric = dtype.is_numeric() or dtype == pl.Boolean
    if not numeric and name not in ("count", "distinct_count", "count_if", "min", "max"):
        raise TypeError(f"{name} of a {dtype} value is an error in DuckDB")
    as_float = values.cast(pl.Float64)
    if name == "count":
        return values.count()
    if name == "distinct_count":
        return values.drop_nulls().n_unique()
    if name == "count_if":
        return values.sum()
    if name == "sum":
        return pl.when(values.count() > 0).then(_widened(values, dtype).sum())
    if name == "mean":
        return as_float.mean()
    if name == "min":
        return values.min()
    if name == "max":
        return values.nan_max() if dtype.is_float() else values.max()
    if name == "stddev":
        return as_float.std(ddof=1)
    if name == "variance":
        return as_float.var(ddof=1)
    if name in ("median", "quantile"):
        return as_float.quantile(0.5 if q is None else q, "linear")
    raise Unsupported(f"aggregate {name}() is not supported by the Polars engine")


def _widened(values: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Sum in DuckDB's result type: 64-bit (Polars keeps Int32 and Float32 narrow)."""
    if dtype.is_integer() or dtype == pl.Boolean:
        return values.cast(pl.Int64)
    return values.cast(pl.Float64) if dtype.is_float() else values
