"""504 random single-bit and single-byte changes to a published store: 0 silent differences.

The changes land in every part of the data files (dictionary pages, data pages,
the Thrift footer, the trailer) and in every manifest. After each change, one
read path (they take turns: to_arrow, scan_polars, iter_batches, to_duckdb) runs
with the default verification: it must either refuse (StampError, or a
StoreError for a manifest that no longer parses) or return exactly the published
data. A read that returns anything else is a silent
difference, and the test lists them all.
"""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from dqgate.errors import DqError
from dqgate.store import open_snapshot

FLIPS_PER_KIND = 84  # six kinds below: 504 changes


def _published(store: str, publish_batch) -> pa.Table:
    rng = random.Random(5)
    n = 3000
    table = pa.table({
        "id": pa.array(range(n), pa.int64()),
        "carrier": pa.array([rng.choice(["AA", "B6", "DL", "UA"]) for _ in range(n)]),  # dictionary pages
        "delay": pa.array([rng.random() * 100 for _ in range(n)]),
    })  # fmt: skip
    half = n // 2
    publish_batch("b1", table.slice(0, half))
    publish_batch("b2", table.slice(half))
    return table


def _regions(path: Path) -> dict[str, list[tuple[int, int]]]:
    """Byte ranges of each kind in one data file."""
    meta = pq.read_metadata(path)
    size = path.stat().st_size
    footer_len = int.from_bytes(path.read_bytes()[-8:-4], "little")
    dictionary, data = [], []
    for g in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            chunk = meta.row_group(g).column(c)
            end = (chunk.dictionary_page_offset or chunk.data_page_offset) + chunk.total_compressed_size
            if chunk.has_dictionary_page:
                dictionary.append((chunk.dictionary_page_offset, chunk.data_page_offset))
            data.append((chunk.data_page_offset, end))
    assert dictionary, "the carrier column must be dictionary-encoded for this test"
    footer = [(size - 8 - footer_len, size - 8)]
    return {"dictionary": dictionary, "data": data, "footer": footer, "trailer": [(size - 8, size)]}


READS = {
    "to_arrow": lambda snap: snap.to_arrow(),
    "scan_polars": lambda snap: snap.scan_polars().select("id", "delay").collect().to_arrow(),
    "iter_batches": lambda snap: pa.Table.from_batches(list(snap.iter_batches(700))),
    "to_duckdb": lambda snap: snap.to_duckdb(duckdb.connect()).aggregate("count(*), sum(id), sum(delay)").fetchall(),
}


def _read(store: str, name: str) -> object:
    """Open the latest version and read it one way (the read paths take turns, flip by flip)."""
    return READS[name](open_snapshot(store, "flights"))


def test_504_random_flips_give_no_silent_difference(store, publish_batch):
    expected = _published(store, publish_batch)
    snap = open_snapshot(store, "flights")
    objects = [Path(store) / "flights" / f.path for f in snap.manifest.files]
    manifests = sorted((Path(store) / "flights" / "versions").glob("*.json"))
    truth = {
        "to_arrow": expected,
        "scan_polars": pl.from_arrow(expected.select(["id", "delay"])).to_arrow(),
        "iter_batches": expected,
        "to_duckdb": duckdb.connect().from_arrow(expected).aggregate("count(*), sum(id), sum(delay)").fetchall(),
    }
    targets: dict[str, list[tuple[Path, int, int]]] = {"dictionary": [], "data": [], "footer": [], "trailer": []}
    for path in objects:
        for kind, ranges in _regions(path).items():
            targets[kind].extend((path, a, b) for a, b in ranges)
    targets["manifest"] = [(m, 0, m.stat().st_size) for m in manifests]
    kinds = ["dictionary", "data", "footer", "trailer", "manifest", "any data byte"]
    rng = random.Random(2026)
    silent, refused, unchanged = [], 0, 0
    for kind in kinds:
        for i in range(FLIPS_PER_KIND):
            if kind == "any data byte":
                path = rng.choice(objects)
                a, b = 0, path.stat().st_size
            else:
                path, a, b = rng.choice(targets[kind])
            offset = rng.randrange(a, b)
            original = path.read_bytes()
            changed = bytearray(original)
            if i % 2:  # a single bit
                changed[offset] ^= 1 << rng.randrange(8)
            else:  # a whole byte, to any other value
                changed[offset] = (changed[offset] + rng.randrange(1, 256)) % 256
            path.write_bytes(bytes(changed))
            read = list(READS)[i % len(READS)]
            try:
                got = _read(store, read)
            except DqError:  # every read path refuses with dqgate's own error, to_duckdb included
                refused += 1
            else:
                if _same(got, truth[read]):
                    unchanged += 1
                else:
                    silent.append(f"{kind} {path.name} byte {offset}: {read}")
            finally:
                path.write_bytes(original)
    print(f"bit flips: {len(kinds) * FLIPS_PER_KIND} changes, {refused} refused, {unchanged} unchanged, {len(silent)} silent")
    assert silent == [], f"{len(silent)} silent differences: {silent[:5]}"
    assert refused + unchanged == len(kinds) * FLIPS_PER_KIND
    assert refused >= len(kinds) * FLIPS_PER_KIND * 0.95  # nearly every change is refused, not merely harmless
    assert open_snapshot(store, "flights", verify="full").to_arrow().equals(expected)


def _same(got: object, want: object) -> bool:
    if isinstance(got, pa.Table):
        return got.equals(want)  # type: ignore[arg-type]
    return got == want
