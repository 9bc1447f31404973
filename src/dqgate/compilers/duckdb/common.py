"""What every SQL rule handler shares: the compiled plan, the compilation context,
literal and predicate builders, the two shared dispatch tables handlers register on,
and :class:`Dialect`, what one SQL engine spells its own way.

This package builds the fused statement for every SQL engine (DuckDB, PostgreSQL,
Spark SQL, the warehouses); it is named for DuckDB, its first and fullest dialect.
``ROW`` maps a row rule's IR class to ``(rule, ctx) -> RowPredicate``; ``AGGREGATE``
maps a rule judged by its own aggregates (drift, slices, evaluation metrics) to
``(rule, ctx, out) -> select items`` (aliased ``<out>_...``). Handler modules (``rows``, ``ml``) import
this one and register; :mod:`dqgate.compilers.duckdb` imports them all and compiles.
A dialect's own tables (``Dialect.row``, ``Dialect.aggregate``) hold only the handlers
that differ and fall back to the shared ones; what differs inside a shared handler
(quantiles, a list of records, count_if) is a method of the dialect.
Nothing here imports a handler module, so imports run one way only.

"Applies" is the rule's ``where`` (NULL counts as false) and, for every rule but
``required``, "the column is not NULL": the NULL semantics of DESIGN.md live here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlglot import exp
from sqlglot.errors import ParseError

from dqgate.compilers.base import Dispatch
from dqgate.errors import UnsupportedRule
from dqgate.contract.sql import parse_expression
from dqgate.ir import nodes as n

DIALECT = "duckdb"
SOURCE_VIEW = "__dq_data"
_WITH_ARG = "with_" if "with_" in exp.Select.arg_types else "with"  # renamed in sqlglot 28
FORMAT_FUNCTION = "__dq_format_{}"
KEY_REPEATS = "dq_key_repeats"  # aggregates of dqgate's DuckDB extension (_kernels/dqgate_native.c)
DFA_MATCH = "dq_dfa_match"


@dataclass(frozen=True)
class RowPredicate:
    """``applies``: the rows a rule judges; ``passes``: its test on one of those rows."""

    applies: exp.Expression
    passes: exp.Expression


@dataclass
class CompiledPlan:
    """The fused statement and how to read each rule's result out of its one row."""

    statement: exp.Expression
    outputs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    samples: dict[str, exp.Expression] = field(default_factory=dict)
    formats: tuple[str, ...] = ()
    marks: dict[str, str] = field(default_factory=dict)  # rule id -> output of dq_key_repeats

    dialect: str = DIALECT  # sqlglot's name of the dialect the statement is written in

    @property
    def sql(self) -> str:
        return self.statement.sql(self.dialect, pretty=True)

    def sample_sql(self, rule_id: str) -> str:
        return self.samples[rule_id].sql(self.dialect)


# The data's column names as the compiled SQL must spell them. DuckDB's identifiers ignore
# case, even quoted, so a data file with columns "a" and "A" reaches DuckDB as "a" and
# "A_1" (its own renaming, which the runner reads back by position, runners/sources.py).
# Rules keep the data's exact names; every column reference a handler builds goes through
# col() or user_sql(), which spell it as DuckDB sees it. Names DuckDB did not rename map to
# themselves, so nothing changes for them. Set by the runner around compiling and running.
_DATA_NAMES: ContextVar[Mapping[str, str]] = ContextVar("dqgate_duckdb_data_names", default={})


@contextlib.contextmanager
def data_names(names: Mapping[str, str]) -> Iterator[None]:
    """Compile (and run) with ``names``: data column name -> the name DuckDB gives it."""
    token = _DATA_NAMES.set(dict(names))
    try:
        yield
    finally:
        _DATA_NAMES.reset(token)


def engine_name(name: str) -> str:
    """How DuckDB names the data column ``name`` (see :func:`data_names`)."""
    return _DATA_NAMES.get().get(name, name)


def data_column(engine: str) -> str:
    """The data column DuckDB calls ``engine`` (the inverse of :func:`engine_name`)."""
    return next((name for name, duck in _DATA_NAMES.get().items() if duck == engine), engine)


def col(name: str) -> exp.Column:
    return exp.column(engine_name(name), quoted=True)


def user_sql(sql: str) -> exp.Expression:
    """A contract's SQL fragment, parsed and vetted, with its column names spelt as DuckDB sees them.

    A name matches a data column exactly, case included (``A`` is the column "A", not "a").
    """
    tree = parse_expression(sql)
    names = _DATA_NAMES.get()
    if not any(k != v for k, v in names.items()):
        return tree

    def spell(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in names:
            return exp.column(names[node.name], quoted=True)
        return node

    return tree.transform(spell)


def literal(value: Any, cast_to: str | exp.DataType | None = None) -> exp.Expression:
    """A SQL literal for a contract value (numbers, strings, booleans, dates, times)."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, float) and not math.isfinite(value):  # a bare `inf` or `nan` would name a column
        return exp.cast(exp.Literal.string("NaN" if value != value else "Infinity" if value > 0 else "-Infinity"), "DOUBLE")
    if isinstance(value, (int, float)):
        return exp.Literal.number(repr(value) if isinstance(value, float) else str(value))
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), cast_to or "TIMESTAMP")
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), cast_to or "DATE")
    lit = exp.Literal.string(str(value))
    return exp.cast(lit, cast_to) if cast_to else lit


def and_(*parts: exp.Expression | None) -> exp.Expression:
    items = [p for p in parts if p is not None and p != exp.true()]
    if not items:
        return exp.true()
    out = items[0]
    for p in items[1:]:
        out = exp.and_(out, p, copy=False)
    return out


def negate(predicate: exp.Expression) -> exp.Expression:
    """NOT (predicate), parenthesised so precedence can never change its meaning."""
    return exp.Not(this=exp.Paren(this=predicate))


def not_null(*names: str) -> exp.Expression:
    return and_(*(exp.Not(this=exp.Is(this=col(c), expression=exp.Null())) for c in names))


def where_of(rule: n.Rule) -> exp.Expression | None:
    if rule.where is None:
        return None
    return exp.func("coalesce", exp.Paren(this=user_sql(rule.where)), exp.false())


class Context:
    """Per-compilation state: the dialect, the data's column types and the CTEs built so far."""

    def __init__(
        self, types: dict[str, str], source: exp.Expression, *, native: bool = False, dialect: Dialect | None = None
    ) -> None:
        self.types = types
        self.source = source
        self.native = native
        self.dialect = dialect or SHARED
        self.ctes: list[exp.CTE] = []
        self.formats: list[str] = []

    def row(self, rule: n.Rule) -> Callable[[Any, Context], RowPredicate]:
        """The row handler of ``rule`` in this dialect (UnsupportedRule when it has none)."""
        return self.dialect.row(rule)

    def cast_for(self, column: str, value: Any) -> exp.DataType | None:
        typ = self.types.get(column, "").upper()
        if isinstance(value, str) and typ.startswith(("TIMESTAMP", "DATE", "TIME")):
            try:  # DuckDB's spelling (TIMESTAMP_NS, TIMESTAMP WITH TIME ZONE), read as DuckDB
                return exp.DataType.build(typ, dialect="duckdb")
            except (ParseError, ValueError):  # a type sqlglot does not know: its family compares the same
                return exp.DataType.build(typ.split()[0].split("_")[0], dialect="duckdb")
        return None

    def from_source(self) -> exp.Expression:
        return self.source.copy()

ROW = Dispatch[Callable[[Any, Context], RowPredicate]]("sql")

AGGREGATE = Dispatch[Callable[[Any, Context, str], list[exp.Expression]]]("sql")


class Dialect:
    """One SQL engine's spelling of the fused statement.

    The shared handlers build a sqlglot tree; sqlglot writes it in ``sqlglot`` (its
    dialect name). What sqlglot cannot translate with the same meaning is the
    dialect's: handlers in its own ``row``/``aggregate`` tables (which fall back to
    the shared ``ROW``/``AGGREGATE``), and the methods below. A piece the engine cannot
    run exactly is refused with :class:`~dqgate.errors.UnsupportedRule` (:meth:`refuse`),
    never approximated. Subclasses are the dialect modules (``compilers/duckdb/dialect.py``,
    ``compilers/postgres.py``, ...; ``compilers/dialects.py`` finds one by engine name).
    """

    engine = "sql"
    sqlglot = DIALECT

    def __init__(self) -> None:
        self.row = Dispatch[Callable[[Any, Context], RowPredicate]](self.engine, fallback=ROW)
        self.aggregate = Dispatch[Callable[[Any, Context, str], list[exp.Expression]]](self.engine, fallback=AGGREGATE)

    def refuse(self, rule: n.Rule, reason: str) -> UnsupportedRule:
        """The error for a rule this engine cannot run exactly (raise it)."""
        return UnsupportedRule(self.engine, rule.id, type(rule).__name__, reason)

    def quantile(self, value: exp.Expression, q: float, rule: n.Rule) -> exp.Expression:
        """The exact (interpolated) ``q`` quantile of ``value``: ``quantile_cont``."""
        return exp.func("quantile_cont", value, exp.Literal.number(q), dialect=DIALECT)

    def records(self, fields: list[tuple[str, exp.Expression]]) -> exp.Expression:
        """An aggregate gathering one record (name -> value) per row into one list value
        (samples of repeated keys, groups of ``by:`` metrics): ``list({...})``."""
        struct = exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier(k, quoted=True), expression=v) for k, v in fields])
        return exp.func("list", struct)

    def repeated_keys(self, fields: list[tuple[str, exp.Expression]], keys: exp.Table, samples: int) -> tuple[exp.Expression, exp.Expression, exp.Expression]:
        """(failing rows, up to ``samples`` repeated keys as a list of records, repeated keys) of
        a key rule, from ``keys``: its ``GROUP BY ... HAVING count(*) > 1`` CTE with the count
        in column ``n``. Three scalar subqueries; DuckDB materialises the CTE once."""
        table = exp.to_table(keys.name, quoted=True)
        failed = exp.func("coalesce", scalar(exp.select(exp.Sum(this=exp.column("n"))).from_(table.copy())), exp.Literal.number(0))
        first = exp.select(*[v.copy() for _, v in fields]).from_(table.copy()).limit(samples)
        sample = scalar(exp.select(self.records(fields)).from_(exp.Subquery(this=first, alias=exp.TableAlias(this=exp.to_identifier("s")))))
        groups = scalar(exp.select(exp.Count(this=exp.Star())).from_(table.copy()))
        return failed, sample, groups

    def finish(self, tree: exp.Expression) -> exp.Expression:
        """Rewrite a finished statement where sqlglot's translation would change its meaning."""
        return tree

    def sql(self, tree: exp.Expression, *, pretty: bool = False) -> str:
        return tree.sql(self.sqlglot, pretty=pretty)


SHARED = Dialect()


def scalar(query: exp.Expression) -> exp.Expression:
    return exp.Subquery(this=query)


def zero_for_empty(tree: exp.Expression) -> exp.Expression:
    """Wrap each ``count_if`` in ``coalesce(..., 0)``: DuckDB 2 returns NULL for it over no rows.

    A count of nothing is 0 (as ``count`` gives, and as the other engines give); a
    ``FILTER`` clause is wrapped together with its ``count_if``, a window is left alone.
    """
    targets = [
        node.parent if isinstance(node.parent, exp.Filter) else node
        for node in tree.find_all(exp.CountIf)
    ]
    targets = [t for t in targets if not isinstance(t.parent, exp.Window)]
    for target in targets:
        wrapped = exp.func("coalesce", target.copy(), exp.Literal.number(0))
        if target is tree:
            return wrapped
        target.replace(wrapped)
    return tree


def metric_expr(rule: n.Metric, dialect: Dialect | None = None) -> exp.Expression:
    c = col(rule.columns[0]) if rule.columns else None
    func = rule.func
    if func == "row_count":
        agg: exp.Expression = exp.Count(this=exp.Star())
    elif func == "null_count":
        return zero_for_empty(filtered(exp.CountIf(this=exp.Is(this=c, expression=exp.Null())), rule))
    elif func == "null_fraction":
        nulls = exp.cast(exp.CountIf(this=exp.Is(this=c, expression=exp.Null())), "DOUBLE")
        return exp.Div(this=filtered(nulls, rule), expression=exp.func("nullif", filtered(exp.Count(this=exp.Star()), rule), exp.Literal.number(0)))
    elif func == "distinct_count":
        agg = exp.Count(this=exp.Distinct(expressions=[c]))
    elif func == "min":
        agg = exp.Min(this=c)
    elif func == "max":
        agg = exp.Max(this=c)
    elif func == "sum":
        agg = exp.Sum(this=c)
    elif func == "mean":
        agg = exp.Avg(this=exp.cast(c, "DOUBLE"))
    elif func == "stddev":
        agg = exp.StddevSamp(this=exp.cast(c, "DOUBLE"))
    elif func in ("median", "quantile"):
        q = 0.5 if func == "median" else rule.q
        agg = (dialect or SHARED).quantile(exp.cast(c, "DOUBLE"), q, rule)
    else:
        raise AssertionError(func)
    return filtered(agg, rule)


def filtered(agg: exp.Expression, rule: n.Rule) -> exp.Expression:
    where = where_of(rule)
    if where is None:
        return agg
    if isinstance(agg, exp.Cast):
        return exp.cast(filtered(agg.this, rule), agg.to)
    return exp.Filter(this=agg, expression=exp.Where(this=where))
