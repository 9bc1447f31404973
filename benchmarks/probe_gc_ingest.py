"""Probe: concurrent `dq ingest` processes while `dq store gc --min-age 0` runs in a loop.

Issue #12 saw an ingest print "published flights@3" (exit 0) for a version naming
an object gc had just deleted. Each round here starts ``--writers`` real `dq ingest`
processes at once (each its own batch, appended to one dataset) while one process
runs `dq store gc STORE flights --min-age 0` back to back for the whole probe.
Afterwards:

- every version an ingest printed as published opens and reads with ``verify="full"``;
- ``verify_store(full=True)`` finds no problem;
- no process printed a traceback.

Prints a JSON summary (``--json``) or a short text one. Exit 0 when all hold.

Usage: python benchmarks/probe_gc_ingest.py [--rounds 20] [--writers 6] [--dir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
CONTRACT = """\
dataset: flights
version: 1.0.0
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    x:  {type: float64, range: {min: 0, max: 1000000}}
gate:
  on_failure: quarantine_batch
  publish: append
"""
GC_LOOP = """
import os, subprocess, sys
store, stop, count = sys.argv[1], sys.argv[2], sys.argv[3]
runs = 0
while not os.path.exists(stop):
    p = subprocess.run([sys.executable, "-m", "dqgate", "store", "gc", store, "flights", "--min-age", "0"],
                       capture_output=True, text=True)
    runs += 1
    if p.returncode not in (0,) or "Traceback" in p.stderr:
        sys.stderr.write(p.stderr)
    with open(count, "w") as f:
        f.write(str(runs))
"""
PUBLISHED = re.compile(r"published flights@(\d+)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--writers", type=int, default=6)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--dir")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(SRC))
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dqgate.store import open_snapshot, verify_store

    work = Path(args.dir or tempfile.mkdtemp(prefix="dqgate-probe-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    store, contract = work / "store", work / "contract.yaml"
    contract.write_text(CONTRACT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    env.pop("DQGATE_SIGNING_KEY", None)
    env["DQGATE_STATE_DIR"] = str(work / "state")
    stop, count = work / "stop", work / "gc-runs"
    gc_loop = subprocess.Popen([sys.executable, "-c", GC_LOOP, str(store), str(stop), str(count)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    started = time.perf_counter()
    published: dict[int, str] = {}
    exits: dict[int, int] = {}
    tracebacks = 0
    lines: list[str] = []
    for r in range(args.rounds):
        procs = []
        for w in range(args.writers):
            n = (r * args.writers + w) * args.rows
            batch = work / f"batch-{r}-{w}.parquet"
            pq.write_table(pa.table({"id": pa.array(range(n, n + args.rows), pa.int64()),
                                     "x": pa.array([float(i % 997) for i in range(args.rows)])}), batch)  # fmt: skip
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "dqgate", "ingest", str(contract), str(batch), "--store", str(store)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            ))  # fmt: skip
        for p in procs:
            out, err = p.communicate(timeout=600)
            exits[p.returncode] = exits.get(p.returncode, 0) + 1
            tracebacks += "Traceback" in err
            lines.extend((out + err).strip().splitlines()[-1:])
            for m in PUBLISHED.finditer(out):
                published[int(m.group(1))] = out.strip()
    stop.touch()
    _, gc_err = gc_loop.communicate(timeout=600)
    tracebacks += "Traceback" in gc_err
    elapsed = time.perf_counter() - started
    unreadable = []
    for version in sorted(published):
        try:
            rows = open_snapshot(str(store), "flights", version, verify="full", consumer="probe").to_arrow().num_rows
            if rows != version * args.rows:
                unreadable.append(f"version {version}: {rows} rows, expected {version * args.rows}")
        except Exception as exc:  # noqa: BLE001 - any failure to read a published version is the finding
            unreadable.append(f"version {version}: {type(exc).__name__}: {exc}")
    result = {
        "rounds": args.rounds,
        "writers": args.writers,
        "ingests": args.rounds * args.writers,
        "published": len(published),
        "exit_codes": exits,
        "gc_runs": int(count.read_text()) if count.exists() else 0,
        "unreadable_published": unreadable,
        "verify_problems": verify_store(str(store), "flights", full=True),
        "tracebacks": tracebacks,
        "not_published_said": sorted({line for line in lines if "published flights@" not in line})[:5],
        "elapsed_s": round(elapsed, 1),
    }
    ok = not result["unreadable_published"] and not result["verify_problems"] and not tracebacks
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
        print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
