"""Publish names only objects that exist; gc never deletes what a visible manifest names.

Issue #12 quoted: six concurrent `dq ingest` while `dq store gc --min-age 0` loops: an
ingest printed `published flights@3`, exit 0, and version 3 and every later version
named an object gc had deleted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

import dqgate
from dqgate.errors import StoreError
from dqgate.store import gc, open_snapshot, publish, write_object
from dqgate.store.layout import dataset_layout
from dqgate.store.lease import publisher_lease
from dqgate.store.publish import version_numbers

CONTRACT = {"dataset": "flights", "version": "2.1.0", "sha256": "c" * 64}
PROBE = Path(__file__).resolve().parents[2] / "benchmarks" / "probe_gc_ingest.py"
SRC = Path(dqgate.__file__).resolve().parents[1]  # the probe's processes import the same dqgate


def _write(store: str, batch: str, table: pa.Table):
    stamp = {"batch_id": batch, "contract_sha256": "c" * 64, "status": "pass"}
    return write_object(store, "flights", table, stamp=stamp)


def _publish(store: str, batch: str, info):
    return publish(store, "flights", [info], mode="append", contract=CONTRACT, checks={"status": "pass"}, batch_id=batch)


def test_publish_refuses_an_object_gc_deleted_and_publishes_nothing(store, make_table):
    info = _write(store, "b1", make_table(0, 10))
    assert gc(store, "flights", min_age=0) == [info.path]  # unnamed: gc may take it
    with pytest.raises(StoreError, match=r"missing"):
        _publish(store, "b1", info)
    assert version_numbers(dataset_layout(store, "flights")) == []


def test_append_refuses_when_a_parent_object_is_gone(store, publish_batch, make_table):
    m1 = publish_batch("b1", make_table(0, 10))
    (Path(store) / "flights" / m1.files[0].path).unlink()
    info = _write(store, "b2", make_table(10, 10))
    with pytest.raises(StoreError, match=rf"refusing to publish version 2 .*{m1.files[0].path} is missing"):
        _publish(store, "b2", info)
    assert version_numbers(dataset_layout(store, "flights")) == [1]


def test_publish_refuses_an_object_changed_after_it_was_written(store, make_table):
    info = _write(store, "b1", make_table(0, 10))
    path = Path(store) / "flights" / info.path
    raw = bytearray(path.read_bytes())
    raw[10] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(StoreError, match="changed after it was written"):
        _publish(store, "b1", info)
    assert version_numbers(dataset_layout(store, "flights")) == []


def test_gc_waits_for_a_publisher_holding_the_lease(store, make_table, subprocess_env):
    """A real gc process with --min-age 0 cannot delete an object between its write and its publish."""
    layout = dataset_layout(store, "flights")
    with publisher_lease(layout):
        info = _write(store, "b1", make_table(0, 10))
        gc_proc = subprocess.Popen(
            [sys.executable, "-m", "dqgate", "store", "gc", store, "flights", "--min-age", "0", "--format", "json"],
            env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(1.0)  # long enough for gc to reach its listing if it were not blocked
        assert gc_proc.poll() is None, "gc ran while a publisher held the lease"
        assert (Path(store) / "flights" / info.path).exists()
        _publish(store, "b1", info)
    out, err = gc_proc.communicate(timeout=60)
    assert gc_proc.returncode == 0, err
    assert json.loads(out)["removed"] == {"flights": []}
    assert open_snapshot(store, "flights", verify="full").to_arrow().equals(make_table(0, 10))


def test_six_ingests_racing_a_gc_loop_leave_every_version_readable(tmp_path):
    """The issue's probe, in real processes: 6 `dq ingest` per round while `dq store gc --min-age 0` loops."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, str(PROBE), "--rounds", "1", "--writers", "6", "--dir", str(tmp_path / "probe"), "--json"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["gc_runs"] >= 1, result  # gc really ran during the ingests
    assert result["published"] >= 6, result
    assert result["unreadable_published"] == [], result
    assert result["verify_problems"] == [], result
    assert result["tracebacks"] == 0, result
