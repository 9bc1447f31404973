"""Benchmark `dq ingest` against its floor: `dq check` of the same contract + one DuckDB COPY (issue 3).

Whole processes, timed side by side in interleaved rounds (the order alternates),
so both sides see the same machine load:

* ingest:   ``dq ingest CONTRACT DATA --store <fresh store> --format json``
* baseline: ``dq check CONTRACT --data DATA --format json``, then one
  ``python -c "duckdb: COPY (SELECT * FROM read_parquet(DATA)) TO x.parquet (FORMAT parquet, COMPRESSION zstd)"``

The contract (written here) passes on the peerbench data: ``required`` on id, the
ranges and set that hold for 99% of rows, the email pattern with ``mostly: 0.9``.
Target: ingest / baseline <= 1.5.

``--phases`` also times one in-process ingest step by step (batch hash, check,
object write, profile, publish), and the other way to write the object: DuckDB's
parallel COPY with the stamp in KV_METADATA, then hashing the file it wrote. On
2 cores that is about as fast when the machine is idle, but costs ~50% more CPU
and ~70% more memory, and is slower as soon as other work competes for the cores,
so ingest keeps pyarrow's writer (``write_object``).

Usage: python benchmarks/bench_ingest.py [--data FILE] [--rounds 3] [--work DIR] [--phases] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
DATA = "/tmp/peerbench-data/peerbench_10000000.parquet"

CONTRACT = """\
dataset: peerbench
version: 1.0.0
description: The peerbench table, with the rules that hold on it (for bench_ingest.py).
schema:
  columns:
    id:      {type: int64, required: true}
    age:     {type: int32, range: {min: 0, max: 120}, mostly: 0.99}
    income:  {type: float64}
    score:   {type: float64, range: {min: 0.0, max: 1.0}, mostly: 0.99}
    country: {type: string, in: [US, GB, DE, FR, IN, BR, JP, CN, CA, AU], mostly: 0.99}
    email:   {type: string, pattern: '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$', mostly: 0.9}
checks:
  - metric: row_count
    min: 1000
  - metric: mean(income)
    between: [30000, 60000]
gate:
  on_failure: fail
  publish: append
"""

COPY = """\
import sys, duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
sql = "COPY (SELECT * FROM read_parquet($src)) TO 'copy.parquet' (FORMAT parquet, COMPRESSION zstd)"
con.execute(sql, {"src": sys.argv[1]})
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    env.pop("DQGATE_SIGNING_KEY", None)
    return env


def _timed(cmd: list[str], cwd: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.stdout.close()
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode not in (0,):
        raise SystemExit(f"{' '.join(cmd)} exited {p.returncode}: {err.decode()[-2000:]}")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024, "out": out}


def _ingest(work: Path, contract: Path, data: str) -> dict[str, Any]:
    store = work / "store"
    shutil.rmtree(store, ignore_errors=True)
    cmd = [sys.executable, "-m", "dqgate", "ingest", str(contract), data, "--store", str(store), "--format", "json"]
    r = _timed(cmd, work)
    [outcome] = json.loads(r["out"])
    assert outcome["outcome"] == "published", outcome["outcome"]
    r["bytes"] = sum(p.stat().st_size for p in store.glob("peerbench/objects/??/*.parquet"))
    shutil.rmtree(store, ignore_errors=True)
    return r


def _baseline(work: Path, contract: Path, data: str) -> dict[str, Any]:
    check = _timed([sys.executable, "-m", "dqgate", "check", str(contract), "--data", data, "--format", "json"], work)
    assert json.loads(check["out"])["status"] in ("pass", "warn")
    target = work / "copy.parquet"
    copy = _timed([sys.executable, "-c", COPY, data], work)
    size = target.stat().st_size
    target.unlink()
    return {"wall": check["wall"] + copy["wall"], "cpu": check["cpu"] + copy["cpu"],
            "rss_mb": max(check["rss_mb"], copy["rss_mb"]), "check_wall": check["wall"], "copy_wall": copy["wall"],
            "bytes": size}  # fmt: skip


def _duckdb_copy(work: Path, data: str, contract_sha256: str) -> float:
    """The other way to write the object: DuckDB's parallel COPY with the stamp in KV_METADATA, then one hash."""
    import hashlib

    import duckdb
    import pyarrow.parquet as pq
    from sqlglot import exp

    from dqgate.store.stamp import build_file_stamp, canonical_json

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    rows = pq.read_metadata(data).num_rows
    target = work / "duckdb-object.parquet"
    t0 = time.perf_counter()
    stamp = build_file_stamp({"batch_id": "b1", "contract_sha256": contract_sha256, "status": "pass"},
                             dataset="peerbench", rows=rows, key=None)  # fmt: skip
    value = exp.Literal.string(canonical_json(stamp).decode())
    kv = exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier("dqgate.stamp", quoted=True), expression=value)])
    options = {"FORMAT": exp.var("parquet"), "COMPRESSION": exp.var("zstd"), "KV_METADATA": kv}
    source = exp.Anonymous(this="read_parquet", expressions=[exp.Literal.string(data)])
    copy = exp.Copy(
        this=exp.Subquery(this=exp.select(exp.Star()).from_(exp.Table(this=source))),
        kind=False,
        files=[exp.Literal.string(str(target))],
        params=[exp.CopyParameter(this=exp.var(k), expression=v) for k, v in options.items()],
    )
    con.execute(copy.sql("duckdb"))
    with open(target, "rb") as f:
        hashlib.file_digest(f, "sha256")
    spent = time.perf_counter() - t0
    target.unlink()
    return spent


def _phases(work: Path, contract: Path, data: str) -> dict[str, float]:
    """One in-process ingest, timed per step, plus the object written by DuckDB's COPY for comparison."""
    sys.path.insert(0, str(SRC))
    import importlib

    from dqgate.runners.check import as_contract

    ingest_mod = importlib.import_module("dqgate.gate.ingest")
    publish_mod = importlib.import_module("dqgate.store.publish")
    spent: dict[str, float] = {}

    def timed(module: Any, name: str) -> None:
        inner = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t0

        setattr(module, name, wrapper)

    for name in ("batch_id_of", "_profile"):
        timed(ingest_mod, name)
    timed(ingest_mod.runner, "run")
    timed(publish_mod, "publish")
    timed(importlib.import_module("dqgate.store.objects"), "write_object")
    store = work / "phase-store"
    shutil.rmtree(store, ignore_errors=True)
    c = as_contract(str(contract))
    t0 = time.perf_counter()
    result = ingest_mod.ingest(c, data, str(store))
    spent["total"] = time.perf_counter() - t0
    assert result.outcome == "published"
    spent["duckdb_copy_and_hash"] = _duckdb_copy(work, data, c.sha256)
    shutil.rmtree(store, ignore_errors=True)
    return spent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", default=None, help="Scratch folder (default: a temporary folder next to the data).")
    ap.add_argument("--phases", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-ingest-", dir=os.path.dirname(os.path.abspath(args.data))))
    work.mkdir(parents=True, exist_ok=True)
    contract = work / "peerbench_pass.yaml"
    contract.write_text(CONTRACT, encoding="utf-8")
    runs: dict[str, list[dict[str, Any]]] = {"ingest": [], "baseline": []}
    try:
        for i in range(args.rounds):
            order = ["ingest", "baseline"] if i % 2 == 0 else ["baseline", "ingest"]
            for side in order:
                fn = _ingest if side == "ingest" else _baseline
                runs[side].append(fn(work, contract, args.data))
                r = runs[side][-1]
                print(f"round {i + 1} {side:8s} wall {r['wall']:6.2f}s cpu {r['cpu']:6.2f}s rss {r['rss_mb']:6.0f} MB",
                      file=sys.stderr, flush=True)  # fmt: skip
        phases = _phases(work, contract, args.data) if args.phases else None
    finally:
        shutil.rmtree(work, ignore_errors=True) if args.work is None else None
    summary = {
        side: {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "rss_mb", "bytes")}
        for side, rs in runs.items()
    }
    summary["ratio_wall"] = summary["ingest"]["wall"] / summary["baseline"]["wall"]
    summary["ratio_cpu"] = summary["ingest"]["cpu"] / summary["baseline"]["cpu"]
    summary["phases"] = phases
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    head = f"{os.path.basename(args.data)} ({args.rounds} rounds, medians)"
    print(f"| {head} | wall s | CPU s | peak RSS MB | output MB |")
    print("|---|---:|---:|---:|---:|")
    for side, label in (("ingest", "dq ingest (fresh store)"), ("baseline", "dq check + duckdb COPY zstd")):
        s = summary[side]
        print(f"| {label} | {s['wall']:.2f} | {s['cpu']:.2f} | {s['rss_mb']:.0f} | {s['bytes'] / 1e6:.0f} |")
    print(f"| ratio ingest / baseline (target <= 1.5) | {summary['ratio_wall']:.2f} | {summary['ratio_cpu']:.2f} | | |")
    if phases:
        print("\nin-process ingest, seconds per step: " + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()))


if __name__ == "__main__":
    main()
