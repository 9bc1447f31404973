"""Eight real processes appending different batches at the same instant."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from dqgate.store import list_versions, load_manifest, open_snapshot, verify_store

WORKER = """
import os, sys, time
import pyarrow as pa
from dqgate.store import publish, write_object
store, batch, go = sys.argv[1], sys.argv[2], sys.argv[3]
n = int(batch[1:])
data = pa.table({"id": pa.array(range(n * 100, n * 100 + 50), pa.int64()), "batch": [batch] * 50})
info = write_object(store, "flights", data, stamp={"batch_id": batch, "contract_sha256": "c" * 64, "status": "pass"})
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.0005)
m = publish(store, "flights", [info], mode="append", contract={"sha256": "c" * 64},
            checks={"status": "pass"}, batch_id=batch)
print(m.version, flush=True)
"""


def test_eight_concurrent_appends_each_land_once(store, subprocess_env, tmp_path):
    go = tmp_path / "go"
    batches = [f"b{i}" for i in range(8)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, store, b, str(go)],
            env=subprocess_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for b in batches
    ]
    for p in procs:  # every worker has written its object and waits at the barrier
        assert p.stdout is not None and p.stdout.readline().strip() == "ready", p.stderr.read() if p.stderr else ""
    Path(go).touch()
    won = {}
    for b, p in zip(batches, procs):
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        won[b] = int(out.split()[-1])
    assert sorted(won.values()) == list(range(1, 9))
    assert list_versions(store, "flights") == list(range(1, 9))
    for v in range(1, 9):
        m = load_manifest(store, "flights", v)
        assert m.parent == (v - 1 or None) and len(m.batch_ids) == v == len(m.files)
        assert m.batch_ids[-1] == next(b for b, won_v in won.items() if won_v == v)
    final = load_manifest(store, "flights", 8)
    assert sorted(final.batch_ids) == batches
    table = open_snapshot(store, "flights", verify="full").to_arrow()
    assert table.num_rows == 8 * 50
    assert sorted(table.column("batch").unique().to_pylist()) == batches
    assert verify_store(store, "flights", full=True) == []
    assert not list((Path(store) / "flights" / "versions").glob(".tmp-*"))


def test_retried_batch_from_racing_processes_publishes_once(store, subprocess_env, tmp_path):
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, store, "b5", str(go)],
            env=subprocess_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    time.sleep(0.01)
    Path(go).touch()
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert out.split()[-1] == "1"
    assert list_versions(store, "flights") == [1]
