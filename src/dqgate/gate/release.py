"""``dq quarantine release``: judge a quarantined batch again under the current contract.

The batch's rows are read back from quarantine exactly as they were written (a whole
batch, or the failing rows without their reason columns) and go through the same
ingest as a new batch, with the gate set to ``fail``: if the current contract passes
them they are published and the entry gets ``release.json`` (who, when, which
contract, which version); if it fails them nothing is written and the entry stays.

The published batch id keeps the quarantined one's content part and takes the
current contract's suffix, so ingesting the original file again finds it already
published. Failing rows split off by ``quarantine_rows`` share their batch's content
id with the rows already published, so they get an id of their own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from dqgate.errors import UsageError
from dqgate.gate.ingest import CONTENT_ID_LENGTH, IngestResult, ingest, split_exact_rows
from dqgate.ir import nodes as n
from dqgate.compilers.duckdb import data_names
from dqgate.runners.check import as_contract, planned
from dqgate.store import quarantine_entries as entries


def released_id(batch_id: str, contract_sha256: str, *, rows_only: bool) -> str:
    """The id under which a released entry is published."""
    content = batch_id[:CONTENT_ID_LENGTH]
    if rows_only:
        content = "r" + hashlib.sha256(f"{batch_id}:rows".encode()).hexdigest()[:40]
    return content + contract_sha256[:8]


def release(contract: Any, store: str, dataset: str, batch_id: str, *, created_by: str | None = None) -> IngestResult:
    """Publish quarantined batch ``batch_id`` if ``contract`` passes it now.

    Raises:
        UsageError: the contract is for another dataset.
        StoreError: no such entry, or its data cannot be read.
    """
    from dqgate.store.publish import default_user

    c = as_contract(contract)
    if c.dataset != dataset:
        raise UsageError(f"the contract is for dataset {c.dataset!r}, not {dataset!r}", param="contract")
    done = entries.release_record(store, dataset, batch_id)
    if done is not None:
        return IngestResult(done["published_batch_id"], "already_published", dataset, version=done.get("version"))
    table, reasons = entries.entry_rows(store, dataset, batch_id)
    rows = entries.data_rows(store, dataset, batch_id)
    who = created_by or default_user()
    new_id = released_id(batch_id, c.sha256, rows_only=bool(reasons))
    outcome = ingest(c, rows, store, batch_id=new_id, on_failure="fail", created_by=who)
    if outcome.outcome in ("published", "already_published"):
        entries.mark_released(store, dataset, batch_id, {
            "released_by": who,
            "released_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
            "contract": {"dataset": c.dataset, "version": c.version, "sha256": c.sha256},
            "published_batch_id": new_id,
            "version": outcome.version,
            "rows": rows.num_rows,
        })  # fmt: skip
    return outcome


def flag_rows(contract: Any, table: Any) -> tuple[Any, list[str]]:
    """``table``'s rows failing any error-severity row rule of ``contract``, each with one flag
    column per rule (TRUE where it fails), and the rule ids: the reasons of a whole-batch entry.

    Raises:
        ContractError, DataError: the contract or the rows cannot be used.
    """
    from dqgate.runners import duckdb as runner

    c = as_contract(contract)
    rules = tuple(r for r in planned(c, store=None, base_dir=c.base_dir) if isinstance(r, n.RowRule) and r.severity == "error")
    if not rules:
        return table.slice(0, 0), []
    con = runner.connect()
    try:
        source, types = runner.prepare(con, c, table)
        ids = tuple(r.id for r in rules)
        with data_names(source.names):
            _, failing = split_exact_rows(con, table, rules, types, ids, contract=c)
    finally:
        con.close()
    return failing, list(ids)
