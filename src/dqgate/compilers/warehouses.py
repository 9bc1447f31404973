"""Snowflake, BigQuery and Trino: compiled only (``dq explain --engine ...``).

dqgate never runs these and no test talks to a live server; the golden files
(tests/compilers/golden_dialects/) pin the statements a person would run by hand. What
sqlglot cannot translate with the same meaning is refused, never approximated:

* patterns and formats everywhere but BigQuery (Snowflake's and Trino's regexes are
  not RE2); BigQuery is RE2, so a pattern is ``REGEXP_CONTAINS(x, '^(?:...)$')``;
* quantiles on BigQuery and Trino (no exact aggregate percentile: BigQuery's
  ``PERCENTILE_CONT`` is a window function, Trino has only ``approx_percentile``);
* reference rules, drift and evaluation metrics (their inputs are files dqgate reads).
"""

from __future__ import annotations

from sqlglot import exp

from dqgate.compilers.duckdb.common import Context, Dialect, RowPredicate, and_, col, not_null, where_of
from dqgate.ir import nodes as n


class Warehouse(Dialect):
    """A compiled-only dialect; ``exact_quantiles`` says whether it has an exact aggregate one."""

    exact_quantiles = True

    def __init__(self) -> None:
        super().__init__()
        self.row.register(n.Reference, n.ForeignKey)(self._file_input)
        self.aggregate.register(n.Drift, n.EvalMetric)(self._file_input)

    def _file_input(self, rule: n.Rule, *_: object) -> RowPredicate:
        raise self.refuse(rule, "its input is a file dqgate reads, not a table of the warehouse")

    def quantile(self, value: exp.Expression, q: float, rule: n.Rule) -> exp.Expression:
        if not self.exact_quantiles:
            raise self.refuse(rule, f"{self.engine} has no exact aggregate quantile (only approximations)")
        return super().quantile(value, q, rule)


class Snowflake(Warehouse):
    engine = "snowflake"
    sqlglot = "snowflake"

    def records(self, fields: list[tuple[str, exp.Expression]]) -> exp.Expression:
        pairs: list[exp.Expression] = []
        for name, value in fields:
            pairs += [exp.Literal.string(name), value]
        return exp.Anonymous(this="array_agg", expressions=[exp.Anonymous(this="object_construct", expressions=pairs)])


class BigQuery(Warehouse):
    engine = "bigquery"
    sqlglot = "bigquery"
    exact_quantiles = False

    def __init__(self) -> None:
        super().__init__()
        self.row.register(n.Pattern)(_bigquery_pattern)

    def records(self, fields: list[tuple[str, exp.Expression]]) -> exp.Expression:
        struct = exp.Struct(expressions=[exp.alias_(v, k, quoted=True) for k, v in fields])
        return exp.Anonymous(this="array_agg", expressions=[struct])


class Trino(Warehouse):
    engine = "trino"
    sqlglot = "trino"
    exact_quantiles = False

    def records(self, fields: list[tuple[str, exp.Expression]]) -> exp.Expression:
        keys = exp.Array(expressions=[exp.Literal.string(k) for k, _ in fields])
        values = exp.Array(expressions=[exp.cast(v, "VARCHAR") for _, v in fields])
        return exp.Anonymous(this="array_agg", expressions=[exp.Anonymous(this="map", expressions=[keys, values])])


def _bigquery_pattern(rule: n.Pattern, ctx: Context) -> RowPredicate:
    """BigQuery's regexes are RE2: the pattern keeps its meaning, anchored at both ends."""
    anchored = exp.Literal.string(f"^(?:{rule.regex})$")
    test = exp.Anonymous(this="regexp_contains", expressions=[col(rule.column), anchored])
    return RowPredicate(and_(where_of(rule), not_null(rule.column)), test)


SNOWFLAKE = Snowflake()
BIGQUERY = BigQuery()
TRINO = Trino()
