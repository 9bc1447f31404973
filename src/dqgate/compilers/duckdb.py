"""IR -> one fused DuckDB statement, built as a sqlglot tree (never by pasting strings).

Every row rule becomes two aggregates of the same scan, ``count_if(applies AND NOT
passes)`` and ``count_if(applies)``; every metric one aggregate. Uniqueness needs a
GROUP BY: it is a CTE of the same statement, read twice (count and sample), which
DuckDB materialises once. Reference rules are ``IN (SELECT ...)`` over the
reference's view. Failing-row samples are separate ``LIMIT`` queries, built here but
run only for rules that failed.

"Applies" is the rule's ``where`` (NULL counts as false) and, for every rule but
``required``, "the column is not NULL": the NULL semantics of DESIGN.md live here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlglot import exp

from dqgate.compilers.base import Dispatch
from dqgate.contract.sql import parse_expression, ref_view
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

    @property
    def sql(self) -> str:
        return self.statement.sql(DIALECT, pretty=True)


def col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def literal(value: Any, cast_to: str | None = None) -> exp.Expression:
    """A SQL literal for a contract value (numbers, strings, booleans, dates, times)."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(repr(value) if isinstance(value, float) else str(value))
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), cast_to or "TIMESTAMP")
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), cast_to or "DATE")
    lit = exp.Literal.string(str(value))
    return exp.cast(lit, cast_to) if cast_to else lit


def _and(*parts: exp.Expression | None) -> exp.Expression:
    items = [p for p in parts if p is not None and p != exp.true()]
    if not items:
        return exp.true()
    out = items[0]
    for p in items[1:]:
        out = exp.and_(out, p, copy=False)
    return out


def _negate(predicate: exp.Expression) -> exp.Expression:
    """NOT (predicate), parenthesised so precedence can never change its meaning."""
    return exp.Not(this=exp.Paren(this=predicate))


def _not_null(*names: str) -> exp.Expression:
    return _and(*(exp.Not(this=exp.Is(this=col(c), expression=exp.Null())) for c in names))


def _where(rule: n.Rule) -> exp.Expression | None:
    if rule.where is None:
        return None
    return exp.func("coalesce", exp.Paren(this=parse_expression(rule.where)), exp.false())


class _Context:
    """Per-compilation state: the data's column types and the CTEs built so far."""

    def __init__(self, types: dict[str, str], source: exp.Expression, *, native: bool = False) -> None:
        self.types = types
        self.source = source
        self.native = native
        self.ctes: list[exp.CTE] = []
        self.formats: list[str] = []

    def cast_for(self, column: str, value: Any) -> str | None:
        typ = self.types.get(column, "").upper()
        if isinstance(value, str) and typ.startswith(("TIMESTAMP", "DATE", "TIME")):
            return typ
        return None

    def from_source(self) -> exp.Expression:
        return self.source.copy()


ROW = Dispatch[Callable[[Any, _Context], RowPredicate]]("duckdb")


@ROW.register(n.NotNull)
def _not_null_rule(rule: n.NotNull, ctx: _Context) -> RowPredicate:
    return RowPredicate(_and(_where(rule)), _not_null(rule.column))


@ROW.register(n.Range)
def _range(rule: n.Range, ctx: _Context) -> RowPredicate:
    c = col(rule.column)
    tests = []
    if rule.min is not None:
        lo = literal(rule.min, ctx.cast_for(rule.column, rule.min))
        tests.append(exp.GT(this=c.copy(), expression=lo) if rule.exclusive else exp.GTE(this=c.copy(), expression=lo))
    if rule.max is not None:
        hi = literal(rule.max, ctx.cast_for(rule.column, rule.max))
        tests.append(exp.LT(this=c.copy(), expression=hi) if rule.exclusive else exp.LTE(this=c.copy(), expression=hi))
    return RowPredicate(_and(_where(rule), _not_null(rule.column)), _and(*tests))


INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"})


@ROW.register(n.InSet)
def _in_set(rule: n.InSet, ctx: _Context) -> RowPredicate:
    values = [literal(v, ctx.cast_for(rule.column, v)) for v in rule.values]
    applies = _and(_where(rule), _not_null(rule.column))
    if not _same_kind(rule.values, ctx.types.get(rule.column, "")):
        return RowPredicate(applies, exp.In(this=col(rule.column), expressions=values))
    # IN (...) is a chain of comparisons per row; list_position over a constant list is
    # evaluated once per dictionary entry of a dictionary-encoded column and looks integers
    # up instead of comparing: 10M rows against 10 countries, 0.13 vs 0.60 CPU s; 10
    # integers, 0.11 vs 0.47. Same answer when the list and the column are of one kind.
    found = exp.Anonymous(this="list_position", expressions=[exp.Array(expressions=values), col(rule.column)])
    return RowPredicate(applies, exp.Not(this=exp.Is(this=found, expression=exp.Null())))


def _same_kind(values: tuple[Any, ...], column_type: str) -> bool:
    """All values are text for a text column, or all integers for an integer column (no NULL,
    no cast whose rules could differ between IN and a list's common type)."""
    typ = column_type.upper()
    if not values:
        return False
    if typ == "VARCHAR":
        return all(isinstance(v, str) for v in values)
    return typ in INTEGER_TYPES and all(isinstance(v, int) and not isinstance(v, bool) for v in values)


@ROW.register(n.Pattern)
def _pattern(rule: n.Pattern, ctx: _Context) -> RowPredicate:
    table = dfa_table(rule.regex) if ctx.native else None
    test: exp.Expression
    if table is None:
        test = exp.RegexpFullMatch(this=col(rule.column), expression=exp.Literal.string(rule.regex))
    else:  # the same full match as a byte DFA in dqgate's extension, ~3x cheaper than RE2 per value
        test = _dfa_match(rule.column, table)
    return RowPredicate(_and(_where(rule), _not_null(rule.column)), test)


def dfa_table(regex: str) -> bytes | None:
    """The DFA table of ``regex`` (compilers/regex_dfa.py), or None where only RE2 will do."""
    from dqgate.compilers import regex_dfa

    try:
        return regex_dfa.compile_dfa(regex)
    except regex_dfa.Unsupported:
        return None


@ROW.register(n.Length)
def _length(rule: n.Length, ctx: _Context) -> RowPredicate:
    length = exp.Length(this=col(rule.column))
    tests = []
    if rule.min is not None:
        tests.append(exp.GTE(this=length.copy(), expression=literal(rule.min)))
    if rule.max is not None:
        tests.append(exp.LTE(this=length.copy(), expression=literal(rule.max)))
    return RowPredicate(_and(_where(rule), _not_null(rule.column)), _and(*tests))


# Formats whose rules (formats.pyx) are a regular language, as RE2 patterns plus a byte
# limit: with dqgate's extension they run as DFAs in DuckDB's threads instead of as a
# Cython kernel behind an Arrow UDF (which DuckDB calls with the GIL held). The tests
# compare these with the kernels' twins (tests/runners/test_native.py).
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
FORMAT_DFAS: dict[str, tuple[str, int | None]] = {
    "email": ("[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]+\\.)+[A-Za-z]{2,}", 254),
    "uuid": ("[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}", None),
    "ipv4": (f"{_OCTET}(?:\\.{_OCTET}){{3}}", None),
}


@ROW.register(n.Format)
def _format(rule: n.Format, ctx: _Context) -> RowPredicate:
    applies = _and(_where(rule), _not_null(rule.column))
    regex, max_bytes = FORMAT_DFAS.get(rule.format, ("", None))
    table = dfa_table(regex) if ctx.native and regex else None
    if table is not None:
        test = _dfa_match(rule.column, table)
        if max_bytes is not None:
            test = _and(test, exp.LTE(this=exp.Anonymous(this="strlen", expressions=[col(rule.column)]), expression=exp.Literal.number(max_bytes)))
        return RowPredicate(applies, test)
    if rule.format not in ctx.formats:
        ctx.formats.append(rule.format)
    test = exp.Anonymous(this=FORMAT_FUNCTION.format(rule.format), expressions=[col(rule.column)])
    return RowPredicate(applies, test)


def _dfa_match(column: str, table: bytes) -> exp.Expression:
    return exp.Anonymous(this=DFA_MATCH, expressions=[col(column), exp.Unhex(this=exp.Literal.string(table.hex()))])


@ROW.register(n.Expect)
def _expect(rule: n.Expect, ctx: _Context) -> RowPredicate:
    return RowPredicate(_and(_where(rule)), exp.Paren(this=parse_expression(rule.sql)))


@ROW.register(n.Reference)
def _reference(rule: n.Reference, ctx: _Context) -> RowPredicate:
    ref_col = col(rule.ref_column)
    lookup = (
        exp.select(ref_col)
        .from_(exp.to_table(ref_view(rule.ref), quoted=True))
        .where(exp.Not(this=exp.Is(this=ref_col.copy(), expression=exp.Null())))
    )
    test = exp.func("coalesce", exp.In(this=col(rule.column), query=exp.Subquery(this=lookup)), exp.false())
    return RowPredicate(_and(_where(rule), _not_null(rule.column)), test)


def _unique_applies(rule: n.Unique) -> exp.Expression:
    return _and(_where(rule), _not_null(*rule.columns))


def _unique_cte(rule: n.Unique, ctx: _Context, name: str) -> None:
    keys = [col(c) for c in rule.columns]
    query = (
        exp.select(*keys, exp.alias_(exp.Count(this=exp.Star()), "n"))
        .from_(ctx.from_source())
        .where(_unique_applies(rule))
        .group_by(*[k.copy() for k in keys])
        .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
    )
    ctx.ctes.append(exp.CTE(this=query, alias=exp.TableAlias(this=exp.to_identifier(name, quoted=True))))


def _scalar(query: exp.Expression) -> exp.Expression:
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


def _metric_expr(rule: n.Metric) -> exp.Expression:
    c = col(rule.columns[0]) if rule.columns else None
    func = rule.func
    if func == "row_count":
        agg: exp.Expression = exp.Count(this=exp.Star())
    elif func == "null_count":
        return zero_for_empty(_filtered(exp.CountIf(this=exp.Is(this=c, expression=exp.Null())), rule))
    elif func == "null_fraction":
        nulls = exp.cast(exp.CountIf(this=exp.Is(this=c, expression=exp.Null())), "DOUBLE")
        return exp.Div(this=_filtered(nulls, rule), expression=exp.func("nullif", _filtered(exp.Count(this=exp.Star()), rule), exp.Literal.number(0)))
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
    elif func == "median":
        agg = exp.func("quantile_cont", exp.cast(c, "DOUBLE"), exp.Literal.number(0.5), dialect=DIALECT)
    elif func == "quantile":
        agg = exp.func("quantile_cont", exp.cast(c, "DOUBLE"), exp.Literal.number(rule.q), dialect=DIALECT)
    else:
        raise AssertionError(func)
    return _filtered(agg, rule)


def _filtered(agg: exp.Expression, rule: n.Rule) -> exp.Expression:
    where = _where(rule)
    if where is None:
        return agg
    if isinstance(agg, exp.Cast):
        return exp.cast(_filtered(agg.this, rule), agg.to)
    return exp.Filter(this=agg, expression=exp.Where(this=where))


def compile_plan(
    rules: tuple[n.Rule, ...],
    *,
    types: dict[str, str],
    key: tuple[str, ...] = (),
    samples: int = 5,
    source: str = SOURCE_VIEW,
    counted: frozenset[str] = frozenset(),
    marks: dict[str, tuple[int, int]] | None = None,
    decided: frozenset[str] = frozenset(),
    native: bool = False,
) -> CompiledPlan:
    """Compile every query-evaluated rule into one statement over ``source``.

    Args:
        rules: the planned rules (schema rules are skipped: decided from the schema).
        types: the data's DuckDB column types, for casting literals.
        key: columns shown beside failing values in samples.
        samples: failing-row samples per failing rule.
        source: the view (or table) holding the data.
        counted: ids of unique rules the runner counts itself (dense integer keys,
            runners/dense_unique.py): only their total is compiled; their ``_failed`` and
            ``_sample`` outputs are named but left for the runner to fill.
        marks: of those, the keys counted inside this statement by the native aggregate
            ``dq_key_repeats(key, low, span, samples)`` (rule id -> (low, span)); its list
            ``[failing rows, repeated keys...]`` is output ``<out>_marks``
            (``plan.marks``), NULL if a key fell outside the span.
        decided: ids of rules the Parquet footer already decided (runners/footer.py):
            their outputs and samples are named, nothing of them is selected, so the
            scan reads only what the remaining rules need.
        native: the connection has dqgate's DuckDB extension (runners/native.py), so
            patterns run as DFAs (``dq_dfa_match``) where compilers/regex_dfa.py can build one.
    """
    table = exp.to_table(source, quoted=True)
    ctx = _Context(types, table, native=native)
    marks = marks or {}
    select: list[exp.Expression] = [exp.alias_(exp.Count(this=exp.Star()), "__rows", quoted=True)]
    plan = CompiledPlan(statement=exp.select("1"))
    for i, rule in enumerate(rules):
        out = f"r{i}"
        if isinstance(rule, n.HISTORY_RULES):
            plan.outputs[rule.id] = ()  # decided after the query, from the store's metric history
            continue
        if isinstance(rule, n.StrictSchema):
            continue
        # A rule the footer decided gets its outputs and samples named like any other, but
        # adds nothing to the statement.
        chosen: list[exp.Expression] = [] if rule.id in decided else select
        if isinstance(rule, n.Unique) and rule.id in counted:
            chosen.append(exp.alias_(exp.CountIf(this=_unique_applies(rule)), f"{out}_total", quoted=True))
            plan.outputs[rule.id] = (f"{out}_failed", f"{out}_total", f"{out}_sample")
            if rule.id in marks:
                low, span = marks[rule.id]
                args = [col(rule.columns[0]), *(exp.Literal.number(v) for v in (low, span, samples))]
                chosen.append(exp.alias_(exp.Anonymous(this=KEY_REPEATS, expressions=args), f"{out}_marks", quoted=True))
                plan.marks[rule.id] = f"{out}_marks"
        elif isinstance(rule, n.Unique):
            cte = f"__dq_dup_{i}"
            _unique_cte(rule, ctx, cte)
            failed = exp.func("coalesce", _scalar(exp.select(exp.Sum(this=exp.column("n"))).from_(exp.to_table(cte, quoted=True))), exp.Literal.number(0))
            sample_rows = exp.select(*[col(c) for c in rule.columns]).from_(exp.to_table(cte, quoted=True)).limit(samples)
            struct = exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier(c, quoted=True), expression=col(c)) for c in rule.columns])
            sample = _scalar(exp.select(exp.func("list", struct)).from_(exp.Subquery(this=sample_rows, alias=exp.TableAlias(this=exp.to_identifier("s")))))
            chosen += [
                exp.alias_(failed, f"{out}_failed", quoted=True),
                exp.alias_(exp.CountIf(this=_unique_applies(rule)), f"{out}_total", quoted=True),
                exp.alias_(sample, f"{out}_sample", quoted=True),
            ]
            plan.outputs[rule.id] = (f"{out}_failed", f"{out}_total", f"{out}_sample")
        elif isinstance(rule, n.RowRule):
            pred = ROW(rule)(rule, ctx)
            fails = _and(pred.applies, _negate(pred.passes))
            chosen += [
                exp.alias_(exp.CountIf(this=fails), f"{out}_failed", quoted=True),
                exp.alias_(exp.CountIf(this=pred.applies), f"{out}_total", quoted=True),
            ]
            plan.outputs[rule.id] = (f"{out}_failed", f"{out}_total")
            plan.samples[rule.id] = _sample_query(rule, fails.copy(), table, key, samples)
        elif isinstance(rule, n.Metric):
            if rule.func == "sql":
                agg = zero_for_empty(parse_expression(rule.sql or ""))
                value = _scalar(exp.select(agg).from_(table.copy()).where(_where(rule))) if rule.where else agg
            else:
                value = _metric_expr(rule)
            chosen.append(exp.alias_(value, f"{out}_value", quoted=True))
            plan.outputs[rule.id] = (f"{out}_value",)
        elif isinstance(rule, n.Freshness):
            chosen.append(exp.alias_(_filtered(exp.Max(this=col(rule.columns[0])), rule), f"{out}_value", quoted=True))
            plan.outputs[rule.id] = (f"{out}_value",)
        elif isinstance(rule, (n.Drift, n.SlicedMetric, n.EvalMetric)):
            from dqgate.compilers import duckdb_ml

            chosen += duckdb_ml.compile_rule(rule, ctx, out, plan)
        else:
            ROW(rule)  # raises UnsupportedRule
    statement = exp.select(*select).from_(table.copy())
    if ctx.ctes:
        statement.set(_WITH_ARG, exp.With(expressions=ctx.ctes))
    plan.statement = statement
    plan.formats = tuple(ctx.formats)
    return plan


def _sample_query(rule: n.RowRule, fails: exp.Expression, table: exp.Table, key: tuple[str, ...], samples: int) -> exp.Select:
    """Up to ``samples`` failing rows, with the key columns beside the rule's own."""
    shown = list(dict.fromkeys([*key, *rule.columns]))
    return exp.select(*[col(c) for c in shown]).from_(table.copy()).where(fails).limit(samples)


def row_test(rule: n.RowRule, types: dict[str, str], *, native: bool = False) -> exp.Expression:
    """The test a row rule applies to one non-NULL row, as the fused statement compiles it."""
    return ROW(rule)(rule, _Context(types, exp.to_table(SOURCE_VIEW, quoted=True), native=native)).passes


def row_flags(
    rules: tuple[n.Rule, ...], *, types: dict[str, str], source: str = SOURCE_VIEW, native: bool = False
) -> tuple[exp.Expression, tuple[str, ...]]:
    """``SELECT *, <one boolean per row rule: TRUE = this row fails it>`` for quarantine_rows.

    Returns the statement and the rule ids in column order (the flag columns are named
    by rule id). Uniqueness is a window count over the key, so every row of a repeated
    key is flagged, as the aggregate counts them.
    """
    table = exp.to_table(source, quoted=True)
    ctx = _Context(types, table, native=native)
    flags: list[exp.Expression] = [exp.Star()]
    ids: list[str] = []
    for rule in rules:
        if not isinstance(rule, n.RowRule):
            continue
        if isinstance(rule, n.Unique):
            applies = _unique_applies(rule)
            window = exp.Window(
                this=exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=applies.copy())),
                partition_by=[col(c) for c in rule.columns],
            )
            fails = _and(applies, exp.GT(this=window, expression=exp.Literal.number(1)))
        else:
            pred = ROW(rule)(rule, ctx)
            fails = _and(pred.applies, _negate(pred.passes))
        flags.append(exp.alias_(exp.func("coalesce", fails, exp.false()), rule.id, quoted=True))
        ids.append(rule.id)
    return exp.select(*flags).from_(table), tuple(ids)
