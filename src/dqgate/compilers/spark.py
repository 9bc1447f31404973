"""IR -> one fused Spark SQL statement: the DuckDB plan's sqlglot tree, rewritten where
Spark spells or means a thing differently, then written in Spark's dialect.

The shared tree (compilers/duckdb) already says everything once: ``count_if`` pairs
per row rule, one aggregate per metric, a ``GROUP BY`` CTE per key rule (Spark groups
the keys in its executors: no key reaches the driver), ``IN (SELECT ...)`` lookups
for references, ``LIMIT`` sample queries. What differs is dialect, rewritten here on
the tree (never on text):

* quantiles are the exact ``percentile`` (linear interpolation, as DuckDB's
  ``quantile_cont``), never ``percentile_approx`` unless the contract wrote
  ``approx_quantile`` itself;
* ``list_position([...], x) IS NOT NULL`` (DuckDB's dictionary-friendly set test) is
  ``x IN (...)``;
* ``regexp_full_match`` is ``RLIKE`` anchored at both ends (``\\z``: Java's ``$``
  would also match before a final newline);
* ``list(...)`` of sample structs is ``collect_list``;
* formats stay calls of ``__dq_format_<name>``: the runner registers each as an Arrow
  UDF over the Cython kernels (runners/spark.py).

Drift, ``by:`` slices and evaluation metrics are refused with ``UnsupportedRule``
(their batch side needs DuckDB's ``histogram`` and list aggregates); Spark runs
every other rule kind exactly.
"""

from __future__ import annotations

from sqlglot import exp

from dqgate.compilers import duckdb as shared
from dqgate.errors import UnsupportedRule
from dqgate.ir import nodes as n

DIALECT = "spark"
ENGINE = "spark"
SOURCE_VIEW = shared.SOURCE_VIEW
FORMAT_FUNCTION = shared.FORMAT_FUNCTION

# Rule kinds Spark refuses, and why (docs/engines-spark.md lists them).
REFUSED: dict[type[n.Rule], str] = {
    n.Drift: "drift statistics run on duckdb (dq check --engine duckdb)",
    n.SlicedMetric: "metrics per slice (by:) run on duckdb",
    n.EvalMetric: "evaluation metrics run on duckdb",
}


def refuse_unsupported(rules: tuple[n.Rule, ...]) -> None:
    """Raise UnsupportedRule for the first rule Spark cannot run exactly."""
    for rule in rules:
        why = REFUSED.get(type(rule))
        if why is not None:
            raise UnsupportedRule(ENGINE, rule.id, type(rule).__name__, why)


def compile_plan(
    rules: tuple[n.Rule, ...],
    *,
    types: dict[str, str],
    key: tuple[str, ...] = (),
    samples: int = 5,
    source: str = SOURCE_VIEW,
) -> shared.CompiledPlan:
    """The fused statement and sample queries of ``rules``, in Spark's dialect.

    ``types`` are the data's column types spelled as DuckDB spells them (the runner maps
    Spark's schema), so literals are cast the same way on both engines.
    """
    refuse_unsupported(rules)
    plan = shared.compile_plan(rules, types=types, key=key, samples=samples, source=source)
    plan.statement = to_spark(plan.statement)
    plan.samples = {rule_id: to_spark(query) for rule_id, query in plan.samples.items()}
    return plan


def sql(tree: exp.Expression, *, pretty: bool = False) -> str:
    """A rewritten tree as Spark SQL text."""
    return tree.sql(DIALECT, pretty=pretty)


def to_spark(tree: exp.Expression) -> exp.Expression:
    """``tree`` (DuckDB's meaning) rewritten so that Spark computes the same thing."""
    return tree.copy().transform(_rewrite)


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Not) and _is_list_position_found(node.this):
        found = node.this.this
        values, value = found.expressions
        return exp.In(this=value.copy(), expressions=[v.copy() for v in values.expressions])
    if isinstance(node, exp.RegexpFullMatch):
        return exp.RegexpLike(this=node.this.copy(), expression=_anchored(node.expression))
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return exp.Anonymous(this="percentile", expressions=[node.this.copy(), node.expression.copy()])
    if isinstance(node, exp.Quantile):
        return exp.Anonymous(this="percentile", expressions=[node.this.copy(), node.args["quantile"].copy()])
    if isinstance(node, exp.List) and len(node.expressions) == 1:  # DuckDB's list(x) aggregate
        return exp.ArrayAgg(this=node.expressions[0].copy())
    return node


def _is_list_position_found(node: exp.Expression) -> bool:
    """``list_position(ARRAY, x) IS NULL`` as compilers/duckdb/rows.py writes a set test."""
    return (
        isinstance(node, exp.Is)
        and isinstance(node.expression, exp.Null)
        and isinstance(node.this, exp.Anonymous)
        and str(node.this.this).lower() == "list_position"
        and isinstance(node.this.expressions[0], exp.Array)
    )


def _anchored(pattern: exp.Expression) -> exp.Expression:
    """The pattern matching whole values only: ``^(?:p)\\z`` (Java's ``$`` also matches
    before a final line break; RE2's full match does not)."""
    if isinstance(pattern, exp.Literal) and pattern.is_string:
        return exp.Literal.string(f"^(?:{pattern.this})\\z")
    return exp.func("concat", exp.Literal.string("^(?:"), pattern.copy(), exp.Literal.string(")\\z"))
