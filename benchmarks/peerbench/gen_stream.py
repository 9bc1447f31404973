#!/usr/bin/env python3
"""Generate a peerbench file too big for gen_data.py, one row group at a time.

gen_data.py builds the whole table in memory and then reads the file back whole to
recount it: at 10M rows its peak RSS is 2.7 GB (/usr/bin/time -v), growing with the
rows, so about 27 GB at 100M, more than this 24 GiB machine has. This writes the same
file shape without holding more than one row group: each row group of 262,144 rows is
gen_data.py's own ``generate()`` run for that many rows (its schema, value
distributions, defect rates and malformed shapes; imported from the harness, which is
never written), with its own seed, and with the ``id`` column replaced by a slice of
one global permutation of the ids into which the duplicate pairs and triples are
injected globally (so uniqueness spans the whole file, 8 bytes a row). Defect counts
are rounded per row group, so a total can differ from round(rate * rows) by up to
about 0.02 % (measured at 10M rows).

Like gen_data.py it derives the expected counts twice and aborts if they differ: from
the injection bookkeeping (summed over the row groups) and by recounting the written
file, here streaming (suite_count.py). expected.json has gen_data.py's shape and
generator_version (the same schema and rates, so run_all.py takes the file as it is)
plus ``"generator": "gen_stream.py"``: the data is not byte-identical to what
gen_data.py would write for the same seed.

  /tmp/peerbench-venvs/base/bin/python benchmarks/peerbench/gen_stream.py --rows 100000000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import suite_count  # noqa: E402

G = suite_count.gen_data()


def global_ids(rows: int, seed: int) -> tuple[np.ndarray, int, int]:
    """gen_data.py's id column for the whole file: a permutation with K pairs and T triples of repeats."""
    rng = np.random.default_rng(seed)
    ids = rng.permutation(rows).astype(np.int64)
    ids += 1_000_000
    k, t = G.n_of(G.RATES["id_duplicate_pairs"], rows), G.n_of(G.RATES["id_duplicate_triples"], rows)
    src, dst, t_src, t_dst1, t_dst2 = G.disjoint_positions(rng, rows, k, k, t, t, t)
    ids[dst] = ids[src]
    ids[t_dst1] = ids[t_src]
    ids[t_dst2] = ids[t_src]
    return ids, k, t


def write(path: Path, rows: int, seed: int, group: int) -> dict[str, int]:
    """Write the file row group by row group; the injection bookkeeping summed over the groups."""
    ids, k, t = global_ids(rows, seed)
    injected: dict[str, int] = {}
    with pq.ParquetWriter(path, _schema(), compression="snappy") as writer:
        for i, start in enumerate(range(0, rows, group)):
            n = min(group, rows - start)
            group_seed = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])
            table, got = G.generate(n, group_seed)
            table = table.set_column(0, "id", pa.array(ids[start : start + n], pa.int64()))
            writer.write_table(table, row_group_size=n)
            for key, v in got.items():
                injected[key] = injected.get(key, 0) + v
    injected["id_duplicate_pairs"], injected["id_duplicate_triples"] = k, t
    return injected


def _schema() -> pa.Schema:
    """The schema gen_data.py writes (from a 1,000-row table of its own)."""
    return G.generate(1000, 0)[0].schema


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--data-dir", default=G.DEFAULT_DATA_DIR)
    ap.add_argument("--row-group-size", type=int, default=262_144)
    ap.add_argument("--suite", default=str(suite_count.HARNESS / "suite.json"))
    ap.add_argument("--force", action="store_true", help="regenerate even if the files exist")
    args = ap.parse_args(argv)

    out_dir = Path(args.data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pq_path, exp_path = out_dir / f"peerbench_{args.rows}.parquet", out_dir / f"peerbench_{args.rows}.expected.json"
    if pq_path.exists() and exp_path.exists() and not args.force:
        print(f"exists: {pq_path.name} (use --force to regenerate)", file=sys.stderr)
        return 0
    suite = json.loads(Path(args.suite).read_text())
    t0 = time.perf_counter()
    tmp = pq_path.with_suffix(".parquet.tmp")
    injected = write(tmp, args.rows, args.seed, args.row_group_size)
    t1 = time.perf_counter()
    checks, nulls = suite_count.recount_file(tmp, suite)
    for cid, v in G.by_construction(injected, args.rows).items():
        if checks[cid]["failed_rows"] != v:
            raise SystemExit(f"self-check failed for {cid}: recount {checks[cid]['failed_rows']} != injected {v}")
    k, t = injected["id_duplicate_pairs"], injected["id_duplicate_triples"]
    if checks["id_unique"]["alt"] != {"excess_rows": k + 2 * t, "duplicated_values": k + t}:
        raise SystemExit(f"self-check failed for id_unique alternatives: {checks['id_unique']}")
    if none := [cid for cid, e in checks.items() if e.get("failed_rows", 1) <= 0]:
        raise SystemExit(f"checks without failing rows: {none}")
    os.replace(tmp, pq_path)
    meta = {
        "generator_version": G.GENERATOR_VERSION,
        "generator": "gen_stream.py (dqgate benchmarks/peerbench): gen_data.py's generate() per row group, "
                     "global ids; not byte-identical to gen_data.py's file for this seed",
        "rows": args.rows, "seed": args.seed, "file": pq_path.name, "file_bytes": pq_path.stat().st_size,
        "row_group_size": args.row_group_size, "compression": "snappy",
        "suite": suite["suite"], "suite_version": suite["version"], "rates": G.RATES,
        "injected": injected, "null_counts": nulls, "checks": checks,
        "versions": {"numpy": np.__version__, "pyarrow": pa.__version__},
    }  # fmt: skip
    exp_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {pq_path.name} ({pq_path.stat().st_size / 1e6:.1f} MB, generate+write {t1 - t0:.1f} s, "
          f"recount {time.perf_counter() - t1:.1f} s) and {exp_path.name} into {out_dir}", file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
