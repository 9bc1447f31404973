"""Recount every check of the peerbench suite over a Parquet file, one row group at a time.

gen_data.py recounts its file in one piece (pyarrow.compute over the whole table): that
needs the whole table in memory, fine at 10M rows, not at 100M, and more than a copy
written row group by row group should need to be verified. Here the harness's own
``recount`` (same code, so the same semantics) runs on each row group for the checks
whose counts add up (not_null, between, in_set, regex, str_length_between,
column_pair_ge), and running totals cover the rest: uniqueness by counting every id at
the end (``np.bincount`` over the id span, 16 bytes a row at most), the mean from sums
and counts, min, max and null counts. The result has the shape of expected.json's
``checks`` and ``null_counts``, so it can be compared with one or written as one.

Used by make_passing.py (verify the all-passing copy) and gen_stream.py (expected
counts of a file too big for gen_data.py). Needs numpy and pyarrow (the base venv).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HARNESS = Path(os.environ.get("PEERBENCH_HARNESS", "/work/shared/peerbench"))
ADDITIVE = {"not_null", "between", "in_set", "regex", "str_length_between", "column_pair_ge"}
VALUE_KINDS = {"between", "in_set", "regex", "str_length_between"}  # gen_data adds `including_nulls` for these


def gen_data(harness: Path = HARNESS) -> ModuleType:
    """The harness's gen_data module (imported, never run or written: no bytecode beside it)."""
    sys.dont_write_bytecode = True
    if str(harness) not in sys.path:
        sys.path.insert(0, str(harness))
    import gen_data as module

    return module


def _unique(ids: np.ndarray, rows: int) -> dict[str, Any]:
    """gen_data's uniqueness result (rows in repeated groups, plus the two other conventions)."""
    lo, hi = int(ids.min()), int(ids.max())
    if hi - lo + 1 <= 8 * rows:
        counts = np.bincount(ids - lo)
        counts = counts[counts > 0]
    else:
        counts = np.unique(ids, return_counts=True)[1]
    repeated = counts[counts > 1]
    return {"failed_rows": int(repeated.sum()),
            "alt": {"excess_rows": int(rows - len(counts)), "duplicated_values": int(len(repeated))}}  # fmt: skip


def recount_file(path: Path, suite: dict[str, Any], harness: Path = HARNESS) -> tuple[dict[str, Any], dict[str, int]]:
    """(checks, null_counts) of the file, as gen_data.py writes them into expected.json."""
    recount = gen_data(harness).recount
    pf = pq.ParquetFile(path)
    rows = pf.metadata.num_rows
    additive = {**suite, "checks": [c for c in suite["checks"] if c["kind"] in ADDITIVE]}
    failed = {c["id"]: 0 for c in additive["checks"]}
    nulls = dict.fromkeys(pf.schema_arrow.names, 0)
    sums: dict[str, float] = {}
    valid: dict[str, int] = {}
    lows: dict[str, Any] = {}
    highs: dict[str, Any] = {}
    unique_cols = [c["column"] for c in suite["checks"] if c["kind"] == "unique"]
    ids = {c: np.empty(rows, np.int64) for c in unique_cols}
    at = 0
    for i in range(pf.num_row_groups):
        table = pf.read_row_group(i)
        for cid, res in recount(table, additive).items():
            failed[cid] += res["failed_rows"]
        for name in table.column_names:
            col = table[name]
            nulls[name] += col.null_count
            if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
                sums[name] = sums.get(name, 0.0) + float(pc.sum(col).as_py() or 0)
                valid[name] = valid.get(name, 0) + len(col) - col.null_count
                mm = pc.min_max(col).as_py()
                if mm["min"] is not None:
                    lows[name] = mm["min"] if name not in lows else min(lows[name], mm["min"])
                    highs[name] = mm["max"] if name not in highs else max(highs[name], mm["max"])
        for name in unique_cols:
            if table[name].null_count:
                raise ValueError(f"{path}: NULLs in {name}; uniqueness here counts non-null ids only")
            ids[name][at : at + table.num_rows] = table[name].to_numpy()
        at += table.num_rows
    out: dict[str, Any] = {}
    for chk in suite["checks"]:
        kind, cid, col = chk["kind"], chk["id"], chk.get("column")
        if kind in ADDITIVE:
            out[cid] = {"failed_rows": failed[cid]}
            if kind in VALUE_KINDS and nulls[col]:
                out[cid]["alt"] = {"including_nulls": failed[cid] + nulls[col]}
            continue
        if kind == "unique":
            out[cid] = _unique(ids.pop(col), rows)
            continue
        if kind == "row_count_between":
            v: Any = rows
        elif kind == "mean_between":
            v = sums[col] / valid[col]
        elif kind == "max_between":
            v = highs[col]
        elif kind == "min_between":
            v = lows[col]
        elif kind == "null_fraction_max":
            out[cid] = {"value": nulls[col] / rows, "passed": bool(nulls[col] / rows <= chk["max"])}
            continue
        else:
            raise ValueError(f"unknown check kind {kind}")
        ok = (chk["min"] is None or v >= chk["min"]) and (chk["max"] is None or v <= chk["max"])
        out[cid] = {"value": v, "passed": bool(ok)}
    return out, nulls


def failing(checks: dict[str, Any]) -> list[str]:
    """Ids of the checks that do not pass: failing rows, or a dataset check outside its bounds."""
    return [cid for cid, r in checks.items() if r.get("failed_rows", 0) > 0 or r.get("passed") is False]


def differences(got: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Where two ``checks`` objects disagree (counts exactly, metrics to 1e-9 relative)."""
    bad = []
    for cid, e in expected.items():
        g = got.get(cid, {})
        if "failed_rows" in e:
            if (g.get("failed_rows"), g.get("alt")) != (e["failed_rows"], e.get("alt")):
                bad.append(f"{cid}: {g} != {e}")
        elif not abs(g.get("value", float("nan")) - e["value"]) <= 1e-9 * max(1.0, abs(e["value"])):
            bad.append(f"{cid}: {g} != {e}")
        elif g["passed"] != e["passed"]:
            bad.append(f"{cid}: {g} != {e}")
    return bad
