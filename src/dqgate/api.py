"""The library entry points behind the CLI: check data against a contract."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from dqgate.contract import Contract, load_contract
from dqgate.errors import UsageError
from dqgate.ir.plan import plan
from dqgate.runners.results import RunResult

ENGINES = ("duckdb", "polars")


def as_contract(contract: Contract | str | os.PathLike[str]) -> Contract:
    """A Contract, loading it when given a path."""
    if isinstance(contract, Contract):
        return contract
    return load_contract(os.fspath(contract))


def check(
    data: Any,
    contract: Contract | str | os.PathLike[str],
    *,
    engine: str | None = None,
    as_of: dt.datetime | None = None,
    samples: int = 5,
    allow_empty: bool = False,
) -> RunResult:
    """Check ``data`` against ``contract`` in one pass and return every result.

    Args:
        data: a file path, glob or folder (Parquet, CSV, JSON), an Arrow table, a Polars
            DataFrame or LazyFrame, a pandas DataFrame or a DuckDB relation; ``None``
            uses the contract's ``source:``.
        contract: a Contract or the path of a contract file.
        engine: ``duckdb`` or ``polars``; default Polars for Polars inputs, else DuckDB.
        as_of: the time freshness rules measure against (default: now, UTC).
        samples: failing-row samples kept per failing rule.
        allow_empty: check a 0-row dataset instead of refusing it.

    Raises:
        ContractError, DataError, UsageError, EngineError: the check could not run.
    """
    c = as_contract(contract)
    base_dir = os.path.dirname(os.path.abspath(c.path)) if os.path.exists(c.path) else None
    if data is None:
        if not c.model.source:
            raise UsageError(f"{c.path}: the contract has no 'source:'; pass the data to check", param="data")
        data = c.model.source
    chosen = engine or ("polars" if type(data).__module__.split(".")[0] == "polars" else "duckdb")
    if chosen not in ENGINES:
        raise UsageError(f"unknown engine '{chosen}' (choose from {', '.join(ENGINES)})", param="engine")
    rules = plan(c)
    if chosen == "polars":
        from dqgate.runners import polars as runner
    else:
        from dqgate.runners import duckdb as runner  # type: ignore[no-redef]
    return runner.run(c, rules, data, as_of=as_of, samples=samples, allow_empty=allow_empty, base_dir=base_dir)
