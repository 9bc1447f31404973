"""Uniqueness of dense integer keys by counting (runners/dense_unique.py) against a plain-Python oracle.

Each test also asserts which path was taken, so a change that silently sends every
key back to the GROUP BY (or sends a key that must not take it down the counting
path) fails here rather than only getting slower.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import duckdb
import numpy  # noqa: F401  (numpy and pyarrow loaded: small tables take the counting path too)
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dqgate
from dqgate.compilers import duckdb as compiler
from dqgate.contract import load_contract
from dqgate.ir.plan import plan
from dqgate.runners import dense_unique
from dqgate.runners import duckdb as runner

INT_TYPES = {
    "int8": (pa.int8(), -128, 127),
    "int16": (pa.int16(), -(2**15), 2**15 - 1),
    "int32": (pa.int32(), -(2**31), 2**31 - 1),
    "int64": (pa.int64(), -(2**63), 2**63 - 1),
    "uint8": (pa.uint8(), 0, 255),
    "uint32": (pa.uint32(), 0, 2**32 - 1),
    "uint64": (pa.uint64(), 0, 2**64 - 1),
}


def oracle(values: list[int | None]) -> tuple[int, list[int]]:
    """Rows whose non-null value occurs more than once, and the repeated values in order."""
    counts = Counter(v for v in values if v is not None)
    repeated = sorted(v for v, c in counts.items() if c > 1)
    return sum(counts[v] for v in repeated), repeated


def dense_keys(contract: Path, data: Path) -> dict[str, dense_unique.DenseKey]:
    c = load_contract(str(contract))
    con = runner.connect()
    source, types = runner.prepare(con, c, str(data))
    return dense_unique.find(con, plan(c), types, source)


@st.composite
def keys(draw: st.DrawFn) -> tuple[str, list[int | None]]:
    name = draw(st.sampled_from(sorted(INT_TYPES)))
    _, lo, hi = INT_TYPES[name]
    base = draw(st.integers(lo, max(lo, hi - 300)))  # near the type's edges too
    values = draw(st.lists(st.one_of(st.none(), st.integers(base, min(hi, base + 300))), min_size=1, max_size=400))
    return name, values


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=keys())
def test_dense_keys_count_every_row_of_a_repeated_value(drawn: tuple[str, list[int | None]], tmp_path: Path) -> None:
    name, values = drawn
    data = tmp_path / "k.parquet"
    pq.write_table(pa.table({"k": pa.array(values, type=INT_TYPES[name][0])}), data)
    contract = tmp_path / "c.yaml"
    contract.write_text("dataset: t\nschema:\n  columns:\n    k: {unique: true}\n")
    failed, repeated = oracle(values)
    if any(v is not None for v in values):
        assert set(dense_keys(contract, data)) == {"k.unique"}
    result = dqgate.check(str(data), str(contract), samples=3)
    (got,) = result.checks
    assert got.failed_rows == failed
    assert got.total_rows == sum(v is not None for v in values)
    assert list(got.sample) == repeated[:3]


def test_only_single_dense_integer_keys_without_where_are_counted(
    tmp_path: Path, write_contract: Callable[..., Path]
) -> None:
    """Sparse, text, composite and filtered keys keep the GROUP BY, and every one still counts right."""
    table = {
        "k": [0, 10**12, 10**12, 5, None, 5, 5],  # span 10**12 over 7 rows: too sparse
        "d": [1, 2, 2, 3, 3, 3, 4],
        "s": ["a", "b", "b", "c", "d", "c", "e"],
        "g": [1, 1, 1, 1, 2, 1, 2],
    }
    pq.write_table(pa.table(table), tmp_path / "d.parquet")
    contract = write_contract(
        "dataset: t\nschema:\n  columns:\n"
        "    k: {unique: true}\n    d: {unique: true}\n    s: {unique: true}\n    g: {type: int64}\n"
        "  unique: [[d, g]]\n"
        "checks:\n  - {column: d, unique: true, where: \"g = 1\", name: d_in_g1}\n"
    )
    assert set(dense_keys(contract, tmp_path / "d.parquet")) == {"d.unique"}
    got = {c.id: c.failed_rows for c in dqgate.check(str(tmp_path / "d.parquet"), str(contract)).checks}
    assert got == {"k.unique": 5, "d.unique": 5, "s.unique": 4, "d+g.unique": 4, "d_in_g1": 4}


def test_text_sources_keep_the_group_by(tmp_path: Path, write_contract: Callable[..., Path]) -> None:
    """Min and max of a CSV column would cost a full parse, so CSV keys are never counted by array."""
    (tmp_path / "d.csv").write_text("k\n1\n2\n2\n")
    contract = write_contract("dataset: t\nschema:\n  columns:\n    k: {type: int64, unique: true}\n")
    assert dense_keys(contract, tmp_path / "d.csv") == {}
    assert dqgate.check(str(tmp_path / "d.csv"), str(contract)).checks[0].failed_rows == 2


def test_keys_outnumbering_the_buffer_are_counted_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dense_unique, "BATCH_ROWS", 16)  # buffer of 16 slots, so 1000 rows take many flushes
    values: list[int | None] = [(i * 7) % 11 if i % 13 else None for i in range(1000)] + [100]
    pq.write_table(pa.table({"k": values}), tmp_path / "k.parquet")
    contract = tmp_path / "c.yaml"
    contract.write_text("dataset: t\nschema:\n  columns:\n    k: {unique: true}\n")
    assert set(dense_keys(contract, tmp_path / "k.parquet")) == {"k.unique"}
    (got,) = dqgate.check(str(tmp_path / "k.parquet"), str(contract), samples=20).checks
    failed, repeated = oracle(values)
    assert (got.failed_rows, list(got.sample)) == (failed, repeated)


@pytest.mark.parametrize("low_shift, span, batch", [(5, 3, 1 << 20), (0, 2, 1 << 20), (0, 2, 2)])
def test_statistics_that_lie_fall_back_to_the_group_by(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, low_shift: int, span: int, batch: int
) -> None:
    """A minimum above the real one (a negative offset) or a span too short: still the right count.

    With tiny batches the bad value turns up mid-stream, and the GROUP BY then runs on a
    connection that had a half-read result open.
    """
    monkeypatch.setattr(dense_unique, "BATCH_ROWS", batch)
    values = [3, 4, 4, 9, 9, 9, 7] * 50
    pq.write_table(pa.table({"k": values}), tmp_path / "k.parquet")
    contract = tmp_path / "c.yaml"
    contract.write_text("dataset: t\nschema:\n  columns:\n    k: {unique: true}\n")
    c = load_contract(str(contract))
    rules = plan(c)
    con: duckdb.DuckDBPyConnection = runner.connect()
    _, types = runner.prepare(con, c, str(tmp_path / "k.parquet"))
    wrong = dense_unique.DenseKey("k.unique", "k", 3 + low_shift, span)
    assert dense_unique.count(con, wrong, 5) is None
    compiled = compiler.compile_plan(rules, types=types, counted=frozenset({"k.unique"}))
    values_out: dict[str, Any] = {}
    dense_unique.fill(con, {"k.unique": wrong}, compiled, values_out, rules, types, 5)
    failed_out, _, sample_out, _ = compiled.outputs["k.unique"]
    assert values_out[failed_out] == 350
    assert sorted(s["k"] for s in values_out[sample_out]) == [3, 4, 7, 9]


def test_small_data_in_a_fresh_process_keeps_the_group_by_and_never_imports_numpy(tmp_path: Path) -> None:
    """Below MIN_ROWS the import of numpy and pyarrow would cost more than the GROUP BY it saves."""
    pq.write_table(pa.table({"k": [1, 2, 2, 3]}), tmp_path / "k.parquet")
    (tmp_path / "c.yaml").write_text("dataset: t\nschema:\n  columns:\n    k: {unique: true}\n")
    code = (
        "import sys, dqgate\n"
        "from dqgate.contract import load_contract\n"
        "from dqgate.ir.plan import plan\n"
        "from dqgate.runners import dense_unique, duckdb as runner\n"
        "c = load_contract(sys.argv[1]); con = runner.connect()\n"
        "source, types = runner.prepare(con, c, sys.argv[2])\n"
        "assert dense_unique.find(con, plan(c), types, source) == {}\n"
        "(r,) = dqgate.check(sys.argv[2], c).checks\n"
        "print(r.failed_rows, sorted(m for m in ('numpy', 'pyarrow') if m in sys.modules))\n"
    )
    env_path = str(Path(dqgate.__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "c.yaml"), str(tmp_path / "k.parquet")],
                         capture_output=True, text=True, check=True, env={"PYTHONPATH": env_path})  # fmt: skip
    assert out.stdout.split("\n")[0] == "2 []"
