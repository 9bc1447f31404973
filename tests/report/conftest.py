"""A snapshot store with history for the report tests: versions, an anomaly rule, drift, a
quarantined batch and lineage reads, built once per module through the real gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from report_helpers import CONTRACT, batch


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
        dqgate.ingest(str(last), str(contract), str(store))
    dqgate.ingest(str(batch(root / "bad.parquet", 50, bad=True)), str(contract), str(store))
    for consumer in ("train.py", "eval.py"):
        dqgate.open_snapshot(str(store), "sales", consumer=consumer)
    return contract, store, last
