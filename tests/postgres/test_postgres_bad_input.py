"""Bad input on the PostgreSQL engine: one line naming the thing, exit 2, no traceback.

Against a real server (tests/pg_server.py): an unreachable server, a missing table, a
URL without a table, a column type the engine cannot check, a rule it cannot run
exactly, and a password written into a contract (refused before anything connects).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pytest
from pg_server import execute, load, url

CONTRACT = """
dataset: t
schema:
  columns:
    id: {{type: int64, required: true}}
{extra}
"""


def _contract(write_contract: Callable[..., Path], extra: str = "") -> Path:
    return write_contract(CONTRACT.format(extra=extra))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_an_unreachable_server_is_one_line_naming_it(run_cli: Callable[..., tuple[int, str, str]], write_contract: Callable[..., Path]) -> None:
    port = _closed_port()
    code, out, err = run_cli("check", _contract(write_contract), "--data", f"postgresql://postgres@127.0.0.1:{port}/postgres?table=public.t")
    line = _one_line(err)
    assert code == 2 and out == ""
    assert f"127.0.0.1:{port}" in line and "cannot connect to PostgreSQL" in line


def test_a_missing_table_is_named(postgres_dsn: str, run_cli: Callable[..., tuple[int, str, str]], write_contract: Callable[..., Path]) -> None:
    code, _, err = run_cli("check", _contract(write_contract), "--data", url(postgres_dsn, "no_such_table"))
    assert code == 2
    assert 'table "public"."no_such_table" does not exist' in _one_line(err)


def test_a_url_without_a_table_says_how_to_name_one(postgres_dsn: str, run_cli: Callable[..., tuple[int, str, str]], write_contract: Callable[..., Path]) -> None:
    code, _, err = run_cli("check", _contract(write_contract), "--data", postgres_dsn)
    assert code == 2 and "?table=schema.name" in _one_line(err)


def test_a_column_type_the_engine_cannot_check_is_named(postgres_dsn: str, run_cli: Callable[..., tuple[int, str, str]], write_contract: Callable[..., Path]) -> None:
    execute(postgres_dsn, "DROP TABLE IF EXISTS public.arrays")
    execute(postgres_dsn, "CREATE TABLE public.arrays (id bigint, tags integer[])")
    execute(postgres_dsn, "INSERT INTO public.arrays VALUES (1, '{1,2}')")
    path = _contract(write_contract, "    tags: {required: true, range: {min: 1}}")
    code, _, err = run_cli("check", path, "--data", url(postgres_dsn, "arrays"))
    line = _one_line(err)
    assert code == 2 and "column 'tags' is PostgreSQL type integer[]" in line and "tags.range" in line


def test_a_contract_type_the_table_contradicts_is_named(postgres_dsn: str, run_cli: Callable[..., tuple[int, str, str]], write_contract: Callable[..., Path]) -> None:
    target = load(postgres_dsn, "typed", pa.table({"id": pa.array(["a"], pa.string())}))
    code, _, err = run_cli("check", _contract(write_contract), "--data", target)
    assert code == 2 and "column 'id' is VARCHAR in the data, but the contract" in _one_line(err)


def test_a_rule_postgres_cannot_run_exactly_is_refused_by_name(postgres_dsn: str, run_cli: Callable[..., tuple[int, str, str]], write_contract: Callable[..., Path]) -> None:
    target = load(postgres_dsn, "formats", pa.table({"id": pa.array([1], pa.int64()), "site": pa.array(["https://e.org"], pa.string())}))
    for rule, rule_id in (("{format: url}", "site.format"), ("{pattern: 'é+'}", "site.pattern")):
        code, out, err = run_cli("check", _contract(write_contract, f"    site: {rule}"), "--data", target, "--engine", "postgres")
        line = _one_line(err)
        assert code == 2 and out == ""
        assert f"engine 'postgres' cannot run rule '{rule_id}'" in line


def test_a_password_in_the_contract_is_refused_before_connecting(run_cli: Callable[..., tuple[int, str, str]], write_contract: Callable[..., Path]) -> None:
    port = _closed_port()  # were it used, the error would be "cannot connect"
    for source in (f"postgresql://me:s3cret@127.0.0.1:{port}/db?table=t", f"postgresql://127.0.0.1:{port}/db?table=t&password=s3cret"):
        path = write_contract(f"source: {source}\n" + CONTRACT.format(extra=""))
        code, _, err = run_cli("check", path)
        line = _one_line(err)
        assert code == 2 and "the URL carries a password" in line and "s3cret" not in line
        code, out, _ = run_cli("lint", path)
        assert code == 1 and "the URL carries a password" in out and "s3cret" not in out


def test_the_source_url_of_a_contract_is_checked_in_the_server(postgres_dsn: str, run_cli: Callable[..., tuple[int, str, str]], write_contract: Callable[..., Path]) -> None:
    target = load(postgres_dsn, "ids", pa.table({"id": pa.array([1, None, 3], pa.int64())}))
    path = write_contract(f"source: '{target}'\n" + CONTRACT.format(extra=""))
    code, out, _ = run_cli("check", path, "--format", "json")
    assert code == 1
    import json

    result = json.loads(out)
    assert result["engine"] == "postgres" and result["source"]["rows"] == 3
    assert [(c["id"], c["failed_rows"]) for c in result["checks"]] == [("id.required", 1)]


@pytest.mark.parametrize("named", ["duckdb", "postgres"])
def test_postgres_engine_and_table_urls_go_together(named: str, postgres_dsn: str, tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]], write_contract: Callable[..., Path]) -> None:
    data = url(postgres_dsn, "ids") if named == "duckdb" else str(tmp_path / "x.parquet")
    code, _, err = run_cli("check", _contract(write_contract), "--data", data, "--engine", named)
    assert code == 2 and "the postgres engine checks a table named by postgresql://" in _one_line(err)
