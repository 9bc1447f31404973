"""What one ingest did with one batch, and what a retried ingest looks up first.

Shared by the ingest on DuckDB (``gate/ingest.py``) and on Spark
(``gate/spark_ingest.py``), so both report and find batches the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dqgate.runners.results import RunResult

CONTENT_ID_LENGTH = 41  # "b" + 40 hex digits: the part of a batch id that names its bytes


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
    recheck: RunResult | None = None  # quarantine_rows: the check of the rows that were published
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
            "recheck": self.recheck.to_json() if self.recheck else None,
            "notes": list(self.messages),
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


def published_in(store: str, dataset: str, batch_id: str) -> int | None:
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


def report(result: RunResult, batch_id: str, outcome: str, **extra: Any) -> dict[str, Any]:
    """The result JSON of the check (what `dq check --format json` prints) plus what the gate did."""
    return {**result.to_json(), "batch_id": batch_id, "outcome": outcome, **extra}
