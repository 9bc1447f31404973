"""`dq check` on unusable input: exit 2, one clear line on stderr, no traceback, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dqgate
from dqgate.errors import ContractError

Run = Callable[..., tuple[int, str, str]]
SRC = Path(dqgate.__file__).resolve().parents[1]  # subprocesses import the same dqgate as the tests

CONTRACT = """\
dataset: flights
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    carrier: {type: string, in: [AA, DL]}
"""


def _data(n: int = 20_000) -> pa.Table:
    return pa.table({"id": list(range(n)), "carrier": [["AA", "DL", "B6"][i % 3] for i in range(n)]})


def _flip_middle_of_column_chunk(good: Path, bad: Path, column: int = 0) -> None:
    """Invert 16 bytes in the middle of a column chunk's compressed pages (not the footer)."""
    raw = bytearray(good.read_bytes())
    chunk = pq.ParquetFile(good).metadata.row_group(0).column(column)
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    middle = start + chunk.total_compressed_size // 2
    for i in range(middle, middle + 16):
        raw[i] ^= 0xFF
    bad.write_bytes(bytes(raw))


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "flights.yaml").write_text(CONTRACT, encoding="utf-8")
    good = tmp_path / "flights.parquet"
    pq.write_table(_data(), good, row_group_size=5_000)
    raw = good.read_bytes()
    (tmp_path / "truncated.parquet").write_bytes(raw[: len(raw) // 2])
    _flip_middle_of_column_chunk(good, tmp_path / "corrupt.parquet")
    pq.write_table(_data().slice(0, 0), tmp_path / "empty.parquet")
    pq.write_table(pa.table({"id": ["a", "b"], "carrier": ["AA", "DL"]}), tmp_path / "wrong_type.parquet")
    (tmp_path / "ragged.csv").write_text("id,carrier\n1,AA\n2\n3,DL\n", encoding="utf-8")
    (tmp_path / "syntax.yaml").write_text("dataset: flights\nschema:\n  columns: {id: {type: int64}\n", encoding="utf-8")
    (tmp_path / "duplicate.yaml").write_text(CONTRACT + "dataset: again\n", encoding="utf-8")
    bomb = ["dataset: flights", "a: &a [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"{k}: &{k} [{', '.join([f'*{p}'] * 10)}]" for p, k in zip("abcdefgh", "bcdefghi")]
    (tmp_path / "bomb.yaml").write_text("\n".join(bomb) + "\n", encoding="utf-8")
    (tmp_path / "unknown_rule.yaml").write_text(CONTRACT.replace("in: [AA, DL]", "inn: [AA, DL]"), encoding="utf-8")
    (tmp_path / "unknown_column.yaml").write_text(CONTRACT + "checks:\n  - expect: carier <> ''\n", encoding="utf-8")
    return tmp_path


CASES = {
    "missing contract": (["nope.yaml", "--data", "flights.parquet"], "nope.yaml: contract file not found"),
    "missing data": (["flights.yaml", "--data", "flight.parquet"], "flight.parquet: data file not found. Did you mean 'flights.parquet'?"),
    "yaml syntax": (["syntax.yaml", "--data", "flights.parquet"], "syntax.yaml:4:1: YAML syntax error: expected ',' or '}', but got '<stream end>'"),
    "duplicate key": (["duplicate.yaml", "--data", "flights.parquet"], "duplicate.yaml:6:1: duplicate key 'dataset' (first given at line 1)"),
    "alias bomb": (["bomb.yaml", "--data", "flights.parquet"], "bomb.yaml:6:4: the YAML expands to more than 100,000 nodes (an alias bomb?)"),
    "unknown rule": (["unknown_rule.yaml", "--data", "flights.parquet"], "unknown_rule.yaml:5:29: unknown rule 'inn' for column 'carrier'. Did you mean 'in'?"),
    "unknown column": (["unknown_column.yaml", "--data", "flights.parquet"], "unknown_column.yaml:7:5: expect \"carier <> ''\": unknown column 'carier'. Did you mean 'carrier'?"),
    "type contradicts contract": (["flights.yaml", "--data", "wrong_type.parquet"], "wrong_type.parquet: column 'id' is VARCHAR in the data, but the contract (flights.yaml:4:5) says int64"),
    "empty dataset": (["flights.yaml", "--data", "empty.parquet"], "empty.parquet: the dataset has 0 rows; nothing to check (use --allow-empty to check it anyway)"),
    "truncated parquet": (["flights.yaml", "--data", "truncated.parquet"], "truncated.parquet: cannot read the data: not a valid Parquet file"),
    "corrupt parquet": (["flights.yaml", "--data", "corrupt.parquet"], "corrupt.parquet: cannot read the data:"),
    "ragged csv": (["flights.yaml", "--data", "ragged.csv"], "ragged.csv: cannot read the data: malformed CSV: line 3 has 1 field, but the header has 2"),
    "glob matches nothing": (["flights.yaml", "--data", "batch-*.parquet"], "batch-*.parquet: no file matches this pattern"),
    "unknown format": (["flights.yaml", "--data", "flights.parquet", "--format", "yaml"], "Invalid value for '--format': 'yaml' is not one of"),
    "unknown engine": (["flights.yaml", "--data", "flights.parquet", "--engine", "presto"], "Invalid value for '--engine': 'presto' is not one of"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_unusable_input_is_one_line_exit_2_and_writes_nothing(name: str, files: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    args, message = CASES[name]
    monkeypatch.chdir(files)
    report = files / "report.json"
    fmt = [] if "--format" in args else ["--format", "json"]
    code, out, err = run_cli("check", *args, *fmt, "--output", report)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("dq: error: ") and message in err, err
    assert "Traceback" not in err
    assert not report.exists()
    assert not [p for p in files.iterdir() if p.name.startswith(".dq-")]  # no temporary report either


def test_corrupt_pages_surface_as_a_data_error_whichever_column_is_hit(files: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(files)
    _flip_middle_of_column_chunk(files / "flights.parquet", files / "corrupt_strings.parquet", column=1)
    code, _, err = run_cli("check", "flights.yaml", "--data", "corrupt_strings.parquet")
    assert code == 2 and err.startswith("dq: error: ") and "corrupt_strings.parquet: cannot read the data:" in err and len(err.splitlines()) == 1


def test_several_contract_problems_are_counted_in_the_one_line(files: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(files)
    (files / "many.yaml").write_text(CONTRACT.replace("int64", "int46") + "checks:\n  - expect: nope > 1\n", encoding="utf-8")
    code, _, err = run_cli("check", "many.yaml", "--data", "flights.parquet")
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("dq: error: many.yaml:4:10: 'int46' is not a valid type") and err.rstrip().endswith("(and 1 more problems; run `dq lint` to see all)")


def test_debug_reraises_in_process(files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dqgate.cli import main

    monkeypatch.chdir(files)
    with pytest.raises(ContractError, match="unknown rule 'inn'"):
        main(["--debug", "check", "unknown_rule.yaml", "--data", "flights.parquet"])


def test_debug_shows_a_traceback_from_the_command_line(files: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    plain = subprocess.run([sys.executable, "-m", "dqgate", "check", "nope.yaml"], cwd=files, env=env, capture_output=True, text=True, timeout=120)
    debug = subprocess.run([sys.executable, "-m", "dqgate", "--debug", "check", "nope.yaml"], cwd=files, env=env, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 2 and plain.stderr == "dq: error: nope.yaml: contract file not found\n"
    assert debug.returncode != 0 and "Traceback (most recent call last)" in debug.stderr and "ContractError" in debug.stderr


def test_a_failed_run_leaves_an_existing_report_untouched(files: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(files)
    (files / "report.json").write_text("the previous report", encoding="utf-8")
    code, _, _ = run_cli("check", "flights.yaml", "--data", "truncated.parquet", "--output", "report.json")
    assert code == 2 and (files / "report.json").read_text(encoding="utf-8") == "the previous report"
