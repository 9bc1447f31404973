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
"""

from __future__ import annotations

from sqlglot import exp

from dqgate.compilers.duckdb.common import FORMAT_FUNCTION, Context, Dialect, RowPredicate, and_, col, not_null, where_of
from dqgate.ir import nodes as n


class Spark(Dialect):
    engine = "spark"
    sqlglot = "spark"

    def quantile(self, value: exp.Expression, q: float, rule: n.Rule) -> exp.Expression:
        return exp.Anonymous(this="percentile", expressions=[value, exp.Literal.number(q)])

    def records(self, fields: list[tuple[str, exp.Expression]]) -> exp.Expression:
        struct = exp.Struct(expressions=[exp.alias_(v, k, quoted=True) for k, v in fields])
        return exp.Anonymous(this="collect_list", expressions=[struct])

    def finish(self, tree: exp.Expression) -> exp.Expression:
        return tree.transform(_user_sql)


SPARK = Spark()


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
