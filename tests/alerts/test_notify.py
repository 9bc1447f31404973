"""Alerts against a real local webhook that fails, hangs and succeeds: delivered with retries and
backoff, bounded by the timeout, one warning line when undeliverable, and never a change of verdict."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dqgate
from dqgate.gate.notify import Target, notify
from webhook_server import Receiver

CONTRACT = """
dataset: orders
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    qty: {type: int64, range: {min: 0, max: 10}}
checks:
  - metric: row_count
    min: 1
    severity: warn
    name: has_rows
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    contract = tmp_path / "orders.yaml"
    contract.write_text(CONTRACT)
    good, bad = tmp_path / "good.parquet", tmp_path / "bad.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "qty": [1, 2, 3]}), good)
    pq.write_table(pa.table({"id": [1, 1, 3], "qty": [1, 20, 3]}), bad)
    return contract, good, bad


def test_failing_check_posts_a_slack_compatible_summary(files: Any, run_cli: Any) -> None:
    contract, _, bad = files
    with Receiver([200]) as hook:
        code, _, err = run_cli("check", contract, "--data", bad, "--notify", hook.url, "-q")
    assert code == 1 and err == ""
    assert len(hook.bodies) == 1
    body = hook.bodies[0]
    assert body["text"].startswith("dqgate: orders 0.1.0 FAIL on ") and "id.unique (2 rows)" in body["text"]
    assert body["dqgate"]["status"] == "fail" and body["dqgate"]["counts"] == {"fail": 2, "error": 0, "warn": 0, "pass": 2}
    assert {c["id"] for c in body["dqgate"]["checks"]} == {"id.unique", "qty.range"}


def test_passing_check_sends_nothing(files: Any, run_cli: Any) -> None:
    contract, good, _ = files
    with Receiver([200]) as hook:
        code, _, _ = run_cli("check", contract, "--data", good, "--notify", hook.url, "--notify-warn")
    assert code == 0 and hook.bodies == []


def test_server_errors_are_retried_with_growing_backoff(files: Any) -> None:
    contract, _, bad = files
    result = dqgate.check(str(bad), str(contract))
    with Receiver([500, 503, 200]) as hook:
        assert notify(result, Target(hook.url, retries=3, backoff=0.2)) is None
    assert len(hook.bodies) == 3
    gaps = [b - a for a, b in zip(hook.times, hook.times[1:])]
    assert gaps[0] >= 0.18 and gaps[1] >= 0.38  # 0.2 s, then 0.4 s


def test_undeliverable_alert_is_one_warning_line_and_the_verdict_stands(files: Any, run_cli: Any, tmp_path: Path) -> None:
    contract, _, bad = files
    contract.write_text(CONTRACT + "notify:\n  url: URL\n  timeout: 0.5\n  retries: 1\n")
    with Receiver(["hang", "hang"], hang_s=2.0) as hook:
        contract.write_text(contract.read_text().replace("URL", hook.url))
        started = time.monotonic()
        code, out, err = run_cli("check", contract, "--data", bad, "-q", "--format", "json")
        spent = time.monotonic() - started
    assert code == 1 and '"status": "fail"' in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dq: warning: could not deliver the alert to http://127.0.0.1:")
    assert "timed out, 2 attempts" in lines[0] and "secret-token" not in lines[0]
    assert len(hook.bodies) == 2 and spent < 6  # two bounded attempts, not two full hangs plus more


def test_nothing_listening_and_client_errors_are_not_retried_forever(files: Any) -> None:
    contract, _, bad = files
    result = dqgate.check(str(bad), str(contract))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    line = notify(result, Target(f"http://127.0.0.1:{port}/x", retries=2, backoff=0.01))
    assert line is not None and "3 attempts" in line
    with Receiver([404, 200]) as hook:
        line = notify(result, Target(hook.url, retries=3, backoff=0.01))
    assert line is not None and "HTTP 404, 1 attempt)" in line and len(hook.bodies) == 1


def test_warn_fires_only_when_asked_and_ingest_alerts_without_changing_its_outcome(files: Any, run_cli: Any, tmp_path: Path) -> None:
    contract, _, bad = files
    empty_warn = tmp_path / "warn.parquet"
    contract.write_text(CONTRACT.replace("min: 1", "min: 5"))
    pq.write_table(pa.table({"id": [1, 2], "qty": [1, 2]}), empty_warn)
    with Receiver([200, 200]) as hook:
        assert run_cli("check", contract, "--data", empty_warn, "--notify", hook.url)[0] == 0
        assert hook.bodies == []
        assert run_cli("check", contract, "--data", empty_warn, "--notify", hook.url, "--notify-warn")[0] == 0
        assert len(hook.bodies) == 1 and hook.bodies[0]["dqgate"]["status"] == "warn"
    with Receiver([500, 500]) as hook:
        contract.write_text(contract.read_text() + f"notify:\n  url: {hook.url}\n  retries: 1\n")
        code, out, err = run_cli("ingest", contract, bad, "--store", tmp_path / "wh")
    assert code == 1 and "quarantined" in out and "could not deliver the alert" in err and len(hook.bodies) == 2
    assert "quarantined" in hook.bodies[0]["text"]
