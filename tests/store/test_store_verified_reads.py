"""Every read path of open_snapshot refuses changed bytes by default, and reads only what it verifies.

Issue #12 quoted: `open_snapshot(store, "w").to_arrow()` returned silently different
data for 39 of 40 single-bit flips in a data file; only `verify="full"` caught them.
"""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dqgate.errors import StampError
from dqgate.store import open_snapshot, verify_store

READS = {
    "to_arrow": lambda s: s.to_arrow(),
    "to_arrow_columns": lambda s: s.to_arrow(columns=["b"]),
    "to_polars": lambda s: s.to_polars(),
    "iter_batches": lambda s: pa.Table.from_batches(list(s.iter_batches(5000))),
    "scan_polars": lambda s: s.scan_polars().collect(),
    "scan_polars_b": lambda s: s.scan_polars().select("b").collect(),
    "scan_polars_filter": lambda s: s.scan_polars().filter(pl.col("a") > 0.5).select("b").collect(),
    "to_duckdb": lambda s: s.to_duckdb(duckdb.connect()).aggregate("sum(b), count(*)").fetchall(),
}


def wide_table(rows: int = 40_000) -> pa.Table:
    """Three incompressible float columns: each column chunk is a segment of its own (>= 256 KiB)."""
    rng = np.random.default_rng(7)
    return pa.table({"a": rng.random(rows), "b": rng.random(rows), "c": rng.random(rows)})


def _chunk_range(path: Path, row_group: int, column: int) -> tuple[int, int]:
    chunk = pq.read_metadata(path).row_group(row_group).column(column)
    start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
    return start, start + chunk.total_compressed_size


def _flip(path: Path, offset: int, mask: int = 0x10) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= mask
    path.write_bytes(bytes(raw))


@pytest.fixture
def wide(store, publish_batch):
    data = wide_table()
    manifest = publish_batch("b1", data)
    path = Path(store) / "flights" / manifest.files[0].path
    assert len(manifest.files[0].segments) == 4, "the test needs column chunks in segments of their own"
    return data, path


# DuckDB runs the read inside its own query and raises its own error type
# (InvalidInputException); to_duckdb's relation turns it back into the StampError.
REFUSED = StampError
MESSAGE = r"file objects/.*\.parquet: bytes \d+\.\.\d+ differ from what was published"


@pytest.mark.parametrize("read", list(READS))
def test_every_read_path_refuses_a_changed_byte_without_a_verify_argument(store, wide, read):
    data, path = wide
    start, end = _chunk_range(path, 0, 1)  # column b, first row group
    _flip(path, (start + end) // 2)
    snap = open_snapshot(store, "flights")
    with pytest.raises(REFUSED, match=MESSAGE) as refused:
        READS[read](snap)
    assert refused.type is StampError


def test_a_partial_read_verifies_what_it_touches_and_reads_the_rest(store, wide):
    data, path = wide
    start, end = _chunk_range(path, 0, 1)
    _flip(path, (start + end) // 2)  # column b is damaged; a and c are not
    snap = open_snapshot(store, "flights")
    assert snap.to_arrow(columns=["a", "c"]).equals(data.select(["a", "c"]))
    assert snap.scan_polars().select("a", "c").collect().equals(pl.from_arrow(data.select(["a", "c"])))
    con = duckdb.connect()
    assert snap.to_duckdb(con).aggregate("count(*), sum(a)").fetchall()[0][0] == data.num_rows
    with pytest.raises(StampError):
        snap.scan_polars().select("b").collect()


def test_a_changed_footer_is_refused_by_every_read(store, wide):
    data, path = wide
    meta_at = path.stat().st_size - 100  # inside the Thrift footer
    _flip(path, meta_at, 0x01)
    snap = open_snapshot(store, "flights")
    for read in ("to_arrow", "scan_polars_b", "to_duckdb", "iter_batches"):
        with pytest.raises(REFUSED, match=MESSAGE):
            READS[read](snap)


def test_forty_random_bit_flips_are_all_refused_by_default(store, publish_batch, make_table):
    """The issue's 40 flips: 39 used to come back as silently different data."""
    manifest = publish_batch("b1", make_table(0, 5000))
    path = Path(store) / "flights" / manifest.files[0].path
    original = path.read_bytes()
    rnd = random.Random(12)
    for _ in range(40):
        offset, bit = rnd.randrange(len(original)), 1 << rnd.randrange(8)
        flipped = bytearray(original)
        flipped[offset] ^= bit
        path.write_bytes(bytes(flipped))
        with pytest.raises(StampError, match="differ from what was published"):
            open_snapshot(store, "flights").to_arrow()
    path.write_bytes(original)
    assert open_snapshot(store, "flights").to_arrow().equals(make_table(0, 5000))


def test_verify_none_is_the_only_way_to_read_changed_bytes(store, wide):
    data, path = wide
    start, end = _chunk_range(path, 0, 0)
    _flip(path, end - 5)  # the last bytes of a's first chunk: data, not a header
    unverified = open_snapshot(store, "flights", verify="none")
    try:
        changed = unverified.to_arrow()
    except OSError:  # the flip may also break decoding; either way it was not refused by a hash
        changed = None
    assert changed is None or not changed.equals(data)
    with pytest.raises(StampError):
        open_snapshot(store, "flights").to_arrow()
    with pytest.raises(StampError, match="corrupt"):
        open_snapshot(store, "flights", verify="full")
    assert any("sha256" in p for p in verify_store(store, "flights", full=True))


def test_reads_in_manifest_order_with_many_files_and_appends(store, publish_batch, make_table):
    publish_batch("b1", make_table(0, 300))
    publish_batch("b2", make_table(300, 200))
    publish_batch("b3", make_table(500, 100))
    snap = open_snapshot(store, "flights")
    expected = pa.concat_tables([make_table(0, 300), make_table(300, 200), make_table(500, 100)])
    assert snap.to_arrow().equals(expected)
    assert snap.scan_polars().collect().equals(pl.from_arrow(expected))
    assert snap.scan_polars().head(350).collect().equals(pl.from_arrow(expected.slice(0, 350)))
    assert pa.Table.from_batches(list(snap.iter_batches(64))).equals(expected)
    assert snap.to_duckdb(duckdb.connect()).aggregate("sum(id)").fetchall() == [(sum(range(600)),)]


def test_to_duckdb_refuses_with_stamp_error_through_derived_relations_and_sql(store, wide):
    """Issue #12: a changed byte read by DuckDB surfaced as DuckDB's InvalidInputException."""
    data, path = wide
    start, end = _chunk_range(path, 0, 1)
    _flip(path, (start + end) // 2)
    con = duckdb.connect()
    rel = open_snapshot(store, "flights").to_duckdb(con)
    derived = rel.filter("a > 0.25").project("b").aggregate("sum(b)")
    with pytest.raises(StampError, match=MESSAGE):
        derived.fetchall()
    with pytest.raises(StampError, match=MESSAGE):
        rel.to_arrow_table()
    with pytest.raises(StampError, match=MESSAGE):
        rel.pl()
    # the columns it does not need are read, and equal what was published
    kept = rel.filter("a > 0.25").aggregate("count(*), sum(c)").fetchall()[0]
    mask = [x > 0.25 for x in data["a"].to_pylist()]
    assert kept[0] == sum(mask)
    assert kept[1] == pytest.approx(sum(c for c, m in zip(data["c"].to_pylist(), mask) if m), rel=1e-12)
    # SQL text runs inside DuckDB: through a view, a refused byte is DuckDB's error with the StampError's text
    rel.create_view("snap")
    assert con.sql("SELECT count(*), sum(a) FROM snap").fetchall()[0][0] == data.num_rows
    with pytest.raises(duckdb.Error, match=MESSAGE):
        con.sql("SELECT sum(b) FROM snap").fetchall()


def test_diff_reads_through_the_verified_path(store, publish_batch, make_table):
    """Issue #12: store/diff.py read snapshots with DuckDB's read_parquet, unverified."""
    from dqgate.store import diff

    publish_batch("b1", make_table(0, 4000))
    manifest = publish_batch("b2", make_table(4000, 4000))
    assert diff(store, "flights", 1, 2, key=["id"])["keys"]["added"] == 4000
    path = Path(store) / "flights" / manifest.files[-1].path
    start, end = _chunk_range(path, 0, 0)  # the id column of the appended file
    _flip(path, (start + end) // 2)
    with pytest.raises(StampError, match=MESSAGE):
        diff(store, "flights", 1, 2, key=["id"])
