"""A real PostgreSQL for the tests: the DSN of the server CI started, or one started here.

``scripts/test.sh`` starts one server for the whole run (``scripts/postgres_server.sh``)
and exports its DSN as ``DQ_TEST_POSTGRES_DSN``; a local run without it starts its own
with the same script, once per test session. Where no server can be had, the tests
that need one fail under CI (``CI=true``) and are skipped elsewhere, with the reason.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "postgres_server.sh"
ENV = "DQ_TEST_POSTGRES_DSN"

_PG_TYPES = {
    pa.int64(): "bigint", pa.int32(): "integer", pa.float64(): "double precision", pa.string(): "text",
    pa.bool_(): "boolean", pa.date32(): "date", pa.timestamp("us"): "timestamp",
}  # fmt: skip


def server() -> Iterator[str]:
    """Yield a DSN for the session; stop the server afterwards if this started it."""
    dsn = os.environ.get(ENV)
    if dsn:
        yield dsn
        return
    folder = tempfile.mkdtemp(prefix="dq-pg-")
    done = subprocess.run(["bash", str(SCRIPT), "start", folder], capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(["bash", str(SCRIPT), "stop", folder], capture_output=True)
        reason = (done.stderr.strip().splitlines() or ["PostgreSQL test server did not start"])[-1]
        if os.environ.get("CI") == "true":
            pytest.fail(f"{ENV} is not set and no server could be started: {reason}", pytrace=False)
        pytest.skip(f"no PostgreSQL server: {reason}")
    try:
        yield done.stdout.strip()
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", folder], capture_output=True)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load(dsn: str, table: str, data: pa.Table) -> str:
    """(Re)create ``public.<table>`` holding ``data``; return the table's URL for dqgate."""
    import psycopg

    columns = ", ".join(f"{quote(f.name)} {_PG_TYPES[f.type]}" for f in data.schema)
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f"DROP TABLE IF EXISTS public.{quote(table)}".encode())
        con.execute(f"CREATE TABLE public.{quote(table)} ({columns})".encode())
        names = ", ".join(quote(n) for n in data.column_names)
        with con.cursor().copy(f"COPY public.{quote(table)} ({names}) FROM STDIN".encode()) as copy:
            for row in data.to_pylist():
                copy.write_row(tuple(row.values()))
    return url(dsn, table)


def url(dsn: str, table: str, schema: str = "public") -> str:
    return f"{dsn}{'&' if '?' in dsn else '?'}table={schema}.{table}"


def execute(dsn: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as con:
        cur = con.execute(sql.encode() if params is None else sql, params)
        return cur.fetchall() if cur.description else []
