"""What verified reads cost: dqgate's default reads against the plain readers, whole processes.

A snapshot of the peerbench table (10M rows, 12 columns, ~520 MB zstd Parquet) is
published once; then each variant runs in its own Python process, the variants
interleaved in a random order per round (the machine is noisy), and the median
of the rounds is compared:

- ``pyarrow``          ``pyarrow.parquet.read_table`` of the snapshot's files
- ``to_arrow``         ``open_snapshot(...).to_arrow()`` (default: every byte verified)
- ``to_arrow_full``    ``open_snapshot(..., verify="full").to_arrow()`` (files hashed whole at open too)
- ``polars3``          ``pl.scan_parquet(files).select(3 columns).collect()``
- ``scan_polars3``     ``open_snapshot(...).scan_polars().select(3 columns).collect()``
- ``polars3s`` / ``scan_polars3s``  the same with three string/float columns
- ``duckdb3`` / ``to_duckdb3``  ``SUM`` over three columns: ``read_parquet`` against ``to_duckdb``

Each process reports the wall and CPU time of its read (after imports); the
whole process's wall and CPU time (user + system, ``getrusage``) are measured
outside. All four ratios are printed: on a shared, loaded machine (load 10+ on 2
cores while this was written) wall times swing 2x between rounds, and the CPU
ratios are the steadiest.

Usage: python benchmarks/bench_read.py [--data /tmp/peerbench-data/peerbench_10000000.parquet]
       [--store DIR] [--rounds 5] [--only to_arrow,pyarrow] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
NUMERIC = ["id", "age", "income"]
STRINGS = ["email", "country", "score"]

PRELUDE = f"""
import sys, time, json
sys.path.insert(0, {SRC!r})
store, files = sys.argv[1], json.loads(sys.argv[2])
"""

T0 = "t0, c0 = time.perf_counter(), time.process_time()\n"
OPEN = "open_snapshot(store, 'bench', consumer='bench')"
SUMS = ".aggregate('sum(id), sum(age), sum(income), count(*)').fetchall()[0][-1]"


def _variant(imports: str, read: str) -> str:
    return f"{imports}\n{T0}n = {read}"


VARIANTS = {
    "pyarrow": _variant("import pyarrow.parquet as pq", "pq.read_table(files).num_rows"),
    "to_arrow": _variant("from dqgate.store import open_snapshot", f"{OPEN}.to_arrow().num_rows"),
    "to_arrow_full": _variant(
        "from dqgate.store import open_snapshot", f"{OPEN[:-1]}, verify='full').to_arrow().num_rows"
    ),
    "polars3": _variant("import polars as pl", f"pl.scan_parquet(files).select({NUMERIC!r}).collect().height"),
    "scan_polars3": _variant(
        "import polars as pl\nfrom dqgate.store import open_snapshot",
        f"{OPEN}.scan_polars().select({NUMERIC!r}).collect().height",
    ),
    "polars3s": _variant("import polars as pl", f"pl.scan_parquet(files).select({STRINGS!r}).collect().height"),
    "scan_polars3s": _variant(
        "import polars as pl\nfrom dqgate.store import open_snapshot",
        f"{OPEN}.scan_polars().select({STRINGS!r}).collect().height",
    ),
    "duckdb3": _variant("import duckdb", f"duckdb.connect().read_parquet(files){SUMS}"),
    "to_duckdb3": _variant(
        "import duckdb\nfrom dqgate.store import open_snapshot", f"{OPEN}.to_duckdb(duckdb.connect()){SUMS}"
    ),
}
PAIRS = [
    ("to_arrow", "pyarrow"),
    ("to_arrow_full", "pyarrow"),
    ("scan_polars3", "polars3"),
    ("scan_polars3s", "polars3s"),
    ("to_duckdb3", "duckdb3"),
]


def publish_snapshot(data: str, store: str) -> list[str]:
    """Publish ``data`` once as dataset "bench" (reused when the store already has it)."""
    sys.path.insert(0, SRC)
    import pyarrow.parquet as pq

    from dqgate.store import latest_version, open_snapshot, publish, write_object

    if not (Path(store) / "bench").exists() or latest_version(store, "bench") is None:
        stamp = {"batch_id": "b1", "contract_sha256": "c" * 64, "status": "pass"}
        reader = pq.ParquetFile(data).iter_batches(batch_size=262_144)
        schema = pq.read_schema(data)
        import pyarrow as pa

        info = write_object(store, "bench", pa.RecordBatchReader.from_batches(schema, reader), stamp=stamp)
        publish(store, "bench", [info], mode="replace", contract={"sha256": "c" * 64},
                checks={"status": "pass"}, batch_id="b1")  # fmt: skip
    return open_snapshot(store, "bench", consumer="bench-setup").files


def run(variant: str, store: str, files: list[str]) -> tuple[float, float, float, float, int]:
    """(read wall s, read CPU s, process wall s, process CPU s, rows) of one process running ``variant``."""
    report = "print(json.dumps([time.perf_counter() - t0, time.process_time() - c0, n]))"
    code = f"{PRELUDE}{VARIANTS[variant]}\n{report}\n"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, store, json.dumps(files)], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"{variant} failed with exit {out.returncode}:\n{out.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    read, read_cpu, n = json.loads(out.stdout.strip().splitlines()[-1])
    return read, read_cpu, wall, cpu, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/tmp/peerbench-data/peerbench_10000000.parquet")
    parser.add_argument("--store", default="/tmp/dqgate-bench-read-store")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default=",".join(VARIANTS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    files = publish_snapshot(args.data, args.store)
    variants = [v for v in args.only.split(",") if v]
    metrics = ("read", "read_cpu", "process", "process_cpu")
    times: dict[str, list[tuple[float, ...]]] = {v: [] for v in variants}
    rows: dict[str, int] = {}
    for r in range(args.rounds):
        order = list(variants)
        random.Random(r).shuffle(order)
        for v in order:
            *measured, n = run(v, args.store, files)
            times[v].append(tuple(measured))
            rows[v] = n
            shown = ", ".join(f"{m} {x:7.3f} s" for m, x in zip(metrics, measured))
            print(f"round {r + 1} {v:>14}: {shown}", file=sys.stderr)
    med = {v: [statistics.median(t[i] for t in ts) for i in range(len(metrics))] for v, ts in times.items()}
    ratios: dict[str, dict[str, float]] = {}
    for ours, theirs in PAIRS:
        if ours in med and theirs in med:
            ratios[f"{ours}/{theirs}"] = {m: med[ours][i] / med[theirs][i] for i, m in enumerate(metrics)}
            # per round, as the pair ran in the same round (less noise than a ratio of medians)
            ratios[f"{ours}/{theirs}"]["read_per_round"] = statistics.median(
                a[0] / b[0] for a, b in zip(times[ours], times[theirs])
            )
    result = {"rows": rows, "median_s": {v: dict(zip(metrics, m)) for v, m in med.items()}, "ratios": ratios}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for v, m in med.items():
        shown = ", ".join(f"{name} {x:.3f} s" for name, x in zip(metrics, m))
        print(f"{v:>14}: {shown} (median of {args.rounds}, {rows[v]:,} rows)")
    for pair, r in ratios.items():
        print(f"{pair:>24}: " + ", ".join(f"{name} {x:.3f}x" for name, x in r.items()))


if __name__ == "__main__":
    main()
