"""The shared row-rule handlers: each returns what a row rule judges (``applies``) and
its test on one such row (``passes``), as sqlglot trees any SQL dialect can write.

Patterns and formats have no portable meaning (RE2, dqgate's kernels): here they are
refused, and each dialect that runs them exactly overrides them (DuckDB runs them as
DFAs, RE2 or Cython kernels: ``compilers/duckdb/dialect.py``). Reference rules are
``IN (SELECT ...)`` over the reference's view.
"""

from __future__ import annotations

from sqlglot import exp

from dqgate.compilers.duckdb.common import ROW, Context, RowPredicate, and_, col, literal, not_null, where_of
from dqgate.contract.sql import parse_expression, ref_view
from dqgate.ir import nodes as n


@ROW.register(n.NotNull)
def _not_null_rule(rule: n.NotNull, ctx: Context) -> RowPredicate:
    return RowPredicate(and_(where_of(rule)), not_null(rule.column))


@ROW.register(n.Range)
def _range(rule: n.Range, ctx: Context) -> RowPredicate:
    c = col(rule.column)
    tests = []
    if rule.min is not None:
        lo = literal(rule.min, ctx.cast_for(rule.column, rule.min))
        tests.append(exp.GT(this=c.copy(), expression=lo) if rule.open_min else exp.GTE(this=c.copy(), expression=lo))
    if rule.max is not None:
        hi = literal(rule.max, ctx.cast_for(rule.column, rule.max))
        tests.append(exp.LT(this=c.copy(), expression=hi) if rule.open_max else exp.LTE(this=c.copy(), expression=hi))
    return RowPredicate(and_(where_of(rule), not_null(rule.column)), and_(*tests))


@ROW.register(n.InSet)
def _in_set(rule: n.InSet, ctx: Context) -> RowPredicate:
    values = [literal(v, ctx.cast_for(rule.column, v)) for v in rule.values]
    return RowPredicate(and_(where_of(rule), not_null(rule.column)), exp.In(this=col(rule.column), expressions=values))


@ROW.register(n.Pattern)
def _pattern(rule: n.Pattern, ctx: Context) -> RowPredicate:
    """Patterns mean RE2's full match (DESIGN.md): a dialect runs them only where its
    own regex engine means exactly that (its override), never a near miss."""
    raise ctx.dialect.refuse(rule, "this engine has no regex engine with RE2's meaning")


@ROW.register(n.Length)
def _length(rule: n.Length, ctx: Context) -> RowPredicate:
    length = exp.Length(this=col(rule.column))
    tests = []
    if rule.min is not None:
        tests.append(exp.GTE(this=length.copy(), expression=literal(rule.min)))
    if rule.max is not None:
        tests.append(exp.LTE(this=length.copy(), expression=literal(rule.max)))
    return RowPredicate(and_(where_of(rule), not_null(rule.column)), and_(*tests))


# Formats whose rules (formats.pyx) are a regular language, as RE2 patterns plus a byte
# limit: with dqgate's extension they run as DFAs in DuckDB's threads instead of as a
# Cython kernel behind an Arrow UDF (which DuckDB calls with the GIL held), and other
# dialects run them with their own regex where it means the same. The tests compare
# these with the kernels' twins (tests/runners/test_native.py).
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
FORMAT_DFAS: dict[str, tuple[str, int | None]] = {
    "email": ("[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]+\\.)+[A-Za-z]{2,}", 254),
    "uuid": ("[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}", None),
    "ipv4": (f"{_OCTET}(?:\\.{_OCTET}){{3}}", None),
}


@ROW.register(n.Format)
def _format(rule: n.Format, ctx: Context) -> RowPredicate:
    raise ctx.dialect.refuse(rule, f"format '{rule.format}' needs dqgate's kernels, which this engine cannot call")


@ROW.register(n.Expect)
def _expect(rule: n.Expect, ctx: Context) -> RowPredicate:
    return RowPredicate(and_(where_of(rule)), exp.Paren(this=parse_expression(rule.sql)))


@ROW.register(n.Reference)
def _reference(rule: n.Reference, ctx: Context) -> RowPredicate:
    ref_col = col(rule.ref_column)
    lookup = (
        exp.select(ref_col)
        .from_(exp.to_table(ref_view(rule.ref), quoted=True))
        .where(exp.Not(this=exp.Is(this=ref_col.copy(), expression=exp.Null())))
    )
    test = exp.func("coalesce", exp.In(this=col(rule.column), query=exp.Subquery(this=lookup)), exp.false())
    return RowPredicate(and_(where_of(rule), not_null(rule.column)), test)


@ROW.register(n.ForeignKey)
def _foreign_key(rule: n.ForeignKey, ctx: Context) -> RowPredicate:
    """``(a, b) IN (SELECT x, y FROM ref WHERE x, y not NULL)``: a row-value lookup."""
    ref_cols = [col(c) for c in rule.ref_columns]
    lookup = exp.select(*ref_cols).from_(exp.to_table(ref_view(rule.ref), quoted=True)).where(not_null(*rule.ref_columns))
    found = exp.In(this=exp.Tuple(expressions=[col(c) for c in rule.columns]), query=exp.Subquery(this=lookup))
    return RowPredicate(and_(where_of(rule), not_null(*rule.columns)), exp.func("coalesce", found, exp.false()))
