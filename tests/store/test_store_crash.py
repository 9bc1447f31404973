"""kill -9 publishers at random moments: no half-version, nothing lost, gc cleans up safely."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from dqgate.store import gc, list_versions, load_manifest, open_snapshot, verify_store

WORKER = str(Path(__file__).with_name("crash_worker.py"))
LANES = 2
ROUNDS = 26  # 52 kills in all


def _named(store: str, dataset: str) -> set[str]:
    return {f.path for v in list_versions(store, dataset) for f in load_manifest(store, dataset, v).files}


def test_kill_9_at_random_moments_leaves_a_consistent_store(store, subprocess_env):
    rng = random.Random(20240611)
    committed: dict[str, list[int]] = {f"lane{i}": [] for i in range(LANES)}
    removed_total = 0
    for trial in range(ROUNDS):
        procs = {
            dataset: subprocess.Popen(
                [sys.executable, WORKER, store, dataset, str(trial), str(rng.randrange(1 << 30))],
                env=subprocess_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for dataset in committed
        }
        for p in procs.values():
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        start = time.monotonic()
        for dataset, delay in sorted(((d, rng.uniform(0, 0.15)) for d in procs), key=lambda x: x[1]):
            time.sleep(max(0.0, start + delay - time.monotonic()))
            procs[dataset].send_signal(signal.SIGKILL)
        for dataset, p in procs.items():
            assert p.stdout is not None and p.stderr is not None
            out, err = p.stdout.read(), p.stderr.read()  # not communicate(): it skips what readline buffered
            p.stdout.close()
            p.stderr.close()
            assert p.wait(timeout=30) == -signal.SIGKILL, err
            printed = [int(line.split()[0]) for line in out.splitlines() if line.strip()]
            before = committed[dataset][-1] if committed[dataset] else 0
            versions = list_versions(store, dataset)
            # contiguous, every printed version is there, at most one committed but not yet printed
            assert versions == list(range(1, len(versions) + 1))
            assert printed == list(range(before + 1, before + 1 + len(printed)))
            assert before + len(printed) <= len(versions) <= before + len(printed) + 1
            committed[dataset] = versions
            if not versions:
                continue
            assert verify_store(store, dataset, full=True) == [], f"trial {trial} {dataset}"
            named = _named(store, dataset)
            removed = gc(store, dataset, min_age=0)
            removed_total += len(removed)
            assert not named & set(removed)
            assert verify_store(store, dataset, full=True) == []
            assert open_snapshot(store, dataset, verify="full").rows == load_manifest(store, dataset).rows
            root = Path(store) / dataset
            assert not list((root / "objects" / "_tmp").iterdir())
            assert not list((root / "versions").glob(".tmp-*"))
            on_disk = {str(p.relative_to(root)) for p in (root / "objects").glob("??/*.parquet")}
            assert on_disk == named
    assert sum(len(v) for v in committed.values()) >= LANES * ROUNDS  # the workers did publish
    assert removed_total > 0  # and were killed mid-write
