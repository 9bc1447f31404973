"""A Polars read of a local snapshot imports no pyarrow, and still verifies what it reads.

Issue #12 measured ``scan_polars`` of 3 columns at 1.39x Polars' own scan for whole
processes, the read itself 1.19x: the rest was importing pyarrow, which a Polars-only
training job never needs. The footer is now parsed without pyarrow
(``store/parquet_footer.py``) and a local store is read with plain ``os`` calls
(``store/localfs.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dqgate.store.parquet_footer import column_chunks

READ = """
import json, sys
import polars as pl
from dqgate.errors import StampError
from dqgate.store import open_snapshot
try:
    frame = open_snapshot(sys.argv[1], "flights").scan_polars().filter(pl.col("id") % 2 == 0).select("id", "delay").collect()
    out = {"rows": frame.height, "ids": int(frame["id"].sum()), "delay": frame["delay"].sum()}
except StampError as exc:
    out = {"refused": str(exc)}
out["pyarrow"] = sorted(m for m in sys.modules if m.split(".")[0] == "pyarrow")
print(json.dumps(out))
"""


def _read(store: str, env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, "-c", READ, store], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_scan_polars_imports_no_pyarrow_and_refuses_a_changed_byte(store, publish_batch, make_table, subprocess_env):
    publish_batch("b1", make_table(0, 3000))
    manifest = publish_batch("b2", make_table(3000, 3000))
    got = _read(store, subprocess_env)
    expected = make_table(0, 6000).to_pydict()
    even = [i for i in expected["id"] if i % 2 == 0]
    assert got["pyarrow"] == []
    assert (got["rows"], got["ids"]) == (len(even), sum(even))
    assert got["delay"] == pytest.approx(sum(d for i, d in zip(expected["id"], expected["delay"]) if i % 2 == 0 and d is not None))
    path = Path(store) / "flights" / manifest.files[-1].path
    chunk = pq.read_metadata(path).row_group(0).column(2)  # delay
    raw = bytearray(path.read_bytes())
    raw[chunk.data_page_offset + chunk.total_compressed_size // 2] ^= 0x04
    path.write_bytes(bytes(raw))
    refused = _read(store, subprocess_env)
    assert refused["pyarrow"] == []
    assert "differ from what was published" in refused["refused"] and manifest.files[-1].path in refused["refused"]


def _tables() -> list[pa.Table]:
    n = 5000
    ids = pa.array(range(n), pa.int64())
    return [
        pa.table({"id": ids, "carrier": pa.array([["AA", "B6", None][i % 3] for i in range(n)])}),
        pa.table({
            "a.b": ids, "A": pa.array([float(i) for i in range(n)]), "ünï code": pa.array([str(i % 7) for i in range(n)]),
            "s": pa.array([{"x": i, "y": [i, i + 1]} for i in range(n)]),
            "l": pa.array([[str(i)] * (i % 3) for i in range(n)]),
            "m": pa.array([[("k", i)] for i in range(n)], pa.map_(pa.string(), pa.int64())),
            "flag": pa.array([i % 2 == 0 for i in range(n)]),
        }),  # fmt: skip
    ]


@pytest.mark.parametrize("row_group_size", [700, 5000])
@pytest.mark.parametrize("which", [0, 1])
def test_the_footer_parser_finds_the_chunks_pyarrow_finds(tmp_path, which, row_group_size):
    table = _tables()[which]
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=row_group_size, compression="zstd")
    data = path.read_bytes()
    length = int.from_bytes(data[-8:-4], "little")
    groups = column_chunks(data[-8 - length : -8], where="t")
    meta = pq.read_metadata(path)
    assert len(groups) == meta.num_row_groups
    for g, group in enumerate(groups):
        assert len(group) == meta.num_columns
        for j, chunk in enumerate(group):
            theirs = meta.row_group(g).column(j)
            start = theirs.dictionary_page_offset if theirs.has_dictionary_page else theirs.data_page_offset
            assert (chunk.start, chunk.length) == (start, theirs.total_compressed_size)
            # pyarrow joins a path with dots, so it cannot tell a column "a.b" from a.b
            assert chunk.column == table.schema.names[_top_level_index(table.schema, j)]


def _top_level_index(schema: pa.Schema, leaf: int) -> int:
    """Which top-level field the ``leaf``-th Parquet leaf column belongs to."""
    seen = 0
    for i, field in enumerate(schema):
        seen += _leaves(field.type)
        if leaf < seen:
            return i
    raise AssertionError(leaf)


def _leaves(t: pa.DataType) -> int:
    if pa.types.is_struct(t):
        return sum(_leaves(f.type) for f in t)
    if pa.types.is_map(t):
        return _leaves(t.key_type) + _leaves(t.item_type)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _leaves(t.value_type)
    return 1


def test_a_malformed_footer_is_a_stamp_error():
    from dqgate.errors import StampError

    for footer in (b"", b"\x19\x4c", b"\x1c" * 200, bytes(range(256))):
        with pytest.raises(StampError, match="unreadable Parquet footer"):
            column_chunks(footer, where="file x")
