"""IR -> one fused SQL statement, built as a sqlglot tree (never by pasting strings),
in DuckDB's dialect or another's (:class:`~dqgate.compilers.duckdb.common.Dialect`;
``compilers/dialects.py`` finds one by engine name).

Every row rule becomes two aggregates of the same scan, ``count_if(applies AND NOT
passes)`` and ``count_if(applies)``; every metric one aggregate. Uniqueness needs a
GROUP BY: it is a CTE of the same statement, read three times (count, groups and
sample), which DuckDB materialises once (Spark reads one subquery returning all three:
``Spark.repeated_keys``). Reference rules are ``IN (SELECT ...)`` over the
reference's view. Failing-row samples are separate ``LIMIT`` queries, built here but
run only for rules that failed.

"""

from __future__ import annotations

from sqlglot import exp

from dqgate.compilers.duckdb import ml as _ml  # noqa: F401  (registers the ML handlers)
from dqgate.compilers.duckdb import rows as _rows  # noqa: F401  (registers the row handlers)
from dqgate.compilers.duckdb.common import (
    _WITH_ARG, DFA_MATCH, DIALECT, FORMAT_FUNCTION, KEY_REPEATS, SOURCE_VIEW, CompiledPlan, Context, Dialect,
    RowPredicate, and_, col, data_column, data_names, engine_name, filtered, literal, metric_expr, negate, not_null,
    scalar, user_sql, where_of, zero_for_empty,
)  # fmt: skip
from dqgate.compilers.duckdb.dialect import DUCKDB, INTEGER_TYPES, dfa_table
from dqgate.compilers.duckdb.rows import FORMAT_DFAS
from dqgate.ir import nodes as n

__all__ = [
    "DFA_MATCH", "DIALECT", "DUCKDB", "FORMAT_DFAS", "FORMAT_FUNCTION", "INTEGER_TYPES", "KEY_REPEATS", "SOURCE_VIEW",
    "CompiledPlan", "Dialect", "RowPredicate", "col", "compile_plan", "data_column", "data_names", "dfa_table",
    "engine_name", "flag_column", "literal", "row_flags", "row_test", "zero_for_empty",
]  # fmt: skip


def _unique_applies(rule: n.Unique) -> exp.Expression:
    """The rows a key rule judges: its ``where``, and unless NULLs are equal, no NULL key column
    (GROUP BY and PARTITION BY already put NULL keys together, as ``nulls: equal`` means)."""
    return and_(where_of(rule), None if rule.nulls_equal else not_null(*rule.columns))


def _unique_cte(rule: n.Unique, ctx: Context, name: str) -> None:
    keys = [col(c) for c in rule.columns]
    query = (
        exp.select(*keys, exp.alias_(exp.Count(this=exp.Star()), "n"))
        .from_(ctx.from_source())
        .where(_unique_applies(rule))
        .group_by(*[k.copy() for k in keys])
        .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
    )
    ctx.ctes.append(exp.CTE(this=query, alias=exp.TableAlias(this=exp.to_identifier(name, quoted=True))))



def compile_plan(
    rules: tuple[n.Rule, ...],
    *,
    types: dict[str, str],
    key: tuple[str, ...] = (),
    samples: int = 5,
    source: str | exp.Table = SOURCE_VIEW,
    counted: frozenset[str] = frozenset(),
    marks: dict[str, tuple[int | exp.Expression, int | exp.Expression]] | None = None,
    decided: frozenset[str] = frozenset(),
    native: bool = False,
    dialect: Dialect = DUCKDB,
) -> CompiledPlan:
    """Compile every query-evaluated rule into one statement over ``source``, in ``dialect``.

    Args:
        rules: the planned rules (schema rules are skipped: decided from the schema).
        types: the data's DuckDB column types, for casting literals.
        key: columns shown beside failing values in samples.
        samples: failing-row samples per failing rule.
        source: the view (or table) holding the data: a name, or a table (``schema.name``).
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
        dialect: the engine the statement is for (UnsupportedRule names a rule it cannot run).
    """
    table = source.copy() if isinstance(source, exp.Table) else exp.to_table(source, quoted=True)
    ctx = Context(types, table, native=native, dialect=dialect)
    marks = marks or {}
    select: list[exp.Expression] = [exp.alias_(exp.Count(this=exp.Star()), "__rows", quoted=True)]
    plan = CompiledPlan(statement=exp.select("1"), dialect=dialect.sqlglot)
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
            plan.outputs[rule.id] = (f"{out}_failed", f"{out}_total", f"{out}_sample", f"{out}_groups")
            if rule.id in marks:
                low, span = marks[rule.id]
                # low and span may be expressions: a compiled check kept on disk binds them (runners/compiled.py)
                args = [col(rule.columns[0]), *(v if isinstance(v, exp.Expression) else exp.Literal.number(v) for v in (low, span, samples))]
                chosen.append(exp.alias_(exp.Anonymous(this=KEY_REPEATS, expressions=args), f"{out}_marks", quoted=True))
                plan.marks[rule.id] = f"{out}_marks"
        elif isinstance(rule, n.Unique):
            cte = f"__dq_dup_{i}"
            _unique_cte(rule, ctx, cte)
            failed, sample, groups = dialect.repeated_keys([(engine_name(c), col(c)) for c in rule.columns], exp.to_table(cte, quoted=True), samples)
            chosen += [
                exp.alias_(failed, f"{out}_failed", quoted=True),
                exp.alias_(exp.CountIf(this=_unique_applies(rule)), f"{out}_total", quoted=True),
                exp.alias_(sample, f"{out}_sample", quoted=True),
                exp.alias_(groups, f"{out}_groups", quoted=True),
            ]
            plan.outputs[rule.id] = (f"{out}_failed", f"{out}_total", f"{out}_sample", f"{out}_groups")
        elif isinstance(rule, n.RowRule):
            pred = ctx.row(rule)(rule, ctx)
            fails = and_(pred.applies, negate(pred.passes))
            chosen += [
                exp.alias_(exp.CountIf(this=fails), f"{out}_failed", quoted=True),
                exp.alias_(exp.CountIf(this=pred.applies), f"{out}_total", quoted=True),
            ]
            plan.outputs[rule.id] = (f"{out}_failed", f"{out}_total")
            plan.samples[rule.id] = _sample_query(rule, fails.copy(), table, key, samples)
        elif isinstance(rule, n.Metric):
            if rule.func == "sql":
                agg = zero_for_empty(user_sql(rule.sql or ""))
                value = scalar(exp.select(agg).from_(table.copy()).where(where_of(rule))) if rule.where else agg
            else:
                value = metric_expr(rule, dialect)
            chosen.append(exp.alias_(value, f"{out}_value", quoted=True))
            plan.outputs[rule.id] = (f"{out}_value",)
        elif isinstance(rule, n.Freshness):
            chosen.append(exp.alias_(filtered(exp.Max(this=col(rule.columns[0])), rule), f"{out}_value", quoted=True))
            plan.outputs[rule.id] = (f"{out}_value",)
        elif type(rule) in dialect.aggregate:
            items = dialect.aggregate(rule)(rule, ctx, out)
            plan.outputs[rule.id] = tuple(item.alias for item in items)
            chosen += items
        else:
            ctx.row(rule)  # raises UnsupportedRule
    statement = exp.select(*select).from_(table.copy())
    if ctx.ctes:
        statement.set(_WITH_ARG, exp.With(expressions=ctx.ctes))
    plan.statement = dialect.finish(statement)
    plan.samples = {rule_id: dialect.finish(query) for rule_id, query in plan.samples.items()}
    plan.formats = tuple(ctx.formats)
    return plan


def _sample_query(rule: n.RowRule, fails: exp.Expression, table: exp.Table, key: tuple[str, ...], samples: int) -> exp.Select:
    """Up to ``samples`` failing rows, with the key columns beside the rule's own."""
    shown = list(dict.fromkeys([*key, *rule.columns]))
    return exp.select(*[col(c) for c in shown]).from_(table.copy()).where(fails).limit(samples)


def row_test(rule: n.RowRule, types: dict[str, str], *, native: bool = False, dialect: Dialect = DUCKDB) -> exp.Expression:
    """The test a row rule applies to one non-NULL row, as the fused statement compiles it."""
    ctx = Context(types, exp.to_table(SOURCE_VIEW, quoted=True), native=native, dialect=dialect)
    return ctx.row(rule)(rule, ctx).passes


def row_flags(
    rules: tuple[n.Rule, ...], *, types: dict[str, str], source: str = SOURCE_VIEW, native: bool = False,
    dialect: Dialect = DUCKDB,
) -> tuple[exp.Expression, tuple[str, ...]]:
    """``SELECT *, <one boolean per row rule: TRUE = this row fails it>`` for quarantine_rows.

    Returns the statement and the rule ids in column order; the flag of ``ids[k]`` is
    column :func:`flag_column` ``(k)``, not the id itself: ids that differ only in case
    ("a.range", "A.range") would be one column to DuckDB. Uniqueness is a window count
    over the key, so every row of a repeated key is flagged, as the aggregate counts them.
    """
    table = exp.to_table(source, quoted=True)
    ctx = Context(types, table, native=native, dialect=dialect)
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
            fails = and_(applies, exp.GT(this=window, expression=exp.Literal.number(1)))
        else:
            pred = ctx.row(rule)(rule, ctx)
            fails = and_(pred.applies, negate(pred.passes))
        flags.append(exp.alias_(exp.func("coalesce", fails, exp.false()), flag_column(len(ids)), quoted=True))
        ids.append(rule.id)
    return dialect.finish(exp.select(*flags).from_(table)), tuple(ids)


def flag_column(k: int) -> str:
    """The name of the ``k``-th flag column of :func:`row_flags`."""
    return f"__dq_flag_{k}"
