#!/usr/bin/env python3
"""`dq check --engine spark` against one hand-written Spark SQL aggregate of the 17
peerbench checks (benchmarks/peerbench/spark_fused.py), whole processes, interleaved.

Issue 14's target: at most 1.1x the hand-written aggregate, both on local[2]
(``DQ_SPARK_MASTER``). Both are timed as whole processes (interpreter and JVM start,
reading and checking the file, printing JSON), in rounds that rotate the order; the
ratio is taken within each round and its median reported, for wall time and for the
CPU seconds of each process tree (the JVM included: this script is a child subreaper,
bench_spark_peers.py's ``Run``, so the JVM spark-submit leaves behind is reaped with its
rusage; on a loaded machine the CPU ratio moves far less than the wall ratio), with the
summed peak RSS. Every count of each process is checked against the generator's
expected.json.

  python3 benchmarks/bench_spark.py --data-dir /work/bigdata-spark --rows 10000000 --rounds 2
  python3 benchmarks/bench_spark.py ... --baseline-src /tmp/base/src   # before/after in the same rounds
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HARNESS = Path(os.environ.get("PEERBENCH_HARNESS", "/work/shared/peerbench"))
CONTRACT = HERE / "peerbench" / "suite_contract.yaml"
sys.path.insert(0, str(HERE))
from bench_spark_peers import Run, become_subreaper  # noqa: E402  (the tree-wide timing, shared)


def dq_counts(report: dict[str, Any]) -> dict[str, Any]:
    """Suite id -> failed rows (row checks) or observed value (dataset checks), from dq's JSON."""
    sys.path[:0] = [str(HERE / "peerbench"), str(HARNESS / "runners")]
    from dqgate_runner import SUITE_IDS

    return {SUITE_IDS[c["id"]]: c.get("failed_rows") if c.get("failed_rows") is not None else c.get("observed")
            for c in report["checks"] if c["id"] in SUITE_IDS}  # fmt: skip


def agreement(got: dict[str, Any], expected: dict[str, Any]) -> str:
    """'17/17 agree' or the checks whose count or value differs from expected.json."""
    bad = []
    for cid, exp in expected["checks"].items():
        value = got.get(cid)
        if "failed_rows" in exp and value != exp["failed_rows"]:
            bad.append(f"{cid}: {value} != {exp['failed_rows']}")
        elif "value" in exp and (value is None or abs(float(value) - exp["value"]) > 1e-6 * max(1.0, abs(exp["value"]))):
            bad.append(f"{cid}: {value} != {exp['value']}")
    n = len(expected["checks"])
    return f"{n - len(bad)}/{n} agree" if not bad else f"{len(bad)} MISMATCH: " + "; ".join(bad)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=0, help="unmeasured rounds first")
    ap.add_argument("--data-dir", default=os.environ.get("PEERBENCH_DATA", "/tmp/peerbench-data"))
    ap.add_argument("--baseline-src", help="also time `dq check --engine spark` of another dqgate source tree (before/after)")
    ap.add_argument("--timeout", type=float, default=3600, help="kill a process after this many seconds")
    args = ap.parse_args()
    data = Path(args.data_dir) / f"peerbench_{args.rows}.parquet"
    if not data.exists():
        raise SystemExit(f"{data} is missing: run {HARNESS}/gen_data.py --rows {args.rows} --data-dir {args.data_dir}")
    expected = json.loads((Path(args.data_dir) / f"peerbench_{args.rows}.expected.json").read_text())
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "DQ_SPARK_MASTER": os.environ.get("DQ_SPARK_MASTER", "local[2]"),
           "PYSPARK_PYTHON": sys.executable}  # fmt: skip
    commands = {
        "dq check --engine spark": [sys.executable, "-m", "dqgate", "check", str(CONTRACT), "--data", str(data),
                                    "--format", "json", "-q", "--engine", "spark"],
        "hand-written Spark SQL aggregate": [sys.executable, str(HERE / "peerbench" / "spark_fused.py"), "--data", str(data)],
    }  # fmt: skip
    envs = {name: env for name in commands}
    if args.baseline_src:
        name = f"dq check --engine spark ({args.baseline_src})"
        commands[name] = commands["dq check --engine spark"]
        envs[name] = {**env, "PYTHONPATH": args.baseline_src}
    names = list(commands)
    become_subreaper()
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    rss: dict[str, list[float]] = {k: [] for k in names}
    ratios: dict[str, list[tuple[float, float]]] = {k: [] for k in names}  # (wall, CPU) / hand-written's, per round
    agree = {k: "not run" for k in names}
    for r in range(args.warmup + args.rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        got: dict[str, Run] = {}
        for name in order:
            run = Run(commands[name], envs[name], args.timeout)
            if run.code not in (0, 1):
                raise SystemExit(f"{name} exited {run.code}: {run.err.decode(errors='replace')[-2000:]}")
            counts = json.loads(run.out) if name == names[1] else dq_counts(json.loads(run.out))
            agree[name] = agreement(counts, expected)
            got[name] = run
            if r >= args.warmup:
                wall[name].append(run.wall)
                cpu[name].append(run.cpu)
                rss[name].append(run.rss_mb)
        hand = got[names[1]]
        if r >= args.warmup:
            for name in names:
                ratios[name].append((got[name].wall / hand.wall, got[name].cpu / hand.cpu))
        print(f"round {r} (order {', '.join(order)}; load {os.getloadavg()[0]:.1f}): "
              + ", ".join(f"{k} {got[k].wall:.1f}s wall {got[k].cpu:.1f}s CPU" for k in names), file=sys.stderr, flush=True)  # fmt: skip
    print(f"rows: {expected.get('rows')}, rounds: {args.rounds} (+{args.warmup} warm-up), master {env['DQ_SPARK_MASTER']}")
    print("")
    print("| process | wall s (median, min-max) | CPU s, JVM incl. (median) | peak RSS MB (sum) | wall × hand-written per round | CPU × hand-written per round | counts vs expected.json |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        per_round = ratios[name]
        print(f"| {name} | {statistics.median(wall[name]):.1f} ({min(wall[name]):.1f}-{max(wall[name]):.1f}) "
              f"| {statistics.median(cpu[name]):.1f} | {statistics.median(rss[name]):.0f} "
              f"| {', '.join(f'{w:.2f}' for w, _ in per_round)} (median {statistics.median(w for w, _ in per_round):.2f}) "
              f"| {', '.join(f'{c:.2f}' for _, c in per_round)} (median {statistics.median(c for _, c in per_round):.2f}) "
              f"| {agree[name]} |")  # fmt: skip


if __name__ == "__main__":
    main()
