#!/usr/bin/env python3
"""Write an all-passing copy of a peerbench file: the same data with every defect repaired.

Issue 4 compares `dq check` with the hand-fused query also "on a copy of the file where
every check passes": on the standard file dqgate collects failing-row samples (one
LIMIT query per failing rule) and renders them, on a clean file it has none, so the two
files show both sides of its cost. The copy keeps the schema, the row count, the
row-group sizes, snappy and gen_data.py's other writer defaults, and every value that
fails no check; only the defects differ:

  id            repeated ids: every occurrence after the first takes an unused id (the
                ids the duplicates overwrote, so the ids are a permutation again)
  age, score, country, email, product_code, start_ts, label (on split = 'train')
                NULLs the suite forbids and values it rejects get a fresh value, drawn
                the way gen_data.py draws valid ones (NULLs no check forbids stay)
  end_ts        before start_ts (checked after start_ts is repaired): start + 1 min..3 days
  weight        NULLs filled until at most 80 % of the allowed fraction remain (4 % of
                each row group; the check allows 5 %)

Which rows fail is decided from suite.json (the same predicates as gen_data.py's
recount, on each row group), not from the injection bookkeeping. It streams row group
by row group (only the id column is read whole, 8 bytes a row), then recounts the
written file (suite_count.py) and aborts if any check fails or the layout differs. The
recount goes to ``peerbench_<rows>.passing.expected.json`` (the shape of expected.json).

  /tmp/peerbench-venvs/base/bin/python benchmarks/peerbench/make_passing.py --rows 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import suite_count  # noqa: E402

G = suite_count.gen_data()
DATA = Path(os.environ.get("PEERBENCH_DATA", "/tmp/peerbench-data"))
US = G.US_PER_S


def passing_path(data: Path) -> Path:
    """peerbench_<rows>.parquet -> peerbench_<rows>.passing.parquet (same folder)."""
    return data.with_name(data.stem + ".passing.parquet")


def fail_mask(table: pa.Table, chk: dict[str, Any]) -> np.ndarray:
    """Rows of ``table`` failing one row-level suite check (gen_data.py's recount predicates)."""
    kind = chk["kind"]
    col = table[chk["column"]] if "column" in chk else None
    if kind == "not_null":
        cond = pc.is_null(col)
        if "where" in chk:
            cond = pc.and_(cond, pc.equal(table[chk["where"]["column"]], chk["where"]["eq"]))
    elif kind == "between":
        lo, hi = chk["min"], chk["max"]
        if pa.types.is_timestamp(col.type):
            lo, hi = (pa.scalar(np.datetime64(v, "us"), col.type) for v in (lo, hi))
        cond = pc.or_(pc.less(col, lo), pc.greater(col, hi))
    elif kind == "in_set":
        cond = pc.and_(pc.is_valid(col), pc.invert(pc.is_in(col, value_set=pa.array(chk["values"]))))
    elif kind == "regex":
        cond = pc.invert(pc.match_substring_regex(col, chk["pattern"]))
    elif kind == "str_length_between":
        n = pc.utf8_length(col)
        cond = pc.or_(pc.less(n, chk["min"]), pc.greater(n, chk["max"]))
    elif kind == "column_pair_ge":
        cond = pc.less(table[chk["column_a"]], table[chk["column_b"]])
    else:
        raise ValueError(f"no row predicate for {kind}")
    return np.asarray(pc.fill_null(cond, False).to_numpy(zero_copy_only=False), bool)


def fresh(name: str, n: int, rng: np.random.Generator, type_: pa.DataType) -> pa.Array:
    """n valid values for a column, drawn as gen_data.py draws them."""
    if name == "age":
        values: Any = rng.integers(18, 91, n)
    elif name == "score":
        values = rng.random(n) * 0.98 + 0.01
    elif name == "weight":
        values = rng.gamma(2.0, 0.5, n)
    elif name == "country":
        values = [G.COUNTRIES[i] for i in rng.choice(len(G.COUNTRIES), size=n, p=G.COUNTRY_P)]
    elif name == "email":
        f, k, d = rng.integers(0, len(G.FIRST), n), rng.integers(1, 100_000, n), rng.integers(0, len(G.DOMAINS), n)
        values = [f"{G.FIRST[a]}{b}@{G.DOMAINS[c]}" for a, b, c in zip(f, k, d, strict=True)]
    elif name == "product_code":
        values = [f"SKU-{v}" for v in rng.integers(100, 10_000_000, n)]
    elif name == "label":
        values = (rng.random(n) < 0.3).astype(np.int8)
    elif name == "start_ts":
        values = rng.integers(G.TS_MIN, G.TS_MAX, n, dtype=np.int64)
    else:
        raise ValueError(f"no generator of valid values for column {name}")
    return pa.array(values).cast(type_)


def id_fixes(path: Path, column: str) -> dict[int, int]:
    """Row position -> new id for every repeated occurrence after the first (unused ids, smallest first)."""
    ids = pq.read_table(path, columns=[column])[column].to_numpy()
    lo, hi = int(ids.min()), int(ids.max())
    counts = np.bincount(ids - lo)
    pos = np.flatnonzero(counts[ids - lo] > 1)
    order = np.argsort(ids[pos], kind="stable")
    vals = ids[pos][order]
    later = np.sort(pos[order][np.r_[False, vals[1:] == vals[:-1]]])
    unused = np.flatnonzero(counts == 0) + lo
    if len(unused) < len(later):
        unused = np.r_[unused, np.arange(hi + 1, hi + 1 + len(later) - len(unused))]
    return dict(zip(later.tolist(), unused[: len(later)].tolist(), strict=True))


def repair(table: pa.Table, suite: dict[str, Any], rng: np.random.Generator, ids: dict[int, int],
           first_row: int, repaired: dict[str, int]) -> pa.Table:  # fmt: skip
    """One row group with every row-level failure of the suite repaired (counts into ``repaired``)."""
    cols = {name: table[name].combine_chunks() for name in table.column_names}
    n = table.num_rows
    for chk in (c for c in suite["checks"] if c["kind"] == "unique"):
        local = {p - first_row: v for p, v in ids.items() if first_row <= p < first_row + n}
        if local:
            name = chk["column"]
            mask = np.zeros(n, bool)
            mask[list(local)] = True
            cols[name] = pc.replace_with_mask(cols[name], mask, pa.array(list(local.values()), cols[name].type))
            repaired[name] = repaired.get(name, 0) + len(local)
    masks: dict[str, np.ndarray] = {}
    for chk in suite["checks"]:
        if chk["level"] == "row" and chk["kind"] not in ("unique", "column_pair_ge"):
            m = fail_mask(pa.table(cols), chk)
            masks[chk["column"]] = masks.get(chk["column"], np.zeros(n, bool)) | m
        elif chk["kind"] == "null_fraction_max":
            nulls = np.flatnonzero(pc.is_null(cols[chk["column"]]).to_numpy(zero_copy_only=False))
            keep = int(0.8 * chk["max"] * n)
            m = np.zeros(n, bool)
            m[rng.permutation(nulls)[keep:]] = True
            masks[chk["column"]] = masks.get(chk["column"], np.zeros(n, bool)) | m
    for name, m in masks.items():
        if m.any():
            cols[name] = pc.replace_with_mask(cols[name], m, fresh(name, int(m.sum()), rng, cols[name].type))
            repaired[name] = repaired.get(name, 0) + int(m.sum())
    for chk in (c for c in suite["checks"] if c["kind"] == "column_pair_ge"):  # after its columns are repaired
        a, b = chk["column_a"], chk["column_b"]
        m = fail_mask(pa.table(cols), chk)
        if m.any():
            after = cols[b].filter(m).cast(pa.int64()).to_numpy() + rng.integers(60 * US, 3 * 86400 * US, int(m.sum()))
            cols[a] = pc.replace_with_mask(cols[a], m, pa.array(after).cast(cols[a].type))
            repaired[a] = repaired.get(a, 0) + int(m.sum())
    return pa.table(cols, schema=table.schema)


def make(source: Path, suite: dict[str, Any], seed: int) -> dict[str, Any]:
    """Write the passing copy beside ``source``, verify it, return its expected.json-like record."""
    out = passing_path(source)
    pf = pq.ParquetFile(source)
    unique = [c["column"] for c in suite["checks"] if c["kind"] == "unique"]
    ids = id_fixes(source, unique[0]) if unique else {}
    repaired: dict[str, int] = {}
    tmp = out.with_suffix(".parquet.tmp")
    first = 0
    with pq.ParquetWriter(tmp, pf.schema_arrow, compression="snappy") as writer:
        for i in range(pf.num_row_groups):
            table = repair(pf.read_row_group(i), suite, np.random.default_rng([seed, i]), ids, first, repaired)
            writer.write_table(table, row_group_size=table.num_rows)
            first += table.num_rows
    checks, nulls = suite_count.recount_file(tmp, suite)
    if bad := suite_count.failing(checks):
        raise SystemExit(f"{tmp}: still failing after the repair: {bad}: {[checks[c] for c in bad]}")
    written = pq.ParquetFile(tmp)
    layout = [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)]
    meta = written.metadata
    same_layout = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == layout
    if not same_layout or written.schema_arrow != pf.schema_arrow:
        raise SystemExit(f"{tmp}: row groups or schema differ from {source}")
    os.replace(tmp, out)
    return {"made_by": "benchmarks/peerbench/make_passing.py", "source": source.name,
            "source_bytes": source.stat().st_size, "rows": meta.num_rows, "seed": seed, "file": out.name,
            "file_bytes": out.stat().st_size, "row_group_size": layout[0], "compression": "snappy",
            "suite": suite["suite"], "suite_version": suite["version"], "repaired": repaired,
            "null_counts": nulls, "checks": checks}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--data-dir", default=str(DATA))
    ap.add_argument("--suite", default=str(suite_count.HARNESS / "suite.json"))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--force", action="store_true", help="rewrite the copy even if it exists")
    args = ap.parse_args(argv)
    source = Path(args.data_dir) / f"peerbench_{args.rows}.parquet"
    out = passing_path(source)
    exp = out.with_suffix(".expected.json")
    if out.exists() and exp.exists() and not args.force:
        print(f"exists: {out} (use --force to rewrite)", file=sys.stderr)
        return 0
    t0 = time.perf_counter()
    record = make(source, json.loads(Path(args.suite).read_text()), args.seed)
    exp.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out} ({record['file_bytes'] / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s; repaired "
          f"{record['repaired']}; every check of the suite passes) and {exp.name}", file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
