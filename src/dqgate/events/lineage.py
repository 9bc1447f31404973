"""OpenLineage run events for checks, ingests and snapshot reads (``openlineage-python``).

Off unless configured: ``DQ_OPENLINEAGE_URL`` (an OpenLineage HTTP endpoint such as
Marquez; ``DQ_OPENLINEAGE_ENDPOINT`` overrides ``api/v1/lineage``) or
``DQ_OPENLINEAGE_FILE`` (append one JSON event per line to a file). Each run sends a
START and a COMPLETE event. A checked batch is an input dataset carrying the
``dataQualityAssertions`` facet (one assertion per check, ``success`` when it passed)
and the ``dataQualityMetrics`` facet (row count; null and distinct counts, min, max,
sum of columns the contract measures); an ingest adds the published snapshot as an
output with its version; a read (``open_snapshot``) is a run of the consumer with the
snapshot version as input.

This module takes plain values (the result JSON, names, versions), so any stage may
call it: it sits on floor 1. Sending is best effort: a failure is one logged warning
and never changes a check, an ingest or a read.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import uuid
from typing import Any

ENV_URL = "DQ_OPENLINEAGE_URL"
ENV_ENDPOINT = "DQ_OPENLINEAGE_ENDPOINT"
ENV_FILE = "DQ_OPENLINEAGE_FILE"
ENV_NAMESPACE = "DQ_OPENLINEAGE_NAMESPACE"
PRODUCER = "https://github.com/dqgate/dqgate"

_log = logging.getLogger("dqgate.lineage")
_METRIC = re.compile(r"^(null_count|distinct_count|min|max|sum)\((\w+)\)$")
_FIELDS = {"null_count": "nullCount", "distinct_count": "distinctCount", "min": "min", "max": "max", "sum": "sum"}


def enabled() -> bool:
    return bool(os.environ.get(ENV_URL) or os.environ.get(ENV_FILE))


def _client() -> Any:
    from openlineage.client import OpenLineageClient

    if os.environ.get(ENV_FILE):
        from openlineage.client.transport.file import FileConfig, FileTransport

        return OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=os.environ[ENV_FILE], append=True)))
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    config = HttpConfig(
        url=os.environ[ENV_URL], endpoint=os.environ.get(ENV_ENDPOINT, "api/v1/lineage"), timeout=5.0,
        retry={"total": 2, "backoff_factor": 0.2, "status_forcelist": [500, 502, 503, 504], "allowed_methods": ["POST"]},
    )  # fmt: skip
    return OpenLineageClient(transport=HttpTransport(config))


def _namespace() -> str:
    return os.environ.get(ENV_NAMESPACE, "dqgate")


def _file_dataset(uri: str) -> tuple[str, str]:
    """OpenLineage's naming for a local file or folder: namespace ``file``, the absolute path."""
    if "://" in uri:
        scheme, _, rest = uri.partition("://")
        host, _, path = rest.partition("/")
        return f"{scheme}://{host}", "/" + path
    return "file", os.path.abspath(uri)


def quality_facets(result: dict[str, Any]) -> dict[str, Any]:
    """The ``dataQualityAssertions`` and ``dataQualityMetrics`` input facets of one result JSON."""
    from openlineage.client.generated.data_quality_assertions_dataset import Assertion, DataQualityAssertionsDatasetFacet
    from openlineage.client.generated.data_quality_metrics_input_dataset import ColumnMetrics, DataQualityMetricsInputDatasetFacet

    assertions = []
    columns: dict[str, dict[str, Any]] = {}
    for check in result.get("checks") or []:
        cols = check.get("columns") or []
        observed = check.get("observed")
        assertions.append(Assertion(
            assertion=str(check.get("rule")), success=check.get("status") == "pass",
            column=cols[0] if len(cols) == 1 else None, severity=check.get("severity"), name=check.get("id"),
            expected=json.dumps(check.get("threshold"), default=str) if check.get("threshold") else None,
            actual=None if observed is None else json.dumps(observed, default=str),
        ))  # fmt: skip
        m = _METRIC.match(str(check.get("id")))
        if m and isinstance(observed, (int, float)) and not isinstance(observed, bool):
            columns.setdefault(m.group(2), {})[_FIELDS[m.group(1)]] = observed
        elif check.get("rule") == "required" and len(cols) == 1 and check.get("failed_rows") is not None and not check.get("threshold", {}).get("where"):
            columns.setdefault(cols[0], {})["nullCount"] = int(check["failed_rows"])
    metrics = {
        name: ColumnMetrics(**{k: (int(v) if k in ("nullCount", "distinctCount") else float(v)) for k, v in values.items()})
        for name, values in columns.items()
    }
    rows = (result.get("source") or {}).get("rows")
    return {
        "dataQualityAssertions": DataQualityAssertionsDatasetFacet(assertions=assertions),
        "dataQualityMetrics": DataQualityMetricsInputDatasetFacet(columnMetrics=metrics, rowCount=None if rows is None else int(rows)),
    }


def _run(job: str, inputs: list[Any], outputs: list[Any], *, failed: bool = False) -> None:
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

    client = _client()
    run = Run(runId=str(uuid.uuid4()))
    job_ref = Job(namespace=_namespace(), name=job)
    for state in (RunState.START, RunState.FAIL if failed else RunState.COMPLETE):
        now = dt.datetime.now(dt.timezone.utc).isoformat()
        client.emit(RunEvent(eventType=state, eventTime=now, run=run, job=job_ref, producer=PRODUCER,
                             inputs=inputs if state != RunState.START else [], outputs=outputs if state != RunState.START else []))  # fmt: skip


def _safely(what: str, send: Any) -> None:
    if not enabled():
        return
    try:
        send()
    except Exception as exc:  # noqa: BLE001 - lineage is never allowed to break the data path
        _log.warning("dq: warning: could not send the OpenLineage event of %s (%s: %s)", what, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")


def emit_check(result: dict[str, Any]) -> None:
    """A check run: the checked data as input with its quality facets."""

    def send() -> None:
        from openlineage.client.event_v2 import InputDataset

        ns, name = _file_dataset(str((result.get("source") or {}).get("uri") or "<in-memory>"))
        dataset = (result.get("contract") or {}).get("dataset", "data")
        _run(f"dqgate.check.{dataset}", [InputDataset(namespace=ns, name=name, inputFacets=quality_facets(result))], [])

    _safely("check", send)


def emit_ingest(result: dict[str, Any] | None, *, store: str, dataset: str, version: int | None, batch_uri: str, outcome: str) -> None:
    """An ingest run: the batch as input (with its quality facets), the snapshot version as output when published."""

    def send() -> None:
        from openlineage.client.event_v2 import InputDataset, OutputDataset
        from openlineage.client.generated.dataset_version_dataset import DatasetVersionDatasetFacet

        ns, name = _file_dataset(batch_uri)
        inputs = [InputDataset(namespace=ns, name=name, inputFacets=quality_facets(result) if result else {})]
        outputs = []
        if version is not None:
            out_ns, out_name = _file_dataset(os.path.join(store, dataset))
            outputs.append(OutputDataset(namespace=out_ns, name=out_name, facets={"version": DatasetVersionDatasetFacet(datasetVersion=str(version))}))
        _run(f"dqgate.ingest.{dataset}", inputs, outputs, failed=outcome == "rejected")

    _safely("ingest", send)


def emit_read(*, store: str, dataset: str, version: int, consumer: str) -> None:
    """A snapshot read: the consumer's run, with the snapshot version as its input."""

    def send() -> None:
        from openlineage.client.event_v2 import InputDataset
        from openlineage.client.generated.dataset_version_dataset import DatasetVersionDatasetFacet

        ns, name = _file_dataset(os.path.join(store, dataset))
        facets = {"version": DatasetVersionDatasetFacet(datasetVersion=str(version))}
        _run(consumer, [InputDataset(namespace=ns, name=name, facets=facets)], [])

    _safely("open_snapshot", send)
