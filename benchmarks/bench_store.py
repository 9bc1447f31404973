"""Benchmark the snapshot store's read-time verification.

1. ``open_snapshot(verify="stamp")`` of a 100-file snapshot: median of 20 opens, in ms
   (manifest read + stamp math + one ``get_file_info`` call + the lineage append).
2. ``open_snapshot(verify="full")`` over ~1 GB of incompressible Parquet: hashing
   throughput in MB/s (median of 3; files are in the page cache, as right after a
   publish, so this measures sha256 and the footer checks, not the disk).

Usage: python benchmarks/bench_store.py [--dir DIR] [--gb 1.0] [--files 100] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dqgate.store import open_snapshot, publish, write_object

CONTRACT = {"dataset": "bench", "version": "1", "sha256": "c" * 64}


def _publish(store: str, dataset: str, tables: list[pa.Table]) -> int:
    stamp = {"batch_id": "b1", "contract_sha256": CONTRACT["sha256"], "status": "pass"}
    infos = [write_object(store, dataset, t, stamp=stamp) for t in tables]
    publish(store, dataset, infos, mode="replace", contract=CONTRACT, checks={"status": "pass"}, batch_id="b1")
    return sum(i.bytes for i in infos)


def bench_stamp(store: str, files: int, repeats: int = 20) -> dict[str, float]:
    rng = np.random.default_rng(0)
    tables = [pa.table({"id": np.arange(i * 1000, (i + 1) * 1000), "x": rng.random(1000)}) for i in range(files)]
    _publish(store, "small", tables)
    open_snapshot(store, "small", consumer="bench")  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        snap = open_snapshot(store, "small", consumer="bench")
        times.append((time.perf_counter() - t0) * 1000)
    assert len(snap.files) == files
    return {"files": files, "median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times)}


def bench_full(store: str, gigabytes: float, repeats: int = 3) -> dict[str, float]:
    value_size, per_file = 1 << 16, 128 << 20  # 64 KiB random values, 128 MiB files
    n_files = max(1, round(gigabytes * (1 << 30) / per_file))
    rng = np.random.default_rng(1)
    tables = []
    for _ in range(n_files):
        rows = per_file // value_size
        data = rng.integers(0, 256, size=rows * value_size, dtype=np.uint8)
        offsets = np.arange(0, (rows + 1) * value_size, value_size, dtype=np.int32)
        tables.append(
            pa.table(
                {
                    "blob": pa.BinaryArray.from_buffers(
                        pa.binary(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
                    )
                }
            )
        )
    total = _publish(store, "big", tables)
    del tables
    open_snapshot(store, "big", verify="full", consumer="bench")  # warm the page cache
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        open_snapshot(store, "big", verify="full", consumer="bench")
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"files": n_files, "bytes": total, "median_s": med, "mb_per_s": total / med / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to build the store (default: a temporary directory, removed after)")
    parser.add_argument("--gb", type=float, default=1.0, help="data size for the full-verification benchmark")
    parser.add_argument("--files", type=int, default=100, help="files in the stamp-verification snapshot")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    root = args.dir or tempfile.mkdtemp(prefix="dqgate-bench-")
    try:
        results = {
            "cpus": os.cpu_count(),
            "stamp": bench_stamp(root, args.files),
            "full": bench_full(root, args.gb),
        }
    finally:
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    s, f = results["stamp"], results["full"]
    print(f"open_snapshot(verify='stamp'), {s['files']} files: median {s['median_ms']:.2f} ms "
          f"(min {s['min_ms']:.2f}, max {s['max_ms']:.2f}; 20 opens)")  # fmt: skip
    print(f"open_snapshot(verify='full'), {f['files']} files, {f['bytes'] / 1e9:.2f} GB: "
          f"{f['mb_per_s']:.0f} MB/s (median {f['median_s']:.2f} s of 3; page cache warm)")  # fmt: skip


if __name__ == "__main__":
    main()
