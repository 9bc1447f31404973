"""Benchmark publishing a batch from its own Arrow data (exact) against streaming DuckDB's reading of it.

Issue 12 item 4: `dq ingest` now writes the snapshot from the batch itself (a Parquet
file's row groups read by pyarrow) instead of from DuckDB's checked view, so that
decimals, zones, nested and dictionary types survive. This times whole `dq ingest`
processes of the same batch into fresh stores, interleaved (the order alternates
each round), with two source trees:

* exact: this tree (``src/``);
* view:  an older tree given with ``--old-src`` (e.g. ``git archive cda86c6 src | tar -x -C /tmp/old``),
  which streams the checked DuckDB view into the object.

The batch (written here, ``--rows`` rows) has only types both can publish: int64,
float64, string, timestamp[us, UTC], decimal128(21, 2).

Usage: python benchmarks/bench_exact.py --old-src /tmp/old/src [--rows 2000000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONTRACT = """\
dataset: exact
version: 1.0.0
schema:
  columns:
    id:     {type: int64, required: true}
    price:  {type: float64, range: {min: 0, max: 1000}}
    name:   {type: string}
    at:     {type: timestamp}
    amount: {type: number}
gate:
  on_failure: fail
"""


def make_batch(path: Path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1e6
    table = pa.table({
        "id": pa.array(np.arange(rows, dtype=np.int64)),
        "price": pa.array(rng.uniform(0, 1000, rows)),
        "name": pa.array([f"name-{i % 5000}" for i in range(rows)]),
        "at": pa.array((start + rng.integers(0, 10**12, rows)).astype("int64"), pa.timestamp("us", tz="UTC")),
        "amount": pa.array(rng.integers(0, 10**12, rows) // 1000, pa.int64()).cast(pa.decimal128(21, 2)),
    })  # fmt: skip
    pq.write_table(table, path, compression="zstd")


def run(src: Path, contract: Path, batch: Path, store: Path) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one `dq ingest` process."""
    env = dict(os.environ, PYTHONPATH=str(src))
    env.pop("DQGATE_SIGNING_KEY", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "dqgate", "ingest", str(contract), str(batch), "--store", str(store)], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"{src}: ingest failed: {r.stdout}{r.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old-src", required=True, type=Path)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-exact-"))
    try:
        contract, batch = work / "c.yaml", work / "batch.parquet"
        contract.write_text(CONTRACT)
        make_batch(batch, args.rows)
        sides = {"exact": ROOT / "src", "view": args.old_src}
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in sides}
        for i in range(args.rounds):
            order = list(sides) if i % 2 == 0 else list(reversed(sides))
            for name in order:
                store = work / f"store-{name}-{i}"
                times[name].append(run(sides[name], contract, batch, store))
                shutil.rmtree(store)
        for name, got in times.items():
            print(f"{name:5s} wall median {statistics.median(w for w, _ in got):.2f} s  CPU median {statistics.median(c for _, c in got):.2f} s")
        ratio_wall = statistics.median(w for w, _ in times["exact"]) / statistics.median(w for w, _ in times["view"])
        ratio_cpu = statistics.median(c for _, c in times["exact"]) / statistics.median(c for _, c in times["view"])
        print(f"exact / view: wall {ratio_wall:.2f}x, CPU {ratio_cpu:.2f}x ({args.rows:,} rows, {args.rounds} rounds)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
