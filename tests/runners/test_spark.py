"""The Spark engine's contract with its user, beyond the parity of results
(tests/parity/test_spark_parity.py): what it refuses, in one line and before Spark
starts, and how it meets a Spark DataFrame.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dqgate
from dqgate.errors import UnsupportedRule

SRC = Path(dqgate.__file__).resolve().parents[1]  # subprocesses import the same dqgate as the tests

CONTRACT = """
dataset: sp
schema:
  columns:
    id: {type: int64, unique: true}
    email: {type: string, format: email}
"""


def _published(tmp_path: Path, contract: Path) -> Path:
    """A store holding one clean version of dataset ``sp``: the reference of a drift rule."""
    clean = tmp_path / "clean.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "email": ["a@b.co", "c@d.org", None]}), clean)
    store = tmp_path / "store"
    assert dqgate.ingest(clean, contract, store).version == 1
    return store


def _files(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "d.parquet"
    pq.write_table(pa.table({"id": [1, 2, 2, None], "email": ["a@b.co", "nope", None, "x@y.org"]}), data)
    contract = tmp_path / "c.yaml"
    contract.write_text(CONTRACT, encoding="utf-8")
    return contract, data


def test_spark_without_java_is_one_line_and_exit_2(tmp_path: Path) -> None:
    contract, data = _files(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "DQ_SPARK_MASTER")}
    env["PATH"] = os.path.dirname(sys.executable)  # the interpreter, no java
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "dqgate", "check", str(contract), "--data", str(data), "--engine", "spark"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dq: error: engine 'spark' needs "), done.stderr


def test_drift_is_refused_by_name_before_spark_starts(tmp_path: Path, run_cli: Any) -> None:
    contract, data = _files(tmp_path)
    store = _published(tmp_path, contract)
    contract.write_text(CONTRACT + "drift:\n  reference: latest\n  columns:\n    id: {method: psi, max: 0.2}\n", encoding="utf-8")
    code, out, err = run_cli("check", str(contract), "--data", str(data), "--engine", "spark", "--store", str(store))
    assert code == 2 and out == ""
    assert err.strip() == (
        "dq: error: engine 'spark' cannot run rule 'id.drift' (kind Drift): "
        "drift, by: slices and evaluation metrics run on duckdb (dq check --engine duckdb)"
    )


def test_ingest_on_an_engine_that_cannot_write_is_refused_in_one_line_and_writes_nothing(tmp_path: Path, run_cli: Any) -> None:
    contract, data = _files(tmp_path)
    store = tmp_path / "store"
    code, out, err = run_cli("ingest", str(contract), str(data), "--store", str(store), "--engine", "polars")
    assert code == 2 and err.strip() == (
        "dq: error: ingest runs its check on duckdb or spark (the checked rows are written into the store from it), not 'polars'"
    )
    assert not store.exists()


def test_a_spark_dataframe_is_checked_on_spark_and_ansi_mode_is_restored(spark: Any, tmp_path: Path) -> None:
    contract, data = _files(tmp_path)
    spark.conf.set("spark.sql.ansi.enabled", "true")
    result = dqgate.check(spark.read.parquet(str(data)), contract)
    assert result.engine == "spark"
    by_id = {c.id: c for c in result.checks}
    assert (by_id["id.unique"].failed_rows, by_id["id.unique"].duplicate_groups) == (2, 1)
    assert by_id["id.unique"].sample == (2,)
    assert (by_id["email.format"].failed_rows, by_id["email.format"].total_rows) == (1, 3)
    assert by_id["email.format"].sample == ("nope",)
    assert spark.conf.get("spark.sql.ansi.enabled") == "true"
    outcome = dqgate.ingest(spark.read.parquet(str(data)), contract, tmp_path / "store")  # a DataFrame ingests on Spark
    assert outcome.result.engine == "spark" and outcome.version is None and outcome.exit_code == 1
    assert spark.conf.get("spark.sql.ansi.enabled") == "true"
    spark.conf.unset("spark.sql.ansi.enabled")


def test_a_rule_spark_cannot_run_is_never_run_elsewhere_behind_the_callers_back(spark: Any, tmp_path: Path) -> None:
    contract, data = _files(tmp_path)
    store = _published(tmp_path, contract)
    contract.write_text(CONTRACT + "drift:\n  reference: latest\n  columns:\n    id: {method: psi, max: 0.2}\n", encoding="utf-8")
    with pytest.raises(UnsupportedRule, match="id.drift"):
        dqgate.check(spark.read.parquet(str(data)), contract, store=str(store))  # no engine named: still no collect to DuckDB


SPREAD = """
dataset: spread
schema:
  columns:
    x: {type: int64, range: {max: %(last)d}}
checks:
  - name: few
    expect: "x NOT IN (%(few)s)"
  - name: odd
    expect: "x %% 2 = 0"
"""


def test_samples_are_found_wherever_the_failing_rows_are_among_the_partitions(spark: Any, tmp_path: Path) -> None:
    """Each failing rule's sample is its own LIMIT query, which Spark answers partition by
    partition: rows failing only in the last of 8 partitions, or three rows far apart,
    must still come back, as many as DuckDB returns (up to 5), each a failing value."""
    n, last = 4000, 3990
    few = [17, 2100, 3998]
    contract = tmp_path / "spread.yaml"
    contract.write_text(SPREAD % {"last": last, "few": ", ".join(map(str, few))}, encoding="utf-8")
    data = spark.range(0, n, 1, 8).withColumnRenamed("id", "x")
    assert data.rdd.getNumPartitions() == 8
    result = dqgate.check(data, contract)
    by_id = {c.id: c for c in result.checks}
    failing = {
        "x.range": {v for v in range(n) if v > last},
        "few": set(few),
        "odd": {v for v in range(n) if v % 2},
    }
    for rule_id, values in failing.items():
        check = by_id[rule_id]
        assert check.failed_rows == len(values), check
        assert len(check.sample) == min(5, len(values)), check
        assert set(check.sample) <= values, check
        assert len(set(check.sample)) == len(check.sample), check  # distinct rows, none repeated
    assert set(by_id["few"].sample) == set(few)
    pq.write_table(pa.table({"x": pa.array(range(n), pa.int64())}), tmp_path / "spread.parquet")
    duck = {c.id: c for c in dqgate.check(tmp_path / "spread.parquet", contract, engine="duckdb").checks}
    assert {k: len(c.sample) for k, c in by_id.items()} == {k: len(c.sample) for k, c in duck.items()}


def test_every_job_of_a_check_runs_in_the_callers_job_group(spark: Any, tmp_path: Path) -> None:
    """The sample queries run on driver threads; they must carry the caller's job group
    (and so be cancelled with it), not run as jobs of no group."""
    contract, data = _files(tmp_path)
    frame = spark.read.parquet(str(data))
    sc = spark.sparkContext
    tracker = sc.statusTracker()
    ungrouped = set(tracker.getJobIdsForGroup(None))
    sc.setJobGroup("dq-caller", "a check inside the caller's job group")
    try:
        result = dqgate.check(frame, contract)
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
        sc.setLocalProperty("spark.job.description", None)
    sampled = [c for c in result.checks if c.sample and c.failed_rows]
    assert {c.id for c in sampled} == {"id.unique", "email.format"}
    assert set(tracker.getJobIdsForGroup(None)) == ungrouped  # no job ran outside the group
    assert len(tracker.getJobIdsForGroup("dq-caller")) >= 2  # the counting job and the sample query
