"""An ingest into an existing dataset stages its Parquet file in the store before the check.

``store/page_copy.py`` (``staged``) copies the batch file into ``objects/_tmp/`` and the
check reads that copy, so what is judged is byte for byte what is published, whatever
happens to the file meanwhile. Each test is an observation a broken staging gets wrong:

* the file is rewritten while the check runs: the rows published are the rows checked
  (not the new ones, which break the contract), under the old bytes' batch id;
* every outcome (published, already published, quarantined, rejected, an unreadable
  page) leaves no copy behind in ``objects/_tmp/``;
* an error reading the copy names the user's file, not the copy;
* a quarantined batch is the checked bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from gate_helpers import dq

import dqgate
from dqgate.errors import DataError
from dqgate.store import open_snapshot

CONTRACT = """\
dataset: staged
version: 1.0.0
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    x:  {type: float64, range: {min: 0, max: 10}}
gate: {publish: append, on_failure: {on_failure}}
"""


def _setup(tmp_path: Path, on_failure: str = "quarantine_batch") -> tuple[Path, Path]:
    contract = tmp_path / "contract.yaml"
    contract.write_text(CONTRACT.replace("{on_failure}", on_failure))
    store = tmp_path / "store"
    first = tmp_path / "first.parquet"
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64()), "x": [1.0, 2.0]}), first)
    assert dqgate.ingest(str(first), str(contract), str(store)).outcome == "published"
    return contract, store


def _batch(path: Path, ids: range, x: float) -> bytes:
    pq.write_table(pa.table({"id": pa.array(list(ids), pa.int64()), "x": [x] * len(ids)}), path, compression="zstd")
    return path.read_bytes()


def _leftovers(store: Path) -> list[str]:
    tmp = store / "staged" / "objects" / "_tmp"
    return sorted(os.listdir(tmp)) if tmp.exists() else []


def _rewriting(path: Path, ids: range, x: float) -> Any:
    """A progress display that rewrites the batch file as the check's scan starts."""

    def progress(poll: Any = None, *, since: float) -> Any:
        _batch(path, ids, x)
        return contextlib.nullcontext()

    return progress


def test_the_rows_checked_are_the_rows_published_when_the_file_changes_during_the_check(tmp_path: Path) -> None:
    contract, store = _setup(tmp_path)
    batch = tmp_path / "b.parquet"
    checked = _batch(batch, range(10, 20), 5.0)
    from dqgate.gate.ingest import ingest

    out = ingest(str(contract), str(batch), str(store), progress=_rewriting(batch, range(10, 20), 99.0))
    assert out.outcome == "published", out.result.to_json() if out.result else out
    assert batch.read_bytes() != checked  # the file did change under the check
    assert out.batch_id.startswith("b" + hashlib.sha256(checked).hexdigest()[:40])
    snap = open_snapshot(str(store), "staged", verify="full")
    assert snap.to_arrow().column("x").to_pylist() == [1.0, 2.0] + [5.0] * 10
    assert _leftovers(store) == []


def test_a_quarantined_batch_is_the_bytes_that_were_checked(tmp_path: Path) -> None:
    contract, store = _setup(tmp_path)
    batch = tmp_path / "b.parquet"
    checked = _batch(batch, range(10, 13), 50.0)  # out of range: quarantined
    from dqgate.gate.ingest import ingest

    out = ingest(str(contract), str(batch), str(store), progress=_rewriting(batch, range(10, 13), 5.0))
    assert out.outcome == "quarantined_batch"
    kept = pq.read_table(Path(out.quarantine_path) / "batch.parquet")
    assert kept.equals(pq.read_table(pa.BufferReader(checked)))
    assert _leftovers(store) == []


def test_the_report_names_the_batch_file_not_its_copy(tmp_path: Path) -> None:
    contract, store = _setup(tmp_path)
    batch = tmp_path / "b.parquet"
    _batch(batch, range(10, 20), 5.0)
    out = dqgate.ingest(str(batch), str(contract), str(store), mode="replace")  # a replace reports the batch itself
    assert out.outcome == "published" and out.result.source["uri"] == str(batch)
    assert _leftovers(store) == []


@pytest.mark.parametrize("on_failure", ["fail", "quarantine_rows"])
def test_no_copy_is_left_behind_whatever_the_outcome(tmp_path: Path, on_failure: str) -> None:
    contract, store = _setup(tmp_path, on_failure)
    good, bad = tmp_path / "good.parquet", tmp_path / "bad.parquet"
    _batch(good, range(10, 20), 5.0)
    _batch(bad, range(30, 40), 50.0)
    assert dqgate.ingest(str(good), str(contract), str(store)).outcome == "published"
    assert dqgate.ingest(str(good), str(contract), str(store)).outcome == "already_published"
    expected = "rejected" if on_failure == "fail" else "quarantined_batch"  # every row fails: nothing to keep
    assert dqgate.ingest(str(bad), str(contract), str(store)).outcome == expected
    assert _leftovers(store) == []
    assert sorted(p.name for p in (store / "staged" / "versions").glob("0*.json")) == ["00000001.json", "00000002.json"]


def test_an_unreadable_page_names_the_batch_file_and_leaves_nothing(tmp_path: Path) -> None:
    contract, store = _setup(tmp_path)
    batch = tmp_path / "broken.parquet"
    data = bytearray(_batch(batch, range(10, 5000), 5.0))
    meta = pq.read_metadata(batch).row_group(0).column(1)
    start = meta.dictionary_page_offset or meta.data_page_offset
    for i in range(start + 20, start + meta.total_compressed_size - 1):
        data[i] ^= 0x5A  # the page header stays, its zstd frame does not
    batch.write_bytes(bytes(data))
    with pytest.raises(DataError) as caught:
        dqgate.ingest(str(batch), str(contract), str(store))
    assert str(batch) in str(caught.value) and "_tmp" not in str(caught.value)
    assert _leftovers(store) == []
    got = dq("ingest", contract, batch, "--store", store, cwd=tmp_path)
    assert got.returncode == 2 and str(batch) in got.stderr and "_tmp" not in got.stderr + got.stdout, got.stderr
    assert "Traceback" not in got.stderr
    assert _leftovers(store) == []


def test_the_copy_falls_back_to_read_and_write_where_the_kernel_cannot_copy(tmp_path: Path) -> None:
    """copy_file_range refuses some pairs of files (across some filesystems; a pipe): the copy
    then goes through user space, and the staged bytes are the same."""
    import threading

    from dqgate.store.page_copy import _copy_file

    data = os.urandom(300_000)
    read_end, write_end = os.pipe()  # copy_file_range: EINVAL for a pipe

    def feed() -> None:
        with os.fdopen(write_end, "wb") as w:
            w.write(data)

    feeder = threading.Thread(target=feed)
    feeder.start()
    out = os.open(tmp_path / "copy", os.O_RDWR | os.O_CREAT)
    try:
        _copy_file(read_end, out, "pipe", "store")
    finally:
        os.close(out)
        os.close(read_end)
        feeder.join()
    assert (tmp_path / "copy").read_bytes() == data


def test_gc_waits_for_an_ingest_whose_copy_is_staged(tmp_path: Path) -> None:
    """`dq store gc --min-age 0` started while a staged batch is being checked must not take
    the copy (it would remove anything under objects/_tmp/): it waits for the ingest's lease."""
    import subprocess
    import time

    from gate_helpers import dq_cmd, env

    contract, store = _setup(tmp_path)
    batch = tmp_path / "b.parquet"
    _batch(batch, range(10, 20), 5.0)
    seen: dict[str, Any] = {}

    def progress(poll: Any = None, *, since: float) -> Any:
        seen["staged"] = _leftovers(store)  # the copy the check is reading
        gc = subprocess.Popen(dq_cmd("store", "gc", store, "staged", "--min-age", "0", "--format", "json"), env=env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        time.sleep(1.0)
        seen["gc_done_during_check"] = gc.poll() is not None
        seen["gc"] = gc
        return contextlib.nullcontext()

    from dqgate.gate.ingest import ingest

    out = ingest(str(contract), str(batch), str(store), progress=progress)
    gc = seen["gc"]
    stdout, stderr = gc.communicate(timeout=120)
    assert gc.returncode == 0, stderr
    assert len(seen["staged"]) == 1 and seen["gc_done_during_check"] is False
    assert out.outcome == "published"
    snap = open_snapshot(str(store), "staged", verify="full")
    assert snap.version == 2 and snap.to_arrow().column("x").to_pylist() == [1.0, 2.0] + [5.0] * 10
    assert not set(json.loads(stdout)["removed"]["staged"]) & {f.path for f in snap.manifest.files}
