"""One check of a contract, end to end: plan the rules, bind drift references, run
them on the chosen engine, then judge the rules against metric history.

:func:`dqgate.check` (the library) and the gate's ingest both go through here, so a
batch is judged the same way whether it is only checked or also published.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from dqgate.contract import Contract
from dqgate.errors import UnsupportedRule, UsageError
from dqgate.ir.nodes import HISTORY_RULES, Rule
from dqgate.ir.plan import plan
from dqgate.runners.results import Progress, RunResult

ENGINES = ("duckdb", "polars", "postgres", "spark")


def as_contract(contract: Contract | str | os.PathLike[str]) -> Contract:
    """A Contract, loading it when given a path (keeping its rules for `dq report --no-check`)."""
    if isinstance(contract, Contract):
        return contract
    from dqgate.ir.plan_cache import load

    return load(os.fspath(contract))


def run(
    data: Any,
    contract: Contract | str | os.PathLike[str],
    *,
    engine: str | None = None,
    as_of: dt.datetime | None = None,
    samples: int = 5,
    allow_empty: bool = False,
    store: str | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Check ``data`` against ``contract``; the arguments are :func:`dqgate.check`'s,
    except ``progress``: a factory of the progress display (None: none)."""
    c = as_contract(contract)
    base_dir = c.base_dir
    if data is None:
        if not c.model.source:
            raise UsageError(f"{c.path}: the contract has no 'source:'; pass the data to check", param="data")
        data = c.model.source
    chosen = engine or _engine_for(data)
    if chosen not in ENGINES:
        raise UsageError(f"unknown engine '{chosen}' (choose from {', '.join(ENGINES)})", param="engine")
    if (chosen == "postgres") != _is_postgres_url(data):
        raise UsageError(f"the postgres engine checks a table named by postgresql://host/db?table=schema.name, and only it; got {_shown(data)}", param="engine")
    rules = planned(c, store=store, base_dir=base_dir, as_of=as_of)
    if chosen == "polars":
        from dqgate.runners import polars as runner
    elif chosen == "postgres":
        from dqgate.runners import postgres as runner  # type: ignore[no-redef]
    elif chosen == "spark":
        from dqgate.runners import spark as runner  # type: ignore[no-redef]
    else:
        from dqgate.runners import duckdb as runner  # type: ignore[no-redef]
    now = tuple(r for r in rules if not isinstance(r, HISTORY_RULES))
    kw = dict(as_of=as_of, samples=samples, allow_empty=allow_empty, base_dir=base_dir, progress=progress)
    try:
        result = runner.run(c, now, data, **kw)  # type: ignore[arg-type]
    except UnsupportedRule as exc:
        if engine is not None or chosen in ("postgres", "spark"):  # asked for by name, or the data lives there:
            raise  # say it cannot; never switch behind the caller's back, nor collect the data to one machine
        result = _on_duckdb(c, now, data, kw, why=exc)
    return with_history(result, rules, c, store=store)


def _engine_for(data: Any) -> str:
    """The engine data gets unless one is named: a Polars frame Polars, a Spark DataFrame
    Spark, a PostgreSQL table PostgreSQL (the check runs where the data lives), else DuckDB."""
    if _is_postgres_url(data):
        return "postgres"
    module = type(data).__module__.split(".")[0]
    if module == "polars":
        return "polars"
    return "spark" if module == "pyspark" and type(data).__name__ == "DataFrame" else "duckdb"


def _is_postgres_url(data: Any) -> bool:
    return isinstance(data, str) and data.startswith(("postgresql://", "postgres://"))


def _shown(data: Any) -> str:
    """``data`` for a message: a path as given, a URL without its password, else its type."""
    if _is_postgres_url(data):
        from dqgate.runners.postgres import parse_url

        try:
            return parse_url(data).shown
        except UsageError:
            return "a postgresql:// URL without ?table="
    return str(data) if isinstance(data, (str, os.PathLike)) else type(data).__name__


def _on_duckdb(c: Contract, rules: tuple[Rule, ...], data: Any, kw: dict[str, Any], *, why: UnsupportedRule) -> RunResult:
    """Run a Polars frame's check on DuckDB when the Polars engine lacks one of its rules
    (``by:``, drift, ...): DuckDB scans the frame's Arrow buffers in place (``to_arrow()``
    shares them; a LazyFrame is collected once). The result names the engine and why."""
    import dataclasses

    from dqgate.runners import duckdb as runner

    frame = data.collect() if hasattr(data, "collect") else data
    result = runner.run(c, rules, frame.to_arrow(), **kw)
    note = f"ran on duckdb: the polars engine cannot run rule '{why.rule_id}'" + (f" ({why.reason})" if why.reason else "")
    return dataclasses.replace(result, engine_note=note)


def planned(c: Contract, *, store: str | None, base_dir: str | None, as_of: dt.datetime | None = None) -> tuple[Rule, ...]:
    """The rules of ``c`` with every drift rule's reference bound (from ``store`` or a file)
    and every relative bound (``now-52w``) made an instant at ``as_of`` (default: now)."""
    from dqgate.ir.instants import resolve
    from dqgate.runners.reference import bind_drift

    rules = resolve(plan(c), as_of or dt.datetime.now(dt.timezone.utc))
    return bind_drift(rules, c, store=store, base_dir=base_dir)


def with_history(result: RunResult, rules: tuple[Rule, ...], c: Contract, *, store: str | None) -> RunResult:
    """``result`` plus the results of the ``change:``/``anomaly:`` rules among ``rules``,
    which compare this run's metric values with the store's history."""
    from dqgate.runners.assemble_history import apply

    return apply(result, rules, store=store, dataset=c.dataset)
