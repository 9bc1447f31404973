#!/usr/bin/env python3
"""Soda Core v3 on Spark (soda-core-spark-df): peerbench's 17 checks as SodaCL, run on a
local SparkSession over the Parquet file. Prints one JSON line (peerbench's runner shape).

Soda's spark-df data source queries a temporary view of a Spark DataFrame
(``add_spark_session``); SodaCL's metrics of one dataset (and of each ``filter``) are
fused by Soda into aggregate queries; ``duplicate_count`` and ``failed rows`` checks run
queries of their own. Failing-row samples are off (``samples limit: 0``) so only the
checks are timed.

How each suite kind is written, and what Soda reports:
- not_null: ``missing_count(col) = 0`` (the conditional one with ``filter: split = 'train'``);
- unique: ``duplicate_count(id) = 0``: Soda counts the distinct values that repeat, not the
  rows in repeated groups (the suite's count): its number is expected.json's
  ``alt.duplicated_values``;
- numeric between, in_set, regex, length: ``invalid_count`` with ``valid min/max``,
  ``valid values``, ``valid regex``, ``valid min/max length``;
- the timestamp range and ``end_ts >= start_ts``: SodaCL has no validity bound for
  timestamps nor a two-column rule, so both are ``failed rows`` checks with a SQL
  ``fail condition`` (reported as ``sql-expression``);
- dataset checks: ``row_count``, ``avg``, ``max``, ``min``, ``missing_percent``.

  DQ_SPARK_MASTER=local[2] /work/venvs/soda-spark/bin/python soda_spark_runner.py --data FILE.parquet
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import spark_peer_session as S

HERE = Path(__file__).resolve().parent
DEFAULT_SUITE = "/work/shared/peerbench/suite.json"


def sodacl_check(check: dict[str, Any]) -> tuple[str, list[str], str]:
    """The SodaCL header, its configuration lines and how the check is implemented."""
    kind, col = check["kind"], check.get("column")
    if kind == "not_null":
        where = check.get("where")
        config = [f"filter: {where['column']} = {S.spark_literal(where['eq'])}"] if where else []
        return f"missing_count({col}) = 0", config, "builtin"
    if kind == "unique":
        return f"duplicate_count({col}) = 0", [], "builtin"
    if kind == "between" and isinstance(check["min"], str):
        cond = f"{col} < {S.spark_literal(check['min'])} OR {col} > {S.spark_literal(check['max'])}"
        return "failed rows", [f"fail condition: {json.dumps(cond)}"], "sql-expression"
    if kind == "between":
        return f"invalid_count({col}) = 0", [f"valid min: {check['min']}", f"valid max: {check['max']}"], "builtin"
    if kind == "in_set":
        return f"invalid_count({col}) = 0", [f"valid values: {json.dumps(check['values'])}"], "builtin"
    if kind == "regex":
        return f"invalid_count({col}) = 0", [f"valid regex: {json.dumps(check['pattern'])}"], "builtin"
    if kind == "str_length_between":
        lengths = [f"valid min length: {check['min']}", f"valid max length: {check['max']}"]
        return f"invalid_count({col}) = 0", lengths, "builtin"
    if kind == "column_pair_ge":
        cond = f"{check['column_a']} < {check['column_b']}"
        return "failed rows", [f"fail condition: {json.dumps(cond)}"], "sql-expression"
    if kind == "row_count_between":
        return f"row_count between {check['min']} and {check['max']}", [], "builtin"
    if kind == "mean_between":
        return f"avg({col}) between {check['min']} and {check['max']}", [], "builtin"
    if kind in ("max_between", "min_between"):
        fn = kind.split("_")[0]
        lo, hi = check.get("min"), check.get("max")
        if hi is None:
            return f"{fn}({col}) >= {lo}", [], "builtin"
        if lo is None:
            return f"{fn}({col}) <= {hi}", [], "builtin"
        return f"{fn}({col}) between {lo} and {hi}", [], "builtin"
    if kind == "null_fraction_max":
        return f"missing_percent({col}) <= {check['max'] * 100}", [], "builtin"
    raise ValueError(f"no SodaCL for suite kind {kind}")


def sodacl(suite: dict[str, Any], table: str) -> tuple[str, dict[str, str]]:
    """The whole suite as one SodaCL document; each check named by its suite id."""
    lines, impl = [f"checks for {table}:"], {}
    for check in suite["checks"]:
        header, config, impl[check["id"]] = sodacl_check(check)
        lines.append(f"  - {header}:")
        lines += [f"      {c}" for c in [f"name: {check['id']}", *config, "samples limit: 0"]]
    return "\n".join(lines) + "\n", impl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--suite", default=DEFAULT_SUITE)
    args = ap.parse_args()
    suite = S.load_suite(args.suite)
    document, impl = sodacl(suite, "train")
    from soda.__version__ import SODA_CORE_VERSION
    from soda.scan import Scan

    spark = S.start_spark()
    started = time.perf_counter()
    spark.read.parquet(args.data).createOrReplaceTempView("train")
    scan = Scan()
    scan.disable_telemetry()
    scan.set_data_source_name("spark_df")
    scan.add_spark_session(spark, data_source_name="spark_df")
    scan.add_sodacl_yaml_str(document)
    scan.execute()
    results = scan.get_scan_results()
    by_name = {r.get("name"): r for r in results.get("checks", [])}
    checks: dict[str, Any] = {}
    rows = None
    for check in suite["checks"]:
        cid, result = check["id"], by_name.get(check["id"])
        if result is None or result.get("outcome") is None:
            checks[cid] = S.not_expressible("Soda returned no outcome (see its logs)")
            continue
        value = (result.get("diagnostics") or {}).get("value")
        if check["level"] == "row":
            extra = {"semantics": "duplicated_values"} if check["kind"] == "unique" else {}
            checks[cid] = S.row_count(value, impl[cid], **extra)
            continue
        if check["kind"] == "null_fraction_max" and value is not None:
            value = value / 100.0
        if check["kind"] == "row_count_between":
            rows = value
        checks[cid] = S.dataset_value(value, result["outcome"] == "pass", impl[cid])
    errors = [log.get("message", "")[:200] for log in results.get("logs", []) if log.get("level") == "ERROR"]
    import pyspark

    S.emit("soda-core-spark-df", SODA_CORE_VERSION, rows, started, checks, pyspark=pyspark.__version__,
           errors=errors[:5])  # fmt: skip
    spark.stop()


if __name__ == "__main__":
    main()
