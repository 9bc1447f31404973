"""Deciding rules from Parquet footers never changes a result.

Random tables and random contracts (every rule kind) are written as Parquet in the
layouts a footer can have: statistics in every row group, none, for some columns
only, a glob of files of which only some have them, and DuckDB's own writer (which
also counts NaNs). Each file is checked twice, with footer decisions and with a
full scan (which the oracle tests vouch for); every result must be identical.
"""

from __future__ import annotations

import datetime as dt
import json
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
from hypothesis import HealthCheck, event, given, settings
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
    event(f"{layout}: {'some' if len(decided) > 1 else 'no'} rules decided from the footer")
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


FOOTER_TYPES = {"i": pa.int32(), "t": pa.timestamp("us"), "s": pa.string(), "f": pa.float64()}
FOOTER_VALUES = {
    "i": st.integers(-3, 3),
    "t": st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 3)),
    "s": st.sampled_from(["a", "b", "ab", "é", ""]),
    "f": st.sampled_from([-1.5, 0.0, 0.25, 2.0, float("nan")]),
}
BOUNDS = {
    "i": st.integers(-4, 4),
    "t": st.sampled_from(["2023-12-31T00:00:00", "2024-01-02T00:00:00", "2024-01-04T00:00:00"]),
    "s": st.sampled_from(["", "a", "b", "z"]),
    "f": st.sampled_from([-2.0, 0.0, 1.0, 3.0]),
}


@st.composite
def footer_contract(draw: Any) -> str:
    """Only rules a footer can decide, with bounds that often hold for whole row groups."""
    lines = ["dataset: footer", "schema:", "  columns:"]
    for c in FOOTER_TYPES:
        rules = [f"type: {'float64' if c == 'f' else {'i': 'int32', 't': 'timestamp', 's': 'string'}[c]}"]
        if draw(st.booleans()):
            rules.append("required: true")
        if draw(st.booleans()):
            lo, hi = sorted([draw(BOUNDS[c]), draw(BOUNDS[c])])
            rules.append(f"range: {{min: {json.dumps(lo)}, max: {json.dumps(hi)}}}")
        if c in ("i", "s") and draw(st.booleans()):
            rules.append(f"in: {json.dumps(draw(st.lists(FOOTER_VALUES[c], min_size=1, max_size=3)))}")
        if c == "s" and draw(st.booleans()):
            rules.append(f"length: {{max: {draw(st.integers(0, 2))}}}")
        lines.append(f"    {c}: {{{', '.join(rules)}}}")
    lines.append("checks:")
    lines.append("  - {metric: row_count, min: 1}")
    for c in FOOTER_TYPES:
        for func in draw(st.lists(st.sampled_from(["min", "max", "null_count", "null_fraction"]), unique=True, max_size=2)):
            lines.append(f"  - {{metric: {func}({c})}}")
    return "\n".join(lines) + "\n"


@SETTINGS
@given(data=st.data())
def test_footer_decidable_contracts_equal_a_full_scan(data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    size = data.draw(st.integers(1, 30), label="rows")
    columns = {c: data.draw(st.lists(st.none() | FOOTER_VALUES[c], min_size=size, max_size=size), label=c) for c in FOOTER_TYPES}
    table = pa.table({c: pa.array(v, FOOTER_TYPES[c]) for c, v in columns.items()})
    contract_path = folder / "contract.yaml"
    contract_path.write_text(data.draw(footer_contract(), label="contract"), encoding="utf-8")
    contract = load_contract(str(contract_path))
    rules = plan(contract)
    layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
    group = data.draw(st.integers(1, 8), label="row group size")
    some = data.draw(st.lists(st.sampled_from(list(FOOTER_TYPES)), unique=True), label="columns with statistics")
    path = write_layout(table, folder / "data", layout, group, some)
    scanned = runner.run(contract, rules, path, use_footer=False)
    footed = runner.run(contract, rules, path, use_footer=True)
    decided = set(footed.source.get("decided_from_footer", []))
    event(f"{layout}: {'most' if len(decided) * 2 > len(rules) else 'few'} rules decided from the footer")
    event(f"row groups left unread: {'yes' if footed.source.get('row_groups_not_read') else 'no'}")
    for got, want in zip(footed.checks, scanned.checks, strict=True):
        got_json, want_json = got.to_json(), want.to_json()
        got_json.pop("sample", None), want_json.pop("sample", None)
        assert len(got.sample) == len(want.sample) and same(got_json, want_json), f"{layout}: {got}\n!= {want}"
