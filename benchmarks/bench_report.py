"""What the HTML report costs: `dq report` over a store of 100 versions and 20 rules, and
`dq check --report` against `dq check` on the same data.

Whole processes, interleaved (A, B, A, B, ...) so the machine's noise falls on both;
reports medians and the ratio. Run: python benchmarks/bench_report.py [--rounds N]
[--baseline SRC] (SRC: another tree's src/ folder, whose `dq report` is timed in the same
rounds, with the plan cache and without it). The store is built with the plan cache of the
run, so its rules are kept by the ingests, as on a user's machine. Child processes write
bytecode, as an installed package has it (see bench_startup.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CONTRACT = """
dataset: bench
version: 1.0.0
schema:
  columns:
    id:  {type: int64, required: true, unique: true}
    x:   {type: float64, required: true, range: {min: 0, max: 1000}}
    y:   {type: float64, range: {min: -1000, max: 1000}}
    cat: {type: string, required: true, in: [a, b, c, d]}
    s:   {type: string, pattern: '^[a-z]{3}[0-9]$', length: {min: 4, max: 4}}
checks:
  - {metric: mean(x), name: mean_x, anomaly: {window: 10, max: 6}}
  - {metric: mean(y), name: mean_y, anomaly: {method: mad, window: 10, max: 8}}
  - {metric: stddev(x), name: sd_x}
  - {metric: row_count, min: 1}
  - {metric: null_fraction(y), max: 0.5}
  - {metric: "quantile(x, 0.9)", name: q90_x}
  - {metric: "max(y)", name: max_y}
  - {metric: "min(x)", name: min_x}
  - {expect: "x >= 0 OR y IS NULL", name: x_nonneg}
drift:
  reference: latest
  columns:
    cat: {method: js, max: 0.9}
"""


def batch(path: Path, seed: int, rows: int = 2000) -> Path:
    rng = random.Random(seed)
    ids = range(seed * rows, (seed + 1) * rows)
    pq.write_table(pa.table({
        "id": list(ids), "x": [rng.uniform(0, 100) for _ in ids],
        "y": [None if rng.random() < 0.05 else rng.gauss(0, 10) for _ in ids],
        "cat": [rng.choice("abcd") for _ in ids], "s": [rng.choice("abc") * 3 + str(rng.randint(0, 9)) for _ in ids],
    }), path)  # fmt: skip
    return path


def timed(args: list[str], src: str | None = None, **extra_env: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one `dq` process (of the tree at ``src``, else this one's);
    CPU (user + sys) is what a loaded machine distorts least."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra_env)
    if src is not None:
        env["PYTHONPATH"] = src
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dqgate", *args], check=False, capture_output=True, env=env)
    if done.returncode not in (0, 1):
        raise SystemExit(f"dq {' '.join(args)} failed (exit {done.returncode}): {done.stderr.decode()}")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--baseline", metavar="SRC", help="another tree's src/ folder: time its dq report too")
    parser.add_argument("--workdir", metavar="DIR", help="keep the store here and reuse it next time (default: a temporary folder)")
    ns = parser.parse_args()
    with contextlib.nullcontext(ns.workdir) if ns.workdir else tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        contract = root / "bench.yaml"
        contract.write_text(CONTRACT)
        os.environ["DQGATE_CACHE_DIR"] = str(root / "cache")  # the lint and plan caches of this run only (the ingests fill it)
        import dqgate
        from dqgate.store import list_versions

        store = str(root / "wh")
        seed = len(list_versions(store, "bench")) if os.path.isdir(store) else 0  # a kept store: its batches are b0..b{n-1}
        while not os.path.isdir(store) or len(list_versions(store, "bench")) < ns.versions:
            dqgate.ingest(str(batch(root / f"b{seed}.parquet", seed)), str(contract), store)
            seed += 1
        data = str(batch(root / "new.parquet", seed + 1))
        result = dqgate.check(data, str(contract), store=store)
        page = root / "report.html"
        report_s, cold_s, check_s, check_report_s, baseline_s, baseline_cold_s = [], [], [], [], [], []
        report_args = ["report", str(contract), "--store", store, "--no-check", "-o", str(page)]
        baseline_args = [*report_args[:-1], str(root / "report-baseline.html")]
        timed(report_args)  # warm-up: __pycache__ and the file cache
        if ns.baseline:
            timed(baseline_args, os.path.abspath(ns.baseline))
        for _ in range(ns.rounds):
            report_s.append(timed(report_args))  # the plan cache hits: the rules without loading the contract
            cold_s.append(timed(report_args, DQGATE_CACHE="0"))  # every run loads the contract
            if ns.baseline:
                baseline_s.append(timed(baseline_args, os.path.abspath(ns.baseline)))
                baseline_cold_s.append(timed(baseline_args, os.path.abspath(ns.baseline), DQGATE_CACHE="0"))
            # --store: the contract's drift reference is `latest` (without it the check is a usage error, exit 2)
            check_s.append(timed(["check", str(contract), "--data", data, "--store", store, "-q"]))
            check_report_s.append(timed(["check", str(contract), "--data", data, "--store", store, "-q", "--report", str(root / "c.html")]))
        size = os.path.getsize(page)
        print(f"store: {ns.versions} versions, {len(result.checks)} rule results per check, {ns.rounds} rounds; os.getloadavg {os.getloadavg()[0]:.1f}")
        rows = [("dq report --store --no-check", report_s), ("  the same, plan cache off", cold_s), ("dq check", check_s),
                ("dq check --report", check_report_s)]  # fmt: skip
        if baseline_s:
            rows[2:2] = [("baseline: the same dq report", baseline_s), ("  baseline, plan cache off", baseline_cold_s)]
        for label, runs in rows:
            wall, cpu = (statistics.median(r[i] for r in runs) for i in (0, 1))
            print(f"{label:30s} median wall {wall:.2f} s, CPU {cpu:.2f} s")
        print(f"HTML of the store report: {size / 1e6:.2f} MB")
        extra_wall = statistics.median(b[0] - a[0] for a, b in zip(check_s, check_report_s))
        extra_cpu = statistics.median(b[1] - a[1] for a, b in zip(check_s, check_report_s))
        print(f"--report adds (median of paired differences): wall {extra_wall:+.3f} s, CPU {extra_cpu:+.3f} s")


if __name__ == "__main__":
    main()
