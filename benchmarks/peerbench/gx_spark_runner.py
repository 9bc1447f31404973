#!/usr/bin/env python3
"""Great Expectations 1.x on Spark: peerbench's 17 checks as one ExpectationSuite validated
against a Spark DataFrame (GX's Spark datasource, a whole-dataframe batch) on a local
SparkSession. Prints one JSON line (peerbench's runner shape).

Every suite kind has a built-in expectation: ExpectColumnValuesToNotBeNull (the
conditional one through a ``row_condition``; the null-fraction check with
``mostly = 1 - max``), ExpectColumnValuesToBeUnique (GX counts every row of a repeated
group, the suite's count), ...ToBeBetween / InSet / MatchRegex / ValueLengthsToBeBetween,
ExpectColumnPairValuesAToBeGreaterThanB(or_equal=True), and the table-row-count, mean,
max and min expectations. ``result_format=BASIC`` (counts, no failing-row lists). An
expectation GX refuses to build or raises on is reported as not expressible, with GX's
message.

  DQ_SPARK_MASTER=local[2] /work/venvs/gx-spark/bin/python gx_spark_runner.py --data FILE.parquet
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from datetime import datetime
from typing import Any

import spark_peer_session as S

warnings.filterwarnings("ignore")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")
DEFAULT_SUITE = "/work/shared/peerbench/suite.json"


def bound(value: Any) -> Any:
    """An ISO timestamp bound as a datetime (GX compares it with the column's values)."""
    if isinstance(value, str) and len(value) == 19 and value[10] == "T":
        return datetime.fromisoformat(value)
    return value


def expectation(check: dict[str, Any]) -> Any:
    """The GX expectation for one suite check."""
    import great_expectations.expectations as gxe

    kind, col = check["kind"], check.get("column")
    if kind == "not_null" and "where" in check:
        from great_expectations.expectations.row_conditions import Column

        where = check["where"]
        return gxe.ExpectColumnValuesToNotBeNull(column=col, row_condition=Column(where["column"]) == where["eq"])
    simple = {
        "not_null": lambda: gxe.ExpectColumnValuesToNotBeNull(column=col),
        "unique": lambda: gxe.ExpectColumnValuesToBeUnique(column=col),
        "between": lambda: gxe.ExpectColumnValuesToBeBetween(
            column=col, min_value=bound(check["min"]), max_value=bound(check["max"])),
        "in_set": lambda: gxe.ExpectColumnValuesToBeInSet(column=col, value_set=check["values"]),
        "regex": lambda: gxe.ExpectColumnValuesToMatchRegex(column=col, regex=check["pattern"]),
        "str_length_between": lambda: gxe.ExpectColumnValueLengthsToBeBetween(
            column=col, min_value=check["min"], max_value=check["max"]),
        "column_pair_ge": lambda: gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=check["column_a"], column_B=check["column_b"], or_equal=True),
        "row_count_between": lambda: gxe.ExpectTableRowCountToBeBetween(
            min_value=check["min"], max_value=check["max"]),
        "mean_between": lambda: gxe.ExpectColumnMeanToBeBetween(column=col, min_value=check["min"], max_value=check["max"]),
        "max_between": lambda: gxe.ExpectColumnMaxToBeBetween(column=col, min_value=check["min"], max_value=check["max"]),
        "min_between": lambda: gxe.ExpectColumnMinToBeBetween(column=col, min_value=check["min"], max_value=check["max"]),
        "null_fraction_max": lambda: gxe.ExpectColumnValuesToNotBeNull(column=col, mostly=1.0 - check["max"]),
    }  # fmt: skip
    return simple[kind]()


def raised(result: Any) -> str | None:
    """GX's exception message for a result that failed to compute, else None."""
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--suite", default=DEFAULT_SUITE)
    args = ap.parse_args()
    spec = S.load_suite(args.suite)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    spark = S.start_spark()
    started = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    frame = spark.read.parquet(args.data)
    batch = (context.data_sources.add_spark("spark").add_dataframe_asset("train")
             .add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame}))  # fmt: skip
    suite = gx.ExpectationSuite(name="peerbench")
    checks: dict[str, Any] = {}
    for check in spec["checks"]:
        try:
            exp = expectation(check)
        except Exception as exc:  # an expectation GX refuses to build
            checks[check["id"]] = S.not_expressible(f"{type(exc).__name__}: {exc}"[:300])
            continue
        exp.meta = {"check_id": check["id"]}
        suite.add_expectation(exp)
    outcome = batch.validate(suite, result_format="BASIC")
    by_id = {(r.expectation_config.meta or {}).get("check_id"): r for r in outcome.results}
    rows = None
    for check in spec["checks"]:
        cid = check["id"]
        if cid in checks:
            continue
        result = by_id.get(cid)
        message = raised(result) if result is not None else "no result returned"
        if message:
            checks[cid] = S.not_expressible("GX raised: " + message[:300])
            continue
        res = result.result or {}
        if check["level"] == "row":
            checks[cid] = S.row_count(res.get("unexpected_count"))
        elif check["kind"] == "null_fraction_max":
            checks[cid] = S.dataset_value(res.get("unexpected_percent") / 100.0, result.success)
        else:
            checks[cid] = S.dataset_value(res.get("observed_value"), result.success)
            if check["kind"] == "row_count_between":
                rows = res.get("observed_value")
    import pyspark

    S.emit("gx-spark", gx.__version__, rows, started, checks, pyspark=pyspark.__version__)
    spark.stop()


if __name__ == "__main__":
    main()
