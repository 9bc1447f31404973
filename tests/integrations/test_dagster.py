"""dqgate's Dagster asset checks, run by the real dagster package on a materialized asset."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

try:
    import dagster as dg
except ImportError:  # pragma: no cover - CI installs the extra (scripts/test.sh)
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("the dagster extra is not installed (pip install 'dqgate[dagster]')", allow_module_level=True)

from dqgate.integrations.dagster import asset_checks, check_name  # noqa: E402

CONTRACT = """
dataset: orders
schema:
  columns:
    id:  {type: int64, required: true, unique: true}
    qty: {type: int64, range: {min: 0, max: 10}, severity: warn}
checks:
  - metric: row_count
    min: 2
  - metric: mean(qty)
    by: [id]
    max: 100
    name: qty by id
"""


def _run(tmp_path: Path, ids: list[int], qty: list[int]) -> dict[str, object]:
    contract = tmp_path / "orders.yaml"
    contract.write_text(CONTRACT)
    data = tmp_path / "orders.parquet"

    @dg.asset(name="orders")
    def orders() -> None:
        pq.write_table(pa.table({"id": ids, "qty": qty}), data)

    checks = asset_checks(contract, asset="orders", data=lambda: str(data))
    result = dg.materialize([orders, checks], raise_on_error=False)
    assert result.success
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_every_rule_is_a_dagster_check_and_passes_on_good_data(tmp_path: Path) -> None:
    found = _run(tmp_path, [1, 2, 3], [1, 2, 3])
    assert set(found) == {"id_required", "id_unique", "qty_range", "row_count", "qty_by_id"}
    assert all(e.passed for e in found.values())
    assert found["id_unique"].metadata["failed_rows"].value == 0


def test_failures_carry_dqgate_numbers_and_severity(tmp_path: Path) -> None:
    found = _run(tmp_path, [1, 1], [5, 50])
    assert not found["id_unique"].passed and found["id_unique"].metadata["failed_rows"].value == 2
    assert found["id_unique"].severity == dg.AssetCheckSeverity.ERROR
    assert not found["qty_range"].passed and found["qty_range"].severity == dg.AssetCheckSeverity.WARN
    assert found["row_count"].passed and found["row_count"].metadata["observed"].value == 2.0
    assert found["qty_by_id"].passed  # one Dagster check over every slice of the sliced metric


def test_check_names_are_dagster_names() -> None:
    assert check_name("mean(dep_delay)[region=EU]") == "mean_dep_delay_region_EU"
    assert check_name("a+b.unique") == "a_b_unique"
