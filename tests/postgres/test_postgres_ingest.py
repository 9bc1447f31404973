"""``dq ingest`` from a PostgreSQL table: read once through Arrow, checked, published or
quarantined as any batch; a table that cannot be read publishes nothing."""

from __future__ import annotations

import datetime as dt
import decimal
import os
from pathlib import Path
from typing import Callable

import pyarrow as pa
from pg_server import execute, url

import dqgate

CONTRACT = """
dataset: {name}
schema:
  columns:
    id: {{type: int64, required: true, unique: true}}
    amount: {{type: decimal}}
    at: {{type: timestamp}}
    note: {{type: string}}
"""


def _table(dsn: str, name: str, ids: list[int]) -> str:
    execute(dsn, f"DROP TABLE IF EXISTS public.{name}")
    execute(dsn, f"CREATE TABLE public.{name} (id bigint, amount numeric(10, 2), at timestamp, note text)")
    for i in ids:
        execute(dsn, f"INSERT INTO public.{name} VALUES (%s, %s, %s, %s)", (i, decimal.Decimal("1.25") * i, dt.datetime(2024, 1, 1, i), None if i % 2 else f"n{i}"))
    return url(dsn, name)


def test_a_table_is_published_exactly_as_it_was_read(postgres_dsn: str, tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]], write_contract: Callable[..., Path]) -> None:
    source = _table(postgres_dsn, "ingest_ok", [1, 2, 3])
    code, out, _ = run_cli("ingest", write_contract(CONTRACT.format(name="ok")), source, "--store", tmp_path / "store")
    assert code == 0 and "published ok@1: 3 rows" in out
    back = dqgate.open_snapshot(str(tmp_path / "store"), "ok").to_arrow().sort_by("id")
    assert back.schema.field("amount").type == pa.decimal128(10, 2) and back.schema.field("at").type == pa.timestamp("us")
    assert back.to_pylist() == [
        {"id": i, "amount": decimal.Decimal("1.25") * i, "at": dt.datetime(2024, 1, 1, i), "note": None if i % 2 else f"n{i}"} for i in (1, 2, 3)
    ]


def test_a_failing_table_is_quarantined_and_nothing_is_published(postgres_dsn: str, tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]], write_contract: Callable[..., Path]) -> None:
    source = _table(postgres_dsn, "ingest_dup", [1, 1, 2])
    code, out, _ = run_cli("ingest", write_contract(CONTRACT.format(name="dup")), source, "--store", tmp_path / "store", "--format", "json")
    assert code == 1 and "quarantined" in out
    assert f'"uri": "{source}"' in out  # the report names the table it read, not its Arrow copy
    assert not (tmp_path / "store" / "dup" / "objects").exists() or not any((tmp_path / "store" / "dup" / "objects").rglob("*.parquet"))


def test_an_unreadable_table_writes_nothing(postgres_dsn: str, tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]], write_contract: Callable[..., Path]) -> None:
    execute(postgres_dsn, "DROP TABLE IF EXISTS public.ingest_odd")
    execute(postgres_dsn, "CREATE TABLE public.ingest_odd (id bigint, spot point)")
    execute(postgres_dsn, "INSERT INTO public.ingest_odd VALUES (1, '(1,2)')")
    path = write_contract(CONTRACT.format(name="odd"))
    for source, says in ((url(postgres_dsn, "ingest_odd"), "column 'spot' is PostgreSQL type point"), (url(postgres_dsn, "ingest_gone"), "does not exist")):
        code, out, err = run_cli("ingest", path, source, "--store", tmp_path / "store")
        assert code == 2 and out == "" and says in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "store").exists() or os.listdir(tmp_path / "store") == []
