"""contract/metric.py: a metric string is a builtin metric over one column, or a SQL aggregate."""

from __future__ import annotations

import pytest

from dqgate.contract import parse_contract
from dqgate.contract.metric import MetricProblem, ParsedMetric, parse_metric
from dqgate.ir import nodes as n
from dqgate.ir.plan import plan

DECLARED = {"dep_delay": "dep_delay", "carrier": "carrier", "my col": "my col", "Höhe": "Höhe"}


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("row_count", ParsedMetric("row_count")),
        ("ROW_COUNT", ParsedMetric("row_count")),
        ("mean(dep_delay)", ParsedMetric("mean", "dep_delay")),
        ("avg(dep_delay)", ParsedMetric("mean", "dep_delay")),
        ("stddev(dep_delay)", ParsedMetric("stddev", "dep_delay")),
        ("stddev_samp(dep_delay)", ParsedMetric("stddev", "dep_delay")),
        ("median(dep_delay)", ParsedMetric("median", "dep_delay")),
        ("quantile(dep_delay, 0.99)", ParsedMetric("quantile", "dep_delay", 0.99)),
        ("sum(dep_delay)", ParsedMetric("sum", "dep_delay")),
        ("min(carrier)", ParsedMetric("min", "carrier")),
        ("max(carrier)", ParsedMetric("max", "carrier")),
        ("null_count(carrier)", ParsedMetric("null_count", "carrier")),
        ("null_fraction(carrier)", ParsedMetric("null_fraction", "carrier")),
        ("distinct_count(carrier)", ParsedMetric("distinct_count", "carrier")),
        ("count_distinct(carrier)", ParsedMetric("distinct_count", "carrier")),
        ('mean("my col")', ParsedMetric("mean", "my col")),
        ('null_fraction("Höhe")', ParsedMetric("null_fraction", "Höhe")),  # names match exactly, case included
    ],
)
def test_builtin_metrics_are_recognised(text: str, parsed: ParsedMetric) -> None:
    assert parse_metric(text, DECLARED) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "count(*) FILTER (WHERE carrier = 'AA')",
        "sum(dep_delay) - min(dep_delay)",
        "count_if(carrier = 'AA')",
        "max(length(carrier))",
        "avg(dep_delay) * 2",
        "count(DISTINCT carrier)",
        "approx_count_distinct(carrier)",
    ],
)
def test_everything_else_is_a_sql_aggregate(text: str) -> None:
    assert parse_metric(text, DECLARED).func == "sql"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("meen(dep_delay)", "unknown metric 'meen'. Did you mean 'mean'?"),
        ("row_cont", "unknown metric 'row_cont'. Did you mean 'row_count'?"),
        ("rows", "unknown metric 'rows'"),
        ("mean(dep_dealy)", "unknown column 'dep_dealy' in metric 'mean(dep_dealy)'. Did you mean 'dep_delay'?"),
        ("mean(origin)", "unknown column 'origin' in metric 'mean(origin)'"),
        ('null_fraction("HÖHE")', "unknown column 'HÖHE' in metric 'null_fraction(\"HÖHE\")'. Did you mean 'Höhe'?"),
        ("quantile(dep_delay, 1.5)", "quantile 1.5 is not between 0 and 1"),
        ("quantile(dep_delay)", "quantile takes a column and a number between 0 and 1, as in quantile(delay, 0.99)"),
        ("mean(dep_delay, carrier)", "metric 'mean' takes one column, got 2 arguments"),
        ("null_fraction(1)", "metric 'null_fraction' takes one column name, as in null_fraction(price)"),
    ],
)
def test_a_wrong_builtin_metric_is_explained(text: str, message: str) -> None:
    with pytest.raises(MetricProblem) as info:
        parse_metric(text, DECLARED)
    assert str(info.value) == message


def test_metric_ids_follow_the_metric_and_names_override_them() -> None:
    contract = parse_contract(
        "dataset: t\nschema:\n  columns:\n    d: {type: float64}\n"
        "checks:\n"
        "  - {metric: avg(d)}\n"
        "  - {metric: 'quantile(d, 0.990)'}\n"
        "  - {metric: row_count, between: [1, 2]}\n"
        "  - {metric: 'count(*)  FILTER (WHERE d > 0)'}\n"
        "  - {metric: mean(d), name: typical_delay}\n"
        "  - {metric: mean(d)}\n",
        "c.yaml",
    )
    rules = plan(contract)
    assert [r.id for r in rules] == ["mean(d)", "quantile(d, 0.99)", "row_count", "count(*)  FILTER (WHERE d > 0)", "typical_delay", "mean(d)#2"]
    metrics = [r for r in rules if isinstance(r, n.Metric)]
    assert [(m.func, m.q, m.min, m.max) for m in metrics[:3]] == [("mean", None, None, None), ("quantile", 0.99, None, None), ("row_count", None, 1, 2)]
    assert metrics[3].sql == 'COUNT(*) FILTER(WHERE "d" > 0)'
