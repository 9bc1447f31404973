"""Write–audit–publish on Spark: the gate decides on Spark's check, the executors write the data.

``dq ingest --engine spark`` and ``dqgate.ingest(spark_df, ...)`` follow the DuckDB
ingest (``gate/ingest.py``) step by step, with the same decision code and store code:

1. The batch id: files by their bytes, as on DuckDB (the same file gets the same id on
   either engine); a Spark DataFrame by a hash of its rows computed in the executors
   (``runners.spark.content_id``: row order does not matter, nothing is collected).
2. One check on Spark (``runners/spark.py``), judged by ``gate/snapshot_scope.py``.
3. The gate:
   * pass or warn: each partition of the batch is written, in the executors, as one
     content-addressed, stamped object (``store.objects.write_object``, the DuckDB
     path's writer); the driver receives one small record per partition and publishes
     them as one version (``store.publish.publish``: the audit re-reads each object,
     its footer stamp and its per-segment hashes, exactly as for one object);
   * ``quarantine_batch``: the partitions are written to
     ``quarantine/<batch-id>/batch.parquet/part-*.parquet``, then ``report.json``;
   * ``quarantine_rows``: the row flags are computed in Spark (the compiler's
     ``row_flags`` in Spark SQL); failing rows go to ``rows.parquet/part-*.parquet``
     with one reason column per rule, the kept rows are checked again and published
     from their partitions when that check passes (else the whole batch is
     quarantined);
   * ``fail``: nothing is written.

The driver holds the publisher lease from before the first object is written until
the manifest exists, so gc cannot take objects that are written but not yet named.
The executors write into the store's folder: on a cluster it must be a filesystem
every executor and the driver see at the same path (publishing needs a local store).

What an ingest on Spark does not do (yet), refused or said:

* on ``publish: append`` onto a published version, rules judged over the snapshot
  (parent ∪ batch) that need more than the check's counts: uniqueness (the key
  index), dataset metrics and freshness (mergeable state), and rescanned rules.
  They are refused with one line naming the rule, before anything runs; row rules
  are merged from the check's counts as on DuckDB, and batch-scope rules need nothing.
  A version published from Spark keeps the row rules' state only: a later append on
  DuckDB rebuilds the rest from that version's files (and says so);
* the version keeps no drift profile: drift against it says it has none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Any

from dqgate.errors import UnsupportedRule
from dqgate.gate import quarantine
from dqgate.gate import snapshot_scope as scope
from dqgate.gate.batch_id import batch_id_of
from dqgate.gate.outcome import IngestResult, published_in, report
from dqgate.ir import nodes as n
from dqgate.runners import spark as spark_runner
from dqgate.runners.check import planned, with_history
from dqgate.runners.results import Progress, RunResult
from dqgate.store.exact import refuse_inexact

OBJECT_RECORD = "part long, path string, sha256 string, rows long, bytes long"
QUARANTINE_RECORD = "part long, path string, rows long"
ENGINE = spark_runner.ENGINE


def ingest(
    c: Any, batch: Any, store: str, *, mode: str, as_of: dt.datetime | None, created_by: str | None, batch_id: str | None,
    on_failure: str | None, samples: int, allow_empty: bool, progress: Progress | None,
) -> IngestResult:  # fmt: skip
    """Check ``batch`` (a Spark DataFrame or files Spark reads) on Spark and publish,
    quarantine or refuse it; the arguments are those of ``gate.ingest.ingest``.

    Raises:
        UnsupportedRule: a rule Spark cannot check, or judge over the snapshot on append.
        ContractError, DataError, UsageError, EngineError, StoreError: nothing was decided;
            the store is left unchanged.
    """
    spark = batch.sparkSession if spark_runner.is_spark_frame(batch) else spark_runner.session()
    declared = {name: spec.type for name, spec in c.columns.items() if spec.type}
    raw, source = spark_runner.frame(spark, batch, base_dir=c.base_dir, declared=declared)
    refuse_inexact(_arrow_schema(raw), where=source.uri)
    rules = planned(c, store=store, base_dir=c.base_dir, as_of=as_of)
    with spark_runner.duckdb_semantics(spark):
        _, _, types = spark_runner.prepare(spark, c, raw)  # the schema check, before anything runs
        if batch_id is None:
            # files by their bytes, as on DuckDB (one id per file, either engine); a DataFrame by its rows
            batch_id = batch_id_of(source.uri, contract_sha256=c.sha256) if source.kind != "spark" else "b" + spark_runner.content_id(raw) + c.sha256[:8]
        layout_exists = _dataset_exists(store, c.dataset)
        published = published_in(store, c.dataset, batch_id) if layout_exists else None
        unfinished = published is not None and quarantine.is_unfinished(store, c.dataset, batch_id)
        if published is not None and not unfinished:
            return IngestResult(batch_id, "already_published", c.dataset, version=published)
        if layout_exists and quarantine.is_quarantined(store, c.dataset, batch_id):
            return IngestResult(batch_id, "already_quarantined", c.dataset)
        parent = _parent(store, c.dataset, mode, published)
        refuse_snapshot_rules(rules, types, parent, c.dataset)
        first = spark_runner.run(c, rules, raw, as_of=as_of, samples=samples, allow_empty=allow_empty, base_dir=c.base_dir, progress=progress, spark=spark)
        first = dataclasses.replace(first, source={**first.source, "uri": source.uri})
        checked = with_history(first, rules, c, store=store)
        judged = _judge(c, rules, checked, types, store, batch_id, mode, parent, as_of)
        result = judged.result
        if result.status != "fail":
            if published is not None:
                return IngestResult(batch_id, "already_published", c.dataset, version=published)
            try:
                return _publish(c, raw, judged, store, batch_id, mode, created_by, types)
            except scope.SnapshotConflict as lost:  # a racer's version makes the snapshot fail
                judged, result = lost.judged, lost.judged.result
        policy = on_failure or c.model.gate.on_failure
        notes = tuple(judged.notes) + ((judged.conflict,) if judged.conflict else ())
        if policy == "fail":
            return IngestResult(batch_id, "rejected", c.dataset, result=result, messages=notes)
        if policy == "quarantine_rows":
            outcome = _quarantine_rows(spark, c, rules, raw, result, store, batch_id, mode, as_of, created_by, published, samples, types, parent)
            if outcome is not None:
                return outcome
        return dataclasses.replace(_quarantine_batch(c, raw, result, store, batch_id, note=judged.conflict), messages=notes)


def _arrow_schema(df: Any) -> Any:
    """The Arrow schema Spark hands the executors' writers (what the snapshot will hold)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(df.schema)


def _dataset_exists(store: str, dataset: str) -> bool:
    from dqgate.store.layout import dataset_layout

    return dataset_layout(store, dataset).exists()


def _parent(store: str, dataset: str, mode: str, published: int | None) -> Any:
    """The version an append is judged over (None: the snapshot is the batch alone)."""
    from dqgate.store.publish import load_manifest

    if mode != "append":
        return None
    if published is None:
        return scope.latest(store, dataset)
    before = load_manifest(store, dataset, published).parent
    return load_manifest(store, dataset, before) if before is not None else None


def needs_parent(rule: n.Rule, types: dict[str, str]) -> bool:
    """Whether judging ``rule`` over parent ∪ batch needs more than the check's own counts."""
    if scope.how(rule, types) == "batch" or isinstance(rule, n.StrictSchema):
        return False
    return not isinstance(rule, n.RowRule) or isinstance(rule, n.Unique)


def refuse_snapshot_rules(rules: tuple[n.Rule, ...], types: dict[str, str], parent: Any, dataset: str) -> None:
    """Refuse, naming the first one, the rules an append onto ``parent`` would judge over the
    snapshot with state an ingest on Spark does not compute (module docstring)."""
    if parent is None:
        return
    for rule in rules:
        if needs_parent(rule, types):
            why = (
                f"on publish: append it is judged over the snapshot ({dataset}@{parent.version} + this batch), "
                "which an ingest on Spark does not compute yet; ingest with --engine duckdb, "
                "publish with --mode replace, or give the rule scope: batch"
            )
            raise UnsupportedRule(ENGINE, rule.id, type(rule).__name__, why)


class _CheckedOnSpark(scope.Batch):
    """The batch as the snapshot judgement sees it: its check and its row rules' counts; its
    rows stay in Spark (refuse_snapshot_rules keeps every rule that would read them out)."""

    def arrow(self) -> Any:  # pragma: no cover - refused before judging
        raise AssertionError("an ingest on Spark never reads the batch's rows into the driver")


def _judge(c: Any, rules: tuple[n.Rule, ...], checked: RunResult, types: dict[str, str], store: str, batch_id: str,
           mode: str, parent: Any, as_of: dt.datetime | None) -> scope.Judged:  # fmt: skip
    by_id = {r.id: r for r in checked.checks}
    state = {}
    for rule in rules:
        if isinstance(rule, n.RowRule) and not isinstance(rule, n.Unique) and scope.how(rule, types) == "merged":
            got = scope.row_state(rule, by_id.get(rule.id))
            if got is not None:
                state[rule.id] = got
    batch = _CheckedOnSpark(None, "", checked, types, scope.BatchState(state, {}, rows=checked.rows), batch_id, as_of, c.base_dir)
    return scope.judge(c, rules, batch, store, parent, mode=mode)


def _write_object(store: str, dataset: str, stamp: dict[str, Any], rows: Any, part: int) -> dict[str, Any]:
    """In an executor: one partition as one stamped object (its number in the stamp keeps two
    partitions of equal rows two objects)."""
    from dqgate.store.objects import write_object

    info = write_object(store, dataset, rows, stamp={**stamp, "part": part})
    return {"part": part, "path": info.path, "sha256": info.sha256, "rows": info.rows, "bytes": info.bytes}


def _write_quarantined(store: str, dataset: str, batch_id: str, name: str, renames: tuple[tuple[str, str], ...],
                       rule_columns: tuple[str, ...], rows: Any, part: int) -> dict[str, Any]:  # fmt: skip
    """In an executor: one partition's rows as one part file of a quarantine entry, the flag
    columns named by their rules' ids (which Spark, case-insensitive, could not hold)."""
    if renames:
        import pyarrow as pa

        names = dict(renames)
        schema = pa.schema([f.with_name(names.get(f.name, f.name)) for f in rows.schema])
        rows = pa.RecordBatchReader.from_batches(schema, (pa.RecordBatch.from_arrays(b.columns, schema=schema) for b in rows))
    path, count = quarantine.write_part(store, dataset, batch_id, name, part, rows, rule_columns=rule_columns)
    return {"part": part, "path": path, "rows": count}


def _publish(c: Any, df: Any, judged: scope.Judged, store: str, batch_id: str, mode: str, created_by: str | None,
             types: dict[str, str]) -> IngestResult:  # fmt: skip
    """Write the partitions as objects in the executors, then publish them as one version."""
    from dqgate.store.layout import dataset_layout
    from dqgate.store.lease import publisher_lease
    from dqgate.store.objects import ObjectInfo, write_object
    from dqgate.store.publish import load_manifest, publish

    stamp = {"batch_id": batch_id, "contract_sha256": c.sha256, "status": judged.result.status}
    with publisher_lease(dataset_layout(store, c.dataset)):
        records = spark_runner.each_partition(df, functools.partial(_write_object, store, c.dataset, stamp), OBJECT_RECORD)
        infos = [ObjectInfo(r["path"], r["sha256"], r["rows"], r["bytes"]) for r in sorted(records, key=lambda r: r["part"])]
        if not infos:  # no rows at all (allow_empty): one empty object keeps the schema
            infos = [write_object(store, c.dataset, df.limit(0).toArrow(), stamp=stamp)]
        current = [judged]

        def revalidate(parent: int | None) -> dict[str, Any]:
            manifest = load_manifest(store, c.dataset, parent) if parent is not None else None
            refuse_snapshot_rules(current[0].rules, types, manifest, c.dataset)
            current[0] = scope.rejudge(c, current[0], store, parent, mode=mode)
            return current[0].checks_json(scope.keep(store, c.dataset, current[0]))

        checks = judged.checks_json(scope.keep(store, c.dataset, judged))
        contract = {"dataset": c.dataset, "version": c.version, "sha256": c.sha256}
        manifest = publish(store, c.dataset, infos, mode=mode, contract=contract, checks=checks, batch_id=batch_id,  # type: ignore[arg-type]
                           created_by=created_by, profile=None, revalidate=revalidate, judged_on=judged.parent)  # fmt: skip
    return IngestResult(batch_id, "published", c.dataset, version=manifest.version, rows_published=sum(i.rows for i in infos),
                        result=current[0].result, messages=tuple(current[0].notes))  # fmt: skip


def _quarantine(df: Any, store: str, dataset: str, batch_id: str, name: str, *, renames: tuple[tuple[str, str], ...] = (),
                rule_columns: tuple[str, ...] = ()) -> int:  # fmt: skip
    """Write ``df``'s partitions into the quarantine entry's ``name`` folder; its rows."""
    quarantine.clear_part_folder(store, dataset, batch_id, name)  # parts a crashed run left would be read as rows
    write = functools.partial(_write_quarantined, store, dataset, batch_id, name, renames, rule_columns)
    records = spark_runner.each_partition(df, write, QUARANTINE_RECORD)
    if not records:  # nothing failed in any partition: one empty part keeps the schema
        records = [write(df.limit(0).toArrow(), 0)]
    return sum(r["rows"] for r in records)


def _quarantine_batch(c: Any, df: Any, result: RunResult, store: str, batch_id: str, *, note: str | None = None) -> IngestResult:
    rows = _quarantine(df, store, c.dataset, batch_id, "batch.parquet")
    extra = {"note": note} if note else {}
    quarantine.write_report(store, c.dataset, batch_id, report(result, batch_id, "quarantined_batch", rows=rows, **extra))
    folder = quarantine.quarantine_dir(store, c.dataset, batch_id)
    return IngestResult(batch_id, "quarantined_batch", c.dataset, rows_quarantined=rows, result=result, quarantine_path=folder)


def _quarantine_rows(
    spark: Any, c: Any, rules: tuple[n.Rule, ...], raw: Any, result: RunResult, store: str, batch_id: str, mode: str,
    as_of: dt.datetime | None, created_by: str | None, published: int | None, samples: int, types: dict[str, str], parent: Any,
) -> IngestResult | None:  # fmt: skip
    """Split off the rows failing an error-severity row rule (in Spark) and publish the rest
    if the whole contract passes them. None: quarantine the whole batch."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    row_rules = tuple(r for r in rules if isinstance(r, n.RowRule) and r.severity == "error")
    if not row_rules:
        return None
    flagged, ids, flags = spark_runner.flagged(spark, c, raw, row_rules)
    flagged = flagged.persist(StorageLevel.MEMORY_AND_DISK)  # split, re-checked and written: computed once
    try:
        failing = functools.reduce(lambda a, b: a | b, [F.col(f) for f in flags])
        kept = flagged.where(~failing).select(*[F.col(f"`{name.replace('`', '``')}`") for name in raw.columns])
        recheck = spark_runner.run(c, rules, kept, as_of=as_of, samples=samples, allow_empty=True, base_dir=c.base_dir, spark=spark)
        recheck = with_history(recheck, rules, c, store=store)
        kept_judged = _judge(c, rules, recheck, types, store, batch_id, mode, parent, as_of)
        if kept_judged.status == "fail" or recheck.rows == 0:
            return None
        bad_rows = _quarantine(flagged.where(failing), store, c.dataset, batch_id, "rows.parquet",
                               renames=tuple(zip(flags, ids)), rule_columns=ids)  # fmt: skip
        rows_published, notes = recheck.rows, tuple(kept_judged.notes)
        if published is None:  # else: a crashed run published the kept rows and only the report is missing
            try:
                done = _publish(c, kept, kept_judged, store, batch_id, mode, created_by, types)
            except scope.SnapshotConflict:
                return None
            published, rows_published, notes = done.version, done.rows_published, done.messages
    finally:
        flagged.unpersist()
    kept_uri = f"{result.source.get('uri')}: the {rows_published:,} rows kept"
    rechecked = dataclasses.replace(kept_judged.result, source={**kept_judged.result.source, "uri": kept_uri})
    extra = report(result, batch_id, "quarantined_rows", rows=bad_rows, rule_columns=list(ids), published_version=published,
                   rows_published=rows_published)  # fmt: skip
    quarantine.write_report(store, c.dataset, batch_id, extra)
    return IngestResult(
        batch_id, "quarantined_rows", c.dataset, version=published, rows_published=rows_published, rows_quarantined=bad_rows,
        result=result, quarantine_path=quarantine.quarantine_dir(store, c.dataset, batch_id), recheck=rechecked,
        messages=notes,
    )  # fmt: skip


def spark_batch(batch: Any, engine: str | None) -> bool:
    """Whether an ingest of ``batch`` runs on Spark: asked for, or a Spark DataFrame."""
    return engine == ENGINE or spark_runner.is_spark_frame(batch)

