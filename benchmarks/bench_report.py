"""What the HTML report costs: `dq report` over a store of 100 versions and 20 rules, and
`dq check --report` against `dq check` on the same data.

Whole processes, interleaved (A, B, A, B, ...) so the machine's noise falls on both;
reports medians and the ratio. Run: python benchmarks/bench_report.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import random
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
  - {metric: mean(x), name: mean_x, anomaly: {window: 10, max: 4}}
  - {metric: mean(y), name: mean_y, anomaly: {method: mad, window: 10, max: 6}}
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
        "id": list(ids), "x": [rng.uniform(0, 100) + seed * 0.1 for _ in ids],
        "y": [None if rng.random() < 0.05 else rng.gauss(0, 10) for _ in ids],
        "cat": [rng.choice("abcd") for _ in ids], "s": [rng.choice("abc") * 3 + str(rng.randint(0, 9)) for _ in ids],
    }), path)  # fmt: skip
    return path


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dqgate", *args], check=False, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--versions", type=int, default=100)
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        contract = root / "bench.yaml"
        contract.write_text(CONTRACT)
        import dqgate

        store = str(root / "wh")
        for i in range(ns.versions):
            dqgate.ingest(str(contract), str(batch(root / f"b{i}.parquet", i)), store)
        data = str(batch(root / "new.parquet", ns.versions + 1))
        result = dqgate.check(data, str(contract), store=store)
        page = root / "report.html"
        report_s, check_s, check_report_s = [], [], []
        for _ in range(ns.rounds):
            report_s.append(timed(["report", str(contract), "--store", store, "--no-check", "-o", str(page)]))
            check_s.append(timed(["check", str(contract), "--data", data, "-q"]))
            check_report_s.append(timed(["check", str(contract), "--data", data, "-q", "--report", str(root / "c.html")]))
        size = os.path.getsize(page)
        med = statistics.median
        print(f"store: {ns.versions} versions, {len(result.checks)} rule results per check, {ns.rounds} rounds")
        print(f"dq report --store (history only):  median {med(report_s):.2f} s (min {min(report_s):.2f}); HTML {size / 1e6:.2f} MB")
        print(f"dq check:                          median {med(check_s):.2f} s")
        print(f"dq check --report:                 median {med(check_report_s):.2f} s; adds {med(check_report_s) - med(check_s):+.3f} s"
              f" (ratio {med(check_report_s) / med(check_s):.2f}x)")


if __name__ == "__main__":
    main()
