"""Eight `dq ingest` processes append eight batches to one dataset at the same moment."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from gate_helpers import FLIGHTS, dq, dq_cmd, env, rows, write_contract

from dqgate.store import open_snapshot

WRITERS = 8


def test_eight_concurrent_ingests_publish_every_batch_exactly_once(tmp_path, store):
    contract = write_contract(tmp_path, warn_checks=False)
    source = pq.read_table(FLIGHTS)
    batches, paths = [], []
    for i in range(WRITERS):  # distinct ids and sizes, so every batch and every row is told apart
        table = source.slice(i * 300, 1000 + 100 * i)
        table = table.set_column(0, "id", pc.add(table["id"], (i + 1) * 1_000_000))
        paths.append(tmp_path / f"batch-{i}.parquet")
        pq.write_table(table, paths[-1])
        batches.append(table)
    from dqgate.runners.check import as_contract

    suffix = as_contract(str(contract)).sha256[:8]
    ids = {"b" + hashlib.sha256(p.read_bytes()).hexdigest()[:40] + suffix: i for i, p in enumerate(paths)}
    go = tmp_path / "go"
    # each writer waits for the same file to appear, so the eight ingests start together
    script = (
        "import os, sys, time\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.002)\n"
        "from dqgate.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    procs = [
        subprocess.Popen([dq_cmd()[0], "-c", script, "ingest", str(contract), str(p), "--store", str(store), "--format",
                          "json"], env=env(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for p in paths
    ]  # fmt: skip
    go.touch()
    outcomes = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outcomes.extend(json.loads(out))
    assert sorted(o["version"] for o in outcomes) == list(range(1, WRITERS + 1))
    assert {o["outcome"] for o in outcomes} == {"published"}

    versions = sorted((store / "flights" / "versions").glob("*.json"))
    assert [v.name for v in versions] == [f"{n:08d}.json" for n in range(1, WRITERS + 1)]
    manifests = [json.loads(v.read_text()) for v in versions]
    for n, m in enumerate(manifests, start=1):  # a chain: each version is its parent plus one batch
        assert m["parent"] == (n - 1 or None)
        assert len(m["batch_ids"]) == n and m["batch_ids"][:-1] == (manifests[n - 2]["batch_ids"] if n > 1 else [])
    latest = manifests[-1]["batch_ids"]
    assert sorted(latest) == sorted(ids)  # every batch exactly once
    data = open_snapshot(str(store), "flights", verify="full").to_arrow()
    assert rows(data) == rows(pa.concat_tables(batches))
    verify = dq("snapshots", "verify", store, "flights", "--full", cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
