"""gc removes the state and key runs of appends that no manifest names, and keeps every one it names.

An append writes its key runs and its state before its manifest (gate/snapshot_scope.py,
``keep``); a publisher that dies in between leaves them unnamed. gc deletes those (old
enough, under the same lease as objects), never a state a manifest names nor a run such
a state names, and refuses when a named state cannot be trusted.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dqgate.errors import StoreError
from dqgate.gate.ingest import ingest
from dqgate.store import key_index
from dqgate.store.gc import gc
from dqgate.store.state import write_state

CONTRACT = """\
dataset: w
version: 1.0.0
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    x: {type: float64}
checks:
  - metric: mean(x)
gate: {publish: append}
"""


def _append(folder: Path, store: Path, name: str, ids: range) -> None:
    batch = folder / name
    pq.write_table(pa.table({"id": pa.array(list(ids), pa.int64()), "x": [float(i) for i in ids]}), batch)
    assert ingest(str(folder / "w.yaml"), str(batch), str(store)).outcome == "published"


def _files(store: Path, sub: str) -> set[str]:
    root = store / "w"
    return {p.relative_to(root).as_posix() for p in (root / sub).rglob("*") if p.is_file()}


def _store_with_leftovers(tmp_path: Path) -> tuple[Path, set[str], set[str]]:
    (tmp_path / "w.yaml").write_text(CONTRACT, encoding="utf-8")
    store = tmp_path / "store"
    _append(tmp_path, store, "a.parquet", range(0, 50))
    _append(tmp_path, store, "b.parquet", range(50, 100))
    named = _files(store, "state") | _files(store, "keys")
    # what a publisher that died after writing its runs and state, before its manifest, leaves
    ref, data = key_index.encode_run(pa.table({"id": pa.array([7], pa.int64()), key_index.COUNT: pa.array([1], pa.int64())}))
    key_index.write_run(str(store), "w", ref, data)
    state = write_state(str(store), "w", {"format": 1, "rules": {"id.unique": {"runs": [ref]}}})
    tmp = store / "w" / "state" / ".tmp-0123abcd"
    tmp.write_bytes(b"half a state")
    return store, named, {ref["path"], state["path"], "state/.tmp-0123abcd"}


def _age(store: Path, hours: float) -> None:
    then = time.time() - hours * 3600
    for p in (store / "w").rglob("*"):
        if p.is_file():
            os.utime(p, (then, then))


def test_gc_removes_unnamed_state_and_key_runs_and_keeps_the_named_ones(tmp_path):
    store, named, leftovers = _store_with_leftovers(tmp_path)
    assert leftovers.isdisjoint(named) and len(named) == 4  # two versions: a state and an id run each
    assert gc(str(store), "w") == []  # younger than an hour: left alone
    _age(store, 2)
    assert set(gc(str(store), "w", dry_run=True)) == leftovers
    assert set(gc(str(store), "w")) == leftovers
    assert _files(store, "state") | _files(store, "keys") == named
    # the index the next append reads is whole: judged from merged state, no rebuild, the collision found
    batch = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": pa.array([99, 100], pa.int64()), "x": [1.0, 2.0]}), batch)
    got = ingest(str(tmp_path / "w.yaml"), str(batch), str(store))
    assert got.outcome == "quarantined_batch" and not any("rebuilt" in m for m in got.messages)
    unique = next(c for c in got.result.checks if c.id == "id.unique")
    assert (unique.failed_rows, unique.computed) == (2, "merged")


def test_gc_refuses_when_a_named_state_cannot_be_trusted_and_deletes_nothing(tmp_path):
    store, named, leftovers = _store_with_leftovers(tmp_path)
    latest = sorted((store / "w" / "versions").glob("0*.json"))[-1]
    state = store / "w" / json.loads(latest.read_text())["checks"]["state"]["path"]
    state.write_bytes(state.read_bytes().replace(b'"failed":0', b'"failed":9'))
    _age(store, 2)
    with pytest.raises(StoreError, match=r"refusing to gc 'w': version 2: state .* does not match its sha256"):
        gc(str(store), "w")
    assert _files(store, "state") | _files(store, "keys") == named | leftovers
