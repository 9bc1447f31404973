"""OpenLineage run events of check, ingest and open_snapshot, received by a local HTTP server
(and a file transport), each rebuilt with openlineage-python's own models and compared."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated.data_quality_assertions_dataset import Assertion, DataQualityAssertionsDatasetFacet
from openlineage.client.generated.data_quality_metrics_input_dataset import ColumnMetrics, DataQualityMetricsInputDatasetFacet
from openlineage.client.generated.dataset_version_dataset import DatasetVersionDatasetFacet
from openlineage.client.generated.tags_run import TagsRunFacet, TagsRunFacetFields
from openlineage.client.serde import Serde

import dqgate

CONTRACT = """
dataset: orders
schema:
  columns:
    id:  {type: int64, required: true, unique: true}
    qty: {type: int64, range: {min: 0, max: 10}}
checks:
  - metric: null_count(qty)
    max: 5
  - metric: max(qty)
    max: 100
"""


class Collector:
    def __init__(self, status: int = 200) -> None:
        self.events: list[dict[str, Any]] = []
        self.paths: list[str] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                collector.paths.append(self.path)
                collector.events.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    c = Collector()
    monkeypatch.setenv("DQ_OPENLINEAGE_URL", c.url)
    monkeypatch.delenv("DQ_OPENLINEAGE_FILE", raising=False)
    yield c
    c.close()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    contract = tmp_path / "orders.yaml"
    contract.write_text(CONTRACT)
    good, bad = tmp_path / "good.parquet", tmp_path / "bad.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "qty": [1, None, 3]}, schema=pa.schema([("id", pa.int64()), ("qty", pa.int64())])), good)
    pq.write_table(pa.table({"id": [1, 1, 3], "qty": [1, 20, 3]}), bad)
    return contract, good, bad


def rebuild(event: dict[str, Any]) -> RunEvent:
    """The event as openlineage-python's classes (their validators run: run id, time, facet shapes)."""

    def input_facets(f: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "dataQualityAssertions" in f:
            out["dataQualityAssertions"] = DataQualityAssertionsDatasetFacet(
                assertions=[Assertion(**{k: v for k, v in a.items() if not k.startswith("_")}) for a in f["dataQualityAssertions"]["assertions"]])
        if "dataQualityMetrics" in f:
            m = f["dataQualityMetrics"]
            out["dataQualityMetrics"] = DataQualityMetricsInputDatasetFacet(
                columnMetrics={k: ColumnMetrics(**v) for k, v in m["columnMetrics"].items()}, rowCount=m.get("rowCount"))
        return out

    def facets(f: dict[str, Any]) -> dict[str, Any]:
        return {"version": DatasetVersionDatasetFacet(datasetVersion=f["version"]["datasetVersion"])} if "version" in f else {}

    def run_facets(f: dict[str, Any]) -> dict[str, Any]:
        if "tags" not in f:  # the client's own run tags (its version)
            return {}
        return {"tags": TagsRunFacet(tags=[TagsRunFacetFields(**{k: v for k, v in t.items()}) for t in f["tags"]["tags"]])}

    return RunEvent(
        eventType=RunState(event["eventType"]), eventTime=event["eventTime"], run=Run(runId=event["run"]["runId"], facets=run_facets(event["run"].get("facets", {}))),
        job=Job(namespace=event["job"]["namespace"], name=event["job"]["name"]), producer=event["producer"],
        inputs=[InputDataset(namespace=i["namespace"], name=i["name"], facets=facets(i.get("facets", {})),
                             inputFacets=input_facets(i.get("inputFacets", {}))) for i in event.get("inputs", [])],
        outputs=[OutputDataset(namespace=o["namespace"], name=o["name"], facets=facets(o.get("facets", {}))) for o in event.get("outputs", [])],
    )  # fmt: skip


def assert_valid(event: dict[str, Any]) -> RunEvent:
    rebuilt = rebuild(event)
    assert json.loads(Serde.to_json(rebuilt)) == event  # nothing the models do not know, nothing missing
    return rebuilt


def test_check_sends_start_and_complete_with_quality_facets(collector: Collector, files: Any) -> None:
    contract, good, bad = files
    result = dqgate.check(str(bad), str(contract))
    assert [e["eventType"] for e in collector.events] == ["START", "COMPLETE"]
    assert collector.paths == ["/api/v1/lineage", "/api/v1/lineage"]
    start, done = (assert_valid(e) for e in collector.events)
    assert start.run.runId == done.run.runId and done.job.name == "dqgate.check.orders" and done.job.namespace == "dqgate"
    (data,) = done.inputs
    assert (data.namespace, data.name) == ("file", str(bad))
    assertions = {a.name: a for a in data.inputFacets["dataQualityAssertions"].assertions}
    assert {a: x.success for a, x in assertions.items()} == {c.id: c.status == "pass" for c in result.checks}
    assert assertions["id.unique"].column == "id" and assertions["id.unique"].assertion == "unique"
    observed = {c.id: c.observed for c in result.checks}
    assert json.loads(assertions["qty.range"].actual) == pytest.approx(observed["qty.range"]) and assertions["max(qty)"].actual == "20"
    assert json.loads(assertions["qty.range"].expected) == {"min": 0, "max": 10}
    metrics = data.inputFacets["dataQualityMetrics"]
    assert metrics.rowCount == 3 and metrics.columnMetrics["qty"].max == 20 and metrics.columnMetrics["qty"].nullCount == 0
    assert metrics.columnMetrics["id"].nullCount == 0


def test_ingest_and_open_snapshot(collector: Collector, files: Any, tmp_path: Path) -> None:
    contract, good, bad = files
    store = tmp_path / "wh"
    assert dqgate.ingest(str(good), str(contract), str(store)).version == 1
    dqgate.open_snapshot(str(store), "orders", consumer="train.py")
    assert dqgate.ingest(str(bad), str(contract), str(store)).outcome == "quarantined_batch"
    events = [assert_valid(e) for e in collector.events]
    assert [(e.job.name, e.eventType.value) for e in events] == [
        ("dqgate.ingest.orders", "START"), ("dqgate.ingest.orders", "COMPLETE"),
        ("train.py", "START"), ("train.py", "COMPLETE"),
        ("dqgate.ingest.orders", "START"), ("dqgate.ingest.orders", "COMPLETE"),
    ]  # fmt: skip
    published = events[1]
    assert published.outputs[0].name == str(store / "orders") and published.outputs[0].facets["version"].datasetVersion == "1"
    assert published.inputs[0].inputFacets["dataQualityMetrics"].columnMetrics["qty"].nullCount == 1
    read = events[3]
    assert read.inputs[0].facets["version"].datasetVersion == "1" and read.outputs == []
    quarantined = events[5]
    assert quarantined.outputs == [] and not all(a.success for a in quarantined.inputs[0].inputFacets["dataQualityAssertions"].assertions)


def test_file_transport_appends_one_event_per_line(monkeypatch: pytest.MonkeyPatch, files: Any, tmp_path: Path) -> None:
    contract, good, _ = files
    log = tmp_path / "lineage.ndjson"
    monkeypatch.delenv("DQ_OPENLINEAGE_URL", raising=False)
    monkeypatch.setenv("DQ_OPENLINEAGE_FILE", str(log))
    dqgate.check(str(good), str(contract))
    dqgate.check(str(good), str(contract))
    lines = log.read_text().splitlines()
    assert len(lines) == 4 and all(assert_valid(json.loads(line)) for line in lines)


def test_an_unreachable_endpoint_never_changes_the_check(monkeypatch: pytest.MonkeyPatch, files: Any, caplog: pytest.LogCaptureFixture) -> None:
    contract, _, bad = files
    failing = Collector(status=400)
    monkeypatch.setenv("DQ_OPENLINEAGE_URL", failing.url)
    try:
        result = dqgate.check(str(bad), str(contract))
    finally:
        failing.close()
    assert result.status == "fail"
    assert any("could not send the OpenLineage event of check" in r.getMessage() for r in caplog.records)


def test_off_without_configuration(monkeypatch: pytest.MonkeyPatch, files: Any) -> None:
    contract, good, _ = files
    c = Collector()
    monkeypatch.delenv("DQ_OPENLINEAGE_URL", raising=False)
    monkeypatch.delenv("DQ_OPENLINEAGE_FILE", raising=False)
    try:
        dqgate.check(str(good), str(contract))
    finally:
        c.close()
    assert c.events == []
