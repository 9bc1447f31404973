"""PostgreSQL's spelling of the fused statement: the whole check runs inside the server.

What differs from the shared SQL (``compilers/duckdb/``):

* ``count_if(p)`` is ``count(*) FILTER (WHERE p)`` (sqlglot's ``sum(CASE ...)`` would be
  NULL over no rows and slower); a ``FILTER`` already around it is merged in;
* quantiles are ``percentile_cont(q) WITHIN GROUP (ORDER BY x)``: exact, as DuckDB's
  ``quantile_cont`` (the shared default, which sqlglot writes so);
* lists of records (samples of repeated keys, ``by:`` groups) are
  ``json_agg(json_build_object(...))``, which psycopg reads back as a list of dicts;
* patterns run as PostgreSQL regexes only where compilers/regex_are.py writes one with
  RE2's exact meaning; the regular formats (email, uuid, ipv4) likewise, plus their byte
  limit (``octet_length``); every other format, and patterns outside that subset, are
  refused;
* reference and foreign-key rules (their references are files dqgate reads, not tables
  of this server), drift and evaluation metrics are refused (UnsupportedRule, named).
"""

from __future__ import annotations

from sqlglot import exp

from dqgate.compilers import regex_dfa
from dqgate.compilers.duckdb.common import Context, Dialect, RowPredicate, and_, col, not_null, where_of
from dqgate.compilers.duckdb.rows import FORMAT_DFAS
from dqgate.compilers.regex_are import to_are
from dqgate.ir import nodes as n


class Postgres(Dialect):
    engine = "postgres"
    sqlglot = "postgres"

    def records(self, fields: list[tuple[str, exp.Expression]]) -> exp.Expression:
        pairs: list[exp.Expression] = []
        for name, value in fields:
            pairs += [exp.Literal.string(name), value]
        return exp.Anonymous(this="json_agg", expressions=[exp.Anonymous(this="json_build_object", expressions=pairs)])

    def finish(self, tree: exp.Expression) -> exp.Expression:
        for node in list(tree.find_all(exp.CountIf)):
            counted = exp.Count(this=exp.Star())
            parent = node.parent
            if isinstance(parent, exp.Filter):  # count_if(p) FILTER (WHERE w): one filter, p AND w
                where = and_(exp.Paren(this=node.this.copy()), exp.Paren(this=parent.expression.this.copy()))
                parent.replace(exp.Filter(this=counted, expression=exp.Where(this=where)))
            else:
                node.replace(exp.Filter(this=counted, expression=exp.Where(this=node.this.copy())))
        return tree


POSTGRES = Postgres()


def _regex_test(rule: n.Rule, column: str, regex: str) -> exp.Expression:
    try:
        are = to_are(regex)
    except regex_dfa.Unsupported as exc:
        raise POSTGRES.refuse(rule, f"PostgreSQL's regex would not mean what RE2 means for this pattern: {exc}") from None
    return exp.RegexpLike(this=col(column), expression=exp.Literal.string(are))


@POSTGRES.row.register(n.Pattern)
def _pattern(rule: n.Pattern, ctx: Context) -> RowPredicate:
    return RowPredicate(and_(where_of(rule), not_null(rule.column)), _regex_test(rule, rule.column, rule.regex))


@POSTGRES.row.register(n.Format)
def _format(rule: n.Format, ctx: Context) -> RowPredicate:
    if rule.format not in FORMAT_DFAS:
        raise POSTGRES.refuse(rule, f"format '{rule.format}' needs dqgate's kernels (PostgreSQL runs email, uuid, ipv4)")
    regex, max_bytes = FORMAT_DFAS[rule.format]
    test = _regex_test(rule, rule.column, regex)
    if max_bytes is not None:
        length = exp.Anonymous(this="octet_length", expressions=[col(rule.column)])
        test = and_(test, exp.LTE(this=length, expression=exp.Literal.number(max_bytes)))
    return RowPredicate(and_(where_of(rule), not_null(rule.column)), test)


@POSTGRES.row.register(n.Reference, n.ForeignKey)
def _reference(rule: n.Rule, ctx: Context) -> RowPredicate:
    raise POSTGRES.refuse(rule, "its reference is a file, not a table of this server")


@POSTGRES.aggregate.register(n.Drift, n.EvalMetric)
def _refused(rule: n.Rule, ctx: Context, out: str) -> list[exp.Expression]:
    raise POSTGRES.refuse(rule, "drift and evaluation metrics run on duckdb only")
