"""The library entry points behind the CLI: check data against a contract."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from dqgate.contract import Contract, load_contract
from dqgate.errors import UsageError
from dqgate.ir.nodes import Rule
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
    store: str | None = None,
    progress: bool = False,
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
        store: the snapshot store holding the contract's dataset: the reference of
            ``drift:`` and the history of ``change:``/``anomaly:`` rules (without it,
            those rules report ``error``).
        progress: draw a progress bar on stderr while a check that has run for over a
            second goes on (``dq check`` turns it on when stderr is a terminal).

    Raises:
        ContractError, DataError, UsageError, EngineError: the check could not run.
    """
    c = as_contract(contract)
    base_dir = c.base_dir
    if data is None:
        if not c.model.source:
            raise UsageError(f"{c.path}: the contract has no 'source:'; pass the data to check", param="data")
        data = c.model.source
    chosen = engine or ("polars" if type(data).__module__.split(".")[0] == "polars" else "duckdb")
    if chosen not in ENGINES:
        raise UsageError(f"unknown engine '{chosen}' (choose from {', '.join(ENGINES)})", param="engine")
    from dqgate.ir.nodes import HISTORY_RULES

    rules = planned(c, store=store, base_dir=base_dir)
    if chosen == "polars":
        from dqgate.runners import polars as runner
    else:
        from dqgate.runners import duckdb as runner  # type: ignore[no-redef]
    now = tuple(r for r in rules if not isinstance(r, HISTORY_RULES))
    result = runner.run(
        c, now, data, as_of=as_of, samples=samples, allow_empty=allow_empty, base_dir=base_dir, progress=progress
    )
    return with_history(result, rules, c, store=store)


def planned(c: Contract, *, store: str | None, base_dir: str | None) -> tuple[Rule, ...]:
    """The rules of ``c`` with every drift rule's reference bound (from ``store`` or a file)."""
    from dqgate.drift_reference import bind_drift

    return bind_drift(plan(c), c, store=store, base_dir=base_dir)


def with_history(result: RunResult, rules: tuple[Rule, ...], c: Contract, *, store: str | None) -> RunResult:
    """``result`` plus the results of the ``change:``/``anomaly:`` rules among ``rules``,
    which compare this run's metric values with the store's history."""
    from dqgate.history import apply

    return apply(result, rules, store=store, dataset=c.dataset)
