"""Spark SQL's spelling of the fused statement (``dq check --engine spark``, ``dq explain``).

What differs from the shared SQL (``compilers/duckdb/``):

* quantiles are ``percentile(x, q)``: Spark's exact aggregate, interpolating linearly as
  DuckDB's ``quantile_cont``; ``percentile_approx`` only where the contract wrote
  ``approx_quantile`` itself;
* lists of records (samples of repeated keys, ``by:`` groups) are
  ``collect_list(struct(...))``, which arrive at the driver as a list of Rows;
* patterns are ``RLIKE`` anchored at both ends, ``^(?:p)\\z`` (Java's ``$`` would also
  match before a final line break, RE2's full match does not); ``regexp_full_match`` in
  an ``expect:`` is rewritten the same way (:meth:`Spark.finish`);
* formats are calls of ``__dq_format_<name>``, which runners/spark.py registers as Arrow
  UDFs over the Cython kernels: the same code as on DuckDB, in Spark's Python workers;
* drift, ``by:`` slices and evaluation metrics are refused (UnsupportedRule, named):
  their batch side uses DuckDB's ``histogram`` and list aggregates, and no Spark
  spelling of them is tested against the oracle yet.

Key rules stay the shared ``GROUP BY ... HAVING count(*) > 1`` CTE: Spark groups the
keys in its executors, and only the counts and a few sample keys reach the driver.

A key rule's failing rows, repeated keys and sample keys are ONE scalar subquery over
the CTE returning a struct, read three times (``(SELECT struct(...) FROM dup).failed``):
Spark runs a subquery written the same way once, where three different subqueries
each grouped the keys again, a scan and a shuffle each (``benchmarks/README.md``,
session 6: 7 jobs and 14 stages become 5 and 9, those of the hand-written query).

A key rule's sample keys are a field of that struct, ``max_by(x, ord, k)`` (Spark 4.2
or later; it keeps up to k values in each task, so memory stays bounded). The failing
rows of the row rules that failed are each rule's own ``LIMIT`` query, as on DuckDB
(runners/spark.py): Spark collects a ``LIMIT`` incrementally, partition by partition,
and stops once it has k rows. They are not folded into the counting aggregate: an
aggregate like ``max_by`` there turns Spark's code-generated hash aggregate into a
sort-based one and slows every count (session 6); nor gathered by one ``max_by``
aggregate over the data after the counts, which reads all of it a second time (session
7: 23-29 s of a 10M-row check, against 1-3 s for the ``LIMIT`` queries). Before Spark
4.2 (:data:`SPARK_BEFORE_4_2`), the sample keys are a ``LIMIT`` subquery too.
"""

from __future__ import annotations

import copy

from sqlglot import exp

from dqgate.compilers.duckdb.common import FORMAT_FUNCTION, Context, Dialect, RowPredicate, and_, col, not_null, scalar, where_of
from dqgate.ir import nodes as n


class Spark(Dialect):
    engine = "spark"
    sqlglot = "spark"
    top_k = True  # max_by(x, ord, k): Spark 4.2 or later

    def repeated_keys(self, fields: list[tuple[str, exp.Expression]], keys: exp.Table, samples: int) -> tuple[exp.Expression, exp.Expression, exp.Expression]:
        """One scalar subquery returning a struct of all three, read three times: Spark runs
        one subquery written the same way once, where three different ones over the CTE
        each group the keys again (a scan and a shuffle each)."""
        items: list[exp.Expression] = [
            exp.alias_(exp.Sum(this=exp.column("n")), "failed", quoted=True),
            exp.alias_(exp.Count(this=exp.Star()), "groups", quoted=True),
        ]
        if self.top_k:
            items.append(exp.alias_(first_records(fields, samples), "sample", quoted=True))
        struct = exp.Struct(expressions=items)
        table = exp.to_table(keys.name, quoted=True)

        def field(name: str) -> exp.Expression:
            return exp.Dot(this=scalar(exp.select(struct.copy()).from_(table.copy())), expression=exp.to_identifier(name, quoted=True))

        sample = field("sample") if self.top_k else super().repeated_keys(fields, keys, samples)[1]
        return exp.func("coalesce", field("failed"), exp.Literal.number(0)), sample, field("groups")

    def before_top_k(self) -> Spark:
        """This dialect for a Spark without ``max_by(x, ord, k)`` (its tables shared)."""
        older = copy.copy(self)
        older.top_k = False
        return older

    def quantile(self, value: exp.Expression, q: float, rule: n.Rule) -> exp.Expression:
        return exp.Anonymous(this="percentile", expressions=[value, exp.Literal.number(q)])

    def records(self, fields: list[tuple[str, exp.Expression]]) -> exp.Expression:
        struct = exp.Struct(expressions=[exp.alias_(v, k, quoted=True) for k, v in fields])
        return exp.Anonymous(this="collect_list", expressions=[struct])

    def finish(self, tree: exp.Expression) -> exp.Expression:
        return tree.transform(_user_sql)


SPARK = Spark()
SPARK_BEFORE_4_2 = SPARK.before_top_k()


def first_records(fields: list[tuple[str, exp.Expression]], samples: int) -> exp.Expression:
    """Up to ``samples`` records of the rows aggregated: ``max_by(struct, 0, k)`` (all orders
    tie, so any k rows, as a ``LIMIT`` gives; bounded memory in each task)."""
    struct = exp.Struct(expressions=[exp.alias_(v.copy(), k, quoted=True) for k, v in fields])
    return exp.Anonymous(this="max_by", expressions=[struct, exp.Literal.number(0), exp.Literal.number(samples)])


def full_match(value: exp.Expression, pattern: exp.Expression) -> exp.Expression:
    """``value`` matches all of ``pattern`` (RE2's full match) in Java's regex: anchored ``RLIKE``."""
    if isinstance(pattern, exp.Literal) and pattern.is_string:
        anchored: exp.Expression = exp.Literal.string(f"^(?:{pattern.this})\\z")
    else:
        anchored = exp.func("concat", exp.Literal.string("^(?:"), pattern.copy(), exp.Literal.string(")\\z"))
    return exp.RegexpLike(this=value.copy(), expression=anchored)


def _user_sql(node: exp.Expression) -> exp.Expression:
    """What sqlglot writes for Spark with another meaning (or cost), in the finished statement."""
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.TIMESTAMP:
        # DuckDB's TIMESTAMP has no time zone: Spark's is TIMESTAMP_NTZ. As Spark's TIMESTAMP
        # (local time zone), a bound compared with a TIMESTAMP_NTZ column would cast the
        # column on every row instead of the literal once.
        return exp.DataType.build("TIMESTAMP_NTZ", dialect="spark")
    if isinstance(node, exp.RegexpFullMatch):
        return full_match(node.this, node.expression)
    if isinstance(node, exp.PercentileCont) and node.expression is not None:  # quantile_cont(x, q)
        return exp.Anonymous(this="percentile", expressions=[node.this.copy(), node.expression.copy()])
    if isinstance(node, exp.Quantile):  # quantile(x, q) as sqlglot reads DuckDB's
        return exp.Anonymous(this="percentile", expressions=[node.this.copy(), node.args["quantile"].copy()])
    return node


@SPARK.row.register(n.Pattern)
def _pattern(rule: n.Pattern, ctx: Context) -> RowPredicate:
    return RowPredicate(and_(where_of(rule), not_null(rule.column)), full_match(col(rule.column), exp.Literal.string(rule.regex)))


@SPARK.row.register(n.Format)
def _format(rule: n.Format, ctx: Context) -> RowPredicate:
    """The format kernel as an Arrow UDF (runners/spark.py registers ``ctx.formats``)."""
    if rule.format not in ctx.formats:
        ctx.formats.append(rule.format)
    test = exp.Anonymous(this=FORMAT_FUNCTION.format(rule.format), expressions=[col(rule.column)])
    return RowPredicate(and_(where_of(rule), not_null(rule.column)), test)


@SPARK.aggregate.register(n.Drift, n.EvalMetric, n.SlicedMetric)
def _refused(rule: n.Rule, ctx: Context, out: str) -> list[exp.Expression]:
    raise SPARK.refuse(rule, "drift, by: slices and evaluation metrics run on duckdb (dq check --engine duckdb)")
