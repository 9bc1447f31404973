"""Input `dq ingest` and `dq snapshots` cannot use: one clear line on stderr, exit 2, the store unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from gate_helpers import FLIGHTS, dq, make_batch, tree, write_contract


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A store holding one published version of flights, and the folder with its contract."""
    folder = tmp_path_factory.mktemp("bad-input")
    contract = write_contract(folder)
    run = dq("ingest", contract, FLIGHTS, "--store", folder / "store", cwd=folder)
    assert run.returncode == 0, run.stderr
    return folder, contract


def _month_as_text(folder: Path) -> Path:
    table = pq.read_table(FLIGHTS)
    path = folder / "month-as-text.parquet"
    pq.write_table(table.set_column(2, "month", table["month"].cast(pa.string())), path)
    return path


def _garbage(folder: Path) -> Path:
    path = folder / "garbage.parquet"
    path.write_bytes(bytes(range(256)) * 20)
    return path


def _escaping_contract(folder: Path) -> Path:
    path = folder / "escaping.yaml"
    path.write_text((folder / "contract.yaml").read_text().replace("dataset: flights", "dataset: ../x", 1))
    return path


def _store_file(folder: Path) -> Path:
    path = folder / "a-file"
    path.write_text("not a store\n")
    return path


Args = Callable[[Path, Path, Path], list[object]]
CASES: dict[str, tuple[Args, str]] = {
    "schema contradicts the contract": (
        lambda f, c, s: ["ingest", c, _month_as_text(f), "--store", s],
        "column 'month' is VARCHAR in the data, but the contract",
    ),
    "unreadable batch": (
        lambda f, c, s: ["ingest", c, _garbage(f), "--store", s],
        "garbage.parquet: cannot read the data: not a valid Parquet file",
    ),
    "store is a regular file": (
        lambda f, c, s: ["ingest", c, FLIGHTS, "--store", _store_file(f)],
        "is not a directory",
    ),
    "contract dataset escapes the store": (
        lambda f, c, s: ["ingest", _escaping_contract(f), FLIGHTS, "--store", s],
        "'../x' is not a valid dataset name",
    ),
    "dataset name escapes the store": (
        lambda f, c, s: ["snapshots", "show", s, "../x"],
        "invalid dataset name '../x'",
    ),
    "version does not exist": (
        lambda f, c, s: ["snapshots", "show", s, "flights@99"],
        "version 99 of dataset 'flights' does not exist (versions 1..1)",
    ),
    "missing batch file": (
        lambda f, c, s: ["ingest", c, f / "no-such-batch.parquet", "--store", s],
        "no-such-batch.parquet: batch file not found",
    ),
    "missing batch after a good one": (
        lambda f, c, s: ["ingest", c, make_batch(f / "good.parquet", 1200, 9, start_id=50_000) and f / "good.parquet",
                         f / "no-such-batch.parquet", "--store", s],
        "no-such-batch.parquet: batch file not found",
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_2_and_leaves_the_store_unchanged(published, case):
    folder, contract = published
    store = folder / "store"
    build, message = CASES[case]
    args = build(folder, contract, store)
    file_store = folder / "a-file"
    before, before_file = tree(store), tree(file_store)
    run = dq(*args, cwd=folder)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.startswith("dq: error: ") and run.stderr.count("\n") == 1, run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
    assert tree(store) == before
    assert tree(file_store) == before_file
