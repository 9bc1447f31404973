"""CPU (and wall) seconds of each phase of one in-process append, for finding where an append's time goes.

Each phase is a function of the ingest path wrapped with ``time.process_time`` (all
threads of the process, so DuckDB's too) and ``time.perf_counter``; nested phases are
counted in their callers too (key counting runs inside the check since session 7). The
store holding the parent is copied with hard links first (a publish only adds files),
and the copy is removed afterwards. Whole-process ratios come from ``bench_append.py``;
this only says where the time goes.

Usage: python benchmarks/phases_append.py PARENT_STORE WORK_DIR BATCH [--src SRC]
(``WORK_DIR`` holds ``contract.yaml`` and ``countries.parquet`` as ``bench_append.py`` writes
them, e.g. its ``--work`` folder; ``PARENT_STORE`` one of its ``base-N`` stores.)
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parent_store")
    ap.add_argument("work")
    ap.add_argument("batch")
    ap.add_argument("--src", default=str(ROOT / "src"), help="the tree whose dqgate is measured")
    a = ap.parse_args()
    sys.path.insert(0, a.src)
    os.environ["DQ_PROGRESS"] = "0"
    store = str(Path(a.work) / "phases-store")
    shutil.rmtree(store, ignore_errors=True)
    subprocess.run(["cp", "-al", a.parent_store, store], check=True)
    os.chdir(a.work)
    cpu: dict[str, float] = {}
    wall: dict[str, float] = {}
    start = time.process_time()
    ingest = importlib.import_module("dqgate.gate.ingest")
    scope = importlib.import_module("dqgate.gate.snapshot_scope")
    reference = importlib.import_module("dqgate.runners.reference")
    page_copy = importlib.import_module("dqgate.store.page_copy")
    publish = importlib.import_module("dqgate.store.publish")
    key_index = importlib.import_module("dqgate.store.key_index")
    importlib.import_module("dqgate.cli")
    cpu["imports (the ingest path and the CLI)"] = time.process_time() - start

    def wrap(module: Any, name: str, label: str) -> None:
        inner: Callable[..., Any] = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            c, w = time.process_time(), time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                cpu[label] = cpu.get(label, 0.0) + time.process_time() - c
                wall[label] = wall.get(label, 0.0) + time.perf_counter() - w

        setattr(module, name, timed)

    wrap(ingest, "batch_id_of", "batch id (sha256 of the file, when not staged)")
    wrap(page_copy, "_stage", "staging (copy + sha256 of the file: its batch id)")
    wrap(ingest.runner, "run", "the check (runners.duckdb.run)")
    wrap(scope, "count_keys", "key counting (inside the check since session 7)")
    wrap(reference, "profile_batch", "profile + state, after the check")
    wrap(scope, "judge", "judge (key runs encoded, parent's runs joined)")
    wrap(key_index, "encode_run", "encoding key runs (beside the check: all threads' CPU meanwhile)")
    wrap(page_copy, "copy_object", "writing the object (the staged copy's footer)")
    wrap(publish, "publish", "publish (audit, manifest)")
    c, w = time.process_time(), time.perf_counter()
    got = ingest.ingest("contract.yaml", a.batch, store)
    cpu["the ingest call"], wall["the ingest call"] = time.process_time() - c, time.perf_counter() - w
    cpu["the process"] = time.process_time()
    print(f"{got.outcome} as version {got.version}: " + ", ".join(f"{r.id} {r.computed}" for r in got.result.checks))
    for label, seconds in cpu.items():
        print(f"{label:>48}: CPU {seconds:6.3f} s" + (f"   wall {wall[label]:6.3f} s" if label in wall else ""))
    shutil.rmtree(store)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
