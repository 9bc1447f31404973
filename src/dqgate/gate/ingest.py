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

import contextlib
import dataclasses
import datetime as dt
import functools
import os
from typing import Any, Callable

from sqlglot import exp

from dqgate.runners.check import as_contract, planned, with_history
from dqgate.compilers import duckdb as compiler
from dqgate.errors import DataError, UsageError
from dqgate.gate import exact, quarantine
from dqgate.gate.batch_id import arrow_table, batch_id_of
from dqgate.gate.batch_id import named as batch_name
from dqgate.gate.outcome import CONTENT_ID_LENGTH, IngestResult
from dqgate.gate.outcome import published_in as _published_in
from dqgate.gate.outcome import report as _report
from dqgate.gate import snapshot_scope as scope
from dqgate.ir import nodes as n
from dqgate.runners import duckdb as runner
from dqgate.runners import native
from dqgate.runners.results import Progress, RunResult
from dqgate.runners.sources import describe, duckdb_readable, resolve_path
from dqgate.store.exact import refuse_inexact

RACE_ATTEMPTS = 20  # re-judgements of a rows quarantine whose publish keeps losing to colliding racers


def _emits_lineage(run: Callable[..., IngestResult]) -> Callable[..., IngestResult]:
    """With ``DQ_OPENLINEAGE_URL`` or ``DQ_OPENLINEAGE_FILE`` set, send the OpenLineage run of
    each ingest that decided something (not a retry that found its batch already there)."""

    @functools.wraps(run)
    def ingest_and_emit(contract: Any, batch: Any, store: str, **options: Any) -> IngestResult:
        outcome = run(contract, batch, store, **options)
        from dqgate.events import lineage

        if lineage.enabled() and outcome.outcome not in ("already_published", "already_quarantined"):
            uri = os.fspath(batch) if isinstance(batch, (str, os.PathLike)) else f"<in-memory batch {outcome.batch_id[:12]}>"
            result = outcome.result.to_json() if outcome.result is not None else None
            lineage.emit_ingest(result, store=store, dataset=outcome.dataset, version=outcome.version, batch_uri=uri, outcome=outcome.outcome)
        return outcome

    return ingest_and_emit


@_emits_lineage
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
    engine: str | None = None,
    samples: int = 5,
    allow_empty: bool = False,
    progress: Progress | None = None,
) -> IngestResult:
    """Check one batch and publish, quarantine or refuse it (see the module docstring);
    with ``DQ_OPENLINEAGE_URL`` or ``DQ_OPENLINEAGE_FILE`` set, also send its OpenLineage run.

    ``batch_id`` and ``on_failure`` override the batch's own id and the contract's gate
    (``dq quarantine release`` publishes a quarantined batch under its id, or nothing).

    ``samples``, ``allow_empty`` and ``progress`` are those of :func:`dqgate.check`;
    ``engine`` is ``duckdb`` (the checked batch is streamed into the store from the
    DuckDB view it was checked in) or ``spark`` (default for a Spark DataFrame: Spark
    checks it and its executors write it, see :mod:`dqgate.gate.spark_ingest`).

    Raises:
        ContractError, DataError, UsageError, StoreError: nothing could be decided;
            the store is left unchanged.
    """
    from dqgate.store.layout import dataset_layout

    c = as_contract(contract)
    on_spark = _on_spark(batch, engine)
    if engine not in (None, "duckdb") and not on_spark:
        raise UsageError(f"ingest runs its check on duckdb or spark (the checked rows are written into the store from it), not '{engine}'", param="engine")
    mode = mode or c.model.gate.publish
    if mode not in ("append", "replace"):
        raise UsageError(f"--mode must be append or replace, not '{mode}'", param="mode")
    layout = dataset_layout(store, c.dataset)  # validates the store path and dataset name early
    if on_spark:  # the same gate, with Spark checking and its executors writing (gate/spark_ingest.py)
        from dqgate.gate import spark_ingest

        return spark_ingest.ingest(c, batch, store, mode=mode, as_of=as_of, created_by=created_by, batch_id=batch_id,
                                   on_failure=on_failure, samples=samples, allow_empty=allow_empty, progress=progress)  # fmt: skip
    origin = None
    if _is_table_url(batch):  # a table: read once, so what is checked is what is published
        from dqgate.runners import postgres

        origin = postgres.parse_url(batch).shown
        batch = postgres.read_arrow(batch)
    if not isinstance(batch, (str, os.PathLike)):
        batch = arrow_table(batch)  # once: a LazyFrame or relation is not evaluated again by the check
    else:
        batch = resolve_path(os.fspath(batch), c.base_dir)  # where the check will read it
    schema = exact.schema_of(batch)
    if schema is not None:  # what Parquet cannot hold exactly is refused before anything is written
        refuse_inexact(schema, where=describe(batch))
    own_id = batch_id is None  # then the batch id names the bytes of the batch, and a page copy checks them
    with _staging(layout, batch, own_id) as staging, contextlib.closing(runner.connect()) as con:
        base_dir = c.base_dir
        rules = planned(c, store=store, base_dir=base_dir, as_of=as_of)  # drift against the store's latest version
        staged = staging.result() if staging is not None else None  # copied while the check was planned
        read = staged.plan.path if staged is not None else batch  # what the check reads (and a quarantine copies)
        batch_id = batch_id or (batch_name(staged.sha256, c.sha256) if staged is not None else batch_id_of(batch, contract_sha256=c.sha256))
        published = _published_in(store, c.dataset, batch_id) if layout.exists() else None
        # quarantine_rows publishes the kept rows before it writes report.json; a crash between
        # the two leaves a published batch with an unfinished quarantine entry, finished below
        unfinished = published is not None and quarantine.is_unfinished(store, c.dataset, batch_id)
        if published is not None and not unfinished:
            return IngestResult(batch_id, "already_published", c.dataset, version=published)
        if layout.exists() and quarantine.is_quarantined(store, c.dataset, batch_id):
            return IngestResult(batch_id, "already_quarantined", c.dataset)
        if staged is not None:
            origin = staged.source  # the report names the batch file, not its copy in the store
        renamed = contextlib.ExitStack()
        try:
            keys = scope.CheckKeys.of(rules)  # counted once, for the check and for the key index
            carried = scope.carried_by_check(c, rules, store, mode=mode)  # the check computes the profile's and state's aggregates too
            with _named_as(origin, read):
                first = runner.run(c, rules, read, as_of=as_of, base_dir=base_dir, con=con, samples=samples, allow_empty=allow_empty,
                                   progress=progress, keys=keys, ride=carried.ride)  # fmt: skip
            if origin is not None:  # the report names the table or file, not the copy of it that was read
                first = dataclasses.replace(first, source={**first.source, "uri": origin})
            renamed.enter_context(compiler.data_names(first.renamed))  # the rest compiles over the same view
            checked = with_history(first, rules, c, store=store)
            judged = scope.judge_view(c, rules, con, compiler.SOURCE_VIEW, checked, store, batch_id, mode=mode, as_of=as_of, published=published, profile=True,
                                     keys=keys, carried=carried)  # fmt: skip
            result = judged.result  # what the stamp will say: the snapshot's results (appends), else the batch's
            if result.status != "fail":
                if published is not None:
                    return IngestResult(batch_id, "already_published", c.dataset, version=published)
                try:
                    copy = staged if staged is not None else _page_copy(read)
                    data = None if copy is not None else exact.publishable(read, lambda: _reader(con, _all_rows()))
                    source_sha256 = batch_id[1:CONTENT_ID_LENGTH] if own_id else None
                    return _publish(c, con, judged, store, batch_id, mode, created_by, result.rows, data=data, copy=copy, source_sha256=source_sha256)
                except scope.SnapshotConflict as lost:  # a racer published keys or rows this batch collides with
                    judged, result = lost.judged, lost.judged.result
                    if staged is not None:  # its copy became the object this publish gave up: quarantine the batch's own bytes
                        read = batch
            policy = on_failure or c.model.gate.on_failure
            if policy == "fail":
                return IngestResult(batch_id, "rejected", c.dataset, result=result, messages=_notes(judged))
            if policy == "quarantine_rows":
                outcome = _quarantine_rows(c, rules, con, result, store, batch_id, mode, as_of, created_by, published, samples, judged=judged, batch=read)
                if outcome is not None:
                    return outcome
            outcome = _quarantine_batch(c, con, result, store, batch_id, note=judged.conflict, batch=read)
            return dataclasses.replace(outcome, messages=_notes(judged))
        finally:
            renamed.close()


def _staging(layout: Any, batch: Any, own_id: bool) -> contextlib.AbstractContextManager[Any]:
    """The batch file copied into the store for its check and publish (``store/page_copy.py``:
    ``staged``), or nothing (None): a batch with a given id, in memory, or not one plain Parquet file."""
    if not own_id or not isinstance(batch, str) or exact.single_file(batch) is None:
        return contextlib.nullcontext()
    from dqgate.store.page_copy import staged

    return staged(layout, batch)


@contextlib.contextmanager
def _named_as(origin: str | None, read: Any) -> Any:
    """A data error of the check names the batch file, not the copy of it that was read."""
    try:
        yield
    except DataError as exc:
        if origin is None or not isinstance(read, str) or read not in str(exc):
            raise
        raise DataError(str(exc).replace(read, origin), uri=origin, column=exc.column) from exc


def _on_spark(batch: Any, engine: str | None) -> bool:
    """Whether the ingest runs on Spark; its modules are imported only for a Spark batch (or
    ``engine="spark"``): every other ingest would pay for them at start-up."""
    if engine != "spark" and not type(batch).__module__.startswith("pyspark"):
        return False
    from dqgate.gate import spark_ingest

    return spark_ingest.spark_batch(batch, engine)


def _is_table_url(batch: Any) -> bool:
    """Whether ``batch`` names a PostgreSQL table (the runner is imported only for text with a scheme)."""
    if not isinstance(batch, str) or "://" not in batch:
        return False
    from dqgate.runners import postgres

    return postgres.is_url(batch)


def _notes(judged: scope.Judged) -> tuple[str, ...]:
    return tuple(judged.notes) + ((judged.conflict,) if judged.conflict else ())


def _reader(con: Any, query: exp.Expression) -> Any:
    return con.sql(query.sql("duckdb")).to_arrow_reader(256 * 1024)


def _all_rows() -> exp.Expression:
    return exp.select(exp.Star()).from_(exp.to_table(compiler.SOURCE_VIEW, quoted=True))


def _page_copy(batch: Any) -> Any:
    """How to publish ``batch`` by copying its Parquet pages (``store/page_copy.py``), or None:
    then it is re-encoded from its exact rows (a batch that is not one Parquet file, or
    whose file has something not every reader of a snapshot reads the same way)."""
    from dqgate.store.page_copy import plan_copy

    path = exact.single_file(batch)
    plan = plan_copy(path) if path is not None else None
    return plan if plan is not None and not isinstance(plan, str) else None


def _publish(c: Any, con: Any, judged: scope.Judged, store: str, batch_id: str, mode: str, created_by: str | None, rows: int,
             data: Any = None, copy: Any = None, source_sha256: str | None = None) -> IngestResult:  # fmt: skip
    """Write the batch's object (its pages copied when ``copy`` says how, else encoded from
    ``data`` or the checked view) and the snapshot's state, then the manifest, all under the
    publisher lease (gc waits until they are named); a racer that wins the version
    re-judges the batch against it (``scope.rejudge``) before retrying."""
    import pyarrow as pa

    from dqgate.store.layout import dataset_layout
    from dqgate.store.lease import publisher_lease
    from dqgate.store.objects import write_object
    from dqgate.store.page_copy import copy_object
    from dqgate.store.publish import publish

    stamp = {"batch_id": batch_id, "contract_sha256": c.sha256, "status": judged.result.status}
    with publisher_lease(dataset_layout(store, c.dataset)):
        if copy is not None:
            info = copy_object(store, c.dataset, copy, stamp=stamp, source_sha256=source_sha256)
        else:
            info = write_object(store, c.dataset, data if data is not None else _reader(con, _all_rows()), stamp=stamp)
        if not isinstance(data, pa.Table):
            data = None  # a stream is spent: profile the checked view
        contract = {"dataset": c.dataset, "version": c.version, "sha256": c.sha256}
        profile = _profile(con, store, c, mode, data, judged.source.state.profile if judged.source else None)
        current = [judged]

        def revalidate(parent: int | None) -> dict[str, Any]:
            current[0] = scope.rejudge(c, current[0], store, parent, mode=mode)
            return current[0].checks_json(scope.keep(store, c.dataset, current[0]))

        checks = judged.checks_json(scope.keep(store, c.dataset, judged))
        manifest = publish(store, c.dataset, [info], mode=mode, contract=contract, checks=checks, batch_id=batch_id,
                           created_by=created_by, profile=profile, revalidate=revalidate, judged_on=judged.parent)  # type: ignore[arg-type]  # fmt: skip
    return IngestResult(batch_id, "published", c.dataset, version=manifest.version, rows_published=info.rows,
                        result=current[0].result, messages=tuple(current[0].notes))  # fmt: skip


def _profile(con: Any, store: str, c: Any, mode: str, data: Any, batch: Any = None) -> dict[str, Any]:
    """The drift reference profile of the version being published (see :mod:`dqgate.runners.reference`);
    ``batch``: the published rows' own profile, computed when they were judged."""
    from dqgate.runners.reference import snapshot_profile

    view = compiler.SOURCE_VIEW
    if data is not None:  # the kept rows of quarantine_rows, not the whole checked batch
        view = "__dq_published"
        con.register(view, duckdb_readable(data))
    return snapshot_profile(con, view, store, c, mode=mode, batch=batch)


def _quarantine_batch(c: Any, con: Any, result: RunResult, store: str, batch_id: str, *, note: str | None = None, batch: Any = None) -> IngestResult:
    data = _reader(con, _all_rows()) if batch is None else exact.publishable(batch, lambda: _reader(con, _all_rows()))
    path, rows = quarantine.write_data(store, c.dataset, batch_id, "batch.parquet", data)
    extra = {"note": note} if note else {}
    quarantine.write_report(store, c.dataset, batch_id, _report(result, batch_id, "quarantined_batch", rows=rows, **extra))
    return IngestResult(batch_id, "quarantined_batch", c.dataset, rows_quarantined=rows, result=result, quarantine_path=os.path.dirname(path))


def _quarantine_rows(
    c: Any, rules: tuple[n.Rule, ...], con: Any, result: RunResult, store: str, batch_id: str,
    mode: str, as_of: dt.datetime | None, created_by: str | None, published: int | None = None, samples: int = 5,
    judged: scope.Judged | None = None, *, batch: Any = None,
) -> IngestResult | None:  # fmt: skip
    """Split off failing rows, and rows whose keys are already published (appends); publish the
    rest if the whole contract passes over the snapshot it makes. None: quarantine all."""
    row_rules = tuple(r for r in rules if isinstance(r, n.RowRule) and r.severity == "error")
    if not row_rules:
        return None
    described = con.execute(f'DESCRIBE SELECT * FROM "{compiler.SOURCE_VIEW}"').fetchall()
    types = {compiler.data_column(row[0]): row[1] for row in described}  # the data's names ("A", not DuckDB's "A_1")
    flagged, ids = compiler.row_flags(row_rules, types=types, native=native.load(con))
    flags_view = "__dq_flags"
    con.execute(exp.Create(this=exp.to_table(flags_view, quoted=True), kind="VIEW", replace=True,
                           properties=exp.Properties(expressions=[exp.TemporaryProperty()]), expression=flagged).sql("duckdb"))  # fmt: skip
    flag_columns = [compiler.flag_column(k) for k in range(len(ids))]
    any_flag = exp.or_(*[exp.column(f, quoted=True) for f in flag_columns]) if len(ids) > 1 else exp.column(flag_columns[0], quoted=True)
    kept_sql = exp.select(*[exp.alias_(compiler.col(name), name, quoted=True) for name in types]).from_(exp.to_table(flags_view, quoted=True)).where(exp.Not(this=exp.Paren(this=any_flag.copy())))
    whole = exact.table(batch) if batch is not None else None
    bad_data: Any = None
    if whole is not None:  # split the batch's exact rows by the flags, matched by row number
        kept, bad_data = split_exact_rows(con, whole, row_rules, types, ids, contract=c)
    else:
        kept = con.sql(kept_sql.sql("duckdb")).to_arrow_table()
    if bad_data is None:
        bad_data = con.sql(exp.select(exp.Star()).from_(exp.to_table(flags_view, quoted=True)).where(any_flag).sql("duckdb")).to_arrow_table()
        named = {**dict(zip(flag_columns, ids))}  # flag columns take their rule's id, data columns their own name
        bad_data = bad_data.rename_columns([named.get(c) or compiler.data_column(c) for c in bad_data.schema.names])
    base = bad_data
    for _ in range(RACE_ATTEMPTS):  # a racer that publishes colliding keys first: split again, retry
        kept_now, kept_judged, colliding, note = _judge_kept(c, rules, con, kept, store, batch_id, mode, as_of, ids, published, samples)
        if kept_judged.status == "fail" or kept_now.num_rows == 0:
            return None
        bad = base
        if colliding is not None:
            import pyarrow as pa

            bad = bad.append_column(scope.COLLIDES_WITH, pa.nulls(bad.num_rows, pa.int64()))
            bad = pa.concat_tables([bad, colliding.cast(bad.schema)])
        path, bad_rows = quarantine.write_data(store, c.dataset, batch_id, "rows.parquet", bad, rule_columns=ids)
        if published is not None:  # a crashed run published the kept rows and only the report is missing
            break
        try:
            published = _publish(c, con, kept_judged, store, batch_id, mode, created_by, kept_now.num_rows, data=kept_now).version
            break
        except scope.SnapshotConflict:
            continue
    else:
        return None
    kept = kept_now
    kept_uri = f"{result.source.get('uri')}: the {kept.num_rows:,} rows kept"
    recheck = dataclasses.replace(kept_judged.result, source={**kept_judged.result.source, "uri": kept_uri})
    extra = {"note": note} if note else {}
    report = _report(result, batch_id, "quarantined_rows", rows=bad_rows, rule_columns=list(ids),
                     published_version=published, rows_published=kept.num_rows, **extra)  # fmt: skip
    quarantine.write_report(store, c.dataset, batch_id, report)
    return IngestResult(
        batch_id, "quarantined_rows", c.dataset, version=published, rows_published=kept.num_rows,
        rows_quarantined=bad_rows, result=result, quarantine_path=os.path.dirname(path), recheck=recheck,
        messages=tuple(kept_judged.notes) + ((note,) if note else ()),
    )  # fmt: skip


def _judge_kept(
    c: Any, rules: tuple[n.Rule, ...], con: Any, kept: Any, store: str, batch_id: str, mode: str,
    as_of: dt.datetime | None, ids: tuple[str, ...], published: int | None, samples: int = 5,
) -> tuple[Any, scope.Judged, Any, str | None]:  # fmt: skip
    """The kept rows' snapshot judgement; rows whose keys collide with published ones are split
    off first (returned third, with the rule and the version they collide with, and said fourth)."""
    base_dir = c.base_dir
    colliding, note = None, None
    for _ in range(2):
        recheck = with_history(runner.run(c, rules, kept, as_of=as_of, allow_empty=True, base_dir=base_dir, samples=samples), rules, c, store=store)
        con.register("__dq_kept", duckdb_readable(kept))  # decimal256 and other types DuckDB reads only converted
        judged = scope.judge_view(c, rules, con, "__dq_kept", recheck, store, batch_id, mode=mode, as_of=as_of, published=published, profile=True)
        if colliding is not None or not scope.blocking_keys(judged):
            return kept, judged, colliding, note
        note = judged.conflict
        colliding, kept = scope.split_colliding(kept, judged, ids)
    raise AssertionError("unreachable")


_ROW = "__dq_row"


def split_exact_rows(con: Any, whole: Any, row_rules: tuple[n.Rule, ...], types: dict[str, str], ids: tuple[str, ...],
                     contract: Any = None) -> tuple[Any, Any]:  # fmt: skip
    """(kept rows, failing rows + one flag column per rule) of the batch's exact Arrow rows.

    The flags are computed over the rows numbered in Arrow, and read back ordered by
    that number: a uniqueness flag is a window, which does not keep the scan's order.
    With ``contract``, they see the rows as the check did (its ``coerce:`` and ``nan:``:
    a NaN is NULL to a range rule), while the rows themselves stay exact.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from dqgate.runners.sources import adjustments

    numbered = duckdb_readable(whole).append_column(_ROW, pa.array(np.arange(whole.num_rows, dtype=np.int64)))
    con.register("__dq_numbered", numbered)
    source = "__dq_numbered"
    if contract is not None:
        described = con.execute('DESCRIBE SELECT * FROM "__dq_numbered"').fetchall()
        adjust = adjustments({compiler.data_column(r[0]): r[1] for r in described if r[0] != _ROW}, contract)
        if adjust:
            source = "__dq_numbered_read"
            read = exp.Create(this=exp.to_table(source, quoted=True), kind="VIEW", replace=True,
                              properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
                              expression=adjust.select_from(exp.to_table("__dq_numbered", quoted=True)))  # fmt: skip
            con.execute(read.sql("duckdb"))
    flagged, _ = compiler.row_flags(row_rules, types={**types, _ROW: "BIGINT"}, source=source, native=native.load(con))
    row = exp.column(_ROW, quoted=True)
    flag_columns = [compiler.flag_column(k) for k in range(len(ids))]
    query = exp.select(row, *[exp.column(f, quoted=True) for f in flag_columns]).from_(exp.Subquery(this=flagged, alias=exp.TableAlias(this=exp.to_identifier("f")))).order_by(row.copy())
    flags = con.sql(query.sql("duckdb")).to_arrow_table()
    flags = flags.rename_columns([_ROW, *ids])  # each flag under its rule's id, exactly
    con.unregister("__dq_numbered")
    failing = flags.column(ids[0])
    for i in ids[1:]:
        failing = pc.or_(failing, flags.column(i))
    bad = whole.filter(failing)
    for i in ids:
        bad = bad.append_column(i, flags.column(i).filter(failing))
    return whole.filter(pc.invert(failing)), bad
