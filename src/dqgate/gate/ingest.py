"""Write–audit–publish: check a batch once, then publish it, quarantine it, or refuse it.

One ingest of one batch:

1. The batch id is 40 hex digits of the sha256 of the batch's bytes (files) or of
   its Arrow IPC stream (in-memory data), then 8 of the contract's sha256: a retried
   pipeline step finds its batch already published (under any contract: the same
   bytes are never appended twice) or quarantined under this contract, and does
   nothing twice; under a changed contract a quarantined batch is judged afresh.
2. One check pass over the batch (DuckDB, streaming from the file).
3. The gate (``gate.on_failure`` of the contract):
   * pass or warn: the batch is streamed once from the checked view into one
     content-addressed, stamped zstd Parquet object (pyarrow's writer: about a third
     less CPU and memory than DuckDB's COPY, see benchmarks/bench_ingest.py), and a
     new version is published (``append`` or ``replace``);
   * fail + ``quarantine_batch``: the batch goes to ``quarantine/<batch-id>/`` with
     ``report.json``; nothing is published;
   * fail + ``quarantine_rows``: rows failing any error-severity row rule go to
     quarantine with one reason column per rule; the remaining rows are checked
     again with the whole contract and published only if that check passes (else
     the whole batch is quarantined);
   * fail + ``fail``: nothing is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from dqgate.runners.check import as_contract, planned, with_history
from dqgate.compilers import duckdb as compiler
from dqgate.errors import DataError, UsageError
from dqgate.gate import exact, quarantine
from dqgate.ir import nodes as n
from dqgate.runners import duckdb as runner
from dqgate.runners import native
from dqgate.runners.results import RunResult
from dqgate.runners.sources import describe, duckdb_readable, resolve_path
from dqgate.store.exact import refuse_inexact

_CHUNK = 8 << 20


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did with one batch."""

    batch_id: str
    outcome: str  # published | already_published | quarantined_batch | quarantined_rows | already_quarantined | rejected
    dataset: str
    version: int | None = None
    rows_published: int = 0
    rows_quarantined: int = 0
    result: RunResult | None = None
    quarantine_path: str | None = None
    messages: tuple[str, ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> int:
        """0 when the batch (or its good rows) is published, 1 when the gate kept it out."""
        return 0 if self.outcome in ("published", "already_published", "quarantined_rows") else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "outcome": self.outcome,
            "dataset": self.dataset,
            "version": self.version,
            "rows_published": self.rows_published,
            "rows_quarantined": self.rows_quarantined,
            "quarantine": self.quarantine_path,
            "check": self.result.to_json() if self.result else None,
        }

    def summary(self) -> str:
        where = {
            "published": f"published {self.dataset}@{self.version}: {self.rows_published:,} rows",
            "already_published": f"batch already published in {self.dataset}@{self.version}; nothing to do",
            "already_quarantined": f"batch already quarantined under this contract; nothing to do (dq quarantine release|drop {self.dataset} {self.batch_id})",
            "quarantined_batch": f"gate failed: whole batch ({self.rows_quarantined:,} rows) quarantined",
            "quarantined_rows": f"{self.rows_quarantined:,} failing rows quarantined; {self.rows_published:,} rows published as {self.dataset}@{self.version}",
            "rejected": "gate failed: nothing written (on_failure: fail)",
        }[self.outcome]
        tail = f" in {self.quarantine_path}" if self.quarantine_path and "quarantined" in self.outcome else ""
        return f"{self.batch_id}: {where}{tail}"


CONTENT_ID_LENGTH = 41  # "b" + 40 hex digits: the part of a batch id that names its bytes


def batch_id_of(data: Any, *, contract_sha256: str | None = None) -> str:
    """A stable id from the batch's content (files by their bytes, Arrow data by its IPC
    stream), followed by 8 hex digits of the contract's sha256 when one is given."""
    h = hashlib.sha256()
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        for name, p in _batch_files(path):
            if name is not None:  # a folder or glob: where a file sits (e.g. its hive partition) is content too
                h.update(name.encode() + b"\0")
            try:
                with open(p, "rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        h.update(chunk)
            except FileNotFoundError:
                raise DataError(f"{p}: batch file not found", uri=p) from None
            except IsADirectoryError:
                continue
    else:
        import pyarrow as pa

        table = arrow_table(data)
        # Stream the IPC bytes straight into the hash: no second copy of the batch in memory.
        with pa.ipc.new_stream(pa.PythonFile(_HashSink(h), mode="w"), table.schema) as writer:
            writer.write_table(table)
    suffix = contract_sha256[:8] if contract_sha256 else ""
    return "b" + h.hexdigest()[:40] + suffix


class _HashSink:
    """A write-only file object that feeds every byte written to it into a hash."""

    closed = False

    def __init__(self, h: Any) -> None:
        self.h = h

    def write(self, data: Any) -> int:
        self.h.update(data)
        return len(memoryview(data))

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def arrow_table(data: Any) -> Any:
    """In-memory batch data (Arrow, Polars, pandas, DuckDB relation) as one Arrow table."""
    import pyarrow as pa

    from dqgate.runners.sources import _as_arrow

    table, _ = _as_arrow(data)
    if isinstance(table, pa.Table):
        return table
    return pa.Table.from_pandas(table) if type(table).__module__.startswith("pandas") else pa.table(table)


def _batch_files(path: str) -> list[tuple[str | None, str]]:
    """(name, path) of each file of a batch; name is None for a single file, whose id is its bytes alone."""
    if os.path.isdir(path):
        root = path
        paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs if not f.startswith("."))
    elif any(ch in path for ch in "*?["):
        import glob

        root = os.path.dirname(path[: min(path.index(ch) for ch in "*?[" if ch in path)]) or "."
        paths = sorted(glob.glob(path, recursive=True))
    else:
        return [(None, path)]
    return [(os.path.relpath(p, root).replace(os.sep, "/"), p) for p in paths]


def ingest(
    contract: Any,
    batch: Any,
    store: str,
    *,
    mode: str | None = None,
    as_of: dt.datetime | None = None,
    created_by: str | None = None,
    batch_id: str | None = None,
    on_failure: str | None = None,
) -> IngestResult:
    """Check one batch and publish, quarantine or refuse it (see the module docstring).

    ``batch_id`` and ``on_failure`` override the batch's own id and the contract's gate
    (``dq quarantine release`` publishes a quarantined batch under its id, or nothing).

    Raises:
        ContractError, DataError, UsageError, StoreError: nothing could be decided;
            the store is left unchanged.
    """
    from dqgate.store.layout import dataset_layout

    c = as_contract(contract)
    mode = mode or c.model.gate.publish
    if mode not in ("append", "replace"):
        raise UsageError(f"--mode must be append or replace, not '{mode}'", param="mode")
    layout = dataset_layout(store, c.dataset)  # validates the store path and dataset name early
    if not isinstance(batch, (str, os.PathLike)):
        batch = arrow_table(batch)  # once: a LazyFrame or relation is not evaluated again by the check
    else:
        batch = resolve_path(os.fspath(batch), c.base_dir)  # where the check will read it
    schema = exact.schema_of(batch)
    if schema is not None:  # what Parquet cannot hold exactly is refused before anything is written
        refuse_inexact(schema, where=describe(batch))
    batch_id = batch_id or batch_id_of(batch, contract_sha256=c.sha256)
    published = _published_in(store, c.dataset, batch_id) if layout.exists() else None
    # quarantine_rows publishes the kept rows before it writes report.json; a crash between
    # the two leaves a published batch with an unfinished quarantine entry, finished below
    unfinished = published is not None and quarantine.is_unfinished(store, c.dataset, batch_id)
    if published is not None and not unfinished:
        return IngestResult(batch_id, "already_published", c.dataset, version=published)
    if layout.exists() and quarantine.is_quarantined(store, c.dataset, batch_id):
        return IngestResult(batch_id, "already_quarantined", c.dataset)
    base_dir = c.base_dir
    rules = planned(c, store=store, base_dir=base_dir)  # drift against the store's latest version
    con = runner.connect()
    try:
        result = with_history(runner.run(c, rules, batch, as_of=as_of, base_dir=base_dir, con=con), rules, c, store=store)
        if result.status != "fail":
            if published is not None:
                return IngestResult(batch_id, "already_published", c.dataset, version=published)
            return _publish(c, con, result, store, batch_id, mode, created_by, result.rows, data=exact.publishable(batch, lambda: _reader(con, _all_rows())))
        policy = on_failure or c.model.gate.on_failure
        if policy == "fail":
            return IngestResult(batch_id, "rejected", c.dataset, result=result)
        if policy == "quarantine_rows":
            outcome = _quarantine_rows(c, rules, con, result, store, batch_id, mode, as_of, created_by, published, batch=batch)
            if outcome is not None:
                return outcome
        return _quarantine_batch(c, con, result, store, batch_id, batch=batch)
    finally:
        con.close()


def _published_in(store: str, dataset: str, batch_id: str) -> int | None:
    """The version that published ``batch_id``, or None; one manifest read per replace, not per version.

    Each version adds one batch and an append repeats its parent's batch ids, so the
    k batch ids of version v are those of versions v-k+1..v, in order.
    """
    from dqgate.store.publish import list_versions, load_manifest

    versions = list_versions(store, dataset)
    present, v = set(versions), (versions[-1] if versions else 0)
    while v >= 1:
        if v not in present:  # a gap (verify reports it); keep looking below it
            v -= 1
            continue
        ids = [i[:CONTENT_ID_LENGTH] for i in load_manifest(store, dataset, v).batch_ids]
        if batch_id[:CONTENT_ID_LENGTH] in ids:  # the same bytes, under whichever contract
            return v - (len(ids) - 1 - ids.index(batch_id[:CONTENT_ID_LENGTH]))
        v -= max(1, len(ids))
    return None


def _reader(con: Any, query: exp.Expression) -> Any:
    return con.sql(query.sql("duckdb")).to_arrow_reader(256 * 1024)


def _all_rows() -> exp.Expression:
    return exp.select(exp.Star()).from_(exp.to_table(compiler.SOURCE_VIEW, quoted=True))


def _publish(c: Any, con: Any, result: RunResult, store: str, batch_id: str, mode: str, created_by: str | None, rows: int, data: Any = None) -> IngestResult:
    import pyarrow as pa

    from dqgate.store.objects import write_object
    from dqgate.store.publish import publish

    stamp = {"batch_id": batch_id, "contract_sha256": c.sha256, "status": result.status}
    info = write_object(store, c.dataset, data if data is not None else _reader(con, _all_rows()), stamp=stamp)
    if not isinstance(data, pa.Table):
        data = None  # a stream is spent: profile the checked view
    contract = {"dataset": c.dataset, "version": c.version, "sha256": c.sha256}
    profile = _profile(con, store, c, mode, data)
    manifest = publish(store, c.dataset, [info], mode=mode, contract=contract, checks=result.to_json(), batch_id=batch_id, created_by=created_by, profile=profile)  # type: ignore[arg-type]
    return IngestResult(batch_id, "published", c.dataset, version=manifest.version, rows_published=info.rows, result=result)


def _profile(con: Any, store: str, c: Any, mode: str, data: Any) -> dict[str, Any]:
    """The drift reference profile of the version being published (see :mod:`dqgate.runners.reference`)."""
    from dqgate.runners.reference import snapshot_profile

    view = compiler.SOURCE_VIEW
    if data is not None:  # the kept rows of quarantine_rows, not the whole checked batch
        view = "__dq_published"
        con.register(view, duckdb_readable(data))
    return snapshot_profile(con, view, store, c, mode=mode)


def _report(result: RunResult, batch_id: str, outcome: str, **extra: Any) -> dict[str, Any]:
    """The result JSON of the check (what `dq check --format json` prints) plus what the gate did."""
    return {**result.to_json(), "batch_id": batch_id, "outcome": outcome, **extra}


def _quarantine_batch(c: Any, con: Any, result: RunResult, store: str, batch_id: str, *, note: str | None = None, batch: Any = None) -> IngestResult:
    data = _reader(con, _all_rows()) if batch is None else exact.publishable(batch, lambda: _reader(con, _all_rows()))
    path, rows = quarantine.write_data(store, c.dataset, batch_id, "batch.parquet", data)
    extra = {"note": note} if note else {}
    quarantine.write_report(store, c.dataset, batch_id, _report(result, batch_id, "quarantined_batch", rows=rows, **extra))
    return IngestResult(batch_id, "quarantined_batch", c.dataset, rows_quarantined=rows, result=result, quarantine_path=os.path.dirname(path))


def _quarantine_rows(
    c: Any, rules: tuple[n.Rule, ...], con: Any, result: RunResult, store: str, batch_id: str,
    mode: str, as_of: dt.datetime | None, created_by: str | None, published: int | None = None, *, batch: Any = None,
) -> IngestResult | None:  # fmt: skip
    """Split off failing rows; publish the rest if the whole contract passes on it. None: quarantine all."""
    row_rules = tuple(r for r in rules if isinstance(r, n.RowRule) and r.severity == "error")
    if not row_rules:
        return None
    types = {row[0]: row[1] for row in con.execute(f'DESCRIBE SELECT * FROM "{compiler.SOURCE_VIEW}"').fetchall()}
    flagged, ids = compiler.row_flags(row_rules, types=types, native=native.load(con))
    flags_view = "__dq_flags"
    con.execute(exp.Create(this=exp.to_table(flags_view, quoted=True), kind="VIEW", replace=True,
                           properties=exp.Properties(expressions=[exp.TemporaryProperty()]), expression=flagged).sql("duckdb"))  # fmt: skip
    any_flag = exp.or_(*[exp.column(i, quoted=True) for i in ids]) if len(ids) > 1 else exp.column(ids[0], quoted=True)
    kept_sql = exp.select(*[exp.column(name, quoted=True) for name in types]).from_(exp.to_table(flags_view, quoted=True)).where(exp.Not(this=exp.Paren(this=any_flag.copy())))
    whole = exact.table(batch) if batch is not None else None
    bad_data: Any = None
    if whole is not None:  # split the batch's exact rows by the flags, matched by row number
        kept, bad_data = split_exact_rows(con, whole, row_rules, types, ids)
    else:
        kept = con.sql(kept_sql.sql("duckdb")).to_arrow_table()
    base_dir = c.base_dir
    recheck = with_history(runner.run(c, rules, kept, as_of=as_of, allow_empty=True, base_dir=base_dir), rules, c, store=store)
    if recheck.status == "fail" or kept.num_rows == 0:
        return None
    if bad_data is None:
        bad_data = _reader(con, exp.select(exp.Star()).from_(exp.to_table(flags_view, quoted=True)).where(any_flag))
    path, bad_rows = quarantine.write_data(store, c.dataset, batch_id, "rows.parquet", bad_data, rule_columns=ids)
    if published is None:  # else a crashed run published the kept rows and only the report is missing
        published = _publish(c, con, recheck, store, batch_id, mode, created_by, kept.num_rows, data=kept).version
    report = _report(result, batch_id, "quarantined_rows", rows=bad_rows, rule_columns=list(ids),
                     published_version=published, rows_published=kept.num_rows)  # fmt: skip
    quarantine.write_report(store, c.dataset, batch_id, report)
    return IngestResult(
        batch_id, "quarantined_rows", c.dataset, version=published, rows_published=kept.num_rows,
        rows_quarantined=bad_rows, result=result, quarantine_path=os.path.dirname(path),
    )  # fmt: skip


_ROW = "__dq_row"


def split_exact_rows(con: Any, whole: Any, row_rules: tuple[n.Rule, ...], types: dict[str, str], ids: tuple[str, ...]) -> tuple[Any, Any]:
    """(kept rows, failing rows + one flag column per rule) of the batch's exact Arrow rows.

    The flags are computed over the rows numbered in Arrow, and read back ordered by
    that number: a uniqueness flag is a window, which does not keep the scan's order.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    numbered = duckdb_readable(whole).append_column(_ROW, pa.array(np.arange(whole.num_rows, dtype=np.int64)))
    con.register("__dq_numbered", numbered)
    flagged, _ = compiler.row_flags(row_rules, types={**types, _ROW: "BIGINT"}, source="__dq_numbered", native=native.load(con))
    row = exp.column(_ROW, quoted=True)
    query = exp.select(row, *[exp.column(i, quoted=True) for i in ids]).from_(exp.Subquery(this=flagged, alias=exp.TableAlias(this=exp.to_identifier("f")))).order_by(row.copy())
    flags = con.sql(query.sql("duckdb")).to_arrow_table()
    con.unregister("__dq_numbered")
    failing = flags.column(ids[0])
    for i in ids[1:]:
        failing = pc.or_(failing, flags.column(i))
    bad = whole.filter(failing)
    for i in ids:
        bad = bad.append_column(i, flags.column(i).filter(failing))
    return whole.filter(pc.invert(failing)), bad
