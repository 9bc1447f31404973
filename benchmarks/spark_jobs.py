#!/usr/bin/env python3
"""The jobs of `dq check --engine spark` beside the hand-written aggregate, in ONE SparkSession.

Whole processes (bench_spark.py) say how far dq is from the hand-written query; this
says where the difference goes. Each piece runs once cold, then ``--rounds`` times warm,
the order rotating each round, inside its own job group; per run it prints the wall
seconds, the JVM's CPU seconds over the run (utime + stime of the driver JVM, which in
``local[N]`` also runs the executors: steadier than wall time on a loaded machine), and
the jobs, stages and tasks Spark ran (``statusTracker``).

Pieces: ``hand`` (benchmarks/peerbench/spark_fused.py's statement), ``count`` (dq's
counting statement, over dq's view of the data: NaN read as NULL), ``samples_scan``
(session 6's samples job: one ``max_by(row, 0, 5) FILTER (WHERE fails)`` aggregate over
the data), ``samples_limit`` (this tree's: each failing rule's ``LIMIT 5`` query, 4 at a
time), ``check`` (the whole ``dqgate.check`` call, driver-side Python included).

  PYTHONPATH=src python benchmarks/spark_jobs.py --data /tmp/scope/pb/peerbench_10000000.parquet --rounds 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
CONTRACT = HERE / "peerbench" / "suite_contract.yaml"
PIECES = ("hand", "count", "samples_scan", "samples_limit", "check")


def jvm_cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid`` (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pieces(spark: Any, data: str) -> dict[str, Callable[[], Any]]:
    """What each piece runs, set up as ``dqgate.check`` sets the data up."""
    from sqlglot import exp

    import dqgate
    from dqgate.compilers import duckdb as compiler
    from dqgate.compilers.spark import SPARK, first_records
    from dqgate.contract import load_contract
    from dqgate.runners import spark as runner
    from dqgate.runners.check import planned

    sys.path.insert(0, str(HERE / "peerbench"))
    from spark_fused import SQL as HAND

    spark.read.parquet(data).createOrReplaceTempView("t")
    contract = load_contract(str(CONTRACT))
    rules = planned(contract, store=None, base_dir=None)
    df, _, types = runner.prepare(spark, contract, data)
    df.createOrReplaceTempView(compiler.SOURCE_VIEW)
    plan = compiler.compile_plan(rules, types=types, key=contract.key_columns(), samples=5, dialect=SPARK)
    count = SPARK.sql(plan.statement)
    limits = [SPARK.sql(q) for q in plan.samples.values()]  # every row rule of peerbench fails
    scan_items = []
    for i, query in enumerate(plan.samples.values()):
        fields = [(s.alias_or_name, s.copy()) for s in query.expressions]
        fails = query.args["where"].this.copy()
        scan_items.append(exp.alias_(exp.Filter(this=first_records(fields, 5), expression=exp.Where(this=fails)), f"s{i}", quoted=True))
    scan = SPARK.sql(exp.select(*scan_items).from_(exp.to_table(compiler.SOURCE_VIEW, quoted=True)))

    def samples_limit() -> None:
        from pyspark import inheritable_thread_target

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(inheritable_thread_target(spark)(lambda q: spark.sql(q).collect()), limits))

    return {
        "hand": lambda: spark.sql(HAND).collect(),
        "count": lambda: spark.sql(count).collect(),
        "samples_scan": lambda: spark.sql(scan).collect(),
        "samples_limit": samples_limit,
        "check": lambda: dqgate.check(data, str(CONTRACT), engine="spark"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="peerbench_N.parquet")
    ap.add_argument("--rounds", type=int, default=2, help="warm rounds after the cold one")
    ap.add_argument("--only", default=",".join(PIECES), help=f"comma-separated, of {', '.join(PIECES)}")
    args = ap.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from dqgate.runners import spark as runner

    t0 = time.perf_counter()
    spark = runner.session(os.environ.get("DQ_SPARK_MASTER", "local[2]"))
    print(f"session start {time.perf_counter() - t0:.2f}s", flush=True)
    sc = spark.sparkContext
    jvm = int(spark._jvm.java.lang.ProcessHandle.current().pid())
    with runner.duckdb_semantics(spark):
        run = pieces(spark, args.data)
        names = [n for n in args.only.split(",") if n]
        for r in range(args.rounds + 1):
            order = names[r % len(names):] + names[: r % len(names)]
            for name in order:
                group = f"{name}-{r}"
                sc.setJobGroup(group, group)
                cpu, t = jvm_cpu_seconds(jvm), time.perf_counter()
                run[name]()
                wall, cpu = time.perf_counter() - t, jvm_cpu_seconds(jvm) - cpu
                tracker = sc.statusTracker()
                jobs = tracker.getJobIdsForGroup(group)
                stages = [s for j in jobs for s in tracker.getJobInfo(j).stageIds]
                tasks = sum(info.numTasks for info in map(tracker.getStageInfo, stages) if info)
                print(f"{'cold' if r == 0 else f'warm{r}'} {name}: {wall:.2f}s wall, {cpu:.2f}s JVM CPU, "
                      f"{len(jobs)} jobs, {len(stages)} stages, {tasks} tasks (load {os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip
    spark.stop()


if __name__ == "__main__":
    main()
