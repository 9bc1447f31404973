"""Recognise builtin metrics (``mean(x)``, ``quantile(x, 0.99)``, ``row_count``) in a metric string.

Anything that is not a builtin metric over one declared column is a SQL aggregate,
vetted by ``contract/sql.py``.
"""

from __future__ import annotations

import functools
import logging
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from dqgate.contract.sql_values import ParsedMetric
from dqgate.span import did_you_mean

# The metric functions of the contract language (the compilers give each its meaning).
BUILTIN_METRICS = (
    "row_count", "null_count", "null_fraction", "distinct_count", "min", "max",
    "mean", "stddev", "sum", "median", "quantile",
)  # fmt: skip

logging.getLogger("sqlglot").setLevel(logging.CRITICAL)

_ALIASES = {"avg": "mean", "stddev_samp": "stddev", "std": "stddev", "quantile_cont": "quantile", "count_distinct": "distinct_count"}
_DQ_ONLY = {"row_count", "null_count", "null_fraction", "distinct_count", "mean", "stddev", "quantile", "median"}


class MetricProblem(ValueError):
    """The metric string names a builtin metric wrongly."""


@functools.lru_cache(maxsize=1024)
def _tree(text: str) -> exp.Expression | None:
    """The parsed metric, kept per text: contracts repeat their metrics, and this module
    only reads the tree (never changes it). None when it does not parse."""
    try:
        return sqlglot.parse_one(text, read="duckdb")
    except SqlglotError:
        return None


def parse_metric(text: str, declared: dict[str, str]) -> ParsedMetric:
    """Classify ``text`` as a builtin metric or a SQL aggregate (``func == "sql"``)."""
    tree = _tree(text)
    if tree is None:
        return ParsedMetric("sql")  # let the SQL vetting report the parse error
    if isinstance(tree, exp.Column) and not tree.table:
        name = tree.name.lower()
        if name == "row_count":
            return ParsedMetric("row_count")
        hint = did_you_mean(tree.name, BUILTIN_METRICS)
        raise MetricProblem(f"unknown metric '{tree.name}'.{hint}".rstrip(".") if hint else f"unknown metric '{tree.name}'")
    if not isinstance(tree, exp.Func):
        return ParsedMetric("sql")
    name = (tree.name if isinstance(tree, exp.Anonymous) else tree.sql_name()).lower()
    name = _ALIASES.get(name, name)
    if isinstance(tree, exp.Anonymous) and name not in BUILTIN_METRICS:
        hint = did_you_mean(name, BUILTIN_METRICS)
        if hint and name not in ("count_if", "bool_and", "bool_or", "mode", "entropy", "kurtosis", "skewness"):
            raise MetricProblem(f"unknown metric '{name}'.{hint}")
        return ParsedMetric("sql")
    if name not in BUILTIN_METRICS:
        return ParsedMetric("sql")
    args = [a for a in ([tree.this] if tree.this is not None and not isinstance(tree.this, str) else []) + list(tree.expressions)]
    if isinstance(tree, exp.Quantile):
        args = [tree.this, tree.args.get("quantile")]
    if not args or not isinstance(args[0], exp.Column) or args[0].table:
        if name in _DQ_ONLY and isinstance(tree, exp.Anonymous):
            raise MetricProblem(f"metric '{name}' takes one column name, as in {name}(price)")
        return ParsedMetric("sql")
    column = declared.get(args[0].name)
    if column is None:
        hint = did_you_mean(args[0].name, declared.values())
        raise MetricProblem(f"unknown column '{args[0].name}' in metric '{text}'.{hint}".rstrip(".") if hint else f"unknown column '{args[0].name}' in metric '{text}'")
    if name == "quantile":
        q_node = args[1] if len(args) > 1 else None
        if not isinstance(q_node, exp.Literal) or q_node.is_string:
            raise MetricProblem("quantile takes a column and a number between 0 and 1, as in quantile(delay, 0.99)")
        q = float(q_node.this)
        if not 0.0 <= q <= 1.0:
            raise MetricProblem(f"quantile {q} is not between 0 and 1")
        return ParsedMetric("quantile", column, q)
    if len(args) > 1:
        raise MetricProblem(f"metric '{name}' takes one column, got {len(args)} arguments")
    return ParsedMetric(name, column)
