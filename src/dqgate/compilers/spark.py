"""Spark SQL's spelling of the fused statement (``dq explain --engine spark``).

Exact quantiles are ``percentile(x, q)`` (Spark's exact aggregate; ``percentile_approx``
would be an approximation the contract did not ask for). Patterns and formats are
refused here until Spark runs them through dqgate's kernels (the shared refusals).
"""

from __future__ import annotations

from sqlglot import exp

from dqgate.compilers.duckdb.common import Dialect
from dqgate.ir import nodes as n


class Spark(Dialect):
    engine = "spark"
    sqlglot = "spark"

    def quantile(self, value: exp.Expression, q: float, rule: n.Rule) -> exp.Expression:
        return exp.Anonymous(this="percentile", expressions=[value, exp.Literal.number(q)])

    def records(self, fields: list[tuple[str, exp.Expression]]) -> exp.Expression:
        struct = exp.Struct(expressions=[exp.alias_(v, k, quoted=True) for k, v in fields])
        return exp.Anonymous(this="collect_list", expressions=[struct])


SPARK = Spark()
