#!/usr/bin/env python3
"""The 17 peerbench checks as ONE hand-written Spark SQL aggregate: the floor `dq check
--engine spark` is measured against (benchmarks/bench_spark.py).

What a careful engineer would write by hand: one scan with a ``count_if`` per row check
and an aggregate per dataset check, uniqueness as a ``GROUP BY id HAVING count(*) > 1``
subquery (rows in repeated groups, the suite's convention). Starts its own SparkSession
(``DQ_SPARK_MASTER``, default local[2]) and prints one JSON object: suite id ->
failed rows or value.

  python benchmarks/peerbench/spark_fused.py --data /path/peerbench_10000000.parquet
"""

from __future__ import annotations

import argparse
import json
import os
import sys

SQL = r"""
WITH dup AS (SELECT id, count(*) AS n FROM t WHERE id IS NOT NULL GROUP BY id HAVING count(*) > 1)
SELECT
  count(*) AS row_count_between,
  count_if(age IS NULL) AS age_not_null,
  count_if(email IS NULL) AS email_not_null,
  count_if(country IS NULL) AS country_not_null,
  coalesce((SELECT sum(n) FROM dup), 0) AS id_unique,
  count_if(age < 0 OR age > 120) AS age_between,
  count_if(score < 0.0 OR score > 1.0) AS score_between,
  count_if(start_ts < TIMESTAMP_NTZ'2023-01-01 00:00:00' OR start_ts > TIMESTAMP_NTZ'2025-01-01 00:00:00') AS start_ts_between,
  count_if(country NOT IN ('US', 'GB', 'DE', 'FR', 'IN', 'BR', 'JP', 'CN', 'CA', 'AU')) AS country_in_set,
  count_if(NOT email RLIKE '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$') AS email_regex,
  count_if(length(product_code) < 6 OR length(product_code) > 12) AS product_code_length,
  count_if(end_ts < start_ts) AS ts_order,
  count_if(split = 'train' AND label IS NULL) AS label_not_null_if_train,
  avg(income) AS income_mean_between,
  max(score) AS score_max_between,
  min(income) AS income_min_between,
  count_if(weight IS NULL) / count(*) AS weight_null_fraction_max
FROM t
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    args = ap.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(os.environ.get("DQ_SPARK_MASTER", "local[2]"))
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC").getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.read.parquet(args.data).createOrReplaceTempView("t")
    row = spark.sql(SQL).collect()[0].asDict()
    print(json.dumps(row, default=float))
    spark.stop()


if __name__ == "__main__":
    main()
