"""A snapshot store with history for the report tests: versions, an anomaly rule, drift, a
quarantined batch and lineage reads, built once per module through the real gate."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

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


@pytest.fixture(scope="module")
def store_with_history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(contract, store, the last batch's file)."""
    import dqgate

    root = tmp_path_factory.mktemp("report-store")
    contract = root / "sales.yaml"
    contract.write_text(CONTRACT)
    store = root / "wh"
    last = root / "b0.parquet"
    for i in range(1, 9):
        last = batch(root / f"b{i}.parquet", i)
        dqgate.ingest(str(contract), str(last), str(store))
    dqgate.ingest(str(contract), str(batch(root / "bad.parquet", 50, bad=True)), str(store))
    for consumer in ("train.py", "eval.py"):
        dqgate.open_snapshot(str(store), "sales", consumer=consumer)
    return contract, store, last
