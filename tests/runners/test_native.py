"""dqgate's DuckDB extension (``_kernels/dqgate_native.c``, loaded by runners/native.py).

The extension is built by ``pip install .`` (build_native.py); these tests fail if it
was not, so a build that silently lost it cannot pass CI. Its functions are compared
with plain-Python oracles on random data, through the real DuckDB, on one thread and
on several (so the aggregate's combine step runs), and the runner is checked to use
them and to fall back to DuckDB's own functions where it must.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dqgate
from dqgate._kernels import reference
from dqgate.compilers import duckdb as compiler
from dqgate.ir import nodes as n
from dqgate.contract import load_contract
from dqgate.ir.plan import plan
from dqgate.runners import dense_unique, native
from dqgate.runners import duckdb as runner
from kernels.kernel_values import values_of

FORCED_OFF = os.environ.get("DQGATE_NO_NATIVE") == "1" or os.environ.get("DQGATE_PURE_PYTHON") == "1"


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """A connection with the extension loaded directly (also when the runner is told not to use it)."""
    c = duckdb.connect(config=native.CONFIG)
    c.execute(f"LOAD '{native.PATH}'")
    return c


def test_the_extension_is_built_and_loads() -> None:
    """Fails when ``pip install .`` built dqgate without it (build_native.py could not fetch headers)."""
    assert native.PATH.is_file(), native.why_not()
    assert native.enabled() is not FORCED_OFF
    if not FORCED_OFF:
        c = runner.connect()
        assert native.load(c)
        names = {r[0] for r in c.execute("SELECT function_name FROM duckdb_functions()").fetchall()}
        assert {"dq_dfa_match", "dq_key_repeats"} <= names


def repeats_oracle(values: list[int | None], samples: int) -> list[int]:
    counts = Counter(v for v in values if v is not None)
    repeated = sorted(v for v, c in counts.items() if c > 1)
    return [sum(counts[v] for v in repeated), len(repeated), *repeated[:samples]]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-70, 70)), max_size=300),
    low=st.integers(-80, -70),
    extra=st.integers(0, 200),
    samples=st.integers(0, 6),
    threads=st.sampled_from([1, 2, 4]),
)
def test_key_repeats_counts_rows_of_repeated_keys(
    con: duckdb.DuckDBPyConnection, values: list[int | None], low: int, extra: int, samples: int, threads: int
) -> None:
    """[failing rows, repeated keys, smallest repeated keys...] as a Counter sees them; spans that end on,
    inside and past a word of 64 bits."""
    con.execute(f"SET threads = {threads}")
    span = 70 - low + 1 + extra
    got = con.execute(
        "SELECT dq_key_repeats(k, ?, ?, ?) FROM (SELECT unnest(?::BIGINT[]) AS k)", [low, span, samples, values]
    ).fetchall()[0][0]
    assert got == repeats_oracle(values, samples)


@pytest.mark.parametrize("threads", [1, 2])
def test_key_repeats_combines_the_bitmaps_of_every_thread(con: duckdb.DuckDBPyConnection, threads: int) -> None:
    """Two million keys (many row groups of range()): key i % 700_001 repeats for the
    first 2,000,000 - 700,001 * 2 values; the answer is known in closed form."""
    con.execute(f"SET threads = {threads}")
    n, m = 2_000_000, 700_001
    got = con.execute(f"SELECT dq_key_repeats(i % {m}, 0, {m}, 3) FROM range({n}) t(i)").fetchall()[0][0]
    full, rest = divmod(n, m)  # every key occurs `full` times, the first `rest` once more
    assert full == 2
    assert got == [n, m, 0, 1, 2]  # all keys repeat
    got = con.execute(f"SELECT dq_key_repeats(i, 0, {n}, 2) FROM range({n}) t(i) WHERE i % 3 <> 1").fetchall()[0][0]
    assert got == [0, 0]


def test_key_repeats_is_null_for_a_key_outside_the_span(con: duckdb.DuckDBPyConnection) -> None:
    for values in ([1, 2, 10], [-1, 1], [1, 1, 2**40]):
        got = con.execute("SELECT dq_key_repeats(k, 0, 10, 5) FROM (SELECT unnest(?::BIGINT[]) AS k)", [values])
        assert got.fetchall()[0][0] is None
    assert con.execute("SELECT dq_key_repeats(k, 0, 10, 5) FROM (SELECT 1 AS k WHERE false)").fetchall()[0][0] == [0, 0]


def test_key_repeats_per_group(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT g, dq_key_repeats(k, 0, 100, 1) FROM (VALUES (1, 5), (1, 5), (2, 5), (2, 6), (1, 7), (1, 7), (1, 7)) t(g, k) "
        "GROUP BY g ORDER BY g"
    ).fetchall()
    assert rows == [(1, [5, 2, 5]), (2, [0, 0])]


def dfa_table(accepting: str) -> bytes:
    """The DFA of ``[accepting]+`` in the table format of dqgate_native.c, built by hand."""
    classes = bytearray(256)
    for ch in accepting.encode():
        classes[ch] = 1
    # states: 0 dead, 1 start, 2 accepting; class 0 = other bytes, class 1 = accepted bytes
    return bytes([1, 3, 2, 1]) + bytes(classes) + bytes([0, 0, 1]) + bytes([0, 0, 0, 2, 0, 2])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(st.none(), st.text(alphabet="ab\u00e9\n", max_size=20)), max_size=50))
def test_dfa_match_runs_the_table_on_every_value(con: duckdb.DuckDBPyConnection, values: list[str | None]) -> None:
    """Full match of a hand-built table for ``[ab]+``, NULL for NULL, on inlined (<= 12 bytes) and longer strings."""
    got = con.execute(
        "SELECT list(dq_dfa_match(s, ?) ORDER BY i) FROM (SELECT unnest(?::VARCHAR[]) AS s, generate_subscripts(?::VARCHAR[], 1) AS i)",
        [dfa_table("ab"), values, values],
    ).fetchall()[0][0]
    expected = [None if v is None else (v != "" and set(v) <= {"a", "b"}) for v in values]
    assert (got or []) == expected


@pytest.mark.parametrize("cut", [1, 100, 259, 262, 265])
def test_dfa_match_refuses_a_malformed_table(con: duckdb.DuckDBPyConnection, cut: int) -> None:
    table = dfa_table("ab")
    with pytest.raises(duckdb.InvalidInputException, match="malformed DFA table"):
        con.execute("SELECT dq_dfa_match('ab', ?)", [table[:cut]]).fetchall()
    bad = bytearray(table)
    bad[-1] = 7  # a transition to a state that does not exist
    with pytest.raises(duckdb.InvalidInputException, match="malformed DFA table"):
        con.execute("SELECT dq_dfa_match('ab', ?)", [bytes(bad)]).fetchall()


def test_a_connection_without_unsigned_extensions_falls_back(tmp_path: Path) -> None:
    """The caller's own connection refuses the extension: the check still runs, with DuckDB's own functions."""
    values = [3, 4, 4, 9, 9, 9, 7, None] * 40
    pq.write_table(pa.table({"k": values, "s": ["ab", "a b", None, "ba", "b", "", "x", "ab"] * 40}), tmp_path / "d.parquet")
    contract = tmp_path / "c.yaml"
    contract.write_text("dataset: t\nschema:\n  columns:\n    k: {unique: true}\n    s: {pattern: '[ab]+'}\n")
    plain = duckdb.connect()
    assert not native.load(plain)
    theirs = runner.run(load_contract(str(contract)), plan(load_contract(str(contract))), str(tmp_path / "d.parquet"), con=plain)
    ours = dqgate.check(str(tmp_path / "d.parquet"), str(contract))
    assert [(c.id, c.failed_rows) for c in theirs.checks] == [(c.id, c.failed_rows) for c in ours.checks]
    assert [c.failed_rows for c in ours.checks] == [280, 120]


def test_the_runner_marks_dense_keys_in_the_fused_statement(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    """With the extension, a dense key is counted by dq_key_repeats in the one statement, and a
    wrong span from lying statistics still ends in the GROUP BY's answer."""
    values = [3, 4, 4, 9, 9, 9, 7] * 50
    pq.write_table(pa.table({"k": values}), tmp_path / "k.parquet")
    contract = tmp_path / "c.yaml"
    contract.write_text("dataset: t\nschema:\n  columns:\n    k: {unique: true}\n")
    c = load_contract(str(contract))
    rules = plan(c)
    ours = runner.connect()
    source, types = runner.prepare(ours, c, str(tmp_path / "k.parquet"))
    planned = runner.plan_for(ours, c, rules, types, source)
    assert planned.dense["k.unique"].marked is not FORCED_OFF
    assert (compiler.KEY_REPEATS.upper() in planned.plan.sql.upper()) is not FORCED_OFF
    runner.prepare(con, c, str(tmp_path / "k.parquet"))
    wrong = {"k.unique": (4, 3)}  # 3 is below the span's low end
    compiled = compiler.compile_plan(rules, types=types, counted=frozenset(wrong), marks=wrong, native=True)
    values_out: dict[str, Any] = dict(zip(*_row(con, compiled.sql)))
    assert values_out[compiled.marks["k.unique"]] is None
    key = dense_unique.DenseKey("k.unique", "k", 4, 3, marked=True)
    dense_unique.fill(con, {"k.unique": key}, compiled, values_out, rules, types, 5)
    failed_out, _, sample_out, _ = compiled.outputs["k.unique"]
    assert values_out[failed_out] == 350
    assert sorted(s["k"] for s in values_out[sample_out]) == [3, 4, 7, 9]


def _row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], tuple[Any, ...]]:
    cur = con.execute(sql)
    return [d[0] for d in cur.description or []], cur.fetchall()[0]


def test_a_check_with_the_extension_imports_neither_numpy_nor_pyarrow(tmp_path: Path) -> None:
    """Dense keys no longer need the Arrow pass, so a plain `dq check` leaves both unimported
    (about 0.2 s of start-up); without the extension, large keys still need them."""
    pq.write_table(pa.table({"k": list(range(1000)) + [5], "s": ["ab"] * 1001}), tmp_path / "k.parquet")
    (tmp_path / "c.yaml").write_text("dataset: t\nschema:\n  columns:\n    k: {unique: true}\n    s: {pattern: '[ab]+'}\n")
    code = (
        "import sys, dqgate\n"
        "(k, s) = dqgate.check(sys.argv[2], sys.argv[1]).checks\n"
        "print(k.failed_rows, s.failed_rows, sorted(m for m in ('numpy', 'pyarrow') if m in sys.modules))\n"
    )
    env = {"PYTHONPATH": str(Path(dqgate.__file__).resolve().parents[1])}
    if FORCED_OFF:
        env["DQGATE_NO_NATIVE"] = "1"
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "c.yaml"), str(tmp_path / "k.parquet")],
                         capture_output=True, text=True, check=True, env=env)  # fmt: skip
    assert out.stdout.split("\n")[0] == "2 0 []"


_OCTETS = st.one_of(st.integers(0, 300).map(str), st.sampled_from(["0", "00", "01", "007", "255", "256", "", "1a"]))
_LOCAL = st.one_of(st.text(alphabet="ab.%+-_9", max_size=8), st.integers(62, 66).map(lambda k: "a" * k))
_LABELS = st.lists(st.text(alphabet="ab-9", min_size=1, max_size=5), min_size=1, max_size=3).map(".".join)
BOUNDARIES = {  # values at the edges of each format's rules (octet values, leading zeros, 64-char local parts, lengths)
    "ipv4": st.lists(_OCTETS, min_size=3, max_size=5).map(".".join),
    "email": st.tuples(_LOCAL, _LABELS, st.sampled_from(["io", "Z", "com", "c9", ""])).map(lambda t: f"{t[0]}@{t[1]}.{t[2]}"),
    "uuid": st.tuples(*(st.integers(n - 1, n + 1) for n in (8, 4, 4, 4, 12)), st.sampled_from("0aFg")).map(
        lambda t: "-".join("0aF9"[i % 4] * k for i, k in enumerate(t[:5])) + ("" if t[5] != "g" else "g")
    ),
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(sorted(compiler.FORMAT_DFAS)), data=st.data())
def test_regular_formats_as_dfas_agree_with_the_kernels(con: duckdb.DuckDBPyConnection, fmt: str, data: st.DataObject) -> None:
    """email, uuid and ipv4 compiled to dq_dfa_match (plus a byte limit) judge every value as
    the kernels' plain-Python twins do: valid, near-valid and very long values."""
    drawn = data.draw(values_of(fmt, max_size=40))
    values = [v.decode() for v in drawn if v is not None and _utf8(v)]  # a VARCHAR holds valid UTF-8 only
    values += data.draw(st.lists(BOUNDARIES[fmt], max_size=40))
    test = compiler.row_test(n.Format(id="s.format", columns=("s",), format=fmt), {"s": "VARCHAR"}, native=True)
    sql = test.sql(compiler.DIALECT)
    assert compiler.DFA_MATCH.upper() in sql.upper()
    got = con.execute(f'SELECT list_transform($1::VARCHAR[], lambda "s": {sql})', [values]).fetchall()[0][0]
    assert (got or []) == [getattr(reference, fmt)(v.encode()) for v in values]


def _utf8(value: bytes) -> bool:
    try:
        value.decode()
    except UnicodeDecodeError:
        return False
    return True
