"""The library entry points behind the CLI: check data against a contract.

The work is done in :mod:`dqgate.runners.check`; this module is the public face
(its signature and docstring), and wires the terminal progress bar in.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dqgate.contract import Contract
    from dqgate.runners.results import RunResult


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
            DataFrame or LazyFrame, a pandas DataFrame, a DuckDB relation, a Spark DataFrame,
            or a PostgreSQL table (``postgresql://host/db?table=schema.name``, checked inside
            the server); ``None`` uses the contract's ``source:``.
        contract: a Contract or the path of a contract file.
        engine: ``duckdb``, ``polars``, ``postgres`` or ``spark`` (docs/engines-*.md);
            default Polars for Polars inputs, Spark for Spark DataFrames, PostgreSQL for a
            PostgreSQL table, else DuckDB.
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
    from dqgate.runners.check import run

    bar = None
    if progress:
        from dqgate.report.progress import Bar

        bar = partial(Bar, True)
    result = run(
        data, contract, engine=engine, as_of=as_of, samples=samples, allow_empty=allow_empty, store=store, progress=bar
    )
    from dqgate.events import lineage

    if lineage.enabled():  # DQ_OPENLINEAGE_URL / DQ_OPENLINEAGE_FILE: one run event with the quality facets
        lineage.emit_check(result.to_json())
    return result


def ingest(
    data: Any,
    contract: Contract | str | os.PathLike[str],
    store: str | os.PathLike[str],
    *,
    mode: str | None = None,
    as_of: dt.datetime | None = None,
    samples: int = 5,
    allow_empty: bool = False,
    created_by: str | None = None,
) -> Any:
    """Check one batch against ``contract`` and publish it into ``store`` as a new snapshot
    version, or quarantine it (the contract's ``gate:`` decides); the argument order is
    :func:`check`'s: data first.

    ``ingest(contract, data, store)``, the order of dqgate 0.1, still works for a
    contract given as a Contract or a ``.yaml``/``.yml`` path, with a DeprecationWarning.

    Returns:
        An IngestResult: ``outcome`` (published, quarantined_rows, quarantined_batch,
        rejected, already_published, already_quarantined), ``version``, ``result`` (the
        check), ``recheck`` (quarantine_rows: the check of the rows published).
    """
    if _looks_like_contract(data) and not _looks_like_contract(contract):
        import warnings

        warnings.warn(
            "dqgate.ingest(contract, data, store) is deprecated: pass the data first, as to dqgate.check(data, contract)",
            DeprecationWarning,
            stacklevel=2,
        )
        data, contract = contract, data
    from dqgate.gate.ingest import ingest as run_ingest

    return run_ingest(
        contract, data, os.fspath(store), mode=mode, as_of=as_of, samples=samples, allow_empty=allow_empty, created_by=created_by
    )


def _looks_like_contract(value: Any) -> bool:
    from dqgate.contract import Contract

    if isinstance(value, Contract):
        return True
    return isinstance(value, (str, os.PathLike)) and os.fspath(value).lower().endswith((".yaml", ".yml"))
