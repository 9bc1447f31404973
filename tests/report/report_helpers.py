"""The report tests' contract and batches (seeded, so every run sees the same data)."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CONTRACT = """
dataset: sales
version: 1.0.0
schema:
  columns:
    id:    {type: int64, required: true, unique: true}
    x:     {type: float64, range: {min: 0, max: 100}}
    cat:   {type: string, in: [a, b, c]}
checks:
  - metric: mean(x)
    name: mean_x
    anomaly: {method: zscore, window: 5, max: 3}
  - metric: row_count
    min: 10
drift:
  reference: latest
  columns:
    x:   {method: psi, max: 5}
    cat: {method: js, max: 0.9}
gate:
  on_failure: quarantine_batch
"""


def batch(path: Path, seed: int, *, rows: int = 60, bad: bool = False) -> Path:
    rng = random.Random(seed)
    ids = list(range(seed * 1000, seed * 1000 + rows))
    xs = [round(rng.uniform(10, 60) + seed, 2) for _ in ids]
    cats = [rng.choice("abc") for _ in ids]
    if bad:
        xs[0], cats[1] = 500.0, "zz"
    pq.write_table(pa.table({"id": ids, "x": xs, "cat": cats}), path)
    return path


