"""scan_polars' write race is closed: a process that opens an object for writing while
Polars reads it gets what was read refused, and one that holds it open for writing
makes the read go through a verified private copy.

Issue #12 left this gap open: Polars reads the very file descriptor whose bytes were
checked, so a process writing into the object between the check and the read was
not caught. Real processes, real files.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from dqgate.errors import StampError
from dqgate.store import open_snapshot
from dqgate.store.staging import checked_in_place

WRITER = """
import os, sys
print("opening", flush=True)
fd = os.open(sys.argv[1], os.O_WRONLY)   # blocks while a reader holds its lease
print("opened", flush=True)
if sys.argv[2] == "hold":
    sys.stdin.readline()                  # keep it open for writing until told
os.pwrite(fd, bytes([os.pread(os.open(sys.argv[1], os.O_RDONLY), 1, 100)[0] ^ 0xFF]), 100)
os.close(fd)
"""


def _object(store: str, publish_batch, make_table) -> tuple[Path, object]:
    manifest = publish_batch("b1", make_table(0, 4000))
    return Path(store) / "flights" / manifest.files[0].path, manifest.files[0]


def test_a_process_that_opens_the_object_for_writing_during_the_read_is_caught(store, publish_batch, make_table):
    path, entry = _object(store, publish_batch, make_table)
    with subprocess.Popen([sys.executable, "-c", WRITER, str(path), "write"], stdout=subprocess.PIPE, text=True) as writer:
        assert writer.stdout is not None
        with pytest.raises(StampError, match="opened for writing while it was read"):  # noqa: PT012
            with checked_in_place(str(path), entry.path, entry.segment_table, ["id"]) as checked:
                assert pl.scan_parquet(checked).select("id").collect().height == 4000
                assert writer.stdout.readline().strip() == "opening"
                time.sleep(0.5)  # its open(O_WRONLY) now waits on the lease it broke
                assert writer.poll() is None, "the writer could open the file while it was being read"
        assert writer.wait(timeout=30) == 0  # released when the read ended, then it wrote
    with pytest.raises(StampError, match="differ from what was published"):
        open_snapshot(store, "flights").scan_polars().select("id", "delay").collect()


def test_an_object_held_open_for_writing_is_read_from_a_verified_copy(store, publish_batch, make_table):
    path, _ = _object(store, publish_batch, make_table)
    expected = pl.from_arrow(make_table(0, 4000)).select("id", "delay")
    args = [sys.executable, "-c", WRITER, str(path), "hold"]
    with subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as writer:
        assert writer.stdin is not None and writer.stdout is not None
        try:
            assert writer.stdout.readline().strip() == "opening"
            assert writer.stdout.readline().strip() == "opened"
            # no lease while another process may write: the private copy is read, and it equals what was published
            assert open_snapshot(store, "flights").scan_polars().select("id", "delay").collect().equals(expected)
        finally:
            writer.stdin.write("go\n")
            writer.stdin.flush()
        assert writer.wait(timeout=30) == 0
    with pytest.raises(StampError, match="differ from what was published"):
        open_snapshot(store, "flights").scan_polars().select("id", "delay").collect()


def test_an_undisturbed_read_keeps_its_lease_and_reads_in_place(store, publish_batch, make_table):
    path, entry = _object(store, publish_batch, make_table)
    with checked_in_place(str(path), entry.path, entry.segment_table, None) as checked:
        assert checked.startswith("/proc/self/fd/")
        assert Path(checked).resolve() == path.resolve()  # the object itself, not a copy
        assert pl.scan_parquet(checked).collect().height == 4000
