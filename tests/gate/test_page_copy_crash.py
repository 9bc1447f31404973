"""kill -9 a real `dq ingest` while it copies a Parquet batch's pages into the store.

The batch is one uncompressed Parquet file (~32 MB), so it is staged in the store and
page-copied (``store/page_copy.py``): the test watches ``objects/_tmp/`` and kills the
process once the staged copy holds a random fraction of the batch's bytes (the kernel
copies it fast, so the kill may land after the copy is whole, while it is checked). Afterwards the store must show no new
version, verify in full, read the old version exactly, and take the batch again;
gc removes the half-written object and nothing a manifest names.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from gate_helpers import dq, dq_cmd, env

from dqgate.store import open_snapshot

CONTRACT = """\
dataset: flights
version: 1.0.0
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    x:  {type: float64}
checks:
  - metric: row_count
    min: 1
gate: {publish: append}
"""
ROWS = 3_000_000
TRIALS = 2


def _tmp_sizes(root: Path) -> dict[str, int]:
    try:
        return {e.name: e.stat().st_size for e in os.scandir(root / "objects" / "_tmp")}
    except FileNotFoundError:
        return {}


def test_kill_9_during_the_page_copy_leaves_no_half_version(tmp_path):
    store = tmp_path / "store"
    contract = tmp_path / "contract.yaml"
    contract.write_text(CONTRACT)
    first = pa.table({"id": pa.array(np.arange(1000), pa.int64()), "x": pa.array(np.ones(1000))})
    pq.write_table(first, tmp_path / "first.parquet")
    assert dq("ingest", contract, tmp_path / "first.parquet", "--store", store, cwd=tmp_path).returncode == 0
    rng = np.random.default_rng(7)
    big = pa.table({"id": pa.array(np.arange(10_000, 10_000 + ROWS), pa.int64()), "x": pa.array(rng.random(ROWS))})
    batch = tmp_path / "big.parquet"
    pq.write_table(big, batch, compression="none", use_dictionary=False, row_group_size=1_000_000)
    size = batch.stat().st_size
    root = store / "flights"
    pick = random.Random(11)
    caught = []
    for _ in range(TRIALS):
        fraction = pick.uniform(0.05, 0.5)  # the copy grows 8 MiB at a time: the last piece may end it at once
        before = set(_tmp_sizes(root))  # the half objects of earlier trials stay until gc
        proc = subprocess.Popen(dq_cmd("ingest", contract, batch, "--store", store), env=env(), cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if any(n >= fraction * size for name, n in _tmp_sizes(root).items() if name not in before):
                proc.send_signal(signal.SIGKILL)
                break
        code = proc.wait(timeout=60)
        proc.communicate()
        assert code == -signal.SIGKILL, "the copy finished before the kill: make the batch bigger"
        caught.extend(n for name, n in _tmp_sizes(root).items() if name not in before)
        # no half-version: the old version is still the latest
        assert sorted(p.name for p in (root / "versions").glob("0*.json")) == ["00000001.json"]
    verify = dq("snapshots", "verify", store, "flights", "--full", cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert open_snapshot(str(store), "flights").to_arrow().equals(first)
    assert len(caught) == TRIALS and all(0 < n <= size for n in caught), caught  # each kill landed while the copy was unpublished
    done = dq("ingest", contract, batch, "--store", store, "--format", "json", cwd=tmp_path, timeout=180)
    assert done.returncode == 0, done.stderr
    assert [b["outcome"] for b in json.loads(done.stdout)] == ["published"]
    snap = open_snapshot(str(store), "flights", verify="full")
    assert snap.version == 2 and snap.rows == 1000 + ROWS
    assert snap.to_arrow(columns=["id"]).column(0).to_numpy()[-1] == 10_000 + ROWS - 1
    gc = dq("store", "gc", store, "flights", "--min-age", "0", "--format", "json", cwd=tmp_path)
    assert gc.returncode == 0, gc.stderr
    named = {f.path for f in snap.manifest.files}
    removed = set(json.loads(gc.stdout)["removed"]["flights"])
    assert len([r for r in removed if "_tmp" in r]) == TRIALS and not removed & named
    assert dq("snapshots", "verify", store, "flights", "--full", cwd=tmp_path).returncode == 0
