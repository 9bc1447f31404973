#!/usr/bin/env python3
"""`dq check --engine spark` against one hand-written Spark SQL aggregate of the 17
peerbench checks (benchmarks/peerbench/spark_fused.py), whole processes, interleaved.

Issue 14's target: at most 1.1x the hand-written aggregate, both on local[2]
(``DQ_SPARK_MASTER``). Both are timed as whole processes (interpreter and JVM start,
reading and checking the file, printing JSON), in rounds that rotate the order; the
ratio is taken within each round and its median reported, with CPU seconds (of the
Python process tree that waited: the JVM is a child, so it is included) and peak RSS.
Every count of both is checked against the generator's expected.json.

  python3 benchmarks/bench_spark.py --data-dir /work/bigdata-spark --rows 10000000 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HARNESS = Path(os.environ.get("PEERBENCH_HARNESS", "/work/shared/peerbench"))
CONTRACT = HERE / "peerbench" / "suite_contract.yaml"


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float, int, bytes]:
    """Wall seconds, CPU seconds (children included), peak RSS in MB, exit code and stdout of one process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read() if p.stdout else b""
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if p.stdout:
        p.stdout.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), out


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
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    rss: dict[str, list[float]] = {k: [] for k in names}
    ratios: list[float] = []
    before: list[float] = []
    agree = {k: "not run" for k in names}
    for r in range(args.warmup + args.rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        got: dict[str, float] = {}
        for name in order:
            w, c, m, code, out = timed(commands[name], envs[name])
            if code not in (0, 1):
                raise SystemExit(f"{name} exited {code}")
            counts = json.loads(out) if name == names[1] else dq_counts(json.loads(out))
            agree[name] = agreement(counts, expected)
            got[name] = w
            if r >= args.warmup:
                wall[name].append(w)
                cpu[name].append(c)
                rss[name].append(m)
        if r >= args.warmup:
            ratios.append(got[names[0]] / got[names[1]])
            if len(names) > 2:
                before.append(got[names[2]] / got[names[1]])
        print(f"round {r}: " + ", ".join(f"{k} {got[k]:.1f}s" for k in names), file=sys.stderr, flush=True)
    print(f"rows: {expected.get('rows')}, rounds: {args.rounds} (+{args.warmup} warm-up), master {env['DQ_SPARK_MASTER']}")
    print("")
    print("| process | wall s (median, min-max) | CPU s | peak RSS MB | counts vs expected.json |")
    print("|---|---|---|---|---|")
    for name in names:
        print(f"| {name} | {statistics.median(wall[name]):.1f} ({min(wall[name]):.1f}-{max(wall[name]):.1f}) "
              f"| {statistics.median(cpu[name]):.1f} | {statistics.median(rss[name]):.0f} | {agree[name]} |")  # fmt: skip
    print(f"\ndq check / hand-written, median of per-round ratios: {statistics.median(ratios):.2f}x ({', '.join(f'{x:.2f}' for x in ratios)})")
    if before:
        print(f"baseline dq check / hand-written: {statistics.median(before):.2f}x ({', '.join(f'{x:.2f}' for x in before)})")


if __name__ == "__main__":
    main()
