"""The PostgreSQL engine beyond the random parity test: ``by:`` slices (JSON groups read
back as the columns' types), samples, a rule that breaks in the server, an empty table.
Each is compared with DuckDB on the same rows, on a real server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

import pyarrow as pa
from pg_server import load

import dqgate

ROWS = pa.table({
    "id": pa.array([1, 2, 2, 3, 4, 5, 5, 5], pa.int64()),
    "hospital": pa.array(["H1", "H1", None, "H2", "H2", "H2", "H1", None], pa.string()),
    "dose": pa.array([1.0, 2.5, 3.0, None, 1.0, 7.0, 2.0, 2.0], pa.float64()),
    "day": pa.array([dt.date(2024, 1, d) for d in (1, 1, 2, 2, 3, 3, 3, 4)], pa.date32()),
    "code": pa.array(["a1", "b2", "zz", "a1", "12", "c3", "c3", None], pa.string()),
})  # fmt: skip
CONTRACT = """
dataset: t
schema:
  key: [id]
  columns:
    id: {type: int64, unique: true}
    hospital: {type: string}
    dose: {type: float64, range: {max: 5}}
    day: {type: date, unique: true}
    code: {type: string, pattern: '[a-z][0-9]'}
checks:
  - {metric: mean(dose), by: [hospital], max: 3}
  - {metric: row_count, by: [day, dose]}
  - {metric: 'quantile(dose, 0.25)', by: [hospital]}
  - {expect: "CAST(code AS INTEGER) > 0", name: breaks_on_text}
  - {metric: median(dose), max: 10}
"""


def _both(postgres_dsn: str, path: Path, table: pa.Table, name: str) -> tuple[dqgate.runners.results.RunResult, dqgate.runners.results.RunResult]:  # type: ignore[name-defined]
    url = load(postgres_dsn, name, table)
    return dqgate.check(url, str(path), allow_empty=True), dqgate.check(table, str(path), engine="duckdb", allow_empty=True)


def test_slices_samples_and_errors_agree_with_duckdb(postgres_dsn: str, write_contract: Callable[..., Path]) -> None:
    pg, duck = _both(postgres_dsn, write_contract(CONTRACT), ROWS, "engine_rows")
    assert pg.engine == "postgres"
    assert [c.id for c in pg.checks] == [c.id for c in duck.checks]
    ids = {c.id for c in pg.checks}
    assert {"mean(dose)[hospital=H1]", "mean(dose)[hospital=null]", "row_count[day=2024-01-03,dose=7.0]"} <= ids
    for p, d in zip(pg.checks, duck.checks):
        where = f"{p}\n{d}"
        assert (p.status, p.failed_rows, p.total_rows) == (d.status, d.failed_rows, d.total_rows), where
        assert p.message == d.message or p.status == "error", where  # each engine words its own error
        assert p.observed == d.observed or abs(p.observed - d.observed) <= 1e-9 * max(1.0, abs(d.observed)), where
        assert sorted(map(repr, p.sample)) == sorted(map(repr, d.sample)), where  # same rows, same Python types
    by_id = {c.id: c for c in pg.checks}
    assert by_id["day.unique"].sample and all(isinstance(s, dt.date) for s in by_id["day.unique"].sample)
    assert by_id["breaks_on_text"].status == "error" and 'type integer: "a1"' in by_id["breaks_on_text"].message
    assert by_id["dose.range"].sample == ({"id": 5, "dose": 7.0},)


def test_an_empty_table_counts_nothing_as_duckdb_does(postgres_dsn: str, write_contract: Callable[..., Path]) -> None:
    pg, duck = _both(postgres_dsn, write_contract(CONTRACT), ROWS.slice(0, 0), "engine_empty")
    assert pg.rows == 0
    assert [(c.id, c.status, c.failed_rows, c.total_rows, c.observed) for c in pg.checks] == [
        (c.id, c.status, c.failed_rows, c.total_rows, c.observed) for c in duck.checks
    ]


def test_the_session_dqgate_opens_cannot_write(postgres_dsn: str) -> None:
    import psycopg
    import pytest

    from dqgate.runners.postgres import connect, parse_url

    con = connect(parse_url(f"{postgres_dsn}?table=public.engine_rows"))
    try:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            con.execute("CREATE TABLE public.written_by_dqgate (a int)")
    finally:
        con.close()
