"""Deciding rules from Parquet footers never changes a result.

Random tables and random contracts (every rule kind) are written as Parquet in the
layouts a footer can have: statistics in every row group, none, for some columns
only, a glob of files of which only some have them, and DuckDB's own writer (which
also counts NaNs). Each file is checked twice, with footer decisions and with a
full scan (which the oracle tests vouch for); every result must be identical.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from random_contracts import AS_OF, AWKWARD, PLAIN, TYPES, ContractBuilder, arrow_table, ref_rows, rows

from dqgate.contract import load_contract
from dqgate.ir import nodes as n
from dqgate.ir.plan import plan
from dqgate.runners import duckdb as runner

SETTINGS = settings(max_examples=int(os.environ.get("DQGATE_PARITY_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LAYOUTS = ("stats", "none", "some columns", "some files", "duckdb")


def write_layout(table: pa.Table, folder: Path, layout: str, group: int, some: list[str]) -> str:
    """``table`` written as Parquet in ``layout`` with row groups of ``group`` rows; the path to check."""
    folder.mkdir()
    path = folder / "data.parquet"
    if layout == "stats":
        pq.write_table(table, path, row_group_size=group)
    elif layout == "none":
        pq.write_table(table, path, row_group_size=group, write_statistics=False)
    elif layout == "some columns":
        pq.write_table(table, path, row_group_size=group, write_statistics=some)
    elif layout == "some files":
        half = table.num_rows // 2
        pq.write_table(table.slice(0, half), folder / "a.parquet", row_group_size=group)
        pq.write_table(table.slice(half), folder / "b.parquet", row_group_size=group, write_statistics=False)
        return str(folder / "*.parquet")
    else:
        con = duckdb.connect()
        con.register("t", table)
        con.execute(f"COPY t TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE {group})")
        con.close()
    return str(path)


def same(a: Any, b: Any, rel: float = 0.0) -> bool:
    """Equal, floats within ``rel`` (0: bit for bit)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rel, abs_tol=rel)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rel) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y, rel) for x, y in zip(a, b))
    return bool(a == b)


@SETTINGS
@given(data=st.data())
def test_footer_decisions_equal_a_full_scan(data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    names = data.draw(st.sampled_from([PLAIN, AWKWARD]), label="names")
    table_rows = data.draw(rows(min_size=1, max_size=40), label="rows")
    refs = data.draw(ref_rows(), label="ref")
    ref_path = folder / "ref.parquet"
    pq.write_table(pa.table({"code": pa.array([r["code"] for r in refs], pa.int64()), "name": pa.array([r["name"] for r in refs], pa.string())}), ref_path)
    builder = ContractBuilder(data.draw, names, str(ref_path))
    contract_path = folder / "contract.yaml"
    contract_path.write_text(yaml.safe_dump(builder.contract(), sort_keys=False, allow_unicode=True), encoding="utf-8")
    contract = load_contract(str(contract_path))
    rules = tuple(r for r in plan(contract) if not isinstance(r, n.HISTORY_RULES))

    table = arrow_table(table_rows, names)
    layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
    group = data.draw(st.integers(1, 8), label="row group size")
    some = data.draw(st.lists(st.sampled_from([names[r] for r in TYPES]), unique=True), label="columns with statistics")
    path = write_layout(table, folder / "data", layout, group, some)

    scanned = runner.run(contract, rules, path, as_of=AS_OF, use_footer=False)
    footed = runner.run(contract, rules, path, as_of=AS_OF, use_footer=True)
    assert "decided_from_footer" not in scanned.source
    if layout == "none":
        assert footed.source.get("decided_from_footer", []) in ([], [r.id for r in rules if isinstance(r, n.Metric) and r.func == "row_count" and r.where is None])
    decided = set(footed.source.get("decided_from_footer", []))
    for got, want in zip(footed.checks, scanned.checks, strict=True):
        # Samples are any failing rows (LIMIT without ORDER BY): only their number must agree.
        assert len(got.sample) == len(want.sample), f"{layout}: {got}\n!= {want}"
        got_json, want_json = got.to_json(), want.to_json()
        got_json.pop("sample", None), want_json.pop("sample", None)
        # What the footer decided must be exact; a scanned sum may differ in its last bits
        # between two runs (DuckDB adds row groups in parallel, in any order).
        rel = 0.0 if got.id in decided else 1e-9
        if rel:
            got_json.pop("message"), want_json.pop("message")
        assert same(got_json, want_json, rel), f"{layout}: {got}\n!= {want}"
    assert footed.status == scanned.status and footed.rows == scanned.rows
