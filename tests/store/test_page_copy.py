"""Page-copy publish (``store/page_copy.py``): a Parquet batch's own pages, a new footer with the stamp.

What must hold, each against a real store read back by every read path:

* the object holds the batch's bytes before the footer unchanged (it was copied,
  not re-encoded), and reads back equal to the batch, schema and metadata included;
* ``dq snapshots verify --full`` accepts it; a changed bit in a copied page or in the
  new footer is refused by every read path (or reads back exact), never silently;
* the Thrift footer is decoded and encoded again byte for byte;
* random batches (row groups, codecs, nulls, dictionary pages, page versions) read
  back the same whether their pages were copied or re-encoded;
* page indexes and bloom filters after the chunks are left out of the copy; what
  cannot be copied (bytes between chunks, huge row groups, a stamped file) is
  re-encoded, and a file changed after its check is refused.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_store_bitflips import READS, _regions, _same

from dqgate.errors import DataError, DqError
from dqgate.store import open_snapshot, publish, write_object
from dqgate.store import thrift_compact as tc
from dqgate.store.page_copy import PageCopy, copy_object, plan_copy

CONTRACT = {"dataset": "flights", "version": "2.1.0", "sha256": "c" * 64}
CHECKS = {"status": "pass", "checks": []}


def _stamp(batch_id: str) -> dict[str, str]:
    return {"batch_id": batch_id, "contract_sha256": CONTRACT["sha256"], "status": "pass"}


def _copy_publish(store: str, path: Path, batch_id: str, mode: str = "append") -> object:
    plan = plan_copy(str(path))
    assert isinstance(plan, PageCopy), plan
    info = copy_object(store, "flights", plan, stamp=_stamp(batch_id))
    publish(store, "flights", [info], mode=mode, contract=CONTRACT, checks=CHECKS, batch_id=batch_id)  # type: ignore[arg-type]
    return info


def _footer(data: bytes) -> bytes:
    (n,) = struct.unpack("<i", data[-8:-4])
    return data[-8 - n : -8]


def _batch(n: int, seed: int) -> pa.Table:
    rng = random.Random(seed)
    return pa.table({
        "id": pa.array(range(seed * 100_000, seed * 100_000 + n), pa.int64()),
        "carrier": pa.array([rng.choice(["AA", "B6", "DL", None]) for _ in range(n)]),
        "delay": pa.array([None if rng.random() < 0.1 else rng.random() * 100 for _ in range(n)]),
        "at": pa.array([1_700_000_000_000_000 + i for i in range(n)], pa.timestamp("us", tz="UTC")),
    }).replace_schema_metadata({"owner": "ops"})  # fmt: skip


def test_copied_object_holds_the_batch_bytes_and_reads_back_equal(tmp_path, store):
    table = _batch(5000, 1)
    path = tmp_path / "b1.parquet"
    pq.write_table(table, path, compression="snappy", row_group_size=1200)
    info = _copy_publish(store, path, "b1")
    obj = (Path(store) / "flights" / info.path).read_bytes()  # type: ignore[attr-defined]
    source = path.read_bytes()
    at = len(source) - 8 - len(_footer(source))
    assert obj[:at] == source[:at]  # copied, not re-encoded (snappy pages, not zstd)
    assert pq.read_metadata(pa.BufferReader(obj)).row_group(0).column(0).compression == "SNAPPY"
    snap = open_snapshot(store, "flights")
    back = snap.to_arrow()
    assert back.equals(table) and back.schema.equals(table.schema, check_metadata=True)
    assert pa.Table.from_batches(list(snap.iter_batches(999))).equals(table)
    assert snap.scan_polars().collect().equals(pl.from_arrow(table))
    got = snap.to_duckdb(duckdb.connect()).aggregate("count(*), sum(id), count(delay)").fetchall()
    assert got == duckdb.connect().from_arrow(table).aggregate("count(*), sum(id), count(delay)").fetchall()
    stamp = open_snapshot(store, "flights", verify="full").manifest.files[0]
    assert stamp.rows == 5000


def test_thrift_footer_decodes_and_encodes_byte_for_byte(tmp_path):
    table = _batch(3000, 2)
    files = []
    for i, options in enumerate([
        {"compression": "zstd"}, {"compression": "gzip", "data_page_version": "2.0"},
        {"compression": "none", "use_dictionary": False, "column_encoding": {"id": "DELTA_BINARY_PACKED"}},
        {"compression": "brotli", "write_statistics": False}, {"compression": "lz4", "write_page_index": True},
    ]):  # fmt: skip
        files.append(tmp_path / f"p{i}.parquet")
        pq.write_table(table, files[-1], row_group_size=700, **options)
    files.append(tmp_path / "duck.parquet")
    duckdb.connect().from_arrow(table).write_parquet(str(files[-1]))
    files.append(tmp_path / "polars.parquet")
    pl.from_arrow(table).write_parquet(files[-1], statistics=True)
    for path in files:
        footer = _footer(path.read_bytes())
        assert tc.encode(tc.decode(footer)) == footer, path.name


thrift_values = st.deferred(lambda: st.one_of(
    st.tuples(st.just(tc.I32), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(st.just(tc.I64), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just(tc.BINARY), st.binary(max_size=20)),
    st.tuples(st.just(tc.DOUBLE), st.floats(allow_nan=False)),
    st.tuples(st.just(tc.TRUE), st.booleans()),
    st.tuples(st.just(tc.LIST), st.lists(st.integers(-1000, 1000), max_size=20).map(lambda xs: tc.ThriftList(tc.I64, xs))),
    st.tuples(st.just(tc.STRUCT), structs),
))  # fmt: skip
structs = st.deferred(lambda: st.lists(thrift_values, max_size=5).flatmap(
    lambda values: st.lists(st.integers(1, 400), min_size=len(values), max_size=len(values), unique=True).map(
        lambda ids: tc.Struct([tc.Field(i, k, v) for i, (k, v) in zip(sorted(ids), values)])
    )
))  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(structs)
def test_thrift_encoding_round_trips(value):
    data = tc.encode(value)
    assert tc.decode(data) == _normalised(value)
    assert tc.encode(tc.decode(data)) == data


def _normalised(value: tc.Struct) -> tc.Struct:
    """Booleans are read back with their value's type (TRUE or FALSE)."""
    out = []
    for f in value.fields:
        if f.type in (tc.TRUE, tc.FALSE):
            out.append(tc.Field(f.id, tc.TRUE if f.value else tc.FALSE, f.value))
        elif f.type == tc.STRUCT:
            out.append(tc.Field(f.id, f.type, _normalised(f.value)))
        else:
            out.append(f)
    return tc.Struct(out)


def test_a_changed_bit_in_copied_pages_or_the_new_footer_is_refused_by_every_read_path(tmp_path, store):
    rng = random.Random(2026)
    table = _batch(3000, 3)
    for i, part in enumerate((table.slice(0, 1500), table.slice(1500))):
        path = tmp_path / f"b{i}.parquet"
        pq.write_table(part, path, compression=["snappy", "gzip"][i], row_group_size=600)
        _copy_publish(store, path, f"b{i}")
    objects = [Path(store) / "flights" / f.path for f in open_snapshot(store, "flights").manifest.files]
    truth = {
        "to_arrow": table,
        "scan_polars": pl.from_arrow(table.select(["id", "delay"])).to_arrow(),
        "iter_batches": table,
        "to_duckdb": duckdb.connect().from_arrow(table).aggregate("count(*), sum(id), sum(delay)").fetchall(),
    }
    targets = [(p, a, b, kind) for p in objects for kind, spans in _regions(p).items() for a, b in spans]
    silent, refused, changes = [], 0, 120
    for i in range(changes):
        path, a, b, kind = targets[i % len(targets)] if i < len(targets) else rng.choice(targets)
        offset = rng.randrange(a, b)
        original = path.read_bytes()
        changed = bytearray(original)
        changed[offset] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(changed))
        read = list(READS)[i % len(READS)]
        try:
            got = READS[read](open_snapshot(store, "flights"))
        except DqError:
            refused += 1
        else:
            if not _same(got, truth[read]):
                silent.append(f"{kind} byte {offset}: {read}")
        finally:
            path.write_bytes(original)
    assert silent == []
    assert refused >= changes * 0.95
    assert open_snapshot(store, "flights", verify="full").to_arrow().equals(table)


def test_verify_full_accepts_a_copied_object_and_refuses_a_changed_one(tmp_path, store, subprocess_env):
    import subprocess
    import sys

    path = tmp_path / "b.parquet"
    pq.write_table(_batch(2000, 4), path, compression="zstd", row_group_size=500)
    info = _copy_publish(store, path, "b")

    def verify() -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "dqgate", "snapshots", "verify", store, "flights", "--full"]
        return subprocess.run(cmd, env=subprocess_env, capture_output=True, text=True, timeout=60)

    ok = verify()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    obj = Path(store) / "flights" / info.path  # type: ignore[attr-defined]
    data = bytearray(obj.read_bytes())
    data[len(data) // 3] ^= 0x10  # a copied data page
    obj.write_bytes(bytes(data))
    bad = verify()
    assert bad.returncode != 0 and "corrupt" in bad.stdout + bad.stderr


codecs = st.sampled_from(["none", "snappy", "gzip", "brotli", "zstd", "lz4"])


@st.composite
def parquet_batches(draw):
    n = draw(st.integers(1, 400))
    null = draw(st.floats(0, 1))
    rng = random.Random(draw(st.integers(0, 2**32)))
    words = ["a", "bb", "ccc", "dddd", "ü€", ""]

    def maybe(value):
        return None if rng.random() < null else value

    table = pa.table({
        "id": pa.array([maybe(i) for i in range(n)], pa.int64()),
        "word": pa.array([maybe(rng.choice(words)) for _ in range(n)], pa.string()),
        "x": pa.array([maybe(rng.uniform(-1e6, 1e6)) for _ in range(n)], pa.float64()),
        "flag": pa.array([maybe(rng.random() < 0.5) for _ in range(n)], pa.bool_()),
        "day": pa.array([maybe(rng.randrange(20000)) for _ in range(n)], pa.int32()).cast(pa.date32()),
        "small": pa.array([maybe(rng.randrange(-100, 100)) for _ in range(n)], pa.int8()),
        "price": pa.array([maybe(rng.randrange(-10**9, 10**9)) for _ in range(n)], pa.int64()).cast(pa.decimal128(21, 2)),
        "tags": pa.array([maybe([rng.choice(words) for _ in range(rng.randrange(3))]) for _ in range(n)], pa.list_(pa.string())),
    })  # fmt: skip
    options = {
        "compression": draw(codecs),
        "row_group_size": draw(st.integers(1, 500)),
        "use_dictionary": draw(st.booleans()),
        "data_page_version": draw(st.sampled_from(["1.0", "2.0"])),
        "data_page_size": draw(st.sampled_from([64, 1024, 1 << 20])),
        "write_statistics": draw(st.booleans()),
        "write_page_index": draw(st.booleans()),  # after the chunks: left out of the copy
    }
    return table, options


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parquet_batches())
def test_page_copy_publishes_the_same_data_as_re_encoding(tmp_path_factory, batch):
    table, options = batch
    folder = tmp_path_factory.mktemp("pc")
    path = folder / "batch.parquet"
    pq.write_table(table, path, **options)
    copied, encoded = str(folder / "copied"), str(folder / "encoded")
    _copy_publish(copied, path, "b", mode="replace")
    info = write_object(encoded, "flights", pq.read_table(path), stamp=_stamp("b"))
    publish(encoded, "flights", [info], mode="replace", contract=CONTRACT, checks=CHECKS, batch_id="b")
    a = open_snapshot(copied, "flights", verify="full")
    b = open_snapshot(encoded, "flights", verify="full")
    assert a.to_arrow().equals(b.to_arrow()) and a.to_arrow().equals(table)
    assert a.to_arrow().schema.equals(b.to_arrow().schema, check_metadata=True)
    assert a.scan_polars().collect().equals(b.scan_polars().collect())
    assert a.manifest.schema == b.manifest.schema and a.rows == b.rows == table.num_rows


def test_duckdb_bloom_filters_and_page_indexes_after_the_chunks_are_left_out(tmp_path, store):
    table = _batch(300_000, 7).drop_columns(["at"])
    path = tmp_path / "duck.parquet"
    duckdb.connect().from_arrow(table).write_parquet(str(path))  # bloom filters after the row groups
    meta = pq.read_metadata(path)
    source = path.read_bytes()
    info = _copy_publish(store, path, "b")
    obj = (Path(store) / "flights" / info.path).read_bytes()  # type: ignore[attr-defined]
    chunks_end = max(
        (c.dictionary_page_offset or c.data_page_offset) + c.total_compressed_size
        for g in range(meta.num_row_groups) for c in (meta.row_group(g).column(j) for j in range(meta.num_columns))
    )  # fmt: skip
    assert len(source) - 8 - len(_footer(source)) > chunks_end  # the source had bytes after its chunks
    assert obj[:chunks_end] == source[:chunks_end] and len(obj) - 8 - len(_footer(obj)) == chunks_end
    snap = open_snapshot(store, "flights", verify="full")
    assert snap.to_arrow().equals(pq.read_table(path))
    assert snap.scan_polars().collect().equals(pl.read_parquet(path))


def test_what_is_not_copied_says_why(tmp_path, store):
    table = _batch(1000, 5)
    big = pa.table({"id": pa.array(range(1_100_000), pa.int64())})
    path = tmp_path / "big.parquet"
    pq.write_table(big, path, row_group_size=2_000_000)
    assert plan_copy(str(path)) == "a row group of 1100000 rows (more than the store's 1048576)"
    path = tmp_path / "polars.parquet"  # Polars leaves bytes between its column chunks
    pl.from_arrow(table.drop_columns(["at"])).write_parquet(path)
    plan = plan_copy(str(path))
    assert isinstance(plan, str) and "outside every column chunk" in plan, plan
    # an object of a store already carries a stamp: copied again, its stamp would be replaced silently
    path = tmp_path / "ok.parquet"
    pq.write_table(table, path)
    info = _copy_publish(store, path, "b")
    stamped = plan_copy(str(Path(store) / "flights" / info.path))  # type: ignore[attr-defined]
    assert stamped == "the file already carries a quality stamp"
    not_parquet = tmp_path / "x.parquet"
    not_parquet.write_bytes(b"PAR1" + b"\0" * 20)
    assert isinstance(plan_copy(str(not_parquet)), str)


def test_a_batch_changed_after_its_check_is_refused_and_nothing_is_left(tmp_path, store):
    import hashlib

    path = tmp_path / "b.parquet"
    pq.write_table(_batch(2000, 6), path, compression="snappy")
    checked = hashlib.sha256(path.read_bytes()).hexdigest()[:40]
    plan = plan_copy(str(path))
    assert isinstance(plan, PageCopy)
    data = bytearray(path.read_bytes())
    data[100] ^= 1  # a data page, same size
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="changed since it was checked"):
        copy_object(store, "flights", plan, stamp=_stamp("b"), source_sha256=checked)
    root = Path(store) / "flights"
    assert not list(root.glob("objects/??/*.parquet")) and not list(root.glob("objects/_tmp/*"))
