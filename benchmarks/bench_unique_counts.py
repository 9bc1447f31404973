#!/usr/bin/env python3
"""What counting repeated keys (``duplicate_groups``, ``excess_rows``, issue 16) costs `dq check`.

Every unique result now reports how many keys repeat. On the GROUP BY path that is one
more ``count(*)`` over the (materialised) CTE of repeated keys; on the dense integer
path with dqgate's DuckDB extension (``dq_key_repeats``) it is a bitmap pass paid only
when keys do repeat. This times ``dq check --format json`` as whole processes, the tree
under test against another tree (``--baseline``: a ``src`` folder, e.g. an export of
the commit before), interleaved in rounds that rotate the order, after one warm-up
round; it reports the median wall and CPU time of each and their ratio per case:

* ``dense_pass``: a dense int64 key without repeats (the common passing case);
* ``dense_fail``: the same key with 1% of rows repeated;
* ``text_fail``: a text key with 1% repeated (the GROUP BY path).

  git archive cda86c6 src | tar -x -C /tmp/dq_base && cp src/dqgate/_kernels/*.so src/dqgate/_kernels/*.duckdb_extension /tmp/dq_base/src/dqgate/_kernels/
  python3 benchmarks/bench_unique_counts.py --baseline /tmp/dq_base/src --rows 5000000 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = {
    "dense_pass": ("id", "int64"),
    "dense_fail": ("id_dup", "int64"),
    "text_fail": ("s_dup", "string"),
}


def make_data(folder: Path, rows: int) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(16)
    ids = np.arange(rows, dtype=np.int64)
    dup = ids.copy()
    picks = rng.choice(rows, rows // 100, replace=False)
    dup[picks] = rng.integers(0, rows, picks.size)
    rng.shuffle(dup)
    path = folder / "keys.parquet"
    pq.write_table(pa.table({"id": ids, "id_dup": dup, "s_dup": pa.array([f"k{v:09d}" for v in dup])}), path, row_group_size=1 << 20)
    return path


def contract(folder: Path, case: str) -> Path:
    column, typ = CASES[case]
    path = folder / f"{case}.yaml"
    path.write_text(f"dataset: bench\nschema:\n  columns:\n    {column}: {{type: {typ}, unique: true}}\n", encoding="utf-8")
    return path


def timed(src: str, contract_path: Path, data: Path) -> tuple[float, float, dict]:
    env = {**os.environ, "PYTHONPATH": src}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "dqgate", "check", str(contract_path), "--data", str(data), "--format", "json"],
                         env=env, capture_output=True, check=False)  # fmt: skip
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="a src folder to compare with")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    trees = {"new": str(HERE.parent / "src"), "base": args.baseline}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = make_data(folder, args.rows)
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for r in range(args.rounds + 1):
            order = list(trees) if r % 2 else list(trees)[::-1]
            for case in CASES:
                for tree in order:
                    wall, cpu, result = timed(trees[tree], contract(folder, case), data)
                    (check,) = result["checks"]
                    if tree == "new" and case != "dense_pass":
                        assert check["duplicate_groups"] > 0 and check["excess_rows"] == check["failed_rows"] - check["duplicate_groups"]
                    if r:  # round 0 warms the page cache
                        times.setdefault((case, tree), []).append((wall, cpu))
        print(f"rows={args.rows:,} rounds={args.rounds} (median wall s / CPU s; ratio new/base)")
        for case in CASES:
            new, base = times[(case, "new")], times[(case, "base")]
            ratios = [n[0] / b[0] for n, b in zip(new, base)]
            med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
            print(f"  {case:11s} new {med(new, 0):.3f} / {med(new, 1):.3f}   base {med(base, 0):.3f} / {med(base, 1):.3f}"
                  f"   wall ratio {statistics.median(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
