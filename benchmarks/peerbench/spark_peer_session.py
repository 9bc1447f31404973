"""The SparkSession and result record the Spark peer runners share (soda_spark_runner.py,
gx_spark_runner.py): standard library and pyspark only, because each runner runs in its
own virtualenv with the pyspark its peer accepts.

The session is configured like the hand-written aggregate's (spark_fused.py) and dq's
own (src/dqgate/runners/spark.py): ``DQ_SPARK_MASTER`` (default local[2]), no UI, no
progress bars, UTC session time zone, so the three differ only in what they ask Spark
to compute. The record printed is peerbench's runner shape (one JSON line: system,
version, rows, wall_s, checks), so bench_spark_peers.py reads every peer the same way.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def start_spark() -> Any:
    """A SparkSession on ``DQ_SPARK_MASTER`` whose Python workers run this interpreter."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(os.environ.get("DQ_SPARK_MASTER", "local[2]"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def load_suite(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def row_count(failed: Any, impl: str = "builtin", **extra: Any) -> dict[str, Any]:
    """A row check's result: the failing rows the peer reported."""
    return {"failed_rows": None if failed is None else int(failed), "impl": impl, **extra}


def dataset_value(value: Any, passed: Any, impl: str = "builtin") -> dict[str, Any]:
    """A dataset check's result: the observed metric and the peer's own verdict."""
    out: dict[str, Any] = {"passed": None if passed is None else bool(passed), "impl": impl}
    if value is not None:
        out["value"] = value if isinstance(value, int) else float(value)
    return out


def not_expressible(reason: str) -> dict[str, Any]:
    return {"unsupported": reason}


def emit(system: str, version: str, rows: Any, started: float, checks: dict[str, Any], **extra: Any) -> None:
    """Print the one JSON line the benchmark reads (wall_s: from first touching the data)."""
    record = {"system": system, "version": version, "rows": rows, "wall_s": round(time.perf_counter() - started, 3),
              "checks": checks, **extra}  # fmt: skip
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()


def spark_literal(value: Any) -> str:
    """A Spark SQL literal for a suite bound: numbers as they are, ISO timestamps as
    ``TIMESTAMP '...'`` (the session is UTC, so a naive bound means the same instant),
    strings quoted."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    text = str(value)
    if len(text) == 19 and text[10] == "T":
        return f"TIMESTAMP '{text.replace('T', ' ')}'"
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
