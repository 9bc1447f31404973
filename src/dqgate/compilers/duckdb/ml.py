"""DuckDB handlers for the ML rules: drift, metrics per slice, evaluation metrics.

* **Drift** adds aggregates to the fused scan itself: ``count_if(x <= edge)`` per PSI
  bin edge, ``histogram(x, points)`` (+ ``histogram_exact``) at the reference's points
  for KS, ``histogram(x)`` for categories. The reference side is already bound into the
  rule (:mod:`dqgate.runners.reference`): the reference is never scanned.
* **Slices** (``by:``) and **evaluation metrics** are a ``GROUP BY`` CTE of the same
  statement, read back as one list of structs: ``g0, g1, ...`` the group keys, then the
  values (``v`` for a metric; label ``l``, prediction ``p`` and count ``n`` for a
  confusion matrix; ``v`` for MAE, RMSE and ROC AUC). Results are built in
  ``runners/assemble_ml.py``. Each handler is registered on ``AGGREGATE``.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from dqgate.compilers.duckdb import common as base
from dqgate.compilers.duckdb.common import AGGREGATE, Context
from dqgate.ir import nodes as n
from dqgate.stats.drift import batch_query

CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "false_negative_rate", "false_positive_rate")


def _double(name: str) -> exp.Expression:
    return exp.cast(base.col(name), "DOUBLE")


def _number(value: float) -> exp.Expression:
    return base.literal(float(value))  # a knot may be ±inf (a reference column holding inf)


MAX_INT_SPAN = 100_000
_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")


def _integer_support(rule: n.Drift, ctx: Context) -> tuple[int, int] | None:
    """(min, max) of an exact integer reference of an integer column with a small span, else None.

    Then the batch side of KS is a hash ``histogram`` of the value clamped to
    ``[min - 1, max + 1]``: exact, bounded by the span, and far cheaper in DuckDB than
    counting at a thousand boundaries.
    """
    values = rule.ref.values if rule.ref is not None else None
    if not values or not ctx.types.get(rule.columns[0], "").upper().startswith(_INTEGER_TYPES):
        return None
    if not all(isinstance(v, int) or (isinstance(v, float) and v.is_integer()) for v, _ in values):
        return None
    lo, hi = int(values[0][0]), int(values[-1][0])
    return (lo, hi) if hi - lo <= MAX_INT_SPAN else None


@AGGREGATE.register(n.Drift)
def _drift(rule: n.Drift, ctx: Context, out: str) -> list[exp.Expression]:
    """The batch side of a drift statistic, over the rule's ``where`` rows (a FILTER clause)."""
    items = _drift_items(rule, ctx, out)
    for item in items:
        item.set("this", base.filtered(item.this, rule) if not isinstance(item.this, exp.Array) else
                 exp.Array(expressions=[base.filtered(e, rule) for e in item.this.expressions]))
    return items


def _drift_items(rule: n.Drift, ctx: Context, out: str) -> list[exp.Expression]:
    if rule.ref is None:
        return []
    query = batch_query(rule.method, rule.bins, rule.ref)
    column = rule.columns[0]
    span = _integer_support(rule, ctx) if query.kind == "points" else None
    if span is not None:
        lo, hi = exp.Literal.number(span[0] - 1), exp.Literal.number(span[1] + 1)
        clamped = exp.func("greatest", exp.func("least", base.col(column), hi), lo)
        # DuckDB's LEAST/GREATEST skip NULLs (a NULL would become max + 1): count non-NULLs only
        counted = exp.Filter(this=exp.func("histogram", clamped), expression=exp.Where(this=base.not_null(column)))
        return [exp.alias_(counted, f"{out}_values", quoted=True)]
    if query.kind == "bins":
        counts: list[exp.Expression] = [exp.CountIf(this=exp.LTE(this=_double(column), expression=_number(e))) for e in query.points]
        counts.append(exp.Count(this=base.col(column)))
        return [exp.alias_(exp.Array(expressions=counts), f"{out}_bins", quoted=True)]
    if query.kind == "points":
        points = exp.cast(exp.Array(expressions=[_number(p) for p in query.points]), "DOUBLE[]")
        items = [
            exp.alias_(exp.Count(this=base.col(column)), f"{out}_n", quoted=True),
            exp.alias_(exp.func("histogram", _double(column), points), f"{out}_le", quoted=True),
        ]
        if query.equal:
            items.append(exp.alias_(exp.func("histogram_exact", _double(column), points.copy()), f"{out}_eq", quoted=True))
        return items
    return [exp.alias_(exp.func("histogram", base.col(column)), f"{out}_categories", quoted=True)]


def _grouped(ctx: Context, name: str, query: exp.Select, fields: list[str], out: str) -> list[exp.Expression]:
    """Register ``query`` as CTE ``name``; its rows come back as one list of structs."""
    ctx.ctes.append(exp.CTE(this=query, alias=exp.TableAlias(this=exp.to_identifier(name, quoted=True))))
    records = ctx.dialect.records([(f, exp.column(f)) for f in fields])
    rows = exp.Subquery(this=exp.select(records).from_(exp.to_table(name, quoted=True)))
    return [exp.alias_(rows, f"{out}_groups", quoted=True)]


def _keys(by: tuple[str, ...]) -> list[exp.Expression]:
    return [exp.alias_(base.col(c), f"g{j}") for j, c in enumerate(by)]


def _group_by(query: exp.Select, by: tuple[str, ...]) -> exp.Select:
    return query.group_by(*[base.col(c) for c in by]) if by else query


@AGGREGATE.register(n.SlicedMetric)
def _sliced(rule: n.SlicedMetric, ctx: Context, out: str) -> list[exp.Expression]:
    metric = rule.metric
    if metric.func == "sql":
        value = base.zero_for_empty(base.user_sql(metric.sql or ""))
        query = exp.select(*_keys(rule.by), exp.alias_(value, "v")).from_(ctx.from_source()).where(base.where_of(metric))
    else:
        query = exp.select(*_keys(rule.by), exp.alias_(base.metric_expr(metric, ctx.dialect), "v")).from_(ctx.from_source())
    fields = [f"g{j}" for j in range(len(rule.by))] + ["v"]
    return _grouped(ctx, f"__dq_slice_{out}", _group_by(query, rule.by), fields, out)


def positive_test(column: str, positive: Any) -> exp.Expression:
    """``column = positive``, comparing as text when the positive class is text."""
    if isinstance(positive, str):
        return exp.EQ(this=exp.cast(base.col(column), "VARCHAR"), expression=exp.Literal.string(positive))
    return exp.EQ(this=base.col(column), expression=base.literal(positive))


@AGGREGATE.register(n.EvalMetric)
def _evaluation(rule: n.EvalMetric, ctx: Context, out: str) -> list[exp.Expression]:
    other = rule.score if rule.func == "roc_auc" else rule.prediction
    assert other is not None
    applies = base.and_(base.where_of(rule), base.not_null(rule.label, other))
    keys = [f"g{j}" for j in range(len(rule.by))]
    name = f"__dq_eval_{out}"
    if rule.func in CLASSIFICATION:
        labels = [exp.alias_(base.col(rule.label), "l"), exp.alias_(base.col(other), "p")]
        query = exp.select(*_keys(rule.by), *labels, exp.alias_(exp.Count(this=exp.Star()), "n")).from_(ctx.from_source()).where(applies)
        query = query.group_by(*[base.col(c) for c in (*rule.by, rule.label, other)])
        return _grouped(ctx, name, query, [*keys, "l", "p", "n"], out)
    if rule.func in ("mae", "rmse"):
        diff = exp.Sub(this=_double(rule.label), expression=_double(other))
        if rule.func == "mae":
            value: exp.Expression = exp.Avg(this=exp.Abs(this=diff))
        else:
            value = exp.Sqrt(this=exp.Avg(this=exp.Mul(this=exp.Paren(this=diff), expression=exp.Paren(this=diff.copy()))))
        query = exp.select(*_keys(rule.by), exp.alias_(value, "v")).from_(ctx.from_source()).where(applies)
        return _grouped(ctx, name, _group_by(query, rule.by), [*keys, "v"], out)
    return _roc_auc(rule, ctx, applies, out)


def _roc_auc(rule: n.EvalMetric, ctx: Context, applies: exp.Expression, out: str) -> list[exp.Expression]:
    """AUC as the Mann-Whitney U over average ranks (ties count one half), per group."""
    assert rule.score is not None
    keys = [f"g{j}" for j in range(len(rule.by))]
    part = [exp.column(k) for k in keys]
    score = _double(rule.score)
    ranked_name = f"__dq_rank_{out}"
    rank = exp.Window(this=exp.func("rank"), partition_by=[p.copy() for p in part], order=exp.Order(expressions=[exp.Ordered(this=exp.column("s"))]))
    ties = exp.Window(this=exp.Count(this=exp.Star()), partition_by=[*[p.copy() for p in part], exp.column("s")])
    inner = exp.select(*_keys(rule.by), exp.alias_(positive_test(rule.label, rule.positive), "pos"), exp.alias_(score, "s")).from_(ctx.from_source()).where(applies)
    avg_rank = exp.Add(this=rank, expression=exp.Div(this=exp.Paren(this=exp.Sub(this=ties, expression=exp.Literal.number(1))), expression=exp.Literal.number("2.0")))
    ranked = exp.select(*[exp.column(k) for k in keys], exp.column("pos"), exp.alias_(avg_rank, "r")).from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("i"))))
    ctx.ctes.append(exp.CTE(this=ranked, alias=exp.TableAlias(this=exp.to_identifier(ranked_name, quoted=True))))
    n_pos = exp.cast(exp.CountIf(this=exp.column("pos")), "DOUBLE")
    n_neg = exp.cast(exp.CountIf(this=exp.Not(this=exp.column("pos"))), "DOUBLE")
    rank_sum = exp.Filter(this=exp.Sum(this=exp.column("r")), expression=exp.Where(this=exp.column("pos")))
    u = exp.Sub(this=rank_sum, expression=exp.Div(this=exp.Mul(this=n_pos, expression=exp.Paren(this=exp.Add(this=n_pos.copy(), expression=exp.Literal.number(1)))), expression=exp.Literal.number(2)))
    auc = exp.Div(this=exp.Paren(this=u), expression=exp.func("nullif", exp.Mul(this=n_pos.copy(), expression=n_neg), exp.Literal.number(0)))
    query = exp.select(*[exp.column(k) for k in keys], exp.alias_(auc, "v")).from_(exp.to_table(ranked_name, quoted=True))
    if keys:
        query = query.group_by(*[exp.column(k) for k in keys])
    return _grouped(ctx, f"__dq_eval_{out}", query, [*keys, "v"], out)
